/*
 * rt_counts.c - shots into a sorted histogram of outcome strings
 * (rt_counts.h), counted and listed by libqshmresults (qshm_counts_add,
 * qshm_counts_list), exactly as `qshm sim --counts` and the service count:
 * one counting path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"
#include "qshm/results.h"
#include "rt_counts.h"

struct counts_ctx {
	qshm_counts *k;
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
	if (words_per_shot != qshm_counts_words_per_shot(x->k))
		return -EINVAL;
	return qshm_counts_add(x->k, bits, nshots);
}

/* The list as one allocation of sim_count_entry and their strings. */
static int to_entries(const struct qshm_count_entry *e, size_t n,
		      struct sim_count_entry **out)
{
	size_t len = 0;
	char *str;

	for (size_t i = 0; i < n; i++)
		len += strlen(e[i].outcome) + 1;
	*out = malloc(n * sizeof(**out) + len + 1);
	if (!*out)
		return -ENOMEM;
	str = (char *)(*out + n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(e[i].outcome) + 1;
		memcpy(str, e[i].outcome, l);
		(*out)[i].outcome = str;
		(*out)[i].count = e[i].count;
		str += l;
	}
	return 0;
}

int rt_counts_run(struct sim_run *run, const struct qasm_circuit *c,
		  uint64_t shots, rt_counts_stop_fn stop, void *stop_ctx,
		  struct sim_count_entry **out, size_t *n,
		  struct rt_error *err)
{
	struct counts_ctx x = { .stop = stop, .stop_ctx = stop_ctx };
	struct qshm_count_entry *e = NULL;
	qshm_run *desc = NULL;
	size_t ne = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (qshm_counts_new((uint32_t)sim_run_words_per_shot(run), &x.k))
		return rt_error_set(err, -ENOMEM, "error: out of memory for "
				    "the counts");
	if (stop && (rc = stop(stop_ctx)) != 0)
		goto out;
	rc = sim_run_shots(run, shots, counts_batch, &x, err);
	if (rc)
		goto out;
	rc = publisher_describe(c, shots, 0, 0, 0, &desc);
	if (rc == 0)
		rc = qshm_counts_list(x.k, desc, QSHM_COUNTS_BY_OUTCOME, 0, &e,
				      &ne);
	if (rc == 0)
		rc = to_entries(e, ne, out);
	if (rc)
		rc = rt_error_set(err, rc, "error: cannot list the counts: %s",
				  qshm_results_last_error());
	else
		*n = ne;
out:
	qshm_counts_list_free(e);
	qshm_run_free(desc);
	qshm_counts_free(x.k);
	return rc;
}
