/*
 * test_sim_analytic.c - circuits whose results are known in closed form:
 * Bell, GHZ, W, QFT of a basis state, teleportation with if, mid-circuit
 * measurement with reset and if. Exact distributions (1e-12), final states,
 * and sampled counts.
 */
#include <errno.h>

#include "rt_test.h"

#define H "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

static void expect_dist(const struct rt_dist *d, const char *const *outcomes,
			const double *probs, size_t n)
{
	double total = 0;

	for (size_t i = 0; i < n; i++) {
		cr_expect_float_eq(rt_dist_get(d, outcomes[i]), probs[i], 1e-12,
				   "P(%s) = %.15g, want %.15g", outcomes[i],
				   rt_dist_get(d, outcomes[i]), probs[i]);
		total += rt_dist_get(d, outcomes[i]);
	}
	cr_expect_float_eq(total, 1.0, 1e-12, "other outcomes have %g",
			   1 - total);
}

/* Sampled frequencies within 5 sigma of the exact ones. */
static void expect_sampled(const struct qasm_circuit *c,
			   const struct rt_dist *exact, uint64_t shots,
			   const struct sim_config *cfg)
{
	struct rt_dist *s = rt_sample(c, shots, 7, cfg);

	for (size_t i = 0; i < exact->n; i++) {
		double p = exact->p[i], f = rt_dist_get(s, exact->outcome[i]);

		cr_expect_leq(fabs(f - p), 5 * sqrt(p * (1 - p) / (double)shots) +
			      1e-12, "%s: %g vs %g", exact->outcome[i], f, p);
	}
	for (size_t i = 0; i < s->n; i++)
		cr_expect_gt(rt_dist_get(exact, s->outcome[i]), 0,
			     "impossible outcome %s sampled", s->outcome[i]);
	free(s);
}

Test(sim_analytic, bellState)
{
	struct qasm_circuit *c = rt_parse(H "qreg q[2];\ncreg c[2];\nh q[0];\n"
					  "cx q[0], q[1];\nmeasure q -> c;\n");
	struct rt_dist *d = rt_exact(c, NULL);
	const char *o[] = { "00", "11" };
	const double p[] = { 0.5, 0.5 };
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	const double *amps;
	size_t n;

	expect_dist(d, o, p, 2);
	expect_sampled(c, d, 100000, NULL);
	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_assert_eq(sim_run_final_state(r, &amps, &n), 0);
	cr_assert_eq(n, 4);
	cr_expect_float_eq(amps[0], M_SQRT1_2, 1e-15);
	cr_expect_float_eq(amps[6], M_SQRT1_2, 1e-15);
	cr_expect_float_eq(amps[2] + amps[3] + amps[4] + amps[5], 0, 1e-15);
	sim_run_destroy(r);
	free(d);
	qasm_circuit_free(c);
}

Test(sim_analytic, ghzStateOfSeven)
{
	struct qasm_circuit *c = rt_parse(H "qreg q[7];\ncreg c[7];\nh q[0];\n"
					  "cx q[0], q[1];\ncx q[1], q[2];\n"
					  "cx q[2], q[3];\ncx q[3], q[4];\n"
					  "cx q[4], q[5];\ncx q[5], q[6];\n"
					  "measure q -> c;\n");
	struct rt_dist *d = rt_exact(c, NULL);
	const char *o[] = { "0000000", "1111111" };
	const double p[] = { 0.5, 0.5 };

	expect_dist(d, o, p, 2);
	expect_sampled(c, d, 50000, NULL);
	free(d);
	qasm_circuit_free(c);
}

Test(sim_analytic, wStateOfThree)
{
	/* ry(2 acos(1/sqrt 3)) q0; then split the |1> of q0 into q0/q1 with a
	 * controlled rotation; then the cx chain: (|001>+|010>+|100>)/sqrt 3. */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[3];\ncreg c[3];\n"
		"ry(1.9106332362490186) q[0];\n"  /* 2 acos(1/sqrt(3)) */
		"cry(pi/2) q[0], q[1];\n"
		"cx q[1], q[0];\n"
		"x q[2];\ncx q[0], q[2];\ncx q[1], q[2];\n"
		"measure q -> c;\n");
	struct rt_dist *d = rt_exact(c, NULL);
	const char *o[] = { "001", "010", "100" };
	const double p[] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };

	expect_dist(d, o, p, 3);
	expect_sampled(c, d, 60000, NULL);
	free(d);
	qasm_circuit_free(c);
}

Test(sim_analytic, qftOfABasisState)
{
	/* QFT on 4 qubits of |x>, x = 5, with q[3] the most significant bit:
	 * amplitude of |k> is e^{2 pi i x k / 16} / 4 after the final swaps. */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[4];\n"
		"x q[0];\nx q[2];\n"
		"h q[3];\ncu1(pi/2) q[2], q[3];\ncu1(pi/4) q[1], q[3];\n"
		"cu1(pi/8) q[0], q[3];\n"
		"h q[2];\ncu1(pi/2) q[1], q[2];\ncu1(pi/4) q[0], q[2];\n"
		"h q[1];\ncu1(pi/2) q[0], q[1];\n"
		"h q[0];\n"
		"swap q[0], q[3];\nswap q[1], q[2];\n");
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	const double *a;
	size_t n;

	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_assert_eq(sim_run_final_state(r, &a, &n), 0);
	for (size_t k = 0; k < 16; k++) {
		cplx want = cexp(2 * M_PI * I * 5.0 * (double)k / 16) / 4;
		cplx got = a[2 * k] + I * a[2 * k + 1];

		cr_expect_leq(cabs(got - want), 1e-14, "k %zu", k);
	}
	double probs[16];

	cr_assert_eq(sim_run_probs(r, 0, 16, probs), 0);
	for (size_t k = 0; k < 16; k++)
		cr_expect_float_eq(probs[k], 1.0 / 16, 1e-14);
	cr_expect_eq(sim_run_probs(r, 10, 7, probs), -EINVAL);
	sim_run_destroy(r);
	qasm_circuit_free(c);
}

/* Teleport U(t, f, l)|0> from q[0] to q[2]; mid-circuit measurements of
 * q[0], q[1] and corrections with if on single-bit registers. */
static const char *teleport =
	H "qreg q[3];\ncreg a[1];\ncreg b[1];\ncreg out[1];\n"
	"u3(1.1, 0.4, -0.7) q[0];\n"
	"h q[1];\ncx q[1], q[2];\n"
	"cx q[0], q[1];\nh q[0];\n"
	"measure q[0] -> a[0];\nmeasure q[1] -> b[0];\n"
	"if(b==1) x q[2];\nif(a==1) z q[2];\n"
	"measure q[2] -> out[0];\n";

Test(sim_analytic, teleportationWithIf)
{
	struct qasm_circuit *c = rt_parse(teleport);
	struct rt_dist *d = rt_exact(c, NULL);
	double p1 = sin(1.1 / 2) * sin(1.1 / 2);
	/* outcome "out b a": a, b uniform, out = 1 with probability p1 */
	const char *o[] = { "0 0 0", "0 0 1", "0 1 0", "0 1 1",
			    "1 0 0", "1 0 1", "1 1 0", "1 1 1" };
	const double p[] = { (1 - p1) / 4, (1 - p1) / 4, (1 - p1) / 4,
			     (1 - p1) / 4, p1 / 4, p1 / 4, p1 / 4, p1 / 4 };

	expect_dist(d, o, p, 8);
	expect_sampled(c, d, 80000, NULL);
	/* without the branch tree: every shot runs its branches itself */
	struct sim_config cfg = SIM_CONFIG_INIT;

	cfg.tree_bytes = SIM_TREE_NONE;
	expect_sampled(c, d, 40000, &cfg);
	/* without room for a second state: every shot from the start */
	cfg.tree_bytes = 0;
	cfg.max_state_bytes = 16 * 8 + 8;
	expect_sampled(c, d, 40000, &cfg);
	free(d);
	qasm_circuit_free(c);
}

Test(sim_analytic, teleportedStateArrives)
{
	/* The last shot's trajectory: q[2] holds U|0> up to a global phase,
	 * whatever a and b were (q[2] is not measured here). */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[3];\ncreg a[1];\ncreg b[1];\n"
		"u3(1.1, 0.4, -0.7) q[0];\nh q[1];\ncx q[1], q[2];\n"
		"cx q[0], q[1];\nh q[0];\nmeasure q[0] -> a[0];\n"
		"measure q[1] -> b[0];\nif(b==1) x q[2];\nif(a==1) z q[2];\n");
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	const double *amp;
	size_t n;
	cplx u[4];

	rt_u3(1.1, 0.4, -0.7, u);
	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_expect_eq(sim_run_is_deterministic(r), 0);
	cr_expect_eq(sim_run_final_state(r, &amp, &n), -EAGAIN);
	struct sim_counts *k = sim_counts_new(1);

	for (int shot = 0; shot < 40; shot++) {
		cr_assert_eq(sim_run_shots(r, 1, sim_counts_shots_fn, k, NULL), 0);
		cr_assert_eq(sim_run_final_state(r, &amp, &n), 1);
		/* find the (q0, q1) basis part that carries the state */
		for (size_t lo = 0; lo < 4; lo++) {
			cplx z0 = amp[2 * lo] + I * amp[2 * lo + 1];
			cplx z1 = amp[2 * (lo + 4)] + I * amp[2 * (lo + 4) + 1];
			cplx v[2] = { z0, z1 }, w[2] = { u[0], u[2] };

			if (cabs(z0) + cabs(z1) < 1e-9)
				continue;
			cr_expect_leq(rt_maxdiff_phase(v, w, 2), 1e-12);
		}
	}
	cr_expect_eq(sim_counts_size(k), 4);  /* all (a, b) seen, likely */
	sim_counts_free(k);
	sim_run_destroy(r);
	qasm_circuit_free(c);
}

Test(sim_analytic, midCircuitMeasureResetAndIf)
{
	/* c[0] = random bit b; q0 reset; if c == 1 flip q1; c[1] = b; c[2] = 0
	 * (q0 after reset); d = 3 iff the two-bit register c[0..1] == 3. */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[3];\ncreg c[3];\ncreg d[2];\n"
		"h q[0];\nmeasure q[0] -> c[0];\nreset q[0];\n"
		"if(c==1) x q[1];\nmeasure q[1] -> c[1];\nmeasure q[0] -> c[2];\n"
		"if(c==3) x q[2];\nif(c==3) x q[0];\nmeasure q[2] -> d[0];\n"
		"measure q[0] -> d[1];\n");
	struct rt_dist *d = rt_exact(c, NULL);
	const char *o[] = { "00 000", "11 011" };
	const double p[] = { 0.5, 0.5 };

	expect_dist(d, o, p, 2);
	expect_sampled(c, d, 40000, NULL);
	free(d);
	qasm_circuit_free(c);
}

Test(sim_analytic, resetOfASuperpositionAndRepeatedMeasurement)
{
	struct qasm_circuit *c = rt_parse(
		H "qreg q[2];\ncreg c[4];\n"
		"h q[0];\nreset q[0];\nmeasure q[0] -> c[0];\n"     /* 0 */
		"h q[1];\nmeasure q[1] -> c[1];\nmeasure q[1] -> c[2];\n"
		"x q[1];\nmeasure q[1] -> c[3];\n");  /* c3 = !c1 = !c2 */
	struct rt_dist *d = rt_exact(c, NULL);
	const char *o[] = { "1000", "0110" };
	const double p[] = { 0.5, 0.5 };

	expect_dist(d, o, p, 2);
	expect_sampled(c, d, 20000, NULL);
	free(d);
	qasm_circuit_free(c);
}

Test(sim_analytic, certainMidCircuitOutcomesNeedNoBranching)
{
	/* x; measure; x; measure: outcomes certain, the run is one state. */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[1];\ncreg c[2];\nx q[0];\nmeasure q[0] -> c[0];\n"
		"if(c==1) x q[0];\nmeasure q[0] -> c[1];\n");
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	struct rt_dist *d;
	const char *o[] = { "01" };
	const double p[] = { 1.0 };

	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_expect_eq(sim_run_is_deterministic(r), 1);
	sim_run_destroy(r);
	d = rt_exact(c, NULL);
	expect_dist(d, o, p, 1);
	free(d);
	qasm_circuit_free(c);
}

Test(sim_analytic, conditionOnAWideRegister)
{
	/* c = 5 (binary 101) makes the if fire; c = 4 does not. */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[4];\ncreg c[3];\ncreg r[1];\n"
		"x q[0];\nx q[2];\nh q[1];\nmeasure q[0] -> c[0];\n"
		"measure q[1] -> c[1];\nmeasure q[2] -> c[2];\n"
		"if(c==5) x q[3];\nmeasure q[3] -> r[0];\n");
	struct rt_dist *d = rt_exact(c, NULL);
	const char *o[] = { "1 101", "0 111" };
	const double p[] = { 0.5, 0.5 };

	expect_dist(d, o, p, 2);
	free(d);
	qasm_circuit_free(c);
}
