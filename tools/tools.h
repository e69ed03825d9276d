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

/* Prints "qshm CMD: message" and "Try 'qshm CMD --help'." to stderr;
 * returns 2, the usage exit status of every subcommand. */
int tools_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int tools_parse_double(const char *s, double *out);
/* A whole number: decimal, or hex with 0x; no sign, space or suffix.
 * Returns 0 or -EINVAL (also past UINT64_MAX). */
int tools_parse_u64(const char *s, uint64_t *out);
/* A size in bytes: a whole number as tools_parse_u64(), times 1024^1..4
 * with one suffix K, M, G or T (either case; "KiB" and "KB" read as "K").
 * Every command's size options take it. Returns 0 or -EINVAL (no other
 * suffix, no second one; a result past UINT64_MAX). */
int tools_parse_size(const char *s, uint64_t *out);
uint64_t tools_now_ns(void);

/* Attaches to NAME, waiting up to wait_s seconds for it to appear or
 * finish being created (and saying so once on stderr). Prints the error
 * (with context, as "qshm CMD: ...") on failure. */
int tools_attach(const char *cmd, const char *name, unsigned flags,
		 double wait_s, qshm_consumer **out);

/*
 * A segment truncated under a mapping makes the next access to the lost
 * pages raise SIGBUS. tools_guard_sigbus() (from main) installs libqshm's
 * guard (qshm_install_sigbus_guard()): the access then reads zeros and the
 * next call on the ring's handle fails with -QSHM_ETRUNCATED ("segment 'X'
 * was truncated under us"), which the command reports (status 1).
 */
void tools_guard_sigbus(void);

/* --owner USER: lets this process attach to rings owned by USER (a name or
 * a numeric uid) as well as its own and root's (qshm_allow_owner()).
 * Prints a usage error for cmd and returns 2 if USER is unknown. */
int tools_allow_owner(const char *cmd, const char *user);

#endif
