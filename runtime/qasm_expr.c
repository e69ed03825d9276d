/*
 * qasm_expr.c - parameter expressions: parsing into small trees (in an
 * arena), constant folding, evaluation.
 *
 * Grammar, loosest binding first:
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := primary ('^' unary)?          right-associative: -2^2 = -4
 *   primary := number | pi | parameter | func '(' expr ')' | '(' expr ')'
 *   func    := sin | cos | tan | exp | ln | sqrt
 * Subtrees without parameters are folded to numbers as they are built, so a
 * top-level expression always comes back as one EXPR_NUM node.
 *
 * Depth is bounded twice over, so that neither the parser nor the evaluator
 * can run out of stack on hostile input: the parser's recursion (every
 * nesting passes through parse_unary) and the depth of each tree built
 * (a long chain 'a+a+a+...' is parsed by a loop but is a deep tree) are
 * both limited to QASM_MAX_EXPR_DEPTH, with a located error.
 */
#include "qasm_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double qasm_expr_eval(const struct qasm_expr *e, const double *params)
{
	switch (e->kind) {
	case EXPR_NUM: return e->val;
	case EXPR_PARAM: return params[e->param];
	case EXPR_NEG: return -qasm_expr_eval(e->a, params);
	case EXPR_ADD:
		return qasm_expr_eval(e->a, params) + qasm_expr_eval(e->b, params);
	case EXPR_SUB:
		return qasm_expr_eval(e->a, params) - qasm_expr_eval(e->b, params);
	case EXPR_MUL:
		return qasm_expr_eval(e->a, params) * qasm_expr_eval(e->b, params);
	case EXPR_DIV:
		return qasm_expr_eval(e->a, params) / qasm_expr_eval(e->b, params);
	case EXPR_POW:
		return pow(qasm_expr_eval(e->a, params),
			   qasm_expr_eval(e->b, params));
	case EXPR_SIN: return sin(qasm_expr_eval(e->a, params));
	case EXPR_COS: return cos(qasm_expr_eval(e->a, params));
	case EXPR_TAN: return tan(qasm_expr_eval(e->a, params));
	case EXPR_EXP: return exp(qasm_expr_eval(e->a, params));
	case EXPR_LN: return log(qasm_expr_eval(e->a, params));
	case EXPR_SQRT: return sqrt(qasm_expr_eval(e->a, params));
	}
	return NAN;
}

uint32_t qasm_expr_nodes(const struct qasm_expr *e)
{
	uint32_t n = 1;

	if (e->a)
		n += qasm_expr_nodes(e->a);
	if (e->b)
		n += qasm_expr_nodes(e->b);
	return n;
}

static struct qasm_expr *node(struct qasm_parser *P, struct qasm_arena *a,
			      uint8_t kind, struct qasm_expr *l,
			      struct qasm_expr *r)
{
	struct qasm_expr *e = qasm_arena_alloc(a, sizeof(*e));

	if (!e) {
		qasm_perr(P, NULL, "out of memory");
		return NULL;
	}
	e->kind = kind;
	e->depth = (uint16_t)(1 + (r && r->depth > l->depth ? r->depth :
				     l->depth));
	e->param = 0;
	e->val = 0;
	e->a = l;
	e->b = r;
	if (e->depth > QASM_MAX_EXPR_DEPTH) {
		qasm_perr(P, NULL, "expression nested deeper than %d",
			  QASM_MAX_EXPR_DEPTH);
		return NULL;
	}
	/* Fold constants: evaluating now gives the same bits as later. */
	if (kind != EXPR_NUM && kind != EXPR_PARAM && l->kind == EXPR_NUM &&
	    (!r || r->kind == EXPR_NUM)) {
		e->val = qasm_expr_eval(e, NULL);
		e->kind = EXPR_NUM;
		e->depth = 1;
		e->a = e->b = NULL;
	}
	return e;
}

static struct qasm_expr *number(struct qasm_parser *P, struct qasm_arena *a,
				double v)
{
	struct qasm_expr *e = qasm_arena_alloc(a, sizeof(*e));

	if (!e) {
		qasm_perr(P, NULL, "out of memory");
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->kind = EXPR_NUM;
	e->depth = 1;
	e->val = v;
	return e;
}

static struct qasm_expr *parse_unary(struct qasm_parser *P,
				     struct qasm_arena *a);
static struct qasm_expr *parse_sum(struct qasm_parser *P,
				   struct qasm_arena *a);

static struct qasm_expr *parse_param_ref(struct qasm_parser *P,
					 struct qasm_arena *a)
{
	const struct qasm_gate *g = P->defining;
	const struct qasm_token *t = &P->tok;

	if (!g && P->tpl) {
		int i = qasm_tpl_param_index(P, t->text, t->len);
		if (i >= 0) {
			struct qasm_expr *e = number(P, a, 0);

			if (!e)
				return NULL;
			e->kind = EXPR_PARAM;
			e->param = (uint32_t)i;
			qasm_next(P);
			return e;
		}
		qasm_perr(P, t, "'%.*s' is not a declared parameter: declare "
			  "it first with 'param %.*s;'", (int)t->len, t->text,
			  (int)t->len, t->text);
		return NULL;
	}
	if (!g) {
		qasm_perr(P, t, "'%.*s' is not defined here: outside a gate body "
			  "an expression may use only numbers, pi, + - * / ^ and "
			  "sin cos tan exp ln sqrt", (int)t->len, t->text);
		return NULL;
	}
	for (uint32_t i = 0; i < g->nparams; i++) {
		if (strlen(g->param_names[i]) == t->len &&
		    memcmp(g->param_names[i], t->text, t->len) == 0) {
			struct qasm_expr *e = number(P, a, 0);

			if (!e)
				return NULL;
			e->kind = EXPR_PARAM;
			e->param = i;
			qasm_next(P);
			return e;
		}
	}
	if (g->nparams == 0) {
		qasm_perr(P, t, "'%.*s' is not a parameter of gate '%s', which "
			  "has no parameters", (int)t->len, t->text, g->name);
	} else {
		char list[256];
		size_t n = 0;

		list[0] = '\0';
		for (uint32_t i = 0; i < g->nparams && n < sizeof(list); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
					      i ? ", " : "", g->param_names[i]);
		qasm_perr(P, t, "'%.*s' is not a parameter of gate '%s' "
			  "(parameters: %s)", (int)t->len, t->text, g->name,
			  list);
	}
	return NULL;
}

static struct qasm_expr *parse_primary(struct qasm_parser *P,
				       struct qasm_arena *a)
{
	struct qasm_token t = P->tok;
	struct qasm_expr *e;
	uint8_t fn;

	switch (t.kind) {
	case TOK_INT:
	case TOK_REAL:
		qasm_next(P);
		return number(P, a, t.rval);
	case TOK_PI:
		qasm_next(P);
		return number(P, a, M_PI);
	case TOK_ID:
		return parse_param_ref(P, a);
	case TOK_LPAREN:
		qasm_next(P);
		e = parse_sum(P, a);
		if (!e)
			return NULL;
		if (P->tok.kind != TOK_RPAREN) {
			char d[64];

			qasm_perr(P, &P->tok, "expected ')' to close the '(' at "
				  "%u:%u, found %s", t.line, t.col,
				  qasm_tok_describe(&P->tok, d, sizeof(d)));
			return NULL;
		}
		qasm_next(P);
		return e;
	case TOK_SIN: fn = EXPR_SIN; break;
	case TOK_COS: fn = EXPR_COS; break;
	case TOK_TAN: fn = EXPR_TAN; break;
	case TOK_EXP: fn = EXPR_EXP; break;
	case TOK_LN: fn = EXPR_LN; break;
	case TOK_SQRT: fn = EXPR_SQRT; break;
	case TOK_ERROR:
		return NULL;
	default: {
		char d[64];

		qasm_perr(P, &t, "expected an expression, found %s",
			  qasm_tok_describe(&t, d, sizeof(d)));
		return NULL;
	}
	}
	qasm_next(P);
	if (P->tok.kind != TOK_LPAREN) {
		char d[64];

		qasm_perr(P, &P->tok, "expected '(' after function '%.*s', "
			  "found %s", (int)t.len, t.text,
			  qasm_tok_describe(&P->tok, d, sizeof(d)));
		return NULL;
	}
	qasm_next(P);
	e = parse_sum(P, a);
	if (!e)
		return NULL;
	if (P->tok.kind != TOK_RPAREN) {
		char d[64];

		qasm_perr(P, &P->tok, "expected ')' after the argument of "
			  "'%.*s', found %s", (int)t.len, t.text,
			  qasm_tok_describe(&P->tok, d, sizeof(d)));
		return NULL;
	}
	qasm_next(P);
	return node(P, a, fn, e, NULL);
}

static struct qasm_expr *parse_power(struct qasm_parser *P,
				     struct qasm_arena *a)
{
	struct qasm_expr *base = parse_primary(P, a), *ex;

	if (!base || P->tok.kind != TOK_CARET)
		return base;
	qasm_next(P);
	ex = parse_unary(P, a);
	if (!ex)
		return NULL;
	return node(P, a, EXPR_POW, base, ex);
}

static struct qasm_expr *parse_unary_nested(struct qasm_parser *P,
					    struct qasm_arena *a)
{
	if (P->tok.kind == TOK_MINUS) {
		struct qasm_expr *e;

		qasm_next(P);
		e = parse_unary(P, a);
		return e ? node(P, a, EXPR_NEG, e, NULL) : NULL;
	}
	if (P->tok.kind == TOK_PLUS) {
		qasm_next(P);
		return parse_unary(P, a);
	}
	return parse_power(P, a);
}

/* Every recursion of the expression grammar goes through here. */
static struct qasm_expr *parse_unary(struct qasm_parser *P,
				     struct qasm_arena *a)
{
	struct qasm_expr *e;

	if (P->expr_depth >= QASM_MAX_EXPR_DEPTH) {
		qasm_perr(P, NULL, "expression nested deeper than %d",
			  QASM_MAX_EXPR_DEPTH);
		return NULL;
	}
	P->expr_depth++;
	e = parse_unary_nested(P, a);
	P->expr_depth--;
	return e;
}

static struct qasm_expr *parse_term(struct qasm_parser *P,
				    struct qasm_arena *a)
{
	struct qasm_expr *l = parse_unary(P, a);

	while (l && (P->tok.kind == TOK_STAR || P->tok.kind == TOK_SLASH)) {
		uint8_t k = P->tok.kind == TOK_STAR ? EXPR_MUL : EXPR_DIV;
		struct qasm_expr *r;

		qasm_next(P);
		r = parse_unary(P, a);
		if (!r)
			return NULL;
		l = node(P, a, k, l, r);
	}
	return l;
}

static struct qasm_expr *parse_sum(struct qasm_parser *P,
				   struct qasm_arena *a)
{
	struct qasm_expr *l = parse_term(P, a);

	while (l && (P->tok.kind == TOK_PLUS || P->tok.kind == TOK_MINUS)) {
		uint8_t k = P->tok.kind == TOK_PLUS ? EXPR_ADD : EXPR_SUB;
		struct qasm_expr *r;

		qasm_next(P);
		r = parse_term(P, a);
		if (!r)
			return NULL;
		l = node(P, a, k, l, r);
	}
	return l;
}

struct qasm_expr *qasm_parse_expr(struct qasm_parser *P,
				  struct qasm_arena *arena)
{
	return parse_sum(P, arena);
}
