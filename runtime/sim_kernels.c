/*
 * sim_kernels.c - gate kernels on the state vector. Each reads and writes
 * only the amplitudes the gate changes, once.
 *
 * Amplitudes are handled as v2r {re, im}; a complex product m*a is
 * {mr, mr}*a + {-mi, mi}*{a.im, a.re}: two multiplies, one add and one
 * shuffle, no calls into libgcc's NaN-careful complex multiply. The inner
 * loops run over contiguous memory whenever qubit 0 is not involved. Each
 * pass splits across the state's threads (sim_par_for) over its flat
 * iteration space (SIM_LOOP_RUNS), so also when the outer loop is short.
 * Built in double and in float (sim_kernels_f32.c; see sim_loop.h).
 */
#include "sim.h"
#include "sim_loop.h"
#include "sim_prec.h"
#include "sim_plan.h"

#include <string.h>

struct cplx {
	v2r r;  /* {re, re} */
	v2r i;  /* {-im, im} */
};

static inline struct cplx cplx_of(const double *m)
{
	const sim_real re = (sim_real)m[0], im = (sim_real)m[1];
	struct cplx c = { { re, re }, { -im, im } };

	return c;
}

static inline v2r swap_ri(v2r a)
{
	return (v2r){ a[1], a[0] };
}

static inline v2r cmul(struct cplx m, v2r a)
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

/* What a pass needs; each kernel uses some of it. */
struct kctx {
	v2r *psi;
	struct sim_loop L;
	unsigned t;
	size_t s0, s1;          /* strides of the targets */
	struct cplx m[16];
	int src[4];
	size_t off[4];
};

static void k1_general_buffered(void *arg, size_t o0, size_t o1)
{
	const struct kctx *K = arg;
	v2r tmp[2u << K1_BUFFER_MAX_T] __attribute__((aligned(64)));
	const size_t ts = K->s0;
	const struct cplx *m = K->m;

	for (size_t o = o0; o < o1; o++) {
		v2r *restrict p = K->psi + sim_loop_base(&K->L, o);

		for (size_t j = 0; j < 2 * ts; j++)
			tmp[j] = p[j];
		for (size_t j = 0; j < ts; j++) {
			v2r a = tmp[j], b = tmp[j + ts];

			p[j] = cmul(m[0], a) + cmul(m[1], b);
			p[j + ts] = cmul(m[2], a) + cmul(m[3], b);
		}
	}
}

static void k1_general_range(void *arg, size_t f0, size_t f1)
{
	const struct kctx *K = arg;
	const struct sim_loop *L = &K->L;
	const struct cplx m00 = K->m[0], m01 = K->m[1], m10 = K->m[2],
			  m11 = K->m[3];
	const size_t ts = K->s0;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2r *restrict p0 = K->psi + sim_loop_base(L, o);
		v2r *restrict p1 = p0 + ts;

		if (L->lo == 0) {
			for (size_t j = j0; j < j1; j++) {
				v2r a = p0[j], b = p1[j];

				p0[j] = cmul(m00, a) + cmul(m01, b);
				p1[j] = cmul(m10, a) + cmul(m11, b);
			}
		} else {
			const unsigned lo = L->lo;

			for (size_t j = j0; j < j1; j++) {
				v2r a = p0[j << lo], b = p1[j << lo];

				p0[j << lo] = cmul(m00, a) + cmul(m01, b);
				p1[j << lo] = cmul(m10, a) + cmul(m11, b);
			}
		}
	}
}

static void k1_general(sim_real *amps, unsigned n, unsigned threads,
		       unsigned t, uint64_t ctrl, const double *m,
		       uint64_t rm, uint64_t rv)
{
	struct kctx K;

	K.psi = (v2r *)amps;
	K.m[0] = cplx_of(m);
	K.m[1] = cplx_of(m + 2);
	K.m[2] = cplx_of(m + 4);
	K.m[3] = cplx_of(m + 6);
	K.s0 = (size_t)1 << t;
	sim_loop_init(&K.L, n, ctrl | rm | ((uint64_t)1 << t), ctrl | rv);
	/* The pair block [base, base + 2 ts) is contiguous when t is the
	 * lowest special bit. */
	if (t >= K1_BUFFER_MIN_T && t <= K1_BUFFER_MAX_T && K.L.lo == 0 &&
	    K.L.hi == t && n >= K1_BUFFER_MIN_QUBITS) {
		sim_par_for(threads, K.L.outer, SIM_PAR_MIN >> t,
			    k1_general_buffered, &K);
		return;
	}
	sim_par_for(threads, K.L.outer * K.L.inner, SIM_PAR_MIN,
		    k1_general_range, &K);
}

static void k_scale_range(void *arg, size_t f0, size_t f1)
{
	const struct kctx *K = arg;
	const struct sim_loop *L = &K->L;
	const struct cplx c = K->m[0];

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2r *restrict p = K->psi + sim_loop_base(L, o);

		if (K->t) {  /* a sign flip */
			for (size_t j = j0; j < j1; j++)
				p[j << L->lo] = -p[j << L->lo];
		} else if (L->lo == 0) {
			for (size_t j = j0; j < j1; j++)
				p[j] = cmul(c, p[j]);
		} else {
			for (size_t j = j0; j < j1; j++)
				p[j << L->lo] = cmul(c, p[j << L->lo]);
		}
	}
}

/* Multiply every amplitude with the @special bits equal to @fixed by @d. */
static void k_scale(sim_real *amps, unsigned n, unsigned threads,
		    uint64_t special, uint64_t fixed, const double *d)
{
	struct kctx K;

	K.psi = (v2r *)amps;
	K.m[0] = cplx_of(d);
	K.t = d[0] == -1.0 && d[1] == 0.0;  /* Z-like: a sign flip */
	sim_loop_init(&K.L, n, special, fixed);
	sim_par_for(threads, K.L.outer * K.L.inner, SIM_PAR_MIN,
		    k_scale_range, &K);
}

static void k1_diag(sim_real *amps, unsigned n, unsigned threads, unsigned t,
		    uint64_t ctrl, const double *m, uint64_t rm, uint64_t rv)
{
	const uint64_t tb = (uint64_t)1 << t;

	/* Each half separately: a phase gate (d0 = 1) then touches only the
	 * amplitudes with the target set. */
	if (!is_one(m))
		k_scale(amps, n, threads, ctrl | rm | tb, ctrl | rv, m);
	if (!is_one(m + 6))
		k_scale(amps, n, threads, ctrl | rm | tb, ctrl | rv | tb, m + 6);
}

static void k1_perm_range(void *arg, size_t f0, size_t f1)
{
	const struct kctx *K = arg;
	const struct sim_loop *L = &K->L;
	const size_t ts = K->s0;
	const unsigned lo = L->lo;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2r *restrict p0 = K->psi + sim_loop_base(L, o);
		v2r *restrict p1 = p0 + ts;

		if (K->t) {  /* X: a plain exchange */
			for (size_t j = j0; j < j1; j++) {
				v2r a = p0[j << lo];

				p0[j << lo] = p1[j << lo];
				p1[j << lo] = a;
			}
			continue;
		}
		for (size_t j = j0; j < j1; j++) {
			v2r a = p0[j << lo], b = p1[j << lo];

			p0[j << lo] = cmul(K->m[0], b);
			p1[j << lo] = cmul(K->m[1], a);
		}
	}
}

static void k1_perm(sim_real *amps, unsigned n, unsigned threads, unsigned t,
		    uint64_t ctrl, const double *m, uint64_t rm, uint64_t rv)
{
	struct kctx K;

	K.psi = (v2r *)amps;
	K.s0 = (size_t)1 << t;
	K.t = is_one(m + 2) && is_one(m + 4);
	K.m[0] = cplx_of(m + 2);
	K.m[1] = cplx_of(m + 4);
	sim_loop_init(&K.L, n, ctrl | rm | ((uint64_t)1 << t), ctrl | rv);
	sim_par_for(threads, K.L.outer * K.L.inner, SIM_PAR_MIN,
		    k1_perm_range, &K);
}

void SIM_FN(sim_apply_gate1_r)(struct sim_state *s, unsigned t, uint64_t ctrl,
		       const double m[8], int shape, uint64_t rm, uint64_t rv)
{
	switch (shape) {
	case QASM_MAT_DIAG:
		k1_diag(SIM_AMPS(s), s->nqubits, s->threads, t, ctrl, m, rm, rv);
		return;
	case QASM_MAT_PERM:
		/* A permutation 2x2 is diagonal or anti-diagonal. */
		if (m[2] == 0 && m[3] == 0) {
			k1_diag(SIM_AMPS(s), s->nqubits, s->threads, t, ctrl, m,
				rm, rv);
			return;
		}
		k1_perm(SIM_AMPS(s), s->nqubits, s->threads, t, ctrl, m, rm, rv);
		return;
	default:
		k1_general(SIM_AMPS(s), s->nqubits, s->threads, t, ctrl, m, rm,
			   rv);
		return;
	}
}

void SIM_FN(sim_apply_gate1)(struct sim_state *s, unsigned t, uint64_t ctrl,
		     const double m[8], int shape)
{
	SIM_FN(sim_apply_gate1_r)(s, t, ctrl, m, shape, 0, 0);
}

void SIM_FN(sim_apply_h)(struct sim_state *s, unsigned t)
{
	static const double h[8] = {
		0.70710678118654752, 0, 0.70710678118654752, 0,
		0.70710678118654752, 0, -0.70710678118654752, 0,
	};

	k1_general(SIM_AMPS(s), s->nqubits, s->threads, t, 0, h, 0, 0);
}

/* ---- 2-qubit gates ---- */

static void k2_general_range(void *arg, size_t f0, size_t f1)
{
	const struct kctx *K = arg;
	const struct sim_loop *L = &K->L;
	const struct cplx *c = K->m;
	const size_t s0 = K->s0, s1 = K->s1;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2r *restrict p0 = K->psi + sim_loop_base(L, o);
		v2r *restrict p1 = p0 + s0;
		v2r *restrict p2 = p0 + s1;
		v2r *restrict p3 = p0 + s0 + s1;

		for (size_t j = j0; j < j1; j++) {
			size_t x = j << L->lo;
			v2r a0 = p0[x], a1 = p1[x], a2 = p2[x], a3 = p3[x];

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

static void k2_general(sim_real *amps, unsigned n, unsigned threads,
		       unsigned q0, unsigned q1, uint64_t ctrl, const double *m,
		       uint64_t rm, uint64_t rv)
{
	struct kctx K;

	K.psi = (v2r *)amps;
	for (int i = 0; i < 16; i++)
		K.m[i] = cplx_of(m + 2 * i);
	K.s0 = (size_t)1 << q0;
	K.s1 = (size_t)1 << q1;
	sim_loop_init(&K.L, n, ctrl | rm | ((uint64_t)1 << q0) |
		      ((uint64_t)1 << q1), ctrl | rv);
	sim_par_for(threads, K.L.outer * K.L.inner, SIM_PAR_MIN,
		    k2_general_range, &K);
}

static void k2_diag(sim_real *amps, unsigned n, unsigned threads, unsigned q0,
		    unsigned q1, uint64_t ctrl, const double *m, uint64_t rm,
		    uint64_t rv)
{
	const uint64_t b0 = (uint64_t)1 << q0, b1 = (uint64_t)1 << q1;
	const uint64_t set[4] = { 0, b0, b1, b0 | b1 };

	for (int r = 0; r < 4; r++)
		if (!is_one(m + 2 * (5 * r)))
			k_scale(amps, n, threads, ctrl | rm | b0 | b1,
				ctrl | rv | set[r], m + 2 * (5 * r));
}

static void k2_swap_range(void *arg, size_t f0, size_t f1)
{
	const struct kctx *K = arg;
	const struct sim_loop *L = &K->L;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2r *restrict p1 = K->psi + sim_loop_base(L, o) + K->s0;
		v2r *restrict p2 = p1 - K->s0 + K->s1;

		for (size_t j = j0; j < j1; j++) {
			v2r a = p1[j << L->lo];

			p1[j << L->lo] = p2[j << L->lo];
			p2[j << L->lo] = a;
		}
	}
}

static void k2_perm_range(void *arg, size_t f0, size_t f1)
{
	const struct kctx *K = arg;
	const struct sim_loop *L = &K->L;

	SIM_LOOP_RUNS(L, f0, f1, o, j0, j1) {
		v2r *p = K->psi + sim_loop_base(L, o);

		for (size_t j = j0; j < j1; j++) {
			size_t x = j << L->lo;
			v2r in[4];

			for (int r = 0; r < 4; r++)
				in[r] = p[x + K->off[r]];
			for (int r = 0; r < 4; r++)
				p[x + K->off[r]] = cmul(K->m[r], in[K->src[r]]);
		}
	}
}

static void k2_perm(sim_real *amps, unsigned n, unsigned threads, unsigned q0,
		    unsigned q1, uint64_t ctrl, const double *m, uint64_t rm,
		    uint64_t rv)
{
	struct kctx K;
	int plain = 1;

	K.psi = (v2r *)amps;
	K.s0 = (size_t)1 << q0;
	K.s1 = (size_t)1 << q1;
	K.off[0] = 0;
	K.off[1] = K.s0;
	K.off[2] = K.s1;
	K.off[3] = K.s0 + K.s1;
	for (int r = 0; r < 4; r++) {
		K.src[r] = 0;
		for (int c = 0; c < 4; c++)
			if (m[2 * (4 * r + c)] != 0 || m[2 * (4 * r + c) + 1] != 0)
				K.src[r] = c;
		K.m[r] = cplx_of(m + 2 * (4 * r + K.src[r]));
		if (!is_one(m + 2 * (4 * r + K.src[r])))
			plain = 0;
	}
	sim_loop_init(&K.L, n, ctrl | rm | ((uint64_t)1 << q0) |
		      ((uint64_t)1 << q1), ctrl | rv);
	if (plain && K.src[0] == 0 && K.src[1] == 2 && K.src[2] == 1 &&
	    K.src[3] == 3) {
		/* swap: exchange |01> and |10>, leave the rest */
		sim_par_for(threads, K.L.outer * K.L.inner, SIM_PAR_MIN,
			    k2_swap_range, &K);
		return;
	}
	sim_par_for(threads, K.L.outer * K.L.inner, SIM_PAR_MIN,
		    k2_perm_range, &K);
}

void SIM_FN(sim_apply_gate2_r)(struct sim_state *s, unsigned q0, unsigned q1,
		       uint64_t ctrl, const double m[32], int shape,
		       uint64_t rm, uint64_t rv)
{
	switch (shape) {
	case QASM_MAT_DIAG:
		k2_diag(SIM_AMPS(s), s->nqubits, s->threads, q0, q1, ctrl, m, rm,
			rv);
		return;
	case QASM_MAT_PERM:
		k2_perm(SIM_AMPS(s), s->nqubits, s->threads, q0, q1, ctrl, m, rm,
			rv);
		return;
	default:
		k2_general(SIM_AMPS(s), s->nqubits, s->threads, q0, q1, ctrl, m,
			   rm, rv);
		return;
	}
}

void SIM_FN(sim_apply_gate2)(struct sim_state *s, unsigned q0, unsigned q1,
		     uint64_t ctrl, const double m[32], int shape)
{
	SIM_FN(sim_apply_gate2_r)(s, q0, q1, ctrl, m, shape, 0, 0);
}
