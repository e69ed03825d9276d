/*
 * sim_measure.c - measurement on the state vector: probabilities, collapse,
 * reset, and drawing one basis state.
 */
#include "sim.h"
#include "sim_loop.h"

#include <math.h>

double sim_prob_one(const struct sim_state *s, unsigned q)
{
	struct sim_loop L;
	const uint64_t qb = (uint64_t)1 << q;
	const v2d *psi = (const v2d *)s->amps;
	v2d acc = { 0, 0 };

	sim_loop_init(&L, s->nqubits, qb, qb);
	for (size_t o = 0; o < L.outer; o++) {
		const v2d *p = psi + sim_loop_base(&L, o);

		for (size_t j = 0; j < L.inner; j++) {
			v2d a = p[j << L.lo];

			acc += a * a;
		}
	}
	return acc[0] + acc[1];
}

/* Set the amplitudes with bit @q equal to @value to zero. */
static void zero_half(struct sim_state *s, unsigned q, int value)
{
	struct sim_loop L;
	const uint64_t qb = (uint64_t)1 << q;
	v2d *psi = (v2d *)s->amps;
	const v2d z = { 0, 0 };

	sim_loop_init(&L, s->nqubits, qb, value ? qb : 0);
	for (size_t o = 0; o < L.outer; o++) {
		v2d *p = psi + sim_loop_base(&L, o);

		for (size_t j = 0; j < L.inner; j++)
			p[j << L.lo] = z;
	}
}

void sim_collapse(struct sim_state *s, unsigned q, int outcome, double p)
{
	struct sim_loop L;
	const uint64_t qb = (uint64_t)1 << q;
	v2d *psi = (v2d *)s->amps;
	const double f = 1.0 / sqrt(p);
	const v2d fv = { f, f };

	zero_half(s, q, !outcome);
	sim_loop_init(&L, s->nqubits, qb, outcome ? qb : 0);
	for (size_t o = 0; o < L.outer; o++) {
		v2d *p0 = psi + sim_loop_base(&L, o);

		for (size_t j = 0; j < L.inner; j++)
			p0[j << L.lo] *= fv;
	}
}

void sim_flip_to_zero(struct sim_state *s, unsigned q)
{
	struct sim_loop L;
	const uint64_t qb = (uint64_t)1 << q;
	const size_t qs = (size_t)1 << q;
	v2d *psi = (v2d *)s->amps;
	const v2d z = { 0, 0 };

	sim_loop_init(&L, s->nqubits, qb, 0);
	for (size_t o = 0; o < L.outer; o++) {
		v2d *restrict p0 = psi + sim_loop_base(&L, o);
		v2d *restrict p1 = p0 + qs;

		for (size_t j = 0; j < L.inner; j++) {
			p0[j << L.lo] = p1[j << L.lo];
			p1[j << L.lo] = z;
		}
	}
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
