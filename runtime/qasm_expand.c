/*
 * qasm_expand.c - gate expansion: turns one application of a gate to
 * concrete qubits into primitive operations.
 *
 * - A built-in gate with a native implementation emits it directly (one
 *   controlled 2x2 or one 4x4), unless QASM_PARSE_NO_NATIVE.
 * - Any other gate on at most two qubits is composed: its body is applied to
 *   a 4x4 identity and the product is emitted as one operation (a 2x2, a
 *   controlled 2x2 or a 4x4, whichever fits), unless QASM_PARSE_NO_FUSE.
 * - Otherwise the body is inlined, recursively.
 * Operations go to a sink: the circuit (with the statement's condition), or
 * the composer's small matrix.
 */
#include "qasm_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define QASM_MAX_GATE_DEPTH 256
#define QASM_MAX_PARAMS_EVAL 32

/* Entries closer than this to 0 count as 0 when a composed 4x4 is split
 * into a smaller operation (composition noise is a few ulps). */
#define COMPOSE_EPS 1e-13

/* ---- the circuit sink ---- */

struct circuit_sink {
	struct qasm_sink base;
	struct qasm_circuit *c;
	uint32_t cond;
};

static int cs_gate1(struct qasm_sink *s, uint32_t t, uint64_t ctrl,
		    const double m[8])
{
	struct circuit_sink *cs = (struct circuit_sink *)s;
	struct qasm_op op;
	double mm[8];

	memcpy(mm, m, sizeof(mm));
	memset(&op, 0, sizeof(op));
	op.kind = QASM_OP_GATE1;
	op.shape = (uint8_t)qasm_mat2_shape(mm);
	op.cond = cs->cond;
	op.q[0] = t;
	op.ctrl = ctrl;
	return qasm_circuit_add_op(cs->c, &op, mm, 8);
}

static int cs_gate2(struct qasm_sink *s, uint32_t q0, uint32_t q1,
		    uint64_t ctrl, const double m[32])
{
	struct circuit_sink *cs = (struct circuit_sink *)s;
	struct qasm_op op;
	double mm[32];

	memcpy(mm, m, sizeof(mm));
	memset(&op, 0, sizeof(op));
	op.kind = QASM_OP_GATE2;
	op.shape = (uint8_t)qasm_mat4_shape(mm);
	op.cond = cs->cond;
	op.q[0] = q0;
	op.q[1] = q1;
	op.ctrl = ctrl;
	return qasm_circuit_add_op(cs->c, &op, mm, 32);
}

/* ---- the composer: a 4x4 (or 2x2) unitary, built gate by gate ---- */

struct compose_sink {
	struct qasm_sink base;
	unsigned dim;      /* 2 or 4 */
	double u[32];      /* row-major, dim x dim, re/im pairs */
};

/* Apply to every column: amplitude pairs (i, i|tbit) with controls set. */
static int cp_gate1(struct qasm_sink *s, uint32_t t, uint64_t ctrl,
		    const double m[8])
{
	struct compose_sink *cp = (struct compose_sink *)s;
	unsigned d = cp->dim, tb = 1u << t;

	for (unsigned i = 0; i < d; i++) {
		if ((i & tb) || (i & ctrl) != ctrl)
			continue;
		for (unsigned col = 0; col < d; col++) {
			double *a = &cp->u[2 * (i * d + col)];
			double *b = &cp->u[2 * ((i | tb) * d + col)];
			double ar = a[0], ai = a[1], br = b[0], bi = b[1];

			a[0] = m[0] * ar - m[1] * ai + m[2] * br - m[3] * bi;
			a[1] = m[0] * ai + m[1] * ar + m[2] * bi + m[3] * br;
			b[0] = m[4] * ar - m[5] * ai + m[6] * br - m[7] * bi;
			b[1] = m[4] * ai + m[5] * ar + m[6] * bi + m[7] * br;
		}
	}
	return 0;
}

static int cp_gate2(struct qasm_sink *s, uint32_t q0, uint32_t q1,
		    uint64_t ctrl, const double m[32])
{
	struct compose_sink *cp = (struct compose_sink *)s;
	unsigned d = cp->dim, b0 = 1u << q0, b1 = 1u << q1;

	/* Only called with dim 4 and {q0, q1} = {0, 1}: no controls left. */
	(void)ctrl;
	for (unsigned col = 0; col < d; col++) {
		double in[8], out[8];
		unsigned idx[4] = { 0, b0, b1, b0 | b1 };

		for (unsigned k = 0; k < 4; k++) {
			in[2 * k] = cp->u[2 * (idx[k] * d + col)];
			in[2 * k + 1] = cp->u[2 * (idx[k] * d + col) + 1];
		}
		for (unsigned r = 0; r < 4; r++) {
			double re = 0, im = 0;

			for (unsigned k = 0; k < 4; k++) {
				const double *e = &m[2 * (r * 4 + k)];

				re += e[0] * in[2 * k] - e[1] * in[2 * k + 1];
				im += e[0] * in[2 * k + 1] + e[1] * in[2 * k];
			}
			out[2 * r] = re;
			out[2 * r + 1] = im;
		}
		for (unsigned k = 0; k < 4; k++) {
			cp->u[2 * (idx[k] * d + col)] = out[2 * k];
			cp->u[2 * (idx[k] * d + col) + 1] = out[2 * k + 1];
		}
	}
	return 0;
}

static bool is_zero(const double *e)
{
	return fabs(e[0]) <= COMPOSE_EPS && fabs(e[1]) <= COMPOSE_EPS;
}

static bool is_one(const double *e)
{
	return fabs(e[0] - 1) <= COMPOSE_EPS && fabs(e[1]) <= COMPOSE_EPS;
}

/* Entry (r, c) of a 4x4. */
static const double *at4(const double *u, unsigned r, unsigned c)
{
	return &u[2 * (r * 4 + c)];
}

/*
 * The 2x2 block of u acting on qubit @t with the other qubit fixed to @o
 * (row and column), if u does not mix the other qubit's values; and whether
 * that holds.
 */
static bool block_of(const double *u, unsigned t, unsigned o, double m[8])
{
	unsigned tb = 1u << t, ob = 1u << (1 - t);

	for (unsigned r = 0; r < 4; r++)
		for (unsigned c = 0; c < 4; c++)
			if (((r & ob) != 0) != ((c & ob) != 0) &&
			    !is_zero(at4(u, r, c)))
				return false;
	for (unsigned r = 0; r < 2; r++)
		for (unsigned c = 0; c < 2; c++) {
			const double *e = at4(u, (r ? tb : 0) | (o ? ob : 0),
					      (c ? tb : 0) | (o ? ob : 0));

			m[2 * (r * 2 + c)] = e[0];
			m[2 * (r * 2 + c) + 1] = e[1];
		}
	return true;
}

static bool mat2_close(const double *a, const double *b)
{
	for (int i = 0; i < 8; i++)
		if (fabs(a[i] - b[i]) > COMPOSE_EPS)
			return false;
	return true;
}

/* Emit a composed 4x4 on (q0, q1) as the smallest operation that fits. */
static int emit_composed4(struct qasm_sink *out, const double *u,
			  uint32_t q0, uint32_t q1)
{
	const uint32_t q[2] = { q0, q1 };

	for (unsigned t = 0; t < 2; t++) {
		double lo[8], hi[8];

		if (!block_of(u, t, 0, lo) || !block_of(u, t, 1, hi))
			continue;
		if (mat2_close(lo, hi)) {  /* I (x) A: the other qubit is idle */
			if (qasm_mat2_is_identity(lo))
				return 0;
			return out->gate1(out, q[t], 0, lo);
		}
		if (qasm_mat2_is_identity(lo))  /* controlled by the other */
			return out->gate1(out, q[t], 1ull << q[1 - t], hi);
	}
	bool ident = true;

	for (unsigned r = 0; r < 4 && ident; r++)
		for (unsigned c = 0; c < 4 && ident; c++)
			ident = r == c ? is_one(at4(u, r, c)) : is_zero(at4(u, r, c));
	if (ident)
		return 0;
	return out->gate2(out, q0, q1, 0, u);
}

/* ---- expansion ---- */

/*
 * The budget: every gate application planned counts, composed or emitted,
 * so that a program whose definitions double at each level (2^n gates from
 * n lines) is refused after max_gates steps, not run for ever. Evaluating
 * parameter expressions counts against a second budget, 16 nodes per gate,
 * as a huge expression in a gate called many times is the same attack.
 */
#define EVALS_PER_GATE 16

static int charge_gate(struct qasm_parser *P)
{
	if (++P->ngates <= P->max_gates)
		return 0;
	return rt_error_set(P->err, -E2BIG, "%s:%u:%u: error: gate expansion "
			    "exceeds the limit of %llu gate applications (at "
			    "'%s'); the limit is set by --max-gates "
			    "(qasm_parse_opts.max_gates)", P->stmt_file,
			    P->stmt_line, P->stmt_col,
			    (unsigned long long)P->max_gates,
			    P->stmt_gate ? P->stmt_gate : "?");
}

static int charge_evals(struct qasm_parser *P, uint32_t nodes)
{
	P->nevals += nodes;
	if (P->nevals / EVALS_PER_GATE <= P->max_gates)
		return 0;
	return rt_error_set(P->err, -E2BIG, "%s:%u:%u: error: gate expansion "
			    "evaluates more than %llu parameter expression "
			    "nodes (at '%s'); the limit is %d times --max-gates "
			    "(qasm_parse_opts.max_gates)", P->stmt_file,
			    P->stmt_line, P->stmt_col,
			    (unsigned long long)P->max_gates * EVALS_PER_GATE,
			    P->stmt_gate ? P->stmt_gate : "?", EVALS_PER_GATE);
}

static int expand_error(struct qasm_parser *P, int rc)
{
	if (rc == -E2BIG)
		return rt_error_set(P->err, -E2BIG, "%s:%u:%u: error: circuit too "
				    "large: more than %zu operations after gate "
				    "expansion", P->stmt_file, P->stmt_line,
				    P->stmt_col, P->c->nops);
	if (rc == -ENOMEM)
		return rt_error_set(P->err, rc, "%s:%u:%u: error: out of memory",
				    P->stmt_file, P->stmt_line, P->stmt_col);
	return rc;
}

static int expand(struct qasm_parser *P, struct qasm_sink *s,
		  const struct qasm_gate *g, const double *params,
		  const uint32_t *qubits, unsigned depth, bool composing);

static int compose(struct qasm_parser *P, struct qasm_sink *out,
		   const struct qasm_gate *g, const double *params,
		   const uint32_t *qubits, unsigned depth)
{
	struct compose_sink cp;
	static const uint32_t local[2] = { 0, 1 };
	unsigned d = 1u << g->nqubits;
	int rc;

	cp.base.gate1 = cp_gate1;
	cp.base.gate2 = cp_gate2;
	cp.dim = d;
	memset(cp.u, 0, sizeof(cp.u));
	for (unsigned i = 0; i < d; i++)
		cp.u[2 * (i * d + i)] = 1;
	rc = expand(P, &cp.base, g, params, local, depth, true);
	if (rc)
		return rc;
	if (g->nqubits == 1) {
		if (qasm_mat2_is_identity(cp.u))
			return 0;
		return out->gate1(out, qubits[0], 0, cp.u);
	}
	return emit_composed4(out, cp.u, qubits[0], qubits[1]);
}

static int expand(struct qasm_parser *P, struct qasm_sink *s,
		  const struct qasm_gate *g, const double *params,
		  const uint32_t *qubits, unsigned depth, bool composing)
{
	double pv[QASM_MAX_PARAMS_EVAL];
	uint32_t qa[QASM_MAX_QUBITS];
	int rc;

	if (g->opaque && depth == 0)
		return rt_error_set(P->err, -EINVAL, "%s:%u:%u: error: gate '%s' "
				    "is opaque (declared at %s:%u:%u without a "
				    "body) and cannot be simulated", P->stmt_file,
				    P->stmt_line, P->stmt_col, g->name, g->file,
				    g->line, g->col);
	if (g->opaque)
		return rt_error_set(P->err, -EINVAL, "%s:%u:%u: error: gate '%s' "
				    "uses opaque gate '%s' (declared at %s:%u:%u "
				    "without a body), which cannot be simulated",
				    P->stmt_file, P->stmt_line, P->stmt_col,
				    P->stmt_gate, g->name, g->file, g->line,
				    g->col);
	if (depth > QASM_MAX_GATE_DEPTH)
		return rt_error_set(P->err, -EINVAL, "%s:%u:%u: error: gate "
				    "definitions nested more than %d deep",
				    P->stmt_file, P->stmt_line, P->stmt_col,
				    QASM_MAX_GATE_DEPTH);
	if (g->native && !(P->flags & QASM_PARSE_NO_NATIVE)) {
		rc = charge_gate(P);
		return rc ? rc : expand_error(P, g->native(s, params, qubits));
	}
	if (!composing && g->nqubits <= 2 && !(P->flags & QASM_PARSE_NO_FUSE))
		return compose(P, s, g, params, qubits, depth);

	for (uint32_t i = 0; i < g->nbody; i++) {
		const struct qasm_gcall *call = &g->body[i];

		if (call->kind == 0)
			continue;  /* a barrier */
		rc = charge_evals(P, call->cost);
		if (rc)
			return rc;
		for (uint16_t k = 0; k < call->nparams; k++) {
			pv[k] = qasm_expr_eval(call->params[k], params);
			if (!isfinite(pv[k]))
				return rt_error_set(P->err, -EINVAL, "%s:%u:%u: "
						    "error: in gate '%s': parameter "
						    "%u of a call evaluates to %s",
						    P->stmt_file, P->stmt_line,
						    P->stmt_col, g->name, k + 1,
						    isnan(pv[k]) ? "NaN" :
						    pv[k] > 0 ? "inf" : "-inf");
		}
		for (uint16_t k = 0; k < call->nargs; k++)
			qa[k] = qubits[call->args[k]];
		switch (call->kind) {
		case GCALL_U: {
			double m[8];

			qasm_mat_u3(pv[0], pv[1], pv[2], m);
			rc = charge_gate(P);
			if (!rc)
				rc = expand_error(P, s->gate1(s, qa[0], 0, m));
			break;
		}
		case GCALL_CX: {
			static const double x[8] = { 0, 0, 1, 0, 1, 0, 0, 0 };

			rc = charge_gate(P);
			if (!rc)
				rc = expand_error(P, s->gate1(s, qa[1],
							      1ull << qa[0], x));
			break;
		}
		default:
			rc = expand(P, s, call->gate, pv, qa, depth + 1,
				    composing);
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

int qasm_apply_gate(struct qasm_parser *P, const struct qasm_gate *g,
		    const double *params, const uint32_t *qubits,
		    uint32_t cond)
{
	struct circuit_sink cs = {
		.base = { cs_gate1, cs_gate2 }, .c = P->c, .cond = cond,
	};

	return expand(P, &cs.base, g, params, qubits, 0, false);
}

int qasm_apply_u(struct qasm_parser *P, const double *params, uint32_t q,
		 uint32_t cond)
{
	struct circuit_sink cs = {
		.base = { cs_gate1, cs_gate2 }, .c = P->c, .cond = cond,
	};
	double m[8];
	int rc = charge_gate(P);

	if (rc)
		return rc;
	qasm_mat_u3(params[0], params[1], params[2], m);
	return expand_error(P, cs_gate1(&cs.base, q, 0, m));
}

int qasm_apply_cx(struct qasm_parser *P, uint32_t c, uint32_t t,
		  uint32_t cond)
{
	static const double x[8] = { 0, 0, 1, 0, 1, 0, 0, 0 };
	struct circuit_sink cs = {
		.base = { cs_gate1, cs_gate2 }, .c = P->c, .cond = cond,
	};
	int rc = charge_gate(P);

	if (rc)
		return rc;
	return expand_error(P, cs_gate1(&cs.base, t, 1ull << c, x));
}
