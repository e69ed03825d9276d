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
		     int argc, char **argv);

#endif /* QSHM_BENCH_SUITE_H */
