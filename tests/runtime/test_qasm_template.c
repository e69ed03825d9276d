/*
 * test_qasm_template.c - templates (qasm.h): `param` declarations, binding
 * values, and the promise that a bound template is the circuit a plain
 * parse of the same text with the values written in gives: the same
 * operations and bit-identical matrices, fusion included.
 */
#include <errno.h>

#include "rt_test.h"

#define H "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

static struct qasm_template *tparse(const char *src)
{
	struct qasm_template *t = NULL;
	struct rt_error err;
	int rc = qasm_template_parse("t.qasm", src, strlen(src), NULL, &t,
				     &err);

	cr_assert_eq(rc, 0, "template parse failed (%d): %s", rc, err.msg);
	return t;
}

static void expect_same(const struct qasm_circuit *a,
			const struct qasm_circuit *b)
{
	cr_assert_eq(a->nqubits, b->nqubits);
	cr_assert_eq(a->nclbits, b->nclbits);
	cr_assert_eq(a->ncregs, b->ncregs);
	cr_assert_eq(a->nops, b->nops, "%zu ops vs %zu", a->nops, b->nops);
	for (size_t i = 0; i < a->nops; i++) {
		const struct qasm_op *x = &a->ops[i], *y = &b->ops[i];
		size_t n = x->kind == QASM_OP_GATE1 ? 8 :
			   x->kind == QASM_OP_GATE2 ? 32 : 0;

		cr_assert_eq(x->kind, y->kind, "op %zu", i);
		cr_assert_eq(x->q[0], y->q[0], "op %zu", i);
		cr_assert_eq(x->ctrl, y->ctrl, "op %zu", i);
		cr_assert_eq(x->cond, y->cond, "op %zu", i);
		cr_assert_eq(x->clbit, y->clbit, "op %zu", i);
		if (n)
			cr_assert_eq(memcmp(qasm_op_matrix(a, x),
					    qasm_op_matrix(b, y),
					    n * sizeof(double)), 0,
				     "op %zu: matrices differ", i);
	}
}

/* Binds @tsrc with @v and compares with a parse of @plain. */
static void check_bind(const char *tsrc, const double *v, size_t n,
		       const char *plain)
{
	struct qasm_template *t = tparse(tsrc);
	struct qasm_circuit *c = NULL, *p = rt_parse(plain);
	struct rt_error err;
	int rc = qasm_template_bind(t, v, n, &c, &err);

	cr_assert_eq(rc, 0, "bind failed (%d): %s", rc, err.msg);
	expect_same(c, p);
	qasm_circuit_free(c);
	qasm_circuit_free(p);
	qasm_template_free(t);
}

Test(qasm_template, paramsAreDeclaredInOrder)
{
	struct qasm_template *t = tparse(H "param theta, phi;\nparam l;\n"
					 "qreg q[1];\nu3(theta, phi, l) q[0];\n");

	cr_assert_eq(qasm_template_nparams(t), 3);
	cr_expect_str_eq(qasm_template_param_name(t, 0), "theta");
	cr_expect_str_eq(qasm_template_param_name(t, 2), "l");
	cr_expect_null(qasm_template_param_name(t, 3));
	cr_expect_eq(qasm_template_nbound(t), 1);
	cr_expect_eq(qasm_template_shape(t)->nqubits, 1);
	qasm_template_free(t);
}

Test(qasm_template, boundEqualsPlainParseBitForBit)
{
	const double v[2] = { 0.3, -1.25 };

	check_bind(H "param a, b;\nqreg q[3];\ncreg c[3];\n"
		   "h q;\nry(a/2) q[0];\ncx q[0], q[1];\nrz(b + pi) q[1];\n"
		   "u3(a, b, a*b) q[2];\ncrz(-a) q[2], q[0];\nrx(0.5) q[1];\n"
		   "measure q -> c;\nif (c == 1) rx(sin(a)) q[0];\n",
		   v, 2,
		   H "qreg q[3];\ncreg c[3];\n"
		   "h q;\nry(0.3/2) q[0];\ncx q[0], q[1];\nrz(-1.25 + pi) q[1];\n"
		   "u3(0.3, -1.25, 0.3*-1.25) q[2];\ncrz(-0.3) q[2], q[0];\n"
		   "rx(0.5) q[1];\nmeasure q -> c;\n"
		   "if (c == 1) rx(sin(0.3)) q[0];\n");
}

Test(qasm_template, userGatesAndBroadcastBind)
{
	const double v[1] = { 0.7 };

	check_bind(H "gate rot(t) a, b { ry(t) a; cx a, b; rz(t/3) b; }\n"
		   "param x;\nqreg q[2];\nqreg r[2];\nrot(x) q, r;\n"
		   "ry(x) r;\n",
		   v, 1,
		   H "gate rot(t) a, b { ry(t) a; cx a, b; rz(t/3) b; }\n"
		   "qreg q[2];\nqreg r[2];\nrot(0.7) q, r;\nry(0.7) r;\n");
}

Test(qasm_template, withoutParamsItIsAPlainParse)
{
	check_bind(H "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\n"
		   "measure q -> c;\n", NULL, 0,
		   H "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\n"
		   "measure q -> c;\n");
}

Test(qasm_template, rebindingGivesNewAngles)
{
	struct qasm_template *t = tparse(H "param a;\nqreg q[1];\nrx(a) q[0];\n");

	for (int i = 0; i < 50; i++) {
		double v = 0.01 * i + 0.005, m[8];
		struct qasm_circuit *c = NULL;
		const double *got;

		cr_assert_eq(qasm_template_bind(t, &v, 1, &c, NULL), 0);
		cr_assert_eq(c->nops, 1);
		/* rx(a) = u3(a, -pi/2, pi/2) */
		qasm_mat_u3(v, -M_PI / 2, M_PI / 2, m);
		got = qasm_op_matrix(c, &c->ops[0]);
		for (int k = 0; k < 8; k++)
			cr_expect_float_eq(got[k], m[k], 1e-15);
		qasm_circuit_free(c);
	}
	qasm_template_free(t);
}

Test(qasm_template, errors)
{
	struct qasm_template *t = NULL;
	struct qasm_circuit *c = NULL;
	struct rt_error err;
	static const char *bad[][2] = {
		{ H "qreg q[1];\nrx(a) q[0];\n", "t.qasm:4:4: error: 'a' is "
		  "not a declared parameter" },
		{ H "param a, a;\n", "t.qasm:3:10: error: parameter 'a' is "
		  "already declared" },
		{ H "param ;\n", "t.qasm:3:7: error: expected a parameter "
		  "name" },
		{ H "param a\nqreg q[1];\n", "t.qasm:4:1: error: expected ',' "
		  "or ';'" },
	};
	double v = 1, inf = INFINITY;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = qasm_template_parse("t.qasm", bad[i][0],
					     strlen(bad[i][0]), NULL, &t,
					     &err);
		cr_expect_eq(rc, -EINVAL, "case %zu", i);
		cr_expect_null(t);
		cr_expect(strncmp(err.msg, bad[i][1], strlen(bad[i][1])) == 0,
			  "case %zu: %s", i, err.msg);
	}
	/* `param` is not a keyword of a plain parse. */
	cr_expect_eq(qasm_parse_string("t.qasm", H "param a;\n",
				       strlen(H "param a;\n"), 0, &c, &err),
		     -EINVAL);
	t = tparse(H "param a;\nqreg q[1];\nrx(ln(a)) q[0];\n");
	cr_expect_eq(qasm_template_bind(t, NULL, 0, &c, &err), -EINVAL);
	cr_expect_eq(qasm_template_bind(t, &inf, 1, &c, &err), -EINVAL);
	v = -1;        /* ln(-1) is NaN */
	cr_expect_eq(qasm_template_bind(t, &v, 1, &c, &err), -EINVAL);
	cr_expect(strstr(err.msg, "t.qasm:5:1: error: parameter 1 of rx is "
			 "not a finite number") != NULL, "%s", err.msg);
	cr_expect_null(c);
	qasm_template_free(t);
}
