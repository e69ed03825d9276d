/* SPDX-License-Identifier: MIT */
/*
 * bench_qshm_tput.c - one-way throughput of a qshm ring at 64 B, 4 KiB,
 * 64 KiB and 1 MiB: the parent claims, writes in place and commits every
 * few records (BENCH_QT_BATCH, fewer when records are large: a batch is at
 * most a quarter of the ring); the child, a reliable consumer, reads every
 * word of each record in place and releases as often (and always before it
 * waits, as the producer may be waiting for exactly that space). Both
 * sides QSHM_WAIT_BUSY. The consumer times the stream (bench_tclock: a
 * warm-up, then chunks over cfg->tput_s), then tells the producer to stop;
 * the producer closes the ring and the consumer reads to the end. The
 * payload code, batch size, ring capacity and CPUs match bench_spsc.c.
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
	size_t len;
	int items;       /* 64 B items in batch records of `batch` items */
	uint64_t batch;  /* records per commit and release (power of 2) */
	uint64_t capacity;
	const struct bench_cfg *cfg;
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
	uint64_t sink = 0, every = bench_tick_every(len), i;
	struct bench_tclock *tc = malloc(sizeof *tc);
	int timing = 1, e;

	if (!tc) {
		bench_errf(ctl->err, "child: out of memory");
		return -1;
	}
	bench_tclock_init(tc, a->cfg);
	for (i = 0;; i++) {
		struct qshm_record rec;

		e = qshm_consumer_read(c, &rec, 0);
		if (e == -EAGAIN) {
			qshm_consumer_release(c);
			e = qshm_consumer_read(c, &rec, QSHM_FOREVER);
		}
		if (e == -QSHM_ECLOSED)
			break;
		if (e < 0) {
			free(tc);
			return bench_qt_fail(ctl->err, "child: qshm_consumer_read",
					     e);
		}
		if (a->items && rec.item_len == len &&
		    rec.len == len * a->batch) {
			/* A batch record: every item read like a record. */
			for (uint64_t k = 0; k < a->batch; k++, i++) {
				const uint8_t *d = (const uint8_t *)rec.data +
						   k * len;
				if (bench_payload_read(d, len, &sink) != i) {
					bench_errf(ctl->err, "child: item %llu "
						   "out of order",
						   (unsigned long long)i);
					free(tc);
					return -1;
				}
				if (timing && (i + 1) % every == 0 &&
				    bench_tclock_tick(tc, every)) {
					timing = 0;
					bench_stop_post(ctl);
				}
			}
			i--;
			qshm_consumer_release(c);
			continue;
		}
		if (rec.len != len) {
			bench_errf(ctl->err, "child: record %llu has %u bytes",
				   (unsigned long long)i, rec.len);
			free(tc);
			return -1;
		}
		uint64_t seq = bench_payload_read(rec.data, len, &sink);
		if (seq != i) {
			bench_errf(ctl->err, "child: record %llu has seq %llu",
				   (unsigned long long)i,
				   (unsigned long long)seq);
			free(tc);
			return -1;
		}
		if (((i + 1) & (a->batch - 1)) == 0)
			qshm_consumer_release(c);
		if (timing && (i + 1) % every == 0 &&
		    bench_tclock_tick(tc, every)) {
			timing = 0;
			bench_stop_post(ctl);
		}
	}
	qshm_consumer_release(c);
	ctl->count[0] = sink;
	ctl->count[1] = i;
	ctl->result[0] = bench_tclock_median(tc);
	ctl->result[1] = bench_tclock_mean(tc);
	free(tc);
	if (timing) {
		bench_errf(ctl->err, "child: the ring closed after %llu records, "
			   "before the timed period ended",
			   (unsigned long long)i);
		return -1;
	}
	return 0;
}

static inline int bench_qt_produce(qshm_producer *p, size_t len,
				   uint64_t batch, struct bench_ctl *ctl,
				   char *err)
{
	uint64_t every = bench_tick_every(len);

	for (uint64_t i = 0;; i++) {
		void *buf;
		int e;

		if (i % every == 0 && bench_stop_seen(ctl))
			break;
		e = qshm_producer_claim(p, len, BENCH_QT_TYPE, QSHM_FOREVER,
					&buf);
		if (e < 0)
			return bench_qt_fail(err, "qshm_producer_claim", e);
		bench_payload_write(buf, len, i);
		if (((i + 1) & (batch - 1)) == 0)
			qshm_producer_commit(p);
	}
	qshm_producer_commit(p);
	return 0;
}

/* 64 B messages, `batch` of them in one batch record per commit. */
static int bench_qt_produce_items(qshm_producer *p, uint64_t batch,
				  struct bench_ctl *ctl, char *err)
{
	uint64_t every = bench_tick_every(64);

	for (uint64_t i = 0;;) {
		void *buf;
		int e;

		if (i % every < batch && bench_stop_seen(ctl))
			break;
		e = qshm_producer_claim_batch(p, (uint32_t)batch, 64,
					      BENCH_QT_TYPE, QSHM_FOREVER,
					      &buf);
		if (e < 0)
			return bench_qt_fail(err, "qshm_producer_claim_batch",
					     e);
		for (uint64_t k = 0; k < batch; k++, i++)
			bench_payload_write((uint8_t *)buf + 64 * k, 64, i);
		qshm_producer_commit(p);
	}
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
	/* A constant size lets the compiler unroll the payload loops. */
	if (a->len == 64)
		rc = bench_qt_consume(c, a, 64, ctl);
	else if (a->len == 4096)
		rc = bench_qt_consume(c, a, 4096, ctl);
	else
		rc = bench_qt_consume(c, a, a->len, ctl);
	qshm_consumer_close(c);
	return rc;
}

static int bench_qt_run(const struct bench_measure *m,
			const struct bench_cfg *cfg, struct bench_out *out)
{
	struct bench_qt_arg a;
	struct bench_ctl *ctl = bench_ctl_new();
	struct qshm_create_opts opts;
	struct qshm_producer_stats st;
	char path[128];
	qshm_producer *p = NULL;
	pid_t pid = -1;
	int rc = -1, e, have_stats = 0;

	memset(&a, 0, sizeof a);
	memset(&opts, 0, sizeof opts);
	a.len = (size_t)m->param;
	a.items = a.len == 65; /* the batch-record variant of 64 B */
	if (a.items)
		a.len = 64;
	a.capacity = bench_tput_capacity(a.len);
	a.batch = a.capacity / (4 * a.len);
	if (a.batch > BENCH_QT_BATCH)
		a.batch = BENCH_QT_BATCH;
	if (a.batch < 1)
		a.batch = 1;
	a.cfg = cfg;
	opts.capacity = a.capacity;
	bench_name(a.name, sizeof a.name, "tput-");
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
	if (a.items)
		rc = bench_qt_produce_items(p, a.batch, ctl, out->err);
	else if (a.len == 64)
		rc = bench_qt_produce(p, 64, a.batch, ctl, out->err);
	else if (a.len == 4096)
		rc = bench_qt_produce(p, 4096, a.batch, ctl, out->err);
	else
		rc = bench_qt_produce(p, a.len, a.batch, ctl, out->err);
	if (rc != 0)
		goto out;
	have_stats = qshm_producer_stats(p, &st) == 0;
	/* Closed: the consumer reads what is left, then -QSHM_ECLOSED. */
	qshm_producer_close(p, 0);
	p = NULL;
	rc = bench_reap(pid, ctl, cfg->watchdog_s, out->err);
	pid = -1;
	if (rc == 0) {
		bench_tput_fill(out, ctl->result[0], ctl->result[1], a.len);
		if (have_stats)
			snprintf(out->note, sizeof out->note,
				 "claims that found it full: %llu of %llu",
				 (unsigned long long)st.full_waits,
				 (unsigned long long)st.records);
	}
out:
	bench_kill(pid);
	if (p)
		qshm_producer_close(p, 0);
	bench_shm_remove(path);
	bench_ctl_free(ctl);
	return rc;
}

#define BENCH_QT_MEASURE(k, lbl, bytes) {				\
	.key = "tput.qshm_" k,						\
	.label = "qshm, " lbl,						\
	.group = "throughput",						\
	.transport = "qshm",						\
	.param = (bytes),						\
	.nmetrics = BENCH_TPUT_NMETRICS,				\
	.metrics = { BENCH_TPUT_METRICS },				\
	.run = bench_qt_run,						\
}

/* Param 65 is the 64 B batch-record variant: 64 B messages, 32 per record
 * (qshm_producer_claim_batch), each read in place. */
const struct bench_measure bench_qshm_tput[5] = {
	BENCH_QT_MEASURE("64", "64 B", 64),
	BENCH_QT_MEASURE("64b", "64 B, 32 per batch record", 65),
	BENCH_QT_MEASURE("4k", "4 KiB", 4096),
	BENCH_QT_MEASURE("64k", "64 KiB", 65536),
	BENCH_QT_MEASURE("1m", "1 MiB", 1048576),
};
