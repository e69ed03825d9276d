/* SPDX-License-Identifier: MIT */
/*
 * test_poll.c - qshm_poll(): one io_uring wait over several rings and file
 * descriptors, woken by producers in other processes, and by a producer's
 * death through its pidfd.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(ring_poll, .init = t_init, .fini = t_fini, .timeout = 30);

/* Shared with the forked producer. */
struct poll_shared {
	atomic_int created;
	char name[2][T_NAME_LEN + 16];
	int delay_ms;
	int which;      /* ring that gets the record */
	int hang;       /* keep the producers alive, idle, until killed */
};

static struct poll_shared *ps;

static int poll_producer(void *arg)
{
	(void)arg;
	qshm_producer *p[2];
	for (int i = 0; i < 2; i++)
		if (qshm_producer_create(ps->name[i], NULL, &p[i]))
			return 1;
	t_arrive(&ps->created);
	t_sleep_ns((uint64_t)ps->delay_ms * T_MS);
	if (ps->which >= 0 &&
	    t_publish_seq(p[ps->which], 0, 100, QSHM_FOREVER, 1))
		return 2;
	if (ps->hang)
		for (;;)
			pause();
	t_sleep_ns(200 * T_MS);
	for (int i = 0; i < 2; i++)
		qshm_producer_close(p[i], 0);
	return 0;
}

/* Forks the producer of two rings and attaches a reliable consumer to
 * each. Skips the test where the kernel lacks io_uring futex waits. */
static pid_t setup(qshm_consumer *c[2], int which, int delay_ms, int hang)
{
	ps = t_shared(sizeof(*ps));
	snprintf(ps->name[0], sizeof(ps->name[0]), "%s", t_extra_name("a"));
	snprintf(ps->name[1], sizeof(ps->name[1]), "%s", t_extra_name("b"));
	ps->which = which;
	ps->delay_ms = delay_ms;
	ps->hang = hang;
	pid_t pid = t_fork(poll_producer, NULL, 20);
	cr_assert_eq(t_await(&ps->created, 1, 5 * T_SEC), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(qshm_consumer_attach(ps->name[i], 0, &c[i]), 0,
			     "%s", qshm_last_error());
	struct qshm_pollitem probe = { .c = c[0], .fd = -1 };
	int r = qshm_poll(&probe, 1, 1);
	if (r == -ENOSYS) {
		fprintf(stderr, "skip: %s\n", qshm_last_error());
		t_kill_children();
		cr_skip_test("no io_uring futex waits here");
	}
	return pid;
}

Test(ring_poll, wakes_on_the_ring_that_gets_a_record)
{
	qshm_consumer *c[2];
	pid_t pid = setup(c, 1, 50, 0);
	struct qshm_pollitem it[2] = { { c[0], -1, 0 }, { c[1], -1, 0 } };
	uint64_t t0 = t_now_ns();
	int r = qshm_poll(it, 2, 5 * (int64_t)T_SEC);
	uint64_t ms = (t_now_ns() - t0) / T_MS;

	cr_assert_eq(r, 1, "poll: %s (%s)", t_errname(r), qshm_last_error());
	cr_expect_eq(it[0].revents, 0);
	cr_expect_eq(it[1].revents, QSHM_POLL_DATA);
	cr_expect_lt(ms, 4000, "woken after %llu ms", (unsigned long long)ms);
	struct qshm_record rec;
	cr_expect_eq(qshm_consumer_read(c[1], &rec, 0), 0);
	cr_expect_eq(t_check_record("poll", &rec, 0, 100), 0);
	cr_expect_eq(qshm_consumer_read(c[0], &rec, 0), -EAGAIN);
	for (int i = 0; i < 2; i++)
		qshm_consumer_close(c[i]);
	cr_expect_eq(t_wait(pid, 5 * T_SEC), 0);
}

Test(ring_poll, returns_at_once_when_a_record_is_already_there)
{
	qshm_consumer *c[2];
	pid_t pid = setup(c, 0, 0, 0);
	t_sleep_ns(100 * T_MS); /* the record is committed by now */
	struct qshm_pollitem it[2] = { { c[0], -1, 0 }, { c[1], -1, 0 } };
	uint64_t t0 = t_now_ns();
	int r = qshm_poll(it, 2, 5 * (int64_t)T_SEC);
	uint64_t ms = (t_now_ns() - t0) / T_MS;
	cr_expect_eq(r, 1, "poll: %s", t_errname(r));
	cr_expect_eq(it[0].revents, QSHM_POLL_DATA);
	cr_expect_lt(ms, 1000, "took %llu ms", (unsigned long long)ms);
	struct qshm_record rec;
	cr_expect_eq(qshm_consumer_read(c[0], &rec, 0), 0);
	/* Nothing more: with timeout 0, poll reports nothing ready. */
	cr_expect_eq(qshm_poll(it, 2, 0), 0);
	qshm_consumer_close(c[0]);
	qshm_consumer_close(c[1]);
	cr_expect_eq(t_wait(pid, 5 * T_SEC), 0);
}

Test(ring_poll, times_out_with_nothing_to_read)
{
	qshm_consumer *c[2];
	pid_t pid = setup(c, -1, 0, 1);
	struct qshm_pollitem it[2] = { { c[0], -1, 0 }, { c[1], -1, 0 } };
	uint64_t t0 = t_now_ns();
	int r = qshm_poll(it, 2, 30 * (int64_t)T_MS);
	uint64_t ms = (t_now_ns() - t0) / T_MS;
	cr_expect_eq(r, 0, "poll: %s", t_errname(r));
	cr_expect_geq(ms, 25, "returned after %llu ms", (unsigned long long)ms);
	cr_expect_eq(it[0].revents | it[1].revents, 0);
	for (int i = 0; i < 2; i++)
		qshm_consumer_close(c[i]);
	kill(pid, SIGKILL);
	t_wait(pid, 5 * T_SEC);
}

Test(ring_poll, wakes_on_a_readable_fd)
{
	qshm_consumer *c[2];
	pid_t pid = setup(c, -1, 0, 1);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t writer = fork();
	if (writer == 0) {
		usleep(50000);
		_exit(write(fds[1], "x", 1) == 1 ? 0 : 1);
	}
	struct qshm_pollitem it[3] = {
		{ c[0], -1, 0 }, { c[1], -1, 0 }, { NULL, fds[0], 0 },
	};
	int r = qshm_poll(it, 3, 5 * (int64_t)T_SEC);
	cr_expect_eq(r, 1, "poll: %s", t_errname(r));
	cr_expect_eq(it[2].revents, QSHM_POLL_FD);
	cr_expect_eq(it[0].revents | it[1].revents, 0);
	int st;
	waitpid(writer, &st, 0);
	close(fds[0]);
	close(fds[1]);
	for (int i = 0; i < 2; i++)
		qshm_consumer_close(c[i]);
	kill(pid, SIGKILL);
	t_wait(pid, 5 * T_SEC);
}

Test(ring_poll, a_producer_killed_ends_the_wait_through_its_pidfd)
{
	qshm_consumer *c[2];
	pid_t pid = setup(c, -1, 0, 1);
	struct qshm_pollitem it[2] = { { c[0], -1, 0 }, { c[1], -1, 0 } };
	pid_t killer = fork();
	if (killer == 0) {
		usleep(100000);
		_exit(kill(pid, SIGKILL) == 0 ? 0 : 1);
	}
	uint64_t t0 = t_now_ns();
	int r = qshm_poll(it, 2, 10 * (int64_t)T_SEC);
	uint64_t ms = (t_now_ns() - t0) / T_MS;
	fprintf(stderr, "poll: producer killed at ~100 ms, poll returned "
		"after %llu ms\n", (unsigned long long)ms);
	cr_expect_geq(r, 1, "poll: %s", t_errname(r));
	cr_expect_lt(ms, 5000);
	struct qshm_record rec;
	cr_expect_eq(qshm_consumer_read(c[0], &rec, 2 * (int64_t)T_SEC),
		     -QSHM_EPRODUCERDEAD);
	int st;
	waitpid(killer, &st, 0);
	t_wait(pid, 5 * T_SEC);
	for (int i = 0; i < 2; i++)
		qshm_consumer_close(c[i]);
}

/* Open io_uring instances of this process. */
static int uring_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300], target[64];
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		l = readlink(path, target, sizeof(target) - 1);
		if (l > 0) {
			target[l] = '\0';
			n += strstr(target, "io_uring") != NULL;
		}
	}
	closedir(d);
	return n;
}

static void *poll_in_thread(void *arg)
{
	struct qshm_pollitem *it = arg;

	return (void *)(intptr_t)qshm_poll(it, 1, 1 * (int64_t)T_MS);
}

/* The io_uring a thread keeps between calls: every call leaves it empty
 * (a timed-out call's waits are cancelled and reaped, so none wakes a later
 * call), it is made once and kept (one instance, from the first call on),
 * a thread's goes when the thread exits, and a forked child makes its own
 * (polling at the same time as its parent, each sees only its own
 * completions). */
Test(ring_poll, the_threads_ring_is_left_empty_and_reused)
{
	qshm_consumer *c[2];
	pid_t pid = setup(c, -1, 0, 1);
	struct qshm_pollitem it[3] = { { NULL, -1, 0 }, { c[0], -1, 0 },
				       { c[1], -1, 0 } };
	int pfd[2], qfd[2];

	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(pipe(qfd), 0);
	it[0].fd = pfd[0];   /* item 0, as in the call after the loop */
	cr_assert_eq(qshm_poll(it, 3, 1 * (int64_t)T_MS), 0);
	cr_expect_eq(uring_fds(), 1, "after one call: %d rings", uring_fds());
	for (int k = 0; k < 200; k++) {
		int r = qshm_poll(it, 3, 1 * (int64_t)T_MS);
		cr_assert_eq(r, 0, "call %d: %s", k, t_errname(r));
		cr_assert_eq(it[0].revents | it[1].revents | it[2].revents, 0,
			     "call %d: a stale completion", k);
	}
	cr_expect_eq(uring_fds(), 1, "after 201 calls: %d rings",
		     uring_fds());
	/* A thread's own ring goes with it. */
	pthread_t th;
	struct qshm_pollitem ti = { c[0], -1, 0 };
	void *tr;
	cr_assert_eq(pthread_create(&th, NULL, poll_in_thread, &ti), 0);
	cr_assert_eq(pthread_join(th, &tr), 0);
	cr_expect_eq((intptr_t)tr, 0);
	cr_expect_eq(uring_fds(), 1, "after a thread's exit: %d rings",
		     uring_fds());
	/* The pipe becomes readable after calls that waited on it timed
	 * out: a call that does not wait on it must not hear of it. */
	struct qshm_pollitem only = { c[0], -1, 0 };
	cr_assert_eq(write(pfd[1], "x", 1), 1);
	cr_expect_eq(qshm_poll(&only, 1, 30 * (int64_t)T_MS), 0);
	cr_expect_eq(only.revents, 0, "a stale completion");
	char b;
	cr_assert_eq(read(pfd[0], &b, 1), 1);
	/* Parent and child wait at once, on empty pipes (so both use a
	 * ring); a writer fills the child's only. On a shared ring one could
	 * reap the other's completion. */
	pid_t child = fork();
	if (child == 0) {
		struct qshm_pollitem ci = { NULL, qfd[0], 0 };
		_exit(qshm_poll(&ci, 1, 5 * (int64_t)T_SEC) == 1 &&
		      ci.revents == QSHM_POLL_FD ? 0 : 1);
	}
	cr_assert_gt(child, 0);
	pid_t writer = fork();
	if (writer == 0) {
		usleep(200000);
		_exit(write(qfd[1], "y", 1) == 1 ? 0 : 1);
	}
	cr_assert_gt(writer, 0);
	struct qshm_pollitem pi = { NULL, pfd[0], 0 };
	cr_expect_eq(qshm_poll(&pi, 1, 600 * (int64_t)T_MS), 0,
		     "the parent woke for the child's pipe");
	cr_expect_eq(pi.revents, 0);
	cr_expect_eq(t_wait(writer, 10 * T_SEC), 0);
	cr_expect_eq(t_wait(child, 10 * T_SEC), 0, "the child's poll");
	cr_assert_eq(write(pfd[1], "x", 1), 1);
	cr_expect_eq(qshm_poll(it, 3, 5 * (int64_t)T_SEC), 1);
	cr_expect_eq(it[0].revents, QSHM_POLL_FD);
	close(pfd[0]);
	close(pfd[1]);
	close(qfd[0]);
	close(qfd[1]);
	for (int i = 0; i < 2; i++)
		qshm_consumer_close(c[i]);
	kill(pid, SIGKILL);
	t_wait(pid, 5 * T_SEC);
}

Test(ring_poll, rejects_bad_items)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	struct qshm_pollitem it = { ro, -1, 0 };
	cr_expect_eq(qshm_poll(&it, 1, 0), -EPERM);
	struct qshm_pollitem none = { NULL, -1, 0 };
	cr_expect_eq(qshm_poll(&none, 1, 0), -EINVAL);
	cr_expect_eq(qshm_poll(NULL, 0, 0), -EINVAL);
	qshm_consumer_close(ro);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}
