/*
 * rt_test.h - helpers shared by the runtime tests: parsing inline programs,
 * running gate-only circuits on chosen states, small complex matrices
 * computed independently of the runtime, exact outcome distributions.
 */
#ifndef QSHM_RT_TEST_H
#define QSHM_RT_TEST_H

#include <criterion/criterion.h>
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qasm.h"
#include "sim.h"

typedef double complex cplx;

/* Parse @src (named "t.qasm"); fail the test with the message on error. */
static inline struct qasm_circuit *rt_parse_flags(const char *src,
						  unsigned flags)
{
	struct qasm_circuit *c = NULL;
	struct rt_error err;
	int rc = qasm_parse_string("t.qasm", src, strlen(src), flags, &c, &err);

	cr_assert_eq(rc, 0, "parse failed (%d): %s", rc, err.msg);
	cr_assert_not_null(c);
	return c;
}

static inline struct qasm_circuit *rt_parse(const char *src)
{
	return rt_parse_flags(src, 0);
}

/* Parse @src expecting an error; returns the message (static buffer). */
static inline const char *rt_parse_error(const char *src)
{
	static struct rt_error err;
	struct qasm_circuit *c = NULL;
	int rc = qasm_parse_string("t.qasm", src, strlen(src), 0, &c, &err);

	cr_assert_lt(rc, 0, "expected a parse error for:\n%s", src);
	cr_assert_null(c);
	cr_assert_eq(err.code, rc);
	return err.msg;
}

/* Run the gate operations of @c on @s (fails on measure or reset). */
static inline void rt_apply_gates(const struct qasm_circuit *c,
				  struct sim_state *s)
{
	for (size_t i = 0; i < c->nops; i++) {
		const struct qasm_op *op = &c->ops[i];

		cr_assert(op->kind == QASM_OP_GATE1 || op->kind == QASM_OP_GATE2,
			  "op %zu is not a gate", i);
		cr_assert_eq(op->cond, 0);
		if (op->kind == QASM_OP_GATE1)
			sim_apply_gate1(s, op->q[0], op->ctrl,
					qasm_op_matrix(c, op), op->shape);
		else
			sim_apply_gate2(s, op->q[0], op->q[1], op->ctrl,
					qasm_op_matrix(c, op), op->shape);
	}
}

static inline struct sim_state *rt_state_new(unsigned n)
{
	struct sim_state *s;
	struct rt_error err;

	cr_assert_eq(sim_state_create(&s, n, 0, &err), 0, "%s", err.msg);
	return s;
}

static inline cplx rt_amp(const struct sim_state *s, size_t i)
{
	return s->amps[2 * i] + I * s->amps[2 * i + 1];
}

/*
 * The unitary of gate-only circuit @c (n qubits, n <= 6), column k = the
 * circuit applied to |k>, into @u (dim x dim, row-major).
 */
static inline void rt_unitary(const struct qasm_circuit *c, cplx *u)
{
	unsigned n = c->nqubits;
	size_t dim = (size_t)1 << n;
	struct sim_state *s = rt_state_new(n);

	for (size_t k = 0; k < dim; k++) {
		sim_state_set_basis(s, k);
		rt_apply_gates(c, s);
		for (size_t r = 0; r < dim; r++)
			u[r * dim + k] = rt_amp(s, r);
	}
	sim_state_destroy(s);
}

/* ---- small matrices, written here independently of the runtime ---- */

static inline void rt_u3(double th, double ph, double la, cplx m[4])
{
	m[0] = cos(th / 2);
	m[1] = -cexp(I * la) * sin(th / 2);
	m[2] = cexp(I * ph) * sin(th / 2);
	m[3] = cexp(I * (ph + la)) * cos(th / 2);
}

/* Identity of dimension dim. */
static inline void rt_eye(cplx *u, size_t dim)
{
	for (size_t i = 0; i < dim * dim; i++)
		u[i] = 0;
	for (size_t i = 0; i < dim; i++)
		u[i * dim + i] = 1;
}

/*
 * u = G u, where G applies the 2x2 @m to qubit @t of an n-qubit register
 * when all qubits of @ctrl are 1 (qubit k = bit k of the index).
 */
static inline void rt_left_apply(cplx *u, unsigned n, unsigned t,
				 unsigned ctrl, const cplx m[4])
{
	size_t dim = (size_t)1 << n, tb = (size_t)1 << t;

	for (size_t i = 0; i < dim; i++) {
		if ((i & tb) || (i & ctrl) != ctrl)
			continue;
		for (size_t col = 0; col < dim; col++) {
			cplx a = u[i * dim + col], b = u[(i | tb) * dim + col];

			u[i * dim + col] = m[0] * a + m[1] * b;
			u[(i | tb) * dim + col] = m[2] * a + m[3] * b;
		}
	}
}

/* Largest |a_i - b_i|. */
static inline double rt_maxdiff(const cplx *a, const cplx *b, size_t n)
{
	double d = 0;

	for (size_t i = 0; i < n; i++)
		if (cabs(a[i] - b[i]) > d)
			d = cabs(a[i] - b[i]);
	return d;
}

/* Largest |a_i - e^{i phi} b_i| for the phase that best aligns them. */
static inline double rt_maxdiff_phase(const cplx *a, const cplx *b, size_t n)
{
	cplx dot = 0;

	for (size_t i = 0; i < n; i++)
		dot += a[i] * conj(b[i]);
	cplx ph = cabs(dot) > 0 ? dot / cabs(dot) : 1;
	double d = 0;

	for (size_t i = 0; i < n; i++)
		if (cabs(a[i] - ph * b[i]) > d)
			d = cabs(a[i] - ph * b[i]);
	return d;
}

/* Largest |a_i - b_i| between the final states of two runs (as doubles,
 * whatever their precision). */
static inline double rt_state_diff(struct sim_run *a, struct sim_run *b)
{
	const double *x, *y;
	size_t nx, ny;
	double worst = 0;

	cr_assert_eq(sim_run_final_state(a, &x, &nx), 0);
	/* x stays valid: b is another run */
	cr_assert_eq(sim_run_final_state(b, &y, &ny), 0);
	cr_assert_eq(nx, ny);
	for (size_t i = 0; i < 2 * nx; i++)
		worst = fmax(worst, fabs(x[i] - y[i]));
	return worst;
}

/* ---- deterministic random numbers, hashes of shots ---- */

/* An xorshift64 stream. Each test file keeps its own, seeded where it is
 * declared (static struct rt_rng rng = { SEED };), so that its random
 * circuits are the same on every run. */
struct rt_rng {
	uint64_t s;
};

static inline uint64_t rt_rnd(struct rt_rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* Uniform in [0, 1). */
static inline double rt_urand(struct rt_rng *r)
{
	return (double)(rt_rnd(r) >> 11) * 0x1.0p-53;
}

/* A gate angle, uniform in [-4, 4). */
static inline double rt_rangle(struct rt_rng *r)
{
	return rt_urand(r) * 8 - 4;
}

/* FNV-style hash of 64-bit words, to compare streams of shots: start from
 * RT_HASH_INIT, feed words in order. */
#define RT_HASH_INIT 0xcbf29ce484222325ull

static inline uint64_t rt_hash_words(uint64_t h, const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * 0x100000001b3ull;
	return h;
}

struct rt_shots_hash {
	uint64_t hash;
	uint64_t shots;
};

/* sim_run_shots() callback: every word of every shot into ctx, a
 * struct rt_shots_hash. */
static inline int rt_hash_shots(void *ctx, const uint64_t *bits,
				size_t nshots, size_t words)
{
	struct rt_shots_hash *h = ctx;

	h->hash = rt_hash_words(h->hash, bits, nshots * words);
	h->shots += nshots;
	return 0;
}

/* The hash of the next nshots shots of run r (all of them delivered). */
static inline uint64_t rt_run_hash(struct sim_run *r, uint64_t nshots)
{
	struct rt_shots_hash h = { RT_HASH_INIT, 0 };
	struct rt_error err;

	cr_assert_eq(sim_run_shots(r, nshots, rt_hash_shots, &h, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(h.shots, nshots, "every shot is delivered");
	return h.hash;
}

/* ---- outcome distributions ---- */

#define RT_DIST_MAX 4096

struct rt_dist {
	const struct qasm_circuit *c;
	size_t n;
	char outcome[RT_DIST_MAX][96];
	double p[RT_DIST_MAX];
};

static inline int rt_dist_add(void *ctx, const uint64_t *bits, size_t words,
			      double prob)
{
	struct rt_dist *d = ctx;

	(void)words;
	if (d->n == RT_DIST_MAX || sim_outcome_strlen(d->c) >= 96)
		return -1;
	sim_outcome_format(d->c, bits, d->outcome[d->n]);
	d->p[d->n++] = prob;
	return 0;
}

/* Probability of @outcome in @d (0 if absent). */
static inline double rt_dist_get(const struct rt_dist *d, const char *outcome)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->outcome[i], outcome) == 0)
			return d->p[i];
	return 0;
}

/* The exact distribution of circuit @c (heap-allocated; free()). */
static inline struct rt_dist *rt_exact(const struct qasm_circuit *c,
				       const struct sim_config *cfg)
{
	struct rt_dist *d = calloc(1, sizeof(*d));
	struct sim_config def = SIM_CONFIG_INIT;
	struct sim_run *r;
	struct rt_error err;

	cr_assert_not_null(d);
	d->c = c;
	cr_assert_eq(sim_run_create(&r, c, cfg ? cfg : &def, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(sim_run_outcome_dist(r, rt_dist_add, d), 0);
	sim_run_destroy(r);
	return d;
}

/* Shots into a histogram with outcome strings. */
static inline struct rt_dist *rt_sample(const struct qasm_circuit *c,
					uint64_t shots, uint64_t seed,
					const struct sim_config *base)
{
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct rt_dist *d = calloc(1, sizeof(*d));
	struct sim_counts *k;
	struct sim_count_entry *e;
	struct sim_run *r;
	struct rt_error err;

	if (base)
		cfg = *base;
	cfg.seed = seed;
	cr_assert_not_null(d);
	d->c = c;
	cr_assert_eq(sim_run_create(&r, c, &cfg, &err), 0, "%s", err.msg);
	k = sim_counts_new(sim_run_words_per_shot(r));
	cr_assert_not_null(k);
	cr_assert_eq(sim_run_shots(r, shots, sim_counts_shots_fn, k, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(sim_counts_sorted(k, c, &e), 0);
	cr_assert_leq(sim_counts_size(k), RT_DIST_MAX);
	for (size_t i = 0; i < sim_counts_size(k); i++) {
		snprintf(d->outcome[i], sizeof(d->outcome[i]), "%s",
			 e[i].outcome);
		d->p[i] = (double)e[i].count / (double)shots;
	}
	d->n = sim_counts_size(k);
	free(e);
	sim_counts_free(k);
	sim_run_destroy(r);
	return d;
}

/*
 * Total variation distance between a sampled and an exact distribution, and
 * a bound for it at @shots shots: 4 standard deviations of each outcome's
 * frequency, sum_i 4 sqrt(p_i (1 - p_i) / N), halved as the TVD is, plus
 * 1/N for rounding. The expected TVD is near sum_i sqrt(p_i (1-p_i) /
 * (2 pi N)), about 0.2 of this bound; exceeding it by chance would need
 * several outcomes off by 4 sigma at once.
 */
static inline double rt_tvd(const struct rt_dist *sampled,
			    const struct rt_dist *exact, uint64_t shots,
			    double *bound)
{
	double tvd = 0, b = 0;

	for (size_t i = 0; i < exact->n; i++) {
		double p = exact->p[i];

		tvd += fabs(rt_dist_get(sampled, exact->outcome[i]) - p);
		b += 4 * sqrt(p * (1 - p) / (double)shots);
	}
	for (size_t i = 0; i < sampled->n; i++)
		if (rt_dist_get(exact, sampled->outcome[i]) == 0)
			tvd += sampled->p[i];
	*bound = b / 2 + 1.0 / (double)shots;
	return tvd / 2;
}

/* Read @dir/expected/<stem>.txt (a corpus reference distribution: lines of
 * outcome TAB probability) into @d; false if there is none. */
static inline bool rt_read_expected(const char *dir, const char *stem,
				    struct rt_dist *d)
{
	char path[1024], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/expected/%s.txt", dir, stem);
	f = fopen(path, "r");
	if (!f)
		return false;
	d->n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *tab;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		tab = strchr(line, '\t');
		cr_assert_not_null(tab, "%s: bad line %s", path, line);
		*tab = '\0';
		cr_assert_lt(d->n, RT_DIST_MAX);
		snprintf(d->outcome[d->n], sizeof(d->outcome[d->n]), "%.95s", line);
		d->p[d->n++] = strtod(tab + 1, NULL);
	}
	fclose(f);
	return true;
}

#endif
