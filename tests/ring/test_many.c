/* SPDX-License-Identifier: MIT */
/*
 * test_many.c - many consumers: 64 consumer processes attached at once all
 * receive every record and the 65th gets -QSHM_ENOSLOT; 100 consumer
 * threads attaching concurrently; slots are reused after close.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

TestSuite(ring_many, .init = t_init, .fini = t_fini, .timeout = 60);

#define NPROC 64
#define MANY_RECORDS 3000
#define MMAX 1024u

struct many_shared {
	atomic_int ready, attached_fail;
	atomic_ullong got[NPROC];
};
static struct many_shared *ms;

static int many_consumer_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	char who[32];
	snprintf(who, sizeof(who), "consumer %d", id);
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, 0, &c);
	if (err) {
		fprintf(stderr, "%s: attach: %s (%s)\n", who, t_errname(err),
			qshm_last_error());
		atomic_fetch_add(&ms->attached_fail, 1);
		t_arrive(&ms->ready);
		return T_CHILD_FAIL;
	}
	qshm_consumer_set_wait(c, QSHM_WAIT_BLOCK, 0);
	t_arrive(&ms->ready);
	uint64_t seq = 0;
	struct qshm_record r;
	for (;;) {
		err = qshm_consumer_read(c, &r, 0);
		if (err == -EAGAIN) {
			qshm_consumer_release(c);
			err = qshm_consumer_read(c, &r, 20 * (int64_t)T_SEC);
		}
		if (err)
			break;
		if (t_check_record(who, &r, seq, MMAX) != 0)
			return T_CHILD_FAIL;
		seq++;
		if (seq % 4 == 0)
			qshm_consumer_release(c);
	}
	ms->got[id] = seq;
	qshm_consumer_close(c);
	if (err != -QSHM_ECLOSED || seq != MANY_RECORDS) {
		fprintf(stderr, "%s: %s after %llu records\n", who,
			t_errname(err), (unsigned long long)seq);
		return T_CHILD_FAIL;
	}
	return T_CHILD_OK;
}

Test(ring_many, sixty_four_consumer_processes_receive_every_record)
{
	ms = t_shared(sizeof(*ms));
	qshm_producer *p = t_create(t_ring, 65536, MMAX, NPROC);
	cr_assert_eq(qshm_producer_set_wait(p, QSHM_WAIT_BLOCK, 0), 0);
	pid_t kids[NPROC];
	for (int i = 0; i < NPROC; i++)
		kids[i] = t_fork(many_consumer_main, (void *)(intptr_t)i, 50);
	cr_assert_eq(t_await(&ms->ready, NPROC, 20 * T_SEC), 0);
	cr_assert_eq(ms->attached_fail, 0, "some consumers could not attach");
	int err = qshm_producer_wait_consumers(p, NPROC, 10 * (int64_t)T_SEC);
	cr_assert_eq(err, 0, "%s", t_errname(err));
	cr_expect_eq(qshm_producer_consumers(p), NPROC);

	/* The table is full. */
	qshm_consumer *extra = NULL;
	err = qshm_consumer_attach(t_ring, 0, &extra);
	cr_expect_eq(err, -QSHM_ENOSLOT, "65th reliable: %s", t_errname(err));
	cr_expect_null(extra);
	err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &extra);
	cr_expect_eq(err, -QSHM_ENOSLOT, "65th lossy: %s", t_errname(err));
	err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &extra);
	cr_expect_eq(err, 0, "READONLY takes no slot: %s", t_errname(err));
	if (err == 0)
		qshm_consumer_close(extra);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.reliable_consumers, NPROC);

	uint64_t t0 = t_now_ns();
	for (uint64_t s = 0; s < MANY_RECORDS; s++) {
		err = t_publish_seq(p, s, MMAX, 20 * (int64_t)T_SEC,
				    s % 4 == 3);
		cr_assert_eq(err, 0, "seq %llu: %s", (unsigned long long)s,
			     t_errname(err));
	}
	cr_assert_eq(qshm_producer_close(p, 0), 0);
	int bad = 0;
	for (int i = 0; i < NPROC; i++) {
		int rc = t_wait(kids[i], 30 * T_SEC);
		if (rc != 0 && bad++ < 5)
			fprintf(stderr, "consumer %d exited %d after %llu\n", i,
				rc, (unsigned long long)ms->got[i]);
	}
	fprintf(stderr, "64 consumers: %d records each in %.2f s\n",
		MANY_RECORDS, (t_now_ns() - t0) / 1e9);
	cr_expect_eq(bad, 0, "%d consumers failed", bad);
}

/* ---------------------------------------------------------------- */

#define NTHREADS 100

struct th_arg {
	int id;
	int err;
	uint64_t got;
	pthread_barrier_t *bar;
};

static void *thread_consumer(void *a)
{
	struct th_arg *t = a;
	qshm_consumer *c = NULL;
	pthread_barrier_wait(t->bar); /* attach all at once */
	t->err = qshm_consumer_attach(t_ring, 0, &c);
	pthread_barrier_wait(t->bar); /* all attached (or failed) */
	if (t->err)
		return NULL;
	struct qshm_record r;
	uint64_t seq = 0;
	char who[32];
	snprintf(who, sizeof(who), "thread %d", t->id);
	for (;;) {
		int err = qshm_consumer_read(c, &r, 20 * (int64_t)T_SEC);
		if (err) {
			t->err = err;
			break;
		}
		if (t_check_record(who, &r, seq, 200) != 0) {
			t->err = -EBADMSG;
			break;
		}
		seq++;
		qshm_consumer_release(c);
	}
	t->got = seq;
	qshm_consumer_close(c);
	return NULL;
}

Test(ring_many, hundred_threads_attach_concurrently_and_receive_everything)
{
	qshm_producer *p = t_create(t_ring, 65536, 1024, NTHREADS);
	static pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, NTHREADS + 1);
	static struct th_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct th_arg){ .id = i, .bar = &bar };
		cr_assert_eq(pthread_create(&th[i], NULL, thread_consumer,
					    &args[i]),
			     0);
	}
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	int attached = 0;
	for (int i = 0; i < NTHREADS; i++) {
		cr_expect_eq(args[i].err, 0, "thread %d attach: %s", i,
			     t_errname(args[i].err));
		attached += args[i].err == 0;
	}
	cr_expect_eq(qshm_producer_consumers(p), attached);
	qshm_consumer *extra = NULL;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &extra), -QSHM_ENOSLOT);

	const uint64_t n = 2000;
	for (uint64_t s = 0; s < n; s++) {
		int err = t_publish_seq(p, s, 200, 20 * (int64_t)T_SEC, 1);
		cr_assert_eq(err, 0, "seq %llu: %s", (unsigned long long)s,
			     t_errname(err));
	}
	qshm_producer_close(p, 0);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (attached == NTHREADS) {
			cr_expect_eq(args[i].err, -QSHM_ECLOSED, "thread %d: %s",
				     i, t_errname(args[i].err));
			cr_expect_eq(args[i].got, n, "thread %d got %llu", i,
				     (unsigned long long)args[i].got);
		}
	}
	pthread_barrier_destroy(&bar);
	qshm_unlink(t_ring);
}

Test(ring_many, closed_consumer_slot_is_reused)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 2);
	qshm_consumer *a, *b, *c = NULL;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &a), 0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &b), 0);
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &c), -QSHM_ENOSLOT);
	cr_expect(strstr(qshm_last_error(), t_ring) != NULL, "\"%s\"",
		  qshm_last_error());
	cr_expect_eq(qshm_consumer_close(a), 0);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0,
			     "round %d", i);
		cr_expect_eq(qshm_producer_consumers(p), 1);
		cr_assert_eq(qshm_consumer_close(c), 0);
	}
	qshm_consumer_close(b);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Slot races                                                         */

#define RACE_THREADS 16
#define RACE_SLOTS 4

struct slot_race {
	pthread_barrier_t *bar;
	unsigned flags;
	int err;
};

static void *racing_attach(void *a)
{
	struct slot_race *r = a;
	qshm_consumer *c = NULL;
	pthread_barrier_wait(r->bar);
	r->err = qshm_consumer_attach(t_ring, r->flags, &c);
	pthread_barrier_wait(r->bar); /* the main thread counts */
	pthread_barrier_wait(r->bar);
	if (c)
		qshm_consumer_close(c);
	return NULL;
}

/* More attachers than slots, all at once: exactly max_consumers succeed,
 * the others get -QSHM_ENOSLOT, and no slot is given to two consumers. */
Test(ring_many, racing_attaches_never_share_a_slot)
{
	static pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, RACE_THREADS + 1);
	int bad_rounds = 0;
	for (int round = 0; round < 1000; round++) {
		qshm_producer *p = t_create(t_ring, 4096, 0, RACE_SLOTS);
		struct slot_race r[RACE_THREADS];
		pthread_t th[RACE_THREADS];
		for (int i = 0; i < RACE_THREADS; i++) {
			r[i] = (struct slot_race){
				.bar = &bar,
				.flags = i % 2 ? QSHM_CONSUMER_LOSSY : 0
			};
			cr_assert_eq(pthread_create(&th[i], NULL, racing_attach,
						    &r[i]),
				     0);
		}
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		int ok = 0, noslot = 0, other = 0, reliable_ok = 0;
		for (int i = 0; i < RACE_THREADS; i++) {
			ok += r[i].err == 0;
			reliable_ok += r[i].err == 0 && !(r[i].flags);
			noslot += r[i].err == -QSHM_ENOSLOT;
			other += r[i].err != 0 && r[i].err != -QSHM_ENOSLOT;
		}
		struct qshm_ring_info info;
		cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
		int in_table = (int)(info.reliable_consumers +
				     info.lossy_consumers);
		int counted = qshm_producer_consumers(p);
		if (ok != RACE_SLOTS || in_table != ok || other ||
		    counted != reliable_ok) {
			if (bad_rounds++ < 5)
				fprintf(stderr,
					"slot race round %d: %d attaches "
					"succeeded (%d reliable), %d ENOSLOT, "
					"%d other; table shows %d (%u "
					"reliable), producer counts %d\n",
					round, ok, reliable_ok, noslot, other,
					in_table, info.reliable_consumers,
					counted);
		}
		pthread_barrier_wait(&bar);
		for (int i = 0; i < RACE_THREADS; i++)
			pthread_join(th[i], NULL);
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	}
	pthread_barrier_destroy(&bar);
	cr_expect_eq(bad_rounds, 0,
		     "%d of 1000 rounds gave a slot to two consumers (or "
		     "left slots unused)",
		     bad_rounds);
}
