/*
 * test_sim_fusion.c - the fused plan against the plain one: random circuits
 * of every qelib1 gate on 1 to 14 qubits, every block size, one and two
 * threads, final states compared to 1e-12; circuits with measurements,
 * resets and conditions compared by their exact outcome distributions;
 * what the planner drops (resets of known qubits, gates with a control
 * known 0); shots identical for a seed whatever the number of threads.
 * Cache blocking (runs of chunk-local steps executed chunk by chunk, with
 * chunks made small here so that small states have many): states within
 * 1e-12 of the unblocked fused plan and of the plain path, with and
 * without swap passes (qubit remapping), never more sweeps, the same
 * outcome distributions and the same shots.
 */
#include <errno.h>

#include "rt_test.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double rangle(void)
{
	return (double)(rnd() >> 11) * 0x1.0p-53 * 8 - 4;
}

struct gdef {
	const char *name;
	unsigned nq, np;
};

/* Every gate of the built-in qelib1.inc. */
static const struct gdef gates[] = {
	{ "u3", 1, 3 }, { "u2", 1, 2 }, { "u1", 1, 1 }, { "cx", 2, 0 },
	{ "id", 1, 0 }, { "u0", 1, 1 }, { "u", 1, 3 }, { "p", 1, 1 },
	{ "x", 1, 0 }, { "y", 1, 0 }, { "z", 1, 0 }, { "h", 1, 0 },
	{ "s", 1, 0 }, { "sdg", 1, 0 }, { "t", 1, 0 }, { "tdg", 1, 0 },
	{ "rx", 1, 1 }, { "ry", 1, 1 }, { "rz", 1, 1 }, { "sx", 1, 0 },
	{ "sxdg", 1, 0 }, { "cz", 2, 0 }, { "cy", 2, 0 }, { "swap", 2, 0 },
	{ "ch", 2, 0 }, { "ccx", 3, 0 }, { "cswap", 3, 0 }, { "crx", 2, 1 },
	{ "cry", 2, 1 }, { "crz", 2, 1 }, { "cu1", 2, 1 }, { "cp", 2, 1 },
	{ "cu3", 2, 3 }, { "csx", 2, 0 }, { "cu", 2, 4 }, { "rxx", 2, 1 },
	{ "rzz", 2, 1 }, { "ryy", 2, 1 }, { "rccx", 3, 0 }, { "rc3x", 4, 0 },
	{ "c3x", 4, 0 }, { "c3sqrtx", 4, 0 }, { "c4x", 5, 0 },
	{ "U", 1, 3 }, { "CX", 2, 0 },
};
#define NGATES (sizeof(gates) / sizeof(gates[0]))

/* Append a random gate on distinct random qubits of @n to @buf. */
static void add_gate(char *buf, size_t cap, unsigned n, int diag_only)
{
	const struct gdef *g;
	unsigned qs[5];
	size_t len = strlen(buf);

	do {
		g = &gates[rnd() % NGATES];
		if (diag_only) {
			static const char *const dg[] = { "rz", "u1", "p", "z",
				"s", "t", "cz", "crz", "cp", "rzz", "cu1", "sdg" };

			for (size_t i = 0; i < NGATES; i++)
				if (strcmp(gates[i].name,
					   dg[rnd() % (sizeof(dg) / sizeof(dg[0]))]) == 0) {
					g = &gates[i];
					break;
				}
		}
	} while (g->nq > n);
	for (unsigned i = 0; i < g->nq; i++) {
		bool dup;

		do {
			qs[i] = (unsigned)(rnd() % n);
			dup = false;
			for (unsigned j = 0; j < i; j++)
				dup |= qs[j] == qs[i];
		} while (dup);
	}
	len += (size_t)snprintf(buf + len, cap - len, "%s", g->name);
	for (unsigned i = 0; i < g->np; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%.17g",
					i ? "," : "(", rangle());
	if (g->np)
		len += (size_t)snprintf(buf + len, cap - len, ")");
	for (unsigned i = 0; i < g->nq; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%sq[%u]",
					i ? "," : " ", qs[i]);
	snprintf(buf + len, cap - len, ";\n");
}

static struct sim_run *run_new_chunk(const struct qasm_circuit *c,
				     unsigned flags, unsigned fuse,
				     unsigned threads, uint64_t seed,
				     unsigned chunk)
{
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	struct rt_error err;

	cfg.chunk_qubits = chunk;
	/* These circuits are small: fuse them anyway (the default runs
	 * states under SIM_FUSE_MIN_QUBITS gate by gate). */
	cfg.flags = flags & SIM_FLAG_NO_FUSE ? flags
					     : flags | SIM_FLAG_FORCE_FUSE;
	cfg.fuse_qubits = fuse;
	cfg.threads = threads;
	cfg.seed = seed;
	cr_assert_eq(sim_run_create(&r, c, &cfg, &err), 0, "%s", err.msg);
	return r;
}

static struct sim_run *run_new(const struct qasm_circuit *c, unsigned flags,
			       unsigned fuse, unsigned threads, uint64_t seed)
{
	return run_new_chunk(c, flags, fuse, threads, seed, 0);
}

/* Largest |a_i - b_i| between the final states of two runs. */
static double state_diff(struct sim_run *a, struct sim_run *b)
{
	const double *x, *y;
	size_t nx, ny;
	double worst = 0;

	cr_assert_eq(sim_run_final_state(a, &x, &nx), 0);
	cr_assert_eq(sim_run_final_state(b, &y, &ny), 0);
	cr_assert_eq(nx, ny);
	for (size_t i = 0; i < 2 * nx; i++)
		worst = fmax(worst, fabs(x[i] - y[i]));
	return worst;
}

/* Gates that keep basis states (the planner follows them). */
static void add_classical_gate(char *buf, size_t cap, unsigned n)
{
	static const char *const g1[] = { "x", "z", "s", "t" };
	size_t len = strlen(buf);
	unsigned a = (unsigned)(rnd() % n), b = (a + 1 + (unsigned)(rnd() % (n - 1))) % n;
	unsigned c = (b + 1) % n == a ? (b + 2) % n : (b + 1) % n;

	switch (rnd() % 5) {
	case 0:
		snprintf(buf + len, cap - len, "%s q[%u];\n", g1[rnd() % 4], a);
		break;
	case 1:
		snprintf(buf + len, cap - len, "cx q[%u],q[%u];\n", a, b);
		break;
	case 2:
		snprintf(buf + len, cap - len, "swap q[%u],q[%u];\n", a, b);
		break;
	default:
		if (n >= 3 && c != a && c != b)
			snprintf(buf + len, cap - len, "ccx q[%u],q[%u],q[%u];\n",
				 a, b, c);
		else
			snprintf(buf + len, cap - len, "x q[%u];\n", a);
		break;
	}
}

static void check_gates_circuit(unsigned n, unsigned ngates, int diag_only)
{
	size_t cap = 64 + ngates * 160;
	char *src = malloc(cap);
	struct qasm_circuit *c;

	snprintf(src, cap, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[%u];\n", n);
	if (diag_only == 2 && n >= 2) {
		/* Mostly basis-state-preserving gates, a few that are not:
		 * many qubits stay known, sweeps are restricted. */
		for (unsigned i = 0; i < ngates; i++) {
			if (rnd() % 8 == 0)
				add_gate(src, cap, n, 0);
			else
				add_classical_gate(src, cap, n);
		}
	} else {
		/* A generic start: not a basis state. */
		for (unsigned q = 0; q < n; q++) {
			size_t len = strlen(src);

			snprintf(src + len, cap - len,
				 "u3(%.17g,%.17g,%.17g) q[%u];\n", rangle(),
				 rangle(), rangle(), q);
		}
		for (unsigned i = 0; i < ngates; i++)
			add_gate(src, cap, n, diag_only);
	}
	c = rt_parse(src);

	struct sim_run *plain = run_new(c, SIM_FLAG_NO_FUSE, 0, 1, 1);

	cr_assert_eq(sim_run_is_deterministic(plain), 1);
	for (unsigned k = 1; k <= 5; k++)
		for (unsigned th = 1; th <= 2; th++) {
			struct sim_run *f = run_new(c, 0, k, th, 1);
			struct sim_plan_stats st;
			double d = state_diff(plain, f);

			sim_run_plan_stats(f, &st);
			cr_expect_leq(d, 1e-12, "%u qubits, %u gates, blocks of %u, "
				      "%u threads: differs by %g\n%s", n, ngates,
				      k, th, d, src);
			if (k >= 2 && ngates >= 20 && n >= 2)
				cr_expect_lt(st.sweeps, st.gates, "nothing fused");
			sim_run_destroy(f);
		}
	sim_run_destroy(plain);
	qasm_circuit_free(c);
	free(src);
}

Test(sim_fusion, randomGateCircuitsMatchThePlainPath, .timeout = 120)
{
	for (unsigned n = 1; n <= 9; n++)
		for (int rep = 0; rep < 6; rep++)
			check_gates_circuit(n, 10 + 10 * (unsigned)rep, 0);
}

Test(sim_fusion, knownQubitsRestrictTheSweeps, .timeout = 120)
{
	for (unsigned n = 2; n <= 13; n++)
		for (int rep = 0; rep < 3; rep++)
			check_gates_circuit(n, 20 + 20 * (unsigned)rep, 2);
}

Test(sim_fusion, largerStatesSplitAcrossThreads, .timeout = 120)
{
	/* The plain path's gate kernels, split or not: the same bits. */
	char src[16384];

	snprintf(src, sizeof src, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		 "qreg q[17];\n");
	for (unsigned q = 0; q < 17; q++)
		add_gate(src, sizeof src, 17, 0);
	for (int i = 0; i < 60; i++)
		add_gate(src, sizeof src, 17, i % 3 == 0);

	struct qasm_circuit *c = rt_parse(src);
	struct sim_run *one = run_new(c, SIM_FLAG_NO_FUSE, 0, 1, 1);
	struct sim_run *three = run_new(c, SIM_FLAG_NO_FUSE, 0, 3, 1);

	cr_expect_eq(state_diff(one, three), 0, "%s", src);
	sim_run_destroy(one);
	sim_run_destroy(three);
	qasm_circuit_free(c);

	/* Large enough for the passes to split: 2^14 amplitudes. */
	check_gates_circuit(14, 60, 0);
	check_gates_circuit(13, 80, 0);
}

Test(sim_fusion, diagonalRunsBecomeDiagonalPasses, .timeout = 60)
{
	for (unsigned n = 3; n <= 12; n += 3)
		check_gates_circuit(n, 60, 1);

	/* Diagonal gates over 8 qubits: one pass beyond the dense limit. */
	struct qasm_circuit *c = rt_parse(
		"OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[10];\n"
		"h q;\n"
		"rz(0.1) q[0]; cz q[1],q[2]; t q[3]; crz(0.3) q[4],q[5];\n"
		"rzz(0.7) q[6],q[7]; cp(0.2) q[0],q[7]; s q[5];\n");
	struct sim_run *plain = run_new(c, SIM_FLAG_NO_FUSE, 0, 1, 1);
	struct sim_run *f = run_new(c, 0, 4, 1, 1);
	struct sim_plan_stats st;

	sim_run_plan_stats(f, &st);
	cr_expect_leq(state_diff(plain, f), 1e-12);
	/* h on 10 qubits: 3 blocks of 4; then the diagonal block. */
	cr_expect_leq(st.sweeps, 4, "%zu sweeps", st.sweeps);
	sim_run_destroy(plain);
	sim_run_destroy(f);
	qasm_circuit_free(c);
}

/* ---- circuits with measurements, resets and conditions ---- */

struct dist {
	size_t n;
	uint64_t bits[4096];
	double p[4096];
};

static int collect(void *ctx, const uint64_t *bits, size_t words, double p)
{
	struct dist *d = ctx;

	cr_assert_eq(words, 1);
	cr_assert_lt(d->n, 4096);
	d->bits[d->n] = bits[0];
	d->p[d->n++] = p;
	return 0;
}

static double dist_prob(const struct dist *d, uint64_t bits)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->bits[i] == bits)
			return d->p[i];
	return 0;
}

static void check_mid_circuit(unsigned n, unsigned nops, unsigned chunk)
{
	size_t cap = 256 + nops * 160;
	char *src = malloc(cap);
	static struct dist a, b;
	struct qasm_circuit *c;

	snprintf(src, cap, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		 "qreg q[%u];\ncreg c[%u];\n", n, n);
	for (unsigned i = 0; i < nops; i++) {
		size_t len = strlen(src);
		unsigned q = (unsigned)(rnd() % n), kind = (unsigned)(rnd() % 10);

		if (kind == 0)
			snprintf(src + len, cap - len, "measure q[%u] -> c[%u];\n",
				 q, (unsigned)(rnd() % n));
		else if (kind == 1)
			snprintf(src + len, cap - len, "reset q[%u];\n", q);
		else if (kind == 2)
			snprintf(src + len, cap - len, "if(c==%u) x q[%u];\n",
				 (unsigned)(rnd() % 4), q);
		else if (kind == 3)
			snprintf(src + len, cap - len, "if(c==%u) ry(%.17g) q[%u];\n",
				 (unsigned)(rnd() % 4), rangle(), q);
		else
			add_gate(src, cap, n, 0);
	}
	{
		size_t len = strlen(src);

		snprintf(src + len, cap - len, "measure q -> c;\n");
	}
	c = rt_parse(src);

	struct sim_run *plain = run_new(c, SIM_FLAG_NO_FUSE, 0, 1, 7);

	a.n = 0;
	cr_assert_eq(sim_run_outcome_dist(plain, collect, &a), 0);
	for (unsigned k = 2; k <= 5; k += 3) {
		struct sim_run *f = run_new_chunk(c, 0, k, 2, 7, chunk);
		double total = 0;

		b.n = 0;
		cr_assert_eq(sim_run_outcome_dist(f, collect, &b), 0);
		for (size_t i = 0; i < a.n; i++) {
			double pb = dist_prob(&b, a.bits[i]);

			cr_expect_leq(fabs(a.p[i] - pb), 1e-12, "outcome %llx: "
				      "%.17g against %.17g\n%s",
				      (unsigned long long)a.bits[i], a.p[i], pb,
				      src);
		}
		for (size_t i = 0; i < b.n; i++) {
			total += b.p[i];
			if (b.p[i] > 1e-12)
				cr_expect_gt(dist_prob(&a, b.bits[i]), 0,
					     "an outcome only the fused plan has");
		}
		cr_expect_leq(fabs(total - 1), 1e-9);
		sim_run_destroy(f);
	}
	sim_run_destroy(plain);
	qasm_circuit_free(c);
	free(src);
}

Test(sim_fusion, midCircuitDistributionsMatchThePlainPath, .timeout = 120)
{
	for (unsigned n = 2; n <= 7; n++)
		for (int rep = 0; rep < 4; rep++)
			check_mid_circuit(n, 12 + 6 * (unsigned)rep, 0);
}

Test(sim_fusion, knownQubitsAreSimplified)
{
	/* q[1] and q[2] stay in known basis states until the h. */
	struct qasm_circuit *c = rt_parse(
		"OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		"qreg q[4];\ncreg c[4];\n"
		"h q[0];\n"
		"reset q[1];\n"          /* |0>: dropped */
		"x q[2];\n"
		"cx q[1],q[3];\n"        /* control known 0: dropped */
		"ccx q[2],q[0],q[3];\n"  /* control known 1: a cx */
		"measure q[2] -> c[2];\n"/* known 1: a constant bit */
		"reset q[2];\n"          /* known 1: an x */
		"if(c==4) h q[1];\n"
		"h q[2];\n"
		"reset q[2];\n"          /* unknown: a real reset */
		"measure q -> c;\n");
	struct sim_run *plain = run_new(c, SIM_FLAG_NO_FUSE, 0, 1, 3);
	struct sim_run *f = run_new(c, 0, 4, 1, 3);
	struct sim_plan_stats st;

	sim_run_plan_stats(f, &st);
	cr_expect_eq(st.resets_dropped, 2);
	cr_expect_eq(st.gates_dropped, 1);
	{
		static struct dist a, b;

		a.n = b.n = 0;
		cr_assert_eq(sim_run_outcome_dist(plain, collect, &a), 0);
		cr_assert_eq(sim_run_outcome_dist(f, collect, &b), 0);
		for (size_t i = 0; i < a.n; i++)
			cr_expect_leq(fabs(a.p[i] - dist_prob(&b, a.bits[i])),
				      1e-12);
		/* c[2] was 1 before the condition, so h acts on q[1]:
		 * q[0] (= q[3]) and q[1] random, q[2] reset to 0. */
		cr_expect_eq(a.n, 4, "%zu outcomes", a.n);
		cr_expect_eq(b.n, 4, "%zu outcomes", b.n);
	}
	sim_run_destroy(plain);
	sim_run_destroy(f);
	qasm_circuit_free(c);
}

/* ---- threads ---- */

static uint64_t shots_hash;
static size_t shots_seen;

static int hash_shots(void *ctx, const uint64_t *bits, size_t nshots,
		      size_t words)
{
	for (size_t i = 0; i < nshots * words; i++)
		shots_hash = (shots_hash ^ bits[i]) * 0x100000001b3ull;
	shots_seen += nshots;
	(void)ctx;
	return 0;
}

static uint64_t run_hash(const struct qasm_circuit *c, unsigned threads,
			 uint64_t nshots)
{
	struct sim_run *r = run_new(c, 0, 0, threads, 12345);
	struct rt_error err;

	shots_hash = 0xcbf29ce484222325ull;
	shots_seen = 0;
	cr_assert_eq(sim_run_shots(r, nshots, hash_shots, NULL, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(shots_seen, nshots);
	sim_run_destroy(r);
	return shots_hash;
}

Test(sim_fusion, shotsDoNotDependOnTheThreadCount, .timeout = 120)
{
	/* 16 qubits all measured (the big-state sampler), and a circuit with
	 * a random mid-circuit outcome (branches). */
	char src[8192];

	snprintf(src, sizeof src, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		 "qreg q[16];\ncreg c[16];\n");
	for (int i = 0; i < 60; i++)
		add_gate(src, sizeof src, 16, 0);
	strcat(src, "measure q -> c;\n");

	struct qasm_circuit *c = rt_parse(src);
	uint64_t h1 = run_hash(c, 1, 300000);

	cr_expect_eq(run_hash(c, 2, 300000), h1);
	cr_expect_eq(run_hash(c, 3, 300000), h1);
	qasm_circuit_free(c);

	c = rt_parse("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		     "qreg q[14];\ncreg c[14];\n"
		     "h q; ry(0.3) q[2]; cx q[0],q[5];\n"
		     "measure q[0] -> c[0];\n"
		     "if(c==1) x q[3];\n"
		     "cp(0.4) q[3],q[7]; h q[3];\n"
		     "measure q -> c;\n");
	h1 = run_hash(c, 1, 20000);
	cr_expect_eq(run_hash(c, 2, 20000), h1);
	qasm_circuit_free(c);
}

/* ---- cache blocking ---- */

/*
 * A random circuit on @n qubits (every qelib1 gate; @lowfrac of 8 gates on
 * qubits below @L only, so that blocked runs form) against the plain path
 * and the unblocked fused plan, with chunks of 2^@L amplitudes.
 */
static size_t swaps_seen;  /* swap passes in the plans checked */

static void check_blocked_circuit(unsigned n, unsigned L, unsigned ngates,
				  unsigned lowfrac)
{
	size_t cap = 64 + (ngates + n) * 160;
	char *src = malloc(cap);
	struct qasm_circuit *c;

	snprintf(src, cap, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[%u];\n", n);
	for (unsigned q = 0; q < n; q++) {
		size_t len = strlen(src);

		snprintf(src + len, cap - len, "u3(%.17g,%.17g,%.17g) q[%u];\n",
			 rangle(), rangle(), rangle(), q);
	}
	for (unsigned i = 0; i < ngates; i++) {
		if (rnd() % 8 < lowfrac) {
			/* A gate on qubits below L only. */
			add_gate(src, cap, L, (int)(rnd() % 3 == 0));
		} else {
			add_gate(src, cap, n, (int)(rnd() % 3 == 0));
		}
	}
	c = rt_parse(src);

	struct sim_run *plain = run_new(c, SIM_FLAG_NO_FUSE, 0, 1, 1);
	struct sim_run *unblocked = run_new_chunk(c, SIM_FLAG_NO_BLOCKING, 4,
						  1, 1, L);

	for (unsigned k = 2; k <= 5; k++)
		for (unsigned th = 1; th <= 2; th++) {
			struct sim_run *b = run_new_chunk(c, 0, k, th, 1, L);
			struct sim_plan_stats st, su;
			double d = state_diff(plain, b);

			sim_run_plan_stats(b, &st);
			sim_run_plan_stats(unblocked, &su);
			cr_expect_leq(d, 1e-12, "%u qubits, chunks of 2^%u, "
				      "blocks of %u, %u threads: differs by "
				      "%g\n%s", n, L, k, th, d, src);
			cr_expect_leq(state_diff(unblocked, b), 1e-12);
			cr_expect_eq(su.blocked_runs, 0);
			swaps_seen += st.swap_passes;
			if (k == 4 && th == 2) {
				/* Blocking with the qubits in place. */
				struct sim_run *nr = run_new_chunk(c,
					SIM_FLAG_NO_REMAP, k, th, 1, L);
				struct sim_plan_stats sn;

				sim_run_plan_stats(nr, &sn);
				cr_expect_eq(sn.swap_passes, 0);
				cr_expect_leq(state_diff(plain, nr), 1e-12,
					      "no remap\n%s", src);
				/* Remapping is kept only when it saves. */
				cr_expect_leq(st.sweeps, sn.sweeps);
				sim_run_destroy(nr);
			}
			/* Gates and swap passes only: every step is a
			 * sweep, but a blocked run of them is one. */
			cr_expect_eq(st.sweeps + st.blocked_steps,
				     st.steps + st.blocked_runs,
				     "every blocked run is one sweep");
			if (k == 4)  /* the unblocked plan's block size */
				cr_expect_leq(st.sweeps, su.sweeps, "blocking "
					      "added sweeps");
			sim_run_destroy(b);
		}
	sim_run_destroy(unblocked);
	sim_run_destroy(plain);
	qasm_circuit_free(c);
	free(src);
}

Test(sim_fusion, blockedRunsMatchUnblockedAndPlain, .timeout = 180)
{
	for (unsigned n = 6; n <= 12; n += 2)
		for (unsigned L = 2; L + 2 <= n; L += 2)
			check_blocked_circuit(n, L, 60, 5);
	/* Large enough that every chunk range splits across threads. */
	check_blocked_circuit(15, 6, 80, 6);
	/* Gates on any qubit: swap passes bring them below L. */
	for (unsigned n = 8; n <= 12; n += 2)
		for (int rep = 0; rep < 3; rep++)
			check_blocked_circuit(n, n - 3, 60, 0);
	cr_expect_gt(swaps_seen, 0, "no plan had a swap pass");
}

Test(sim_fusion, blockingCountsOneSweepPerRun, .timeout = 60)
{
	/* h on all 12 qubits (3 blocks of 4), then 10 brick layers on
	 * q[0..5] (each several 4-qubit blocks: a sweep each unblocked),
	 * with a cx to q[11] (not chunk-local for chunks of 2^6) after the
	 * fifth: blocked, at most 3 + 1 + 2 runs = 6 sweeps. */
	char src[8192];

	snprintf(src, sizeof src, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		 "qreg q[12];\nh q;\n");
	for (int layer = 0; layer < 10; layer++) {
		size_t len = strlen(src);

		for (int q = 0; q < 6; q++) {
			len = strlen(src);
			snprintf(src + len, sizeof src - len,
				 "u3(0.%d,0.%d,0.3) q[%d];\n", layer + 1, q + 1, q);
		}
		len = strlen(src);
		snprintf(src + len, sizeof src - len,
			 "cx q[0],q[1]; cx q[2],q[3]; cx q[4],q[5]; "
			 "cx q[1],q[2]; cx q[3],q[4]; cx q[5],q[0];\n");
		if (layer == 4) {
			len = strlen(src);
			snprintf(src + len, sizeof src - len, "cx q[0],q[11];\n");
		}
	}

	struct qasm_circuit *c = rt_parse(src);
	struct sim_run *plain = run_new(c, SIM_FLAG_NO_FUSE, 0, 1, 1);
	struct sim_run *u = run_new_chunk(c, SIM_FLAG_NO_BLOCKING, 4, 2, 1, 6);
	struct sim_run *b = run_new_chunk(c, 0, 4, 2, 1, 6);
	struct sim_plan_stats su, sb;

	sim_run_plan_stats(u, &su);
	sim_run_plan_stats(b, &sb);
	cr_expect_leq(state_diff(plain, b), 1e-12, "%s", src);
	cr_expect_leq(state_diff(u, b), 1e-12);
	cr_expect_geq(sb.blocked_runs, 1, "runs %zu steps %zu sweeps %zu/%zu", sb.blocked_runs, sb.steps, sb.sweeps, su.sweeps);
	cr_expect_leq(sb.sweeps, 6, "%zu sweeps blocked, %zu unblocked",
		      sb.sweeps, su.sweeps);
	cr_expect_geq(su.sweeps, 2 * sb.sweeps, "%zu sweeps blocked, %zu "
		      "unblocked", sb.sweeps, su.sweeps);
	sim_run_destroy(plain);
	sim_run_destroy(u);
	sim_run_destroy(b);
	qasm_circuit_free(c);
}

Test(sim_fusion, blockedMidCircuitDistributionsMatch, .timeout = 120)
{
	for (unsigned n = 4; n <= 7; n++)
		for (int rep = 0; rep < 3; rep++)
			check_mid_circuit(n, 16 + 6 * (unsigned)rep, 2);
}

static uint64_t run_hash_cfg(const struct qasm_circuit *c, unsigned flags,
			     unsigned chunk, uint64_t nshots)
{
	struct sim_run *r = run_new_chunk(c, flags, 0, 2, 12345, chunk);
	struct rt_error err;

	shots_hash = 0xcbf29ce484222325ull;
	shots_seen = 0;
	cr_assert_eq(sim_run_shots(r, nshots, hash_shots, NULL, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(shots_seen, nshots);
	sim_run_destroy(r);
	return shots_hash;
}

Test(sim_fusion, blockingLeavesTheShotsUnchanged, .timeout = 120)
{
	char src[8192];

	snprintf(src, sizeof src, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		 "qreg q[16];\ncreg c[16];\n");
	for (int i = 0; i < 80; i++)
		add_gate(src, sizeof src, i < 40 ? 5 : 16, 0);
	strcat(src, "measure q -> c;\n");

	struct qasm_circuit *c = rt_parse(src);
	struct sim_run *b = run_new_chunk(c, 0, 0, 2, 1, 5);
	struct sim_plan_stats st;

	sim_run_plan_stats(b, &st);
	cr_expect_geq(st.blocked_runs, 1, "nothing blocked:\n%s", src);
	sim_run_destroy(b);
	cr_expect_eq(run_hash_cfg(c, 0, 5, 200000),
		     run_hash_cfg(c, SIM_FLAG_NO_BLOCKING, 5, 200000), "%s", src);
	qasm_circuit_free(c);

	/* Branches: a random mid-circuit outcome. */
	c = rt_parse("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		     "qreg q[12];\ncreg c[12];\n"
		     "h q; ry(0.3) q[2]; cx q[0],q[5]; rz(0.2) q[1]; cx q[1],q[3];\n"
		     "measure q[0] -> c[0];\n"
		     "if(c==1) x q[3];\n"
		     "cp(0.4) q[3],q[7]; h q[3]; cx q[2],q[1]; ry(0.9) q[0];\n"
		     "measure q -> c;\n");
	b = run_new_chunk(c, 0, 0, 2, 1, 9);
	sim_run_plan_stats(b, &st);
	cr_expect_geq(st.blocked_runs, 1, "the branching circuit blocks too");
	sim_run_destroy(b);
	cr_expect_eq(run_hash_cfg(c, 0, 9, 20000),
		     run_hash_cfg(c, SIM_FLAG_NO_BLOCKING, 9, 20000));
	qasm_circuit_free(c);
}

/* By default a state under SIM_FUSE_MIN_QUBITS qubits runs gate by gate
 * (a pass per gate), one at or above it is fused; forcing fusion on the
 * small one gives the same state to 1e-12. */
Test(sim_fusion, smallStatesRunGateByGateByDefault)
{
	for (unsigned n = SIM_FUSE_MIN_QUBITS - 1; n <= SIM_FUSE_MIN_QUBITS;
	     n++) {
		char src[16384];
		struct sim_config cfg = SIM_CONFIG_INIT;
		struct sim_plan_stats st;
		struct sim_run *dflt, *forced;
		struct rt_error err;
		struct qasm_circuit *c;

		snprintf(src, sizeof(src), "OPENQASM 2.0;\ninclude "
			 "\"qelib1.inc\";\nqreg q[%u];\n", n);
		for (unsigned i = 0; i < 60; i++)
			add_gate(src, sizeof(src), n, false);
		c = rt_parse(src);
		cr_assert_eq(sim_run_create(&dflt, c, &cfg, &err), 0, "%s",
			     err.msg);
		sim_run_plan_stats(dflt, &st);
		if (n < SIM_FUSE_MIN_QUBITS)
			cr_expect_eq(st.sweeps, st.gates, "%u qubits: %u sweeps "
				     "for %u gates", n, (unsigned)st.sweeps,
				     (unsigned)st.gates);
		else
			cr_expect_lt(st.sweeps, st.gates, "%u qubits: nothing "
				     "fused", n);
		forced = run_new(c, 0, 0, 1, 0);
		sim_run_plan_stats(forced, &st);
		cr_expect_lt(st.sweeps, st.gates, "forced: nothing fused");
		sim_run_destroy(forced);
		/* an explicit block size fuses without the flag */
		cfg.fuse_qubits = 4;
		cr_assert_eq(sim_run_create(&forced, c, &cfg, &err), 0, "%s",
			     err.msg);
		cfg.fuse_qubits = 0;
		sim_run_plan_stats(forced, &st);
		cr_expect_lt(st.sweeps, st.gates, "fuse_qubits 4: nothing "
			     "fused");
		cr_expect_leq(state_diff(dflt, forced), 1e-12);
		sim_run_destroy(dflt);
		sim_run_destroy(forced);
		qasm_circuit_free(c);
	}
}

Test(sim_fusion, badChunkSizesAreRefused)
{
	struct qasm_circuit *c = rt_parse("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
					  "qreg q[2];\nh q;\n");
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *r;
	struct rt_error err;

	cfg.chunk_qubits = 1;
	cr_expect_eq(sim_run_create(&r, c, &cfg, &err), -EINVAL);
	cr_expect(strstr(err.msg, "2..30"), "%s", err.msg);
	cfg.chunk_qubits = 31;
	cr_expect_eq(sim_run_create(&r, c, &cfg, &err), -EINVAL);
	qasm_circuit_free(c);
}
