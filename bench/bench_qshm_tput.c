/* SPDX-License-Identifier: MIT */
/*
 * bench_qshm_tput.c - one-way throughput of a qshm ring: the parent claims,
 * writes in place and commits every BENCH_QT_BATCH records; the child, a
 * reliable consumer, reads every word of each record in place and releases
 * every BENCH_QT_BATCH records. Both sides QSHM_WAIT_BUSY. The rate is
 * timed by the consumer over the records after the warm-up, per chunk
 * (bench_chunks). The payload
 * code, batch size, ring capacity and CPUs match bench_spsc.c.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <qshm/qshm.h>

#define BENCH_QT_BATCH 32u
#define BENCH_QT_TYPE  (QSHM_TYPE_USER_MIN + 1)

struct bench_qt_arg {
	char name[96];
	uint64_t warm, total;
	size_t len;
};

static int bench_qt_fail(char *err, const char *what, int e)
{
	bench_errf(err, "%s: %s [%s]", what, qshm_strerror(e),
		   qshm_last_error());
	return -1;
}

static inline int bench_qt_consume(qshm_consumer *c,
				   const struct bench_qt_arg *a, size_t len,
				   struct bench_ctl *ctl)
{
	uint64_t end = a->warm + a->total, sink = 0, t0 = 0;
	struct bench_chunks *ch = malloc(sizeof *ch);

	if (!ch) {
		bench_errf(ctl->err, "child: out of memory");
		return -1;
	}
	memset(ch, 0, sizeof *ch);
	for (uint64_t i = 0; i < end; i++) {
		struct qshm_record rec;
		int e = qshm_consumer_read(c, &rec, QSHM_FOREVER);

		if (e < 0) {
			free(ch);
			return bench_qt_fail(ctl->err, "child: qshm_consumer_read",
					     e);
		}
		if (i == a->warm) {
			bench_chunks_init(ch, a->total);
			t0 = ch->stamp[0];
		}
		if (rec.len != len) {
			bench_errf(ctl->err, "child: record %llu has %u bytes",
				   (unsigned long long)i, rec.len);
			free(ch);
			return -1;
		}
		uint64_t seq = bench_payload_read(rec.data, len, &sink);
		if (seq != i) {
			bench_errf(ctl->err, "child: record %llu has seq %llu",
				   (unsigned long long)i,
				   (unsigned long long)seq);
			free(ch);
			return -1;
		}
		if ((i + 1) % BENCH_QT_BATCH == 0)
			qshm_consumer_release(c);
		if (i >= a->warm)
			bench_chunks_mark(ch, i - a->warm);
	}
	ctl->t_end_ns = bench_now_ns();
	ctl->t_start_ns = t0;
	ctl->count[0] = sink;
	ctl->result[0] = bench_chunks_rate(ch);
	free(ch);
	qshm_consumer_release(c);
	return 0;
}

static inline int bench_qt_produce(qshm_producer *p,
				   const struct bench_qt_arg *a, size_t len,
				   char *err)
{
	uint64_t end = a->warm + a->total;

	for (uint64_t i = 0; i < end; i++) {
		void *buf;
		int e = qshm_producer_claim(p, len, BENCH_QT_TYPE, QSHM_FOREVER,
					    &buf);
		if (e < 0)
			return bench_qt_fail(err, "qshm_producer_claim", e);
		bench_payload_write(buf, len, i);
		if ((i + 1) % BENCH_QT_BATCH == 0)
			qshm_producer_commit(p);
	}
	qshm_producer_commit(p);
	return 0;
}

static int bench_qt_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_qt_arg *a = varg;
	qshm_consumer *c = NULL;
	int e = -ENOENT, rc;

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
		return bench_qt_fail(ctl->err, "child: qshm_consumer_attach", e);
	e = qshm_consumer_set_wait(c, QSHM_WAIT_BUSY, 0);
	if (e < 0) {
		qshm_consumer_close(c);
		return bench_qt_fail(ctl->err, "child: qshm_consumer_set_wait",
				     e);
	}
	bench_ctl_post(&ctl->child_stage, 1);
	if (a->len == 64)
		rc = bench_qt_consume(c, a, 64, ctl);
	else
		rc = bench_qt_consume(c, a, 4096, ctl);
	qshm_consumer_close(c);
	return rc;
}

static int bench_qt_run(const struct bench_cfg *cfg, struct bench_out *out,
			size_t len, uint64_t msgs)
{
	struct bench_qt_arg a;
	struct bench_ctl *ctl = bench_ctl_new();
	struct qshm_create_opts opts;
	char path[128];
	qshm_producer *p = NULL;
	pid_t pid = -1;
	int rc = -1, e;

	memset(&a, 0, sizeof a);
	memset(&opts, 0, sizeof opts);
	a.len = len;
	a.total = msgs;
	a.warm = bench_warmup(cfg, msgs);
	opts.capacity = cfg->ring_capacity;
	bench_name(a.name, sizeof a.name, len == 64 ? "tput64-" : "tput4k-");
	snprintf(path, sizeof path, "/qshm.%s", a.name);
	bench_shm_track(path);
	if (!ctl) {
		bench_errf(out->err, "out of memory");
		goto out;
	}

	pid = bench_spawn(cfg->cpu_b, bench_qt_child, &a, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	e = qshm_producer_create(a.name, &opts, &p);
	if (e < 0) {
		bench_qt_fail(out->err, "qshm_producer_create", e);
		goto out;
	}
	e = qshm_producer_set_wait(p, QSHM_WAIT_BUSY, 0);
	if (e < 0) {
		bench_qt_fail(out->err, "qshm_producer_set_wait", e);
		goto out;
	}
	bench_ctl_post(&ctl->parent_stage, 1);
	if (bench_ctl_await(&ctl->child_stage, 1, pid, 20) != 0) {
		bench_reap(pid, ctl, 1, out->err);
		pid = -1;
		goto out;
	}
	e = qshm_producer_wait_consumers(p, 1, 20000000000);
	if (e < 0) {
		bench_qt_fail(out->err, "qshm_producer_wait_consumers", e);
		goto out;
	}
	if (len == 64)
		rc = bench_qt_produce(p, &a, 64, out->err);
	else
		rc = bench_qt_produce(p, &a, 4096, out->err);
	if (rc != 0)
		goto out;
	rc = bench_reap(pid, ctl, cfg->watchdog_s, out->err);
	pid = -1;
	if (rc == 0) {
		struct qshm_producer_stats st;
		bench_tput_fill(out, ctl->result[0], (double)msgs * 1e9 /
				(double)(ctl->t_end_ns - ctl->t_start_ns), len);
		if (qshm_producer_stats(p, &st) == 0)
			snprintf(out->note, sizeof out->note,
				 "claims that found it full: %llu of %llu",
				 (unsigned long long)st.full_waits,
				 (unsigned long long)st.records);
	}
out:
	bench_kill(pid);
	if (p)
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	bench_shm_remove(path);
	bench_ctl_free(ctl);
	return rc;
}

static int bench_qt_run_64(const struct bench_cfg *cfg, struct bench_out *out)
{
	return bench_qt_run(cfg, out, 64, cfg->msgs_small);
}

static int bench_qt_run_4k(const struct bench_cfg *cfg, struct bench_out *out)
{
	return bench_qt_run(cfg, out, 4096, cfg->msgs_large);
}

const struct bench_measure bench_qshm_tput_64 = {
	.key = "tput.qshm_64",
	.label = "qshm, 64 B",
	.group = "throughput",
	.nmetrics = BENCH_TPUT_NMETRICS,
	.metrics = { BENCH_TPUT_METRICS },
	.run = bench_qt_run_64,
};

const struct bench_measure bench_qshm_tput_4k = {
	.key = "tput.qshm_4k",
	.label = "qshm, 4 KiB",
	.group = "throughput",
	.nmetrics = BENCH_TPUT_NMETRICS,
	.metrics = { BENCH_TPUT_METRICS },
	.run = bench_qt_run_4k,
};
