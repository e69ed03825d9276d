/*
 * rt_counts.h - a run's counts, the one way every caller makes them.
 *
 * Internal to qshm (not installed). A run's counts in-process (the
 * service benchmark's direct path): the same simulator run as `qshm sim
 * --counts` with the same seed, counted and listed by libqshmresults'
 * qshm_counts as `qshm sim --counts` and the service count them: one
 * counting path.
 */
#ifndef QSHM_RT_COUNTS_H
#define QSHM_RT_COUNTS_H

#include <stdint.h>

#include "qasm.h"
#include "rt_error.h"
#include "sim.h"

/* Asked between batches of shots: return 0 to go on, or a non-zero value
 * that ends the run and becomes rt_counts_run()'s return (e.g. -ECANCELED,
 * -ETIMEDOUT). */
typedef int (*rt_counts_stop_fn)(void *ctx);

/*
 * Runs @shots more shots of @run (prepared by sim_run_create() for @c) and
 * returns their histogram as outcome strings sorted by strcmp: *@out gets
 * *@n entries (free() the array; the strings go with it). @stop (may be
 * NULL) is asked before each batch of shots.
 * Returns 0, @stop's value, or a negative errno (-ENOMEM, a simulator
 * error with its message in @err).
 */
int rt_counts_run(struct sim_run *run, const struct qasm_circuit *c,
		  uint64_t shots, rt_counts_stop_fn stop, void *stop_ctx,
		  struct sim_count_entry **out, size_t *n,
		  struct rt_error *err);

#endif
