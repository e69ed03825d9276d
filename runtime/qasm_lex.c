/*
 * qasm_lex.c - the OpenQASM 2.0 lexer: a hand-written scanner over a
 * NUL-terminated buffer. Tokens point into the buffer; nothing is allocated.
 * Comments are `//` to the end of the line. Columns count bytes from 1.
 */
#include "qasm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qasm_lex_init(struct qasm_lexer *lx, const char *file, const char *buf,
		   size_t len, struct rt_error *err)
{
	lx->file = file;
	lx->p = buf;
	lx->end = buf + len;
	lx->line_start = buf;
	lx->line = 1;
	lx->builtin = false;
	lx->err = err;
}

static int lex_error(struct qasm_lexer *lx, const char *at, const char *fmt,
		     const char *arg)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, arg);
	return rt_error_set(lx->err, -EINVAL, "%s:%u:%u: error: %s", lx->file,
			    lx->line, (unsigned)(at - lx->line_start) + 1, what);
}

static inline bool is_id_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static inline bool is_id_char(char ch)
{
	return is_id_start(ch) || (ch >= '0' && ch <= '9') || ch == '_';
}

static inline bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Keywords by length, then bytes: a switch is cheaper than hashing. */
static enum qasm_tok keyword(const char *s, uint32_t n)
{
#define KW(str, tok) \
	if (n == sizeof(str) - 1 && memcmp(s, str, sizeof(str) - 1) == 0) \
		return tok
	switch (n) {
	case 1:
		KW("U", TOK_U);
		break;
	case 2:
		KW("CX", TOK_CX);
		KW("if", TOK_IF);
		KW("pi", TOK_PI);
		KW("ln", TOK_LN);
		break;
	case 3:
		KW("sin", TOK_SIN);
		KW("cos", TOK_COS);
		KW("tan", TOK_TAN);
		KW("exp", TOK_EXP);
		break;
	case 4:
		KW("qreg", TOK_QREG);
		KW("creg", TOK_CREG);
		KW("gate", TOK_GATE);
		KW("sqrt", TOK_SQRT);
		break;
	case 5:
		KW("reset", TOK_RESET);
		break;
	case 6:
		KW("opaque", TOK_OPAQUE);
		break;
	case 7:
		KW("include", TOK_INCLUDE);
		KW("barrier", TOK_BARRIER);
		KW("measure", TOK_MEASURE);
		break;
	case 8:
		KW("OPENQASM", TOK_OPENQASM);
		break;
	default:
		break;
	}
#undef KW
	return TOK_ID;
}

/* Scan a number: integer, or real with '.', exponent or both. */
static void lex_number(struct qasm_lexer *lx, struct qasm_token *t)
{
	const char *s = lx->p, *q = s;
	bool real = false;

	while (is_digit(*q))
		q++;
	if (*q == '.') {
		real = true;
		q++;
		while (is_digit(*q))
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		const char *e = q + 1;

		if (*e == '+' || *e == '-')
			e++;
		if (is_digit(*e)) {
			real = true;
			q = e;
			while (is_digit(*q))
				q++;
		} else {
			lex_error(lx, q, "malformed number: expected digits "
				  "after the exponent marker '%.1s'", q);
			t->kind = TOK_ERROR;
			return;
		}
	}
	if (is_id_start(*q) || *q == '_') {
		lex_error(lx, q, "unexpected character '%.1s' after a number",
			  q);
		t->kind = TOK_ERROR;
		return;
	}
	t->len = (uint32_t)(q - s);
	lx->p = q;
	if (!real) {
		uint64_t v = 0;
		bool big = false;

		for (const char *d = s; d < q; d++) {
			unsigned dig = (unsigned)(*d - '0');

			if (v > (UINT64_MAX - dig) / 10)
				big = true;
			v = v * 10 + dig;
		}
		if (!big) {
			t->kind = TOK_INT;
			t->ival = v;
			t->rval = (double)v;
			return;
		}
	}
	/* strtod stops at the first byte that is not part of the number,
	 * which is q: the buffer is NUL-terminated. */
	t->kind = TOK_REAL;
	t->rval = strtod(s, NULL);
	t->ival = 0;
}

void qasm_lex_next(struct qasm_lexer *lx, struct qasm_token *t)
{
	const char *p = lx->p;

	for (;;) {
		char ch = *p;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' ||
		    ch == '\v') {
			p++;
		} else if (ch == '\n') {
			p++;
			lx->line++;
			lx->line_start = p;
		} else if (ch == '/' && p[1] == '/') {
			p += 2;
			while (p < lx->end && *p != '\n')
				p++;
		} else {
			break;
		}
	}
	lx->p = p;
	t->text = p;
	t->len = 1;
	t->line = lx->line;
	t->col = (uint32_t)(p - lx->line_start) + 1;
	t->ival = 0;
	t->rval = 0;

	if (p >= lx->end) {
		t->kind = TOK_EOF;
		t->len = 0;
		return;
	}
	char ch = *p;

	if (is_id_start(ch) || (ch == '_' && lx->builtin)) {
		const char *q = p + 1;

		while (is_id_char(*q))
			q++;
		t->len = (uint32_t)(q - p);
		t->kind = keyword(p, t->len);
		lx->p = q;
		return;
	}
	if (is_digit(ch) || (ch == '.' && is_digit(p[1]))) {
		lex_number(lx, t);
		return;
	}
	lx->p = p + 1;
	switch (ch) {
	case ';': t->kind = TOK_SEMI; return;
	case ',': t->kind = TOK_COMMA; return;
	case '[': t->kind = TOK_LBRACKET; return;
	case ']': t->kind = TOK_RBRACKET; return;
	case '(': t->kind = TOK_LPAREN; return;
	case ')': t->kind = TOK_RPAREN; return;
	case '{': t->kind = TOK_LBRACE; return;
	case '}': t->kind = TOK_RBRACE; return;
	case '+': t->kind = TOK_PLUS; return;
	case '*': t->kind = TOK_STAR; return;
	case '/': t->kind = TOK_SLASH; return;
	case '^': t->kind = TOK_CARET; return;
	case '-':
		if (p[1] == '>') {
			lx->p = p + 2;
			t->kind = TOK_ARROW;
			t->len = 2;
		} else {
			t->kind = TOK_MINUS;
		}
		return;
	case '=':
		if (p[1] == '=') {
			lx->p = p + 2;
			t->kind = TOK_EQEQ;
			t->len = 2;
			return;
		}
		lex_error(lx, p, "unexpected '=': expected '==' %s",
			  "(only `if (creg == n)` compares)");
		t->kind = TOK_ERROR;
		return;
	case '"': {
		const char *q = p + 1;

		while (q < lx->end && *q != '"' && *q != '\n')
			q++;
		if (q >= lx->end || *q != '"') {
			lex_error(lx, p, "unterminated string literal: expected "
				  "a closing '\"' on the same line%s", "");
			t->kind = TOK_ERROR;
			return;
		}
		t->kind = TOK_STRING;
		t->len = (uint32_t)(q + 1 - p);
		lx->p = q + 1;
		return;
	}
	default:
		break;
	}
	lx->p = p;
	if ((unsigned char)ch >= 0x20 && (unsigned char)ch < 0x7f) {
		char s[2] = { ch, 0 };

		lex_error(lx, p, "unexpected character '%s'", s);
	} else {
		char s[8];

		snprintf(s, sizeof(s), "0x%02x", (unsigned char)ch);
		lex_error(lx, p, "unexpected byte %s", s);
	}
	t->kind = TOK_ERROR;
}

const char *qasm_tok_name(enum qasm_tok k)
{
	switch (k) {
	case TOK_EOF: return "end of file";
	case TOK_ID: return "an identifier";
	case TOK_INT: return "an integer";
	case TOK_REAL: return "a number";
	case TOK_STRING: return "a string";
	case TOK_SEMI: return "';'";
	case TOK_COMMA: return "','";
	case TOK_LBRACKET: return "'['";
	case TOK_RBRACKET: return "']'";
	case TOK_LPAREN: return "'('";
	case TOK_RPAREN: return "')'";
	case TOK_LBRACE: return "'{'";
	case TOK_RBRACE: return "'}'";
	case TOK_ARROW: return "'->'";
	case TOK_EQEQ: return "'=='";
	case TOK_PLUS: return "'+'";
	case TOK_MINUS: return "'-'";
	case TOK_STAR: return "'*'";
	case TOK_SLASH: return "'/'";
	case TOK_CARET: return "'^'";
	case TOK_OPENQASM: return "'OPENQASM'";
	case TOK_INCLUDE: return "'include'";
	case TOK_QREG: return "'qreg'";
	case TOK_CREG: return "'creg'";
	case TOK_GATE: return "'gate'";
	case TOK_OPAQUE: return "'opaque'";
	case TOK_BARRIER: return "'barrier'";
	case TOK_MEASURE: return "'measure'";
	case TOK_RESET: return "'reset'";
	case TOK_IF: return "'if'";
	case TOK_PI: return "'pi'";
	case TOK_U: return "'U'";
	case TOK_CX: return "'CX'";
	case TOK_SIN: return "'sin'";
	case TOK_COS: return "'cos'";
	case TOK_TAN: return "'tan'";
	case TOK_EXP: return "'exp'";
	case TOK_LN: return "'ln'";
	case TOK_SQRT: return "'sqrt'";
	case TOK_ERROR: return "an invalid token";
	}
	return "?";
}

const char *qasm_tok_describe(const struct qasm_token *t, char *buf,
			      size_t len)
{
	switch (t->kind) {
	case TOK_ID:
	case TOK_INT:
	case TOK_REAL:
	case TOK_STRING:
		snprintf(buf, len, "'%.*s'", t->len > 40 ? 40 : (int)t->len,
			 t->text);
		return buf;
	default:
		return qasm_tok_name(t->kind);
	}
}
