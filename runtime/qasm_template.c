/*
 * qasm_template.c - circuits parsed once and bound to parameter values many
 * times (qasm.h, "Templates").
 *
 * The parser runs in template mode (P->tpl set): a top-level `param` list
 * declares names that top-level expressions may use, and a gate
 * application whose arguments use one is recorded here, with the number of
 * operations emitted before it, instead of being expanded. The expression
 * trees and the gate definitions stay in the parser's arena, which the
 * template keeps. Binding copies the fixed operations up to each recorded
 * application, expands the application with its arguments evaluated, and
 * at the end fuses the whole list as a plain parse does.
 */
#include "qasm_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tpl_app {
	size_t at;                      /* ops of the base before it */
	const struct qasm_gate *g;      /* NULL: U (nq 1) or CX (nq 2) */
	struct qasm_expr **pexpr;       /* np trees, in the arena */
	uint16_t np, nq;
	uint32_t cond;
	uint32_t q[QASM_MAX_QUBITS];    /* a gate has at most 64 qubits */
	const char *file;               /* for messages */
	uint32_t line, col;
	const char *what;
};

struct qasm_template {
	struct qasm_circuit *base;      /* fixed operations, unfused */
	struct qasm_arena *arena;       /* gates, expressions, names */
	struct qasm_parse_opts opts;
	const char **params;
	uint32_t nparams, cap_params;
	struct tpl_app *apps;
	size_t napps, cap_apps;
};

int qasm_tpl_param_index(const struct qasm_parser *P, const char *name,
			 uint32_t len)
{
	const struct qasm_template *t = P->tpl;

	for (uint32_t i = 0; i < t->nparams; i++)
		if (strlen(t->params[i]) == len &&
		    memcmp(t->params[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* `param a, b, ...;` (the current token is `param`). */
int qasm_tpl_parse_param_decl(struct qasm_parser *P)
{
	struct qasm_template *t = P->tpl;
	char d[64];

	qasm_next(P);
	for (;;) {
		if (P->tok.kind != TOK_ID)
			return qasm_perr(P, NULL, "expected a parameter name "
					 "after 'param', found %s",
					 qasm_tok_describe(&P->tok, d,
							   sizeof(d)));
		if (qasm_tpl_param_index(P, P->tok.text, P->tok.len) >= 0)
			return qasm_perr(P, NULL, "parameter '%.*s' is already "
					 "declared", (int)P->tok.len,
					 P->tok.text);
		if (t->nparams == QASM_MAX_TEMPLATE_PARAMS)
			return qasm_perr(P, NULL, "too many parameters (at "
					 "most %d)", QASM_MAX_TEMPLATE_PARAMS);
		if (t->nparams == t->cap_params) {
			uint32_t cap = t->cap_params ? 2 * t->cap_params : 8;
			const char **v = realloc(t->params, cap * sizeof(*v));
			if (!v)
				return qasm_perr(P, NULL, "out of memory");
			t->params = v;
			t->cap_params = cap;
		}
		t->params[t->nparams] = qasm_arena_strndup(P->arena,
							   P->tok.text,
							   P->tok.len);
		if (!t->params[t->nparams])
			return qasm_perr(P, NULL, "out of memory");
		t->nparams++;
		qasm_next(P);
		if (P->tok.kind == TOK_SEMI) {
			qasm_next(P);
			return 0;
		}
		if (P->tok.kind != TOK_COMMA)
			return qasm_perr(P, NULL, "expected ',' or ';' in the "
					 "param list, found %s",
					 qasm_tok_describe(&P->tok, d,
							   sizeof(d)));
		qasm_next(P);
	}
}

int qasm_tpl_record(struct qasm_parser *P, const struct qasm_gate *g,
		    struct qasm_expr *const *pexpr, uint16_t np,
		    const uint32_t *q, unsigned nq, uint32_t cond)
{
	struct qasm_template *t = P->tpl;
	struct tpl_app *a;

	if (nq > QASM_MAX_QUBITS)
		return qasm_perr(P, NULL, "a parameterised gate on more than "
				 "%d qubits", QASM_MAX_QUBITS);
	if (t->napps == t->cap_apps) {
		size_t cap = t->cap_apps ? 2 * t->cap_apps : 16;
		struct tpl_app *v = realloc(t->apps, cap * sizeof(*v));
		if (!v)
			return qasm_perr(P, NULL, "out of memory");
		t->apps = v;
		t->cap_apps = cap;
	}
	a = &t->apps[t->napps];
	memset(a, 0, sizeof(*a));
	a->pexpr = qasm_arena_alloc(P->arena, (np ? np : 1) * sizeof(*a->pexpr));
	if (!a->pexpr)
		return qasm_perr(P, NULL, "out of memory");
	memcpy(a->pexpr, pexpr, np * sizeof(*pexpr));
	a->at = P->c->nops;
	a->g = g;
	a->np = np;
	a->nq = (uint16_t)nq;
	a->cond = cond;
	memcpy(a->q, q, nq * sizeof(*q));
	a->file = P->stmt_file;
	a->line = P->stmt_line;
	a->col = P->stmt_col;
	a->what = P->stmt_gate;
	t->napps++;
	return 0;
}

void qasm_template_free(struct qasm_template *t)
{
	if (!t)
		return;
	qasm_circuit_free(t->base);
	qasm_arena_free(t->arena);
	free(t->params);
	free(t->apps);
	free(t);
}

int qasm_template_parse(const char *name, const char *text, size_t len,
			const struct qasm_parse_opts *o,
			struct qasm_template **out, struct rt_error *err)
{
	struct qasm_template *t;
	struct rt_error local;
	int rc;

	*out = NULL;
	if (!err)
		err = &local;
	rt_error_clear(err);
	t = calloc(1, sizeof(*t));
	if (!t)
		return rt_error_set(err, -ENOMEM, "%s: error: out of memory",
				    name);
	if (o)
		t->opts = *o;
	rc = qasm_parse_template_text(name, text, len, o, t, &t->base,
				      &t->arena, err);
	if (rc) {
		qasm_template_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

uint32_t qasm_template_nparams(const struct qasm_template *t)
{
	return t->nparams;
}

const char *qasm_template_param_name(const struct qasm_template *t,
				     uint32_t i)
{
	return i < t->nparams ? t->params[i] : NULL;
}

const struct qasm_circuit *qasm_template_shape(const struct qasm_template *t)
{
	return t->base;
}

size_t qasm_template_nbound(const struct qasm_template *t)
{
	return t->napps;
}

/* A circuit with the base's name, registers and conditions, no ops. */
static struct qasm_circuit *shell_of(const struct qasm_circuit *b)
{
	struct qasm_circuit *c = qasm_circuit_new(b->name);

	if (!c)
		return NULL;
	c->source_hash = b->source_hash;
	c->nqubits = b->nqubits;
	c->nclbits = b->nclbits;
	c->nqregs = b->nqregs;
	c->ncregs = b->ncregs;
	c->qregs = calloc(b->nqregs ? b->nqregs : 1, sizeof(*c->qregs));
	c->cregs = calloc(b->ncregs ? b->ncregs : 1, sizeof(*c->cregs));
	if (b->nconds) {
		c->conds = malloc(b->nconds * sizeof(*c->conds));
		c->nconds = c->cap_conds = c->conds ? b->nconds : 0;
		if (c->conds)
			memcpy(c->conds, b->conds,
			       b->nconds * sizeof(*c->conds));
	}
	if (!c->qregs || !c->cregs || (b->nconds && !c->conds))
		goto fail;
	for (uint32_t i = 0; i < b->nqregs; i++) {
		c->qregs[i] = b->qregs[i];
		c->qregs[i].name = qasm_arena_strndup(c->arena, b->qregs[i].name,
						      strlen(b->qregs[i].name));
		if (!c->qregs[i].name)
			goto fail;
	}
	for (uint32_t i = 0; i < b->ncregs; i++) {
		c->cregs[i] = b->cregs[i];
		c->cregs[i].name = qasm_arena_strndup(c->arena, b->cregs[i].name,
						      strlen(b->cregs[i].name));
		if (!c->cregs[i].name)
			goto fail;
	}
	return c;
fail:
	qasm_circuit_free(c);
	return NULL;
}

/* Copies base ops [from, to) into c. */
static int copy_ops(struct qasm_circuit *c, const struct qasm_circuit *b,
		    size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		const struct qasm_op *op = &b->ops[i];
		size_t nmat = op->kind == QASM_OP_GATE1 ? 8 :
			      op->kind == QASM_OP_GATE2 ? 32 : 0;
		int rc = qasm_circuit_add_op(c, op, nmat ? b->mats + op->mat :
					     NULL, nmat);
		if (rc)
			return rc;
	}
	return 0;
}

int qasm_template_bind(const struct qasm_template *t, const double *values,
		       size_t n, struct qasm_circuit **out,
		       struct rt_error *err)
{
	return qasm_template_bind_budget(t, values, n, 0, out, err);
}

int qasm_template_bind_budget(const struct qasm_template *t,
			      const double *values, size_t n,
			      uint64_t max_gates, struct qasm_circuit **out,
			      struct rt_error *err)
{
	struct qasm_parser P;
	struct rt_error local;
	struct qasm_circuit *c;
	size_t done = 0;
	int rc = 0;

	*out = NULL;
	if (!err)
		err = &local;
	rt_error_clear(err);
	if (n != t->nparams || (n && !values))
		return rt_error_set(err, -EINVAL, "%s: error: %zu parameter "
				    "values for a circuit of %u parameters",
				    t->base->name, n, t->nparams);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(values[i]))
			return rt_error_set(err, -EINVAL, "%s: error: parameter "
					    "'%s' is not a finite number",
					    t->base->name, t->params[i]);
	c = shell_of(t->base);
	if (!c)
		return rt_error_set(err, -ENOMEM, "%s: error: out of memory",
				    t->base->name);
	memset(&P, 0, sizeof(P));
	P.c = c;
	P.err = err;
	P.flags = t->opts.flags;
	P.max_gates = t->opts.max_gates ? t->opts.max_gates :
		      QASM_DEFAULT_MAX_GATES;
	if (max_gates && max_gates < P.max_gates)
		P.max_gates = max_gates;
	for (size_t k = 0; k < t->napps && rc == 0; k++) {
		const struct tpl_app *a = &t->apps[k];
		double params[32];     /* a call has at most 32 */

		rc = copy_ops(c, t->base, done, a->at);
		if (rc) {
			rt_error_set(err, rc, "%s: error: out of memory",
				     c->name);
			break;
		}
		done = a->at;
		for (uint16_t i = 0; i < a->np; i++) {
			params[i] = qasm_expr_eval(a->pexpr[i], values);
			if (!isfinite(params[i])) {
				rc = rt_error_set(err, -EINVAL, "%s:%u:%u: "
						  "error: parameter %u of %s "
						  "is not a finite number "
						  "with these values", a->file,
						  a->line, a->col, i + 1,
						  a->what);
				break;
			}
		}
		if (rc)
			break;
		P.stmt_file = a->file;
		P.stmt_line = a->line;
		P.stmt_col = a->col;
		P.stmt_gate = a->what;
		if (!a->g)
			rc = a->nq == 1 ? qasm_apply_u(&P, params, a->q[0],
						       a->cond)
					: qasm_apply_cx(&P, a->q[0], a->q[1],
							a->cond);
		else
			rc = qasm_apply_gate(&P, a->g, params, a->q, a->cond);
	}
	if (rc == 0) {
		rc = copy_ops(c, t->base, done, t->base->nops);
		if (rc)
			rt_error_set(err, rc, "%s: error: out of memory",
				     c->name);
	}
	if (rc == 0 && !(t->opts.flags & QASM_PARSE_NO_FUSE)) {
		rc = qasm_circuit_fuse(c);
		if (rc)
			rt_error_set(err, rc, "%s: error: out of memory",
				     c->name);
	}
	if (rc) {
		qasm_circuit_free(c);
		return err->code ? err->code : rc;
	}
	*out = c;
	return 0;
}
