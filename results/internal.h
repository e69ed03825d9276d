/* SPDX-License-Identifier: MIT */
/*
 * internal.h - private to libqshmresults (not installed): the run struct
 * and the error helper every source file uses.
 */
#ifndef QSHM_RESULTS_INTERNAL_H
#define QSHM_RESULTS_INTERNAL_H

#include "qshm/results.h"

/* A decoded RUN_BEGIN: one allocation holds the struct, the register
 * table, the names (NUL-terminated) and the payload copy. */
struct qshm_run {
	struct qshm_run_begin hdr;
	const char *name;
	struct qshm_run_creg_info *cregs;
	const void *payload;
	size_t payload_len;
};

/* Records fmt in the thread's message buffer; returns -err. */
int qres__fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears the thread's message (each public entry point that can fail). */
void qres__clear(void);

#endif
