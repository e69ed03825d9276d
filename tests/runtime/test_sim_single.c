/*
 * test_sim_single.c - single precision (SIM_FLAG_SINGLE): the state takes
 * half the bytes; random circuits of every kind of step agree with the
 * double path to float accuracy (amplitudes within 1e-5 after 200 gates);
 * corpus circuits sampled in single precision agree with the reference
 * distributions within the sampling noise bound of rt_tvd, and their exact
 * distributions with the double ones within 1e-5; mid-circuit measurement,
 * reset and conditions; shots independent of the thread count and of
 * cache blocking; the final state widened to double for callers.
 */
#include <errno.h>

#include "rt_test.h"

#define SHOTS 20000

static struct rt_rng rng = { 0x2545f4914f6cdd1dull };

static struct sim_run *run_new(const struct qasm_circuit *c, unsigned flags,
			       unsigned threads, unsigned chunk)
{
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	struct rt_error err;

	cfg.flags = flags;
	cfg.threads = threads;
	cfg.chunk_qubits = chunk;
	cfg.seed = 99;
	cr_assert_eq(sim_run_create(&r, c, &cfg, &err), 0, "%s", err.msg);
	return r;
}

/* A random circuit on @n qubits: 1- to 3-qubit gates, dense, diagonal and
 * permutations, with and without controls. */
static char *random_circuit(unsigned n, unsigned ngates, bool measure)
{
	static const char *const g1[] = { "h", "t", "sx", "s", "x", "y" };
	size_t cap = 256 + (size_t)(ngates + n) * 96, len;
	char *src = malloc(cap);

	cr_assert_not_null(src);
	len = (size_t)snprintf(src, cap, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
			       "qreg q[%u];\ncreg c[%u];\n", n, n);
	for (unsigned i = 0; i < ngates; i++) {
		unsigned a = (unsigned)(rt_rnd(&rng) % n), b = (a + 1 + (unsigned)(rt_rnd(&rng) % (n - 1))) % n;
		unsigned c = (b + 1) % n == a ? (b + 2) % n : (b + 1) % n;

		switch (rt_rnd(&rng) % 8) {
		case 0:
			len += (size_t)snprintf(src + len, cap - len,
				"u3(%.17g,%.17g,%.17g) q[%u];\n", rt_rangle(&rng),
				rt_rangle(&rng), rt_rangle(&rng), a);
			break;
		case 1:
			len += (size_t)snprintf(src + len, cap - len, "%s q[%u];\n",
						g1[rt_rnd(&rng) % 6], a);
			break;
		case 2:
			len += (size_t)snprintf(src + len, cap - len,
						"cx q[%u],q[%u];\n", a, b);
			break;
		case 3:
			len += (size_t)snprintf(src + len, cap - len,
						"rzz(%.17g) q[%u],q[%u];\n",
						rt_rangle(&rng), a, b);
			break;
		case 4:
			len += (size_t)snprintf(src + len, cap - len,
						"cu3(%.17g,%.17g,%.17g) q[%u],q[%u];\n",
						rt_rangle(&rng), rt_rangle(&rng), rt_rangle(&rng), a, b);
			break;
		case 5:
			if (n >= 3 && c != a && c != b) {
				len += (size_t)snprintf(src + len, cap - len,
					"ccx q[%u],q[%u],q[%u];\n", a, b, c);
				break;
			}
			/* fall through */
		case 6:
			len += (size_t)snprintf(src + len, cap - len,
						"ry(%.17g) q[%u];\n", rt_rangle(&rng), a);
			break;
		default:
			len += (size_t)snprintf(src + len, cap - len,
						"cp(%.17g) q[%u],q[%u];\n",
						rt_rangle(&rng), a, b);
			break;
		}
	}
	if (measure)
		snprintf(src + len, cap - len, "measure q -> c;\n");
	return src;
}

Test(sim_single, theStateTakesHalfTheBytes)
{
	struct sim_state *d, *s;
	struct rt_error err;
	double re, im;

	cr_assert_eq(sim_state_create_prec(&d, 12, false, 0, &err), 0);
	cr_assert_eq(sim_state_create_prec(&s, 12, true, 0, &err), 0);
	cr_expect_eq(d->bytes, 16u << 12);
	cr_expect_eq(s->bytes, 8u << 12);
	cr_expect_eq(s->single, 1);
	sim_state_amp(s, 0, &re, &im);
	cr_expect_eq(re, 1.0);
	cr_expect_eq(im, 0.0);
	sim_state_set_basis(s, 77);
	sim_state_amp(s, 77, &re, &im);
	cr_expect_eq(re, 1.0);
	sim_state_amp(s, 0, &re, &im);
	cr_expect_eq(re, 0.0);
	sim_state_destroy(d);
	sim_state_destroy(s);
	/* The size check counts 8 bytes an amplitude. */
	rt_error_clear(&err);
	cr_expect_eq(sim_state_check_fits_prec(20, 1, true, (uint64_t)8 << 20,
					       &err), 0);
	rt_error_clear(&err);
	cr_expect_eq(sim_state_check_fits_prec(20, 1, false, (uint64_t)8 << 20,
					       &err), -EFBIG);
	cr_expect(strstr(err.msg, "x 16 bytes") != NULL, "%s", err.msg);
}

Test(sim_single, randomCircuitsAgreeWithDoubleToFloatAccuracy, .timeout = 120)
{
	for (unsigned n = 2; n <= 14; n += 3)
		for (int rep = 0; rep < 3; rep++) {
			char *src = random_circuit(n, 200, false);
			struct qasm_circuit *c = rt_parse(src);
			struct sim_run *d = run_new(c, 0, 1, 0);
			struct sim_run *plain = run_new(c, SIM_FLAG_SINGLE |
							SIM_FLAG_NO_FUSE, 1, 0);
			struct sim_run *fused = run_new(c, SIM_FLAG_SINGLE, 2, 0);
			struct sim_run *blocked = run_new(c, SIM_FLAG_SINGLE, 2, 2);
			double e1 = rt_state_diff(d, plain), e2 = rt_state_diff(d, fused);
			double e3 = rt_state_diff(d, blocked);

			cr_expect_leq(e1, 1e-5, "%u qubits, unfused: %g\n%s", n, e1, src);
			cr_expect_leq(e2, 1e-5, "%u qubits, fused: %g\n%s", n, e2, src);
			cr_expect_leq(e3, 1e-5, "%u qubits, blocked: %g\n%s", n, e3, src);
			/* Rounded to float, not computed in double. */
			if (n >= 8)
				cr_expect_gt(e2, 1e-12, "no float rounding seen");
			sim_run_destroy(d);
			sim_run_destroy(plain);
			sim_run_destroy(fused);
			sim_run_destroy(blocked);
			qasm_circuit_free(c);
			free(src);
		}
}

/* Corpus circuits with mid-circuit measurement (teleportation,
 * error correction), dense ones, and deeper ones up to 15 qubits. */
static const char *const corpus[][2] = {
	{ "small", "teleportation_n3" }, { "small", "error_correctiond3_n5" },
	{ "small", "qpe_n9" }, { "small", "ising_n10" }, { "small", "dnn_n8" },
	{ "small", "hhl_n7" }, { "small", "qaoa_n6" },
	{ "medium", "multiplier_n15" }, { "medium", "qf21_n15" },
};

Test(sim_single, corpusCircuitsMatchTheReferenceWithinSamplingNoise,
     .timeout = 240)
{
	const char *dir = getenv("QSHM_QASM_DIR");

	cr_assert_not_null(dir, "QSHM_QASM_DIR is not set");
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		struct sim_config cfg = SIM_CONFIG_INIT;
		struct rt_dist *want = calloc(1, sizeof(*want));
		struct rt_dist *sampled, *exact_s, *exact_d;
		struct qasm_circuit *c;
		struct rt_error err;
		char path[1024];
		double bound, tvd, worst = 0;

		snprintf(path, sizeof(path), "%s/%s/%s.qasm", dir, corpus[i][0],
			 corpus[i][1]);
		cr_assert_eq(qasm_parse_file(path, 0, &c, &err), 0, "%s", err.msg);
		want->c = c;
		cr_assert(rt_read_expected(dir, corpus[i][1], want), "%s: no "
			  "reference", corpus[i][1]);
		cfg.flags = SIM_FLAG_SINGLE;
		sampled = rt_sample(c, SHOTS, 4242, &cfg);
		tvd = rt_tvd(sampled, want, SHOTS, &bound);
		cr_expect_leq(tvd, bound, "%s: single precision TVD %g above the "
			      "bound %g", corpus[i][1], tvd, bound);
		exact_s = rt_exact(c, &cfg);
		exact_d = rt_exact(c, NULL);
		for (size_t k = 0; k < exact_d->n; k++)
			worst = fmax(worst, fabs(exact_d->p[k] -
				rt_dist_get(exact_s, exact_d->outcome[k])));
		for (size_t k = 0; k < exact_s->n; k++)
			if (rt_dist_get(exact_d, exact_s->outcome[k]) == 0)
				worst = fmax(worst, exact_s->p[k]);
		cr_expect_leq(worst, 1e-5, "%s: exact distributions differ by %g",
			      corpus[i][1], worst);
		free(sampled);
		free(exact_s);
		free(exact_d);
		free(want);
		qasm_circuit_free(c);
	}
}

static uint64_t run_hash(const struct qasm_circuit *c, unsigned threads,
			 unsigned chunk, uint64_t nshots)
{
	struct sim_run *r = run_new(c, SIM_FLAG_SINGLE, threads, chunk);
	uint64_t h = rt_run_hash(r, nshots);

	sim_run_destroy(r);
	return h;
}

/*
 * In single precision the shots for a seed do not depend on the thread
 * count, blocked or not. Blocking itself may change them: the blocked plan
 * fuses differently, and float rounding (about 1e-7) then moves a few of
 * 300 000 samples (seen; in double the fusion tests find them identical).
 */
Test(sim_single, shotsDoNotDependOnTheThreadCountBlockedOrNot,
     .timeout = 120)
{
	/* 16 qubits all measured: the big-state sampler over floats. */
	char *src = random_circuit(16, 120, true);
	struct qasm_circuit *c = rt_parse(src);
	uint64_t h = run_hash(c, 1, 0, 300000);

	cr_expect_eq(run_hash(c, 2, 0, 300000), h, "%s", src);
	struct sim_run *b = run_new(c, SIM_FLAG_SINGLE, 1, 12);
	struct sim_plan_stats st;
	sim_run_plan_stats(b, &st);
	cr_expect_geq(st.blocked_runs, 1, "chunks of 2^12 block something");
	sim_run_destroy(b);
	cr_expect_eq(run_hash(c, 3, 12, 300000), run_hash(c, 1, 12, 300000),
		     "blocked (chunks of 2^12)");
	qasm_circuit_free(c);
	free(src);
}

Test(sim_single, finalStateAndProbabilitiesComeBackInDouble)
{
	struct qasm_circuit *c = rt_parse(
		"OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\ncreg c[3];\n"
		"h q[0]; cx q[0],q[1]; ry(0.5) q[2];\n");
	struct sim_run *r = run_new(c, SIM_FLAG_SINGLE, 1, 0);
	const double *a;
	size_t n;
	double p[8], half = 0.5 * cos(0.25) * cos(0.25);

	cr_assert_eq(sim_run_final_state(r, &a, &n), 0);
	cr_assert_eq(n, 8);
	cr_expect_leq(fabs(a[0] - sqrt(0.5) * cos(0.25)), 1e-7, "%.17g", a[0]);
	cr_expect_eq(a[2], 0.0);
	cr_assert_eq(sim_run_probs(r, 0, 8, p), 0);
	cr_expect_leq(fabs(p[0] - half), 1e-7);
	cr_expect_leq(fabs(p[3] - half), 1e-7);
	cr_expect_eq(p[1], 0.0);
	cr_expect_eq(sim_run_probs(r, 4, 5, p), -EINVAL);
	sim_run_destroy(r);
	qasm_circuit_free(c);
}
