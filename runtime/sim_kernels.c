/*
 * sim_kernels.c - gate kernels on the state vector. Each reads and writes
 * only the amplitudes the gate changes, once.
 *
 * Amplitudes are handled as v2d {re, im}; a complex product m*a is
 * {mr, mr}*a + {-mi, mi}*{a.im, a.re}: two multiplies, one add and one
 * shuffle, no calls into libgcc's NaN-careful complex multiply. The inner
 * loops run over contiguous memory whenever qubit 0 is not involved.
 */
#include "sim.h"
#include "sim_loop.h"

#include <string.h>

struct cplx {
	v2d r;  /* {re, re} */
	v2d i;  /* {-im, im} */
};

static inline struct cplx cplx_of(const double *m)
{
	struct cplx c = { { m[0], m[0] }, { -m[1], m[1] } };

	return c;
}

static inline v2d swap_ri(v2d a)
{
	return (v2d){ a[1], a[0] };
}

static inline v2d cmul(struct cplx m, v2d a)
{
	return m.r * a + m.i * swap_ri(a);
}

static inline int is_one(const double *m)
{
	return m[0] == 1.0 && m[1] == 0.0;
}

/* ---- 1-qubit gates ---- */

/*
 * Targets 5..8 of a state larger than the caches are a bad case for the
 * hardware prefetchers: the two halves of each pair block are runs of 0.5 to
 * 4 KiB, read as two interleaved streams that jump at every block, and DRAM
 * throughput halves or worse (measured on Zen 5; targets below 5 and above 10
 * stream fine). Copying each block to a buffer with one sequential loop
 * first keeps the memory traffic a single ascending stream; the buffer is
 * then computed in L1 and the results go back in order.
 */
#define K1_BUFFER_MIN_T 5
#define K1_BUFFER_MAX_T 8
#define K1_BUFFER_MIN_QUBITS 18

static void k1_general_buffered(v2d *psi, const struct sim_loop *L,
				unsigned t, const struct cplx *m)
{
	v2d tmp[2u << K1_BUFFER_MAX_T] __attribute__((aligned(64)));
	const size_t ts = (size_t)1 << t;

	for (size_t o = 0; o < L->outer; o++) {
		v2d *restrict p = psi + sim_loop_base(L, o);

		for (size_t j = 0; j < 2 * ts; j++)
			tmp[j] = p[j];
		for (size_t j = 0; j < ts; j++) {
			v2d a = tmp[j], b = tmp[j + ts];

			p[j] = cmul(m[0], a) + cmul(m[1], b);
			p[j + ts] = cmul(m[2], a) + cmul(m[3], b);
		}
	}
}

static void k1_general(double *amps, unsigned n, unsigned t, uint64_t ctrl,
		       const double *m)
{
	struct sim_loop L;
	const struct cplx m00 = cplx_of(m), m01 = cplx_of(m + 2),
			  m10 = cplx_of(m + 4), m11 = cplx_of(m + 6);
	const size_t ts = (size_t)1 << t;
	v2d *psi = (v2d *)amps;

	sim_loop_init(&L, n, ctrl | ((uint64_t)1 << t), ctrl);
	/* The pair block [base, base + 2 ts) is contiguous when t is the
	 * lowest special bit. */
	if (t >= K1_BUFFER_MIN_T && t <= K1_BUFFER_MAX_T && L.lo == 0 &&
	    L.hi == t && n >= K1_BUFFER_MIN_QUBITS) {
		const struct cplx mm[4] = { m00, m01, m10, m11 };

		k1_general_buffered(psi, &L, t, mm);
		return;
	}
	for (size_t o = 0; o < L.outer; o++) {
		v2d *restrict p0 = psi + sim_loop_base(&L, o);
		v2d *restrict p1 = p0 + ts;

		if (L.lo == 0) {
			for (size_t j = 0; j < L.inner; j++) {
				v2d a = p0[j], b = p1[j];

				p0[j] = cmul(m00, a) + cmul(m01, b);
				p1[j] = cmul(m10, a) + cmul(m11, b);
			}
		} else {
			const unsigned lo = L.lo;

			for (size_t j = 0; j < L.inner; j++) {
				v2d a = p0[j << lo], b = p1[j << lo];

				p0[j << lo] = cmul(m00, a) + cmul(m01, b);
				p1[j << lo] = cmul(m10, a) + cmul(m11, b);
			}
		}
	}
}

/* Multiply every amplitude with the @special bits equal to @fixed by @d. */
static void k_scale(double *amps, unsigned n, uint64_t special,
		    uint64_t fixed, const double *d)
{
	struct sim_loop L;
	const struct cplx c = cplx_of(d);
	v2d *psi = (v2d *)amps;

	sim_loop_init(&L, n, special, fixed);
	if (d[0] == -1.0 && d[1] == 0.0) {  /* Z-like: a sign flip */
		for (size_t o = 0; o < L.outer; o++) {
			v2d *restrict p = psi + sim_loop_base(&L, o);

			for (size_t j = 0; j < L.inner; j++)
				p[j << L.lo] = -p[j << L.lo];
		}
		return;
	}
	for (size_t o = 0; o < L.outer; o++) {
		v2d *restrict p = psi + sim_loop_base(&L, o);

		if (L.lo == 0) {
			for (size_t j = 0; j < L.inner; j++)
				p[j] = cmul(c, p[j]);
		} else {
			for (size_t j = 0; j < L.inner; j++)
				p[j << L.lo] = cmul(c, p[j << L.lo]);
		}
	}
}

static void k1_diag(double *amps, unsigned n, unsigned t, uint64_t ctrl,
		    const double *m)
{
	const uint64_t tb = (uint64_t)1 << t;

	/* Each half separately: a phase gate (d0 = 1) then touches only the
	 * amplitudes with the target set. */
	if (!is_one(m))
		k_scale(amps, n, ctrl | tb, ctrl, m);
	if (!is_one(m + 6))
		k_scale(amps, n, ctrl | tb, ctrl | tb, m + 6);
}

static void k1_perm(double *amps, unsigned n, unsigned t, uint64_t ctrl,
		    const double *m)
{
	struct sim_loop L;
	const size_t ts = (size_t)1 << t;
	v2d *psi = (v2d *)amps;

	sim_loop_init(&L, n, ctrl | ((uint64_t)1 << t), ctrl);
	if (is_one(m + 2) && is_one(m + 4)) {  /* X: a plain exchange */
		for (size_t o = 0; o < L.outer; o++) {
			v2d *restrict p0 = psi + sim_loop_base(&L, o);
			v2d *restrict p1 = p0 + ts;

			for (size_t j = 0; j < L.inner; j++) {
				v2d a = p0[j << L.lo];

				p0[j << L.lo] = p1[j << L.lo];
				p1[j << L.lo] = a;
			}
		}
		return;
	}
	const struct cplx m01 = cplx_of(m + 2), m10 = cplx_of(m + 4);

	for (size_t o = 0; o < L.outer; o++) {
		v2d *restrict p0 = psi + sim_loop_base(&L, o);
		v2d *restrict p1 = p0 + ts;

		for (size_t j = 0; j < L.inner; j++) {
			v2d a = p0[j << L.lo], b = p1[j << L.lo];

			p0[j << L.lo] = cmul(m01, b);
			p1[j << L.lo] = cmul(m10, a);
		}
	}
}

void sim_apply_gate1(struct sim_state *s, unsigned t, uint64_t ctrl,
		     const double m[8], int shape)
{
	switch (shape) {
	case QASM_MAT_DIAG:
		k1_diag(s->amps, s->nqubits, t, ctrl, m);
		return;
	case QASM_MAT_PERM:
		/* A permutation 2x2 is diagonal or anti-diagonal. */
		if (m[2] == 0 && m[3] == 0) {
			k1_diag(s->amps, s->nqubits, t, ctrl, m);
			return;
		}
		k1_perm(s->amps, s->nqubits, t, ctrl, m);
		return;
	default:
		k1_general(s->amps, s->nqubits, t, ctrl, m);
		return;
	}
}

void sim_apply_h(struct sim_state *s, unsigned t)
{
	static const double h[8] = {
		0.70710678118654752, 0, 0.70710678118654752, 0,
		0.70710678118654752, 0, -0.70710678118654752, 0,
	};

	k1_general(s->amps, s->nqubits, t, 0, h);
}

/* ---- 2-qubit gates ---- */

static void k2_general(double *amps, unsigned n, unsigned q0, unsigned q1,
		       uint64_t ctrl, const double *m)
{
	struct sim_loop L;
	struct cplx c[16];
	const size_t s0 = (size_t)1 << q0, s1 = (size_t)1 << q1;
	v2d *psi = (v2d *)amps;

	for (int i = 0; i < 16; i++)
		c[i] = cplx_of(m + 2 * i);
	sim_loop_init(&L, n, ctrl | ((uint64_t)1 << q0) | ((uint64_t)1 << q1),
		      ctrl);
	for (size_t o = 0; o < L.outer; o++) {
		v2d *restrict p0 = psi + sim_loop_base(&L, o);
		v2d *restrict p1 = p0 + s0;
		v2d *restrict p2 = p0 + s1;
		v2d *restrict p3 = p0 + s0 + s1;

		for (size_t j = 0; j < L.inner; j++) {
			size_t x = j << L.lo;
			v2d a0 = p0[x], a1 = p1[x], a2 = p2[x], a3 = p3[x];

			p0[x] = cmul(c[0], a0) + cmul(c[1], a1) +
				cmul(c[2], a2) + cmul(c[3], a3);
			p1[x] = cmul(c[4], a0) + cmul(c[5], a1) +
				cmul(c[6], a2) + cmul(c[7], a3);
			p2[x] = cmul(c[8], a0) + cmul(c[9], a1) +
				cmul(c[10], a2) + cmul(c[11], a3);
			p3[x] = cmul(c[12], a0) + cmul(c[13], a1) +
				cmul(c[14], a2) + cmul(c[15], a3);
		}
	}
}

static void k2_diag(double *amps, unsigned n, unsigned q0, unsigned q1,
		    uint64_t ctrl, const double *m)
{
	const uint64_t b0 = (uint64_t)1 << q0, b1 = (uint64_t)1 << q1;
	const uint64_t set[4] = { 0, b0, b1, b0 | b1 };

	for (int r = 0; r < 4; r++)
		if (!is_one(m + 2 * (5 * r)))
			k_scale(amps, n, ctrl | b0 | b1, ctrl | set[r],
				m + 2 * (5 * r));
}

static void k2_perm(double *amps, unsigned n, unsigned q0, unsigned q1,
		    uint64_t ctrl, const double *m)
{
	struct sim_loop L;
	struct cplx ph[4];
	int src[4];
	const size_t s0 = (size_t)1 << q0, s1 = (size_t)1 << q1;
	const size_t off[4] = { 0, s0, s1, s0 + s1 };
	v2d *psi = (v2d *)amps;
	int plain = 1;

	for (int r = 0; r < 4; r++) {
		src[r] = 0;
		for (int c = 0; c < 4; c++)
			if (m[2 * (4 * r + c)] != 0 || m[2 * (4 * r + c) + 1] != 0)
				src[r] = c;
		ph[r] = cplx_of(m + 2 * (4 * r + src[r]));
		if (!is_one(m + 2 * (4 * r + src[r])))
			plain = 0;
	}
	sim_loop_init(&L, n, ctrl | ((uint64_t)1 << q0) | ((uint64_t)1 << q1),
		      ctrl);
	if (plain && src[0] == 0 && src[1] == 2 && src[2] == 1 && src[3] == 3) {
		/* swap: exchange |01> and |10>, leave the rest */
		for (size_t o = 0; o < L.outer; o++) {
			v2d *restrict p1 = psi + sim_loop_base(&L, o) + s0;
			v2d *restrict p2 = p1 - s0 + s1;

			for (size_t j = 0; j < L.inner; j++) {
				v2d a = p1[j << L.lo];

				p1[j << L.lo] = p2[j << L.lo];
				p2[j << L.lo] = a;
			}
		}
		return;
	}
	for (size_t o = 0; o < L.outer; o++) {
		v2d *p = psi + sim_loop_base(&L, o);

		for (size_t j = 0; j < L.inner; j++) {
			size_t x = j << L.lo;
			v2d in[4];

			for (int r = 0; r < 4; r++)
				in[r] = p[x + off[r]];
			for (int r = 0; r < 4; r++)
				p[x + off[r]] = cmul(ph[r], in[src[r]]);
		}
	}
}

void sim_apply_gate2(struct sim_state *s, unsigned q0, unsigned q1,
		     uint64_t ctrl, const double m[32], int shape)
{
	switch (shape) {
	case QASM_MAT_DIAG:
		k2_diag(s->amps, s->nqubits, q0, q1, ctrl, m);
		return;
	case QASM_MAT_PERM:
		k2_perm(s->amps, s->nqubits, q0, q1, ctrl, m);
		return;
	default:
		k2_general(s->amps, s->nqubits, q0, q1, ctrl, m);
		return;
	}
}
