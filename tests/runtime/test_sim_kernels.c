/*
 * test_sim_kernels.c - the simulator's kernels against a plain reference
 * written here (a loop over every basis index), on random states: every
 * matrix shape, every target, with and without controls; measurement
 * primitives; the state allocator's size checks.
 */
#include <errno.h>

#include "rt_test.h"

static struct rt_rng rng = { 0x123456789abcdefull };

static void random_state(struct sim_state *s)
{
	double norm = 0;

	for (size_t i = 0; i < 2 * s->namps; i++) {
		s->amps[i] = rt_urand(&rng) - 0.5;
		norm += s->amps[i] * s->amps[i];
	}
	for (size_t i = 0; i < 2 * s->namps; i++)
		s->amps[i] /= sqrt(norm);
}

/* A random 2x2 (not unitary: the kernels must not care) of @shape. */
static void random_mat2(double m[8], int shape)
{
	for (int i = 0; i < 8; i++)
		m[i] = rt_urand(&rng) * 2 - 1;
	if (shape == QASM_MAT_DIAG) {
		m[2] = m[3] = m[4] = m[5] = 0;
	} else if (shape == QASM_MAT_PERM) {
		m[0] = m[1] = m[6] = m[7] = 0;
	}
}

static void random_mat4(double m[32], int shape)
{
	static const int perm[4] = { 2, 0, 3, 1 };

	for (int i = 0; i < 32; i++)
		m[i] = rt_urand(&rng) * 2 - 1;
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++) {
			bool keep = shape == QASM_MAT_GENERAL ||
				    (shape == QASM_MAT_DIAG && r == c) ||
				    (shape == QASM_MAT_PERM && perm[r] == c);

			if (!keep)
				m[2 * (4 * r + c)] = m[2 * (4 * r + c) + 1] = 0;
		}
}

static cplx mat_at(const double *m, int dim, int r, int c)
{
	return m[2 * (dim * r + c)] + I * m[2 * (dim * r + c) + 1];
}

/* Reference: out = G in, G the 2x2 on t under controls. */
static void ref_gate1(cplx *v, unsigned n, unsigned t, uint64_t ctrl,
		      const double *m)
{
	size_t dim = (size_t)1 << n, tb = (size_t)1 << t;

	for (size_t i = 0; i < dim; i++) {
		if ((i & tb) || (i & ctrl) != ctrl)
			continue;
		cplx a = v[i], b = v[i | tb];

		v[i] = mat_at(m, 2, 0, 0) * a + mat_at(m, 2, 0, 1) * b;
		v[i | tb] = mat_at(m, 2, 1, 0) * a + mat_at(m, 2, 1, 1) * b;
	}
}

static void ref_gate2(cplx *v, unsigned n, unsigned q0, unsigned q1,
		      uint64_t ctrl, const double *m)
{
	size_t dim = (size_t)1 << n, b0 = (size_t)1 << q0, b1 = (size_t)1 << q1;

	for (size_t i = 0; i < dim; i++) {
		if ((i & (b0 | b1)) || (i & ctrl) != ctrl)
			continue;
		size_t idx[4] = { i, i | b0, i | b1, i | b0 | b1 };
		cplx in[4];

		for (int k = 0; k < 4; k++)
			in[k] = v[idx[k]];
		for (int r = 0; r < 4; r++) {
			cplx acc = 0;

			for (int k = 0; k < 4; k++)
				acc += mat_at(m, 4, r, k) * in[k];
			v[idx[r]] = acc;
		}
	}
}

static void load(const struct sim_state *s, cplx *v)
{
	for (size_t i = 0; i < s->namps; i++)
		v[i] = rt_amp(s, i);
}

static double diff(const struct sim_state *s, const cplx *v)
{
	double d = 0;

	for (size_t i = 0; i < s->namps; i++)
		if (cabs(rt_amp(s, i) - v[i]) > d)
			d = cabs(rt_amp(s, i) - v[i]);
	return d;
}

Test(sim_kernels, gate1EveryShapeTargetAndControls)
{
	const unsigned n = 7;
	struct sim_state *s = rt_state_new(n);
	cplx v[1 << 7];
	const uint64_t ctrls[] = { 0, 1, 0x40, 0x22, 0x0d };

	for (int shape = 0; shape < 3; shape++)
		for (unsigned t = 0; t < n; t++)
			for (size_t k = 0; k < sizeof(ctrls) / sizeof(ctrls[0]); k++) {
				double m[8];
				uint64_t ctrl = ctrls[k] & ~((uint64_t)1 << t);

				random_state(s);
				load(s, v);
				random_mat2(m, shape);
				sim_apply_gate1(s, t, ctrl, m, shape);
				ref_gate1(v, n, t, ctrl, m);
				cr_expect_leq(diff(s, v), 1e-14, "shape %d t %u "
					      "ctrl %#llx", shape, t,
					      (unsigned long long)ctrl);
				/* the general kernel is right for any shape */
				random_state(s);
				load(s, v);
				sim_apply_gate1(s, t, ctrl, m, QASM_MAT_GENERAL);
				ref_gate1(v, n, t, ctrl, m);
				cr_expect_leq(diff(s, v), 1e-14);
			}
	sim_state_destroy(s);
}

Test(sim_kernels, gate1SpecialEntriesTakeTheirShortcuts)
{
	/* phase gates (d0 = 1), Z (-1), X (plain exchange) */
	const unsigned n = 5;
	struct sim_state *s = rt_state_new(n);
	cplx v[1 << 5];
	const double mats[4][8] = {
		{ 1, 0, 0, 0, 0, 0, 0.6, 0.8 },
		{ 0.6, -0.8, 0, 0, 0, 0, 1, 0 },
		{ 1, 0, 0, 0, 0, 0, -1, 0 },
		{ 0, 0, 1, 0, 1, 0, 0, 0 },
	};
	const int shapes[4] = { QASM_MAT_DIAG, QASM_MAT_DIAG, QASM_MAT_DIAG,
				QASM_MAT_PERM };

	for (int k = 0; k < 4; k++)
		for (unsigned t = 0; t < n; t++) {
			random_state(s);
			load(s, v);
			sim_apply_gate1(s, t, t ? 1 : 2, mats[k], shapes[k]);
			ref_gate1(v, n, t, t ? 1 : 2, mats[k]);
			cr_expect_leq(diff(s, v), 1e-15, "mat %d t %u", k, t);
		}
	sim_state_destroy(s);
}

Test(sim_kernels, gate2EveryShapePairAndControls)
{
	const unsigned n = 6;
	struct sim_state *s = rt_state_new(n);
	cplx v[1 << 6];

	for (int shape = 0; shape < 3; shape++)
		for (unsigned q0 = 0; q0 < n; q0++)
			for (unsigned q1 = 0; q1 < n; q1++) {
				uint64_t ctrl;
				double m[32];

				if (q0 == q1)
					continue;
				ctrl = ((q0 + q1) % 3 == 0) ?
				       (0x21 & ~((1u << q0) | (1u << q1))) : 0;
				random_state(s);
				load(s, v);
				random_mat4(m, shape);
				sim_apply_gate2(s, q0, q1, ctrl, m, shape);
				ref_gate2(v, n, q0, q1, ctrl, m);
				cr_expect_leq(diff(s, v), 1e-14, "shape %d q %u,%u",
					      shape, q0, q1);
			}
	sim_state_destroy(s);
}

Test(sim_kernels, swapShortcutAndPhasedPermutation)
{
	static const double swap[32] = {
		1, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 1, 0, 0, 0,
		0, 0, 1, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 1, 0,
	};
	const unsigned n = 5;
	struct sim_state *s = rt_state_new(n);
	cplx v[1 << 5];

	for (unsigned q0 = 0; q0 < n; q0++)
		for (unsigned q1 = 0; q1 < n; q1++) {
			if (q0 == q1)
				continue;
			random_state(s);
			load(s, v);
			sim_apply_gate2(s, q0, q1, 0, swap, QASM_MAT_PERM);
			ref_gate2(v, n, q0, q1, 0, swap);
			cr_expect_leq(diff(s, v), 0);
		}
	sim_state_destroy(s);
}

Test(sim_kernels, bufferedPathForMiddleTargetsOfLargeStates)
{
	/* Targets 5..8 of states of 18+ qubits take the buffered loop. */
	const unsigned n = 18;
	struct sim_state *s = rt_state_new(n);
	cplx *v = malloc(sizeof(cplx) << n);

	cr_assert_not_null(v);
	for (unsigned t = 4; t <= 9; t++) {
		double m[8];

		random_state(s);
		load(s, v);
		random_mat2(m, QASM_MAT_GENERAL);
		sim_apply_gate1(s, t, t == 6 ? (1u << 12) : 0, m,
				QASM_MAT_GENERAL);
		ref_gate1(v, n, t, t == 6 ? (1u << 12) : 0, m);
		cr_expect_leq(diff(s, v), 1e-14, "t %u", t);
	}
	free(v);
	sim_state_destroy(s);
}

Test(sim_kernels, hadamardHelper)
{
	struct sim_state *s = rt_state_new(3);

	sim_apply_h(s, 1);
	cr_expect_float_eq(creal(rt_amp(s, 0)), M_SQRT1_2, 1e-15);
	cr_expect_float_eq(creal(rt_amp(s, 2)), M_SQRT1_2, 1e-15);
	cr_expect_float_eq(sim_norm2(s), 1.0, 1e-15);
	sim_state_destroy(s);
}

Test(sim_kernels, measurementPrimitives)
{
	const unsigned n = 6;
	struct sim_state *s = rt_state_new(n);
	cplx v[1 << 6];

	for (unsigned q = 0; q < n; q++) {
		double p1 = 0, ref;

		random_state(s);
		load(s, v);
		for (size_t i = 0; i < s->namps; i++)
			if ((i >> q) & 1)
				p1 += cabs(v[i]) * cabs(v[i]);
		cr_expect_float_eq(sim_prob_one(s, q), p1, 1e-14);
		/* collapse on 1, then reset moves it to 0 */
		sim_collapse(s, q, 1, p1);
		cr_expect_float_eq(sim_norm2(s), 1.0, 1e-13);
		for (size_t i = 0; i < s->namps; i++) {
			cplx want = ((i >> q) & 1) ? v[i] / sqrt(p1) : 0;

			cr_expect_leq(cabs(rt_amp(s, i) - want), 1e-14);
		}
		sim_flip_to_zero(s, q);
		for (size_t i = 0; i < s->namps; i++) {
			cplx want = ((i >> q) & 1) ? 0 : v[i | ((size_t)1 << q)] /
							      sqrt(p1);

			cr_expect_leq(cabs(rt_amp(s, i) - want), 1e-14);
		}
		cr_expect_float_eq(sim_prob_one(s, q), 0.0, 0);
		/* collapse on 0 */
		random_state(s);
		load(s, v);
		ref = 1 - sim_prob_one(s, q);
		sim_collapse(s, q, 0, ref);
		cr_expect_float_eq(sim_prob_one(s, q), 0.0, 0);
		cr_expect_float_eq(sim_norm2(s), 1.0, 1e-13);
	}
	sim_state_destroy(s);
}

Test(sim_kernels, sampleIndexWalksTheCumulativeProbabilities)
{
	struct sim_state *s = rt_state_new(2);

	/* probabilities 0.1 0 0.6 0.3 */
	sim_state_set_basis(s, 0);
	s->amps[0] = sqrt(0.1);
	s->amps[4] = sqrt(0.6);
	s->amps[7] = sqrt(0.3);  /* imaginary part of amplitude 3 */
	cr_expect_eq(sim_sample_index(s, 0.0, 1.0), 0);
	cr_expect_eq(sim_sample_index(s, 0.099, 1.0), 0);
	cr_expect_eq(sim_sample_index(s, 0.101, 1.0), 2);
	cr_expect_eq(sim_sample_index(s, 0.69, 1.0), 2);
	cr_expect_eq(sim_sample_index(s, 0.71, 1.0), 3);
	cr_expect_eq(sim_sample_index(s, 0.999999, 1.0), 3);
	cr_expect_eq(sim_sample_index(s, 1.5, 1.0), 3);  /* rounding: last */
	sim_state_destroy(s);
}

Test(sim_kernels, stateSizeChecks)
{
	struct sim_state *s;
	struct rt_error err;

	rt_error_clear(&err);
	cr_expect_eq(sim_state_create(&s, 41, 0, &err), -EFBIG);
	cr_expect_str_eq(err.msg, "error: the circuit has 41 qubits; this "
			 "simulator handles at most 40 (a state vector of 2^n "
			 "amplitudes of 16 bytes)");
	rt_error_clear(&err);
	cr_expect_eq(sim_state_create(&s, 20, 1 << 20, &err), -EFBIG);
	cr_expect_str_eq(err.msg, "error: the circuit has 20 qubits: 1 state "
			 "vector of 2^20 amplitudes x 16 bytes need 16.0 MiB, more "
			 "than the configured limit of 1.0 MiB");
	rt_error_clear(&err);
	cr_expect_eq(sim_state_check_fits(36, 1, 0, &err), -EFBIG);
	cr_expect(strstr(err.msg, "need 1024.0 GiB, more than this machine's "
			 "memory,") != NULL, "%s", err.msg);
	cr_expect_eq(sim_state_create(&s, 10, 0, NULL), 0);
	cr_expect_eq(s->namps, 1024);
	cr_expect_eq((uintptr_t)s->amps % 64, 0);
	cr_expect_eq(s->amps[0], 1.0);
	sim_state_destroy(s);
}

Test(sim_kernels, benchEntryPoint)
{
	struct rt_error err;
	double t = sim_bench_gate1(12, 3, 5, &err);

	cr_expect_gt(t, 0);
	rt_error_clear(&err);
	cr_expect_lt(sim_bench_gate1(4, 4, 1, &err), 0);
	cr_expect_str_eq(err.msg, "error: need target < nqubits and reps > 0");
}
