/*
 * sim_plan.c - the execution plan: gate fusion and known basis states
 * (see sim_plan.h for the model).
 *
 * One forward pass. Each gate first meets the known-value tracker (drop,
 * drop known controls, update the values), then the open blocks: it joins
 * the largest blocks it shares qubits with while their union stays within
 * the size limit (SIM_DIAG_MAX when everything involved is diagonal, else
 * the configured dense limit) and closes the others; a gate that shares no
 * qubit with an open block opens its own. Blocks still open at the end are
 * packed together into as few steps as fit, so that a last layer of small
 * gates is few sweeps.
 */
#include "sim_plan.h"

#include <complex.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef double complex cplx;

/* A gate on its way through the planner. */
struct pgate {
	const double *m;
	uint8_t kind;      /* QASM_OP_GATE1 / GATE2 */
	uint8_t shape;
	uint32_t q[2];
	uint64_t ctrl;
};

struct oblock {
	uint64_t mask;     /* qubits; 0: slot free */
	bool diag;         /* every gate diagonal */
	uint64_t seq;      /* opening order */
	size_t n, cap;
	struct pgate *g;
};

struct planner {
	struct sim_plan *p;
	const struct qasm_circuit *c;
	unsigned nq, kmax;
	struct oblock *ob;   /* nq slots */
	uint64_t seq;
	uint64_t known, val; /* qubits in a known basis state, and it */
	uint64_t lowmask;    /* qubits below the chunk bits; 0: no blocking */
	int err;
};

static const double mat_x[8] = { 0, 0, 1, 0, 1, 0, 0, 0 };

static uint64_t gate_mask(const struct pgate *g)
{
	uint64_t m = g->ctrl | (uint64_t)1 << g->q[0];

	if (g->kind == QASM_OP_GATE2)
		m |= (uint64_t)1 << g->q[1];
	return m;
}

static struct sim_step *step_new(struct planner *P)
{
	struct sim_plan *p = P->p;

	/* Room for every step was reserved: one per op plus one per reset. */
	struct sim_step *st = &p->steps[p->nsteps++];

	memset(st, 0, sizeof(*st));
	return st;
}

static double *mats_alloc(struct planner *P, size_t n, size_t *off)
{
	struct sim_plan *p = P->p;

	if (p->nmats + n > p->cap_mats) {
		size_t cap = p->cap_mats ? p->cap_mats : 4096;
		double *m;

		while (cap < p->nmats + n)
			cap *= 2;
		m = realloc(p->mats, cap * sizeof(double));
		if (!m)
			return NULL;
		p->mats = m;
		p->cap_mats = cap;
	}
	*off = p->nmats;
	p->nmats += n;
	return p->mats + *off;
}

static void emit_gate_op(struct planner *P, const struct pgate *g)
{
	struct sim_step *st = step_new(P);

	st->kind = SIM_STEP_OP;
	st->ngates = 1;
	st->op.kind = g->kind;
	st->op.shape = g->shape;
	st->op.q[0] = g->q[0];
	st->op.q[1] = g->q[1];
	st->op.ctrl = g->ctrl;
	st->m = g->m;
}

static cplx mat_at(const double *m, int dim, int r, int c)
{
	cplx z;

	/* Not CMPLX(): clang with glibc lacks it. */
	__real__ z = m[2 * (dim * r + c)];
	__imag__ z = m[2 * (dim * r + c) + 1];
	return z;
}

/* Local bit mask of the qubits of @mask within the block's list @qs. */
static unsigned local_mask(const uint32_t *qs, unsigned k, uint64_t mask)
{
	unsigned r = 0;

	for (unsigned b = 0; b < k; b++)
		if ((mask >> qs[b]) & 1)
			r |= 1u << b;
	return r;
}

/* v (D entries, stride @stride) = G v for gate @g in local coordinates. */
static void gate_on_vec(cplx *v, size_t stride, unsigned D, const uint32_t *qs,
			unsigned k, const struct pgate *g)
{
	unsigned lc = local_mask(qs, k, g->ctrl);
	unsigned b0 = local_mask(qs, k, (uint64_t)1 << g->q[0]);

	if (g->kind == QASM_OP_GATE1) {
		for (unsigned i = 0; i < D; i++) {
			if ((i & b0) || (i & lc) != lc)
				continue;
			cplx a = v[i * stride], b = v[(i | b0) * stride];

			v[i * stride] = mat_at(g->m, 2, 0, 0) * a +
					mat_at(g->m, 2, 0, 1) * b;
			v[(i | b0) * stride] = mat_at(g->m, 2, 1, 0) * a +
					       mat_at(g->m, 2, 1, 1) * b;
		}
		return;
	}
	unsigned b1 = local_mask(qs, k, (uint64_t)1 << g->q[1]);
	unsigned off[4] = { 0, b0, b1, b0 | b1 };

	for (unsigned i = 0; i < D; i++) {
		cplx in[4];

		if ((i & (b0 | b1)) || (i & lc) != lc)
			continue;
		for (int r = 0; r < 4; r++)
			in[r] = v[(i | off[r]) * stride];
		for (int r = 0; r < 4; r++) {
			cplx acc = 0;

			for (int c = 0; c < 4; c++)
				acc += mat_at(g->m, 4, r, c) * in[c];
			v[(i | off[r]) * stride] = acc;
		}
	}
}

/* The diagonal entry of gate @g (diagonal) at local index @i. */
static cplx gate_diag_at(const struct pgate *g, const uint32_t *qs,
			 unsigned k, unsigned i)
{
	unsigned lc = local_mask(qs, k, g->ctrl);
	unsigned b0 = local_mask(qs, k, (uint64_t)1 << g->q[0]);

	if ((i & lc) != lc)
		return 1;
	if (g->kind == QASM_OP_GATE1)
		return (i & b0) ? mat_at(g->m, 2, 1, 1) : mat_at(g->m, 2, 0, 0);
	unsigned b1 = local_mask(qs, k, (uint64_t)1 << g->q[1]);
	int r = ((i & b0) ? 1 : 0) + ((i & b1) ? 2 : 0);

	return mat_at(g->m, 4, r, r);
}

static bool is_diag_gate(const struct pgate *g)
{
	const int dim = g->kind == QASM_OP_GATE1 ? 2 : 4;

	if (g->shape == QASM_MAT_DIAG)
		return true;
	if (g->shape != QASM_MAT_PERM)
		return false;
	for (int r = 0; r < dim; r++)
		for (int c = 0; c < dim; c++)
			if (r != c && (g->m[2 * (dim * r + c)] != 0 ||
				       g->m[2 * (dim * r + c) + 1] != 0))
				return false;
	return true;
}

/* Turn open block @b into a step and free its slot. */
static void emit_block(struct planner *P, struct oblock *b)
{
	uint32_t qs[SIM_DIAG_MAX];
	unsigned k = 0, D;
	struct sim_step *st;
	size_t off;
	double *m;

	if (!b->mask)
		return;
	if (b->n == 1) {
		emit_gate_op(P, &b->g[0]);
		goto done;
	}
	for (uint64_t x = b->mask; x; x &= x - 1)
		qs[k++] = (uint32_t)__builtin_ctzll(x);
	D = 1u << k;
	if (b->diag) {
		m = mats_alloc(P, 2 * (size_t)D, &off);
		if (!m) {
			P->err = -ENOMEM;
			goto done;
		}
		for (unsigned i = 0; i < D; i++) {
			cplx d = 1;

			for (size_t j = 0; j < b->n; j++)
				d = gate_diag_at(&b->g[j], qs, k, i) * d;
			m[2 * i] = creal(d);
			m[2 * i + 1] = cimag(d);
		}
		st = step_new(P);
		st->kind = SIM_STEP_DIAG;
	} else {
		cplx *M = malloc((size_t)D * D * sizeof(cplx));
		bool mono = true;

		m = mats_alloc(P, 2 * (size_t)D * D, &off);
		if (!M || !m) {
			free(M);
			P->err = -ENOMEM;
			goto done;
		}
		for (unsigned i = 0; i < D * D; i++)
			M[i] = (i / D == i % D) ? 1 : 0;
		/* Column by column: M = G_n ... G_1. */
		for (size_t j = 0; j < b->n; j++)
			for (unsigned col = 0; col < D; col++)
				gate_on_vec(M + col, D, D, qs, k, &b->g[j]);
		for (unsigned r = 0; r < D && mono; r++) {
			unsigned nz = 0;

			for (unsigned c = 0; c < D; c++)
				nz += M[r * D + c] != 0;
			mono = nz == 1;
		}
		for (unsigned c = 0; c < D && mono; c++) {
			unsigned nz = 0;

			for (unsigned r = 0; r < D; r++)
				nz += M[r * D + c] != 0;
			mono = nz == 1;
		}
		for (unsigned i = 0; i < D * D; i++) {
			m[2 * i] = creal(M[i]);
			m[2 * i + 1] = cimag(M[i]);
		}
		free(M);
		st = step_new(P);
		st->kind = mono ? SIM_STEP_MONO : SIM_STEP_DENSE;
	}
	st->k = (uint8_t)k;
	st->ngates = (uint32_t)b->n;
	memcpy(st->q, qs, k * sizeof(uint32_t));
	st->mat = off;
	P->p->nblocks++;
done:
	b->mask = 0;
	b->n = 0;
}

static int block_push(struct oblock *b, const struct pgate *g)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		struct pgate *ng = realloc(b->g, cap * sizeof(*ng));

		if (!ng)
			return -ENOMEM;
		b->g = ng;
		b->cap = cap;
	}
	b->g[b->n++] = *g;
	return 0;
}

/* Move every gate of @from into @to (disjoint qubits: they commute). */
static int block_merge(struct oblock *to, struct oblock *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (block_push(to, &from->g[i]))
			return -ENOMEM;
	to->mask |= from->mask;
	to->diag = to->diag && from->diag;
	to->seq = to->seq < from->seq ? to->seq : from->seq;
	from->mask = 0;
	from->n = 0;
	return 0;
}

/* Close the open blocks that share a qubit with @mask, oldest first. */
static void close_touching(struct planner *P, uint64_t mask)
{
	for (;;) {
		struct oblock *oldest = NULL;

		for (unsigned i = 0; i < P->nq; i++)
			if ((P->ob[i].mask & mask) &&
			    (!oldest || P->ob[i].seq < oldest->seq))
				oldest = &P->ob[i];
		if (!oldest)
			return;
		emit_block(P, oldest);
	}
}

/* Whether a block on @mask is chunk-local (always, without blocking). */
static bool mask_local(const struct planner *P, uint64_t mask, bool diag)
{
	return !P->lowmask || diag || !(mask & ~P->lowmask);
}

/*
 * Whether blocks (@m1, @d1) and (@m2, @d2) may become one: not two
 * chunk-local ones into one that is not (it would be one more sweep of
 * the state; apart, both join blocked runs). A local block may join a
 * non-local one: that one is a sweep anyway.
 */
static bool may_join(const struct planner *P, uint64_t m1, bool d1,
		     uint64_t m2, bool d2)
{
	return !(mask_local(P, m1, d1) && mask_local(P, m2, d2)) ||
	       mask_local(P, m1 | m2, d1 && d2);
}

/* Close every open block, packing them into as few steps as fit. */
static void close_all(struct planner *P)
{
	for (;;) {
		struct oblock *big = NULL;

		for (unsigned i = 0; i < P->nq; i++)
			if (P->ob[i].mask && (!big ||
			    __builtin_popcountll(P->ob[i].mask) >
			    __builtin_popcountll(big->mask)))
				big = &P->ob[i];
		if (!big)
			return;
		/* Fill it with the largest others that fit. */
		for (bool more = true; more;) {
			struct oblock *fit = NULL;

			more = false;
			for (unsigned i = 0; i < P->nq; i++) {
				struct oblock *b = &P->ob[i];
				unsigned lim;

				if (!b->mask || b == big)
					continue;
				lim = b->diag && big->diag ? SIM_DIAG_MAX : P->kmax;
				if ((unsigned)__builtin_popcountll(b->mask | big->mask) > lim ||
				    !may_join(P, b->mask, b->diag, big->mask,
					      big->diag))
					continue;
				if (!fit || __builtin_popcountll(b->mask) >
					    __builtin_popcountll(fit->mask))
					fit = b;
			}
			if (fit) {
				if (block_merge(big, fit)) {
					P->err = -ENOMEM;
					return;
				}
				more = true;
			}
		}
		emit_block(P, big);
	}
}

static unsigned block_limit(const struct planner *P, bool diag)
{
	return diag ? SIM_DIAG_MAX : P->kmax;
}

static void fuse_gate(struct planner *P, const struct pgate *g)
{
	const uint64_t S = gate_mask(g);
	const bool gd = is_diag_gate(g);
	struct oblock *touched[64], *into = NULL;
	unsigned nt = 0;
	uint64_t keep = S;
	bool kd = gd;

	for (unsigned i = 0; i < P->nq; i++)
		if (P->ob[i].mask & S)
			touched[nt++] = &P->ob[i];
	if ((unsigned)__builtin_popcountll(S) > block_limit(P, gd)) {
		close_touching(P, S);
		emit_gate_op(P, g);
		return;
	}
	/* Keep the largest blocks it touches while the union fits; close
	 * the rest (they precede the gate on its qubits and commute with
	 * every other open block). */
	for (unsigned i = 1; i < nt; i++)
		for (unsigned j = i; j > 0 && __builtin_popcountll(touched[j]->mask) >
					      __builtin_popcountll(touched[j - 1]->mask); j--) {
			struct oblock *t = touched[j];

			touched[j] = touched[j - 1];
			touched[j - 1] = t;
		}
	for (unsigned i = 0; i < nt; i++) {
		struct oblock *b = touched[i];
		bool d = kd && b->diag;

		if ((unsigned)__builtin_popcountll(keep | b->mask) <=
		    block_limit(P, d) &&
		    may_join(P, keep, kd, b->mask, b->diag)) {
			keep |= b->mask;
			kd = d;
			if (!into) {
				into = b;
			} else if (b->seq < into->seq) {
				if (block_merge(b, into))
					goto nomem;
				into = b;
			} else if (block_merge(into, b)) {
				goto nomem;
			}
		} else {
			emit_block(P, b);
		}
	}
	if (!into) {
		/* A block of its own: gates on other qubits are not packed in
		 * now (that would tie them together for later gates); blocks
		 * still open at the end are packed (close_all). */
		for (unsigned i = 0; i < P->nq && !into; i++)
			if (!P->ob[i].mask)
				into = &P->ob[i];
		/* Open blocks are disjoint and non-empty: a slot is free. */
		into->mask = 0;
		into->diag = true;
		into->seq = P->seq++;
	}
	if (block_push(into, g))
		goto nomem;
	into->mask |= S;
	into->diag = into->diag && gd;
	return;
nomem:
	P->err = -ENOMEM;
}

/*
 * The tracker: simplify @g with the known values and update them. Returns
 * false if the gate never acts.
 */
static bool track_gate(struct planner *P, struct pgate *g)
{
	const uint64_t b0 = (uint64_t)1 << g->q[0];
	const uint64_t b1 = g->kind == QASM_OP_GATE2 ? (uint64_t)1 << g->q[1] : 0;
	const uint64_t targets = b0 | b1;
	bool diag = is_diag_gate(g);

	if (g->ctrl & P->known & ~P->val)
		return false;          /* a control known to be 0 */
	g->ctrl &= ~P->known;          /* controls known to be 1 */
	if (diag)
		return true;           /* basis states stay basis states */
	if (g->ctrl || g->shape != QASM_MAT_PERM || (targets & ~P->known)) {
		P->known &= ~targets;
		return true;
	}
	/* A permutation of known targets: follow it. */
	const int dim = g->kind == QASM_OP_GATE1 ? 2 : 4;
	int col = ((P->val & b0) ? 1 : 0) + ((P->val & b1) ? 2 : 0), row = -1;

	for (int r = 0; r < dim; r++)
		if (g->m[2 * (dim * r + col)] != 0 ||
		    g->m[2 * (dim * r + col) + 1] != 0)
			row = r;
	if (row < 0) {
		/* The column is zero (not a unitary): nothing is known. */
		P->known &= ~targets;
		return true;
	}
	P->val &= ~targets;
	if (row & 1)
		P->val |= b0;
	if (row & 2)
		P->val |= b1;
	return true;
}

static void plan_gate(struct planner *P, struct pgate *g)
{
	if (!track_gate(P, g)) {
		P->p->ngates_dropped++;
		return;
	}
	fuse_gate(P, g);
}

static void plan_op(struct planner *P, const struct qasm_op *op)
{
	const uint64_t qb = (uint64_t)1 << op->q[0];
	struct pgate g;

	if ((op->kind == QASM_OP_GATE1 || op->kind == QASM_OP_GATE2)) {
		g.m = qasm_op_matrix(P->c, op);
		g.kind = op->kind;
		g.shape = op->shape;
		g.q[0] = op->q[0];
		g.q[1] = op->q[1];
		g.ctrl = op->ctrl;
		P->p->ngates_in++;
		if (!op->cond) {
			plan_gate(P, &g);
			return;
		}
		/* Conditional: in place; it may or may not act. */
		close_touching(P, gate_mask(&g));
		if (!is_diag_gate(&g))
			P->known &= ~(qb | (op->kind == QASM_OP_GATE2 ?
					    (uint64_t)1 << op->q[1] : 0));
		struct sim_step *st = step_new(P);

		st->kind = SIM_STEP_OP;
		st->ngates = 1;
		st->op = *op;
		st->m = g.m;
		return;
	}
	if (!op->cond && (P->known & qb)) {
		bool one = (P->val & qb) != 0;

		if (op->kind == QASM_OP_RESET) {
			P->p->nresets_dropped++;
			if (one) {
				/* |1> -> |0>: an x. */
				g.m = mat_x;
				g.kind = QASM_OP_GATE1;
				g.shape = QASM_MAT_PERM;
				g.q[0] = g.q[1] = op->q[0];
				g.ctrl = 0;
				plan_gate(P, &g);
			}
			return;
		}
		/* A measurement of a known qubit: a constant bit. The
		 * qubit's blocks need not close. */
		struct sim_step *st = step_new(P);

		st->kind = SIM_STEP_SETBIT;
		st->op = *op;
		st->value = one;
		return;
	}
	close_touching(P, qb);
	struct sim_step *st = step_new(P);

	st->kind = SIM_STEP_OP;
	st->op = *op;
	if (op->kind == QASM_OP_RESET) {
		if (op->cond) {
			/* Stays |0> if it was; otherwise unknown. */
			if (!((P->known & qb) && !(P->val & qb)))
				P->known &= ~qb;
		} else {
			P->known |= qb;
			P->val &= ~qb;
		}
	}
	/* A measured unknown qubit stays unknown (its value is random). */
}

/*
 * Known qubits after matrix @M (D x D, local qubits @qs[0..k)) acts, given
 * the known ones before (*K, *V): the outputs reachable from the inputs
 * that agree with the known values (and those inputs themselves when the
 * step may not act) are collected; a qubit whose bit is the same in all
 * of them stays known.
 */
static void known_after(uint64_t *K, uint64_t *V, const uint32_t *qs,
			unsigned k, const double *M, bool may_skip)
{
	const unsigned D = 1u << k;
	unsigned kl = 0, vl = 0, ones = 0, zeros = 0;

	for (unsigned b = 0; b < k; b++) {
		if ((*K >> qs[b]) & 1) {
			kl |= 1u << b;
			if ((*V >> qs[b]) & 1)
				vl |= 1u << b;
		}
	}
	for (unsigned c = 0; c < D; c++) {
		if ((c & kl) != vl)
			continue;
		if (may_skip) {
			ones |= c;
			zeros |= ~c;
		}
		for (unsigned r = 0; r < D; r++)
			if (M[2 * ((size_t)r * D + c)] != 0 ||
			    M[2 * ((size_t)r * D + c) + 1] != 0) {
				ones |= r;
				zeros |= ~r;
			}
	}
	for (unsigned b = 0; b < k; b++) {
		uint64_t qb = (uint64_t)1 << qs[b];
		bool one = (ones >> b) & 1, zero = (zeros >> b) & 1;

		if (one && zero) {
			*K &= ~qb;
		} else if (one || zero) {
			*K |= qb;
			*V = one ? (*V | qb) : (*V & ~qb);
		}
		/* neither: no output at all (a zero matrix): leave it */
	}
}

/*
 * Second pass, over the steps in their final order: which qubits are in a
 * known basis state when each step runs (the first pass knew them in
 * circuit order, ahead of blocks still open), for the restriction of its
 * sweep (rmask, rval).
 */
static void restrict_pass(struct sim_plan *p, unsigned nq)
{
	uint64_t K = nq >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << nq) - 1, V = 0;

	for (size_t i = 0; i < p->nsteps; i++) {
		struct sim_step *st = &p->steps[i];
		const struct qasm_op *op = &st->op;
		uint64_t mine = 0;

		if (st->kind == SIM_STEP_SETBIT)
			continue;
		if (st->kind != SIM_STEP_OP) {
			for (unsigned b = 0; b < st->k; b++)
				mine |= (uint64_t)1 << st->q[b];
			st->rmask = K & ~mine;
			st->rval = V & st->rmask;
			if (st->kind != SIM_STEP_DIAG)
				known_after(&K, &V, st->q, st->k,
					    p->mats + st->mat, false);
			continue;
		}
		const uint64_t qb = (uint64_t)1 << op->q[0];

		if (op->kind == QASM_OP_MEASURE)
			continue;
		if (op->kind == QASM_OP_RESET) {
			if (!op->cond) {
				K |= qb;
				V &= ~qb;
			} else if (!((K & qb) && !(V & qb))) {
				K &= ~qb;
			}
			continue;
		}
		uint32_t qs[2] = { op->q[0], op->q[1] };
		unsigned k = op->kind == QASM_OP_GATE2 ? 2 : 1;

		mine = op->ctrl | qb | (k == 2 ? (uint64_t)1 << op->q[1] : 0);
		st->rmask = K & ~mine;
		st->rval = V & st->rmask;
		if (op->ctrl & K & ~V)
			continue;  /* a control known 0: never acts */
		known_after(&K, &V, qs, k, st->m,
			    op->cond || (op->ctrl & ~K));
	}
}

bool sim_step_chunk_local(const struct sim_step *st, unsigned L)
{
	switch (st->kind) {
	case SIM_STEP_DIAG:
		return true;
	case SIM_STEP_DENSE:
	case SIM_STEP_MONO:
		return st->k > 0 && st->q[st->k - 1] < L;  /* q ascending */
	case SIM_STEP_OP:
		if (st->op.cond)
			return false;
		if (st->op.kind == QASM_OP_GATE1)
			return st->op.q[0] < L;
		if (st->op.kind == QASM_OP_GATE2)
			return st->op.q[0] < L && st->op.q[1] < L;
		return false;
	default:
		return false;
	}
}

/* Mark the runs of consecutive chunk-local steps (sim_plan.h). */
static void chunk_pass(struct sim_plan *p, unsigned nq, unsigned L)
{
	p->chunk_bits = L;
	if (L < 2 || L + 2 > nq)
		return;  /* fewer than four chunks: nothing to gain */
	for (size_t i = 0; i < p->nsteps;) {
		size_t j = i;

		while (j < p->nsteps && j - i < UINT32_MAX &&
		       sim_step_chunk_local(&p->steps[j], L))
			j++;
		if (j - i >= 2) {
			p->steps[i].chunk_len = (uint32_t)(j - i);
			p->nruns++;
			p->nrun_steps += j - i;
		}
		i = j > i ? j : i + 1;
	}
}

/* One fused plan; @keep_local: fusion keeps chunk-local blocks local
 * (may_join), for chunks of 2^chunk_bits. */
static int plan_fused(struct sim_plan *p, const struct qasm_circuit *c,
		      const struct qasm_op *ops, size_t nops, unsigned fuse_max,
		      unsigned chunk_bits, bool remap, bool keep_local)
{
	struct planner P;

	memset(p, 0, sizeof(*p));
	/* At most one step per op (a reset becomes at most one x). */
	p->steps = malloc((nops ? nops : 1) * sizeof(*p->steps));
	if (!p->steps)
		return -ENOMEM;
	if (fuse_max == 0) {
		for (size_t i = 0; i < nops; i++) {
			struct sim_step *st = &p->steps[p->nsteps++];

			memset(st, 0, sizeof(*st));
			st->kind = SIM_STEP_OP;
			st->op = ops[i];
			if (ops[i].kind == QASM_OP_GATE1 ||
			    ops[i].kind == QASM_OP_GATE2) {
				st->m = qasm_op_matrix(c, &ops[i]);
				st->ngates = 1;
				p->ngates_in++;
			}
		}
		return 0;
	}
	memset(&P, 0, sizeof(P));
	P.p = p;
	P.c = c;
	P.nq = c->nqubits ? c->nqubits : 1;
	P.kmax = fuse_max > SIM_FUSE_MAX ? SIM_FUSE_MAX : fuse_max;
	P.known = c->nqubits >= 64 ? ~(uint64_t)0
				   : ((uint64_t)1 << c->nqubits) - 1;
	P.val = 0;
	if (keep_local && chunk_bits >= 2 && chunk_bits + 2 <= c->nqubits)
		P.lowmask = ((uint64_t)1 << chunk_bits) - 1;
	P.ob = calloc(P.nq, sizeof(*P.ob));
	if (!P.ob) {
		sim_plan_free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nops && !P.err; i++)
		plan_op(&P, &ops[i]);
	if (!P.err)
		close_all(&P);
	if (!P.err)
		restrict_pass(p, c->nqubits);
	if (!P.err && chunk_bits && remap)
		P.err = sim_plan_remap(p, c->nqubits, chunk_bits);
	if (!P.err && chunk_bits)
		chunk_pass(p, c->nqubits, chunk_bits);
	for (unsigned i = 0; i < P.nq; i++)
		free(P.ob[i].g);
	free(P.ob);
	if (P.err) {
		sim_plan_free(p);
		return P.err;
	}
	return 0;
}

int sim_plan_build(struct sim_plan *p, const struct qasm_circuit *c,
		   const struct qasm_op *ops, size_t nops, unsigned fuse_max,
		   unsigned chunk_bits, bool remap)
{
	struct sim_plan alt;
	int rc;

	if (fuse_max == 0 || !chunk_bits)
		return plan_fused(p, c, ops, nops, fuse_max, 0, false, false);
	/* Fusion that keeps local blocks local helps where the low work
	 * forms long runs and costs sweeps where it does not (it splits
	 * blocks): both are planned, the cheaper (sim_plan_cost) runs. */
	rc = plan_fused(p, c, ops, nops, fuse_max, chunk_bits, remap, true);
	if (rc)
		return rc;
	if (plan_fused(&alt, c, ops, nops, fuse_max, chunk_bits, remap,
		       false) != 0)
		return 0;  /* no memory for the other: this one will do */
	if (sim_plan_cost(alt.steps, alt.nsteps, chunk_bits) <
	    sim_plan_cost(p->steps, p->nsteps, chunk_bits)) {
		sim_plan_free(p);
		*p = alt;
	} else {
		sim_plan_free(&alt);
	}
	return 0;
}

void sim_plan_free(struct sim_plan *p)
{
	free(p->steps);
	free(p->mats);
	memset(p, 0, sizeof(*p));
}
