/*
 * test_qasm_parse.c - the constructs of OpenQASM 2.0 as the front end
 * flattens them: registers, includes, gate definitions, expressions,
 * broadcast, barrier, measure, reset, if, opaque, fusion.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_test.h"

#define H "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
#define RAW (QASM_PARSE_NO_FUSE)

static void expect_u3(const struct qasm_circuit *c, size_t i, double th,
		      double ph, double la)
{
	double m[8];
	const double *got;

	cr_assert_lt(i, c->nops);
	cr_assert_eq(c->ops[i].kind, QASM_OP_GATE1);
	qasm_mat_u3(th, ph, la, m);
	got = qasm_op_matrix(c, &c->ops[i]);
	for (int k = 0; k < 8; k++)
		cr_expect_float_eq(got[k], m[k], 1e-15, "op %zu entry %d: %.17g "
				   "vs %.17g", i, k, got[k], m[k]);
}

Test(qasm_parse, registersAreLaidOutInDeclarationOrder)
{
	struct qasm_circuit *c = rt_parse("OPENQASM 2.0;\nqreg a[2];\ncreg x[3];\n"
					  "qreg b[1];\ncreg y[1];\n");

	cr_assert_eq(c->nqubits, 3);
	cr_assert_eq(c->nclbits, 4);
	cr_assert_eq(c->nqregs, 2);
	cr_assert_eq(c->ncregs, 2);
	cr_expect_str_eq(c->qregs[1].name, "b");
	cr_expect_eq(c->qregs[1].offset, 2);
	cr_expect_str_eq(c->cregs[0].name, "x");
	cr_expect_eq(c->cregs[1].offset, 3);
	cr_expect_eq(c->cregs[1].size, 1);
	cr_expect_eq(c->nops, 0);
	cr_expect_eq(qasm_circuit_words_per_shot(c), 1);
	qasm_circuit_free(c);
}

Test(qasm_parse, headerAcceptsIntegerVersionAndComments)
{
	struct qasm_circuit *c = rt_parse("// leading comment\nOPENQASM 2; // v\n"
					  "qreg q[1]; // a qubit\n"
					  "U(0.5, 0, 0) q[0]; //\n");

	cr_assert_eq(c->nops, 1);
	expect_u3(c, 0, 0.5, 0, 0);
	qasm_circuit_free(c);
}

Test(qasm_parse, expressionsFollowPrecedenceAndFunctions)
{
	struct qasm_circuit *c = rt_parse_flags(
		"OPENQASM 2.0;\nqreg q[1];\n"
		"U(1.5e-3, -pi/2^2, ln(exp(2))) q[0];\n"
		"U(-2^2, 2^3^2/1000, (1+2)*3) q[0];\n"
		"U(1/2/2, .5 + 1. + 1e1 + 2E-1, sqrt(16) - tan(0)) q[0];\n"
		"U(sin(pi/2) * cos(0), -(-1), +3 - - 2) q[0];\n", RAW);

	cr_assert_eq(c->nops, 4);
	expect_u3(c, 0, 1.5e-3, -M_PI / 4, 2);
	expect_u3(c, 1, -4, 0.512, 9);
	expect_u3(c, 2, 0.25, 11.7, 4);
	expect_u3(c, 3, 1, 1, 5);
	qasm_circuit_free(c);
}

Test(qasm_parse, gateDefinitionsNestWithParameterExpressions)
{
	/* outer(a) = inner(a/2, 2a) = U(a/2, 2a, a/2 - 2a) then a CX */
	struct qasm_circuit *c = rt_parse_flags(
		"OPENQASM 2.0;\n"
		"gate inner(x, y) p { U(x, y, x - y) p; }\n"
		"gate outer(a) s, t\n{\n  inner(a/2, 2*a) t;\n  barrier s, t;\n"
		"  CX s, t;\n}\n"
		"qreg q[3];\nouter(0.8) q[2], q[0];\n", RAW);

	cr_assert_eq(c->nops, 2);
	expect_u3(c, 0, 0.4, 1.6, -1.2);
	cr_expect_eq(c->ops[0].q[0], 0);
	cr_expect_eq(c->ops[1].kind, QASM_OP_GATE1);
	cr_expect_eq(c->ops[1].q[0], 0);
	cr_expect_eq(c->ops[1].ctrl, 1u << 2);
	cr_expect_eq(c->ops[1].shape, QASM_MAT_PERM);
	qasm_circuit_free(c);
}

Test(qasm_parse, broadcastOverRegisters)
{
	struct qasm_circuit *c = rt_parse_flags(
		H "qreg a[3];\nqreg b[3];\nx a;\ncx a, b;\ncx a[1], b;\n"
		"barrier a, b[0];\n", RAW);

	cr_assert_eq(c->nops, 9);
	for (unsigned i = 0; i < 3; i++) {
		cr_expect_eq(c->ops[i].q[0], i);
		cr_expect_eq(c->ops[i].ctrl, 0);
		cr_expect_eq(c->ops[3 + i].q[0], 3 + i);
		cr_expect_eq(c->ops[3 + i].ctrl, 1u << i);
		cr_expect_eq(c->ops[6 + i].q[0], 3 + i);
		cr_expect_eq(c->ops[6 + i].ctrl, 1u << 1);
	}
	qasm_circuit_free(c);
}

Test(qasm_parse, measureResetAndIfBroadcast)
{
	struct qasm_circuit *c = rt_parse_flags(
		H "qreg q[2];\ncreg c[2];\ncreg d[1];\nmeasure q -> c;\n"
		"measure q[1] -> d[0];\nreset q;\nif(c==2) x q;\n"
		"if (d == 1) measure q[0] -> c[1];\n", RAW);

	cr_assert_eq(c->nops, 8);
	for (unsigned i = 0; i < 2; i++) {
		cr_expect_eq(c->ops[i].kind, QASM_OP_MEASURE);
		cr_expect_eq(c->ops[i].q[0], i);
		cr_expect_eq(c->ops[i].clbit, i);
		cr_expect_eq(c->ops[3 + i].kind, QASM_OP_RESET);
		cr_expect_eq(c->ops[3 + i].q[0], i);
		cr_expect_eq(c->ops[5 + i].cond, 1);
	}
	cr_expect_eq(c->ops[2].clbit, 2);
	cr_expect_eq(c->ops[7].kind, QASM_OP_MEASURE);
	cr_expect_eq(c->ops[7].clbit, 1);
	cr_assert_eq(c->nconds, 2);
	cr_expect_eq(c->conds[0].offset, 0);
	cr_expect_eq(c->conds[0].width, 2);
	cr_expect_eq(c->conds[0].value, 2);
	cr_expect_eq(c->conds[1].offset, 2);
	cr_expect_eq(c->conds[1].value, 1);
	cr_expect_eq(c->ops[7].cond, 2);
	qasm_circuit_free(c);
}

Test(qasm_parse, opaqueDeclarationWithoutUseIsFine)
{
	struct qasm_circuit *c = rt_parse(H "opaque secret(a, b) x, y;\n"
					  "opaque plain q;\nqreg q[1];\nh q[0];\n");

	cr_expect_eq(c->nops, 1);
	qasm_circuit_free(c);
}

Test(qasm_parse, qelib1IncludedTwiceAndEveryGateKnown)
{
	const char *const *names = qasm_qelib1_gate_names();
	size_t n = 0;

	for (; names[n]; n++)
		;
	cr_expect_geq(n, 43);
	/* Every listed gate exists; using each with wrong arity says so. */
	for (size_t i = 0; i < n; i++) {
		char src[256];

		snprintf(src, sizeof(src), H "include \"qelib1.inc\";\n"
			 "qreg q[8];\n%s(1,2,3,4,5,6) q[0];\n", names[i]);
		const char *msg = rt_parse_error(src);

		cr_expect(strstr(msg, "parameter") != NULL, "%s: %s", names[i],
			  msg);
	}
}

Test(qasm_parse, programsMayRedefineLibraryGates)
{
	/* Files written for the old qelib1.inc define their own swap. */
	struct qasm_circuit *c = rt_parse_flags(
		H "gate swap a,b { cx a,b; cx b,a; cx a,b; }\n"
		"gate rzz(t) a,b { cx a,b; u1(t) b; cx a,b; }\n"
		"qreg q[2];\nswap q[0], q[1];\n", RAW);

	cr_expect_eq(c->nops, 3);  /* the program's swap: three CX */
	qasm_circuit_free(c);
}

Test(qasm_parse, libraryNameDefinedBeforeTheIncludeIsRefused)
{
	/* The program's gate comes first: the library's definition clashes,
	 * with the shared library as when its text is parsed. */
	static const char src[] = "OPENQASM 2.0;\n"
		"gate h a { U(pi/2,0,pi) a; }\ninclude \"qelib1.inc\";\n"
		"qreg q[1];\nh q[0];\n";
	struct qasm_circuit *c = NULL;
	struct rt_error e1, e2;

	cr_assert_eq(qasm_parse_string("t.qasm", src, sizeof src - 1, 0, &c,
				       &e1), -EINVAL);
	cr_assert_eq(qasm_parse_string("t.qasm", src, sizeof src - 1,
				       QASM_PARSE_NO_LIB_CACHE, &c, &e2),
		     -EINVAL);
	cr_expect(strstr(e1.msg, "gate 'h' is already defined at t.qasm:2:6"),
		  "%s", e1.msg);
	cr_expect_str_eq(e1.msg, e2.msg);
}

/* A program that defines gates of its own before the include: the shared
 * library's gates are merged into its table, and give what parsing the
 * library's text gives. */
Test(qasm_parse, libraryMergedAfterTheProgramsOwnGates)
{
	static const char src[] = "OPENQASM 2.0;\n"
		"gate mine(t) a, b { U(t, 0, 0) a; CX a, b; }\n"
		"include \"qelib1.inc\";\nqreg q[3];\n"
		"mine(0.3) q[0], q[1];\nh q[2];\nccx q[0], q[1], q[2];\n"
		"cu3(0.1, 0.2, 0.3) q[2], q[0];\nrzz(0.7) q[1], q[2];\n";
	struct qasm_circuit *a = rt_parse_flags(src, RAW);
	struct qasm_circuit *b = rt_parse_flags(src, RAW |
						QASM_PARSE_NO_LIB_CACHE);

	cr_assert_eq(a->nops, b->nops);
	cr_assert_eq(a->nmats, b->nmats);
	cr_expect(memcmp(a->ops, b->ops, a->nops * sizeof(*a->ops)) == 0);
	cr_expect(memcmp(a->mats, b->mats, a->nmats * sizeof(double)) == 0);
	qasm_circuit_free(a);
	qasm_circuit_free(b);
}

struct par_ctx {
	struct qasm_circuit *c;
	int rc;
};

static void *parse_in_thread(void *arg)
{
	struct par_ctx *x = arg;
	static const char src[] = H "qreg q[3];\nh q[0];\ncx q[0], q[1];\n"
				     "ccx q[0], q[1], q[2];\n";
	struct rt_error err;

	x->rc = qasm_parse_string("t", src, sizeof src - 1, RAW, &x->c, &err);
	return NULL;
}

/* The first includes of a process, from several threads at once (each
 * test runs in a process of its own): the library is built once and every
 * thread gets the same circuit. */
Test(qasm_parse, firstIncludesFromSeveralThreadsAtOnce)
{
	pthread_t th[8];
	struct par_ctx x[8];

	for (int i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, parse_in_thread,
					    &x[i]), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(x[i].rc, 0);
		cr_expect_eq(x[i].c->nops, x[0].c->nops);
		cr_expect(memcmp(x[i].c->mats, x[0].c->mats,
				 x[0].c->nmats * sizeof(double)) == 0);
	}
	for (int i = 0; i < 8; i++)
		qasm_circuit_free(x[i].c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

Test(qasm_parse, includesResolveRelativeToTheIncludingFile)
{
	char dir[] = "/tmp/qshm-rt-incXXXXXX", p[600], sub[600];
	struct qasm_circuit *c;
	struct rt_error err;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/lib", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(p, sizeof(p), "%s/lib/a.inc", dir);
	write_file(p, "include \"b.inc\";\ngate ga q { gb q; gb q; }\n");
	snprintf(p, sizeof(p), "%s/lib/b.inc", dir);
	write_file(p, "OPENQASM 2.0;\ngate gb q { U(0.25, 0, 0) q; }\n");
	snprintf(p, sizeof(p), "%s/main.qasm", dir);
	write_file(p, "OPENQASM 2.0;\ninclude \"lib/a.inc\";\nqreg q[1];\n"
		   "ga q[0];\n");
	cr_assert_eq(qasm_parse_file(p, 0, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c->nops, 1);  /* two rotations fused into one */
	expect_u3(c, 0, 0.5, 0, 0);
	qasm_circuit_free(c);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lib/a.inc", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lib/b.inc", dir);
	unlink(p);
	rmdir(sub);
	rmdir(dir);
}

Test(qasm_parse, fusionMergesRunsAndDropsIdentities)
{
	struct qasm_circuit *c = rt_parse(
		H "qreg q[3];\ncreg c[1];\n"
		"h q[0]; h q[0];\n"              /* cancels */
		"x q[1]; cx q[0], q[2]; z q[1];\n"  /* x then z on q1: one op */
		"id q[2]; u0(1) q[2];\n"          /* identities vanish */
		"t q[0]; measure q[0] -> c[0]; t q[0];\n");  /* not across */

	cr_assert_eq(c->nops, 5);
	cr_expect_eq(c->ops[0].q[0], 1);
	cr_expect_eq(c->ops[0].shape, QASM_MAT_PERM);  /* z x = [[0,1],[-1,0]] */
	const double *m = qasm_op_matrix(c, &c->ops[0]);

	cr_expect_float_eq(m[2], 1, 1e-15);
	cr_expect_float_eq(m[4], -1, 1e-15);
	cr_expect_eq(c->ops[1].ctrl, 1u);
	cr_expect_eq(c->ops[2].kind, QASM_OP_GATE1);
	cr_expect_eq(c->ops[3].kind, QASM_OP_MEASURE);
	cr_expect_eq(c->ops[4].kind, QASM_OP_GATE1);
	qasm_circuit_free(c);
}

Test(qasm_parse, twoQubitUserGatesAreComposedIntoOneOperation)
{
	/* A user gate on two qubits becomes one op; a controlled structure is
	 * recognised (here a controlled-Z written with H and CX). */
	struct qasm_circuit *c = rt_parse(
		H "gate mycz a,b { h b; cx a,b; h b; }\n"
		"gate mix a,b { h a; cx a,b; ry(0.3) b; }\n"
		"qreg q[3];\nmycz q[2], q[0];\nmix q[0], q[1];\n");

	cr_assert_eq(c->nops, 2);
	cr_expect_eq(c->ops[0].kind, QASM_OP_GATE1);
	cr_expect_eq(c->ops[0].shape, QASM_MAT_DIAG);
	cr_expect(c->ops[0].ctrl == (1u << 2) || c->ops[0].ctrl == 1u);
	cr_expect_eq(c->ops[1].kind, QASM_OP_GATE2);
	cr_expect_eq(c->ops[1].q[0], 0);
	cr_expect_eq(c->ops[1].q[1], 1);
	qasm_circuit_free(c);
}

Test(qasm_parse, noNativeExpandsEverythingToUAndCX)
{
	struct qasm_circuit *c = rt_parse_flags(
		H "qreg q[5];\nccx q[0], q[1], q[2];\nc4x q[0], q[1], q[2], "
		"q[3], q[4];\nrxx(0.2) q[0], q[1];\n",
		QASM_PARSE_NO_NATIVE | QASM_PARSE_NO_FUSE);

	cr_assert_gt(c->nops, 20);
	for (size_t i = 0; i < c->nops; i++) {
		const struct qasm_op *op = &c->ops[i];

		cr_assert_eq(op->kind, QASM_OP_GATE1);
		/* U: no control; CX: one control and the X matrix */
		if (op->ctrl) {
			cr_assert_eq(__builtin_popcountll(op->ctrl), 1);
			cr_assert_eq(op->shape, QASM_MAT_PERM);
		}
	}
	qasm_circuit_free(c);
}

Test(qasm_parse, sourceHashAndNameAreKept)
{
	struct qasm_circuit *a = rt_parse("OPENQASM 2.0;\nqreg q[1];\n");
	struct qasm_circuit *b = rt_parse("OPENQASM 2.0;\nqreg q[2];\n");

	cr_expect_neq(a->source_hash, b->source_hash);
	cr_expect_str_eq(a->name, "t.qasm");
	qasm_circuit_free(a);
	qasm_circuit_free(b);
}
