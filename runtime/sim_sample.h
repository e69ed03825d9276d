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

/*
 * Sampling a big final state without a copy of it: a pass over the state
 * sums its probabilities in fixed blocks (the cumulative sums of the
 * blocks are kept: 8 bytes per SIM_BIG_BLOCK amplitudes); then each chunk
 * of shots draws one uniform per shot, sorts the shots by block (a
 * counting sort) and by uniform within each block, and walks the blocks
 * that hold shots once, giving each shot the basis state where the
 * running sum passes its uniform (the inverse of the distribution
 * function, as sim_sample_index does for one shot). Blocks, and shots
 * within them, are independent: the walk splits across the state's
 * threads, and the outcome of a shot depends only on its uniform, not on
 * the threads or on how shots are chunked.
 */
#define SIM_BIG_BLOCK_LOG2 12
#define SIM_BIG_CHUNK ((size_t)1 << 20)   /* shots per walk */

struct sim_big {
	const struct sim_state *s;
	size_t block_len, nblocks;
	double *prefix;          /* nblocks + 1 cumulative block sums */
	/* per chunk */
	double *u;               /* SIM_BIG_CHUNK uniforms, by shot */
	uint32_t *order;         /* shots sorted by block, then uniform */
	uint32_t *start;         /* nblocks + 1: each block's first in order */
	uint32_t *blk;           /* block of each shot */
	uint64_t *idx;           /* basis state of each shot */
};

/* One pass over @s (its threads). Returns 0 or -ENOMEM. */
int sim_big_init(struct sim_big *b, const struct sim_state *s);
void sim_big_free(struct sim_big *b);
/* Basis states of @n <= SIM_BIG_CHUNK shots into b->idx. */
void sim_big_sample(struct sim_big *b, struct sim_rng *rng, size_t n);

/* Marginal index of basis state @i (bit j: qubit mq[j]) for @m qubits. */
struct sim_compress;
struct sim_compress *sim_compress_new(unsigned nqubits, const uint32_t *mq,
				      unsigned m);
uint64_t sim_compress_index(const struct sim_compress *cz, uint64_t i);

#endif
