/*
 * sim_block.c - kernels of fused blocks (sim_plan.h): one sweep over the
 * state per block, split across the state's threads.
 *
 * A block on k qubits q[0] < ... < q[k-1] visits groups of 2^k amplitudes:
 * a base index with zeros at the q[b], plus the offsets of the 2^k values
 * of those bits. Dense blocks compute W groups at once when the W - 1
 * lowest bits are free (no q[b] below log2 W): the W consecutive
 * amplitudes of a group member are one vector of 2W doubles, and each
 * complex product m * a is two multiply-adds with the broadcast re and im
 * of m (a's re/im swapped, with the sign, once per amplitude). Built for
 * three instruction sets (AVX-512, AVX2 with FMA, baseline x86-64) and
 * picked at load time; multiply-adds are contracted (fp-contract=fast).
 * Monomial blocks (one non-zero per row) only move amplitudes and scale
 * them; diagonal blocks multiply each amplitude by one table entry, its
 * index made from the low byte of the amplitude's index through a 256-entry
 * table and from the high bits once per 256 amplitudes.
 *
 * Built twice (sim_loop.h): in double, and in float for single-precision
 * states (sim_block_f32.c), where a vector holds the same number of
 * amplitudes in half the bytes and the matrix is rounded to float first.
 */
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include "sim_plan.h"
#include "sim_loop.h"
#include "sim_prec.h"

#include <stdlib.h>
#include <string.h>

/* Four amplitudes. */
typedef sim_real vr4 __attribute__((vector_size(8 * sizeof(sim_real)),
				    aligned(8 * sizeof(sim_real)), may_alias));
/* Shuffle masks: integers of the reals' size. */
#ifdef SIM_SINGLE
typedef int sim_lane;
#else
typedef long long sim_lane;
#endif
typedef sim_lane vl1 __attribute__((vector_size(2 * sizeof(sim_real))));
typedef sim_lane vl4 __attribute__((vector_size(8 * sizeof(sim_real))));

/* Groups per thread's range below which a pass stays on one thread. */
#define BLOCK_MIN_SPLIT 256

struct blk {
	sim_real *amps;
	unsigned k, lw;               /* lw: log2 of the amplitudes per lane set */
	uint32_t q[SIM_DIAG_MAX];
	size_t off[1u << SIM_FUSE_MAX];  /* in amplitudes */
	const sim_real *m;
	/* group enumeration: zeros inserted at ins[], then rval set */
	uint32_t ins[64];
	unsigned nins;
	size_t rval;
	/* monomial */
	unsigned src[1u << SIM_FUSE_MAX];
	unsigned mov[1u << SIM_FUSE_MAX];  /* rows that change, nmov of them */
	unsigned nmov;
	bool plain;
	/* dense on qubit 0 or 1 */
	sim_real *coef;
	/* diagonal */
	uint32_t lotab[256];
	unsigned nq;
};

static inline size_t group_base(const struct blk *B, size_t g)
{
	size_t x = g << B->lw;

	for (unsigned b = 0; b < B->nins; b++) {
		unsigned p = B->ins[b];

		x = ((x >> p) << (p + 1)) | (x & (((size_t)1 << p) - 1));
	}
	return x | B->rval;
}

/*
 * The positions a group index skips: the block's qubits q[0..k) and the
 * restricted qubits of @rmask at or above @minbit (their values @rval
 * are set in every base). Returns the number of groups of 2^lw.
 */
static size_t groups_setup(struct blk *B, const uint32_t *q, unsigned k,
			   uint64_t rmask, uint64_t rval, unsigned minbit)
{
	uint64_t all = 0;

	for (unsigned b = 0; b < k; b++)
		all |= (uint64_t)1 << q[b];
	rmask &= ~(((uint64_t)1 << minbit) - 1) & ~all;
	if (B->nq < 64)
		rmask &= ((uint64_t)1 << B->nq) - 1;
	all |= rmask;
	B->nins = 0;
	for (uint64_t x = all; x; x &= x - 1)
		B->ins[B->nins++] = (uint32_t)__builtin_ctzll(x);
	B->rval = (size_t)(rval & rmask);
	return ((size_t)1 << B->nq) >> (B->nins + B->lw);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", \
					     "arch=x86-64-v3", "default")))
#else
#define CLONES  /* other compilers: the build's own instruction set */
#endif

/* Lane permutations: gcc's and clang's spellings. */
#ifdef __clang__
#define SHUF2(v, a, b) __builtin_shufflevector(v, v, a, b)
#define SHUF8(v, a, b, c, d, e, f, g, h) \
	__builtin_shufflevector(v, v, a, b, c, d, e, f, g, h)
#else
#define SHUF2(v, a, b) __builtin_shuffle(v, (vl1){ a, b })
#define SHUF8(v, a, b, c, d, e, f, g, h) \
	__builtin_shuffle(v, (vl4){ a, b, c, d, e, f, g, h })
#endif

/* Dense 2^K x 2^K on groups of VT (one or more amplitudes per lane set). */
#define DENSE_KERNEL(NAME, D, VT, SWAP, SIGN)				\
CLONES static void NAME(void *ctx, size_t g0, size_t g1)		\
{									\
	const struct blk *B = ctx;					\
	const sim_real *m = B->m;					\
	const VT sgn = SIGN;						\
									\
	for (size_t g = g0; g < g1; g++) {				\
		sim_real *p = B->amps + 2 * group_base(B, g);		\
		VT v[D], w[D];						\
									\
		for (int j = 0; j < D; j++) {				\
			memcpy(&v[j], p + 2 * B->off[j], sizeof(VT));	\
			w[j] = SWAP(v[j]) * sgn;			\
		}							\
		for (int i = 0; i < D; i++) {				\
			const sim_real *row = m + 2 * D * i;		\
			VT acc = v[0] * row[0] + w[0] * row[1];		\
									\
			for (int j = 1; j < D; j++)			\
				acc += v[j] * row[2 * j] +		\
				       w[j] * row[2 * j + 1];		\
			memcpy(p + 2 * B->off[i], &acc, sizeof(VT));	\
		}							\
	}								\
}

#define SW1(v) SHUF2(v, 1, 0)
#define SW4(v) SHUF8(v, 1, 0, 3, 2, 5, 4, 7, 6)
#define SG1 ((v2r){ -1, 1 })
#define SG4 ((vr4){ -1, 1, -1, 1, -1, 1, -1, 1 })

#define DENSE_SET(D)							\
	DENSE_KERNEL(dense##D##_w1, D, v2r, SW1, SG1)			\
	DENSE_KERNEL(dense##D##_w4, D, vr4, SW4, SG4)

DENSE_SET(2)
DENSE_SET(4)
DENSE_SET(8)
DENSE_SET(16)
DENSE_SET(32)

/* [k][0]: one amplitude per lane set (states below 2 qubits only);
 * [k][1]: four (no block qubit below 2). */
static const sim_range_fn dense_fns[SIM_FUSE_MAX + 1][2] = {
	{ NULL, NULL },
	{ dense2_w1, dense2_w4 },
	{ dense4_w1, dense4_w4 },
	{ dense8_w1, dense8_w4 },
	{ dense16_w1, dense16_w4 },
	{ dense32_w1, dense32_w4 },
};

/*
 * Blocks on qubit 0 or 1 (LM: which of them, as bits): the lanes still
 * hold the four amplitudes of bits 0 and 1, and the block's other qubits
 * (DH values) make the groups. Output lane l of member h sums, over the
 * members h' and the values x of the low block qubits, coefficient
 * M[(h, l), (h', l ^ x)] times lane l ^ x of member h': each (h', x) is
 * one lane permutation of a loaded vector and two multiply-adds with
 * per-lane coefficient vectors (re re, and -im im with the swap), built
 * for the block (B->coef: [h][h'][x][re, im]).
 */
#define LANE_XOR(dst, v, x) do {					\
	switch (x) {							\
	case 1: dst = SHUF8(v, 2, 3, 0, 1, 6, 7, 4, 5); break;		\
	case 2: dst = SHUF8(v, 4, 5, 6, 7, 0, 1, 2, 3); break;		\
	case 3: dst = SHUF8(v, 6, 7, 4, 5, 2, 3, 0, 1); break;		\
	default: dst = v; break;					\
	}								\
} while (0)

#define LANE_KERNEL(NAME, DH, LM)					\
CLONES static void NAME(void *ctx, size_t g0, size_t g1)		\
{									\
	enum { NL = (LM) == 3 ? 4 : 2 };				\
	const struct blk *B = ctx;					\
	const vr4 *C = (const vr4 *)B->coef;				\
									\
	for (size_t g = g0; g < g1; g++) {				\
		sim_real *p = B->amps + 2 * group_base(B, g);		\
		vr4 P[DH][NL], Q[DH][NL];				\
									\
		for (int j = 0; j < DH; j++) {				\
			vr4 v;						\
									\
			memcpy(&v, p + 2 * B->off[j], sizeof(v));	\
			for (int x = 0; x < NL; x++) {			\
				LANE_XOR(P[j][x], v, (LM) == 2 ? 2 * x : x); \
				Q[j][x] = SW4(P[j][x]);			\
			}						\
		}							\
		for (int i = 0; i < DH; i++) {				\
			const vr4 *c = C + (size_t)2 * NL * DH * i;	\
			vr4 acc = c[0] * P[0][0] + c[1] * Q[0][0];	\
									\
			for (int x = 1; x < NL; x++)			\
				acc += c[2 * x] * P[0][x] +		\
				       c[2 * x + 1] * Q[0][x];		\
			for (int j = 1; j < DH; j++)			\
				for (int x = 0; x < NL; x++)		\
					acc += c[2 * (NL * j + x)] * P[j][x] + \
					       c[2 * (NL * j + x) + 1] * Q[j][x]; \
			memcpy(p + 2 * B->off[i], &acc, sizeof(acc));	\
		}							\
	}								\
}

LANE_KERNEL(lane1_l1, 1, 1)
LANE_KERNEL(lane2_l1, 2, 1)
LANE_KERNEL(lane4_l1, 4, 1)
LANE_KERNEL(lane8_l1, 8, 1)
LANE_KERNEL(lane16_l1, 16, 1)
LANE_KERNEL(lane1_l2, 1, 2)
LANE_KERNEL(lane2_l2, 2, 2)
LANE_KERNEL(lane4_l2, 4, 2)
LANE_KERNEL(lane8_l2, 8, 2)
LANE_KERNEL(lane16_l2, 16, 2)
LANE_KERNEL(lane1_l3, 1, 3)
LANE_KERNEL(lane2_l3, 2, 3)
LANE_KERNEL(lane4_l3, 4, 3)
LANE_KERNEL(lane8_l3, 8, 3)

/* [log2 DH][LM - 1] */
static const sim_range_fn lane_fns[SIM_FUSE_MAX][3] = {
	{ lane1_l1, lane1_l2, lane1_l3 },
	{ lane2_l1, lane2_l2, lane2_l3 },
	{ lane4_l1, lane4_l2, lane4_l3 },
	{ lane8_l1, lane8_l2, lane8_l3 },
	{ lane16_l1, lane16_l2, NULL },
};

static inline v2r cmul(v2r m, v2r a)
{
	v2r sw = { -a[1], a[0] };

	return (v2r){ m[0], m[0] } * a + (v2r){ m[1], m[1] } * sw;
}

static void mono_range(void *ctx, size_t g0, size_t g1)
{
	const struct blk *B = ctx;
	const unsigned D = 1u << B->k;
	v2r *psi = (v2r *)B->amps;
	const v2r *ph = (const v2r *)B->m;  /* D phases, row order */

	const unsigned nm = B->nmov;

	(void)D;
	for (size_t g = g0; g < g1; g++) {
		v2r *p = psi + group_base(B, g);
		v2r v[1u << SIM_FUSE_MAX];

		/* Rows that stay are their own sources: only the others move
		 * (a ccx touches a quarter of the amplitudes). */
		for (unsigned x = 0; x < nm; x++)
			v[B->mov[x]] = p[B->off[B->mov[x]]];
		if (B->plain) {
			for (unsigned x = 0; x < nm; x++)
				p[B->off[B->mov[x]]] = v[B->src[B->mov[x]]];
		} else {
			for (unsigned x = 0; x < nm; x++)
				p[B->off[B->mov[x]]] = cmul(ph[B->mov[x]],
							    v[B->src[B->mov[x]]]);
		}
	}
}

/* Diagonal: chunks of 256 amplitudes (the whole state if smaller). */
static void diag_range(void *ctx, size_t c0, size_t c1)
{
	const struct blk *B = ctx;
	const v2r *d = (const v2r *)B->m;
	v2r *psi = (v2r *)B->amps;
	const size_t len = B->nq < 8 ? (size_t)1 << B->nq : 256;

	for (size_t c = c0; c < c1; c++) {
		size_t base = group_base(B, c);
		uint32_t hi = 0;

		for (unsigned b = 0; b < B->k; b++)
			if (B->q[b] >= 8 && ((base >> B->q[b]) & 1))
				hi |= 1u << b;
		for (size_t i = 0; i < len; i++)
			psi[base + i] = cmul(d[B->lotab[i] | hi], psi[base + i]);
	}
}

/*
 * Prepare @B (a dense block with qubits q, matrix m) for the lane kernels:
 * the low qubits (@lm) leave the group's list, the coefficients are built.
 * B->coef stays NULL without memory.
 */
static void lane_setup(struct blk *B, unsigned lm)
{
	const unsigned k = B->k, nlow = (unsigned)__builtin_popcount(lm);
	const unsigned kh = k - nlow, DH = 1u << kh, NL = 1u << nlow;
	const unsigned D = 1u << k;
	sim_real *C;

	C = aligned_alloc(64, (size_t)DH * DH * NL * 2 * 8 * sizeof(sim_real));
	B->coef = C;
	if (!C)
		return;
	/* Local index: low block qubits first (bit order of lm). */
	for (unsigned h = 0; h < DH; h++)
		for (unsigned h2 = 0; h2 < DH; h2++)
			for (unsigned xs = 0; xs < NL; xs++) {
				unsigned x = lm == 2 ? 2 * xs : xs;
				sim_real *cr = C + 16 * ((size_t)(h * DH + h2) * NL + xs);
				sim_real *ci = cr + 8;

				for (unsigned l = 0; l < 4; l++) {
					unsigned lo = l ^ x;
					unsigned li = lm == 1 ? (l & 1) : lm == 2 ? (l >> 1) : l;
					unsigned lj = lm == 1 ? (lo & 1) : lm == 2 ? (lo >> 1) : lo;
					bool same_free = lm == 3 ||
						(lm == 1 ? ((l ^ lo) & 2) == 0
							 : ((l ^ lo) & 1) == 0);
					unsigned i = li | (h << nlow);
					unsigned j = lj | (h2 << nlow);
					sim_real re = 0, im = 0;

					if (same_free) {
						re = B->m[2 * ((size_t)i * D + j)];
						im = B->m[2 * ((size_t)i * D + j) + 1];
					}
					cr[2 * l] = re;
					cr[2 * l + 1] = re;
					ci[2 * l] = -im;
					ci[2 * l + 1] = im;
				}
			}
	/* The groups: the remaining qubits. */
	for (unsigned b = 0; b < kh; b++)
		B->q[b] = B->q[b + nlow];
	B->k = kh;
	for (unsigned j = 0; j < DH; j++) {
		size_t o = 0;

		for (unsigned b = 0; b < kh; b++)
			if ((j >> b) & 1)
				o |= (size_t)1 << B->q[b];
		B->off[j] = o;
	}
}

void SIM_FN(sim_apply_block)(struct sim_state *s, const struct sim_step *st,
			     const double *mats)
{
	struct blk B;
	const unsigned k = st->k, D = 1u << k;
	const unsigned n = s->nqubits;

	B.amps = SIM_AMPS(s);
	B.k = k;
	B.nq = n;
	memcpy(B.q, st->q, k * sizeof(uint32_t));
#ifdef SIM_SINGLE
	/* The matrix or table in this build's reals. */
	sim_real mloc[2u << (2 * SIM_FUSE_MAX > SIM_DIAG_MAX ? 2 * SIM_FUSE_MAX
							      : SIM_DIAG_MAX)];
	size_t nm = st->kind == SIM_STEP_DIAG ? 2 * (size_t)D : 2 * (size_t)D * D;

	for (size_t i = 0; i < nm; i++)
		mloc[i] = (sim_real)mats[st->mat + i];
	B.m = mloc;
#else
	B.m = mats + st->mat;
#endif
	if (st->kind == SIM_STEP_DIAG) {
		size_t len = n < 8 ? (size_t)1 << n : 256;

		for (unsigned i = 0; i < 256; i++) {
			B.lotab[i] = 0;
			for (unsigned b = 0; b < k; b++)
				if (B.q[b] < 8 && ((i >> B.q[b]) & 1))
					B.lotab[i] |= 1u << b;
		}
		B.lw = (unsigned)__builtin_ctzll(len);
		sim_par_for(s->threads, groups_setup(&B, NULL, 0, st->rmask,
						     st->rval, B.lw),
			    BLOCK_MIN_SPLIT, diag_range, &B);
		return;
	}
	for (unsigned j = 0; j < D; j++) {
		size_t o = 0;

		for (unsigned b = 0; b < k; b++)
			if ((j >> b) & 1)
				o |= (size_t)1 << B.q[b];
		B.off[j] = o;
	}
	if (st->kind == SIM_STEP_MONO) {
		/* Keep the non-zero of each row, as D phases in place. */
		sim_real ph[2u << SIM_FUSE_MAX];

		B.plain = true;
		for (unsigned i = 0; i < D; i++) {
			const sim_real *row = B.m + 2 * D * i;

			B.src[i] = 0;
			for (unsigned j = 0; j < D; j++)
				if (row[2 * j] != 0 || row[2 * j + 1] != 0)
					B.src[i] = j;
			ph[2 * i] = row[2 * B.src[i]];
			ph[2 * i + 1] = row[2 * B.src[i] + 1];
			if (ph[2 * i] != 1.0 || ph[2 * i + 1] != 0.0)
				B.plain = false;
		}
		B.nmov = 0;
		for (unsigned i = 0; i < D; i++)
			if (B.src[i] != i || ph[2 * i] != 1.0 ||
			    ph[2 * i + 1] != 0.0)
				B.mov[B.nmov++] = i;
		B.m = ph;
		B.lw = 0;
		sim_par_for(s->threads, groups_setup(&B, B.q, k, st->rmask,
						     st->rval, 0),
			    BLOCK_MIN_SPLIT, mono_range, &B);
		return;
	}
	if (n < 2) {
		B.lw = 0;
		sim_par_for(1, groups_setup(&B, B.q, k, 0, 0, 0),
			    BLOCK_MIN_SPLIT, dense_fns[k][0], &B);
		return;
	}
	unsigned lm = (B.q[0] < 2 ? 1u << B.q[0] : 0) |
		      (k > 1 && B.q[1] < 2 ? 1u << B.q[1] : 0);

	B.lw = 2;
	if (lm == 0) {
		sim_par_for(s->threads, groups_setup(&B, B.q, k, st->rmask,
						     st->rval, 2),
			    BLOCK_MIN_SPLIT, dense_fns[k][1], &B);
		return;
	}
	lane_setup(&B, lm);
	if (!B.coef) {
		/* No memory for the coefficients: one amplitude at a time. */
		B.lw = 0;
		for (unsigned j = 0; j < D; j++) {
			size_t o = 0;

			for (unsigned b = 0; b < k; b++)
				if ((j >> b) & 1)
					o |= (size_t)1 << st->q[b];
			B.off[j] = o;
		}
		memcpy(B.q, st->q, k * sizeof(uint32_t));
		B.k = k;
		sim_par_for(s->threads, groups_setup(&B, B.q, k, st->rmask,
						     st->rval, 0),
			    BLOCK_MIN_SPLIT, dense_fns[k][0], &B);
		return;
	}
	sim_par_for(s->threads, groups_setup(&B, B.q, B.k, st->rmask, st->rval,
					     2),
		    BLOCK_MIN_SPLIT, lane_fns[B.k][lm - 1], &B);
	free(B.coef);
}
