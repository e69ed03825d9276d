/*
 * sim_remap.c - qubit remapping for cache blocking: swap passes that move
 * high qubits below the chunk bits so that more of the plan becomes
 * chunk-local (sim_plan.h), as distributed simulators swap global and
 * local qubits.
 *
 * The steps of a plan name logical qubits; this pass walks them with a
 * map from logical to physical qubits (the bit of the amplitude index),
 * starting from the identity. At a gate step that is not chunk-local
 * under the current map, it looks at the window of gate steps from there
 * (up to the next measurement, reset or condition) whose targets fit below
 * the chunk bits together, at most SIM_PERM_PAIRS of them above; if the
 * window's steps that are not chunk-local cost enough sweeps (a step
 * restricted by known qubits to a fraction of the state costs that
 * fraction; a swap pass SIM_PERM_COST), one swap
 * pass (a SIM_STEP_PERM: exchange the index bits of up to SIM_PERM_PAIRS
 * pairs of physical qubits, one sweep) brings the window's high targets
 * onto low qubits that the window does not use, and the window becomes
 * one blocked run. Steps are rewritten in physical qubits (block qubits
 * sorted again, their matrices permuted to match). Swap passes at the end
 * restore the identity, so that measurements that read the final state,
 * the final state and the probabilities see logical qubits. The new plan
 * is kept only if it costs fewer sweeps than the old one (sim_plan_cost).
 */
#include "sim_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct remap {
	struct sim_plan *p;
	unsigned nq, L;
	uint64_t low;          /* physical qubits below L */
	uint32_t phys[64];     /* logical -> physical */
	uint32_t logi[64];     /* physical -> logical */
	struct sim_step *out;
	size_t nout, cap;
};

static bool gate_step(const struct sim_step *st)
{
	if (st->kind == SIM_STEP_DENSE || st->kind == SIM_STEP_MONO ||
	    st->kind == SIM_STEP_DIAG)
		return true;
	return st->kind == SIM_STEP_OP && !st->op.cond &&
	       (st->op.kind == QASM_OP_GATE1 || st->op.kind == QASM_OP_GATE2);
}

/* Logical qubits whose amplitudes step @st mixes (a diagonal: none; a
 * gate's controls: none, a chunk sees them as constants). */
static uint64_t step_targets(const struct sim_step *st)
{
	uint64_t t = 0;

	if (st->kind == SIM_STEP_DENSE || st->kind == SIM_STEP_MONO) {
		for (unsigned b = 0; b < st->k; b++)
			t |= (uint64_t)1 << st->q[b];
	} else if (st->kind == SIM_STEP_OP) {
		t = (uint64_t)1 << st->op.q[0];
		if (st->op.kind == QASM_OP_GATE2)
			t |= (uint64_t)1 << st->op.q[1];
	}
	return t;
}

/* The fraction of the state a step visits: known qubits restrict it. */
static double step_share(const struct sim_step *st)
{
	return 1.0 / (double)((uint64_t)1 << __builtin_popcountll(st->rmask));
}

static uint64_t map_mask(const struct remap *R, uint64_t m)
{
	uint64_t r = 0;

	for (; m; m &= m - 1)
		r |= (uint64_t)1 << R->phys[__builtin_ctzll(m)];
	return r;
}

static struct sim_step *out_new(struct remap *R)
{
	if (R->nout == R->cap) {
		size_t cap = R->cap ? 2 * R->cap : 64;
		struct sim_step *n = realloc(R->out, cap * sizeof(*n));

		if (!n)
			return NULL;
		R->out = n;
		R->cap = cap;
	}
	memset(&R->out[R->nout], 0, sizeof(R->out[0]));
	return &R->out[R->nout++];
}

/* Room for @n more doubles in the plan's matrices; the offset, or -1. */
static long mats_more(struct sim_plan *p, size_t n)
{
	if (p->nmats + n > p->cap_mats) {
		size_t cap = p->cap_mats ? p->cap_mats : 4096;
		double *m;

		while (cap < p->nmats + n)
			cap *= 2;
		m = realloc(p->mats, cap * sizeof(double));
		if (!m)
			return -1;
		p->mats = m;
		p->cap_mats = cap;
	}
	p->nmats += n;
	return (long)(p->nmats - n);
}

/* Local index @i with its bit b moved to bit pos[b]. */
static unsigned spread(unsigned i, const unsigned *pos, unsigned k)
{
	unsigned r = 0;

	for (unsigned b = 0; b < k; b++)
		if ((i >> b) & 1)
			r |= 1u << pos[b];
	return r;
}

/* @st (logical) rewritten in physical qubits into a new output step. */
static int emit_mapped(struct remap *R, const struct sim_step *st)
{
	struct sim_step *o = out_new(R);

	if (!o)
		return -ENOMEM;
	*o = *st;
	o->chunk_len = 0;
	o->rmask = map_mask(R, st->rmask);
	o->rval = map_mask(R, st->rval);
	if (st->kind == SIM_STEP_OP || st->kind == SIM_STEP_SETBIT) {
		o->op.q[0] = R->phys[st->op.q[0]];
		if (st->op.kind == QASM_OP_GATE2)
			o->op.q[1] = R->phys[st->op.q[1]];
		o->op.ctrl = map_mask(R, st->op.ctrl);
		return 0;
	}
	/* A block: its qubits in ascending physical order, the matrix's
	 * local bits moved to match. */
	const unsigned k = st->k, D = 1u << k;
	unsigned pos[SIM_DIAG_MAX];
	bool moved = false;

	for (unsigned b = 0; b < k; b++) {
		pos[b] = 0;
		for (unsigned c = 0; c < k; c++)
			pos[b] += R->phys[st->q[c]] < R->phys[st->q[b]];
		o->q[pos[b]] = R->phys[st->q[b]];
		moved |= pos[b] != b;
	}
	if (!moved)
		return 0;

	size_t n = st->kind == SIM_STEP_DIAG ? 2 * (size_t)D
					     : 2 * (size_t)D * D;
	long off = mats_more(R->p, n);

	if (off < 0)
		return -ENOMEM;
	const double *m = R->p->mats + st->mat;  /* after the realloc */
	double *w = R->p->mats + off;

	if (st->kind == SIM_STEP_DIAG) {
		for (unsigned i = 0; i < D; i++) {
			unsigned ni = spread(i, pos, k);

			w[2 * ni] = m[2 * i];
			w[2 * ni + 1] = m[2 * i + 1];
		}
	} else {
		for (unsigned i = 0; i < D; i++)
			for (unsigned j = 0; j < D; j++) {
				size_t to = (size_t)spread(i, pos, k) * D +
					    spread(j, pos, k);

				w[2 * to] = m[2 * ((size_t)i * D + j)];
				w[2 * to + 1] = m[2 * ((size_t)i * D + j) + 1];
			}
	}
	o->mat = (size_t)off;
	return 0;
}

/* A swap pass exchanging physical qubits a[i] and b[i]; updates the map. */
static int emit_perm(struct remap *R, const uint32_t *a, const uint32_t *b,
		     unsigned m)
{
	struct sim_step *o = out_new(R);

	if (!o)
		return -ENOMEM;
	o->kind = SIM_STEP_PERM;
	o->k = (uint8_t)(2 * m);
	for (unsigned i = 0; i < m; i++) {
		uint32_t la = R->logi[a[i]], lb = R->logi[b[i]];

		o->q[i] = a[i];
		o->q[m + i] = b[i];
		R->logi[a[i]] = lb;
		R->logi[b[i]] = la;
		R->phys[la] = b[i];
		R->phys[lb] = a[i];
	}
	R->p->nperms++;
	return 0;
}

/*
 * At gate step @i (not chunk-local now): a swap pass for the window from
 * it, if the window is worth one.
 */
static int try_window(struct remap *R, size_t i)
{
	const struct sim_plan *p = R->p;
	uint64_t T = 0;
	double nonlocal = 0;   /* the sweeps they cost now */
	uint32_t a[SIM_PERM_PAIRS], b[SIM_PERM_PAIRS];
	unsigned m = 0;

	for (size_t j = i; j < p->nsteps && gate_step(&p->steps[j]); j++) {
		uint64_t t = map_mask(R, step_targets(&p->steps[j]));
		uint64_t U = T | t;

		if ((unsigned)__builtin_popcountll(U) > R->L ||
		    (unsigned)__builtin_popcountll(U & ~R->low) > SIM_PERM_PAIRS)
			break;
		T = U;
		if (t & ~R->low)
			nonlocal += step_share(&p->steps[j]);
	}
	if (nonlocal < SIM_PERM_COST + 2)
		return 0;  /* a swap pass and a run would not save a sweep */
	/* High targets onto the highest low qubits the window leaves free
	 * (the lowest ones stay: the kernels' vector lanes are there). */
	uint64_t H = T & ~R->low, A = R->low & ~T;

	for (; H; H &= H - 1) {
		unsigned h = (unsigned)__builtin_ctzll(H);
		unsigned l = 63 - (unsigned)__builtin_clzll(A);

		A &= ~((uint64_t)1 << l);
		a[m] = l;
		b[m++] = h;
	}
	return emit_perm(R, a, b, m);
}

double sim_plan_cost(const struct sim_step *st, size_t n, unsigned L)
{
	double cost = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		double run = 0;

		while (j < n && L && sim_step_chunk_local(&st[j], L))
			run += step_share(&st[j++]);
		if (j - i >= 2) {
			cost += run < 1 ? run : 1;  /* a blocked run */
			i = j;
			continue;
		}
		j = i + 1;
		if (st[i].kind == SIM_STEP_PERM)
			cost += SIM_PERM_COST;
		else if (st[i].kind != SIM_STEP_SETBIT)
			cost += step_share(&st[i]);
		i = j;
	}
	return cost;
}

int sim_plan_remap(struct sim_plan *p, unsigned nq, unsigned L)
{
	struct remap R;
	int rc = 0;

	if (L < 2 || L + 2 > nq || nq > 64)
		return 0;
	memset(&R, 0, sizeof(R));
	R.p = p;
	R.nq = nq;
	R.L = L;
	R.low = ((uint64_t)1 << L) - 1;
	for (unsigned q = 0; q < nq; q++)
		R.phys[q] = R.logi[q] = q;
	for (size_t i = 0; i < p->nsteps && rc == 0; i++) {
		const struct sim_step *st = &p->steps[i];

		if (gate_step(st) && st->kind != SIM_STEP_DIAG &&
		    (map_mask(&R, step_targets(st)) & ~R.low))
			rc = try_window(&R, i);
		if (rc == 0)
			rc = emit_mapped(&R, st);
	}
	/* Back to the identity: disjoint exchanges, each putting at least
	 * one logical qubit in its place. */
	while (rc == 0) {
		uint32_t a[SIM_PERM_PAIRS], b[SIM_PERM_PAIRS];
		uint64_t used = 0;
		unsigned m = 0;

		for (unsigned q = 0; q < nq && m < SIM_PERM_PAIRS; q++) {
			uint32_t at = R.phys[q];
			uint64_t both = ((uint64_t)1 << q) | ((uint64_t)1 << at);

			if (at == q || (used & both))
				continue;
			used |= both;
			a[m] = q;
			b[m++] = at;
		}
		if (!m)
			break;
		rc = emit_perm(&R, a, b, m);
	}
	if (rc == 0 && R.nout &&
	    sim_plan_cost(R.out, R.nout, L) <
	    sim_plan_cost(p->steps, p->nsteps, L)) {
		free(p->steps);
		p->steps = R.out;
		p->nsteps = R.nout;
		return 0;
	}
	if (rc == 0)
		p->nperms = 0;  /* not worth it: the plan stays */
	free(R.out);
	return rc;
}

/* ---- the swap pass on the state ---- */

/* One double amplitude as two 64-bit words; may alias the state. */
typedef uint64_t v2q __attribute__((vector_size(16), aligned(16),
				    may_alias));

struct perm_ctx {
	char *amps;
	size_t asz;                 /* bytes per amplitude */
	struct sim_loop_lite {
		unsigned lo, hi, k;
		size_t inner;
		unsigned pos[2 * SIM_PERM_PAIRS];
	} L;
	size_t npairs;
	size_t off[1u << (2 * SIM_PERM_PAIRS)][2];  /* amplitude offsets */
};

static inline size_t perm_base(const struct perm_ctx *P, size_t o)
{
	size_t x = o << P->L.hi;

	for (unsigned i = P->L.lo; i < P->L.k; i++) {
		unsigned p = P->L.pos[i];

		x = ((x >> p) << (p + 1)) | (x & (((size_t)1 << p) - 1));
	}
	return x;
}

static void perm_range(void *ctx, size_t f0, size_t f1)
{
	const struct perm_ctx *P = ctx;
	const unsigned sh = P->L.hi - P->L.lo;
	const size_t asz = P->asz;

	for (size_t f = f0; f < f1;) {
		size_t o = f >> sh, j0 = f & (P->L.inner - 1);
		size_t j1 = P->L.inner - j0 < f1 - f ? P->L.inner : j0 + (f1 - f);
		char *base = P->amps + perm_base(P, o) * asz;

		for (size_t x = 0; x < P->npairs; x++) {
			char *u = base + P->off[x][0] * asz;
			char *v = base + P->off[x][1] * asz;

			if (asz == 16) {
				for (size_t j = j0; j < j1; j++) {
					v2q *a = (v2q *)(u + (j << P->L.lo) * 16);
					v2q *b = (v2q *)(v + (j << P->L.lo) * 16);
					v2q t = *a;

					*a = *b;
					*b = t;
				}
			} else {
				for (size_t j = j0; j < j1; j++) {
					uint64_t *a = (uint64_t *)(u + (j << P->L.lo) * 8);
					uint64_t *b = (uint64_t *)(v + (j << P->L.lo) * 8);
					uint64_t t = *a;

					*a = *b;
					*b = t;
				}
			}
		}
		f += j1 - j0;
	}
}

void sim_apply_perm(struct sim_state *s, const struct sim_step *st)
{
	struct perm_ctx ctx, *P = &ctx;  /* 16 KiB of offsets */
	const unsigned m = st->k / 2;
	uint64_t special = 0;
	unsigned k = 0, lo = 0;

	P->amps = (char *)s->amps;
	P->asz = s->single ? 8 : 16;
	for (unsigned i = 0; i < st->k; i++)
		special |= (uint64_t)1 << st->q[i];
	for (uint64_t x = special; x; x &= x - 1)
		P->L.pos[k++] = (unsigned)__builtin_ctzll(x);
	while (lo < k && P->L.pos[lo] == lo)
		lo++;
	P->L.k = k;
	P->L.lo = lo;
	P->L.hi = lo < k ? P->L.pos[lo] : s->nqubits;
	P->L.inner = (size_t)1 << (P->L.hi - lo);
	/* Each pattern of the 2m bits and its image with every pair's two
	 * bits exchanged, once per unordered pair of distinct patterns. */
	P->npairs = 0;
	for (unsigned pat = 0; pat < (1u << (2 * m)); pat++) {
		size_t x = 0, y = 0;

		for (unsigned i = 0; i < m; i++) {
			unsigned ba = (pat >> i) & 1, bb = (pat >> (m + i)) & 1;

			x |= (size_t)ba << st->q[i] | (size_t)bb << st->q[m + i];
			y |= (size_t)bb << st->q[i] | (size_t)ba << st->q[m + i];
		}
		if (x < y) {
			P->off[P->npairs][0] = x;
			P->off[P->npairs][1] = y;
			P->npairs++;
		}
	}
	sim_par_for(s->threads, (s->namps >> k), 1024, perm_range,
		    P);
}
