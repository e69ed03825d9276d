/*
 * qasm_parse.c - the OpenQASM 2.0 parser: statements, declarations, gate
 * definitions, includes, symbol tables, and the two entry points.
 *
 * One pass, no syntax tree for the program: each top-level statement is
 * parsed and at once expanded into operations (qasm_expand.c). Gate bodies
 * are kept as lists of calls with expression trees, in an arena. Parameter
 * expressions of a top-level statement live in a scratch arena that is reset
 * at every statement, so the hot path allocates nothing.
 */
#include "qasm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QASM_MAX_INCLUDE_DEPTH 32
#define QASM_MAX_GATE_PARAMS 32
#define QASM_MAX_STMT_ARGS 256
#define QASM_MAX_CLBITS (1u << 24)

/* ---- errors ---- */

int qasm_perr(struct qasm_parser *P, const struct qasm_token *at,
	      const char *fmt, ...)
{
	char what[768];
	va_list ap;

	if (!at)
		at = &P->tok;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return rt_error_set(P->err, -EINVAL, "%s:%u:%u: error: %s",
			    P->lx ? P->lx->file : P->c->name, at->line,
			    at->col, what);
}

static int perr_found(struct qasm_parser *P, const char *expected)
{
	char d[64];

	if (P->tok.kind == TOK_ERROR)
		return -EINVAL;
	return qasm_perr(P, &P->tok, "expected %s, found %s", expected,
			 qasm_tok_describe(&P->tok, d, sizeof(d)));
}

void qasm_next(struct qasm_parser *P)
{
	qasm_lex_next(P->lx, &P->tok);
}

static int expect(struct qasm_parser *P, enum qasm_tok k, const char *what)
{
	if (P->tok.kind != k)
		return perr_found(P, what);
	qasm_next(P);
	return 0;
}

/* ---- symbol tables ---- */

static uint32_t hash_name(const char *s, uint32_t len)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

void *qasm_symtab_get(const struct qasm_symtab *t, const char *name,
		      uint32_t len)
{
	uint32_t h, i;

	if (!t->cap)
		return NULL;
	h = hash_name(name, len);
	for (i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		const struct qasm_sym *s = &t->slots[i];

		if (!s->name)
			return NULL;
		if (s->hash == h && s->len == len &&
		    memcmp(s->name, name, len) == 0)
			return s->value;
	}
}

/* Insert or replace. @name must outlive the table. */
int qasm_symtab_put(struct qasm_symtab *t, const char *name, uint32_t len,
		    void *value)
{
	uint32_t h = hash_name(name, len), i;

	if ((t->count + 1) * 2 > t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		struct qasm_sym *n = calloc(cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (uint32_t k = 0; k < t->cap; k++) {
			struct qasm_sym *s = &t->slots[k];

			if (!s->name)
				continue;
			for (i = s->hash & (cap - 1); n[i].name;
			     i = (i + 1) & (cap - 1))
				;
			n[i] = *s;
		}
		free(t->slots);
		t->slots = n;
		t->cap = cap;
	}
	for (i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct qasm_sym *s = &t->slots[i];

		if (!s->name) {
			s->name = name;
			s->len = len;
			s->hash = h;
			s->value = value;
			t->count++;
			return 0;
		}
		if (s->hash == h && s->len == len &&
		    memcmp(s->name, name, len) == 0) {
			s->value = value;
			return 0;
		}
	}
}

void qasm_symtab_free(struct qasm_symtab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->count = 0;
}

/* ---- declarations ---- */

static int parse_reg_decl(struct qasm_parser *P, bool quantum)
{
	struct qasm_circuit *c = P->c;
	struct qasm_token name, size;
	struct qasm_reg_ref *old, *ref;
	struct qasm_reg **regs = quantum ? &c->qregs : &c->cregs;
	uint32_t *nregs = quantum ? &c->nqregs : &c->ncregs;
	uint32_t *total = quantum ? &c->nqubits : &c->nclbits;
	const char *kind = quantum ? "qreg" : "creg";

	qasm_next(P);
	name = P->tok;
	if (name.kind != TOK_ID)
		return perr_found(P, quantum ? "a quantum register name after 'qreg'"
					     : "a classical register name after 'creg'");
	old = qasm_symtab_get(&P->regs, name.text, name.len);
	if (old)
		return qasm_perr(P, &name, "register '%.*s' is already declared "
				 "(as a %s register at %s:%u:%u)", (int)name.len,
				 name.text, old->quantum ? "quantum" : "classical",
				 old->file, old->line, old->col);
	qasm_next(P);
	if (expect(P, TOK_LBRACKET, "'[' and the register size"))
		return -EINVAL;
	size = P->tok;
	if (size.kind != TOK_INT || size.ival == 0)
		return perr_found(P, "a positive integer register size");
	qasm_next(P);
	if (expect(P, TOK_RBRACKET, "']' after the register size") ||
	    expect(P, TOK_SEMI, "';' after the register declaration"))
		return -EINVAL;

	if (quantum && size.ival > QASM_MAX_QUBITS - c->nqubits)
		return qasm_perr(P, &size, "too many qubits: %s '%.*s' brings the "
				 "total to %llu, at most %d are supported", kind,
				 (int)name.len, name.text,
				 (unsigned long long)(c->nqubits + size.ival),
				 QASM_MAX_QUBITS);
	if (!quantum && size.ival > QASM_MAX_CLBITS - c->nclbits)
		return qasm_perr(P, &size, "too many classical bits: creg '%.*s' "
				 "brings the total past %u", (int)name.len,
				 name.text, QASM_MAX_CLBITS);

	struct qasm_reg *n = realloc(*regs, (*nregs + 1) * sizeof(**regs));

	if (!n)
		return qasm_perr(P, &name, "out of memory");
	*regs = n;
	n[*nregs].name = qasm_arena_strndup(c->arena, name.text, name.len);
	n[*nregs].offset = *total;
	n[*nregs].size = (uint32_t)size.ival;
	ref = qasm_arena_alloc(P->arena, sizeof(*ref));
	if (!n[*nregs].name || !ref)
		return qasm_perr(P, &name, "out of memory");
	ref->quantum = quantum;
	ref->index = *nregs;
	ref->file = P->lx->file;
	ref->line = name.line;
	ref->col = name.col;
	if (qasm_symtab_put(&P->regs, n[*nregs].name, name.len, ref))
		return qasm_perr(P, &name, "out of memory");
	*total += (uint32_t)size.ival;
	(*nregs)++;
	return 0;
}

/* Comma-separated identifiers into an arena array; stops before @end. */
static int parse_id_list(struct qasm_parser *P, const char ***out,
			 uint16_t *count, const char *what, unsigned max)
{
	const char *names[QASM_MAX_QUBITS > QASM_MAX_GATE_PARAMS ?
			  QASM_MAX_QUBITS : QASM_MAX_GATE_PARAMS];
	uint16_t n = 0;

	for (;;) {
		if (P->tok.kind != TOK_ID)
			return perr_found(P, what);
		for (uint16_t i = 0; i < n; i++)
			if (strlen(names[i]) == P->tok.len &&
			    memcmp(names[i], P->tok.text, P->tok.len) == 0)
				return qasm_perr(P, &P->tok, "'%.*s' appears twice "
						 "in the list", (int)P->tok.len,
						 P->tok.text);
		if (n == max)
			return qasm_perr(P, &P->tok, "too many names in the list "
					 "(at most %u)", max);
		names[n] = qasm_arena_strndup(P->arena, P->tok.text, P->tok.len);
		if (!names[n])
			return qasm_perr(P, NULL, "out of memory");
		n++;
		qasm_next(P);
		if (P->tok.kind != TOK_COMMA)
			break;
		qasm_next(P);
	}
	*out = qasm_arena_alloc(P->arena, n * sizeof(char *));
	if (!*out)
		return qasm_perr(P, NULL, "out of memory");
	memcpy(*out, names, n * sizeof(char *));
	*count = n;
	return 0;
}

static int find_qarg(const struct qasm_gate *g, const struct qasm_token *t)
{
	for (int i = 0; i < g->nqubits; i++)
		if (strlen(g->qubit_names[i]) == t->len &&
		    memcmp(g->qubit_names[i], t->text, t->len) == 0)
			return i;
	return -1;
}

static const char *gate_kind_name(const struct qasm_gate *g)
{
	return g->opaque ? "opaque gate" : "gate";
}

/* Check the number of parameters and qubit arguments of a call. */
static int check_arity(struct qasm_parser *P, const struct qasm_token *at,
		       const struct qasm_gate *g, unsigned nparams,
		       unsigned nargs)
{
	if (nparams != g->nparams)
		return qasm_perr(P, at, "%s '%s' takes %u parameter%s, got %u",
				 gate_kind_name(g), g->name, g->nparams,
				 g->nparams == 1 ? "" : "s", nparams);
	if (nargs != g->nqubits)
		return qasm_perr(P, at, "%s '%s' takes %u qubit argument%s, got %u",
				 gate_kind_name(g), g->name, g->nqubits,
				 g->nqubits == 1 ? "" : "s", nargs);
	return 0;
}

static int unknown_gate(struct qasm_parser *P, const struct qasm_token *t)
{
	const char *const *lib = qasm_qelib1_gate_names();
	bool in_lib = false;

	for (size_t i = 0; lib[i]; i++)
		if (strlen(lib[i]) == t->len &&
		    memcmp(lib[i], t->text, t->len) == 0)
			in_lib = true;
	if (in_lib && !P->qelib1_loaded)
		return qasm_perr(P, t, "unknown gate '%.*s': it is defined in "
				 "qelib1.inc; add 'include \"qelib1.inc\";' "
				 "after the header", (int)t->len, t->text);
	return qasm_perr(P, t, "unknown gate '%.*s': expected a gate defined "
			 "before this line, U or CX", (int)t->len, t->text);
}

/* Parameters of a call: '(' expr, ... ')' (the '(' is current). */
static int parse_call_params(struct qasm_parser *P, struct qasm_arena *a,
			     struct qasm_expr **params, uint16_t *n)
{
	*n = 0;
	qasm_next(P);
	if (P->tok.kind == TOK_RPAREN) {
		qasm_next(P);
		return 0;
	}
	for (;;) {
		if (*n == QASM_MAX_GATE_PARAMS)
			return qasm_perr(P, NULL, "too many parameters (at most %d)",
					 QASM_MAX_GATE_PARAMS);
		params[*n] = qasm_parse_expr(P, a);
		if (!params[*n])
			return -EINVAL;
		(*n)++;
		if (P->tok.kind == TOK_COMMA) {
			qasm_next(P);
			continue;
		}
		if (P->tok.kind == TOK_RPAREN) {
			qasm_next(P);
			return 0;
		}
		return perr_found(P, "',' or ')' in the parameter list");
	}
}

/* One statement of a gate body; the current token starts it. */
static int parse_body_stmt(struct qasm_parser *P, struct qasm_gate *g,
			   struct qasm_gcall *call)
{
	struct qasm_token start = P->tok;
	struct qasm_expr *params[QASM_MAX_GATE_PARAMS];
	uint16_t args[QASM_MAX_QUBITS];
	uint16_t nparams = 0, nargs = 0;
	const struct qasm_gate *callee = NULL;
	bool barrier = false;

	memset(call, 0, sizeof(*call));
	switch (start.kind) {
	case TOK_U:
		call->kind = GCALL_U;
		break;
	case TOK_CX:
		call->kind = GCALL_CX;
		break;
	case TOK_BARRIER:
		barrier = true;
		break;
	case TOK_ID:
		if (start.len == g->name_len &&
		    memcmp(start.text, g->name, start.len) == 0)
			return qasm_perr(P, &start, "gate '%s' cannot use itself "
					 "in its own body", g->name);
		callee = qasm_symtab_get(&P->gates, start.text, start.len);
		if (!callee)
			return unknown_gate(P, &start);
		call->kind = GCALL_GATE;
		call->gate = callee;
		break;
	case TOK_MEASURE:
	case TOK_RESET:
	case TOK_IF:
	case TOK_QREG:
	case TOK_CREG:
	case TOK_GATE:
	case TOK_OPAQUE:
	case TOK_INCLUDE: {
		char d[64];

		return qasm_perr(P, &start, "%s is not allowed inside a gate body "
				 "(only U, CX, gate calls and barrier)",
				 qasm_tok_describe(&start, d, sizeof(d)));
	}
	default:
		return perr_found(P, "a gate call, U, CX, barrier or '}' in the "
				  "body of gate");
	}
	qasm_next(P);
	if (P->tok.kind == TOK_LPAREN) {
		if (barrier)
			return qasm_perr(P, NULL, "barrier takes no parameters");
		if (parse_call_params(P, P->arena, params, &nparams))
			return -EINVAL;
	}
	for (;;) {
		int k;

		if (P->tok.kind != TOK_ID)
			return perr_found(P, "a qubit argument of the gate");
		k = find_qarg(g, &P->tok);
		if (k < 0)
			return qasm_perr(P, &P->tok, "'%.*s' is not a qubit argument "
					 "of gate '%s'", (int)P->tok.len,
					 P->tok.text, g->name);
		for (uint16_t i = 0; i < nargs; i++)
			if (args[i] == k && !barrier)
				return qasm_perr(P, &P->tok, "qubit '%.*s' is used "
						 "twice in one gate call",
						 (int)P->tok.len, P->tok.text);
		if (nargs == QASM_MAX_QUBITS)
			return qasm_perr(P, &P->tok, "too many arguments");
		args[nargs++] = (uint16_t)k;
		qasm_next(P);
		if (P->tok.kind == TOK_LBRACKET)
			return qasm_perr(P, NULL, "qubit arguments cannot be "
					 "indexed inside a gate body");
		if (P->tok.kind != TOK_COMMA)
			break;
		qasm_next(P);
	}
	if (expect(P, TOK_SEMI, "',' or ';' after the arguments"))
		return -EINVAL;
	if (barrier) {
		call->kind = 0;  /* no effect on the state: dropped */
		return 0;
	}
	if (call->kind == GCALL_U) {
		if (nparams != 3 || nargs != 1)
			return qasm_perr(P, &start, "U takes 3 parameters and 1 "
					 "qubit, got %u and %u", nparams, nargs);
	} else if (call->kind == GCALL_CX) {
		if (nparams != 0 || nargs != 2)
			return qasm_perr(P, &start, "CX takes no parameters and 2 "
					 "qubits, got %u and %u", nparams, nargs);
	} else if (check_arity(P, &start, callee, nparams, nargs)) {
		return -EINVAL;
	}
	call->nparams = nparams;
	call->nargs = nargs;
	call->params = qasm_arena_alloc(P->arena,
					(nparams ? nparams : 1) * sizeof(void *));
	call->args = qasm_arena_alloc(P->arena, nargs * sizeof(uint16_t));
	if (!call->params || !call->args)
		return qasm_perr(P, NULL, "out of memory");
	memcpy(call->params, params, nparams * sizeof(void *));
	memcpy(call->args, args, nargs * sizeof(uint16_t));
	for (uint16_t i = 0; i < nparams; i++)
		call->cost += qasm_expr_nodes(params[i]);
	return 0;
}

/* gate name(params) qargs { body }   or   opaque name(params) qargs ; */
static int parse_gate_decl(struct qasm_parser *P, bool opaque)
{
	struct qasm_token name;
	struct qasm_gate *g, *old;
	struct qasm_gcall *body = NULL;
	uint32_t nbody = 0, cap = 0;

	qasm_next(P);
	name = P->tok;
	if (name.kind != TOK_ID)
		return perr_found(P, opaque ? "a gate name after 'opaque'"
					    : "a gate name after 'gate'");
	old = qasm_symtab_get(&P->gates, name.text, name.len);
	/* A program may redefine a gate of the built-in library (files written
	 * for the old 95-line qelib1.inc define their own swap, rzz, ...):
	 * its definition then replaces the built-in one. */
	if (old && !(old->builtin && !P->lx->builtin))
		return qasm_perr(P, &name, "gate '%.*s' is already defined at "
				 "%s:%u:%u", (int)name.len, name.text, old->file,
				 old->line, old->col);
	g = qasm_arena_alloc(P->arena, sizeof(*g));
	if (!g)
		return qasm_perr(P, NULL, "out of memory");
	memset(g, 0, sizeof(*g));
	g->name = qasm_arena_strndup(P->arena, name.text, name.len);
	if (!g->name)
		return qasm_perr(P, NULL, "out of memory");
	g->name_len = name.len;
	g->opaque = opaque;
	g->builtin = P->lx->builtin;
	g->file = P->lx->file;
	g->line = name.line;
	g->col = name.col;
	qasm_next(P);
	if (P->tok.kind == TOK_LPAREN) {
		qasm_next(P);
		if (P->tok.kind != TOK_RPAREN &&
		    parse_id_list(P, &g->param_names, &g->nparams,
				  "a parameter name", QASM_MAX_GATE_PARAMS))
			return -EINVAL;
		if (expect(P, TOK_RPAREN, "',' or ')' in the parameter list"))
			return -EINVAL;
	}
	if (parse_id_list(P, &g->qubit_names, &g->nqubits,
			  "a qubit argument name", QASM_MAX_QUBITS))
		return -EINVAL;
	if (opaque) {
		if (expect(P, TOK_SEMI, "';' after the opaque declaration"))
			return -EINVAL;
	} else {
		if (expect(P, TOK_LBRACE, "'{' to start the gate body"))
			return -EINVAL;
		P->defining = g;
		while (P->tok.kind != TOK_RBRACE) {
			if (P->tok.kind == TOK_EOF) {
				P->defining = NULL;
				return qasm_perr(P, NULL, "end of file inside the "
						 "body of gate '%s': expected '}'",
						 g->name);
			}
			if (nbody == cap) {
				struct qasm_gcall *n;

				cap = cap ? cap * 2 : 16;
				n = qasm_arena_alloc(P->arena, cap * sizeof(*n));
				if (!n) {
					P->defining = NULL;
					return qasm_perr(P, NULL, "out of memory");
				}
				if (nbody)
					memcpy(n, body, nbody * sizeof(*n));
				body = n;
			}
			if (parse_body_stmt(P, g, &body[nbody])) {
				P->defining = NULL;
				return -EINVAL;
			}
			if (body[nbody].kind)
				nbody++;
		}
		P->defining = NULL;
		qasm_next(P);
		g->body = body;
		g->nbody = nbody;
		if (g->builtin)
			g->native = qasm_qelib1_native(g->name);
	}
	if (qasm_symtab_put(&P->gates, g->name, g->name_len, g))
		return qasm_perr(P, &name, "out of memory");
	return 0;
}

/* ---- top-level statements ---- */

/* A qubit or bit argument: reg or reg[index]. */
struct stmt_arg {
	struct qasm_token tok;        /* the register name */
	const struct qasm_reg *reg;
	int64_t index;                /* -1: whole register */
};

static int parse_arg(struct qasm_parser *P, bool quantum, struct stmt_arg *a)
{
	struct qasm_reg_ref *ref;

	a->tok = P->tok;
	if (P->tok.kind != TOK_ID)
		return perr_found(P, quantum ? "a quantum register or qubit"
					     : "a classical register or bit");
	ref = qasm_symtab_get(&P->regs, P->tok.text, P->tok.len);
	if (!ref || ref->quantum != quantum) {
		const struct qasm_reg *regs = quantum ? P->c->qregs : P->c->cregs;
		uint32_t n = quantum ? P->c->nqregs : P->c->ncregs;
		char list[256];
		size_t len = 0;

		if (ref)
			return qasm_perr(P, &P->tok, "'%.*s' is a %s register, "
					 "expected a %s register", (int)P->tok.len,
					 P->tok.text,
					 quantum ? "classical" : "quantum",
					 quantum ? "quantum" : "classical");
		list[0] = '\0';
		for (uint32_t i = 0; i < n && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", i ? ", " : "", regs[i].name);
		return qasm_perr(P, &P->tok, "undeclared %s register '%.*s' "
				 "(declared %s registers: %s)",
				 quantum ? "quantum" : "classical",
				 (int)P->tok.len, P->tok.text,
				 quantum ? "quantum" : "classical",
				 n ? list : "none");
	}
	a->reg = quantum ? &P->c->qregs[ref->index] : &P->c->cregs[ref->index];
	a->index = -1;
	qasm_next(P);
	if (P->tok.kind == TOK_LBRACKET) {
		struct qasm_token idx;

		qasm_next(P);
		idx = P->tok;
		if (idx.kind != TOK_INT)
			return perr_found(P, "an integer index");
		if (idx.ival >= a->reg->size)
			return qasm_perr(P, &idx, "index %llu is out of range for "
					 "register '%s' of size %u",
					 (unsigned long long)idx.ival,
					 a->reg->name, a->reg->size);
		a->index = (int64_t)idx.ival;
		qasm_next(P);
		if (expect(P, TOK_RBRACKET, "']' after the index"))
			return -EINVAL;
	}
	return 0;
}

/* Parse a comma-separated argument list into @args (scratch). */
static int parse_args(struct qasm_parser *P, struct stmt_arg *args,
		      unsigned *n)
{
	*n = 0;
	for (;;) {
		if (*n == QASM_MAX_STMT_ARGS)
			return qasm_perr(P, NULL, "too many arguments (at most %d)",
					 QASM_MAX_STMT_ARGS);
		if (parse_arg(P, true, &args[*n]))
			return -EINVAL;
		(*n)++;
		if (P->tok.kind != TOK_COMMA)
			return 0;
		qasm_next(P);
	}
}

/*
 * Broadcast: the number of applications, or 0 after an error. Whole
 * registers must all have the same size; single qubits repeat.
 */
static uint32_t broadcast_count(struct qasm_parser *P,
				const struct stmt_arg *args, unsigned n)
{
	const struct stmt_arg *first = NULL;

	for (unsigned i = 0; i < n; i++) {
		if (args[i].index >= 0)
			continue;
		if (first && first->reg->size != args[i].reg->size) {
			qasm_perr(P, &args[i].tok, "register '%s' has %u elements "
				  "but '%s' has %u: registers in one statement "
				  "must have equal sizes", args[i].reg->name,
				  args[i].reg->size, first->reg->name,
				  first->reg->size);
			return 0;
		}
		if (!first)
			first = &args[i];
	}
	return first ? first->reg->size : 1;
}

static uint32_t arg_at(const struct stmt_arg *a, uint32_t i)
{
	return a->reg->offset + (uint32_t)(a->index >= 0 ? a->index : i);
}

/* Distinct qubits in one application; report at the repeated argument.
 * @what: "U", "CX" or a gate name, quoted when @quote. */
static int check_distinct(struct qasm_parser *P, const struct stmt_arg *args,
			  const uint32_t *q, unsigned n, const char *what,
			  bool quote)
{
	const char *qt = quote ? "'" : "";

	for (unsigned i = 1; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (q[i] == q[j])
				return qasm_perr(P, &args[i].tok, "qubit %s[%u] "
						 "is used twice in one application "
						 "of %s%s%s", args[i].reg->name,
						 q[i] - args[i].reg->offset, qt,
						 what, qt);
	return 0;
}

/* Where the statement being expanded starts, for expansion errors. */
static void set_stmt(struct qasm_parser *P, const struct qasm_token *t,
		     const char *gate)
{
	P->stmt_file = P->lx->file;
	P->stmt_line = t->line;
	P->stmt_col = t->col;
	P->stmt_gate = gate;
}

/* A gate application, U or CX (current token), with condition @cond. */
static int parse_gate_stmt(struct qasm_parser *P, uint32_t cond)
{
	struct qasm_token start = P->tok;
	struct qasm_expr *pexpr[QASM_MAX_GATE_PARAMS];
	double params[QASM_MAX_GATE_PARAMS];
	struct stmt_arg *args;
	uint32_t q[QASM_MAX_STMT_ARGS];
	uint16_t np = 0;
	unsigned nargs, want_p, want_q;
	const struct qasm_gate *g = NULL;
	const char *what;
	uint32_t count;

	if (start.kind == TOK_U) {
		want_p = 3;
		want_q = 1;
		what = "U";
	} else if (start.kind == TOK_CX) {
		want_p = 0;
		want_q = 2;
		what = "CX";
	} else {
		g = qasm_symtab_get(&P->gates, start.text, start.len);
		if (!g)
			return unknown_gate(P, &start);
		want_p = g->nparams;
		want_q = g->nqubits;
		what = g->name;
	}
	qasm_next(P);
	/* A template keeps the expressions of applications that use its
	 * parameters: they live as long as the template (P->arena). */
	if (P->tok.kind == TOK_LPAREN &&
	    parse_call_params(P, P->tpl ? P->arena : P->scratch, pexpr, &np))
		return -EINVAL;
	args = qasm_arena_alloc(P->scratch, QASM_MAX_STMT_ARGS * sizeof(*args));
	if (!args)
		return qasm_perr(P, NULL, "out of memory");
	if (parse_args(P, args, &nargs) ||
	    expect(P, TOK_SEMI, "',' or ';' after the arguments"))
		return -EINVAL;
	if (g) {
		if (check_arity(P, &start, g, np, nargs))
			return -EINVAL;
	} else if (np != want_p || nargs != want_q) {
		return qasm_perr(P, &start, "%s takes %u parameter%s and %u "
				 "qubit%s, got %u and %u", what, want_p,
				 want_p == 1 ? "" : "s", want_q,
				 want_q == 1 ? "" : "s", np, nargs);
	}
	bool bound_later = false;
	for (unsigned i = 0; i < np; i++)
		bound_later |= pexpr[i]->kind != EXPR_NUM;
	for (unsigned i = 0; i < np && !bound_later; i++) {
		params[i] = pexpr[i]->val;  /* folded: no names left */
		if (!isfinite(params[i]))
			return qasm_perr(P, &start, "parameter %u of %s%s%s is not "
					 "a finite number (%s)", i + 1,
					 g ? "'" : "", what, g ? "'" : "",
					 isnan(params[i]) ? "NaN" :
					 params[i] > 0 ? "inf" : "-inf");
	}
	count = broadcast_count(P, args, nargs);
	if (!count)
		return -EINVAL;
	set_stmt(P, &start, what);
	for (uint32_t i = 0; i < count; i++) {
		int rc;

		for (unsigned k = 0; k < nargs; k++)
			q[k] = arg_at(&args[k], i);
		if (check_distinct(P, args, q, nargs, what, g != NULL))
			return -EINVAL;
		if (bound_later)
			rc = qasm_tpl_record(P, g, pexpr, np, q, nargs, cond);
		else if (!g)
			rc = want_q == 1 ? qasm_apply_u(P, params, q[0], cond)
					 : qasm_apply_cx(P, q[0], q[1], cond);
		else
			rc = qasm_apply_gate(P, g, params, q, cond);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_simple_op(struct qasm_parser *P, uint8_t kind, uint32_t q,
			 uint32_t clbit, uint32_t cond)
{
	struct qasm_op op;
	int rc;

	memset(&op, 0, sizeof(op));
	op.kind = kind;
	op.cond = cond;
	op.q[0] = q;
	op.clbit = clbit;
	rc = qasm_circuit_add_op(P->c, &op, NULL, 0);
	if (rc)
		return qasm_perr(P, NULL, "%s", rc == -E2BIG ?
				 "circuit too large: too many operations" :
				 "out of memory");
	return 0;
}

static int parse_measure(struct qasm_parser *P, uint32_t cond)
{
	struct stmt_arg qa, ca;

	qasm_next(P);
	if (parse_arg(P, true, &qa))
		return -EINVAL;
	if (expect(P, TOK_ARROW, "'->' after the measured qubits") ||
	    parse_arg(P, false, &ca) ||
	    expect(P, TOK_SEMI, "';' after the measure statement"))
		return -EINVAL;
	if ((qa.index < 0) != (ca.index < 0))
		return qasm_perr(P, &ca.tok, "measure needs a qubit and a bit, "
				 "or two registers: '%s%s' -> '%s%s'",
				 qa.reg->name, qa.index < 0 ? "" : "[i]",
				 ca.reg->name, ca.index < 0 ? "" : "[i]");
	if (qa.index < 0 && qa.reg->size != ca.reg->size)
		return qasm_perr(P, &ca.tok, "measure: register '%s' has %u "
				 "qubits but '%s' has %u bits: sizes must match",
				 qa.reg->name, qa.reg->size, ca.reg->name,
				 ca.reg->size);
	uint32_t n = qa.index < 0 ? qa.reg->size : 1;

	for (uint32_t i = 0; i < n; i++)
		if (add_simple_op(P, QASM_OP_MEASURE, arg_at(&qa, i),
				  arg_at(&ca, i), cond))
			return -EINVAL;
	return 0;
}

static int parse_reset(struct qasm_parser *P, uint32_t cond)
{
	struct stmt_arg a;

	qasm_next(P);
	if (parse_arg(P, true, &a) ||
	    expect(P, TOK_SEMI, "';' after the reset statement"))
		return -EINVAL;
	uint32_t n = a.index < 0 ? a.reg->size : 1;

	for (uint32_t i = 0; i < n; i++)
		if (add_simple_op(P, QASM_OP_RESET, arg_at(&a, i), 0, cond))
			return -EINVAL;
	return 0;
}

static int parse_barrier(struct qasm_parser *P)
{
	struct stmt_arg *args;
	unsigned n;

	qasm_next(P);
	args = qasm_arena_alloc(P->scratch, QASM_MAX_STMT_ARGS * sizeof(*args));
	if (!args)
		return qasm_perr(P, NULL, "out of memory");
	if (parse_args(P, args, &n) ||
	    expect(P, TOK_SEMI, "',' or ';' after the barrier arguments"))
		return -EINVAL;
	/* A barrier only orders operations; the simulator needs nothing. */
	return 0;
}

static int parse_quantum_op(struct qasm_parser *P, uint32_t cond)
{
	switch (P->tok.kind) {
	case TOK_MEASURE:
		return parse_measure(P, cond);
	case TOK_RESET:
		return parse_reset(P, cond);
	case TOK_U:
	case TOK_CX:
	case TOK_ID:
		return parse_gate_stmt(P, cond);
	default:
		return perr_found(P, "a gate application, measure or reset "
				  "after the if condition");
	}
}

static int parse_if(struct qasm_parser *P)
{
	struct qasm_token name, val;
	struct qasm_reg_ref *ref;
	uint32_t cond;

	qasm_next(P);
	if (expect(P, TOK_LPAREN, "'(' after 'if'"))
		return -EINVAL;
	name = P->tok;
	if (name.kind != TOK_ID)
		return perr_found(P, "a classical register name in the if "
				  "condition");
	ref = qasm_symtab_get(&P->regs, name.text, name.len);
	if (!ref)
		return qasm_perr(P, &name, "undeclared classical register '%.*s' "
				 "in the if condition", (int)name.len, name.text);
	if (ref->quantum)
		return qasm_perr(P, &name, "'%.*s' is a quantum register: if "
				 "compares a classical register", (int)name.len,
				 name.text);
	qasm_next(P);
	if (P->tok.kind == TOK_LBRACKET)
		return qasm_perr(P, NULL, "if compares a whole classical register "
				 "in OpenQASM 2.0, not a single bit");
	if (expect(P, TOK_EQEQ, "'==' in the if condition"))
		return -EINVAL;
	val = P->tok;
	if (val.kind != TOK_INT)
		return perr_found(P, "a non-negative integer in the if condition");
	qasm_next(P);
	if (expect(P, TOK_RPAREN, "')' to close the if condition"))
		return -EINVAL;
	if (P->tok.kind == TOK_BARRIER || P->tok.kind == TOK_IF)
		return perr_found(P, "a gate application, measure or reset after "
				  "the if condition");
	if (qasm_circuit_add_cond(P->c, ref->index, val.ival, &cond))
		return qasm_perr(P, NULL, "out of memory");
	return parse_quantum_op(P, cond);
}

/* Program files larger than this are refused (the largest circuits of the
 * usual corpora are a few MiB). */
#define QASM_MAX_FILE_SIZE ((off_t)1 << 30)

/*
 * Read a whole program file. Only regular files: the open cannot block (a
 * FIFO opened O_NONBLOCK for reading returns at once) and a FIFO, device,
 * socket or directory is refused with -EINVAL before anything is read, so
 * `include "/dev/zero"` or a FIFO neither hangs nor reads as an empty file.
 * Sets *@what to a description of a refused file's type.
 */
static int read_whole_file(const char *path, char **buf, size_t *len,
			   const char **what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *b;
	size_t got = 0;

	*what = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		*what = S_ISDIR(st.st_mode) ? "a directory" :
			S_ISFIFO(st.st_mode) ? "a FIFO" :
			S_ISCHR(st.st_mode) ? "a character device" :
			S_ISBLK(st.st_mode) ? "a block device" :
			S_ISSOCK(st.st_mode) ? "a socket" : "not a regular file";
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (st.st_size > QASM_MAX_FILE_SIZE) {
		close(fd);
		return -EFBIG;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? -errno : -EIO;

			free(b);
			close(fd);
			return e;
		}
		got += (size_t)r;
	}
	close(fd);
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}

/* Why read_whole_file() failed, for messages. */
static const char *read_error(int rc, const char *what)
{
	if (what)
		return what;
	if (rc == -EFBIG)
		return "larger than 1 GiB";
	return strerror(-rc);
}

/*
 * The built-in library, parsed once per process. Parsing qelib1.inc's text
 * took about 22 us of the 28 us a one-qubit job spent before simulating
 * (release build, this repository's 2-vCPU machine): each service job and
 * each template parse paid it. The definitions do not depend on the
 * program that includes them (their bodies bind only to gates of the
 * library, which precede any of the program's), and nothing writes to a
 * gate after its definition, so every parser shares one immutable copy:
 * `include "qelib1.inc";` then enters its ~45 names into the parser's
 * table. Its arena lives until the process ends (templates point into it).
 */
static struct {
	pthread_once_t once;
	struct qasm_arena *arena;
	struct qasm_symtab gates;
	int rc;
} lib_cache = { .once = PTHREAD_ONCE_INIT };

static void lib_build(void)
{
	struct qasm_parser L;
	struct rt_error err;
	int rc = -ENOMEM;

	memset(&L, 0, sizeof(L));
	rt_error_clear(&err);
	L.err = &err;
	L.max_gates = QASM_DEFAULT_MAX_GATES;
	L.c = qasm_circuit_new("qelib1.inc");
	L.arena = qasm_arena_new();
	L.scratch = qasm_arena_new();
	if (L.c && L.arena && L.scratch)
		rc = qasm_parse_source(&L, "qelib1.inc", qasm_qelib1_source,
				       strlen(qasm_qelib1_source), false, true);
	qasm_circuit_free(L.c);
	qasm_arena_free(L.scratch);
	if (rc) {
		/* not expected (the tests parse the library): the callers
		 * parse the text themselves and report what it says */
		qasm_symtab_free(&L.gates);
		qasm_arena_free(L.arena);
		lib_cache.rc = rc;
		return;
	}
	lib_cache.arena = L.arena;
	lib_cache.gates = L.gates;
}

/* Enters the shared library's gates into P's table: 0, or 1 when P must
 * parse the text itself (no cache, or the program already defined one of
 * the library's names: the text's parse reports that as it always did),
 * or a negative errno. */
static int lib_share(struct qasm_parser *P)
{
	const struct qasm_symtab *t = &lib_cache.gates;

	if (pthread_once(&lib_cache.once, lib_build) || lib_cache.rc)
		return 1;
	if (P->gates.count == 0) {
		/* the common case, the include first: copy the table whole */
		struct qasm_sym *n = malloc(t->cap * sizeof(*n));

		if (!n)
			return qasm_perr(P, NULL, "out of memory");
		memcpy(n, t->slots, t->cap * sizeof(*n));
		free(P->gates.slots);
		P->gates.slots = n;
		P->gates.cap = t->cap;
		P->gates.count = t->count;
		return 0;
	}
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->slots[i].name &&
		    qasm_symtab_get(&P->gates, t->slots[i].name,
				    t->slots[i].len))
			return 1;
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->slots[i].name &&
		    qasm_symtab_put(&P->gates, t->slots[i].name,
				    t->slots[i].len, t->slots[i].value))
			return qasm_perr(P, NULL, "out of memory");
	return 0;
}

static int parse_include(struct qasm_parser *P)
{
	struct qasm_token start = P->tok, path;
	char *rel, *full, *buf;
	const char *what;
	size_t len;
	int rc;

	qasm_next(P);
	path = P->tok;
	if (path.kind != TOK_STRING)
		return perr_found(P, "a file name in double quotes after 'include'");
	qasm_next(P);
	if (expect(P, TOK_SEMI, "';' after the include statement"))
		return -EINVAL;
	rel = qasm_arena_strndup(P->arena, path.text + 1, path.len - 2);
	if (!rel)
		return qasm_perr(P, NULL, "out of memory");
	if (strcmp(rel, "qelib1.inc") == 0) {
		if (P->qelib1_loaded)
			return 0;
		P->qelib1_loaded = true;
		if (!(P->flags & QASM_PARSE_NO_LIB_CACHE) &&
		    (rc = lib_share(P)) <= 0)
			return rc;
		return qasm_parse_source(P, "qelib1.inc", qasm_qelib1_source,
					 strlen(qasm_qelib1_source), false, true);
	}
	if (P->include_depth >= QASM_MAX_INCLUDE_DEPTH)
		return qasm_perr(P, &start, "includes nested more than %d deep: "
				 "does '%s' include itself?",
				 QASM_MAX_INCLUDE_DEPTH, rel);
	if (rel[0] == '/') {
		full = rel;
	} else {
		const char *cur = P->lx->file, *slash = strrchr(cur, '/');
		size_t dlen = slash ? (size_t)(slash - cur + 1) : 0;

		full = qasm_arena_alloc(P->arena, dlen + strlen(rel) + 1);
		if (!full)
			return qasm_perr(P, NULL, "out of memory");
		memcpy(full, cur, dlen);
		strcpy(full + dlen, rel);
	}
	rc = read_whole_file(full, &buf, &len, &what);
	if (rc && what)
		return qasm_perr(P, &path, "include file '%s' (looked for '%s') "
				 "is %s, not a regular file", rel, full, what);
	if (rc)
		return qasm_perr(P, &path, "cannot read include file '%s' (looked "
				 "for '%s'): %s", rel, full, read_error(rc, what));
	rc = qasm_parse_source(P, full, buf, len, false, false);
	free(buf);
	return rc;
}

static int parse_header(struct qasm_parser *P)
{
	struct qasm_token ver;

	qasm_next(P);
	ver = P->tok;
	if (ver.kind != TOK_REAL && ver.kind != TOK_INT)
		return perr_found(P, "a version number after 'OPENQASM'");
	if (ver.rval != 2.0)
		return qasm_perr(P, &ver, "unsupported OpenQASM version '%.*s': "
				 "this front end reads OpenQASM 2.0",
				 (int)ver.len, ver.text);
	qasm_next(P);
	return expect(P, TOK_SEMI, "';' after 'OPENQASM 2.0'");
}

static int parse_statement(struct qasm_parser *P)
{
	qasm_arena_reset(P->scratch);
	switch (P->tok.kind) {
	case TOK_QREG:
		return parse_reg_decl(P, true);
	case TOK_CREG:
		return parse_reg_decl(P, false);
	case TOK_GATE:
		return parse_gate_decl(P, false);
	case TOK_OPAQUE:
		return parse_gate_decl(P, true);
	case TOK_INCLUDE:
		return parse_include(P);
	case TOK_BARRIER:
		return parse_barrier(P);
	case TOK_IF:
		return parse_if(P);
	case TOK_MEASURE:
	case TOK_RESET:
	case TOK_U:
	case TOK_CX:
	case TOK_ID:
		/* `param a, b;` declares a template's parameters (only when
		 * parsing a template, and only if no gate is named param). */
		if (P->tpl && P->tok.len == 5 &&
		    !memcmp(P->tok.text, "param", 5) &&
		    !qasm_symtab_get(&P->gates, "param", 5))
			return qasm_tpl_parse_param_decl(P);
		return parse_quantum_op(P, 0);
	case TOK_OPENQASM:
		return qasm_perr(P, NULL, "'OPENQASM' may appear only once, as "
				 "the first statement of the program");
	case TOK_ERROR:
		return -EINVAL;
	default:
		return perr_found(P, "a statement (qreg, creg, gate, opaque, "
				  "include, barrier, measure, reset, if, or a gate "
				  "application)");
	}
}

int qasm_parse_source(struct qasm_parser *P, const char *file,
		      const char *buf, size_t len, bool main_file,
		      bool builtin)
{
	struct qasm_lexer lx, *saved_lx = P->lx;
	struct qasm_token saved_tok = P->tok;
	const char *fname = qasm_arena_strndup(P->arena, file, strlen(file));
	int rc = 0;

	if (!fname)
		return qasm_perr(P, NULL, "out of memory");
	qasm_lex_init(&lx, fname, buf, len, P->err);
	lx.builtin = builtin;
	P->lx = &lx;
	P->include_depth++;
	qasm_next(P);
	if (P->tok.kind == TOK_OPENQASM) {
		rc = parse_header(P);
	} else if (main_file) {
		char d[64];

		if (P->tok.kind != TOK_ERROR)
			qasm_perr(P, NULL, "missing 'OPENQASM 2.0;' header: "
				  "expected it as the first statement, found %s",
				  qasm_tok_describe(&P->tok, d, sizeof(d)));
		rc = -EINVAL;
	}
	while (rc == 0 && P->tok.kind != TOK_EOF)
		rc = parse_statement(P);
	if (rc && P->err && P->err->code == 0)
		qasm_perr(P, NULL, "invalid program");  /* not expected */
	P->include_depth--;
	P->lx = saved_lx;
	P->tok = saved_tok;
	return rc ? (P->err && P->err->code ? P->err->code : rc) : 0;
}

static uint64_t fnv1a64(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Parse @text, which has a NUL at text[len]. With @tpl (a template), the
 * circuit is left unfused and the arena (gate definitions, the recorded
 * expressions) goes to *@keep. */
static int parse_buffer(const char *name, const char *text, size_t len,
			const struct qasm_parse_opts *o,
			struct qasm_circuit **out, struct rt_error *err,
			struct qasm_template *tpl, struct qasm_arena **keep)
{
	struct qasm_parser P;
	unsigned flags = o->flags;
	int rc;

	if (flags & ~QASM_PARSE_FLAGS_ALL)
		return rt_error_set(err, -EINVAL, "%s: error: unknown parse "
				    "flags 0x%x", name, flags & ~QASM_PARSE_FLAGS_ALL);
	memset(&P, 0, sizeof(P));
	P.tpl = tpl;
	P.err = err;
	P.flags = flags;
	P.max_gates = o->max_gates ? o->max_gates : QASM_DEFAULT_MAX_GATES;
	P.c = qasm_circuit_new(name);
	P.arena = qasm_arena_new();
	P.scratch = qasm_arena_new();
	if (!P.c || !P.arena || !P.scratch) {
		rc = rt_error_set(err, -ENOMEM, "%s: error: out of memory", name);
		goto out;
	}
	P.c->source_hash = fnv1a64(text, len);
	rc = qasm_parse_source(&P, name, text, len, true, false);
	if (rc == 0 && !tpl && !(flags & QASM_PARSE_NO_FUSE)) {
		rc = qasm_circuit_fuse(P.c);
		if (rc)
			rt_error_set(err, rc, "%s: error: out of memory", name);
	}
out:
	qasm_symtab_free(&P.gates);
	qasm_symtab_free(&P.regs);
	if (rc == 0 && keep) {
		*keep = P.arena;
		P.arena = NULL;
	}
	qasm_arena_free(P.arena);
	qasm_arena_free(P.scratch);
	if (rc) {
		qasm_circuit_free(P.c);
		return rc;
	}
	*out = P.c;
	return 0;
}

int qasm_parse_string_opts(const char *name, const char *text, size_t len,
			   const struct qasm_parse_opts *o,
			   struct qasm_circuit **out, struct rt_error *err)
{
	static const struct qasm_parse_opts defaults;
	struct rt_error local;
	char *copy;
	int rc;

	*out = NULL;
	if (!err)
		err = &local;
	rt_error_clear(err);
	/* The lexer needs a NUL after the text, which callers need not have. */
	copy = malloc(len + 1);
	if (!copy)
		return rt_error_set(err, -ENOMEM, "%s: error: out of memory",
				    name);
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = parse_buffer(name, copy, len, o ? o : &defaults, out, err,
			  NULL, NULL);
	free(copy);
	return rc;
}

int qasm_parse_template_text(const char *name, const char *text, size_t len,
			     const struct qasm_parse_opts *o,
			     struct qasm_template *tpl,
			     struct qasm_circuit **out,
			     struct qasm_arena **arena, struct rt_error *err)
{
	static const struct qasm_parse_opts defaults;
	char *copy;
	int rc;

	*out = NULL;
	rt_error_clear(err);
	copy = malloc(len + 1);
	if (!copy)
		return rt_error_set(err, -ENOMEM, "%s: error: out of memory",
				    name);
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = parse_buffer(name, copy, len, o ? o : &defaults, out, err, tpl,
			  arena);
	free(copy);
	return rc;
}

int qasm_parse_string(const char *name, const char *text, size_t len,
		      unsigned flags, struct qasm_circuit **out,
		      struct rt_error *err)
{
	struct qasm_parse_opts o = { .flags = flags };

	return qasm_parse_string_opts(name, text, len, &o, out, err);
}

int qasm_parse_file_opts(const char *path, const struct qasm_parse_opts *o,
			 struct qasm_circuit **out, struct rt_error *err)
{
	static const struct qasm_parse_opts defaults;
	struct rt_error local;
	const char *what;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	rt_error_clear(err);
	rt_error_clear(&local);
	rc = read_whole_file(path, &buf, &len, &what);
	if (rc && what)
		return rt_error_set(err, rc, "%s: error: %s, not a regular "
				    "file", path, what);
	if (rc)
		return rt_error_set(err, rc, "%s: error: cannot read the file: %s",
				    path, read_error(rc, what));
	rc = parse_buffer(path, buf, len, o ? o : &defaults, out,
			  err ? err : &local, NULL, NULL);
	free(buf);
	return rc;
}

int qasm_parse_file(const char *path, unsigned flags,
		    struct qasm_circuit **out, struct rt_error *err)
{
	struct qasm_parse_opts o = { .flags = flags };

	return qasm_parse_file_opts(path, &o, out, err);
}
