/* SPDX-License-Identifier: MIT */
/* tools.h - what the qshm subcommands share. */
#ifndef QSHM_TOOLS_H
#define QSHM_TOOLS_H

#include <stdint.h>

#include "qshm/qshm.h"

/* Subcommands: argv[0] is the subcommand's name. Return the exit status. */
int qshm_cmd_sim(int argc, char **argv);
int qshm_cmd_hist(int argc, char **argv);
int qshm_cmd_demo(int argc, char **argv);
int qshm_cmd_dump(int argc, char **argv);
int qshm_cmd_ls(int argc, char **argv);
int qshm_cmd_rm(int argc, char **argv);
int qshm_cmd_stat(int argc, char **argv);
int qshm_cmd_bench(int argc, char **argv);
int qshm_cmd_serve(int argc, char **argv);
int qshm_cmd_submit(int argc, char **argv);

/* Prints "qshm CMD: message" and a hint to stderr; returns 2. */
int tools_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int tools_parse_double(const char *s, double *out);
int tools_parse_u64(const char *s, uint64_t *out);
uint64_t tools_now_ns(void);

/* Attaches to NAME, waiting up to wait_s seconds for it to appear or
 * finish being created. Prints the error (with context) on failure. */
int tools_attach(const char *name, unsigned flags, double wait_s,
		 qshm_consumer **out);

#endif
