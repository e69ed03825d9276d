/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench.c - `qshm bench`: the benchmark suite (bench/). The shots
 * figure publishes with the runtime's publisher (runtime/publish.c), the
 * code `qshm sim --ring` runs.
 */
#include "bench_suite.h"
#include "tools.h"

int qshm_cmd_bench(int argc, char **argv)
{
	return bench_suite_main("qshm bench", BENCH_PROFILE_ALL, argc, argv);
}
