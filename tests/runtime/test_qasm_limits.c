/*
 * test_qasm_limits.c - hostile programs: the front end refuses them with a
 * located error instead of overflowing its stack, running for ever or
 * blocking. Deeply nested expressions (parentheses, unary signs, long
 * chains), gate-expansion bombs against the planning budget, and includes
 * of files that are not regular files (a character device, a FIFO, a
 * directory). The meson timeout bounds each case; nothing here times code.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_test.h"

/* A program whose only statement applies U(@expr, 0, 0). */
static char *u_program(const char *expr)
{
	static const char head[] = "OPENQASM 2.0;\nqreg q[1];\nU(";
	static const char tail[] = ",0,0) q[0];\n";
	size_t n = strlen(head) + strlen(expr) + strlen(tail) + 1;
	char *s = malloc(n);

	cr_assert_not_null(s);
	snprintf(s, n, "%s%s%s", head, expr, tail);
	return s;
}

/* @n copies of @c, NUL-terminated. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Parse @src with @max_gates; returns the code, the message in @err. */
static int parse_limited(const char *src, uint64_t max_gates,
			 struct rt_error *err)
{
	struct qasm_parse_opts o = { .flags = 0, .max_gates = max_gates };
	struct qasm_circuit *c = NULL;
	int rc = qasm_parse_string_opts("t.qasm", src, strlen(src), &o, &c, err);

	if (rc == 0)
		qasm_circuit_free(c);
	else
		cr_assert_null(c);
	return rc;
}

Test(qasm_limits, twentyThousandNestedParenthesesAreALocatedError)
{
	char *open = repeat('(', 20000), *close = repeat(')', 20000);
	size_t n = 40002;
	char *expr = malloc(n + 1), *src;

	cr_assert_not_null(expr);
	snprintf(expr, n + 1, "%s1%s", open, close);
	src = u_program(expr);
	/* Column 3 + 256: the '(' that would be the 257th level. */
	cr_expect_str_eq(rt_parse_error(src), "t.qasm:3:259: error: expression "
			 "nested deeper than 256");
	free(src);
	free(expr);
	free(open);
	free(close);
}

Test(qasm_limits, aMillionUnaryMinusSignsAreALocatedError)
{
	char *minus = repeat('-', 1000000);
	size_t n = strlen(minus) + 2;
	char *expr = malloc(n), *src;

	cr_assert_not_null(expr);
	snprintf(expr, n, "%s1", minus);
	src = u_program(expr);
	cr_expect_str_eq(rt_parse_error(src), "t.qasm:3:259: error: expression "
			 "nested deeper than 256");
	free(src);
	free(expr);
	free(minus);
}

Test(qasm_limits, nestingUpToTheLimitIsAccepted)
{
	/* The argument, 254 parentheses and the sign: 256 levels. */
	char *open = repeat('(', 254), *close = repeat(')', 254);
	char expr[1024], *src;
	struct qasm_circuit *c;

	snprintf(expr, sizeof(expr), "%s-pi%s", open, close);
	src = u_program(expr);
	c = rt_parse_flags(src, QASM_PARSE_NO_FUSE);
	cr_expect_eq(c->nops, 1);
	qasm_circuit_free(c);
	free(src);
	free(open);
	free(close);
}

Test(qasm_limits, aLongChainOfParametersIsADeepTreeAndRefused)
{
	/* x+x+...+x is parsed by a loop but evaluated recursively: its tree
	 * depth is what the evaluator would recurse through. */
	size_t terms = 100000, n = 2 * terms + 256;
	char *src = malloc(n), *p;

	cr_assert_not_null(src);
	p = src + snprintf(src, n, "OPENQASM 2.0;\nqreg q[1];\n"
			   "gate g(x) a { U(");
	for (size_t i = 0; i < terms; i++) {
		*p++ = 'x';
		*p++ = '+';
	}
	snprintf(p - 1, 64, ",0,0) a; }\ng(1) q[0];\n");
	/* The 256th '+' (column 16 + 2*256) makes the 257-deep tree; the
	 * error is found at the operator after its right operand. */
	cr_expect_str_eq(rt_parse_error(src), "t.qasm:3:530: error: expression "
			 "nested deeper than 256");
	free(src);
}

Test(qasm_limits, aChainOfConstantsFoldsAndIsAccepted)
{
	/* Constants fold as they are parsed: no deep tree, any length. */
	size_t terms = 10000;
	char *expr = malloc(2 * terms + 1), *src;
	struct qasm_circuit *c;

	cr_assert_not_null(expr);
	for (size_t i = 0; i < terms; i++)
		memcpy(expr + 2 * i, "0+", 2);
	expr[2 * terms - 1] = '1';
	expr[2 * terms] = '\0';
	src = u_program(expr);
	c = rt_parse_flags(src, QASM_PARSE_NO_FUSE);
	cr_expect_eq(c->nops, 1);
	qasm_circuit_free(c);
	free(src);
	free(expr);
}

/* 64 nested definitions on @nq qubits, each applying the previous twice. */
static char *doubling_bomb(unsigned nq)
{
	size_t n = 16384;
	char *s = malloc(n);
	const char *args = nq == 2 ? "a,b" : "a,b,c";
	const char *qs = nq == 2 ? "q[0],q[1]" : "q[0],q[1],q[2]";
	int k;

	cr_assert_not_null(s);
	k = snprintf(s, n, "OPENQASM 2.0;\nqreg q[%u];\ngate g0 %s { CX a,b; }\n",
		     nq, args);
	for (int i = 1; i <= 64; i++)
		k += snprintf(s + k, n - (size_t)k, "gate g%d %s { g%d %s; g%d %s; }\n",
			      i, args, i - 1, args, i - 1, args);
	snprintf(s + k, n - (size_t)k, "g64 %s;\n", qs);
	return s;
}

Test(qasm_limits, doublingGateBombIsRefusedByTheDefaultBudget)
{
	/* Two qubits: the expansion is composed into one 4x4 and never
	 * emitted, so only the budget stops its 2^64 steps. */
	char *src = doubling_bomb(2);
	struct rt_error err;
	char want[256];

	cr_assert_eq(parse_limited(src, 0, &err), -E2BIG, "%s", err.msg);
	snprintf(want, sizeof(want), "t.qasm:68:1: error: gate expansion "
		 "exceeds the limit of %llu gate applications (at 'g64'); the "
		 "limit is set by --max-gates (qasm_parse_opts.max_gates)",
		 (unsigned long long)QASM_DEFAULT_MAX_GATES);
	cr_expect_str_eq(err.msg, want);
	/* The same through qasm_parse_string(), which has no options. */
	struct qasm_circuit *c = NULL;

	cr_expect_eq(qasm_parse_string("t.qasm", src, strlen(src), 0, &c, &err),
		     -E2BIG);
	cr_expect_null(c);
	free(src);
}

Test(qasm_limits, inlinedGateBombIsRefusedByAChosenBudget)
{
	/* Three qubits: every gate is emitted into the circuit. */
	char *src = doubling_bomb(3);
	struct rt_error err;

	cr_assert_eq(parse_limited(src, 100000, &err), -E2BIG, "%s", err.msg);
	cr_expect(strstr(err.msg, "exceeds the limit of 100000 gate "
			 "applications (at 'g64')"), "%s", err.msg);
	free(src);
}

Test(qasm_limits, theBudgetCountsEveryGateExactly)
{
	/* 3 top-level gates plus 2 x 2 inside g (composed): 7 in all. */
	const char *src = "OPENQASM 2.0;\nqreg q[2];\n"
			  "gate g a,b { U(0.1,0,0) a; CX a,b; }\n"
			  "U(0.2,0,0) q[0];\nCX q[0],q[1];\ng q[0],q[1];\n"
			  "U(0.3,0,0) q[1];\ng q[1],q[0];\n";
	struct rt_error err;

	cr_expect_eq(parse_limited(src, 7, &err), 0, "%s", err.msg);
	cr_expect_eq(parse_limited(src, 6, &err), -E2BIG);
	cr_expect_str_eq(err.msg, "t.qasm:8:1: error: gate expansion exceeds "
			 "the limit of 6 gate applications (at 'g'); the limit "
			 "is set by --max-gates (qasm_parse_opts.max_gates)");
}

Test(qasm_limits, hugeExpressionsInBodiesCountAgainstTheBudget)
{
	/* A body parameter of about 4000 nodes, called 2^20 times: the gate
	 * count (2^20) is within the limit, the evaluation is not. */
	size_t n = 65536;
	char *s = malloc(n), *expr = malloc(n);
	int k;

	cr_assert(s && expr);
	k = 0;
	for (int i = 0; i < 200; i++)
		k += snprintf(expr + k, n - (size_t)k, "(x*x+x*x+x*x+x*x+x*x)+");
	expr[k - 1] = '\0';
	k = snprintf(s, n, "OPENQASM 2.0;\nqreg q[1];\n"
		     "gate g0(x) a { U(%s,0,0) a; }\n", expr);
	for (int i = 1; i <= 20; i++)
		k += snprintf(s + k, n - (size_t)k, "gate g%d(x) a { g%d(x) a; "
			      "g%d(x) a; }\n", i, i - 1, i - 1);
	snprintf(s + k, n - (size_t)k, "g20(0.5) q[0];\n");

	struct rt_error err;

	cr_assert_eq(parse_limited(s, 0, &err), -E2BIG, "%s", err.msg);
	cr_expect(strstr(err.msg, "error: gate expansion evaluates more than "
			 "64000000 parameter expression nodes (at 'g20')"),
		  "%s", err.msg);
	free(s);
	free(expr);
}

/* ---- includes of files that are not regular files ---- */

static void expect_include_refused(const char *path, const char *what)
{
	char src[512], want[512];

	snprintf(src, sizeof(src), "OPENQASM 2.0;\ninclude \"%s\";\n", path);
	snprintf(want, sizeof(want), "t.qasm:2:9: error: include file '%s' "
		 "(looked for '%s') is %s, not a regular file", path, path,
		 what);
	cr_expect_str_eq(rt_parse_error(src), want);
}

Test(qasm_limits, includeOfDevZeroIsRefused)
{
	expect_include_refused("/dev/zero", "a character device");
}

Test(qasm_limits, includeOfAFifoIsRefusedWithoutBlocking)
{
	char dir[] = "/tmp/qshm-rt-fifoXXXXXX", fifo[64];
	struct qasm_circuit *c = NULL;
	struct rt_error err;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/f.inc", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	/* No writer ever opens it: a blocking open would hang here. */
	expect_include_refused(fifo, "a FIFO");
	/* The program file itself. */
	int rc = qasm_parse_file(fifo, 0, &c, &err);

	unlink(fifo);
	rmdir(dir);
	cr_expect_eq(rc, -EINVAL);
	cr_expect_null(c);
	char want[128];

	snprintf(want, sizeof(want), "%s: error: a FIFO, not a regular file",
		 fifo);
	cr_expect_str_eq(err.msg, want);
}

Test(qasm_limits, includeOfADirectoryIsRefused)
{
	expect_include_refused("/tmp", "a directory");
}
