/*
 * sim_sample.h - private to the sim_*.c files: marginals over the measured
 * qubits, outcome words, and the alias table (sim_sample.c).
 */
#ifndef QSHM_SIM_SAMPLE_H
#define QSHM_SIM_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/* A terminal measurement: measured qubit number mqi (its position in the
 * list of distinct measured qubits) goes to clbit. */
struct sim_term {
	uint32_t mqi;
	uint32_t clbit;
};

/*
 * How a marginal index (bit j: the j-th measured qubit) becomes a shot's
 * packed words: the bits from before the terminal measurements, minus the
 * ones they write (mask), OR one table entry per byte of the index.
 */
struct sim_outtab {
	size_t words;
	unsigned nchunks;        /* ceil(m / 8) */
	const uint64_t *mask;    /* words: clbits the terminal measurements write */
	uint64_t *tab;           /* nchunks * 256 * words */
};

int sim_outtab_init(struct sim_outtab *t, size_t words, unsigned m,
		    const struct sim_term *term, size_t nterm,
		    const uint64_t *mask);
void sim_outtab_free(struct sim_outtab *t);

static inline void sim_outtab_words(const struct sim_outtab *t,
				    const uint64_t *base, uint64_t cidx,
				    uint64_t *out)
{
	for (size_t w = 0; w < t->words; w++)
		out[w] = base[w] & ~t->mask[w];
	for (unsigned c = 0; c < t->nchunks; c++) {
		const uint64_t *e = t->tab + (c * 256 + ((cidx >> (8 * c)) & 255)) *
				    t->words;

		for (size_t w = 0; w < t->words; w++)
			out[w] |= e[w];
	}
}

/*
 * The probabilities of the 2^@m values of the qubits @mq[0..m-1] (bit j of
 * the index is qubit mq[j]) in a new array (free with free()). Returns 0 or
 * -ENOMEM.
 */
int sim_marginal(const struct sim_state *s, const uint32_t *mq, unsigned m,
		 double **out);

/* Vose's alias table over the outcomes with non-zero probability. */
struct sim_alias {
	size_t n;                 /* columns */
	double *prob;             /* keep the column with this probability */
	uint32_t *alias;          /* else take this one */
	uint64_t *cidx;           /* column -> marginal index; NULL: identity */
	const struct sim_outtab *outtab;
	uint64_t *base;           /* words: bits before the terminal ones */
};

/*
 * Build from the marginal @marg over 2^@m values, which the table takes over
 * (also on failure). @base: the classical bits of the branch. Returns 0,
 * -ENOMEM, or -EINVAL for an all-zero marginal.
 */
int sim_alias_build(double *marg, unsigned m, const struct sim_outtab *t,
		    const uint64_t *base, struct sim_alias **out);
void sim_alias_free(struct sim_alias *al);
/* @nshots shots into @out (nshots * words words). */
void sim_alias_sample(const struct sim_alias *al, struct sim_rng *rng,
		      uint64_t *out, size_t nshots);

#endif
