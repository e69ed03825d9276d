/* SPDX-License-Identifier: MIT */
/*
 * bench_futex.c - the floor for a blocking round trip: two processes sleep
 * on shared (not private) futex words in MAP_SHARED memory and wake each
 * other. Each hop is one store, one FUTEX_WAKE and the peer's return from
 * FUTEX_WAIT; neither side spins.
 */
#include "bench.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct bench_fx_shared {
	_Alignas(128) _Atomic uint32_t ping; /* written by the parent */
	_Alignas(128) _Atomic uint32_t pong; /* written by the child */
};

struct bench_fx_arg {
	struct bench_fx_shared *sh;
	uint64_t total;
};

/* Shared futex ops: no FUTEX_PRIVATE_FLAG, the words live in MAP_SHARED
 * memory of two processes. */
static void bench_fx_wait(_Atomic uint32_t *w, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void bench_fx_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Sleeps until *w == want. FUTEX_WAIT returns at once (EAGAIN) if *w no
 * longer holds v, so a store+wake between our load and our sleep is never
 * lost. */
static void bench_fx_await(_Atomic uint32_t *w, uint32_t want)
{
	uint32_t v;
	while ((v = atomic_load_explicit(w, memory_order_acquire)) != want)
		bench_fx_wait(w, v);
}

static int bench_fx_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_fx_arg *a = varg;

	bench_ctl_post(&ctl->child_stage, 1);
	for (uint64_t i = 1; i <= a->total; i++) {
		bench_fx_await(&a->sh->ping, (uint32_t)i);
		atomic_store_explicit(&a->sh->pong, (uint32_t)i,
				      memory_order_release);
		bench_fx_wake(&a->sh->pong);
	}
	return 0;
}

static int bench_fx_run(const struct bench_measure *m,
			const struct bench_cfg *cfg, struct bench_out *out)
{
	int at_rate = strcmp(m->group, "rate") == 0;
	uint64_t n = at_rate ? cfg->rate_msgs : cfg->lat_block_iters;
	uint64_t warm = at_rate ? n / 10 : bench_warmup(cfg, n);
	uint64_t interval = at_rate ? bench_ns_ticks(1e9 / cfg->rate_hz) : 0;
	uint64_t due;
	struct bench_fx_arg a;
	struct bench_peer peer = { NULL, -1 };
	uint64_t *samples = NULL;
	int rc = -1;

	a.sh = bench_shared_alloc(sizeof *a.sh);
	a.total = warm + n;
	if (!a.sh) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	samples = bench_samples_new(n, out->err);
	if (!samples ||
	    bench_peer_start(&peer, cfg, bench_fx_child, &a, out->err) != 0)
		goto out;
	due = bench_ticks();
	for (uint64_t i = 1; i <= a.total; i++) {
		uint64_t t0;

		if (interval) {
			/* Open loop: due at its slot of the schedule, timed
			 * from there (see bench_qshm_lat.c). */
			due += interval;
			bench_wait_until(due, cfg->single_cpu);
			t0 = due;
		} else {
			t0 = bench_ticks();
		}
		atomic_store_explicit(&a.sh->ping, (uint32_t)i,
				      memory_order_release);
		bench_fx_wake(&a.sh->ping);
		bench_fx_await(&a.sh->pong, (uint32_t)i);
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

const struct bench_measure bench_futex_rt = {
	.key = "lat.futex",
	.label = "raw futex ping-pong",
	.group = "latency",
	.transport = "futex",
	.nmetrics = BENCH_LAT_NMETRICS,
	.metrics = { BENCH_LAT_METRICS },
	.run = bench_fx_run,
};

/* The same at the fixed offered rate: the floor of a sleeping receiver. */
const struct bench_measure bench_futex_rate = {
	.key = "rate.futex",
	.label = "raw futex ping-pong",
	.group = "rate",
	.transport = "futex",
	.nmetrics = BENCH_LAT_NMETRICS,
	.metrics = { BENCH_LAT_METRICS },
	.run = bench_fx_run,
};
