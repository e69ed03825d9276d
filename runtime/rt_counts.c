/*
 * rt_counts.c - shots into a sorted histogram of outcome strings
 * (rt_counts.h): the counting of `qshm sim --counts` and of the service.
 */
#include <errno.h>
#include <stdlib.h>

#include "rt_counts.h"

struct counts_ctx {
	struct sim_counts *k;
	rt_counts_stop_fn stop;
	void *stop_ctx;
};

static int counts_batch(void *ctx, const uint64_t *bits, size_t nshots,
			size_t words_per_shot)
{
	struct counts_ctx *x = ctx;
	int rc;

	if (x->stop && (rc = x->stop(x->stop_ctx)) != 0)
		return rc;
	return sim_counts_shots_fn(x->k, bits, nshots, words_per_shot);
}

int rt_counts_run(struct sim_run *run, const struct qasm_circuit *c,
		  uint64_t shots, rt_counts_stop_fn stop, void *stop_ctx,
		  struct sim_count_entry **out, size_t *n,
		  struct rt_error *err)
{
	struct counts_ctx x = { .stop = stop, .stop_ctx = stop_ctx };
	int rc;

	*out = NULL;
	*n = 0;
	x.k = sim_counts_new(sim_run_words_per_shot(run));
	if (!x.k)
		return rt_error_set(err, -ENOMEM, "error: out of memory for "
				    "the counts");
	if (stop && (rc = stop(stop_ctx)) != 0)
		goto out;
	rc = sim_run_shots(run, shots, counts_batch, &x, err);
	if (rc)
		goto out;
	*n = sim_counts_size(x.k);
	rc = sim_counts_sorted(x.k, c, out);
	if (rc) {
		*n = 0;
		rc = rt_error_set(err, rc, "error: out of memory for the "
				  "counts");
	}
out:
	sim_counts_free(x.k);
	return rc;
}
