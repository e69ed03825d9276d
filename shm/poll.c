/* SPDX-License-Identifier: MIT */
/*
 * poll.c - waiting on many rings and file descriptors at once, through
 * io_uring: one FUTEX_WAIT per ring on its shared data futex word, one
 * POLL_ADD per file descriptor, and one POLL_ADD per producer pidfd, so a
 * producer's death ends the wait at once instead of at the next liveness
 * slice. The wake-up protocol is the ring's own (W1/W2 through
 * qshm_consumer_wait_prepare(), C2/C3 on the producer's side). The
 * FUTEX_WAIT SQE is futex.c's (qshm__prep_futex_wait(), Linux 6.7+).
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

/* user_data: item index << 2 | what */
#define QSHM__UD_FUTEX 0u
#define QSHM__UD_PIDFD 1u
#define QSHM__UD_FD    2u
#define QSHM__UD_TIMEOUT 3u
#define QSHM__UD_CANCEL ((uint64_t)1 << 62) /* not liburing's UINT64_MAX */

/*
 * One io_uring per thread, kept from call to call: making and tearing down
 * a ring (io_uring_setup, two mmaps, two munmaps, close) cost more than
 * the wait itself, and the munmaps of a process with other threads shoot
 * down TLBs on their CPUs. Each call leaves the ring empty: what it
 * submitted and what did not complete is cancelled and reaped before it
 * returns. A thread's ring goes at its exit (the key's destructor); after
 * a fork the child never uses its parent's ring (the generation moves in
 * the child; unmapping and closing its copies leaves the parent's alone).
 */
struct qshm__pollring {
	struct io_uring ring;
	unsigned entries;
	unsigned gen;
	int live;
};

static _Thread_local struct qshm__pollring qshm__pr;
static pthread_key_t qshm__pr_key;
static pthread_once_t qshm__pr_once = PTHREAD_ONCE_INIT;
/* Relaxed: read and bumped by the one thread a forked child has. */
static atomic_uint qshm__fork_gen;

static void qshm__pr_child(void)
{
	atomic_fetch_add_explicit(&qshm__fork_gen, 1, memory_order_relaxed);
}

static void qshm__pr_drop(struct qshm__pollring *pr)
{
	if (pr->live)
		io_uring_queue_exit(&pr->ring); /* cancels what is left */
	pr->live = 0;
}

static void qshm__pr_dtor(void *arg)
{
	qshm__pr_drop(arg);
}

static void qshm__pr_once_init(void)
{
	if (pthread_key_create(&qshm__pr_key, qshm__pr_dtor) == 0)
		pthread_atfork(NULL, NULL, qshm__pr_child);
	else
		qshm__pr_key = (pthread_key_t)-1;
}

static struct io_uring *qshm__pr_get(unsigned entries, int *err)
{
	struct qshm__pollring *pr = &qshm__pr;

	pthread_once(&qshm__pr_once, qshm__pr_once_init);
	unsigned gen = atomic_load_explicit(&qshm__fork_gen,
					    memory_order_relaxed);
	if (pr->live && (pr->gen != gen || pr->entries < entries))
		qshm__pr_drop(pr);
	if (!pr->live) {
		unsigned e = entries < 64 ? 64 : entries;
		*err = io_uring_queue_init(e, &pr->ring, 0);
		if (*err < 0)
			return NULL;
		pr->entries = e;
		pr->gen = gen;
		pr->live = 1;
		if (qshm__pr_key != (pthread_key_t)-1)
			pthread_setspecific(qshm__pr_key, pr);
	}
	return &pr->ring;
}

QSHM_EXPORT int qshm_poll(struct qshm_pollitem *items, unsigned n,
			  int64_t timeout_ns)
{
	unsigned prepared = 0, ready = 0;
	int err;

	if (!items || n == 0 || n > 4096)
		return qshm__fail(EINVAL, "qshm_poll: %u items", n);
	for (unsigned i = 0; i < n; i++) {
		items[i].revents = 0;
		if (!items[i].c && items[i].fd < 0)
			return qshm__fail(EINVAL, "qshm_poll: item %u has "
					  "neither a consumer nor an fd", i);
		if (items[i].c && items[i].c->slot < 0)
			return qshm__fail(EPERM, "qshm_poll: item %u is a "
					  "read-only consumer", i);
	}
	/* Announce ourselves on every ring (W0/W1, and D1 where the ring
	 * wants it), then one barrier for every ring that asked (W1b), then
	 * look again (W2). Anything readable already, or ended, makes the
	 * call return at once. */
	const uint32_t *words[n];
	uint32_t vals[n];
	unsigned char announced[n];
	int need_barrier = 0;
	for (; prepared < n; prepared++) {
		struct qshm_pollitem *it = &items[prepared];
		announced[prepared] = 0;
		if (!it->c)
			continue;
		err = qshm__prepare_announce(it->c, &words[prepared],
					     &vals[prepared]);
		if (err) {
			/* read() reports it; c is not announced. */
			it->revents |= QSHM_POLL_DATA;
			ready++;
			continue;
		}
		announced[prepared] = 1 + qshm__demand(it->c);
		need_barrier |= announced[prepared] == 2;
	}
	int barrier_err = need_barrier ? qshm__barrier() : 0;
	/* A failed barrier: its rings get a short sleep, not a spin. */
	int short_sleep = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!announced[i])
			continue;
		err = qshm__prepare_check(items[i].c, announced[i] == 2,
					  barrier_err);
		short_sleep |= err == 2;
		if (err != 1 && err != 2) {
			/* 0: a record is there; < 0: read() reports it.
			 * Neither leaves c announced. */
			items[i].revents |= QSHM_POLL_DATA;
			ready++;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (items[i].fd >= 0) {
			struct pollfd p = { .fd = items[i].fd,
					    .events = POLLIN };
			if (poll(&p, 1, 0) > 0) {
				items[i].revents |= QSHM_POLL_FD;
				ready++;
			}
		}
	}
	if (ready || timeout_ns == 0) {
		err = 0;
		goto finish;
	}

	if (qshm__futex_missing()) {
		err = qshm__futex_nosys("qshm_poll");
		goto finish;
	}
	struct io_uring *ring = qshm__pr_get(3 * n + 2, &err);
	if (!ring) {
		err = qshm__fail(-err, "qshm_poll: io_uring_queue_init");
		goto finish;
	}
	unsigned inflight = 0;
	for (unsigned i = 0; i < n; i++) {
		struct qshm_pollitem *it = &items[i];
		struct io_uring_sqe *sqe;
		if (it->c) {
			sqe = io_uring_get_sqe(ring);
			qshm__prep_futex_wait(sqe, words[i], vals[i]);
			sqe->user_data = (uint64_t)i << 2 | QSHM__UD_FUTEX;
			inflight++;
			if (it->c->prod_pidfd >= 0) {
				sqe = io_uring_get_sqe(ring);
				io_uring_prep_poll_add(sqe, it->c->prod_pidfd,
						       POLLIN);
				sqe->user_data = (uint64_t)i << 2 |
						 QSHM__UD_PIDFD;
				inflight++;
			}
		}
		if (it->fd >= 0) {
			sqe = io_uring_get_sqe(ring);
			io_uring_prep_poll_add(sqe, it->fd, POLLIN);
			sqe->user_data = (uint64_t)i << 2 | QSHM__UD_FD;
			inflight++;
		}
	}
	struct __kernel_timespec ts, *tsp = NULL;
	int64_t wait_ns = timeout_ns;
	int sliced = 0;
	if (short_sleep && (wait_ns < 0 || wait_ns > QSHM_NOBARRIER_SLICE_NS)) {
		/* The wake-up may be lost: wake up anyway, and have the
		 * caller look (below). */
		wait_ns = QSHM_NOBARRIER_SLICE_NS;
		sliced = 1;
	}
	if (wait_ns > 0) {
		ts.tv_sec = wait_ns / 1000000000;
		ts.tv_nsec = wait_ns % 1000000000;
		tsp = &ts;
	}
	struct io_uring_cqe *cqe;
	err = io_uring_submit_and_wait_timeout(ring, &cqe, 1, tsp, NULL);
	if (err == -ETIME && sliced) {
		/* Our slice, not the caller's timeout: every ring may have
		 * a record the wake-up missed (QSHM_POLL_DATA may be
		 * spurious). */
		for (unsigned i = 0; i < n; i++)
			if (items[i].c)
				items[i].revents |= QSHM_POLL_DATA;
		err = 0;
	} else if (err == -ETIME || err == -EINTR)
		err = err == -EINTR ? -EINTR : 0;
	else if (err < 0)
		err = qshm__fail(-err, "qshm_poll: io_uring wait");
	else
		err = 0;
	/* Reap what completed; then cancel the rest and reap it too, so
	 * the ring is empty for the next call. */
	int cancelling = 0, cancelled = 0, stuck = 0;
	for (;;) {
		unsigned head, seen = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			seen++;
			if (cqe->user_data == LIBURING_UDATA_TIMEOUT)
				continue; /* liburing's own (older kernels) */
			if (cqe->user_data == QSHM__UD_CANCEL) {
				cancelled = 1;
				/* A kernel without IORING_ASYNC_CANCEL_ANY
				 * (before 5.19) refuses it: the requests left
				 * would keep the ring busy. */
				if (cqe->res < 0 && cqe->res != -ENOENT &&
				    cqe->res != -EALREADY)
					stuck = 1;
				continue;
			}
			inflight--;
			unsigned i = (unsigned)(cqe->user_data >> 2);
			unsigned what = (unsigned)(cqe->user_data & 3);
			if (i >= n || cqe->res == -ECANCELED)
				continue;
			if (what == QSHM__UD_FUTEX &&
			    qshm__futex_wait_nosys(cqe->res, "qshm_poll")) {
				err = -ENOSYS;
				continue;
			}
			if (what == QSHM__UD_FD)
				items[i].revents |= QSHM_POLL_FD;
			else
				/* Woken, value changed, or producer gone:
				 * read() says which. */
				items[i].revents |= QSHM_POLL_DATA;
		}
		io_uring_cq_advance(ring, seen);
		if ((inflight == 0 && (cancelled || !cancelling)) || stuck)
			break;
		if (!cancelling) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
			if (!sqe)
				break;
			io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
			sqe->user_data = QSHM__UD_CANCEL;
			cancelling = 1;
			if (io_uring_submit(ring) < 0)
				break;
		}
		/* Cancelled requests complete at once; a second is a bound
		 * for a kernel that does not (the ring is dropped then). */
		struct __kernel_timespec bound = { .tv_sec = 1 };
		int w = io_uring_wait_cqe_timeout(ring, &cqe, &bound);
		if (w < 0 && w != -EINTR) {
			stuck = 1;
			break;
		}
	}
	if (stuck || inflight || (cancelling && !cancelled))
		/* Not expected: the ring cannot be trusted empty; tearing it
		 * down cancels what is left. */
		qshm__pr_drop(&qshm__pr);
finish:
	for (unsigned i = 0; i < n; i++)
		if (items[i].c)
			qshm_consumer_wait_finish(items[i].c);
	if (err < 0)
		return err;
	ready = 0;
	for (unsigned i = 0; i < n; i++)
		ready += items[i].revents != 0;
	return (int)ready;
}
