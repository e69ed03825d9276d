/* SPDX-License-Identifier: MIT */
/*
 * results.h - decoding the result records of include/qshm/format.h, as a
 * consumer that does not trust them: every length and offset is checked.
 * Shared by the qshm subcommands that read results (hist, dump).
 */
#ifndef QSHM_TOOLS_RESULTS_H
#define QSHM_TOOLS_RESULTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qshm/format.h"

#define RESULTS_MAX_CREGS 4096

/* A decoded, validated RUN_BEGIN. Strings are copied out of the ring. */
struct results_run {
	struct qshm_run_begin hdr;
	char *name;
	struct results_creg {
		uint32_t size, first_bit;
		char *name;
	} *cregs;
};

/* Decodes a RUN_BEGIN payload. Returns 0 or -EBADMSG with a message in
 * err (errlen bytes). */
int results_run_decode(const void *data, size_t len, struct results_run *run,
		       char *err, size_t errlen);
void results_run_free(struct results_run *run);

/* Checks a SHOTS payload against run; on success points *bits at the packed
 * words and sets *count. Returns 0 or -EBADMSG. */
int results_shots_check(const void *data, size_t len,
			const struct results_run *run, const uint64_t **bits,
			uint32_t *count, char *err, size_t errlen);

/* Writes the outcome string of one shot's bits (Qiskit order: registers
 * last-declared first, each c[n-1]..c[0], separated by a space) into buf.
 * Returns the string length (buf needs nclbits + ncregs bytes). */
size_t results_outcome(const struct results_run *run, const uint64_t *bits,
		       char *buf, size_t size);

/* Prints s as a JSON string literal (with quotes). */
void results_json_string(FILE *f, const char *s, size_t len);

#endif
