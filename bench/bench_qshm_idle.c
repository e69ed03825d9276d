/* SPDX-License-Identifier: MIT */
/*
 * bench_qshm_idle.c - what an idle consumer costs: a reliable consumer in
 * the child waits in qshm_consumer_read() on a ring where nothing arrives
 * for cfg->idle_s seconds; its CPU time (getrusage, user + system) over
 * that wall time is the figure. Then the parent publishes one record
 * carrying its CLOCK_MONOTONIC send time, and the child also reports how
 * long the wake-up took. Three wait modes: QSHM_WAIT_BLOCK (the design
 * target: ~0 CPU), QSHM_WAIT_SPIN_PARK (spins 50 us, then sleeps) and
 * QSHM_WAIT_BUSY (one CPU, for contrast).
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <qshm/qshm.h>

#define BENCH_QI_TYPE (QSHM_TYPE_USER_MIN + 2)

struct bench_qi_arg {
	char name[96];
	enum qshm_wait_mode mode;
};

static int bench_qi_fail(char *err, const char *what, int e)
{
	bench_errf(err, "%s: %s [%s]", what, qshm_strerror(e),
		   qshm_last_error());
	return -1;
}

static uint64_t bench_qi_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
		       1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
		       1000u;
}

static int bench_qi_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_qi_arg *a = varg;
	qshm_consumer *c = NULL;
	struct qshm_record rec;
	uint64_t cpu0, cpu1, t0, t1, sent;
	int e = -ENOENT, rc = -1;

	if (bench_ctl_await(&ctl->parent_stage, 1, 0, 20) != 0) {
		bench_errf(ctl->err, "child: parent did not create %s", a->name);
		return -1;
	}
	for (int tries = 0; tries < 2000; tries++) {
		e = qshm_consumer_attach(a->name, QSHM_CONSUMER_RELIABLE, &c);
		if (e != -ENOENT && e != -QSHM_ECREATING)
			break;
		usleep(1000);
	}
	if (e < 0)
		return bench_qi_fail(ctl->err, "child: qshm_consumer_attach", e);
	e = qshm_consumer_set_wait(c, a->mode, BENCH_QSHM_SPIN_NS);
	if (e < 0) {
		bench_qi_fail(ctl->err, "child: qshm_consumer_set_wait", e);
		goto out;
	}
	cpu0 = bench_qi_cpu_ns();
	t0 = bench_now_ns();
	bench_ctl_post(&ctl->child_stage, 1);
	e = qshm_consumer_read(c, &rec, QSHM_FOREVER);
	t1 = bench_now_ns();
	cpu1 = bench_qi_cpu_ns();
	if (e < 0) {
		bench_qi_fail(ctl->err, "child: qshm_consumer_read", e);
		goto out;
	}
	if (rec.len != sizeof sent) {
		bench_errf(ctl->err, "child: record of %u bytes", rec.len);
		goto out;
	}
	memcpy(&sent, rec.data, sizeof sent);
	qshm_consumer_release(c);
	ctl->result[0] = 100.0 * (double)(cpu1 - cpu0) / (double)(t1 - t0);
	ctl->result[1] = t1 > sent ? (double)(t1 - sent) / 1e3 : 0;
	ctl->result[2] = (double)(t1 - t0) / 1e9;
	rc = 0;
out:
	qshm_consumer_close(c);
	return rc;
}

static int bench_qi_run(const struct bench_measure *m,
			const struct bench_cfg *cfg, struct bench_out *out)
{
	struct bench_qi_arg a;
	struct bench_ctl *ctl = bench_ctl_new();
	char path[128];
	qshm_producer *p = NULL;
	pid_t pid = -1;
	int rc = -1, e;

	memset(&a, 0, sizeof a);
	a.mode = (enum qshm_wait_mode)m->param;
	bench_name(a.name, sizeof a.name, "idle");
	snprintf(path, sizeof path, "/qshm.%s", a.name);
	bench_shm_track(path);
	if (!ctl) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	pid = bench_spawn(cfg->cpu_b, bench_qi_child, &a, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	e = qshm_producer_create(a.name, NULL, &p);
	if (e < 0) {
		bench_qi_fail(out->err, "qshm_producer_create", e);
		goto out;
	}
	bench_ctl_post(&ctl->parent_stage, 1);
	if (bench_ctl_await(&ctl->child_stage, 1, pid, 20) != 0) {
		bench_reap(pid, ctl, 1, out->err);
		pid = -1;
		goto out;
	}
	/* The consumer is about to wait; leave it alone for idle_s. */
	struct timespec ts = {
		.tv_sec = (time_t)cfg->idle_s,
		.tv_nsec = (long)((cfg->idle_s - (double)(time_t)cfg->idle_s) *
				  1e9),
	};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	uint64_t now = bench_now_ns();
	e = qshm_producer_publish(p, BENCH_QI_TYPE, &now, sizeof now,
				  QSHM_FOREVER);
	if (e < 0) {
		bench_qi_fail(out->err, "qshm_producer_publish", e);
		goto out;
	}
	rc = bench_reap(pid, ctl, 20, out->err);
	pid = -1;
	if (rc == 0) {
		out->v[0] = ctl->result[0];
		out->v[1] = ctl->result[1];
		snprintf(out->note, sizeof out->note, "asleep %.2f s",
			 ctl->result[2]);
	}
out:
	bench_kill(pid);
	if (p)
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	bench_shm_remove(path);
	bench_ctl_free(ctl);
	return rc;
}

#define BENCH_QI_MEASURE(k, lbl, mode) {				\
	.key = k,							\
	.label = lbl,							\
	.group = "idle",						\
	.transport = "qshm",						\
	.param = (mode),						\
	.nmetrics = 2,							\
	.metrics = { "cpu_pct", "wake_us" },				\
	.run = bench_qi_run,						\
}

const struct bench_measure bench_qshm_idle[3] = {
	BENCH_QI_MEASURE("idle.qshm_block", "qshm blocking", QSHM_WAIT_BLOCK),
	BENCH_QI_MEASURE("idle.qshm_spin", "qshm spin-then-park",
			 QSHM_WAIT_SPIN_PARK),
	BENCH_QI_MEASURE("idle.qshm_busy", "qshm busy-poll", QSHM_WAIT_BUSY),
};
