/*
 * test_qelib1.c - every gate of the built-in qelib1.inc against its matrix,
 * written here independently (explicit matrices, controlled constructions,
 * or the gate's definition multiplied out by this file's own code), global
 * phase included; and each native implementation against the gate's
 * qelib1 body expanded down to U and CX.
 */
#include "rt_test.h"

#define MAXQ 5
#define DIM (1u << MAXQ)

static const double P[4] = { 0.37, -1.21, 2.05, 0.83 };
static const double R2 = 0.70710678118654752440;

typedef void (*build_fn)(cplx *u);

struct gate_case {
	const char *name;
	unsigned nparams, nqubits;
	build_fn build;     /* exact expected unitary */
	bool up_to_phase;   /* only compare up to a global phase */
};

/* ---- helpers: 2x2 matrices embedded with controls ---- */

static void mat2(cplx m[4], cplx a, cplx b, cplx c, cplx d)
{
	m[0] = a;
	m[1] = b;
	m[2] = c;
	m[3] = d;
}

/* u = the 2x2 @m on the last of @n qubits, controlled by all the others. */
static void controlled(cplx *u, unsigned n, const cplx m[4])
{
	rt_eye(u, (size_t)1 << n);
	rt_left_apply(u, n, n - 1, (1u << (n - 1)) - 1, m);
}

static void one(cplx *u, const cplx m[4])
{
	controlled(u, 1, m);
}

static void u3m(cplx m[4], double a, double b, double c)
{
	rt_u3(a, b, c, m);
}

static void diag_phase(cplx m[4], double l)
{
	mat2(m, 1, 0, 0, cexp(I * l));
}

static const cplx MX[4] = { 0, 1, 1, 0 };
static const cplx MY[4] = { 0, -I, I, 0 };
static const cplx MZ[4] = { 1, 0, 0, -1 };

static void mh(cplx m[4])
{
	mat2(m, R2, R2, R2, -R2);
}

static void mrx(cplx m[4], double a)
{
	mat2(m, cos(a / 2), -I * sin(a / 2), -I * sin(a / 2), cos(a / 2));
}

static void mry(cplx m[4], double a)
{
	mat2(m, cos(a / 2), -sin(a / 2), sin(a / 2), cos(a / 2));
}

/* plain sqrt(X) */
static void msx(cplx m[4])
{
	mat2(m, (1 + I) / 2, (1 - I) / 2, (1 - I) / 2, (1 + I) / 2);
}

/* ---- the expected unitaries ---- */

static void b_u3(cplx *u) { cplx m[4]; u3m(m, P[0], P[1], P[2]); one(u, m); }
static void b_u2(cplx *u) { cplx m[4]; u3m(m, M_PI / 2, P[0], P[1]); one(u, m); }
static void b_u1(cplx *u) { cplx m[4]; diag_phase(m, P[0]); one(u, m); }
static void b_id(cplx *u) { rt_eye(u, 2); }
static void b_x(cplx *u) { one(u, MX); }
static void b_y(cplx *u) { one(u, MY); }
static void b_z(cplx *u) { one(u, MZ); }
static void b_h(cplx *u) { cplx m[4]; mh(m); one(u, m); }
static void b_s(cplx *u) { cplx m[4]; diag_phase(m, M_PI / 2); one(u, m); }
static void b_sdg(cplx *u) { cplx m[4]; diag_phase(m, -M_PI / 2); one(u, m); }
static void b_t(cplx *u) { cplx m[4]; diag_phase(m, M_PI / 4); one(u, m); }
static void b_tdg(cplx *u) { cplx m[4]; diag_phase(m, -M_PI / 4); one(u, m); }
static void b_rx(cplx *u) { cplx m[4]; mrx(m, P[0]); one(u, m); }
static void b_ry(cplx *u) { cplx m[4]; mry(m, P[0]); one(u, m); }

/* qelib1: sx = sdg h sdg, which is e^{-i pi/4} sqrt(X); sxdg = s h s */
static void b_sx(cplx *u)
{
	cplx m[4];

	mat2(m, R2, -I * R2, -I * R2, R2);
	one(u, m);
}

static void b_sxdg(cplx *u)
{
	cplx m[4];

	mat2(m, R2, I * R2, I * R2, R2);
	one(u, m);
}

static void b_cx(cplx *u) { controlled(u, 2, MX); }
static void b_cy(cplx *u) { controlled(u, 2, MY); }
static void b_cz(cplx *u) { controlled(u, 2, MZ); }
static void b_ch(cplx *u) { cplx m[4]; mh(m); controlled(u, 2, m); }
static void b_crx(cplx *u) { cplx m[4]; mrx(m, P[0]); controlled(u, 2, m); }
static void b_cry(cplx *u) { cplx m[4]; mry(m, P[0]); controlled(u, 2, m); }

static void b_crz(cplx *u)
{
	cplx m[4];

	mat2(m, cexp(-I * P[0] / 2), 0, 0, cexp(I * P[0] / 2));
	controlled(u, 2, m);
}

static void b_cu1(cplx *u) { cplx m[4]; diag_phase(m, P[0]); controlled(u, 2, m); }
static void b_cu3(cplx *u) { cplx m[4]; u3m(m, P[0], P[1], P[2]); controlled(u, 2, m); }
static void b_csx(cplx *u) { cplx m[4]; msx(m); controlled(u, 2, m); }

static void b_cu(cplx *u)
{
	cplx m[4];

	u3m(m, P[0], P[1], P[2]);
	for (int i = 0; i < 4; i++)
		m[i] *= cexp(I * P[3]);
	controlled(u, 2, m);
}

static void b_ccx(cplx *u) { controlled(u, 3, MX); }
static void b_c3x(cplx *u) { controlled(u, 4, MX); }
static void b_c4x(cplx *u) { controlled(u, 5, MX); }
static void b_c3sqrtx(cplx *u) { cplx m[4]; msx(m); controlled(u, 4, m); }

/* Permutation matrix: basis state i goes to perm(i). */
static void permutation(cplx *u, unsigned n, size_t (*perm)(size_t))
{
	size_t dim = (size_t)1 << n;

	for (size_t i = 0; i < dim * dim; i++)
		u[i] = 0;
	for (size_t i = 0; i < dim; i++)
		u[perm(i) * dim + i] = 1;
}

static size_t swap01(size_t i)
{
	return (i & ~(size_t)3) | ((i & 1) << 1) | ((i >> 1) & 1);
}

/* cswap a,b,c: with a (bit 0) set, exchange b (bit 1) and c (bit 2) */
static size_t cswap_perm(size_t i)
{
	if (!(i & 1))
		return i;
	return 1 | ((i & 2) << 1) | ((i & 4) >> 1);
}

static void b_swap(cplx *u) { permutation(u, 2, swap01); }
static void b_cswap(cplx *u) { permutation(u, 3, cswap_perm); }

/* qelib1 rzz = cx; u1 on the target; cx = diag(1, e^{it}, e^{it}, 1) */
static void b_rzz(cplx *u)
{
	rt_eye(u, 4);
	u[1 * 4 + 1] = cexp(I * P[0]);
	u[2 * 4 + 2] = cexp(I * P[0]);
}

/* exp(-i t/2 A(x)A) for A = X or Y: cos I - i sin A(x)A (up to phase) */
static void pauli_pair(cplx *u, const cplx a[4], double t)
{
	for (unsigned r = 0; r < 4; r++)
		for (unsigned c = 0; c < 4; c++) {
			cplx aa = a[(r & 1) * 2 + (c & 1)] *
				  a[((r >> 1) & 1) * 2 + ((c >> 1) & 1)];

			u[r * 4 + c] = (r == c ? cos(t / 2) : 0) - I * sin(t / 2) * aa;
		}
}

static void b_rxx(cplx *u) { pauli_pair(u, MX, P[0]); }
static void b_ryy(cplx *u) { pauli_pair(u, MY, P[0]); }

/* rccx and rc3x multiplied out from their qelib1 definitions with this
 * file's own matrices: u2(0,pi) = H, u1 = diag, cx. */
static void seq_h(cplx *u, unsigned n, unsigned t)
{
	cplx m[4];

	u3m(m, M_PI / 2, 0, M_PI);
	rt_left_apply(u, n, t, 0, m);
}

static void seq_u1(cplx *u, unsigned n, unsigned t, double l)
{
	cplx m[4];

	diag_phase(m, l);
	rt_left_apply(u, n, t, 0, m);
}

static void seq_cx(cplx *u, unsigned n, unsigned c, unsigned t)
{
	rt_left_apply(u, n, t, 1u << c, MX);
}

static void b_rccx(cplx *u)
{
	const double q = M_PI / 4;

	rt_eye(u, 8);
	seq_h(u, 3, 2); seq_u1(u, 3, 2, q); seq_cx(u, 3, 1, 2);
	seq_u1(u, 3, 2, -q); seq_cx(u, 3, 0, 2); seq_u1(u, 3, 2, q);
	seq_cx(u, 3, 1, 2); seq_u1(u, 3, 2, -q); seq_h(u, 3, 2);
}

static void b_rc3x(cplx *u)
{
	const double q = M_PI / 4;

	rt_eye(u, 16);
	seq_h(u, 4, 3); seq_u1(u, 4, 3, q); seq_cx(u, 4, 2, 3);
	seq_u1(u, 4, 3, -q); seq_h(u, 4, 3); seq_cx(u, 4, 0, 3);
	seq_u1(u, 4, 3, q); seq_cx(u, 4, 1, 3); seq_u1(u, 4, 3, -q);
	seq_cx(u, 4, 0, 3); seq_u1(u, 4, 3, q); seq_cx(u, 4, 1, 3);
	seq_u1(u, 4, 3, -q); seq_h(u, 4, 3); seq_u1(u, 4, 3, q);
	seq_cx(u, 4, 2, 3); seq_u1(u, 4, 3, -q); seq_h(u, 4, 3);
}

static const struct gate_case cases[] = {
	{ "u3", 3, 1, b_u3, false }, { "u2", 2, 1, b_u2, false },
	{ "u1", 1, 1, b_u1, false }, { "cx", 0, 2, b_cx, false },
	{ "id", 0, 1, b_id, false }, { "u0", 1, 1, b_id, false },
	{ "u", 3, 1, b_u3, false }, { "p", 1, 1, b_u1, false },
	{ "x", 0, 1, b_x, false }, { "y", 0, 1, b_y, false },
	{ "z", 0, 1, b_z, false }, { "h", 0, 1, b_h, false },
	{ "s", 0, 1, b_s, false }, { "sdg", 0, 1, b_sdg, false },
	{ "t", 0, 1, b_t, false }, { "tdg", 0, 1, b_tdg, false },
	{ "rx", 1, 1, b_rx, false }, { "ry", 1, 1, b_ry, false },
	{ "rz", 1, 1, b_u1, false }, { "sx", 0, 1, b_sx, false },
	{ "sxdg", 0, 1, b_sxdg, false }, { "cz", 0, 2, b_cz, false },
	{ "cy", 0, 2, b_cy, false }, { "swap", 0, 2, b_swap, false },
	{ "ch", 0, 2, b_ch, false }, { "ccx", 0, 3, b_ccx, false },
	{ "cswap", 0, 3, b_cswap, false }, { "crx", 1, 2, b_crx, false },
	{ "cry", 1, 2, b_cry, false }, { "crz", 1, 2, b_crz, false },
	{ "cu1", 1, 2, b_cu1, false }, { "cp", 1, 2, b_cu1, false },
	{ "cu3", 3, 2, b_cu3, false }, { "csx", 0, 2, b_csx, false },
	{ "cu", 4, 2, b_cu, false }, { "rxx", 1, 2, b_rxx, true },
	{ "rzz", 1, 2, b_rzz, false }, { "ryy", 1, 2, b_ryy, true },
	{ "rccx", 0, 3, b_rccx, false }, { "rc3x", 0, 4, b_rc3x, false },
	{ "c3x", 0, 4, b_c3x, false }, { "c3sqrtx", 0, 4, b_c3sqrtx, false },
	{ "c4x", 0, 5, b_c4x, false },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* The program applying gate @g to q[0..k-1] with the parameters P. */
static void program(const struct gate_case *g, char *src, size_t len)
{
	size_t n = (size_t)snprintf(src, len, "OPENQASM 2.0;\ninclude "
				    "\"qelib1.inc\";\nqreg q[%u];\n%s", g->nqubits,
				    g->name);

	if (g->nparams) {
		for (unsigned i = 0; i < g->nparams; i++)
			n += (size_t)snprintf(src + n, len - n, "%s%.17g",
					      i ? "," : "(", P[i]);
		n += (size_t)snprintf(src + n, len - n, ")");
	}
	for (unsigned i = 0; i < g->nqubits; i++)
		n += (size_t)snprintf(src + n, len - n, "%sq[%u]", i ? "," : " ",
				      i);
	snprintf(src + n, len - n, ";\n");
}

static void unitary_of(const struct gate_case *g, unsigned flags, cplx *u)
{
	char src[512];
	struct qasm_circuit *c;

	program(g, src, sizeof(src));
	c = rt_parse_flags(src, flags);
	cr_assert_eq(c->nqubits, g->nqubits);
	rt_unitary(c, u);
	qasm_circuit_free(c);
}

Test(qelib1, everyLibraryGateHasACase)
{
	const char *const *names = qasm_qelib1_gate_names();

	for (size_t i = 0; names[i]; i++) {
		bool found = false;

		for (size_t k = 0; k < NCASES; k++)
			found |= strcmp(cases[k].name, names[i]) == 0;
		cr_expect(found, "no test case for gate '%s'", names[i]);
	}
}

Test(qelib1, everyGateMatchesItsIndependentMatrix)
{
	static cplx got[DIM * DIM], want[DIM * DIM];

	for (size_t k = 0; k < NCASES; k++) {
		const struct gate_case *g = &cases[k];
		size_t n = (size_t)1 << (2 * g->nqubits);

		/* every combination of NO_NATIVE, NO_FUSE, NO_LIB_CACHE */
		for (unsigned fl = 0; fl < 8; fl++) {
			unitary_of(g, fl, got);
			g->build(want);
			double d = g->up_to_phase ? rt_maxdiff_phase(got, want, n)
						  : rt_maxdiff(got, want, n);

			cr_expect_leq(d, 1e-12, "gate %s (flags %u): differs by %g",
				      g->name, fl, d);
		}
	}
}

/* The library parsed once per process and shared gives the operations
 * that parsing its text for each program gives, bit for bit. */
Test(qelib1, sharedLibraryGivesTheOperationsOfItsText)
{
	for (size_t k = 0; k < NCASES; k++) {
		for (unsigned fl = 0; fl < 4; fl++) {
			char src[512];
			struct qasm_circuit *a, *b;

			program(&cases[k], src, sizeof(src));
			a = rt_parse_flags(src, fl);
			b = rt_parse_flags(src, fl | QASM_PARSE_NO_LIB_CACHE);
			cr_assert_eq(a->nops, b->nops, "gate %s flags %u",
				     cases[k].name, fl);
			cr_assert_eq(a->nmats, b->nmats, "gate %s flags %u",
				     cases[k].name, fl);
			cr_expect(memcmp(a->ops, b->ops,
					 a->nops * sizeof(*a->ops)) == 0 &&
				  memcmp(a->mats, b->mats,
					 a->nmats * sizeof(double)) == 0,
				  "gate %s flags %u: the operations differ",
				  cases[k].name, fl);
			qasm_circuit_free(a);
			qasm_circuit_free(b);
		}
	}
}

Test(qelib1, nativeGatesEqualTheirQelib1Definitions)
{
	static cplx native[DIM * DIM], body[DIM * DIM];

	for (size_t k = 0; k < NCASES; k++) {
		const struct gate_case *g = &cases[k];
		size_t n = (size_t)1 << (2 * g->nqubits);

		unitary_of(g, 0, native);
		unitary_of(g, QASM_PARSE_NO_NATIVE | QASM_PARSE_NO_FUSE, body);
		cr_expect_leq(rt_maxdiff(native, body, n), 1e-12,
			      "gate %s: native and definition differ by %g",
			      g->name, rt_maxdiff(native, body, n));
	}
}

Test(qelib1, relativePhaseToffolisAreToffoliUpToADiagonal)
{
	static cplx u[16 * 16];
	const struct gate_case *rc[2] = { NULL, NULL };

	for (size_t k = 0; k < NCASES; k++) {
		if (strcmp(cases[k].name, "rccx") == 0)
			rc[0] = &cases[k];
		if (strcmp(cases[k].name, "rc3x") == 0)
			rc[1] = &cases[k];
	}
	for (int w = 0; w < 2; w++) {
		unsigned nq = rc[w]->nqubits;
		size_t dim = (size_t)1 << nq, all = dim / 2 - 1;

		unitary_of(rc[w], 0, u);
		for (size_t c = 0; c < dim; c++) {
			/* |c> goes to |c with the target flipped iff all
			 * controls are set>, times a phase */
			size_t to = (c & all) == all ? c ^ (dim / 2) : c;

			for (size_t r = 0; r < dim; r++)
				cr_expect_float_eq(cabs(u[r * dim + c]),
						   r == to ? 1.0 : 0.0, 1e-12,
						   "%s col %zu row %zu",
						   rc[w]->name, c, r);
		}
	}
}

Test(qelib1, gatesActOnTheNamedQubitsOfALargerRegister)
{
	/* cu3 on (q[3], q[1]) of four qubits, against the 2-qubit case. */
	static cplx small[16], big[256];
	struct qasm_circuit *c = rt_parse(
		"OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[4];\n"
		"cu3(0.37,-1.21,2.05) q[3], q[1];\n");

	b_cu3(small);
	rt_unitary(c, big);
	for (size_t r = 0; r < 16; r++)
		for (size_t k = 0; k < 16; k++) {
			/* local bit 0 = q[3] (control), bit 1 = q[1] */
			size_t lr = ((r >> 3) & 1) | (((r >> 1) & 1) << 1);
			size_t lk = ((k >> 3) & 1) | (((k >> 1) & 1) << 1);
			bool same_rest = (r & 5) == (k & 5);
			cplx want = same_rest ? small[lr * 4 + lk] : 0;

			cr_expect_leq(cabs(big[r * 16 + k] - want), 1e-12,
				      "row %zu col %zu", r, k);
		}
	qasm_circuit_free(c);
}
