/*
 * sim_sample.c - sampling many shots from one final state.
 *
 * The final state's probabilities are first summed over the qubits nobody
 * measures (the marginal over the measured qubits, one pass); then Vose's
 * alias method turns the outcomes with non-zero probability into a table
 * from which each shot costs two random numbers and one table entry: pick a
 * column uniformly, keep it with its probability, else take its alias. Each
 * entry carries the packed classical words of both choices, so a shot is
 * one cache line.
 */
#include "sim_sample.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of basis state i among the measured qubits, via per-byte tables. */
struct compress {
	unsigned nchunks;
	uint64_t t[(SIM_MAX_QUBITS + 7) / 8][256];
};

static void compress_init(struct compress *cz, unsigned nqubits,
			  const uint32_t *mq, unsigned m)
{
	cz->nchunks = (nqubits + 7) / 8;
	memset(cz->t, 0, sizeof(cz->t[0]) * cz->nchunks);
	for (unsigned j = 0; j < m; j++) {
		unsigned c = mq[j] / 8, b = mq[j] % 8;

		for (unsigned v = 0; v < 256; v++)
			if (v & (1u << b))
				cz->t[c][v] |= (uint64_t)1 << j;
	}
}

static inline uint64_t compress_index(const struct compress *cz, uint64_t i)
{
	uint64_t r = 0;

	for (unsigned c = 0; c < cz->nchunks; c++)
		r |= cz->t[c][(i >> (8 * c)) & 255];
	return r;
}

int sim_marginal(const struct sim_state *s, const uint32_t *mq, unsigned m,
		 double **out)
{
	struct compress *cz;
	double *marg;
	const double *a = s->amps;

	*out = NULL;
	marg = calloc((size_t)1 << m, sizeof(double));
	cz = malloc(sizeof(*cz));
	if (!marg || !cz) {
		free(marg);
		free(cz);
		return -ENOMEM;
	}
	compress_init(cz, s->nqubits, mq, m);
	for (size_t i = 0; i < s->namps; i++) {
		double p = a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];

		if (p != 0)
			marg[compress_index(cz, i)] += p;
	}
	free(cz);
	*out = marg;
	return 0;
}

int sim_outtab_init(struct sim_outtab *t, size_t words, unsigned m,
		    const struct sim_term *term, size_t nterm,
		    const uint64_t *mask)
{
	t->words = words;
	t->nchunks = (m + 7) / 8;
	t->mask = mask;
	t->tab = calloc((size_t)(t->nchunks ? t->nchunks : 1) * 256 * words,
			sizeof(uint64_t));
	if (!t->tab)
		return -ENOMEM;
	for (size_t k = 0; k < nterm; k++) {
		unsigned c = term[k].mqi / 8, b = term[k].mqi % 8;
		uint32_t cl = term[k].clbit;

		for (unsigned v = 0; v < 256; v++)
			if (v & (1u << b))
				t->tab[(c * 256 + v) * words + cl / 64] |=
					(uint64_t)1 << (cl % 64);
	}
	return 0;
}

void sim_outtab_free(struct sim_outtab *t)
{
	free(t->tab);
	t->tab = NULL;
}

void sim_alias_free(struct sim_alias *al)
{
	if (!al)
		return;
	free(al->prob);
	free(al->alias);
	free(al->cidx);
	free(al->base);
	free(al);
}

int sim_alias_build(double *marg, unsigned m, const struct sim_outtab *t,
		    const uint64_t *base, struct sim_alias **out)
{
	const size_t full = (size_t)1 << m;
	struct sim_alias *al;
	size_t k = 0, nsmall = 0, nlarge = 0;
	uint32_t *work = NULL;
	double total = 0, scale;

	*out = NULL;
	for (size_t i = 0; i < full; i++)
		if (marg[i] > 0) {
			k++;
			total += marg[i];
		}
	if (k == 0 || k > UINT32_MAX) {
		free(marg);
		return -EINVAL;  /* a zero state cannot happen; nor so many */
	}
	al = calloc(1, sizeof(*al));
	if (!al) {
		free(marg);
		return -ENOMEM;
	}
	al->n = k;
	al->prob = marg;  /* becomes the column probabilities, in place */
	al->outtab = t;
	al->base = malloc(t->words * sizeof(uint64_t));
	al->alias = malloc(k * sizeof(uint32_t));
	work = malloc(k * sizeof(uint32_t));
	if (!al->base || !al->alias || !work)
		goto fail;
	memcpy(al->base, base, t->words * sizeof(uint64_t));
	if (k < full) {
		/* Keep only the possible outcomes: pack them to the front. */
		al->cidx = malloc(k * sizeof(uint64_t));
		if (!al->cidx)
			goto fail;
		k = 0;
		for (size_t i = 0; i < full; i++)
			if (marg[i] > 0) {
				al->cidx[k] = i;
				marg[k++] = marg[i];
			}
	}
	/* Vose: columns below 1 fill up from the front of work, those at or
	 * above 1 from the back; pair each small one with a large one. */
	scale = (double)k / total;
	for (size_t i = 0; i < k; i++) {
		marg[i] *= scale;
		if (marg[i] < 1.0)
			work[nsmall++] = (uint32_t)i;
		else
			work[k - 1 - nlarge++] = (uint32_t)i;
	}
	while (nsmall && nlarge) {
		uint32_t s = work[--nsmall], l = work[k - nlarge];

		al->alias[s] = l;  /* prob[s] stays: keep s with that */
		marg[l] = (marg[l] + marg[s]) - 1.0;
		if (marg[l] < 1.0) {
			nlarge--;
			work[nsmall++] = l;
		}
	}
	/* Left over (rounding): probability one, never the alias. */
	while (nlarge) {
		uint32_t l = work[k - nlarge--];

		marg[l] = 1.0;
		al->alias[l] = l;
	}
	while (nsmall) {
		uint32_t s = work[--nsmall];

		marg[s] = 1.0;
		al->alias[s] = s;
	}
	free(work);
	*out = al;
	return 0;
fail:
	free(work);
	sim_alias_free(al);
	return -ENOMEM;
}

/*
 * One 64-bit draw per shot: x * n = col * 2^64 + frac, col uniform in
 * [0, n) and frac / 2^64 uniform in [0, 1) (resolution n / 2^64, below
 * 2^-32 for any table this size). Shots go in blocks: pick the columns and
 * prefetch their entries first, then resolve them, so that the random
 * accesses into a table larger than the caches overlap.
 */
#define ALIAS_BLOCK 32

void sim_alias_sample(const struct sim_alias *al, struct sim_rng *rng,
		      uint64_t *out, size_t nshots)
{
	const struct sim_outtab *t = al->outtab;
	const size_t w = t->words;
	size_t col[ALIAS_BLOCK];
	double frac[ALIAS_BLOCK];

	for (size_t s0 = 0; s0 < nshots; s0 += ALIAS_BLOCK) {
		size_t nb = nshots - s0 < ALIAS_BLOCK ? nshots - s0 : ALIAS_BLOCK;

		for (size_t b = 0; b < nb; b++) {
			uint64_t x = sim_rng_next(rng);
#ifdef __SIZEOF_INT128__
			unsigned __int128 p = (unsigned __int128)x * al->n;

			col[b] = (size_t)(p >> 64);
			frac[b] = (double)((uint64_t)p >> 11) * 0x1.0p-53;
#else
			col[b] = (size_t)(x % al->n);
			frac[b] = sim_rng_uniform(rng);
#endif
			__builtin_prefetch(&al->prob[col[b]]);
			__builtin_prefetch(&al->alias[col[b]]);
		}
		for (size_t b = 0; b < nb; b++) {
			size_t c = frac[b] < al->prob[col[b]] ? col[b]
							      : al->alias[col[b]];

			sim_outtab_words(t, al->base, al->cidx ? al->cidx[c] : c,
					 out + (s0 + b) * w);
		}
	}
}
