/* SPDX-License-Identifier: MIT */
/*
 * publish.h - writing simulation runs into a ring as the records of
 * docs/format.md: RUN_BEGIN, SHOTS (claimed in the ring and filled in
 * place), PROBS / STATE chunks, ERROR, RUN_END; and the run descriptor
 * (the ring's metadata blob, format 2 rings) that lets a consumer join at
 * any moment. Records are encoded with libqshmresults (qshm/results.h),
 * the codec every consumer decodes with.
 *
 * Internal to qshm (the producer runtime); `qshm sim`, the benchmark suite
 * and embedders call it. One publisher per ring; runs follow each other in
 * it (publisher_begin ... publisher_end, again), numbered 1, 2, ...
 *
 *	struct publisher pub;
 *	publisher_init(&pub, p, &stop_flag);
 *	publisher_begin(&pub, circuit, shots, seed, options);
 *	sim_run_shots(run, shots, publisher_shots, &pub, &err);
 *	publisher_end(&pub, QSHM_RUN_OK, elapsed_ns, sim_ns);
 *	publisher_free(&pub);
 */
#ifndef QSHM_RT_PUBLISH_H
#define QSHM_RT_PUBLISH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "qshm/format.h"
#include "qshm/qshm.h"
#include "qshm/results.h"

struct qasm_circuit;
struct sim_run;
struct rt_error;

struct publisher {
	qshm_producer *p;
	uint32_t wps;             /* u64 words per shot */
	uint32_t per_record;      /* shots per SHOTS record */
	uint64_t next_shot;       /* index of the next shot to publish */
	struct qshm_shots *cur;   /* open SHOTS record, claimed, or NULL */
	uint64_t *cur_bits;
	volatile sig_atomic_t *stop; /* set by a signal handler: give up */
	uint32_t run;             /* runs begun in this ring so far */
	uint8_t *meta;            /* the current run descriptor */
	size_t meta_len, meta_cap;
};

/* Binds pub to p; stop may be NULL. */
void publisher_init(struct publisher *pub, qshm_producer *p,
		    volatile sig_atomic_t *stop);

/* Frees what the publisher holds (not the producer). */
void publisher_free(struct publisher *pub);

/* The run description of circuit c (name without its directory, classical
 * registers), as a qshm_run: what RUN_BEGIN will say. Returns 0 or a
 * negative code (-ENOMEM, -EINVAL). */
int publisher_describe(const struct qasm_circuit *c, uint64_t shots,
		       uint64_t seed, uint32_t options, uint32_t run,
		       qshm_run **out);

/* RUN_BEGIN for circuit c, then the run descriptor. Returns 0 or a
 * negative code. */
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

/* An ERROR record. Returns 0 or a negative code. */
int publisher_error(struct publisher *pub, int code, const char *msg);

/* Closes the open SHOTS record, writes RUN_END, then updates the
 * descriptor with the run's end. Returns 0 or a negative code. */
int publisher_end(struct publisher *pub, uint32_t status,
		  uint64_t elapsed_ns, uint64_t sim_ns);

/*
 * One whole run of shots through pub, nothing else: RUN_BEGIN, the shots
 * of run (sampled in batches, each batch copied into SHOTS records claimed
 * in the ring), RUN_END. The path of `qshm sim --ring` without its
 * options; what the benchmark suite measures. Returns 0 or a negative code
 * with a message in err (errlen bytes).
 */
int publisher_run_shots(struct publisher *pub, const struct qasm_circuit *c,
			struct sim_run *run, uint64_t shots, uint64_t seed,
			char *err, size_t errlen);

/* ---- a whole `qshm sim --ring` run (publish_run.c) ---- */

/* What publish_run() is asked to do. Zero fields take the defaults. */
struct publish_run_opts {
	const char *ring;         /* ring name (required) */
	uint64_t capacity;        /* data bytes, a power of two; 0: 4 MiB */
	uint32_t mode;            /* permission bits; 0: 0600 */
	uint32_t chgrp;           /* give the ring to group gid */
	uint32_t gid;
	uint32_t probs;           /* also publish the final probabilities */
	uint32_t state;           /* also publish the final state vector */
	uint32_t unlink_after;    /* remove the ring when the run ended OK
				     (after reliable consumers drained it) */
	int32_t wait_consumers;   /* wait for this many reliable consumers
				     before RUN_BEGIN; 0: do not wait */
	volatile sig_atomic_t *stop; /* set by a signal handler; may be NULL */
	qshm_counts *counts;      /* also count the shots here; may be NULL */
	/* Called about every 200 ms while shots stream, and once at the end
	 * (last = 1); may be NULL. */
	void (*progress)(void *ctx, uint64_t shots, uint64_t total,
			 uint64_t elapsed_ns, int last);
	/* Notices for humans ("replacing stale ring ..."); may be NULL. */
	void (*notice)(void *ctx, const char *msg);
	void *ctx;                /* for progress and notice */
};

#define PUBLISH_DEFAULT_CAPACITY (UINT64_C(4) << 20)

/*
 * Creates ring o->ring (replacing a stale or closed one of that name, with
 * a notice; refusing one whose producer is alive), publishes one run of
 * shots of run (circuit c) with the options of o: RUN_BEGIN and the
 * descriptor, SHOTS, PROBS/STATE, RUN_END, keeping the producer counters
 * of docs/format.md up to date, then closes the ring.
 * Returns 0; -EINTR when stopped through o->stop (a RUN_END saying so is
 * published if there is room); or another negative code, with a message
 * in err (the run's RUN_END then says it failed, where the ring works).
 * *shots_done (may be NULL) gets the shots published.
 */
int publish_run(const struct qasm_circuit *c, struct sim_run *run,
		uint64_t shots, uint64_t seed,
		const struct publish_run_opts *o, uint64_t *shots_done,
		struct rt_error *err);

/* CLOCK_MONOTONIC in nanoseconds: the clock of the runs' timings. */
uint64_t publish_now_ns(void);

#endif
