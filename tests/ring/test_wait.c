/* SPDX-License-Identifier: MIT */
/*
 * test_wait.c - sleeping sides are woken: ping-pong over two rings with both
 * consumers asleep in the kernel (no lost wake-up over thousands of round
 * trips), a producer asleep on a full ring woken by releases, and the
 * event-loop hooks with a real FUTEX_WAIT across processes. Every wait has a
 * timeout, so a lost wake-up shows as -ETIMEDOUT rather than a hang.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

TestSuite(ring_wait, .init = t_init, .fini = t_fini, .timeout = 60);

#define ROUND_TRIPS 20000
#define WAIT_NS (2 * (int64_t)T_SEC)

struct pp_shared {
	atomic_int ready;
	atomic_ullong done;
	enum qshm_wait_mode mode;
	uint64_t spin_ns;
};
static struct pp_shared *pp;
static const char *pong_name;

static int pong_main(void *arg)
{
	qshm_producer *p;
	struct qshm_create_opts o = { .capacity = 4096 };
	int err = qshm_producer_create(pong_name, &o, &p);
	if (err) {
		fprintf(stderr, "pong: create: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	qshm_producer_set_wait(p, pp->mode, pp->spin_ns);
	qshm_consumer *c;
	if ((err = qshm_consumer_attach(t_ring, 0, &c))) {
		fprintf(stderr, "pong: attach: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	qshm_consumer_set_wait(c, pp->mode, pp->spin_ns);
	t_arrive(&pp->ready);
	struct qshm_record r;
	for (uint64_t i = 0; i < ROUND_TRIPS; i++) {
		err = qshm_consumer_read(c, &r, WAIT_NS);
		if (err) {
			fprintf(stderr, "pong: read %llu: %s%s\n",
				(unsigned long long)i, t_errname(err),
				err == -ETIMEDOUT ? " (lost wake-up?)" : "");
			return T_CHILD_FAIL;
		}
		if (t_check_record("pong", &r, i, 64) != 0)
			return T_CHILD_FAIL;
		qshm_consumer_release(c);
		if ((err = t_publish_seq(p, i, 64, WAIT_NS, 1))) {
			fprintf(stderr, "pong: publish %llu: %s\n",
				(unsigned long long)i, t_errname(err));
			return T_CHILD_FAIL;
		}
	}
	qshm_consumer_close(c);
	/* Let the last record be read before the ring goes away. */
	qshm_producer_drain(p, WAIT_NS);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	return T_CHILD_OK;
}

static void ping_pong(enum qshm_wait_mode mode, uint64_t spin_ns)
{
	pp = t_shared(sizeof(*pp));
	pp->mode = mode;
	pp->spin_ns = spin_ns;
	pong_name = t_extra_name("pong");
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	cr_assert_eq(qshm_producer_set_wait(p, mode, spin_ns), 0);
	pid_t kid = t_fork(pong_main, NULL, 50);
	cr_assert_eq(t_await(&pp->ready, 1, 10 * T_SEC), 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(pong_name, 0, &c), 0);
	cr_assert_eq(qshm_consumer_set_wait(c, mode, spin_ns), 0);

	uint64_t t0 = t_now_ns();
	struct qshm_record r;
	for (uint64_t i = 0; i < ROUND_TRIPS; i++) {
		int err = t_publish_seq(p, i, 64, WAIT_NS, 1);
		cr_assert_eq(err, 0, "ping %llu: %s", (unsigned long long)i,
			     t_errname(err));
		err = qshm_consumer_read(c, &r, WAIT_NS);
		cr_assert_eq(err, 0, "round trip %llu: %s%s",
			     (unsigned long long)i, t_errname(err),
			     err == -ETIMEDOUT ? " (lost wake-up?)" : "");
		cr_assert_eq(t_check_record("ping", &r, i, 64), 0);
		qshm_consumer_release(c);
	}
	uint64_t dt = t_now_ns() - t0;
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	fprintf(stderr,
		"ping-pong mode %d spin %llu ns: %d round trips in %.2f s, "
		"%.1f us each; ping producer made %llu wakes\n",
		mode, (unsigned long long)spin_ns, ROUND_TRIPS, dt / 1e9,
		dt / 1e3 / ROUND_TRIPS, (unsigned long long)ps.wakes);
	cr_expect_eq(t_wait(kid, 10 * T_SEC), 0);
	if (mode == QSHM_WAIT_BLOCK)
		cr_expect_gt(ps.wakes, 0, "a blocked consumer needs wakes");
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_wait, ping_pong_both_sides_blocking_loses_no_wakeup)
{
	ping_pong(QSHM_WAIT_BLOCK, 0);
}

Test(ring_wait, ping_pong_spin_then_park_loses_no_wakeup)
{
	ping_pong(QSHM_WAIT_SPIN_PARK, 2000);
}

/* ---------------------------------------------------------------- */
/* Producer asleep on a full ring                                     */

struct full_shared {
	atomic_int ready;
	atomic_ullong got;
	uint64_t n;
	int slow;
};
static struct full_shared *fs;

static int slow_reader_main(void *arg)
{
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, 0, &c);
	if (err)
		return T_CHILD_FAIL;
	qshm_consumer_set_wait(c, QSHM_WAIT_BLOCK, 0);
	t_arrive(&fs->ready);
	struct qshm_record r;
	uint64_t seq = 0;
	if (fs->slow)
		t_sleep_ns(100 * T_MS); /* the producer fills up and sleeps */
	for (;;) {
		err = qshm_consumer_read(c, &r, WAIT_NS);
		if (err == -QSHM_ECLOSED)
			break;
		if (err) {
			fprintf(stderr, "reader: read %llu: %s\n",
				(unsigned long long)seq, t_errname(err));
			return T_CHILD_FAIL;
		}
		if (t_check_record("reader", &r, seq, 1000) != 0)
			return T_CHILD_FAIL;
		seq++;
		if (seq % 2 == 0)
			qshm_consumer_release(c);
		if (seq % 500 == 0)
			t_sleep_ns(T_MS);
	}
	fs->got = seq;
	qshm_consumer_close(c);
	return seq == fs->n ? T_CHILD_OK : T_CHILD_FAIL;
}

Test(ring_wait, producer_blocked_on_full_ring_is_woken_by_release)
{
	fs = t_shared(sizeof(*fs));
	fs->n = 20000;
	fs->slow = 1;
	qshm_producer *p = t_create(t_ring, 4096, 1000, 0);
	cr_assert_eq(qshm_producer_set_wait(p, QSHM_WAIT_BLOCK, 0), 0);
	pid_t kid = t_fork(slow_reader_main, NULL, 50);
	cr_assert_eq(t_await(&fs->ready, 1, 10 * T_SEC), 0);

	/* First: fill, then one claim that must sleep ~100 ms until the
	 * reader starts releasing. */
	uint64_t seq = 0;
	while (t_publish_seq(p, seq, 1000, 0, 1) == 0)
		seq++;
	uint64_t t0 = t_now_ns();
	int err = t_publish_seq(p, seq, 1000, 5 * (int64_t)T_SEC, 1);
	uint64_t dt = t_now_ns() - t0;
	cr_assert_eq(err, 0, "blocked claim: %s", t_errname(err));
	fprintf(stderr, "full ring: blocked claim woke after %.1f ms\n",
		dt / 1e6);
	cr_expect_lt(dt, 2 * T_SEC);
	seq++;
	/* Then many more, each wait bounded: a lost wake-up gives
	 * -ETIMEDOUT. */
	for (; seq < fs->n; seq++) {
		err = t_publish_seq(p, seq, 1000, WAIT_NS, seq % 3 == 0);
		cr_assert_eq(err, 0, "seq %llu: %s%s", (unsigned long long)seq,
			     t_errname(err),
			     err == -ETIMEDOUT ? " (lost wake-up?)" : "");
	}
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_assert_eq(qshm_producer_close(p, 0), 0);
	int rc = t_wait(kid, 20 * T_SEC);
	fprintf(stderr, "full ring: %llu records, producer full_waits %llu\n",
		(unsigned long long)fs->n, (unsigned long long)ps.full_waits);
	cr_expect_eq(rc, 0, "reader exited %d after %llu records", rc,
		     (unsigned long long)fs->got);
	cr_expect_gt(ps.full_waits, 1, "the producer never waited");
}

/* ---------------------------------------------------------------- */
/* Event-loop hooks                                                   */

#define HOOK_ROUNDS 2000

struct hook_shared {
	atomic_int ready;
	atomic_int want; /* the parent waits for record want-1 */
};
static struct hook_shared *hs;

static int hook_producer_main(void *arg)
{
	qshm_producer *p;
	struct qshm_create_opts o = { .capacity = 65536 };
	if (qshm_producer_create(pong_name, &o, &p))
		return T_CHILD_FAIL;
	t_arrive(&hs->ready);
	for (int i = 0; i < HOOK_ROUNDS; i++) {
		/* Wait until the parent asks for record i, then publish,
		 * sometimes at once (racing the parent's sleep), sometimes
		 * after a delay (the parent is asleep). */
		uint64_t end = t_now_ns() + 10 * T_SEC;
		while (atomic_load(&hs->want) <= i)
			if (t_now_ns() > end)
				return T_CHILD_FAIL;
		if (i % 3 == 1)
			t_sleep_ns(200000);
		if (t_publish_seq(p, (uint64_t)i, 64, 0, 1))
			return T_CHILD_FAIL;
	}
	qshm_producer_close(p, 0);
	return T_CHILD_OK;
}

Test(ring_wait, wait_prepare_futex_wait_is_woken_by_publish_from_another_process)
{
	hs = t_shared(sizeof(*hs));
	pong_name = t_extra_name("hook");
	pid_t kid = t_fork(hook_producer_main, NULL, 50);
	cr_assert_eq(t_await(&hs->ready, 1, 10 * T_SEC), 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(pong_name, 0, &c), 0);
	cr_expect_eq(qshm_consumer_producer_pid(c), kid);
	uint64_t sleeps = 0;
	for (int i = 0; i < HOOK_ROUNDS; i++) {
		atomic_store(&hs->want, i + 1);
		struct qshm_record r;
		for (;;) {
			const uint32_t *word;
			uint32_t val;
			int rc = qshm_consumer_wait_prepare(c, &word, &val);
			cr_assert(rc == 0 || rc == 1, "round %d: prepare %s", i,
				  t_errname(rc));
			if (rc == 1) {
				struct timespec ts = { 2, 0 };
				long s = syscall(SYS_futex, word, FUTEX_WAIT,
						 val, &ts, NULL, 0);
				int e = s ? errno : 0;
				sleeps++;
				cr_assert(s == 0 || e == EAGAIN || e == EINTR,
					  "round %d: FUTEX_WAIT: %s%s", i,
					  strerror(e),
					  e == ETIMEDOUT ? " (lost wake-up)"
							 : "");
			}
			qshm_consumer_wait_finish(c);
			int err = qshm_consumer_read(c, &r, 0);
			if (err == 0)
				break;
			cr_assert_eq(err, -EAGAIN, "round %d: %s", i,
				     t_errname(err));
		}
		cr_assert_eq(t_check_record("hook", &r, (uint64_t)i, 64), 0);
		qshm_consumer_release(c);
	}
	fprintf(stderr, "hooks: %d rounds, %llu futex sleeps\n", HOOK_ROUNDS,
		(unsigned long long)sleeps);
	cr_expect_gt(sleeps, HOOK_ROUNDS / 10, "the hooks never slept");
	cr_expect_eq(t_wait(kid, 10 * T_SEC), 0);
	qshm_consumer_close(c);
}

/* ---------------------------------------------------------------- */
/* An idle blocked consumer costs ~0 CPU                              */

#include <sys/resource.h>
#include <sys/wait.h>

struct idle_arg {
	unsigned flags;
	enum qshm_wait_mode mode;
};

static int idle_reader_main(void *arg)
{
	struct idle_arg *a = arg;
	qshm_consumer *c;
	if (qshm_consumer_attach(t_ring, a->flags, &c))
		return T_CHILD_FAIL;
	qshm_consumer_set_wait(c, a->mode, 50000);
	struct qshm_record r;
	int err = qshm_consumer_read(c, &r, (int64_t)T_SEC);
	qshm_consumer_close(c);
	return err == -ETIMEDOUT ? T_CHILD_OK : T_CHILD_FAIL;
}

Test(ring_wait, idle_blocked_consumer_uses_almost_no_cpu)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	struct idle_arg cases[] = {
		{ QSHM_CONSUMER_RELIABLE, QSHM_WAIT_BLOCK },
		{ QSHM_CONSUMER_RELIABLE, QSHM_WAIT_SPIN_PARK },
		{ QSHM_CONSUMER_LOSSY, QSHM_WAIT_BLOCK },
		{ QSHM_CONSUMER_READONLY, QSHM_WAIT_BLOCK },
	};
	for (int i = 0; i < 4; i++) {
		pid_t kid = t_fork(idle_reader_main, &cases[i], 10);
		int st;
		struct rusage ru;
		cr_assert_eq(wait4(kid, &st, 0, &ru), kid);
		t_untrack(kid);
		double cpu_ms = ru.ru_utime.tv_sec * 1e3 +
				ru.ru_utime.tv_usec / 1e3 +
				ru.ru_stime.tv_sec * 1e3 +
				ru.ru_stime.tv_usec / 1e3;
		fprintf(stderr, "idle: flags 0x%x mode %d: %.1f ms CPU in a 1 s "
				"wait, %ld voluntary switches\n",
			cases[i].flags, cases[i].mode, cpu_ms, ru.ru_nvcsw);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "case %d: the read did not time out", i);
		cr_expect_lt(cpu_ms, 100.0, /* a spinning wait costs ~1000 */
			     "flags 0x%x mode %d: %.1f ms of CPU while idle for "
			     "1 s",
			     cases[i].flags, cases[i].mode, cpu_ms);
	}
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ------------------------------------------------------------------ */
/* A streaming consumer keeps its distance, but not past a pause       */

/* A spinning consumer that has read a stream and finds the ring empty
 * waits for the producer to get QSHM_STREAM_LEAD bytes ahead before it
 * reads on (docs/protocol.md, "A streaming consumer keeps its distance").
 * Here every burst is far smaller than that lead, and the producer then
 * stops and waits for the consumer to have read all of it: the consumer
 * must read the tail anyway, every time. Its reads may wait 10 s and its
 * spin phase lasts 5 s, so only the lead's own limits (a round of polls
 * with nothing new, 5 us) end such a wait within the producer's 500 ms. */
#define STREAM_ROUNDS 300
#define STREAM_BURST  64
#define STREAM_TAIL   3

struct stream_shared {
	atomic_int ready;
	atomic_int seen;      /* records the consumer has read */
	enum qshm_wait_mode mode;
};
static struct stream_shared *ss;

static int stream_reader_main(void *arg)
{
	(void)arg;
	qshm_consumer *c = t_child_attach("reader", t_ring,
					  QSHM_CONSUMER_RELIABLE);
	if (!c || qshm_consumer_set_wait(c, ss->mode, 5 * T_SEC) != 0)
		return T_CHILD_FAIL;
	t_arrive(&ss->ready);
	struct qshm_record r;
	for (uint64_t i = 0; i < STREAM_ROUNDS * (STREAM_BURST + STREAM_TAIL);
	     i++) {
		int err = qshm_consumer_read(c, &r, 10 * (int64_t)T_SEC);
		if (err) {
			fprintf(stderr, "reader: read %llu: %s\n",
				(unsigned long long)i, t_errname(err));
			return T_CHILD_FAIL;
		}
		if (t_check_record("reader", &r, i, 64) != 0)
			return T_CHILD_FAIL;
		qshm_consumer_release(c);
		atomic_store_explicit(&ss->seen, (int)(i + 1),
				      memory_order_release);
	}
	qshm_consumer_close(c);
	return T_CHILD_OK;
}

static void stream_then_pause(enum qshm_wait_mode mode)
{
	ss = t_shared(sizeof(*ss));
	ss->mode = mode;
	qshm_producer *p = t_create(t_ring, 1 << 20, 0, 0);
	pid_t kid = t_fork(stream_reader_main, NULL, 50);
	cr_assert_eq(t_await(&ss->ready, 1, 10 * T_SEC), 0);
	uint64_t seq = 0;
	for (int round = 0; round < STREAM_ROUNDS; round++) {
		/* A stream: commits of 8 records, then a tail of 3. */
		for (int k = 0; k < STREAM_BURST; k++, seq++)
			cr_assert_eq(t_publish_seq(p, seq, 64, WAIT_NS,
						   (k & 7) == 7), 0);
		for (int k = 0; k < STREAM_TAIL; k++, seq++)
			cr_assert_eq(t_publish_seq(p, seq, 64, WAIT_NS, 1), 0);
		/* Nothing more until the consumer has read it all. */
		cr_assert_eq(t_await(&ss->seen, (int)seq, T_SEC / 2), 0,
			     "mode %d, round %d: the consumer read %d of %llu "
			     "records in 500 ms while the producer waited",
			     mode, round, atomic_load(&ss->seen),
			     (unsigned long long)seq);
	}
	cr_expect_eq(t_wait(kid, 10 * T_SEC), 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_wait, busy_streaming_consumer_reads_a_short_tail_while_the_producer_waits)
{
	stream_then_pause(QSHM_WAIT_BUSY);
}

Test(ring_wait, spinning_streaming_consumer_reads_a_short_tail_while_the_producer_waits)
{
	stream_then_pause(QSHM_WAIT_SPIN_PARK);
}
