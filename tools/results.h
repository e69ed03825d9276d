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

/* Checks a PROBS (elem_size 8) or STATE (elem_size 16) chunk: header
 * fields consistent, elements within len. Copies the header into *chunk
 * and points *elems at the first element (not necessarily 8-byte aligned
 * in a copy: read elements with memcpy). Returns 0 or -EBADMSG. */
int results_chunk_check(const void *data, size_t len, size_t elem_size,
			struct qshm_chunk *chunk, const uint8_t **elems,
			char *err, size_t errlen);

/* One basis state of a chunk, for "top outcomes" displays. */
struct results_top {
	uint64_t index; /* basis state (bit i is qubit i) */
	double p;       /* probability: PROBS value, or |amplitude|^2 */
	double re, im;  /* STATE: the amplitude; PROBS: p, 0 */
};

/* The k most probable basis states of a checked chunk, most probable
 * first (ties: lower index first). Returns how many were filled (<= k).
 * NaN values are skipped. */
size_t results_chunk_top(const struct qshm_chunk *chunk,
			 const uint8_t *elems, int is_state,
			 struct results_top *top, size_t k);

/* A basis-state index as the bit string q[n-1]...q[0] (n = nqubits, at
 * most 64); buf needs nqubits + 1 bytes. */
void results_basis_string(uint64_t index, uint32_t nqubits, char *buf,
			  size_t size);

#endif
