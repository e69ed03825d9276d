/* SPDX-License-Identifier: MIT */
/*
 * publish_run.c - one whole run into a ring, as `qshm sim --ring` does it
 * (see publish_run() in publish.h): the ring created, consumers awaited,
 * the producer counters kept (docs/format.md), shots, PROBS/STATE, RUN_END
 * whatever happens (failed, stopped), the ring closed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#include "publish.h"
#include "qasm.h"
#include "rt_error.h"
#include "sim.h"

#define RUN_SLICE_NS (200 * 1000 * 1000)

/* What the shot callback needs while a run streams into a ring. */
struct run_stream {
	struct publisher pub;
	const struct publish_run_opts *o;
	uint64_t *kshots;           /* user counter 3: shots published */
	uint64_t *kmem;             /* user counters 0..2: jemalloc stats */
	uint64_t shots, total;
	uint64_t t0, next_report, next_mem;
};

static int stopped(const struct publish_run_opts *o)
{
	return o->stop && *o->stop;
}

static void notice(const struct publish_run_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void notice(const struct publish_run_opts *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!o->notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->notice(o->ctx, msg);
}

/* jemalloc's statistics into the ring's counters (docs/format.md). */
static void publish_memory(struct run_stream *st)
{
	static const char *const names[3] = {
		"stats.allocated", "stats.active", "stats.resident",
	};
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);

	if (mallctl("epoch", &epoch, &sz, &epoch, sz))
		return;
	for (int i = 0; i < 3; i++) {
		size_t v;
		sz = sizeof(v);
		/* Relaxed: inspectors read the counters as snapshots. */
		if (!mallctl(names[i], &v, &sz, NULL, 0))
			__atomic_store_n(&st->kmem[i], (uint64_t)v,
					 __ATOMIC_RELAXED);
	}
}

static int stream_shots(void *ctx, const uint64_t *bits, size_t n,
			size_t wps)
{
	struct run_stream *st = ctx;
	int err;

	if (stopped(st->o))
		return -EINTR;
	err = publisher_shots(&st->pub, bits, n, wps);
	if (err)
		return err;
	if (st->o->counts && qshm_counts_add(st->o->counts, bits, n))
		return -ENOMEM;
	st->shots += n;
	/* Relaxed, plain-width stores: read by inspectors as snapshots. */
	__atomic_store_n(st->kshots, st->shots, __ATOMIC_RELAXED);
	uint64_t now = publish_now_ns();
	if (now >= st->next_mem) {
		publish_memory(st);
		st->next_mem = now + 100 * 1000 * 1000;
	}
	if (st->o->progress && now >= st->next_report) {
		st->o->progress(st->o->ctx, st->shots, st->total,
				now - st->t0, 0);
		st->next_report = now + 200 * 1000 * 1000;
	}
	return 0;
}

static int fill_probs(void *ctx, uint64_t first, uint64_t count, void *dst)
{
	int rc = sim_run_probs(ctx, first, (size_t)count, dst);
	return rc < 0 ? rc : 0;
}

static int fill_state(void *ctx, uint64_t first, uint64_t count, void *dst)
{
	const double *amps;
	size_t namps;
	int rc = sim_run_final_state(ctx, &amps, &namps);

	if (rc < 0)
		return rc;
	memcpy(dst, amps + 2 * first, (size_t)count * 16);
	return 0;
}

/* Room for the run descriptor: its header and RUN_BEGIN, in 64-byte
 * units, at least the ring's default 4 KiB. */
static uint32_t descriptor_size(const struct qasm_circuit *c)
{
	qshm_run *run;
	const void *b;
	size_t len = 0;

	if (publisher_describe(c, 0, 0, 0, 0, &run) == 0) {
		qshm_run_payload(run, &b, &len);
		qshm_run_free(run);
	}
	len = (sizeof(struct qshm_run_meta) + len + 63) & ~(size_t)63;
	if (len < 4096)
		len = 4096;
	return len > (1u << 20) ? 1u << 20 : (uint32_t)len;
}

/* Creates the ring, replacing a stale or closed one with a notice. */
static int ring_create(const struct publish_run_opts *o, uint32_t meta_size,
		       qshm_producer **p, struct rt_error *err)
{
	struct qshm_ring_info info;
	struct qshm_create_opts co = {
		.capacity = o->capacity ? o->capacity :
					  PUBLISH_DEFAULT_CAPACITY,
		.mode = o->mode,
		.flags = QSHM_CREATE_REPLACE_STALE,
		.meta_size = meta_size,
	};

	if (qshm_ring_info(o->ring, &info) == 0) {
		if (info.state == QSHM_RING_LIVE)
			return rt_error_set(err, -EBUSY, "ring '%s' is in use: "
					    "its producer (pid %d) is alive",
					    o->ring, info.creator_pid);
		if (info.state == QSHM_RING_STALE ||
		    info.state == QSHM_RING_CLOSED)
			notice(o, "replacing %s ring '%s' (generation %" PRIu64
			       ", pid %d)", qshm_ring_state_name(info.state),
			       o->ring, info.generation, info.creator_pid);
	}
	int rc = qshm_producer_create(o->ring, &co, p);
	if (rc)
		return rt_error_set(err, rc, "create ring '%s': %s", o->ring,
				    qshm_last_error()[0] ? qshm_last_error() :
				    qshm_strerror(rc));
	if (o->chgrp) {
		/* Before any record: readers in the group attach from the
		 * start. The mode was set at creation (fchmod). */
		char path[QSHM_NAME_MAX + 32];
		snprintf(path, sizeof(path), "/dev/shm/qshm.%s", o->ring);
		if (chown(path, (uid_t)-1, (gid_t)o->gid) < 0) {
			rc = -errno;
			qshm_producer_close(*p, QSHM_CLOSE_UNLINK);
			*p = NULL;
			return rt_error_set(err, rc, "ring '%s': give it to "
					    "group %u: %s", o->ring, o->gid,
					    strerror(-rc));
		}
	}
	return 0;
}

/* A RUN_END saying the run was stopped, without waiting for room. */
static void end_stopped(qshm_producer *p, const struct run_stream *st,
			uint64_t sim_ns)
{
	void *b;

	if (qshm_producer_claim(p, sizeof(struct qshm_run_end),
				QSHM_REC_RUN_END, 0, &b) == 0) {
		struct qshm_run_end e = {
			.status = QSHM_RUN_STOPPED,
			.shots = st->shots,
			.elapsed_ns = st->t0 ? publish_now_ns() - st->t0 : 0,
			.sim_ns = sim_ns,
		};
		memcpy(b, &e, sizeof(e));
		qshm_producer_commit(p);
	}
}

static int ring_failed(const struct publish_run_opts *o, int rc,
		       struct rt_error *err)
{
	return rt_error_set(err, rc, "ring '%s': %s", o->ring,
			    qshm_last_error()[0] ? qshm_last_error() :
			    qshm_strerror(rc));
}

int publish_run(const struct qasm_circuit *c, struct sim_run *run,
		uint64_t shots, uint64_t seed,
		const struct publish_run_opts *o, uint64_t *shots_done,
		struct rt_error *err)
{
	struct run_stream st = { .o = o, .total = shots };
	struct rt_error serr;
	qshm_producer *p;
	uint32_t options = 0;
	uint64_t sim_ns = 0;
	int rc;

	if (shots_done)
		*shots_done = 0;
	if (!o || !o->ring)
		return rt_error_set(err, -EINVAL, "publish_run: no ring name");
	rc = ring_create(o, descriptor_size(c), &p, err);
	if (rc)
		return rc;
	publisher_init(&st.pub, p, o->stop);
	st.kmem = qshm_producer_user_counter(p, 0);
	st.kshots = qshm_producer_user_counter(p, 3);
	__atomic_store_n(qshm_producer_user_counter(p, 4), shots,
			 __ATOMIC_RELAXED);
	__atomic_store_n(qshm_producer_user_counter(p, 5),
			 (uint64_t)16 << c->nqubits, __ATOMIC_RELAXED);
	publish_memory(&st);

	if (o->wait_consumers > 0) {
		while (!stopped(o) && qshm_producer_wait_consumers(
			       p, o->wait_consumers, RUN_SLICE_NS) ==
					      -ETIMEDOUT)
			;
		if (stopped(o)) {
			rc = -EINTR;
			goto close;
		}
	}
	if (o->probs)
		options |= QSHM_RUN_PROBS;
	if (o->state)
		options |= QSHM_RUN_STATE;
	if (!sim_run_is_deterministic(run))
		options |= QSHM_RUN_PER_SHOT;
	st.t0 = publish_now_ns();
	rc = publisher_begin(&st.pub, c, shots, seed, options);
	if (rc == -EINTR && stopped(o))
		goto close;
	if (rc) {
		ring_failed(o, rc, err);
		goto close;
	}

	rt_error_clear(&serr);
	rc = sim_run_shots(run, shots, stream_shots, &st, &serr);
	sim_ns = publish_now_ns() - st.t0;
	if (rc == -EINTR && stopped(o)) {
		end_stopped(p, &st, sim_ns);
		goto close;
	}
	if (rc) {
		char msg[RT_ERROR_MSG_MAX + 64];
		int ring_err = -rc >= QSHM_ERR_FIRST && -rc < QSHM_ERR_LAST;
		/* The ring's own failure (truncated under us...): its
		 * message says which ring and why. */
		snprintf(msg, sizeof(msg), "%s", serr.code ? serr.msg :
			 ring_err && qshm_last_error()[0] ? qshm_last_error() :
			 ring_err ? qshm_strerror(rc) :
			 strerror(rc < 0 ? -rc : rc));
		rt_error_set(err, rc < 0 ? rc : -rc, "%s", msg);
		publisher_error(&st.pub, rc < 0 ? rc : -rc, msg);
		publisher_end(&st.pub, QSHM_RUN_FAILED, publish_now_ns() - st.t0,
			      sim_ns);
		goto close;
	}
	rc = publisher_flush(&st.pub);
	if (!rc && (o->probs || o->state)) {
		const double *amps;
		size_t namps;
		/* PROBS and STATE describe a final state shared by every
		 * shot; a run with random mid-circuit outcomes has none. */
		if (sim_run_final_state(run, &amps, &namps) != 0) {
			notice(o, "mid-circuit measurements make the final "
			       "state differ from shot to shot: no "
			       "PROBS/STATE published");
		} else {
			if (o->probs)
				rc = publisher_vector(&st.pub, QSHM_REC_PROBS,
						      c->nqubits, 8,
						      fill_probs, run);
			if (!rc && o->state)
				rc = publisher_vector(&st.pub, QSHM_REC_STATE,
						      c->nqubits, 16,
						      fill_state, run);
		}
	}
	if (!rc)
		rc = publisher_end(&st.pub, QSHM_RUN_OK, publish_now_ns() - st.t0,
				   sim_ns);
	if (rc == -EINTR && stopped(o)) {
		end_stopped(p, &st, sim_ns);
		goto close;
	}
	if (rc) {
		ring_failed(o, rc, err);
		goto close;
	}
	publish_memory(&st);
	if (o->progress)
		o->progress(o->ctx, st.shots, st.total, publish_now_ns() - st.t0, 1);
	if (o->unlink_after) {
		/* Let reliable consumers read the whole run first. */
		while (!stopped(o) && qshm_producer_drain(p, RUN_SLICE_NS) ==
					      -ETIMEDOUT)
			;
	}
close:
	if (shots_done)
		*shots_done = st.shots;
	qshm_producer_close(p, o->unlink_after && rc == 0 ?
				       QSHM_CLOSE_UNLINK : 0);
	publisher_free(&st.pub);
	return rc;
}
