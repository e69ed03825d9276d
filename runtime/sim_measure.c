/*
 * sim_measure.c - measurement on the state vector: probabilities, collapse,
 * reset, and drawing one basis state. Passes split across the state's
 * threads. Built in double and in float (sim_measure_f32.c; sim_loop.h);
 * sums are taken in double either way.
 */
#include "sim.h"
#include "sim_loop.h"
#include "sim_prec.h"
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
	v2r *psi;
	struct sim_loop L;
	size_t chunk;
	double *sums;
	v2r f;
};

static void prob_range(void *arg, size_t c0, size_t c1)
{
	const struct mctx *M = arg;
	const struct sim_loop *L = &M->L;
	const size_t total = L->outer * L->inner;

	for (size_t c = c0; c < c1; c++) {
		size_t f0 = c * M->chunk;
		size_t f1 = f0 + M->chunk < total ? f0 + M->chunk : total;
		double acc0 = 0, acc1 = 0;

		/* Sums in double, whatever the amplitudes' precision. */
		SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
			const v2r *p = M->psi + sim_loop_base(L, o);

			for (size_t j = j0; j < j1; j++) {
				v2r a = p[j << L->lo];

				acc0 += (double)a[0] * a[0];
				acc1 += (double)a[1] * a[1];
			}
		}
		M->sums[c] = acc0 + acc1;
	}
}

double SIM_FN(sim_prob_one)(const struct sim_state *s, unsigned q)
{
	const uint64_t qb = (uint64_t)1 << q;
	struct mctx M;
	double stack[PROB_MAX_CHUNKS], r = 0;
	size_t total, nchunks;

	M.psi = (v2r *)SIM_AMPS(s);
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
		v2r *p = M->psi + sim_loop_base(L, o);

		for (size_t j = j0; j < j1; j++)
			p[j << L->lo] = (v2r){ 0, 0 };
	}
}

static void mul_range(void *arg, size_t f0, size_t f1)
{
	const struct mctx *M = arg;
	const struct sim_loop *L = &M->L;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2r *p = M->psi + sim_loop_base(L, o);

		for (size_t j = j0; j < j1; j++)
			p[j << L->lo] *= M->f;
	}
}

/* Set the amplitudes with bit @q equal to @value to zero. */
static void zero_half(struct sim_state *s, unsigned q, int value)
{
	const uint64_t qb = (uint64_t)1 << q;
	struct mctx M;

	M.psi = (v2r *)SIM_AMPS(s);
	sim_loop_init(&M.L, s->nqubits, qb, value ? qb : 0);
	sim_par_for(s->threads, M.L.outer * M.L.inner, SIM_PAR_MIN, set_range,
		    &M);
}

void SIM_FN(sim_collapse)(struct sim_state *s, unsigned q, int outcome, double p)
{
	const uint64_t qb = (uint64_t)1 << q;
	const double f = 1.0 / sqrt(p);
	struct mctx M;

	zero_half(s, q, !outcome);
	M.psi = (v2r *)SIM_AMPS(s);
	M.f = (v2r){ (sim_real)f, (sim_real)f };
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
		v2r *restrict p0 = M->psi + sim_loop_base(L, o);
		v2r *restrict p1 = p0 + qs;

		for (size_t j = j0; j < j1; j++) {
			p0[j << L->lo] = p1[j << L->lo];
			p1[j << L->lo] = (v2r){ 0, 0 };
		}
	}
}

void SIM_FN(sim_flip_to_zero)(struct sim_state *s, unsigned q)
{
	const uint64_t qb = (uint64_t)1 << q;
	struct mctx M;

	M.psi = (v2r *)SIM_AMPS(s);
	M.chunk = (size_t)1 << q;  /* the stride of q */
	sim_loop_init(&M.L, s->nqubits, qb, 0);
	sim_par_for(s->threads, M.L.outer * M.L.inner, SIM_PAR_MIN, flip_range,
		    &M);
}

double SIM_FN(sim_norm2)(const struct sim_state *s)
{
	const sim_real *a = SIM_AMPS(s);
	/* re and im of even and of odd amplitudes, added in that order */
	double re0 = 0, im0 = 0, re1 = 0, im1 = 0;
	size_t i = 0;

	for (; i + 2 <= s->namps; i += 2) {
		re0 += (double)a[2 * i] * a[2 * i];
		im0 += (double)a[2 * i + 1] * a[2 * i + 1];
		re1 += (double)a[2 * i + 2] * a[2 * i + 2];
		im1 += (double)a[2 * i + 3] * a[2 * i + 3];
	}
	for (; i < s->namps; i++) {
		re0 += (double)a[2 * i] * a[2 * i];
		im0 += (double)a[2 * i + 1] * a[2 * i + 1];
	}
	return (re0 + re1) + (im0 + im1);
}

uint64_t SIM_FN(sim_sample_index)(const struct sim_state *s, double u,
				  double norm2)
{
	const sim_real *a = SIM_AMPS(s);
	const double target = u * norm2;
	double acc = 0;
	uint64_t last = 0;

	for (size_t i = 0; i < s->namps; i++) {
		double p = (double)a[2 * i] * a[2 * i] +
			   (double)a[2 * i + 1] * a[2 * i + 1];

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
