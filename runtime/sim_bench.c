/*
 * sim_bench.c - entry points for benchmarks: time one kernel on a state
 * that is already allocated and touched.
 */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double sim_bench_gate1(unsigned nqubits, unsigned target, unsigned reps,
		       struct rt_error *err)
{
	struct sim_state *s;
	double *t, med;

	if (target >= nqubits || reps == 0) {
		rt_error_set(err, -EINVAL, "error: need target < nqubits and reps > 0");
		return -1;
	}
	if (sim_state_create(&s, nqubits, 0, err))
		return -1;
	t = malloc(reps * sizeof(double));
	if (!t) {
		sim_state_destroy(s);
		rt_error_set(err, -ENOMEM, "error: out of memory");
		return -1;
	}
	sim_apply_h(s, target);  /* warm up */
	for (unsigned i = 0; i < reps; i++) {
		double t0 = now();

		sim_apply_h(s, target);
		t[i] = now() - t0;
	}
	qsort(t, reps, sizeof(double), cmp_double);
	med = t[reps / 2];
	free(t);
	sim_state_destroy(s);
	return med;
}
