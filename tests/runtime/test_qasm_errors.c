/*
 * test_qasm_errors.c - every front-end error names file:line:col and says
 * what was wrong and what was expected; the exact texts are checked.
 */
#include <errno.h>
#include <unistd.h>

#include "rt_test.h"

#define H "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

static void expect_error(const char *src, const char *msg)
{
	cr_expect_str_eq(rt_parse_error(src), msg);
}

Test(qasm_errors, missingHeaderNamesTheFirstStatement)
{
	expect_error("qreg q[1];\n",
		     "t.qasm:1:1: error: missing 'OPENQASM 2.0;' header: expected "
		     "it as the first statement, found 'qreg'");
	expect_error("// only a comment\n\n  include \"qelib1.inc\";\n",
		     "t.qasm:3:3: error: missing 'OPENQASM 2.0;' header: expected "
		     "it as the first statement, found 'include'");
	expect_error("", "t.qasm:1:1: error: missing 'OPENQASM 2.0;' header: "
		     "expected it as the first statement, found end of file");
}

Test(qasm_errors, unsupportedVersion)
{
	expect_error("OPENQASM 3.0;\n",
		     "t.qasm:1:10: error: unsupported OpenQASM version '3.0': "
		     "this front end reads OpenQASM 2.0");
	expect_error("OPENQASM 2.0\nqreg q[1];",
		     "t.qasm:2:1: error: expected ';' after 'OPENQASM 2.0', found "
		     "'qreg'");
}

Test(qasm_errors, headerOnlyOnce)
{
	expect_error("OPENQASM 2.0;\nOPENQASM 2.0;\n",
		     "t.qasm:2:1: error: 'OPENQASM' may appear only once, as the "
		     "first statement of the program");
}

Test(qasm_errors, undeclaredRegisterListsDeclaredOnes)
{
	expect_error(H "qreg reg[2];\ncreg c[2];\nmeasure q[0] -> c[0];\n",
		     "t.qasm:5:9: error: undeclared quantum register 'q' "
		     "(declared quantum registers: reg)");
	expect_error(H "qreg q[2];\nmeasure q[0] -> c[0];\n",
		     "t.qasm:4:17: error: undeclared classical register 'c' "
		     "(declared classical registers: none)");
	expect_error(H "qreg q[2];\ncreg c[2];\nh c[0];\n",
		     "t.qasm:5:3: error: 'c' is a classical register, expected a "
		     "quantum register");
}

Test(qasm_errors, indexOutOfRange)
{
	expect_error(H "qreg q[2];\nx q[2];\n",
		     "t.qasm:4:5: error: index 2 is out of range for register "
		     "'q' of size 2");
}

Test(qasm_errors, unknownGateSuggestsQelib1)
{
	expect_error("OPENQASM 2.0;\nqreg q[1];\nh q[0];\n",
		     "t.qasm:3:1: error: unknown gate 'h': it is defined in "
		     "qelib1.inc; add 'include \"qelib1.inc\";' after the header");
	expect_error(H "qreg q[1];\nfoo q[0];\n",
		     "t.qasm:4:1: error: unknown gate 'foo': expected a gate "
		     "defined before this line, U or CX");
}

Test(qasm_errors, wrongArity)
{
	expect_error(H "qreg q[2];\ncx q[0];\n",
		     "t.qasm:4:1: error: gate 'cx' takes 2 qubit arguments, got 1");
	expect_error(H "qreg q[2];\nrz q[0];\n",
		     "t.qasm:4:1: error: gate 'rz' takes 1 parameter, got 0");
	expect_error(H "qreg q[2];\nU(1,2) q[0];\n",
		     "t.qasm:4:1: error: U takes 3 parameters and 1 qubit, got 2 "
		     "and 1");
	expect_error(H "qreg q[2];\nCX q[0];\n",
		     "t.qasm:4:1: error: CX takes 0 parameters and 2 qubits, got 0 "
		     "and 1");
}

Test(qasm_errors, missingSemicolon)
{
	expect_error(H "qreg q[2]\nx q[0];\n",
		     "t.qasm:4:1: error: expected ';' after the register "
		     "declaration, found 'x'");
	expect_error(H "qreg q[2];\nx q[0]\nx q[1];\n",
		     "t.qasm:5:1: error: expected ',' or ';' after the arguments, "
		     "found 'x'");
}

Test(qasm_errors, lexerErrors)
{
	expect_error(H "qreg q[1];\nx q[0]; @\n",
		     "t.qasm:4:9: error: unexpected character '@'");
	expect_error("OPENQASM 2.0;\ninclude \"qelib1.inc;\n",
		     "t.qasm:2:9: error: unterminated string literal: expected a "
		     "closing '\"' on the same line");
	expect_error(H "qreg q[1];\nrz(1e) q[0];\n",
		     "t.qasm:4:5: error: malformed number: expected digits after "
		     "the exponent marker 'e'");
	expect_error(H "qreg q[1];\nrz(2pi) q[0];\n",
		     "t.qasm:4:5: error: unexpected character 'p' after a number");
	expect_error(H "qreg _q[1];\n",
		     "t.qasm:3:6: error: unexpected character '_'");
	expect_error(H "qreg q[1];\nrz(1 = 2) q[0];\n",
		     "t.qasm:4:6: error: unexpected '=': expected '==' (only `if "
		     "(creg == n)` compares)");
}

Test(qasm_errors, badDeclarations)
{
	expect_error(H "qreg q[2];\ncreg q[2];\n",
		     "t.qasm:4:6: error: register 'q' is already declared (as a "
		     "quantum register at t.qasm:3:6)");
	expect_error(H "qreg q[0];\n",
		     "t.qasm:3:8: error: expected a positive integer register "
		     "size, found '0'");
	expect_error(H "qreg a[40];\nqreg b[25];\n",
		     "t.qasm:4:8: error: too many qubits: qreg 'b' brings the "
		     "total to 65, at most 64 are supported");
	expect_error(H "qreg pi[2];\n",
		     "t.qasm:3:6: error: expected a quantum register name after "
		     "'qreg', found 'pi'");
}

Test(qasm_errors, gateDefinitionErrors)
{
	expect_error(H "gate g a { h a; }\ngate g a { x a; }\n",
		     "t.qasm:4:6: error: gate 'g' is already defined at "
		     "t.qasm:3:6");
	expect_error(H "gate g(theta) a { rz(phi) a; }\n",
		     "t.qasm:3:22: error: 'phi' is not a parameter of gate 'g' "
		     "(parameters: theta)");
	expect_error(H "gate g a { rz(phi) a; }\n",
		     "t.qasm:3:15: error: 'phi' is not a parameter of gate 'g', "
		     "which has no parameters");
	expect_error(H "gate g a { h b; }\n",
		     "t.qasm:3:14: error: 'b' is not a qubit argument of gate 'g'");
	expect_error(H "gate g a { h a[0]; }\n",
		     "t.qasm:3:15: error: qubit arguments cannot be indexed inside "
		     "a gate body");
	expect_error(H "gate g a { measure a -> c; }\n",
		     "t.qasm:3:12: error: 'measure' is not allowed inside a gate "
		     "body (only U, CX, gate calls and barrier)");
	expect_error(H "gate g a { g a; }\n",
		     "t.qasm:3:12: error: gate 'g' cannot use itself in its own "
		     "body");
	expect_error(H "gate g a,b { cx a,a; }\n",
		     "t.qasm:3:19: error: qubit 'a' is used twice in one gate call");
	expect_error(H "gate g a,a { }\n",
		     "t.qasm:3:10: error: 'a' appears twice in the list");
	expect_error(H "gate g a { h a;\n",
		     "t.qasm:4:1: error: end of file inside the body of gate 'g': "
		     "expected '}'");
}

Test(qasm_errors, opaqueGateCannotBeApplied)
{
	expect_error(H "opaque magic(t) a;\nqreg q[1];\nmagic(1) q[0];\n",
		     "t.qasm:5:1: error: gate 'magic' is opaque (declared at "
		     "t.qasm:3:8 without a body) and cannot be simulated");
	expect_error(H "opaque magic a;\ngate g a { magic a; h a; }\nqreg q[1];\n"
		     "g q[0];\n",
		     "t.qasm:6:1: error: gate 'g' uses opaque gate 'magic' "
		     "(declared at t.qasm:3:8 without a body), which cannot be "
		     "simulated");
}

Test(qasm_errors, broadcastAndArguments)
{
	expect_error(H "qreg a[2];\nqreg b[3];\ncx a, b;\n",
		     "t.qasm:5:7: error: register 'b' has 3 elements but 'a' has "
		     "2: registers in one statement must have equal sizes");
	expect_error(H "qreg q[2];\ncx q[1], q[1];\n",
		     "t.qasm:4:10: error: qubit q[1] is used twice in one "
		     "application of 'cx'");
	expect_error(H "qreg q[2];\ncx q[0], q;\n",
		     "t.qasm:4:10: error: qubit q[0] is used twice in one "
		     "application of 'cx'");
	expect_error(H "qreg q[2];\ncreg c[3];\nmeasure q -> c;\n",
		     "t.qasm:5:14: error: measure: register 'q' has 2 qubits but "
		     "'c' has 3 bits: sizes must match");
	expect_error(H "qreg q[2];\ncreg c[2];\nmeasure q -> c[0];\n",
		     "t.qasm:5:14: error: measure needs a qubit and a bit, or two "
		     "registers: 'q' -> 'c[i]'");
}

Test(qasm_errors, expressions)
{
	expect_error(H "qreg q[1];\nrz(theta) q[0];\n",
		     "t.qasm:4:4: error: 'theta' is not defined here: outside a "
		     "gate body an expression may use only numbers, pi, + - * / ^ "
		     "and sin cos tan exp ln sqrt");
	expect_error(H "qreg q[1];\nrz(1/0) q[0];\n",
		     "t.qasm:4:1: error: parameter 1 of 'rz' is not a finite number "
		     "(inf)");
	expect_error(H "qreg q[1];\nrz(ln(-1)) q[0];\n",
		     "t.qasm:4:1: error: parameter 1 of 'rz' is not a finite number "
		     "(NaN)");
	expect_error(H "qreg q[1];\nrz((1+2) q[0];\n",
		     "t.qasm:4:10: error: expected ',' or ')' in the parameter "
		     "list, found 'q'");
	expect_error(H "qreg q[1];\nrz((1+2 q[0];\n",
		     "t.qasm:4:9: error: expected ')' to close the '(' at 4:4, "
		     "found 'q'");
	expect_error(H "qreg q[1];\nrz(sin 1) q[0];\n",
		     "t.qasm:4:8: error: expected '(' after function 'sin', found "
		     "'1'");
	expect_error(H "qreg q[1];\nrz(*2) q[0];\n",
		     "t.qasm:4:4: error: expected an expression, found '*'");
	expect_error(H "gate g(t) a { rz(1/(t-t)) a; }\nqreg q[1];\ng(1) q[0];\n",
		     "t.qasm:5:1: error: in gate 'g': parameter 1 of a call "
		     "evaluates to inf");
}

Test(qasm_errors, ifStatement)
{
	expect_error(H "qreg q[1];\nif(q==1) x q[0];\n",
		     "t.qasm:4:4: error: 'q' is a quantum register: if compares a "
		     "classical register");
	expect_error(H "qreg q[1];\ncreg c[1];\nif(c[0]==1) x q[0];\n",
		     "t.qasm:5:5: error: if compares a whole classical register in "
		     "OpenQASM 2.0, not a single bit");
	expect_error(H "qreg q[1];\ncreg c[1];\nif(c==1) barrier q;\n",
		     "t.qasm:5:10: error: expected a gate application, measure or "
		     "reset after the if condition, found 'barrier'");
	expect_error(H "qreg q[1];\nif(d==1) x q[0];\n",
		     "t.qasm:4:4: error: undeclared classical register 'd' in the "
		     "if condition");
}

/* Write @text to @dir/@name. */
static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

Test(qasm_errors, includeErrorsNameTheIncludedFile)
{
	char dir[] = "/tmp/qshm-rt-errXXXXXX", path[600];
	struct qasm_circuit *c;
	struct rt_error err;

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "main.qasm", "OPENQASM 2.0;\ninclude \"lib.inc\";\n");
	write_file(dir, "lib.inc", "gate g a {\n  U(0,0,0) a\n}\n");
	write_file(dir, "loop.qasm", "OPENQASM 2.0;\ninclude \"loop.qasm\";\n");
	write_file(dir, "missing.qasm", "OPENQASM 2.0;\ninclude \"nope.inc\";\n");

	snprintf(path, sizeof(path), "%s/main.qasm", dir);
	cr_assert_lt(qasm_parse_file(path, 0, &c, &err), 0);
	char want[800];

	snprintf(want, sizeof(want), "%s/lib.inc:3:1: error: expected ',' or "
		 "';' after the arguments, found '}'", dir);
	cr_expect_str_eq(err.msg, want);

	snprintf(path, sizeof(path), "%s/loop.qasm", dir);
	cr_assert_lt(qasm_parse_file(path, 0, &c, &err), 0);
	snprintf(want, sizeof(want), "%s/loop.qasm:2:1: error: includes nested "
		 "more than 32 deep: does 'loop.qasm' include itself?", dir);
	cr_expect_str_eq(err.msg, want);

	snprintf(path, sizeof(path), "%s/missing.qasm", dir);
	cr_assert_eq(qasm_parse_file(path, 0, &c, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s/missing.qasm:2:9: error: cannot read "
		 "include file 'nope.inc' (looked for '%s/nope.inc'): No such "
		 "file or directory", dir, dir);
	cr_expect_str_eq(err.msg, want);

	for (const char *const *f = (const char *const[]){ "main.qasm",
			"lib.inc", "loop.qasm", "missing.qasm", NULL }; *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	rmdir(dir);
}

Test(qasm_errors, missingFileAndBadFlags)
{
	struct qasm_circuit *c;
	struct rt_error err;

	cr_assert_eq(qasm_parse_file("/nonexistent/x.qasm", 0, &c, &err), -ENOENT);
	cr_expect_str_eq(err.msg, "/nonexistent/x.qasm: error: cannot read the "
			 "file: No such file or directory");
	cr_assert_null(c);
	cr_assert_eq(qasm_parse_string("t.qasm", "", 0, 0x100, &c, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "t.qasm: error: unknown parse flags 0x100");
	/* A NULL error report is allowed. */
	cr_assert_lt(qasm_parse_string("t.qasm", "x", 1, 0, &c, NULL), 0);
}

/* The known defects of the corpus, at their exact positions. */
static void expect_corpus_error(const char *rel, const char *where,
				const char *what)
{
	const char *dir = getenv("QSHM_QASM_DIR");
	char path[512], want[1024];
	struct qasm_circuit *c;
	struct rt_error err;

	cr_assert_not_null(dir, "QSHM_QASM_DIR is not set");
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (access(path, R_OK) != 0)
		cr_skip_test("%s is not there", path);
	cr_assert_eq(qasm_parse_file(path, 0, &c, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:%s: error: %s", path, where, what);
	cr_expect_str_eq(err.msg, want);
}

Test(qasm_errors, corpusVqeUccsdMeasuresUndeclaredQ)
{
	const char *what = "undeclared quantum register 'q' (declared quantum "
			   "registers: reg)";

	expect_corpus_error("small/vqe_uccsd_n4.qasm", "225:9", what);
	expect_corpus_error("small/vqe_uccsd_n6.qasm", "2286:9", what);
	expect_corpus_error("small/vqe_uccsd_n8.qasm", "10813:9", what);
}

Test(qasm_errors, corpusHhlN10MeasuresUndeclaredQ)
{
	expect_corpus_error("small/hhl_n10.qasm", "186801:9",
			    "undeclared quantum register 'q' (declared quantum "
			    "registers: q0, q1, q2)");
}

Test(qasm_errors, corpusSatN11HasNoHeader)
{
	expect_corpus_error("medium/sat_n11.qasm", "3:1",
			    "missing 'OPENQASM 2.0;' header: expected it as the "
			    "first statement, found 'include'");
}
