/* SPDX-License-Identifier: MIT */
/*
 * test_faults.c - processes that die or stop: kill -9 of the producer
 * (consumers read every complete record, then get -QSHM_EPRODUCERDEAD
 * promptly), kill -9 of a reliable consumer (evicted, the producer goes
 * on), SIGSTOP of a reliable consumer (not evicted), stale rings and their
 * replacement, and attaches racing the creation of a ring.
 *
 * Dead children are reaped at once: a zombie still has its pid.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

TestSuite(ring_faults, .init = t_init, .fini = t_fini, .timeout = 40);

#define FMAX 2048u

/* ---------------------------------------------------------------- */
/* Producer killed                                                    */

struct pk_shared {
	atomic_int created, ready, paused;
	atomic_ullong committing; /* records claimed and filled */
	atomic_ullong committed;  /* records whose commit returned */
	atomic_ullong got[2];
	atomic_ullong dead_ns[2];
	atomic_int final_err[2];
	int pause_after;          /* producer stops publishing after this many */
};
static struct pk_shared *pk;

static int pk_producer_main(void *arg)
{
	qshm_producer *p;
	struct qshm_create_opts o = { .capacity = 65536, .max_record = FMAX };
	int err = qshm_producer_create(t_ring, &o, &p);
	if (err) {
		fprintf(stderr, "producer: create: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	t_arrive(&pk->created);
	if ((err = qshm_producer_wait_consumers(p, 2, 10 * (int64_t)T_SEC))) {
		fprintf(stderr, "producer: wait_consumers: %s\n",
			t_errname(err));
		return T_CHILD_FAIL;
	}
	uint64_t seq = 0;
	for (;;) {
		if (pk->pause_after && seq >= (uint64_t)pk->pause_after) {
			/* Leave a claimed, uncommitted record behind: it must
			 * never be delivered. */
			void *buf;
			if (qshm_producer_claim(p, 100, 16, 0, &buf) == 0)
				memset(buf, 0xee, 100);
			t_arrive(&pk->paused);
			for (;;)
				pause();
		}
		unsigned b = 1 + (unsigned)(seq % 5);
		for (unsigned k = 0; k < b; k++, seq++) {
			err = t_publish_seq(p, seq, FMAX, 10 * (int64_t)T_SEC, 0);
			if (err) {
				fprintf(stderr, "producer: seq %llu: %s\n",
					(unsigned long long)seq, t_errname(err));
				return T_CHILD_FAIL;
			}
			/* A claim may commit the earlier claims of the batch
			 * (when it waits for space): everything claimed and
			 * filled may become visible. */
			atomic_store(&pk->committing, seq + 1);
		}
		qshm_producer_commit(p);
		atomic_store(&pk->committed, seq);
		if (seq % 4096 < 5)
			t_sleep_ns(100000);
	}
}

static int pk_consumer_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	char who[32];
	snprintf(who, sizeof(who), "consumer %d", id);
	if (t_await(&pk->created, 1, 10 * T_SEC)) {
		fprintf(stderr, "%s: producer never created the ring\n", who);
		return T_CHILD_FAIL;
	}
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, 0, &c);
	if (err) {
		fprintf(stderr, "%s: attach: %s\n", who, t_errname(err));
		return T_CHILD_FAIL;
	}
	/* 0: sleeps in the kernel; 1: busy-polls. */
	qshm_consumer_set_wait(c, id == 0 ? QSHM_WAIT_BLOCK : QSHM_WAIT_BUSY, 0);
	t_arrive(&pk->ready);
	uint64_t seq = 0;
	struct qshm_record r;
	for (;;) {
		err = qshm_consumer_read(c, &r, QSHM_FOREVER);
		if (err)
			break;
		if (t_check_record(who, &r, seq, FMAX) != 0)
			return T_CHILD_FAIL;
		seq++;
		atomic_store_explicit(&pk->got[id], seq, memory_order_relaxed);
		qshm_consumer_release(c);
	}
	pk->dead_ns[id] = t_now_ns();
	pk->final_err[id] = err;
	atomic_store(&pk->got[id], seq);
	/* Sticky. */
	int again = qshm_consumer_read(c, &r, 0);
	qshm_consumer_close(c);
	if (err != -QSHM_EPRODUCERDEAD) {
		fprintf(stderr, "%s: read ended with %s after %llu records\n",
			who, t_errname(err), (unsigned long long)seq);
		return T_CHILD_FAIL;
	}
	if (again != -QSHM_EPRODUCERDEAD) {
		fprintf(stderr, "%s: second read after death: %s\n", who,
			t_errname(again));
		return T_CHILD_FAIL;
	}
	return T_CHILD_OK;
}

static void run_producer_kill(int pause_after)
{
	pk = t_shared(sizeof(*pk));
	pk->pause_after = pause_after;
	pid_t prod = t_fork(pk_producer_main, NULL, 30);
	pid_t cons[2];
	for (int i = 0; i < 2; i++)
		cons[i] = t_fork(pk_consumer_main, (void *)(intptr_t)i, 30);
	cr_assert_eq(t_await(&pk->ready, 2, 10 * T_SEC), 0);

	if (pause_after) {
		/* Wait for the consumers to catch up and block. */
		cr_assert_eq(t_await(&pk->paused, 1, 10 * T_SEC), 0);
		uint64_t end = t_now_ns() + 10 * T_SEC;
		while ((atomic_load(&pk->got[0]) < (uint64_t)pause_after ||
			atomic_load(&pk->got[1]) < (uint64_t)pause_after) &&
		       t_now_ns() < end)
			t_sleep_ns(T_MS);
		t_sleep_ns(50 * T_MS); /* now both are waiting */
	} else {
		/* Mid-stream: after a while of streaming. */
		uint64_t end = t_now_ns() + 10 * T_SEC;
		while ((atomic_load(&pk->got[0]) < 20000 ||
			atomic_load(&pk->got[1]) < 20000) &&
		       t_now_ns() < end)
			t_sleep_ns(T_MS);
	}
	uint64_t kill_ns = t_now_ns();
	cr_assert_eq(kill(prod, SIGKILL), 0);
	int st;
	cr_assert_eq(waitpid(prod, &st, 0), prod); /* reap: no zombie pid */
	t_untrack(prod);
	uint64_t committed = atomic_load(&pk->committed);
	uint64_t committing = atomic_load(&pk->committing);

	for (int i = 0; i < 2; i++) {
		int rc = t_wait(cons[i], 10 * T_SEC);
		uint64_t got = atomic_load(&pk->got[i]);
		double delay_ms = pk->dead_ns[i] ? (double)(pk->dead_ns[i] -
							    kill_ns) / 1e6
						 : -1;
		fprintf(stderr,
			"producer kill (%s): consumer %d (%s) read %llu "
			"records (committed %llu..%llu), then %s %.1f ms "
			"after the kill\n",
			pause_after ? "idle" : "mid-stream", i,
			i == 0 ? "blocked" : "busy-polling",
			(unsigned long long)got, (unsigned long long)committed,
			(unsigned long long)committing,
			t_errname(pk->final_err[i]), delay_ms);
		cr_expect_eq(rc, 0, "consumer %d exited %d%s", i, rc,
			     rc == -1 ? " (never noticed the death)" : "");
		/* A claim that waits for space commits the records claimed
		 * before it, so `committing` counts every record claimed and
		 * filled: the exact upper bound. */
		cr_expect(got >= committed && got <= committing,
			  "consumer %d read %llu records, committed %llu..%llu",
			  i, (unsigned long long)got,
			  (unsigned long long)committed,
			  (unsigned long long)committing);
		if (pause_after)
			cr_expect_eq(got, (uint64_t)pause_after,
				     "the uncommitted claim must not be read");
		cr_expect(delay_ms >= 0 && delay_ms < 1000,
			  "consumer %d noticed the death after %.1f ms", i,
			  delay_ms);
	}

	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_STALE, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(info.creator_alive, 0);
	cr_expect_eq(info.creator_pid, prod);
}

Test(ring_faults, producer_killed_mid_stream_consumers_read_all_then_producer_dead)
{
	run_producer_kill(0);
}

Test(ring_faults, producer_killed_while_consumers_wait_gives_producer_dead_promptly)
{
	run_producer_kill(5000);
}

/* ---------------------------------------------------------------- */
/* Reliable consumer killed while the producer waits on it            */

struct rc_shared {
	atomic_int ready, go;
	atomic_ullong got;
	atomic_int final_err;
};
static struct rc_shared *rcs;

static int holding_consumer_main(void *arg)
{
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, 0, &c);
	if (err) {
		fprintf(stderr, "holder: attach: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	t_arrive(&rcs->ready);
	/* Hold the producer back until told to go (or killed). */
	while (!atomic_load(&rcs->go))
		t_sleep_ns(T_MS);
	uint64_t seq = 0;
	struct qshm_record r;
	for (;;) {
		err = qshm_consumer_read(c, &r, 10 * (int64_t)T_SEC);
		if (err)
			break;
		if (t_check_record("holder", &r, seq, 1024) != 0)
			return T_CHILD_FAIL;
		seq++;
		qshm_consumer_release(c);
	}
	rcs->got = seq;
	rcs->final_err = err;
	qshm_consumer_close(c);
	return err == -QSHM_ECLOSED ? T_CHILD_OK : T_CHILD_FAIL;
}

struct killer_arg {
	pid_t pid;
	uint64_t delay_ns;
};

static void *kill_and_reap(void *arg)
{
	struct killer_arg *k = arg;
	t_sleep_ns(k->delay_ns);
	kill(k->pid, SIGKILL);
	waitpid(k->pid, NULL, 0);
	return NULL;
}

static uint64_t fill_ring(qshm_producer *p)
{
	uint64_t n = 0;
	int err;
	while ((err = t_publish_seq(p, n, 1024, 0, 1)) == 0)
		n++;
	cr_assert_eq(err, -EAGAIN, "filling: %s", t_errname(err));
	return n;
}

Test(ring_faults, killed_reliable_consumer_is_evicted_and_producer_continues)
{
	rcs = t_shared(sizeof(*rcs));
	qshm_producer *p = t_create(t_ring, 8192, 1024, 0);
	pid_t kid = t_fork(holding_consumer_main, NULL, 30);
	cr_assert_eq(t_await(&rcs->ready, 1, 10 * T_SEC), 0);
	cr_assert_eq(qshm_producer_consumers(p), 1);
	uint64_t n = fill_ring(p);

	/* Blocked in claim; a thread kills the consumer 100 ms later. */
	t_untrack(kid);
	struct killer_arg ka = { kid, 100 * T_MS };
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, kill_and_reap, &ka), 0);
	void *buf;
	uint64_t t0 = t_now_ns();
	int err = qshm_producer_claim(p, 1024, 16, 5 * (int64_t)T_SEC, &buf);
	uint64_t dt = t_now_ns() - t0;
	pthread_join(th, NULL);
	fprintf(stderr, "evict: claim returned %s after %.1f ms (kill at 100 ms)\n",
		t_errname(err), dt / 1e6);
	cr_expect_eq(err, 0, "claim after the consumer's death: %s",
		     t_errname(err));
	cr_expect_geq(dt, 90 * T_MS);
	cr_expect_lt(dt, 2 * T_SEC);
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(ps.evictions, 1);
	cr_expect_eq(qshm_producer_consumers(p), 0);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.reliable_consumers, 0);
	if (err == 0)
		qshm_producer_commit(p);
	/* The producer runs free now. */
	for (uint64_t s = n + 1; s < n + 100; s++)
		cr_expect_eq(t_publish_seq(p, s, 1024, 0, 1), 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

static int exit_without_close_main(void *arg)
{
	qshm_consumer *c;
	if (qshm_consumer_attach(t_ring, 0, &c))
		return T_CHILD_FAIL;
	t_arrive(&rcs->ready);
	return T_CHILD_OK; /* exits holding its slot */
}

Test(ring_faults, drain_and_claim_evict_consumer_that_exited_without_close)
{
	rcs = t_shared(sizeof(*rcs));
	qshm_producer *p = t_create(t_ring, 8192, 1024, 0);
	pid_t kid = t_fork(exit_without_close_main, NULL, 30);
	cr_assert_eq(t_wait(kid, 10 * T_SEC), 0);
	cr_assert_eq(qshm_producer_wait_consumers(p, 1, 0), 0,
		     "the slot was registered");
	cr_assert_eq(t_publish_seq(p, 0, 1024, 0, 1), 0);
	uint64_t t0 = t_now_ns();
	int err = qshm_producer_drain(p, 2 * (int64_t)T_SEC);
	cr_expect_eq(err, 0, "drain with a dead consumer: %s after %.1f ms",
		     t_errname(err), (t_now_ns() - t0) / 1e6);
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(ps.evictions, 1);
	cr_expect_eq(qshm_producer_consumers(p), 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_faults, stopped_reliable_consumer_times_out_producer_and_is_not_evicted)
{
	rcs = t_shared(sizeof(*rcs));
	qshm_producer *p = t_create(t_ring, 8192, 1024, 0);
	pid_t kid = t_fork(holding_consumer_main, NULL, 30);
	cr_assert_eq(t_await(&rcs->ready, 1, 10 * T_SEC), 0);
	uint64_t n = fill_ring(p);

	cr_assert_eq(kill(kid, SIGSTOP), 0);
	int st;
	cr_assert_eq(waitpid(kid, &st, WUNTRACED), kid);
	cr_assert(WIFSTOPPED(st));
	atomic_store(&rcs->go, 1); /* it will read once continued */

	void *buf;
	uint64_t t0 = t_now_ns();
	int err = qshm_producer_claim(p, 1024, 16, 200 * T_MS, &buf);
	uint64_t dt = t_now_ns() - t0;
	cr_expect_eq(err, -ETIMEDOUT, "claim on a stopped consumer: %s",
		     t_errname(err));
	cr_expect_geq(dt, 190 * T_MS);
	cr_expect_lt(dt, 2 * T_SEC);
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(ps.evictions, 0, "a stopped process is not dead");
	cr_expect_eq(qshm_producer_consumers(p), 1);

	cr_assert_eq(kill(kid, SIGCONT), 0);
	/* Everything from here on reaches the consumer. */
	uint64_t total = n + 3000;
	for (uint64_t s = n; s < total; s++) {
		err = t_publish_seq(p, s, 1024, 10 * (int64_t)T_SEC, 1);
		cr_assert_eq(err, 0, "seq %llu: %s", (unsigned long long)s,
			     t_errname(err));
	}
	cr_assert_eq(qshm_producer_close(p, 0), 0);
	int rc = t_wait(kid, 20 * T_SEC);
	cr_expect_eq(rc, 0, "consumer exited %d (%s)", rc,
		     t_errname(rcs->final_err));
	cr_expect_eq(rcs->got, total);
}

/* ---------------------------------------------------------------- */
/* Stale rings                                                        */

struct stale_shared {
	atomic_int ready;
};
static struct stale_shared *sts;

static int stale_creator_main(void *arg)
{
	qshm_producer *p;
	struct qshm_create_opts o = { .capacity = 8192, .max_record = 1024 };
	if (qshm_producer_create(t_ring, &o, &p))
		return T_CHILD_FAIL;
	for (uint64_t s = 0; s < 3; s++)
		if (t_publish_seq(p, s, 1024, 0, 1))
			return T_CHILD_FAIL;
	t_arrive(&sts->ready);
	for (;;)
		pause();
}

static pid_t make_stale_ring(void)
{
	sts = t_shared(sizeof(*sts));
	pid_t kid = t_fork(stale_creator_main, NULL, 30);
	cr_assert_eq(t_await(&sts->ready, 1, 10 * T_SEC), 0);
	cr_assert_eq(kill(kid, SIGKILL), 0);
	cr_assert_eq(waitpid(kid, NULL, 0), kid);
	t_untrack(kid);
	return kid;
}

Test(ring_faults, ring_of_killed_producer_is_stale)
{
	pid_t kid = make_stale_ring();
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_STALE, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(info.creator_pid, kid);
	cr_expect_eq(info.creator_alive, 0);
	cr_expect_eq(info.capacity, 8192);

	/* A consumer can still read what was committed, then learns the
	 * producer is dead (no wait). */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	struct qshm_record r;
	for (uint64_t s = 0; s < 3; s++) {
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_expect_eq(t_check_record("stale", &r, s, 1024), 0);
	}
	uint64_t t0 = t_now_ns();
	int err = qshm_consumer_read(c, &r, 5 * (int64_t)T_SEC);
	cr_expect_eq(err, -QSHM_EPRODUCERDEAD, "%s", t_errname(err));
	cr_expect_lt(t_now_ns() - t0, T_SEC);
	qshm_consumer_close(c);

	cr_expect_eq(qshm_unlink(t_ring), 0, "a stale ring can be removed");
	cr_expect_eq(qshm_ring_info(t_ring, &info), -ENOENT);
}

Test(ring_faults, create_over_stale_ring_needs_replace_stale)
{
	make_stale_ring();
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	uint64_t gen = info.generation;

	qshm_consumer *old;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &old), 0);

	qshm_producer *p = NULL;
	int err = qshm_producer_create(t_ring, NULL, &p);
	cr_expect_eq(err, -QSHM_ESTALE, "create over stale: %s", t_errname(err));
	cr_expect_null(p);
	cr_expect(strstr(qshm_last_error(), t_ring) != NULL, "\"%s\"",
		  qshm_last_error());

	struct qshm_create_opts o = { .capacity = 4096,
				      .flags = QSHM_CREATE_REPLACE_STALE };
	err = qshm_producer_create(t_ring, &o, &p);
	cr_assert_eq(err, 0, "REPLACE_STALE: %s (%s)", t_errname(err),
		     qshm_last_error());
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.generation, gen + 1);
	cr_expect_eq(info.state, QSHM_RING_LIVE);
	cr_expect_eq(info.creator_pid, getpid());
	cr_expect_eq(info.capacity, 4096);

	/* The new generation works and says so. */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	struct qshm_consumer_stats cs;
	cr_assert_eq(qshm_consumer_stats(c, &cs), 0);
	cr_expect_eq(cs.generation, gen + 1);
	cr_assert_eq(t_publish_seq(p, 0, 500, 0, 1), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(t_check_record("new", &r, 0, 500), 0);
	qshm_consumer_close(c);

	/* The consumer of the old generation is not confused by the new
	 * ring: it reads the old records, then the producer is dead. */
	cr_assert_eq(qshm_consumer_stats(old, &cs), 0);
	cr_expect_eq(cs.generation, gen);
	for (uint64_t s = 0; s < 3; s++) {
		cr_assert_eq(qshm_consumer_read(old, &r, 0), 0);
		cr_expect_eq(t_check_record("old", &r, s, 1024), 0);
	}
	cr_expect_eq(qshm_consumer_read(old, &r, 2 * (int64_t)T_SEC),
		     -QSHM_EPRODUCERDEAD);
	qshm_consumer_close(old);

	/* Replacing again: the ring is live, not stale. */
	qshm_producer *p2 = NULL;
	cr_expect_eq(qshm_producer_create(t_ring, &o, &p2), -EEXIST);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Attach racing creation                                             */

#define RACERS 4

struct race_shared {
	atomic_int stop, ready;
	atomic_ullong ok[RACERS], enoent[RACERS], creating[RACERS];
	atomic_ullong other[RACERS];
	atomic_int last_other[RACERS];
};
static struct race_shared *rs;

static int racer_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	unsigned flags[] = { 0, QSHM_CONSUMER_LOSSY, QSHM_CONSUMER_READONLY };
	uint64_t ok = 0, enoent = 0, creating = 0, other = 0, i = 0;
	t_arrive(&rs->ready);
	while (!atomic_load_explicit(&rs->stop, memory_order_relaxed)) {
		qshm_consumer *c = NULL;
		int err = qshm_consumer_attach(t_ring, flags[i++ % 3], &c);
		if (err == 0) {
			ok++;
			struct qshm_record r;
			int e2 = qshm_consumer_read(c, &r, 0);
			if (e2 != 0 && e2 != -EAGAIN && e2 != -QSHM_ECLOSED) {
				fprintf(stderr, "racer %d: read on a fresh "
						"ring: %s\n",
					id, t_errname(e2));
				other++;
			}
			qshm_consumer_close(c);
		} else if (err == -ENOENT) {
			enoent++;
		} else if (err == -QSHM_ECREATING) {
			creating++;
		} else {
			if (other++ < 5)
				fprintf(stderr, "racer %d: attach: %s (%s)\n",
					id, t_errname(err), qshm_last_error());
			rs->last_other[id] = err;
		}
	}
	rs->ok[id] = ok;
	rs->enoent[id] = enoent;
	rs->creating[id] = creating;
	rs->other[id] = other;
	return other ? T_CHILD_FAIL : T_CHILD_OK;
}

Test(ring_faults, attach_racing_creation_gives_success_enoent_or_ecreating)
{
	rs = t_shared(sizeof(*rs));
	pid_t kids[RACERS];
	for (int i = 0; i < RACERS; i++)
		kids[i] = t_fork(racer_main, (void *)(intptr_t)i, 30);
	cr_assert_eq(t_await(&rs->ready, RACERS, 10 * T_SEC), 0);
	uint64_t rounds = 0, t_end = t_now_ns() + 3 * T_SEC;
	while (t_now_ns() < t_end) {
		qshm_producer *p;
		struct qshm_create_opts o = { .capacity = 4096 * (1u << (rounds % 6)),
					      .max_consumers = 8 };
		int err = qshm_producer_create(t_ring, &o, &p);
		cr_assert_eq(err, 0, "round %llu: %s (%s)",
			     (unsigned long long)rounds, t_errname(err),
			     qshm_last_error());
		t_publish_seq(p, 0, 100, 0, 1);
		if (rounds % 4 == 0)
			t_sleep_ns(200000);
		cr_assert_eq(qshm_producer_close(p, QSHM_CLOSE_UNLINK), 0);
		rounds++;
	}
	atomic_store(&rs->stop, 1);
	uint64_t ok = 0, enoent = 0, creating = 0, other = 0;
	for (int i = 0; i < RACERS; i++) {
		int rc = t_wait(kids[i], 10 * T_SEC);
		cr_expect_eq(rc, 0, "racer %d exited %d (last other error %s)",
			     i, rc, t_errname(rs->last_other[i]));
		ok += rs->ok[i];
		enoent += rs->enoent[i];
		creating += rs->creating[i];
		other += rs->other[i];
	}
	fprintf(stderr,
		"race: %llu create/close rounds; attaches: %llu ok, %llu "
		"ENOENT, %llu ECREATING, %llu other\n",
		(unsigned long long)rounds, (unsigned long long)ok,
		(unsigned long long)enoent, (unsigned long long)creating,
		(unsigned long long)other);
	cr_expect_eq(other, 0);
	cr_expect_gt(ok, 0, "no attach ever succeeded: the race was not run");
	cr_expect_gt(enoent, 0);
}
