/*
 * sim_measure.c - measurement on the state vector: probabilities, collapse,
 * reset, and drawing one basis state. Passes split across the state's
 * threads.
 */
#include "sim.h"
#include "sim_loop.h"
#include "sim_plan.h"

#include <math.h>

/*
 * Sums over a pass go by fixed chunks of PROB_CHUNK iterations (more for
 * huge states, at most PROB_MAX_CHUNKS of them), each summed in order, the
 * chunk sums then added in order: the same result for any thread count.
 */
#define PROB_CHUNK ((size_t)1 << 14)
#define PROB_MAX_CHUNKS 4096

struct mctx {
	v2d *psi;
	struct sim_loop L;
	size_t chunk;
	double *sums;
	v2d f;
};

static void prob_range(void *arg, size_t c0, size_t c1)
{
	const struct mctx *M = arg;
	const struct sim_loop *L = &M->L;
	const size_t total = L->outer * L->inner;

	for (size_t c = c0; c < c1; c++) {
		size_t f0 = c * M->chunk;
		size_t f1 = f0 + M->chunk < total ? f0 + M->chunk : total;
		v2d acc = { 0, 0 };

		SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
			const v2d *p = M->psi + sim_loop_base(L, o);

			for (size_t j = j0; j < j1; j++) {
				v2d a = p[j << L->lo];

				acc += a * a;
			}
		}
		M->sums[c] = acc[0] + acc[1];
	}
}

double sim_prob_one(const struct sim_state *s, unsigned q)
{
	const uint64_t qb = (uint64_t)1 << q;
	struct mctx M;
	double stack[PROB_MAX_CHUNKS], r = 0;
	size_t total, nchunks;

	M.psi = (v2d *)s->amps;
	sim_loop_init(&M.L, s->nqubits, qb, qb);
	total = M.L.outer * M.L.inner;
	M.chunk = PROB_CHUNK;
	while (total / M.chunk > PROB_MAX_CHUNKS)
		M.chunk *= 2;
	nchunks = (total + M.chunk - 1) / M.chunk;
	M.sums = stack;
	sim_par_for(s->threads, nchunks, 2, prob_range, &M);
	for (size_t c = 0; c < nchunks; c++)
		r += M.sums[c];
	return r;
}

static void set_range(void *arg, size_t f0, size_t f1)
{
	const struct mctx *M = arg;
	const struct sim_loop *L = &M->L;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2d *p = M->psi + sim_loop_base(L, o);

		for (size_t j = j0; j < j1; j++)
			p[j << L->lo] = (v2d){ 0, 0 };
	}
}

static void mul_range(void *arg, size_t f0, size_t f1)
{
	const struct mctx *M = arg;
	const struct sim_loop *L = &M->L;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2d *p = M->psi + sim_loop_base(L, o);

		for (size_t j = j0; j < j1; j++)
			p[j << L->lo] *= M->f;
	}
}

/* Set the amplitudes with bit @q equal to @value to zero. */
static void zero_half(struct sim_state *s, unsigned q, int value)
{
	const uint64_t qb = (uint64_t)1 << q;
	struct mctx M;

	M.psi = (v2d *)s->amps;
	sim_loop_init(&M.L, s->nqubits, qb, value ? qb : 0);
	sim_par_for(s->threads, M.L.outer * M.L.inner, SIM_PAR_MIN, set_range,
		    &M);
}

void sim_collapse(struct sim_state *s, unsigned q, int outcome, double p)
{
	const uint64_t qb = (uint64_t)1 << q;
	const double f = 1.0 / sqrt(p);
	struct mctx M;

	zero_half(s, q, !outcome);
	M.psi = (v2d *)s->amps;
	M.f = (v2d){ f, f };
	sim_loop_init(&M.L, s->nqubits, qb, outcome ? qb : 0);
	sim_par_for(s->threads, M.L.outer * M.L.inner, SIM_PAR_MIN, mul_range,
		    &M);
}

static void flip_range(void *arg, size_t f0, size_t f1)
{
	const struct mctx *M = arg;
	const struct sim_loop *L = &M->L;
	const size_t qs = M->chunk;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2d *restrict p0 = M->psi + sim_loop_base(L, o);
		v2d *restrict p1 = p0 + qs;

		for (size_t j = j0; j < j1; j++) {
			p0[j << L->lo] = p1[j << L->lo];
			p1[j << L->lo] = (v2d){ 0, 0 };
		}
	}
}

void sim_flip_to_zero(struct sim_state *s, unsigned q)
{
	const uint64_t qb = (uint64_t)1 << q;
	struct mctx M;

	M.psi = (v2d *)s->amps;
	M.chunk = (size_t)1 << q;  /* the stride of q */
	sim_loop_init(&M.L, s->nqubits, qb, 0);
	sim_par_for(s->threads, M.L.outer * M.L.inner, SIM_PAR_MIN, flip_range,
		    &M);
}

double sim_norm2(const struct sim_state *s)
{
	const v2d *psi = (const v2d *)s->amps;
	v2d a0 = { 0, 0 }, a1 = { 0, 0 };
	size_t i = 0;

	for (; i + 2 <= s->namps; i += 2) {
		a0 += psi[i] * psi[i];
		a1 += psi[i + 1] * psi[i + 1];
	}
	for (; i < s->namps; i++)
		a0 += psi[i] * psi[i];
	a0 += a1;
	return a0[0] + a0[1];
}

uint64_t sim_sample_index(const struct sim_state *s, double u, double norm2)
{
	const double *a = s->amps;
	const double target = u * norm2;
	double acc = 0;
	uint64_t last = 0;

	for (size_t i = 0; i < s->namps; i++) {
		double p = a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];

		if (p == 0)
			continue;
		acc += p;
		last = i;
		if (acc > target)
			return i;
	}
	/* Rounding left target at or beyond the sum: the last possible one. */
	return last;
}
