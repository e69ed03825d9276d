/* SPDX-License-Identifier: MIT */
/*
 * bench_suite.h - the benchmark suite as the programs that run it see it:
 * `qshm bench` (tools/cmd_bench.c) and qshm-ring-bench (ring_bench.c).
 */
#ifndef QSHM_BENCH_SUITE_H
#define QSHM_BENCH_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include <qshm/qshm.h>

struct qasm_circuit;
struct sim_run;

/* What the suite borrows from the program that runs it. */
struct bench_hooks {
	/*
	 * Publishes shots more shots of run (circuit c) into p exactly as
	 * `qshm sim --ring` does: RUN_BEGIN, SHOTS records filled in place,
	 * RUN_END. Returns 0, or a negative code with a message in err.
	 * NULL: the shots figure is not measured.
	 */
	int (*sim_publish)(qshm_producer *p, const struct qasm_circuit *c,
			   struct sim_run *run, uint64_t shots, uint64_t seed,
			   char *err, size_t errlen);
};

enum bench_profile {
	BENCH_PROFILE_RING, /* the ring against the hardware floor */
	BENCH_PROFILE_ALL,  /* everything: floors, alternatives, simulator */
};

/*
 * Runs the suite with the options in argv (argv[0] is the program's name as
 * the user typed it, prog is how messages name it). Returns the exit
 * status: 0 when everything ran (targets are reported, never asserted), 1
 * when a measurement failed or left something behind, 2 on a usage error.
 */
int bench_suite_main(const char *prog, enum bench_profile profile,
		     const struct bench_hooks *hooks, int argc, char **argv);

#endif /* QSHM_BENCH_SUITE_H */
