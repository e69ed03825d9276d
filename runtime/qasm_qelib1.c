/*
 * qasm_qelib1.c - the built-in qelib1.inc: the extended standard library of
 * current OpenQASM 2.0 tools, and native implementations of its gates.
 *
 * `include "qelib1.inc";` parses qasm_qelib1_source below. Its definitions
 * fix the meaning of every gate, global phase included; they follow the
 * qelib1.inc that current Qiskit ships (u3 u2 u1 cx id u0 u p x y z h s sdg
 * t tdg rx ry rz sx sxdg cz cy swap ch ccx cswap crx cry crz cu1 cp cu3 csx
 * cu rxx rzz rccx rc3x c3x c3sqrtx c4x), plus ryy. Notable points:
 *   - rz(l) is u1(l) = diag(1, e^{il}); rzz(t) = diag(1, e^{it}, e^{it}, 1);
 *   - cu3 has the control phase (QASMBench's old copy lacks it);
 *   - cu(theta,phi,lambda,gamma) is controlled e^{i gamma} U(theta,phi,lambda);
 *   - sx = e^{-i pi/4} sqrt(X) as written (sdg; h; sdg), whereas csx and
 *     c3sqrtx control the plain sqrt(X) = (1/2)[[1+i,1-i],[1-i,1+i]];
 *   - rccx and rc3x are the relative-phase Toffolis (not exact Toffolis);
 *   - c3x, c4x, c3sqrtx are defined here through multi-controlled phase
 *     ladders (helpers named __c2p, __c3p, __c4p, which programs cannot
 *     name): the same unitaries as Qiskit's, written independently.
 * Most gates also have a native implementation (one controlled 2x2, or a
 * 4x4), used unless QASM_PARSE_NO_NATIVE; the tests check each native
 * against its definition below and against an independent matrix.
 */
#include "qasm_internal.h"

#include <math.h>
#include <string.h>

const char qasm_qelib1_source[] =
	"OPENQASM 2.0;\n"
	"gate u3(theta,phi,lambda) q { U(theta,phi,lambda) q; }\n"
	"gate u2(phi,lambda) q { U(pi/2,phi,lambda) q; }\n"
	"gate u1(lambda) q { U(0,0,lambda) q; }\n"
	"gate cx c,t { CX c,t; }\n"
	"gate id a { U(0,0,0) a; }\n"
	"gate u0(gamma) q { U(0,0,0) q; }\n"
	"gate u(theta,phi,lambda) q { U(theta,phi,lambda) q; }\n"
	"gate p(lambda) q { U(0,0,lambda) q; }\n"
	"gate x a { u3(pi,0,pi) a; }\n"
	"gate y a { u3(pi,pi/2,pi/2) a; }\n"
	"gate z a { u1(pi) a; }\n"
	"gate h a { u2(0,pi) a; }\n"
	"gate s a { u1(pi/2) a; }\n"
	"gate sdg a { u1(-pi/2) a; }\n"
	"gate t a { u1(pi/4) a; }\n"
	"gate tdg a { u1(-pi/4) a; }\n"
	"gate rx(theta) a { u3(theta,-pi/2,pi/2) a; }\n"
	"gate ry(theta) a { u3(theta,0,0) a; }\n"
	"gate rz(phi) a { u1(phi) a; }\n"
	"gate sx a { sdg a; h a; sdg a; }\n"
	"gate sxdg a { s a; h a; s a; }\n"
	"gate cz a,b { h b; cx a,b; h b; }\n"
	"gate cy a,b { sdg b; cx a,b; s b; }\n"
	"gate swap a,b { cx a,b; cx b,a; cx a,b; }\n"
	"gate ch a,b { s b; h b; t b; cx a,b; tdg b; h b; sdg b; }\n"
	"gate ccx a,b,c { h c; cx b,c; tdg c; cx a,c; t c; cx b,c; tdg c;"
	" cx a,c; t b; t c; h c; cx a,b; t a; tdg b; cx a,b; }\n"
	"gate cswap a,b,c { cx c,b; ccx a,b,c; cx c,b; }\n"
	"gate crx(lambda) a,b { u1(pi/2) b; cx a,b; u3(-lambda/2,0,0) b;"
	" cx a,b; u3(lambda/2,-pi/2,0) b; }\n"
	"gate cry(lambda) a,b { ry(lambda/2) b; cx a,b; ry(-lambda/2) b;"
	" cx a,b; }\n"
	"gate crz(lambda) a,b { rz(lambda/2) b; cx a,b; rz(-lambda/2) b;"
	" cx a,b; }\n"
	"gate cu1(lambda) a,b { u1(lambda/2) a; cx a,b; u1(-lambda/2) b;"
	" cx a,b; u1(lambda/2) b; }\n"
	"gate cp(lambda) a,b { p(lambda/2) a; cx a,b; p(-lambda/2) b;"
	" cx a,b; p(lambda/2) b; }\n"
	"gate cu3(theta,phi,lambda) c,t { u1((lambda+phi)/2) c;"
	" u1((lambda-phi)/2) t; cx c,t; u3(-theta/2,0,-(phi+lambda)/2) t;"
	" cx c,t; u3(theta/2,phi,0) t; }\n"
	"gate csx a,b { h b; cu1(pi/2) a,b; h b; }\n"
	"gate cu(theta,phi,lambda,gamma) c,t { p(gamma) c;"
	" p((lambda+phi)/2) c; p((lambda-phi)/2) t; cx c,t;"
	" u(-theta/2,0,-(phi+lambda)/2) t; cx c,t; u(theta/2,phi,0) t; }\n"
	"gate rxx(theta) a,b { u3(pi/2,theta,0) a; h b; cx a,b; u1(-theta) b;"
	" cx a,b; h b; u2(-pi,pi-theta) a; }\n"
	"gate rzz(theta) a,b { cx a,b; u1(theta) b; cx a,b; }\n"
	"gate ryy(theta) a,b { rx(pi/2) a; rx(pi/2) b; cx a,b; rz(theta) b;"
	" cx a,b; rx(-pi/2) a; rx(-pi/2) b; }\n"
	"gate rccx a,b,c { u2(0,pi) c; u1(pi/4) c; cx b,c; u1(-pi/4) c;"
	" cx a,c; u1(pi/4) c; cx b,c; u1(-pi/4) c; u2(0,pi) c; }\n"
	"gate rc3x a,b,c,d { u2(0,pi) d; u1(pi/4) d; cx c,d; u1(-pi/4) d;"
	" u2(0,pi) d; cx a,d; u1(pi/4) d; cx b,d; u1(-pi/4) d; cx a,d;"
	" u1(pi/4) d; cx b,d; u1(-pi/4) d; u2(0,pi) d; u1(pi/4) d; cx c,d;"
	" u1(-pi/4) d; u2(0,pi) d; }\n"
	/* Multi-controlled phase C^k P(l) on (c1..ck, t):
	 *   cu1(l/2) ck,t; C^{k-1}X(c1..c_{k-1}; ck); cu1(-l/2) ck,t;
	 *   C^{k-1}X(c1..c_{k-1}; ck); C^{k-1}P(l/2)(c1..c_{k-1}, t).
	 * With c1..c_{k-1} all 1, ck is flipped between the two cu1s, which
	 * add the phase (l/2) t (ck - (1 - ck)); the last call adds (l/2) t:
	 * l t ck in total. Otherwise the two cu1s cancel and the last call
	 * adds nothing. */
	"gate __c2p(lambda) a,b,c { cu1(lambda/2) b,c; cx a,b;"
	" cu1(-lambda/2) b,c; cx a,b; cu1(lambda/2) a,c; }\n"
	"gate __c3p(lambda) a,b,c,d { cu1(lambda/2) c,d; ccx a,b,c;"
	" cu1(-lambda/2) c,d; ccx a,b,c; __c2p(lambda/2) a,b,d; }\n"
	"gate c3x a,b,c,d { h d; __c3p(pi) a,b,c,d; h d; }\n"
	"gate c3sqrtx a,b,c,d { h d; __c3p(pi/2) a,b,c,d; h d; }\n"
	"gate __c4p(lambda) a,b,c,d,e { cu1(lambda/2) d,e; c3x a,b,c,d;"
	" cu1(-lambda/2) d,e; c3x a,b,c,d; __c3p(lambda/2) a,b,c,e; }\n"
	"gate c4x a,b,c,d,e { h e; __c4p(pi) a,b,c,d,e; h e; }\n";

static const char *const gate_names[] = {
	"u3", "u2", "u1", "cx", "id", "u0", "u", "p", "x", "y", "z", "h", "s",
	"sdg", "t", "tdg", "rx", "ry", "rz", "sx", "sxdg", "cz", "cy", "swap",
	"ch", "ccx", "cswap", "crx", "cry", "crz", "cu1", "cp", "cu3", "csx",
	"cu", "rxx", "rzz", "ryy", "rccx", "rc3x", "c3x", "c3sqrtx", "c4x",
	NULL,
};

const char *const *qasm_qelib1_gate_names(void)
{
	return gate_names;
}

/* ---- native implementations ---- */

#define R2 M_SQRT1_2

static void mat_diag(double m[8], double phase)
{
	m[0] = 1;
	m[1] = 0;
	m[2] = m[3] = m[4] = m[5] = 0;
	m[6] = cos(phase);
	m[7] = sin(phase);
}

static void mat_rx(double m[8], double th)
{
	double c = cos(th / 2), s = sin(th / 2);

	m[0] = c; m[1] = 0; m[2] = 0; m[3] = -s;
	m[4] = 0; m[5] = -s; m[6] = c; m[7] = 0;
}

static void mat_ry(double m[8], double th)
{
	double c = cos(th / 2), s = sin(th / 2);

	m[0] = c; m[1] = 0; m[2] = -s; m[3] = 0;
	m[4] = s; m[5] = 0; m[6] = c; m[7] = 0;
}

static const double MAT_X[8] = { 0, 0, 1, 0, 1, 0, 0, 0 };
static const double MAT_Y[8] = { 0, 0, 0, -1, 0, 1, 0, 0 };
static const double MAT_Z[8] = { 1, 0, 0, 0, 0, 0, -1, 0 };
static const double MAT_H[8] = { R2, 0, R2, 0, R2, 0, -R2, 0 };
static const double MAT_I[8] = { 1, 0, 0, 0, 0, 0, 1, 0 };
static const double MAT_S[8] = { 1, 0, 0, 0, 0, 0, 0, 1 };
static const double MAT_SDG[8] = { 1, 0, 0, 0, 0, 0, 0, -1 };
static const double MAT_T[8] = { 1, 0, 0, 0, 0, 0, R2, R2 };
static const double MAT_TDG[8] = { 1, 0, 0, 0, 0, 0, R2, -R2 };
/* sdg h sdg = e^{-i pi/4} sqrt(X) */
static const double MAT_SX[8] = { R2, 0, 0, -R2, 0, -R2, R2, 0 };
/* s h s */
static const double MAT_SXDG[8] = { R2, 0, 0, R2, 0, R2, R2, 0 };
/* sqrt(X) without the phase: H diag(1, i) H */
static const double MAT_SQRTX[8] = { .5, .5, .5, -.5, .5, -.5, .5, .5 };
/* swap on (a, b): index b0 + 2 b1, exchanges 01 and 10 */
static const double MAT_SWAP[32] = {
	1, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 1, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 1, 0,
};

#define BIT(q) (1ull << (q))

#define NATIVE_FIXED1(fname, M) \
	static int fname(struct qasm_sink *s, const double *p, \
			 const uint32_t *q) \
	{ \
		(void)p; \
		return s->gate1(s, q[0], 0, M); \
	}

#define NATIVE_FIXED_C(fname, M, nc) \
	static int fname(struct qasm_sink *s, const double *p, \
			 const uint32_t *q) \
	{ \
		uint64_t ctrl = 0; \
		(void)p; \
		for (int i = 0; i < (nc); i++) \
			ctrl |= BIT(q[i]); \
		return s->gate1(s, q[nc], ctrl, M); \
	}

NATIVE_FIXED1(nat_id, MAT_I)
NATIVE_FIXED1(nat_x, MAT_X)
NATIVE_FIXED1(nat_y, MAT_Y)
NATIVE_FIXED1(nat_z, MAT_Z)
NATIVE_FIXED1(nat_h, MAT_H)
NATIVE_FIXED1(nat_s, MAT_S)
NATIVE_FIXED1(nat_sdg, MAT_SDG)
NATIVE_FIXED1(nat_t, MAT_T)
NATIVE_FIXED1(nat_tdg, MAT_TDG)
NATIVE_FIXED1(nat_sx, MAT_SX)
NATIVE_FIXED1(nat_sxdg, MAT_SXDG)
NATIVE_FIXED_C(nat_cx, MAT_X, 1)
NATIVE_FIXED_C(nat_cy, MAT_Y, 1)
NATIVE_FIXED_C(nat_cz, MAT_Z, 1)
NATIVE_FIXED_C(nat_ch, MAT_H, 1)
NATIVE_FIXED_C(nat_csx, MAT_SQRTX, 1)
NATIVE_FIXED_C(nat_ccx, MAT_X, 2)
NATIVE_FIXED_C(nat_c3x, MAT_X, 3)
NATIVE_FIXED_C(nat_c3sqrtx, MAT_SQRTX, 3)
NATIVE_FIXED_C(nat_c4x, MAT_X, 4)

static int nat_u3(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	qasm_mat_u3(p[0], p[1], p[2], m);
	return s->gate1(s, q[0], 0, m);
}

static int nat_u2(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	qasm_mat_u3(M_PI / 2, p[0], p[1], m);
	return s->gate1(s, q[0], 0, m);
}

static int nat_u1(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	mat_diag(m, p[0]);
	return s->gate1(s, q[0], 0, m);
}

static int nat_rx(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	mat_rx(m, p[0]);
	return s->gate1(s, q[0], 0, m);
}

static int nat_ry(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	mat_ry(m, p[0]);
	return s->gate1(s, q[0], 0, m);
}

static int nat_crx(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	mat_rx(m, p[0]);
	return s->gate1(s, q[1], BIT(q[0]), m);
}

static int nat_cry(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	mat_ry(m, p[0]);
	return s->gate1(s, q[1], BIT(q[0]), m);
}

/* crz(l): controlled diag(e^{-il/2}, e^{il/2}) */
static int nat_crz(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8] = { cos(p[0] / 2), -sin(p[0] / 2), 0, 0,
			0, 0, cos(p[0] / 2), sin(p[0] / 2) };

	return s->gate1(s, q[1], BIT(q[0]), m);
}

static int nat_cu1(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	mat_diag(m, p[0]);
	return s->gate1(s, q[1], BIT(q[0]), m);
}

static int nat_cu3(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8];

	qasm_mat_u3(p[0], p[1], p[2], m);
	return s->gate1(s, q[1], BIT(q[0]), m);
}

/* cu(t,f,l,g): controlled e^{ig} U(t,f,l) */
static int nat_cu(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[8], r[8], cg = cos(p[3]), sg = sin(p[3]);

	qasm_mat_u3(p[0], p[1], p[2], m);
	for (int i = 0; i < 4; i++) {
		r[2 * i] = m[2 * i] * cg - m[2 * i + 1] * sg;
		r[2 * i + 1] = m[2 * i] * sg + m[2 * i + 1] * cg;
	}
	return s->gate1(s, q[1], BIT(q[0]), r);
}

static int nat_swap(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	(void)p;
	return s->gate2(s, q[0], q[1], 0, MAT_SWAP);
}

static int nat_cswap(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	(void)p;
	return s->gate2(s, q[1], q[2], BIT(q[0]), MAT_SWAP);
}

/* rzz(t) = cx; u1(t) on the target; cx = diag(1, e^{it}, e^{it}, 1) */
static int nat_rzz(struct qasm_sink *s, const double *p, const uint32_t *q)
{
	double m[32], c = cos(p[0]), sn = sin(p[0]);

	memset(m, 0, sizeof(m));
	m[0] = 1;
	m[2 * 5] = c;
	m[2 * 5 + 1] = sn;
	m[2 * 10] = c;
	m[2 * 10 + 1] = sn;
	m[2 * 15] = 1;
	return s->gate2(s, q[0], q[1], 0, m);
}

static const struct {
	const char *name;
	qasm_native_fn fn;
} natives[] = {
	{ "u3", nat_u3 }, { "u2", nat_u2 }, { "u1", nat_u1 },
	{ "cx", nat_cx }, { "id", nat_id }, { "u0", nat_id },
	{ "u", nat_u3 }, { "p", nat_u1 }, { "x", nat_x }, { "y", nat_y },
	{ "z", nat_z }, { "h", nat_h }, { "s", nat_s }, { "sdg", nat_sdg },
	{ "t", nat_t }, { "tdg", nat_tdg }, { "rx", nat_rx }, { "ry", nat_ry },
	{ "rz", nat_u1 }, { "sx", nat_sx }, { "sxdg", nat_sxdg },
	{ "cz", nat_cz }, { "cy", nat_cy }, { "swap", nat_swap },
	{ "ch", nat_ch }, { "ccx", nat_ccx }, { "cswap", nat_cswap },
	{ "crx", nat_crx }, { "cry", nat_cry }, { "crz", nat_crz },
	{ "cu1", nat_cu1 }, { "cp", nat_cu1 }, { "cu3", nat_cu3 },
	{ "csx", nat_csx }, { "cu", nat_cu }, { "rzz", nat_rzz },
	{ "c3x", nat_c3x }, { "c3sqrtx", nat_c3sqrtx }, { "c4x", nat_c4x },
};

qasm_native_fn qasm_qelib1_native(const char *name)
{
	for (size_t i = 0; i < sizeof(natives) / sizeof(natives[0]); i++)
		if (strcmp(natives[i].name, name) == 0)
			return natives[i].fn;
	return NULL;
}
