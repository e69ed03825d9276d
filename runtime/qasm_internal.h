/*
 * qasm_internal.h - private to the qasm_*.c files: arena, lexer, expression
 * trees, gate definitions, symbol tables, the parser state and the
 * operation sinks the expander writes to. Not for use outside runtime/.
 */
#ifndef QSHM_QASM_INTERNAL_H
#define QSHM_QASM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qasm.h"

/* ---- arena: bump allocation, freed all at once (qasm_arena.c) ---- */

struct qasm_arena;

struct qasm_arena *qasm_arena_new(void);
void qasm_arena_free(struct qasm_arena *a);
/* 16-byte aligned, uninitialised; NULL when out of memory. */
void *qasm_arena_alloc(struct qasm_arena *a, size_t size);
/* Copy of @len bytes of @s, NUL-terminated. */
char *qasm_arena_strndup(struct qasm_arena *a, const char *s, size_t len);
/* Forget every allocation but keep the memory (per-statement scratch). */
void qasm_arena_reset(struct qasm_arena *a);

/* ---- lexer (qasm_lex.c) ---- */

enum qasm_tok {
	TOK_EOF = 0,
	TOK_ID, TOK_INT, TOK_REAL, TOK_STRING,
	TOK_SEMI, TOK_COMMA, TOK_LBRACKET, TOK_RBRACKET, TOK_LPAREN,
	TOK_RPAREN, TOK_LBRACE, TOK_RBRACE, TOK_ARROW, TOK_EQEQ,
	TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH, TOK_CARET,
	/* keywords */
	TOK_OPENQASM, TOK_INCLUDE, TOK_QREG, TOK_CREG, TOK_GATE, TOK_OPAQUE,
	TOK_BARRIER, TOK_MEASURE, TOK_RESET, TOK_IF, TOK_PI, TOK_U, TOK_CX,
	TOK_SIN, TOK_COS, TOK_TAN, TOK_EXP, TOK_LN, TOK_SQRT,
	TOK_ERROR, /* the lexer already wrote an error */
};

struct qasm_token {
	enum qasm_tok kind;
	const char *text;   /* into the source buffer */
	uint32_t len;
	uint32_t line, col; /* 1-based; col counts bytes */
	uint64_t ival;      /* TOK_INT */
	double rval;        /* TOK_INT and TOK_REAL */
};

struct qasm_lexer {
	const char *file;     /* name used in messages */
	const char *p, *end;  /* buffer must have a NUL at end */
	const char *line_start;
	uint32_t line;
	bool builtin;         /* the built-in library: allows '_' in names */
	struct rt_error *err;
};

void qasm_lex_init(struct qasm_lexer *lx, const char *file, const char *buf,
		   size_t len, struct rt_error *err);
/* Scan the next token into @t; TOK_ERROR after writing lx->err. */
void qasm_lex_next(struct qasm_lexer *lx, struct qasm_token *t);
/* Human-readable description of a token for messages ("';'", "'foo'", ...). */
const char *qasm_tok_describe(const struct qasm_token *t, char *buf,
			      size_t len);
const char *qasm_tok_name(enum qasm_tok k);

/* ---- expressions (qasm_expr.c) ---- */

enum qasm_expr_kind {
	EXPR_NUM, EXPR_PARAM, EXPR_NEG,
	EXPR_ADD, EXPR_SUB, EXPR_MUL, EXPR_DIV, EXPR_POW,
	EXPR_SIN, EXPR_COS, EXPR_TAN, EXPR_EXP, EXPR_LN, EXPR_SQRT,
};

struct qasm_expr {
	uint8_t kind;
	uint16_t depth;           /* of the tree below (1 for a leaf) */
	uint32_t param;           /* EXPR_PARAM: index of the gate parameter */
	double val;               /* EXPR_NUM */
	struct qasm_expr *a, *b;  /* operands */
};

double qasm_expr_eval(const struct qasm_expr *e, const double *params);
/* Number of nodes of @e (its depth is bounded by QASM_MAX_EXPR_DEPTH). */
uint32_t qasm_expr_nodes(const struct qasm_expr *e);

/* ---- gate definitions ---- */

enum qasm_gcall_kind { GCALL_U = 1, GCALL_CX, GCALL_GATE };

struct qasm_gate;

/* One statement of a gate body. */
struct qasm_gcall {
	uint8_t kind;
	uint16_t nparams, nargs;
	uint32_t cost;                  /* expression nodes in params */
	const struct qasm_gate *gate;   /* GCALL_GATE */
	struct qasm_expr **params;
	uint16_t *args;                 /* indices of the gate's qubit arguments */
};

struct qasm_sink;

/* A native implementation of a built-in gate: emits its operations. */
typedef int (*qasm_native_fn)(struct qasm_sink *s, const double *params,
			      const uint32_t *qubits);

struct qasm_gate {
	const char *name;
	uint32_t name_len;
	uint16_t nparams, nqubits;
	const char **param_names;
	const char **qubit_names;
	uint32_t nbody;
	struct qasm_gcall *body;
	bool opaque;
	bool builtin;                /* from the built-in qelib1.inc */
	qasm_native_fn native;       /* NULL: inline the body */
	const char *file;            /* where it was defined */
	uint32_t line, col;
};

/* ---- symbol tables: name -> pointer, open addressing (qasm_parse.c) ---- */

struct qasm_sym {
	const char *name;
	uint32_t len;
	uint32_t hash;
	void *value;
};

struct qasm_symtab {
	struct qasm_sym *slots;
	uint32_t cap, count;  /* cap is a power of two */
};

/* ---- sinks: where expanded operations go ---- */

struct qasm_sink {
	/* 2x2 on @t where all qubits of @ctrl are 1; returns 0 or -errno */
	int (*gate1)(struct qasm_sink *s, uint32_t t, uint64_t ctrl,
		     const double m[8]);
	/* 4x4 on (q0, q1) where all qubits of @ctrl are 1 */
	int (*gate2)(struct qasm_sink *s, uint32_t q0, uint32_t q1,
		     uint64_t ctrl, const double m[32]);
};

/* ---- parser state ---- */

struct qasm_parser {
	struct qasm_circuit *c;
	struct rt_error *err;
	unsigned flags;
	struct qasm_lexer *lx;
	struct qasm_token tok;        /* current token */
	struct qasm_arena *arena;     /* gate definitions, file names */
	struct qasm_arena *scratch;   /* per statement */
	struct qasm_symtab gates;
	struct qasm_symtab regs;      /* value: struct qasm_reg_ref * */
	unsigned include_depth;
	unsigned expr_depth;          /* recursion of the expression parser */
	uint64_t max_gates;           /* budget of gate applications */
	uint64_t ngates;              /* applied so far while planning */
	uint64_t nevals;              /* expression nodes evaluated so far */
	bool qelib1_loaded;
	/* while parsing a gate definition: */
	const struct qasm_gate *defining;
	/* a template (qasm_template_parse): top-level `param` names, and the
	 * gate applications that use them, recorded instead of expanded */
	struct qasm_template *tpl;
	/* while expanding a top-level statement: for messages */
	const char *stmt_file;
	uint32_t stmt_line, stmt_col;
	const char *stmt_gate;
};

/* A register as the symbol table sees it. */
struct qasm_reg_ref {
	bool quantum;
	uint32_t index;     /* into c->qregs or c->cregs */
	const char *file;   /* declaration site */
	uint32_t line, col;
};

/* qasm_parse.c */
int qasm_perr(struct qasm_parser *P, const struct qasm_token *at,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *qasm_symtab_get(const struct qasm_symtab *t, const char *name,
		      uint32_t len);
int qasm_symtab_put(struct qasm_symtab *t, const char *name, uint32_t len,
		    void *value);
void qasm_symtab_free(struct qasm_symtab *t);
int qasm_parse_source(struct qasm_parser *P, const char *file,
		      const char *buf, size_t len, bool main_file,
		      bool builtin);

/* qasm_expr.c: parse an expression at P->tok; parameters resolve against
 * P->defining (NULL at top level). Returns NULL after reporting. */
struct qasm_expr *qasm_parse_expr(struct qasm_parser *P,
				  struct qasm_arena *arena);
void qasm_next(struct qasm_parser *P);

/* qasm_expand.c */
int qasm_apply_gate(struct qasm_parser *P, const struct qasm_gate *g,
		    const double *params, const uint32_t *qubits,
		    uint32_t cond);
int qasm_apply_u(struct qasm_parser *P, const double *params, uint32_t q,
		 uint32_t cond);
int qasm_apply_cx(struct qasm_parser *P, uint32_t c, uint32_t t,
		  uint32_t cond);

/* qasm_circuit.c */
struct qasm_circuit *qasm_circuit_new(const char *name);
int qasm_circuit_add_op(struct qasm_circuit *c, const struct qasm_op *op,
			const double *mat, size_t nmat);
int qasm_circuit_add_cond(struct qasm_circuit *c, uint32_t creg,
			  uint64_t value, uint32_t *index);
enum qasm_mat_shape qasm_mat2_shape(double m[8]);
enum qasm_mat_shape qasm_mat4_shape(double m[32]);
bool qasm_mat2_is_identity(const double m[8]);
/* r = a * b for 2x2 complex matrices (r may alias neither). */
void qasm_mat2_mul(double r[8], const double a[8], const double b[8]);

/* qasm_parse.c: parse text for a template (err must not be NULL). */
int qasm_parse_template_text(const char *name, const char *text, size_t len,
			     const struct qasm_parse_opts *o,
			     struct qasm_template *tpl,
			     struct qasm_circuit **out,
			     struct qasm_arena **arena, struct rt_error *err);

/* qasm_template.c: the parser's hooks for `param` (template mode). */
int qasm_tpl_parse_param_decl(struct qasm_parser *P);
/* Index of top-level parameter NAME, or -1. */
int qasm_tpl_param_index(const struct qasm_parser *P, const char *name,
			 uint32_t len);
/* Records one application of U (g NULL, nq 1), CX (g NULL, nq 2) or g with
 * parameter expressions @pexpr (in P->arena) on @q, to be expanded when
 * the template is bound. */
int qasm_tpl_record(struct qasm_parser *P, const struct qasm_gate *g,
		    struct qasm_expr *const *pexpr, uint16_t np,
		    const uint32_t *q, unsigned nq, uint32_t cond);

/* qasm_fuse.c: merge runs of 1-qubit gates; drop identities. */
int qasm_circuit_fuse(struct qasm_circuit *c);

/* qasm_qelib1.c */
extern const char qasm_qelib1_source[];
qasm_native_fn qasm_qelib1_native(const char *name);

#endif
