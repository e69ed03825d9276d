/* SPDX-License-Identifier: MIT */
/*
 * bench_cacheline.c - the hardware floor for a round trip between two
 * processes: each owns one counter on its own cache line in MAP_SHARED
 * memory and busy-polls the other's. A round trip is two cache-line
 * transfers and nothing else.
 */
#include "bench.h"

#include <stdlib.h>
#include <unistd.h>

/* Each counter on its own line; 128 bytes apart so that the adjacent-line
 * prefetcher does not pair them either. */
struct bench_cl_shared {
	_Alignas(128) _Atomic uint64_t ping; /* written by the parent */
	_Alignas(128) _Atomic uint64_t pong; /* written by the child */
};

struct bench_cl_arg {
	struct bench_cl_shared *sh;
	uint64_t total;
	int single_cpu;
};

static int bench_cl_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_cl_arg *a = varg;

	bench_ctl_post(&ctl->child_stage, 1);
	for (uint64_t i = 1; i <= a->total; i++) {
		/* Acquire: pairs with the parent's release store of ping. */
		while (atomic_load_explicit(&a->sh->ping,
					    memory_order_acquire) != i)
			bench_relax(a->single_cpu);
		/* Release: pairs with the parent's acquire load of pong. */
		atomic_store_explicit(&a->sh->pong, i, memory_order_release);
	}
	return 0;
}

static int bench_cl_run(const struct bench_measure *m,
			const struct bench_cfg *cfg, struct bench_out *out)
{
	int at_rate = strcmp(m->group, "rate") == 0;
	uint64_t n = at_rate ? cfg->rate_msgs : cfg->lat_iters;
	uint64_t warm = at_rate ? n / 10 : bench_warmup(cfg, n);
	uint64_t interval = at_rate ? bench_ns_ticks(1e9 / cfg->rate_hz) : 0;
	uint64_t due;
	struct bench_cl_arg a;
	struct bench_peer peer = { NULL, -1 };
	uint64_t *samples = NULL;
	int rc = -1;

	a.sh = bench_shared_alloc(sizeof *a.sh);
	a.total = warm + n;
	a.single_cpu = cfg->single_cpu;
	if (!a.sh) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	samples = bench_samples_new(n, out->err);
	if (!samples ||
	    bench_peer_start(&peer, cfg, bench_cl_child, &a, out->err) != 0)
		goto out;
	due = bench_ticks();
	for (uint64_t i = 1; i <= a.total; i++) {
		uint64_t t0;

		if (interval) {
			/* Open loop: due at its slot of the schedule, timed
			 * from there (see bench_qshm_lat.c). */
			due += interval;
			bench_wait_until(due, a.single_cpu);
			t0 = due;
		} else {
			t0 = bench_ticks();
		}
		/* Release: pairs with the child's acquire load of ping. */
		atomic_store_explicit(&a.sh->ping, i, memory_order_release);
		/* Acquire: pairs with the child's release store of pong. */
		while (atomic_load_explicit(&a.sh->pong,
					    memory_order_acquire) != i)
			bench_relax(a.single_cpu);
		uint64_t t1 = bench_ticks();
		if (i > warm)
			samples[i - warm - 1] = t1 - t0;
	}
	rc = bench_peer_finish(&peer, 0, 10, out->err);
	if (rc == 0)
		bench_lat_fill(out, samples, n);
out:
	bench_peer_kill(&peer);
	free(samples);
	bench_shared_free(a.sh, sizeof *a.sh);
	return rc;
}

const struct bench_measure bench_cacheline_rt = {
	.key = "lat.raw_cacheline",
	.label = "raw cache-line ping-pong",
	.group = "latency",
	.transport = "cacheline",
	.nmetrics = BENCH_LAT_NMETRICS,
	.metrics = { BENCH_LAT_METRICS },
	.run = bench_cl_run,
};

/* The same ping-pong at the fixed offered rate: what the machine itself
 * adds to a busy-poll round trip that waits between messages. */
const struct bench_measure bench_cacheline_rate = {
	.key = "rate.raw_cacheline",
	.label = "raw cache-line ping-pong",
	.group = "rate",
	.transport = "cacheline",
	.nmetrics = BENCH_LAT_NMETRICS,
	.metrics = { BENCH_LAT_METRICS },
	.run = bench_cl_run,
};
