/*
 * test_sim_sampler.c - shots: statistics (chi-square against the exact
 * distribution), determinism for a seed whatever the batch size, batches and
 * early stop, bit packing over several words, the state and probability
 * accessors, and the size errors.
 */
#include <errno.h>

#include "rt_test.h"

#define H "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

/* Eight outcomes with distinct probabilities (ry angles on 3 qubits). */
static const char *skewed = H "qreg q[3];\ncreg c[3];\n"
	"ry(0.4) q[0];\nry(1.3) q[1];\nry(2.2) q[2];\ncx q[0], q[1];\n"
	"measure q -> c;\n";

struct collect {
	uint64_t *bits;
	size_t n, cap, words, calls, max_batch;
	int stop_after;  /* calls; 0: never */
};

static int collect_fn(void *ctx, const uint64_t *bits, size_t nshots,
		      size_t words)
{
	struct collect *k = ctx;

	k->words = words;
	k->calls++;
	if (nshots > k->max_batch)
		k->max_batch = nshots;
	if (k->n + nshots > k->cap) {
		k->cap = (k->n + nshots) * 2;
		k->bits = realloc(k->bits, k->cap * words * sizeof(uint64_t));
		if (!k->bits)
			return -ENOMEM;
	}
	memcpy(k->bits + k->n * words, bits, nshots * words * sizeof(uint64_t));
	k->n += nshots;
	if (k->stop_after && (int)k->calls == k->stop_after)
		return 42;
	return 0;
}

static struct collect run_shots(const struct qasm_circuit *c, uint64_t seed,
				size_t batch, uint64_t shots)
{
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct collect k = { 0 };
	struct sim_run *r;
	struct rt_error err;

	cfg.seed = seed;
	cfg.batch_shots = batch;
	cr_assert_eq(sim_run_create(&r, c, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(sim_run_shots(r, shots, collect_fn, &k, &err), 0, "%s",
		     err.msg);
	sim_run_destroy(r);
	return k;
}

Test(sim_sampler, chiSquareAgainstTheExactDistribution)
{
	struct qasm_circuit *c = rt_parse(skewed);
	struct rt_dist *exact = rt_exact(c, NULL);
	const uint64_t N = 400000;
	struct collect k = run_shots(c, 2024, 0, N);
	uint64_t counts[8] = { 0 };
	double chi2 = 0;

	cr_assert_eq(exact->n, 8);
	for (size_t i = 0; i < k.n; i++)
		counts[k.bits[i] & 7]++;
	for (unsigned v = 0; v < 8; v++) {
		char o[4] = { (char)('0' + ((v >> 2) & 1)),
			      (char)('0' + ((v >> 1) & 1)),
			      (char)('0' + (v & 1)), 0 };
		double e = rt_dist_get(exact, o) * (double)N;

		cr_assert_gt(e, 100);
		chi2 += (counts[v] - e) * (counts[v] - e) / e;
	}
	/* 7 degrees of freedom: P(chi2 > 40.52) = 1e-6 */
	cr_expect_lt(chi2, 40.52, "chi2 = %g", chi2);
	free(k.bits);
	free(exact);
	qasm_circuit_free(c);
}

Test(sim_sampler, sameSeedSameShotsWhateverTheBatchSize)
{
	struct qasm_circuit *c = rt_parse(skewed);
	struct collect a = run_shots(c, 99, 0, 10000);
	struct collect b = run_shots(c, 99, 7, 10000);
	struct collect d = run_shots(c, 100, 0, 10000);

	cr_assert_eq(a.n, 10000);
	cr_assert_eq(b.n, 10000);
	cr_expect_eq(a.max_batch, SIM_DEFAULT_BATCH);
	cr_expect_eq(b.max_batch, 7);
	cr_expect_eq(b.calls, (10000 + 6) / 7);
	cr_expect_eq(memcmp(a.bits, b.bits, 10000 * sizeof(uint64_t)), 0);
	cr_expect_neq(memcmp(a.bits, d.bits, 10000 * sizeof(uint64_t)), 0);
	free(a.bits);
	free(b.bits);
	free(d.bits);
	qasm_circuit_free(c);
}

Test(sim_sampler, consecutiveCallsContinueTheStream)
{
	struct qasm_circuit *c = rt_parse(skewed);
	struct collect all = run_shots(c, 5, 0, 3000), parts = { 0 };
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;

	cfg.seed = 5;
	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_assert_eq(sim_run_shots(r, 1000, collect_fn, &parts, NULL), 0);
	cr_assert_eq(sim_run_shots(r, 2000, collect_fn, &parts, NULL), 0);
	cr_assert_eq(parts.n, 3000);
	cr_expect_eq(memcmp(all.bits, parts.bits, 3000 * sizeof(uint64_t)), 0);
	sim_run_destroy(r);
	free(all.bits);
	free(parts.bits);
	qasm_circuit_free(c);
}

Test(sim_sampler, dynamicCircuitsAreDeterministicToo)
{
	/* a random mid-circuit outcome steers the rest */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[3];\ncreg c[3];\nh q[0];\nmeasure q[0] -> c[0];\n"
		"if(c==1) ry(0.7) q[1];\nh q[2];\nmeasure q[1] -> c[1];\n"
		"measure q[2] -> c[2];\n");
	struct collect a = run_shots(c, 3, 0, 5000), b = run_shots(c, 3, 13, 5000);

	cr_expect_eq(memcmp(a.bits, b.bits, 5000 * sizeof(uint64_t)), 0);
	free(a.bits);
	free(b.bits);
	qasm_circuit_free(c);
}

Test(sim_sampler, callbackCanStopTheRun)
{
	struct qasm_circuit *c = rt_parse(skewed);
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct collect k = { 0 };
	struct sim_run *r;

	cfg.batch_shots = 10;
	k.stop_after = 3;
	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_expect_eq(sim_run_shots(r, 1000, collect_fn, &k, NULL), 42);
	cr_expect_eq(k.n, 30);
	sim_run_destroy(r);
	free(k.bits);
	qasm_circuit_free(c);
}

Test(sim_sampler, bitsArePackedOverSeveralWords)
{
	/* 70 clbits: c[0..63] in word 0, d[0..5] in word 1 bits 0..5. */
	struct qasm_circuit *c = rt_parse(
		H "qreg q[3];\ncreg c[64];\ncreg d[6];\nx q[0];\nx q[2];\n"
		"measure q[0] -> c[1];\nmeasure q[2] -> c[63];\n"
		"measure q[0] -> d[5];\nmeasure q[1] -> d[0];\n");
	struct collect k = run_shots(c, 1, 0, 10);
	char out[128];

	cr_assert_eq(k.words, 2);
	for (size_t s = 0; s < k.n; s++) {
		cr_expect_eq(k.bits[2 * s], (1ull << 1) | (1ull << 63));
		cr_expect_eq(k.bits[2 * s + 1], 1ull << 5);
	}
	sim_outcome_format(c, k.bits, out);
	cr_expect_str_eq(out, "100000 1000000000000000000000000000000000000000"
			 "000000000000000000000010");
	free(k.bits);
	qasm_circuit_free(c);
}

Test(sim_sampler, unmeasuredBitsAreZeroAndNoMeasurementMeansEmptyShots)
{
	struct qasm_circuit *c = rt_parse(H "qreg q[2];\ncreg c[4];\nh q;\n"
					  "measure q[1] -> c[2];\n");
	struct collect k = run_shots(c, 8, 0, 2000);
	size_t ones = 0;

	for (size_t s = 0; s < k.n; s++) {
		cr_expect_eq(k.bits[s] & ~(uint64_t)4, 0);
		ones += (k.bits[s] >> 2) & 1;
	}
	cr_expect(ones > 800 && ones < 1200, "%zu", ones);
	free(k.bits);
	qasm_circuit_free(c);

	c = rt_parse(H "qreg q[1];\nh q[0];\n");
	k = run_shots(c, 8, 0, 5);
	cr_expect_eq(k.words, 1);
	cr_expect_eq(k.n, 5);
	for (size_t s = 0; s < k.n; s++)
		cr_expect_eq(k.bits[s], 0);
	free(k.bits);
	qasm_circuit_free(c);
}

Test(sim_sampler, manyOutcomesUseTheAliasTableCorrectly)
{
	/* 10 qubits in uniform superposition, one parity-dependent phase: all
	 * 1024 outcomes equally likely. */
	struct qasm_circuit *c = rt_parse(H "qreg q[10];\ncreg c[10];\nh q;\n"
					  "cz q[0], q[9];\nmeasure q -> c;\n");
	struct collect k = run_shots(c, 11, 0, 1024 * 200);
	uint32_t counts[1024] = { 0 };
	double chi2 = 0;

	for (size_t s = 0; s < k.n; s++)
		counts[k.bits[s]]++;
	for (int v = 0; v < 1024; v++)
		chi2 += (counts[v] - 200.0) * (counts[v] - 200.0) / 200.0;
	/* 1023 dof: mean 1023, sd 45; 1023 + 7 sd */
	cr_expect_lt(chi2, 1023 + 7 * 45.2, "chi2 = %g", chi2);
	free(k.bits);
	qasm_circuit_free(c);
}

Test(sim_sampler, sizeErrorsAreReportedBeforeAllocating)
{
	struct qasm_circuit *c = rt_parse(H "qreg q[30];\nh q[0];\n");
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	struct rt_error err;

	cfg.max_state_bytes = (uint64_t)1 << 30;
	cr_expect_eq(sim_run_create(&r, c, &cfg, &err), -EFBIG);
	cr_expect_str_eq(err.msg, "error: the circuit has 30 qubits: 1 state "
			 "vector of 2^30 amplitudes x 16 bytes need 16.0 GiB, "
			 "more than the configured limit of 1.0 GiB");
	cr_expect_null(r);
	cfg.max_state_bytes = 0;
	cfg.flags = 0x100;
	cr_expect_eq(sim_run_create(&r, c, &cfg, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "error: unknown simulator flags 0x100");
	qasm_circuit_free(c);
}

Test(sim_sampler, probsAndStateOfAStaticRun)
{
	struct qasm_circuit *c = rt_parse(skewed);
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	struct rt_dist *exact = rt_exact(c, NULL);
	double p[8], sum = 0;
	const double *a;
	size_t n;

	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_expect_eq(sim_run_is_deterministic(r), 1);
	cr_assert_eq(sim_run_probs(r, 0, 8, p), 0);
	cr_assert_eq(sim_run_final_state(r, &a, &n), 0);
	cr_assert_eq(n, 8);
	for (unsigned v = 0; v < 8; v++) {
		char o[4] = { (char)('0' + ((v >> 2) & 1)),
			      (char)('0' + ((v >> 1) & 1)),
			      (char)('0' + (v & 1)), 0 };

		cr_expect_float_eq(p[v], rt_dist_get(exact, o), 1e-14);
		cr_expect_float_eq(p[v], a[2 * v] * a[2 * v] +
				   a[2 * v + 1] * a[2 * v + 1], 0);
		sum += p[v];
	}
	cr_expect_float_eq(sum, 1.0, 1e-14);
	cr_expect_eq(sim_run_probs(r, 8, 1, p), -EINVAL);
	cr_expect_eq(sim_run_probs(r, 8, 0, p), 0);
	sim_run_destroy(r);
	free(exact);
	qasm_circuit_free(c);
}

Test(sim_sampler, outcomeDistributionNeedsTheTreeForDynamicRuns)
{
	struct qasm_circuit *c = rt_parse(
		H "qreg q[1];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\n"
		"h q[0];\nmeasure q[0] -> c[1];\n");
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct rt_dist *d = calloc(1, sizeof(*d));
	struct sim_run *r;

	cr_assert_not_null(d);
	d->c = c;
	cfg.tree_bytes = SIM_TREE_NONE;
	cr_assert_eq(sim_run_create(&r, c, &cfg, NULL), 0);
	cr_expect_eq(sim_run_outcome_dist(r, rt_dist_add, d), -E2BIG);
	sim_run_destroy(r);
	free(d);
	qasm_circuit_free(c);
}
