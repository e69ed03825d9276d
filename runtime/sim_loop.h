/*
 * sim_loop.h - private to the sim_*.c files: the index loop shared by the
 * kernels, and the vector type they compute with.
 *
 * A kernel visits every basis index whose "special" bits (targets and
 * controls) have fixed values. The free bits of the index split into runs
 * between special bits; the loop walks the lowest run innermost, as
 * contiguous memory when bit 0 is free (stride 1) and otherwise with the
 * stride 2^lo, where lo is the number of special bits at the bottom. The
 * outer loop inserts zeros at the special positions (a few shifts per
 * iteration, paid once per inner run) and sets the fixed bits.
 */
#ifndef QSHM_SIM_LOOP_H
#define QSHM_SIM_LOOP_H

#include <stddef.h>
#include <stdint.h>

/*
 * The precision of the amplitudes: the files that include this one are
 * built twice, as themselves (double) and through a sim_*_f32.c wrapper
 * that defines SIM_SINGLE (float; see sim_prec.h). SIM_FN names their
 * entry points for each build.
 */
#ifdef SIM_SINGLE
typedef float sim_real;
#define SIM_FN(name) name##_f32
#else
typedef double sim_real;
#define SIM_FN(name) name##_f64
#endif

/* The state's amplitudes as this build's reals. */
#define SIM_AMPS(s) ((sim_real *)(void *)(s)->amps)

/* One complex amplitude {re, im}; may alias the state's reals. */
typedef sim_real v2r __attribute__((vector_size(2 * sizeof(sim_real)),
				    aligned(2 * sizeof(sim_real)),
				    may_alias));

#define SIM_LOOP_MAX_SPECIAL 64

struct sim_loop {
	size_t outer;     /* outer iterations */
	size_t inner;     /* indices per inner run */
	unsigned lo;      /* inner stride is 2^lo */
	unsigned hi;      /* the inner run spans bits lo .. hi-1 */
	unsigned k;       /* special bits */
	uint64_t fixed;   /* bits set in every visited index */
	unsigned pos[SIM_LOOP_MAX_SPECIAL];  /* special bits, ascending */
};

/* @special: mask of all special bits; @fixed: those that must be 1. */
static inline void sim_loop_init(struct sim_loop *L, unsigned nqubits,
				 uint64_t special, uint64_t fixed)
{
	unsigned k = 0, lo = 0, hi;

	for (uint64_t m = special; m; m &= m - 1)
		L->pos[k++] = (unsigned)__builtin_ctzll(m);
	while (lo < k && L->pos[lo] == lo)
		lo++;
	hi = lo < k ? L->pos[lo] : nqubits;
	L->k = k;
	L->lo = lo;
	L->hi = hi;
	L->fixed = fixed;
	L->inner = (size_t)1 << (hi - lo);
	L->outer = (size_t)1 << (nqubits - k - (hi - lo));
}

/*
 * First index of outer iteration @o; the inner run adds j << lo for j in
 * [0, inner). The free bits, in order, hold (o, j): j fills bits lo..hi-1
 * (below them lie only special bits), o the free bits above, which the zeros
 * inserted at the remaining special positions spread out.
 */
static inline size_t sim_loop_base(const struct sim_loop *L, size_t o)
{
	size_t x = o << L->hi;

	for (unsigned i = L->lo; i < L->k; i++) {
		unsigned p = L->pos[i];

		x = ((x >> p) << (p + 1)) | (x & (((size_t)1 << p) - 1));
	}
	return x | (size_t)L->fixed;
}

/*
 * The iterations [f0, f1) of the outer * inner ones, as runs: in each, @o
 * is the outer iteration and the inner index goes from @j0 to @j1. Lets a
 * pass split anywhere, also when outer is 1.
 */
#define SIM_LOOP_RUNS(L, f0, f1, o, j0, j1)				\
	for (size_t o, j0, j1, f_ = (f0);				\
	     f_ < (f1) && (o = f_ >> ((L)->hi - (L)->lo),		\
			   j0 = f_ & ((L)->inner - 1),			\
			   j1 = (L)->inner - j0 < (f1) - f_		\
				? (L)->inner : j0 + ((f1) - f_), 1);	\
	     f_ += j1 - j0)

/* Iterations of a pass below which it stays on one thread. */
#define SIM_PAR_MIN ((size_t)1 << 14)

#endif
