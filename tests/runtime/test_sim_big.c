/*
 * test_sim_big.c - sampling big final states (struct sim_big): each shot
 * the basis state a one-pass inverse-distribution walk gives for its
 * uniform (sim_sample_index), never an impossible state, on 1 to 14 qubits
 * and 1 to 3 threads; runs that measure more qubits than the alias tables
 * cover give the right outcomes at the right rates; shots are the same
 * however they are requested, whether a block's shots are found by binary
 * search (many shots) or by the sorted walk (a few).
 */
#include "rt_test.h"
#include "sim_sample.h"

static struct rt_rng urng = { 0x2545f4914f6cdd1dull };

Test(sim_big, agreesWithTheOneShotWalk, .timeout = 60)
{
	for (unsigned n = 1; n <= 14; n++)
		for (unsigned th = 1; th <= 3; th++) {
			struct sim_state *s = rt_state_new(n);
			struct sim_big b;
			struct sim_rng rng, copy;
			size_t shots = 20000, mismatches = 0;
			double norm = 0;

			s->threads = th;
			/* Random amplitudes, a third of them exactly zero. */
			for (size_t i = 0; i < s->namps; i++) {
				bool zero = rt_urand(&urng) < 0.33;

				s->amps[2 * i] = zero ? 0 : rt_urand(&urng) - 0.5;
				s->amps[2 * i + 1] = zero ? 0 : rt_urand(&urng) - 0.5;
				norm += s->amps[2 * i] * s->amps[2 * i] +
					s->amps[2 * i + 1] * s->amps[2 * i + 1];
			}
			if (norm == 0) {
				s->amps[0] = 1;
				norm = 1;
			}
			cr_assert_eq(sim_big_init(&b, s), 0);
			sim_rng_seed(&rng, n * 10 + th);
			copy = rng;
			sim_big_sample(&b, &rng, shots);
			for (size_t k = 0; k < shots; k++) {
				double u = sim_rng_uniform(&copy);
				uint64_t want = sim_sample_index(s, u, b.prefix[b.nblocks]);
				uint64_t got = b.idx[k];

				cr_assert_lt(got, s->namps);
				cr_assert(s->amps[2 * got] != 0 ||
					  s->amps[2 * got + 1] != 0,
					  "%u qubits: shot %zu drew the impossible "
					  "state %llu", n, k, (unsigned long long)got);
				mismatches += got != want;
			}
			/* Sums in another order may move a boundary by an ulp. */
			cr_expect_leq(mismatches, 2, "%u qubits, %u threads: %zu "
				      "shots differ from the one-shot walk", n, th,
				      mismatches);
			sim_big_free(&b);
			sim_state_destroy(s);
		}
}

Test(sim_big, blocksOfManyShotsGiveWhatTheWalkGives, .timeout = 60)
{
	/* 16 qubits: 16 blocks. 200000 shots in one call put thousands in
	 * each block (binary search over its running sums); the same
	 * uniforms 8 at a time put at most 8 in a block (the sorted walk). */
	struct sim_state *s = rt_state_new(16);
	struct sim_big b;
	struct sim_rng rng, copy;
	const size_t shots = 200000;
	uint64_t *big = malloc(shots * sizeof(uint64_t));
	size_t differ = 0;

	cr_assert_not_null(big);
	for (size_t i = 0; i < s->namps; i++) {
		bool zero = rt_urand(&urng) < 0.5;

		s->amps[2 * i] = zero ? 0 : (rt_urand(&urng) - 0.5) / 256;
		s->amps[2 * i + 1] = zero ? 0 : (rt_urand(&urng) - 0.5) / 256;
	}
	s->threads = 2;
	cr_assert_eq(sim_big_init(&b, s), 0);
	sim_rng_seed(&rng, 5);
	copy = rng;
	sim_big_sample(&b, &rng, shots);
	memcpy(big, b.idx, shots * sizeof(uint64_t));
	for (size_t k = 0; k < shots; k += 8) {
		sim_big_sample(&b, &copy, 8);
		for (size_t j = 0; j < 8; j++)
			differ += b.idx[j] != big[k + j];
	}
	cr_expect_eq(differ, 0, "%zu of %zu shots differ", differ, shots);
	free(big);
	sim_big_free(&b);
	sim_state_destroy(s);
}

static uint64_t counts[4];
static uint64_t other;
static uint64_t seen_hash;

static int tally(void *ctx, const uint64_t *bits, size_t nshots, size_t words)
{
	for (size_t i = 0; i < nshots; i++) {
		uint64_t w = bits[i * words];

		seen_hash = rt_hash_words(seen_hash, &w, 1);
		/* expect c[0..19] = 1 0 1 0 ..., c[3] and c[10] random */
		const uint64_t rnd_bits = ((uint64_t)1 << 3) | ((uint64_t)1 << 10);

		if ((w & ~rnd_bits) != (0x55555ull & ~rnd_bits))
			other++;
		else
			counts[((w >> 3) & 1) | (((w >> 10) & 1) << 1)]++;
	}
	(void)ctx;
	return 0;
}

Test(sim_big, manyMeasuredQubitsSampleTheState, .timeout = 120)
{
	/* 20 measured qubits: beyond the alias tables. */
	struct qasm_circuit *c = rt_parse(
		"OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		"qreg q[21];\ncreg c[20];\n"
		"x q[0]; x q[2]; x q[4]; x q[6]; x q[8]; x q[10];\n"
		"x q[12]; x q[14]; x q[16]; x q[18];\n"
		"ry(1.0) q[3]; h q[10]; h q[20];\n"
		"measure q[0] -> c[0]; measure q[1] -> c[1];\n"
		"measure q[2] -> c[2]; measure q[3] -> c[3];\n"
		"measure q[4] -> c[4]; measure q[5] -> c[5];\n"
		"measure q[6] -> c[6]; measure q[7] -> c[7];\n"
		"measure q[8] -> c[8]; measure q[9] -> c[9];\n"
		"measure q[10] -> c[10]; measure q[11] -> c[11];\n"
		"measure q[12] -> c[12]; measure q[13] -> c[13];\n"
		"measure q[14] -> c[14]; measure q[15] -> c[15];\n"
		"measure q[16] -> c[16]; measure q[17] -> c[17];\n"
		"measure q[18] -> c[18]; measure q[19] -> c[19];\n");
	uint64_t hashes[3];
	const uint64_t shots = 400000;

	for (int v = 0; v < 3; v++) {
		struct sim_config cfg = SIM_CONFIG_INIT;
		struct sim_run *r;
		struct rt_error err;

		cfg.seed = 99;
		cfg.threads = v == 2 ? 2 : 1;
		cfg.batch_shots = v == 1 ? 1000 : 0;
		cr_assert_eq(sim_run_create(&r, c, &cfg, &err), 0, "%s", err.msg);
		memset(counts, 0, sizeof counts);
		other = 0;
		seen_hash = RT_HASH_INIT;
		if (v == 1) {
			/* In pieces: the same stream of shots. */
			cr_assert_eq(sim_run_shots(r, 123, tally, NULL, &err), 0);
			cr_assert_eq(sim_run_shots(r, shots - 123, tally, NULL,
						   &err), 0);
		} else {
			cr_assert_eq(sim_run_shots(r, shots, tally, NULL, &err), 0);
		}
		hashes[v] = seen_hash;
		cr_expect_eq(other, 0, "%llu shots with impossible outcomes",
			     (unsigned long long)other);
		/* P(q3 = 1) = sin^2(0.5), P(q10 = 1) = 1/2: 4 sigma bounds. */
		double p3 = sin(0.5) * sin(0.5);
		double want[4] = { (1 - p3) / 2, p3 / 2, (1 - p3) / 2, p3 / 2 };

		for (int k = 0; k < 4; k++) {
			double sd = sqrt(shots * want[k] * (1 - want[k]));

			cr_expect_leq(fabs((double)counts[k] - shots * want[k]),
				      4 * sd, "outcome %d: %llu of %llu", k,
				      (unsigned long long)counts[k],
				      (unsigned long long)shots);
		}
		sim_run_destroy(r);
	}
	cr_expect_eq(hashes[1], hashes[0], "shots depend on how they are asked for");
	cr_expect_eq(hashes[2], hashes[0], "shots depend on the threads");
	qasm_circuit_free(c);
}
