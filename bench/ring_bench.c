/* SPDX-License-Identifier: MIT */
/*
 * ring_bench.c - qshm-ring-bench: qshm's ring against the hardware floor
 * (raw cache-line and futex ping-pong, a minimal SPSC ring, memcpy),
 * measured in one run so that the ratios of the design's targets are
 * meaningful. The ring part of `qshm bench`, without the alternatives and
 * the simulator; the same options. Reports; never asserts.
 */
#include "bench_suite.h"

int main(int argc, char **argv)
{
	return bench_suite_main("qshm-ring-bench", BENCH_PROFILE_RING,
				argc, argv);
}
