/*
 * sim_counts.c - outcome strings and histograms for the simulator's
 * callers, over libqshmresults (qshm/results.h): the one outcome formatter
 * (Qiskit's order) and the one counts table of qshm. The circuit's
 * registers become a qshm_run, as RUN_BEGIN describes them.
 */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"
#include "qshm/results.h"

size_t sim_outcome_strlen(const struct qasm_circuit *c)
{
	return c->ncregs ? c->nclbits + c->ncregs - 1 : 0;
}

char *sim_outcome_format(const struct qasm_circuit *c, const uint64_t *bits,
			 char *buf)
{
	qshm_run *run;

	buf[0] = '\0';
	if (publisher_describe(c, 0, 0, 0, 0, &run) == 0) {
		qshm_run_outcome(run, bits, qshm_run_words_per_shot(run), buf,
				 sim_outcome_strlen(c) + 1);
		qshm_run_free(run);
	}
	return buf;
}

struct sim_counts {
	qshm_counts *k;
};

struct sim_counts *sim_counts_new(size_t words_per_shot)
{
	struct sim_counts *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	if (words_per_shot > UINT32_MAX ||
	    qshm_counts_new((uint32_t)words_per_shot, &k->k)) {
		free(k);
		return NULL;
	}
	return k;
}

void sim_counts_free(struct sim_counts *k)
{
	if (!k)
		return;
	qshm_counts_free(k->k);
	free(k);
}

int sim_counts_add(struct sim_counts *k, const uint64_t *bits, size_t nshots)
{
	return qshm_counts_add(k->k, bits, nshots);
}

size_t sim_counts_size(const struct sim_counts *k)
{
	return (size_t)qshm_counts_distinct(k->k);
}

int sim_counts_shots_fn(void *ctx, const uint64_t *packed_bits,
			size_t nshots, size_t words_per_shot)
{
	struct sim_counts *k = ctx;

	if (words_per_shot != qshm_counts_words_per_shot(k->k))
		return -EINVAL;
	return sim_counts_add(k, packed_bits, nshots);
}

int sim_counts_sorted(const struct sim_counts *k, const struct qasm_circuit *c,
		      struct sim_count_entry **out)
{
	struct qshm_count_entry *list;
	qshm_run *run;
	size_t n, len = sim_outcome_strlen(c) + 1;
	int err;

	err = publisher_describe(c, 0, 0, 0, 0, &run);
	if (err)
		return err;
	err = qshm_counts_list(k->k, run, QSHM_COUNTS_BY_OUTCOME, 0, &list,
			       &n);
	qshm_run_free(run);
	if (err)
		return err;
	/* One block the caller frees with free(): entries, then strings. */
	struct sim_count_entry *e = malloc(n * (sizeof(*e) + len) + 1);
	if (!e) {
		qshm_counts_list_free(list);
		return -ENOMEM;
	}
	char *strings = (char *)(e + n);
	for (size_t i = 0; i < n; i++) {
		memcpy(strings + i * len, list[i].outcome, len);
		e[i].outcome = strings + i * len;
		e[i].count = list[i].count;
	}
	qshm_counts_list_free(list);
	*out = e;
	return 0;
}
