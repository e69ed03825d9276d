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
#include "sim_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of basis state i among the measured qubits, via per-byte tables. */
struct sim_compress {
	unsigned nchunks;
	uint64_t t[(SIM_MAX_QUBITS + 7) / 8][256];
};

static void compress_init(struct sim_compress *cz, unsigned nqubits,
			  const uint32_t *mq, unsigned m)
{
	cz->nchunks = (nqubits + 7) / 8;
	memset(cz->t, 0, sizeof(cz->t[0]) * cz->nchunks);
	for (unsigned j = 0; j < m; j++) {
		unsigned c = mq[j] / 8, b = mq[j] % 8;
		/* Basis indices are below 2^nqubits: the last chunk's byte
		 * takes fewer values (a 1-qubit state: 2, not 256). */
		unsigned lim = nqubits - 8 * c >= 8 ? 256
						   : 1u << (nqubits - 8 * c);

		for (unsigned v = 1u << b; v < lim; v = (v + 1) | (1u << b))
			cz->t[c][v] |= (uint64_t)1 << j;
	}
}

/* |a_i|^2 in double, whatever the state's precision. */
static inline double amp_prob(const struct sim_state *s, size_t i)
{
	double re, im;

	sim_state_amp(s, i, &re, &im);
	return re * re + im * im;
}

static inline uint64_t compress_index(const struct sim_compress *cz, uint64_t i)
{
	uint64_t r = 0;

	for (unsigned c = 0; c < cz->nchunks; c++)
		r |= cz->t[c][(i >> (8 * c)) & 255];
	return r;
}

struct sim_compress *sim_compress_new(unsigned nqubits, const uint32_t *mq,
				      unsigned m)
{
	struct sim_compress *cz = malloc(sizeof(*cz));

	if (cz)
		compress_init(cz, nqubits, mq, m);
	return cz;
}

uint64_t sim_compress_index(const struct sim_compress *cz, uint64_t i)
{
	return compress_index(cz, i);
}

int sim_marginal(const struct sim_state *s, const uint32_t *mq, unsigned m,
		 double **out)
{
	struct sim_compress *cz;
	double *marg;

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
		double p = amp_prob(s, i);

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
		/* Outcome indices are below 2^m: the last chunk's byte takes
		 * fewer values. */
		unsigned lim = m - 8 * c >= 8 ? 256 : 1u << (m - 8 * c);

		for (unsigned v = 1u << b; v < lim; v = (v + 1) | (1u << b))
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

/* ---- big states ---- */

struct big_ctx {
	struct sim_big *b;
	double total;
};

static void big_sums(void *ctx, size_t b0, size_t b1)
{
	struct sim_big *b = ((struct big_ctx *)ctx)->b;

	for (size_t blk = b0; blk < b1; blk++) {
		double acc0 = 0, acc1 = 0;

		if (b->s->single) {
			const float *p = (const float *)(const void *)b->s->amps +
					 2 * blk * b->block_len;

			for (size_t i = 0; i < 2 * b->block_len; i += 4) {
				acc0 += (double)p[i] * p[i] +
					(double)p[i + 1] * p[i + 1];
				acc1 += (double)p[i + 2] * p[i + 2] +
					(double)p[i + 3] * p[i + 3];
			}
		} else {
			const double *p = b->s->amps + 2 * blk * b->block_len;

			for (size_t i = 0; i < 2 * b->block_len; i += 4) {
				acc0 += p[i] * p[i] + p[i + 1] * p[i + 1];
				acc1 += p[i + 2] * p[i + 2] + p[i + 3] * p[i + 3];
			}
		}
		b->prefix[blk + 1] = acc0 + acc1;  /* the block's sum, for now */
	}
}

int sim_big_init(struct sim_big *b, const struct sim_state *s)
{
	struct big_ctx ctx = { b, 0 };

	memset(b, 0, sizeof(*b));
	b->s = s;
	b->block_len = s->namps < ((size_t)1 << SIM_BIG_BLOCK_LOG2)
			       ? s->namps : (size_t)1 << SIM_BIG_BLOCK_LOG2;
	if (b->block_len < 2)
		b->block_len = 2;  /* a 1-qubit state: one block */
	b->nblocks = s->namps / b->block_len;
	b->prefix = malloc((b->nblocks + 1) * sizeof(double));
	b->start = malloc((b->nblocks + 1) * sizeof(uint32_t));
	b->u = malloc(SIM_BIG_CHUNK * sizeof(double));
	b->order = malloc(SIM_BIG_CHUNK * sizeof(uint32_t));
	b->blk = malloc(SIM_BIG_CHUNK * sizeof(uint32_t));
	b->idx = malloc(SIM_BIG_CHUNK * sizeof(uint64_t));
	if (!b->prefix || !b->start || !b->u || !b->order || !b->blk ||
	    !b->idx) {
		sim_big_free(b);
		return -ENOMEM;
	}
	sim_par_for(s->threads, b->nblocks, 64, big_sums, &ctx);
	/* In order, whatever the threads: the same sums every time. */
	b->prefix[0] = 0;
	for (size_t i = 0; i < b->nblocks; i++)
		b->prefix[i + 1] += b->prefix[i];
	return 0;
}

void sim_big_free(struct sim_big *b)
{
	free(b->prefix);
	free(b->start);
	free(b->u);
	free(b->order);
	free(b->blk);
	free(b->idx);
	memset(b, 0, sizeof(*b));
}

/* The block whose cumulative range holds @t (last non-empty one if none). */
static size_t big_find(const struct sim_big *b, double t)
{
	size_t lo = 0, hi = b->nblocks;  /* prefix[lo] <= t < prefix[hi] */

	if (!(t < b->prefix[hi])) {
		while (hi > 0 && !(b->prefix[hi] > b->prefix[hi - 1]))
			hi--;
		return hi ? hi - 1 : 0;
	}
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->prefix[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A block that holds many shots: its running sums once (the same sums, in
 * the same order, as the walk below), then each shot's state by binary
 * search: the first state whose running sum passes the shot's uniform,
 * exactly what the walk would give it, without sorting the shots.
 */
#define BIG_SEARCH_MIN 32

static void big_search(struct sim_big *b, size_t blk, uint32_t k,
		       uint32_t end, double total)
{
	double cum[(size_t)1 << SIM_BIG_BLOCK_LOG2];
	const size_t first = blk * b->block_len;
	double acc = b->prefix[blk];
	size_t n = b->block_len, last = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		double p = amp_prob(b->s, first + i);

		if (p != 0) {
			acc += p;
			last = i;
		}
		cum[i] = acc;
	}
	for (; k < end; k++) {
		const uint32_t shot = b->order[k];
		const double t = b->u[shot] * total;
		size_t lo = 0, hi = n;   /* first i with cum[i] > t */

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (cum[mid] > t)
				hi = mid;
			else
				lo = mid + 1;
		}
		/* Past the block's sum (rounding): its last possible state. */
		if (lo == n || last == SIZE_MAX || lo > last)
			lo = last == SIZE_MAX ? 0 : last;
		b->idx[shot] = first + lo;
	}
}

static void big_walk(void *ctx, size_t b0, size_t b1)
{
	struct sim_big *b = ((struct big_ctx *)ctx)->b;
	const double total = ((struct big_ctx *)ctx)->total;
	const struct sim_state *s = b->s;

	for (size_t blk = b0; blk < b1; blk++) {
		uint32_t k = b->start[blk], end = b->start[blk + 1];
		size_t i = blk * b->block_len, stop = i + b->block_len;
		double acc = b->prefix[blk];
		uint64_t last = UINT64_MAX;

		if (k == end)
			continue;
		if (end - k > BIG_SEARCH_MIN) {
			big_search(b, blk, k, end, total);
			continue;
		}
		/* The block's few shots by uniform (insertion sort). */
		for (uint32_t x = k + 1; x < end; x++) {
			uint32_t v = b->order[x], y = x;

			while (y > k && b->u[b->order[y - 1]] > b->u[v]) {
				b->order[y] = b->order[y - 1];
				y--;
			}
			b->order[y] = v;
		}
		for (; i < stop && k < end; i++) {
			double p = amp_prob(s, i);

			if (p == 0)
				continue;
			acc += p;
			last = i;
			while (k < end && b->u[b->order[k]] * total < acc)
				b->idx[b->order[k++]] = i;
		}
		/* Rounding left some past the block's sum: its last possible
		 * state (the block has one: its sum is above zero). */
		if (last == UINT64_MAX)
			for (i = blk * b->block_len; i < stop; i++)
				if (amp_prob(s, i) != 0)
					last = i;
		if (last == UINT64_MAX)
			last = blk * b->block_len;
		for (; k < end; k++)
			b->idx[b->order[k]] = last;
	}
}

void sim_big_sample(struct sim_big *b, struct sim_rng *rng, size_t n)
{
	struct big_ctx ctx = { b, b->prefix[b->nblocks] };

	memset(b->start, 0, (b->nblocks + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		b->u[i] = sim_rng_uniform(rng);
		b->blk[i] = (uint32_t)big_find(b, b->u[i] * ctx.total);
		b->start[b->blk[i] + 1]++;
	}
	for (size_t i = 0; i < b->nblocks; i++)
		b->start[i + 1] += b->start[i];
	/* Counting sort: order[] by block, shots ascending within each. */
	for (size_t i = 0; i < n; i++)
		b->order[b->start[b->blk[i]]++] = (uint32_t)i;
	for (size_t i = b->nblocks; i > 0; i--)
		b->start[i] = b->start[i - 1];
	b->start[0] = 0;
	sim_par_for(b->s->threads, b->nblocks, 64, big_walk, &ctx);
}
