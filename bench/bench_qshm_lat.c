/* SPDX-License-Identifier: MIT */
/*
 * bench_qshm_lat.c - round trip of 64-byte records through two qshm rings:
 * the parent produces on "ping" and consumes "pong", the child the other
 * way round; both consumers reliable, zero-copy on both sides (claim, write
 * in place, commit; read in place, release). Three wait modes, the same on
 * both sides: QSHM_WAIT_BUSY, QSHM_WAIT_SPIN_PARK (default spin) and
 * QSHM_WAIT_BLOCK.
 *
 * Two kinds of figure: back-to-back round trips (the next ping leaves as
 * soon as the pong is in), and round trips at a fixed offered rate
 * (cfg->rate_hz), where ping i is due at t0 + i/rate and its latency is
 * counted from that due time, not from when it was sent: a stall that
 * delays later pings shows in their latency too (no coordinated omission).
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <qshm/qshm.h>

#define BENCH_QL_LEN  64
#define BENCH_QL_TYPE QSHM_TYPE_USER_MIN

struct bench_ql_arg {
	char ping[96], pong[96];   /* ring names */
	uint64_t total;            /* round trips, warm-up included */
	enum qshm_wait_mode mode;
	struct qshm_create_opts opts;
};

static int bench_ql_fail(char *err, const char *what, int e)
{
	bench_errf(err, "%s: %s [%s]", what, qshm_strerror(e),
		   qshm_last_error());
	return -1;
}

/* Attaches as a reliable consumer, retrying while the ring is being made. */
static int bench_ql_attach(const char *name, enum qshm_wait_mode mode,
			   qshm_consumer **c, char *err)
{
	int e = -ENOENT;

	for (int tries = 0; tries < 2000; tries++) {
		e = qshm_consumer_attach(name, QSHM_CONSUMER_RELIABLE, c);
		if (e != -ENOENT && e != -QSHM_ECREATING)
			break;
		usleep(1000);
	}
	if (e < 0)
		return bench_ql_fail(err, "qshm_consumer_attach", e);
	e = qshm_consumer_set_wait(*c, mode, BENCH_QSHM_SPIN_NS);
	if (e < 0)
		return bench_ql_fail(err, "qshm_consumer_set_wait", e);
	return 0;
}

static int bench_ql_create(const char *name, const struct bench_ql_arg *a,
			   qshm_producer **p, char *err)
{
	int e = qshm_producer_create(name, &a->opts, p);
	if (e < 0)
		return bench_ql_fail(err, "qshm_producer_create", e);
	e = qshm_producer_set_wait(*p, a->mode, BENCH_QSHM_SPIN_NS);
	if (e < 0)
		return bench_ql_fail(err, "qshm_producer_set_wait", e);
	return 0;
}

/* The echo side: reads a ping in place, copies it into a claimed pong,
 * commits, then releases the ping (off the critical path). */
static int bench_ql_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_ql_arg *a = varg;
	qshm_consumer *in = NULL;
	qshm_producer *out = NULL;
	int rc = -1, e;

	if (bench_ctl_await(&ctl->parent_stage, 1, 0, 20) != 0) {
		bench_errf(ctl->err, "child: parent did not create %s", a->ping);
		return -1;
	}
	if (bench_ql_attach(a->ping, a->mode, &in, ctl->err) ||
	    bench_ql_create(a->pong, a, &out, ctl->err))
		goto out;
	bench_ctl_post(&ctl->child_stage, 1);
	e = qshm_producer_wait_consumers(out, 1, 20000000000);
	if (e < 0) {
		bench_ql_fail(ctl->err, "child: qshm_producer_wait_consumers", e);
		goto out;
	}
	if (bench_ctl_await(&ctl->parent_stage, 2, 0, 20) != 0) {
		bench_errf(ctl->err, "child: parent did not start");
		goto out;
	}
	for (uint64_t i = 1; i <= a->total; i++) {
		struct qshm_record rec;
		void *buf;

		e = qshm_consumer_read(in, &rec, QSHM_FOREVER);
		if (e < 0) {
			bench_ql_fail(ctl->err, "child: qshm_consumer_read", e);
			goto out;
		}
		if (rec.len != BENCH_QL_LEN) {
			bench_errf(ctl->err, "child: record of %u bytes",
				   rec.len);
			goto out;
		}
		e = qshm_producer_claim(out, BENCH_QL_LEN, BENCH_QL_TYPE,
					QSHM_FOREVER, &buf);
		if (e < 0) {
			bench_ql_fail(ctl->err, "child: qshm_producer_claim", e);
			goto out;
		}
		memcpy(buf, rec.data, BENCH_QL_LEN);
		qshm_producer_commit(out);
		qshm_consumer_release(in);
	}
	rc = 0;
out:
	if (in)
		qshm_consumer_close(in);
	if (out)
		qshm_producer_close(out, QSHM_CLOSE_UNLINK);
	return rc;
}

static int bench_ql_run(const struct bench_cfg *cfg, struct bench_out *out,
			enum qshm_wait_mode mode, uint64_t n, double rate_hz)
{
	uint64_t interval = rate_hz > 0 ? bench_ns_ticks(1e9 / rate_hz) : 0;
	uint64_t warm = interval ? n / 10 : bench_warmup(cfg, n), sink = 0;
	uint64_t due = 0;
	struct bench_ql_arg *a = calloc(1, sizeof *a);
	struct bench_ctl *ctl = bench_ctl_new();
	uint64_t *samples = malloc(n * sizeof *samples);
	char ping_path[128] = "", pong_path[128] = "";
	qshm_producer *p = NULL;
	qshm_consumer *c = NULL;
	pid_t pid = -1;
	int rc = -1, e;

	if (!a || !ctl || !samples) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	/* Fault the pages in before timing (not 0: malloc+memset 0 may
	 * become calloc, which leaves them unfaulted). */
	memset(samples, 0xff, n * sizeof *samples);
	bench_name(a->ping, sizeof a->ping, "ping");
	bench_name(a->pong, sizeof a->pong, "pong");
	snprintf(ping_path, sizeof ping_path, "/qshm.%s", a->ping);
	snprintf(pong_path, sizeof pong_path, "/qshm.%s", a->pong);
	bench_shm_track(ping_path);
	bench_shm_track(pong_path);
	a->total = warm + n;
	a->mode = mode;
	a->opts.capacity = cfg->ring_capacity;

	/* Fork first, so the child inherits no qshm state of ours. */
	pid = bench_spawn(cfg->cpu_b, bench_ql_child, a, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	if (bench_ql_create(a->ping, a, &p, out->err))
		goto out;
	bench_ctl_post(&ctl->parent_stage, 1);
	if (bench_ctl_await(&ctl->child_stage, 1, pid, 20) != 0) {
		bench_reap(pid, ctl, 1, out->err);
		pid = -1;
		goto out;
	}
	if (bench_ql_attach(a->pong, mode, &c, out->err))
		goto out;
	e = qshm_producer_wait_consumers(p, 1, 20000000000);
	if (e < 0) {
		bench_ql_fail(out->err, "qshm_producer_wait_consumers", e);
		goto out;
	}
	bench_ctl_post(&ctl->parent_stage, 2);

	due = bench_ticks();
	for (uint64_t i = 1; i <= a->total; i++) {
		struct qshm_record rec;
		void *buf;
		uint64_t t0;

		if (interval) {
			/* Open loop: ping i is due at its slot of the
			 * schedule, and its latency counts from there. */
			due += interval;
			bench_wait_until(due, cfg->single_cpu);
			t0 = due;
		} else {
			t0 = bench_ticks();
		}

		e = qshm_producer_claim(p, BENCH_QL_LEN, BENCH_QL_TYPE,
					QSHM_FOREVER, &buf);
		if (e < 0) {
			bench_ql_fail(out->err, "qshm_producer_claim", e);
			goto out;
		}
		bench_payload_write(buf, BENCH_QL_LEN, i);
		qshm_producer_commit(p);
		e = qshm_consumer_read(c, &rec, QSHM_FOREVER);
		if (e < 0) {
			bench_ql_fail(out->err, "qshm_consumer_read", e);
			goto out;
		}
		uint64_t seq = rec.len == BENCH_QL_LEN ?
			bench_payload_read(rec.data, BENCH_QL_LEN, &sink) : 0;
		qshm_consumer_release(c);
		uint64_t t1 = bench_ticks();
		if (seq != i) {
			bench_errf(out->err, "pong %llu carries %llu (%u bytes)",
				   (unsigned long long)i,
				   (unsigned long long)seq, rec.len);
			goto out;
		}
		if (i > warm)
			samples[i - warm - 1] = t1 - t0;
	}
	rc = bench_reap(pid, ctl, 20, out->err);
	pid = -1;
	if (rc == 0) {
		struct qshm_producer_stats st;
		bench_lat_fill(out, samples, n);
		if (qshm_producer_stats(p, &st) == 0 && mode != QSHM_WAIT_BUSY)
			snprintf(out->note, sizeof out->note,
				 "ping wakes %llu of %llu records",
				 (unsigned long long)st.wakes,
				 (unsigned long long)st.records);
	}
out:
	bench_kill(pid);
	if (c)
		qshm_consumer_close(c);
	if (p)
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	bench_shm_remove(ping_path);
	bench_shm_remove(pong_path);
	free(samples);
	bench_ctl_free(ctl);
	free(a);
	return rc;
}

/* m->param: the wait mode; group "rate": at the offered rate. */
static int bench_ql_run_m(const struct bench_measure *m,
			  const struct bench_cfg *cfg, struct bench_out *out)
{
	enum qshm_wait_mode mode = (enum qshm_wait_mode)m->param;

	if (strcmp(m->group, "rate") == 0)
		return bench_ql_run(cfg, out, mode, cfg->rate_msgs,
				    cfg->rate_hz);
	return bench_ql_run(cfg, out, mode, mode == QSHM_WAIT_BUSY ?
			    cfg->lat_iters : cfg->lat_block_iters, 0);
}

#define BENCH_QL_MEASURE(k, grp, lbl, mode) {				\
	.key = k,							\
	.label = lbl,							\
	.group = grp,							\
	.transport = "qshm",						\
	.param = (mode),						\
	.nmetrics = BENCH_LAT_NMETRICS,					\
	.metrics = { BENCH_LAT_METRICS },				\
	.run = bench_ql_run_m,						\
}

const struct bench_measure bench_qshm_busy_rt =
	BENCH_QL_MEASURE("lat.qshm_busy", "latency", "qshm busy-poll",
			 QSHM_WAIT_BUSY);
const struct bench_measure bench_qshm_spin_rt =
	BENCH_QL_MEASURE("lat.qshm_spin", "latency", "qshm spin-then-park",
			 QSHM_WAIT_SPIN_PARK);
const struct bench_measure bench_qshm_block_rt =
	BENCH_QL_MEASURE("lat.qshm_block", "latency", "qshm blocking",
			 QSHM_WAIT_BLOCK);

const struct bench_measure bench_qshm_rate[3] = {
	BENCH_QL_MEASURE("rate.qshm_busy", "rate", "qshm busy-poll",
			 QSHM_WAIT_BUSY),
	BENCH_QL_MEASURE("rate.qshm_spin", "rate", "qshm spin-then-park",
			 QSHM_WAIT_SPIN_PARK),
	BENCH_QL_MEASURE("rate.qshm_block", "rate", "qshm blocking",
			 QSHM_WAIT_BLOCK),
};
