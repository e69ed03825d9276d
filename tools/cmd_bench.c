/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench.c - `qshm bench`: the benchmark suite (bench/), with this
 * command's own publisher lent to it, so that the shots figure measures
 * exactly what `qshm sim --ring` does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench_suite.h"
#include "publish.h"
#include "qasm.h"
#include "sim.h"
#include "tools.h"

/* RUN_BEGIN, the shots (sampled in batches, each batch copied into SHOTS
 * records claimed in the ring), RUN_END: the path of `qshm sim --ring`. */
static int bench_publish_shots(qshm_producer *p, const struct qasm_circuit *c,
			       struct sim_run *run, uint64_t shots,
			       uint64_t seed, char *err, size_t errlen)
{
	struct publisher pub;
	struct rt_error rerr;
	uint64_t t0 = tools_now_ns(), sim_ns;
	int rc;

	publisher_init(&pub, p, NULL);
	rc = publisher_begin(&pub, c, shots, seed, 0);
	if (rc) {
		snprintf(err, errlen, "publisher_begin: %s", qshm_strerror(rc));
		return rc;
	}
	rt_error_clear(&rerr);
	rc = sim_run_shots(run, shots, publisher_shots, &pub, &rerr);
	sim_ns = tools_now_ns() - t0;
	if (rc) {
		snprintf(err, errlen, "sim_run_shots: %s", rerr.code ?
			 rerr.msg : qshm_strerror(rc < 0 ? rc : -rc));
		return rc < 0 ? rc : -EIO;
	}
	rc = publisher_end(&pub, QSHM_RUN_OK, tools_now_ns() - t0, sim_ns);
	if (rc)
		snprintf(err, errlen, "publisher_end: %s", qshm_strerror(rc));
	return rc;
}

static const struct bench_hooks bench_cmd_hooks = {
	.sim_publish = bench_publish_shots,
};

int qshm_cmd_bench(int argc, char **argv)
{
	return bench_suite_main("qshm bench", BENCH_PROFILE_ALL,
				&bench_cmd_hooks, argc, argv);
}
