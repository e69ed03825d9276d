/* SPDX-License-Identifier: MIT */
/*
 * publish.h - writing a simulation run into a ring as the records of
 * docs/format.md: RUN_BEGIN, SHOTS (claimed in the ring and filled in place),
 * PROBS / STATE chunks, ERROR, RUN_END.
 */
#ifndef QSHM_TOOLS_PUBLISH_H
#define QSHM_TOOLS_PUBLISH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "qshm/format.h"
#include "qshm/qshm.h"

struct qasm_circuit;

struct publisher {
	qshm_producer *p;
	uint32_t wps;             /* u64 words per shot */
	uint32_t per_record;      /* shots per SHOTS record */
	uint64_t next_shot;       /* index of the next shot to publish */
	struct qshm_shots *cur;   /* open SHOTS record, claimed, or NULL */
	uint64_t *cur_bits;
	volatile sig_atomic_t *stop; /* set by a signal handler: give up */
};

/* Binds pub to p; stop may be NULL. */
void publisher_init(struct publisher *pub, qshm_producer *p,
		    volatile sig_atomic_t *stop);

/* RUN_BEGIN for circuit c. Returns 0 or a negative code. */
int publisher_begin(struct publisher *pub, const struct qasm_circuit *c,
		    uint64_t shots, uint64_t seed, uint32_t options);

/* Appends n shots of wps words each (the simulator's shot callback).
 * Returns 0 or a negative code (-EINTR when stopped). */
int publisher_shots(void *pub, const uint64_t *bits, size_t n, size_t wps);

/* Closes the open SHOTS record. */
int publisher_flush(struct publisher *pub);

/* Writes elements first .. first+count-1 of a vector at dst. */
typedef int (*publisher_fill_fn)(void *ctx, uint64_t first, uint64_t count,
				 void *dst);

/* PROBS (elem 8) or STATE (elem 16) chunks of a 2^nqubits vector, each
 * filled in place in the ring by fill. Returns 0 or a negative code. */
int publisher_vector(struct publisher *pub, uint16_t type, uint32_t nqubits,
		     size_t elem, publisher_fill_fn fill, void *ctx);

int publisher_error(struct publisher *pub, int code, const char *msg);
int publisher_end(struct publisher *pub, uint32_t status,
		  uint64_t elapsed_ns, uint64_t sim_ns);

#endif
