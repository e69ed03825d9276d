/* SPDX-License-Identifier: MIT */
/*
 * waiter.c - a file descriptor an event loop can watch for one consumer:
 * an io_uring instance of its own, whose descriptor is readable while its
 * completion queue holds an entry. Arming it queues a FUTEX_WAIT on the
 * ring's data futex word (the ring's own wake-up protocol, W1/W2 through
 * qshm_consumer_wait_prepare(), so the producer wakes it at no extra cost)
 * and, once for the waiter's life, a POLL_ADD on the producer's pidfd, so a
 * producer's death makes the descriptor readable too. Nothing in here
 * spins or sleeps: the caller's loop (epoll, asyncio, libuv) does the
 * waiting.
 *
 * The FUTEX_WAIT SQE is futex.c's (qshm__prep_futex_wait(), Linux 6.7+),
 * as qshm_poll()'s.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* user_data of the requests */
#define QSHM__W_UD_FUTEX  1u
#define QSHM__W_UD_PIDFD  2u
#define QSHM__W_UD_CANCEL 3u
#define QSHM__W_UD_TIMEOUT 4u

struct qshm_waiter {
	qshm_consumer *c;
	struct io_uring ring;
	int armed;          /* a FUTEX_WAIT may be in flight; c prepared */
	int futex_pending;  /* its completion not reaped yet */
	int pidfd_pending;  /* the pidfd poll not reaped yet */
	int timeout_pending; /* the FUTEX_WAIT's linked timeout, likewise */
	int producer_gone;  /* the pidfd poll completed */
	int futex_res;      /* result of the last FUTEX_WAIT completion */
};

static void qshm__waiter_reap(qshm_waiter *w)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&w->ring, head, cqe) {
		seen++;
		switch (cqe->user_data) {
		case QSHM__W_UD_FUTEX:
			w->futex_pending = 0;
			w->futex_res = cqe->res;
			break;
		case QSHM__W_UD_TIMEOUT:
			w->timeout_pending = 0;
			break;
		case QSHM__W_UD_PIDFD:
			w->pidfd_pending = 0;
			if (cqe->res >= 0)
				w->producer_gone = 1;
			break;
		default:
			break; /* a cancel request's own completion */
		}
	}
	io_uring_cq_advance(&w->ring, seen);
}

QSHM_EXPORT int qshm_waiter_create(qshm_consumer *c, qshm_waiter **out)
{
	if (!c || !out)
		return qshm__fail(EINVAL, "qshm_waiter_create: NULL argument");
	*out = NULL;
	if (c->slot < 0)
		return qshm__fail(EPERM, "ring '%s': a read-only consumer "
				  "cannot wait on the ring's futex",
				  c->m.name);
	qshm_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return qshm__fail(ENOMEM, "qshm_waiter_create");
	w->c = c;
	int err = io_uring_queue_init(8, &w->ring, 0);
	if (err < 0) {
		free(w);
		return qshm__fail(-err, "ring '%s': io_uring_queue_init",
				  c->m.name);
	}
	if (c->prod_pidfd >= 0) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
		io_uring_prep_poll_add(sqe, c->prod_pidfd, POLLIN);
		sqe->user_data = QSHM__W_UD_PIDFD;
		err = io_uring_submit(&w->ring);
		if (err < 0) {
			io_uring_queue_exit(&w->ring);
			free(w);
			return qshm__fail(-err, "ring '%s': io_uring_submit",
					  c->m.name);
		}
		w->pidfd_pending = 1;
	}
	*out = w;
	return 0;
}

QSHM_EXPORT int qshm_waiter_fd(const qshm_waiter *w)
{
	return w ? w->ring.ring_fd : -EINVAL;
}

QSHM_EXPORT int qshm_waiter_arm(qshm_waiter *w)
{
	const uint32_t *word;
	uint32_t val;

	if (!w)
		return qshm__fail(EINVAL, "qshm_waiter_arm: NULL waiter");
	if (w->armed)
		return qshm__fail(EINVAL, "ring '%s': waiter already armed",
				  w->c->m.name);
	qshm__waiter_reap(w);
	/* A kernel without the opcode answered the last one (or a poll's):
	 * no more. */
	int err = qshm__futex_missing() ? qshm__futex_nosys("qshm_waiter_arm")
					: qshm__futex_wait_nosys(w->futex_res,
								 "qshm_waiter_arm");
	if (err)
		return err;
	err = qshm__wait_prepare(w->c, &word, &val);
	if (err <= 0)
		return err; /* 0: a record is there; < 0: the end or an error,
			       which read() reports. Nothing is held. */
	int slice = err == 2; /* the barrier failed: a bounded wait */
	if (w->producer_gone) {
		/* The pidfd said so: read() finds out the rest. */
		qshm_consumer_wait_finish(w->c);
		return 0;
	}
	if (io_uring_sq_space_left(&w->ring) < 1u + (unsigned)slice) {
		qshm_consumer_wait_finish(w->c);
		return qshm__fail(EBUSY, "ring '%s': waiter queue full",
				  w->c->m.name);
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	qshm__prep_futex_wait(sqe, word, val);
	sqe->user_data = QSHM__W_UD_FUTEX;
	struct __kernel_timespec ts = {
		.tv_nsec = QSHM_NOBARRIER_SLICE_NS,
	};
	if (slice) {
		/* A wake-up may be lost: the wait ends (-ECANCELED) after
		 * the slice, the descriptor turns readable, and the
		 * caller's read looks. The kernel reads ts at submit. */
		sqe->flags |= IOSQE_IO_LINK;
		struct io_uring_sqe *lt = io_uring_get_sqe(&w->ring);
		io_uring_prep_link_timeout(lt, &ts, 0);
		lt->user_data = QSHM__W_UD_TIMEOUT;
	}
	err = io_uring_submit(&w->ring);
	if (err < 0) {
		qshm_consumer_wait_finish(w->c);
		return qshm__fail(-err, "ring '%s': io_uring_submit",
				  w->c->m.name);
	}
	w->timeout_pending = slice;
	w->armed = 1;
	w->futex_pending = 1;
	return 1;
}

QSHM_EXPORT int qshm_waiter_disarm(qshm_waiter *w)
{
	if (!w)
		return qshm__fail(EINVAL, "qshm_waiter_disarm: NULL waiter");
	qshm__waiter_reap(w);
	if (w->futex_pending) {
		/* Given up before a wake-up (timeout, cancellation): cancel
		 * the wait and reap its completions (and its linked
		 * timeout's), so the next arm starts clean and the
		 * descriptor is not left readable. */
		struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
		if (sqe) {
			io_uring_prep_cancel64(sqe, QSHM__W_UD_FUTEX, 0);
			sqe->user_data = QSHM__W_UD_CANCEL;
			io_uring_submit(&w->ring);
		}
	}
	while (w->futex_pending || w->timeout_pending) {
		struct io_uring_cqe *cqe;
		int err = io_uring_wait_cqe(&w->ring, &cqe);
		if (err < 0 && err != -EINTR)
			break;
		qshm__waiter_reap(w);
	}
	if (w->armed) {
		w->armed = 0;
		qshm_consumer_wait_finish(w->c);
	}
	return 0;
}

QSHM_EXPORT int qshm_waiter_close(qshm_waiter *w)
{
	if (!w)
		return 0;
	qshm_waiter_disarm(w);
	/* Tearing the ring down cancels the pidfd poll. */
	io_uring_queue_exit(&w->ring);
	free(w);
	return 0;
}

QSHM_EXPORT int qshm_consumer_mapping(qshm_consumer *c, const void **base,
				      uint64_t *size)
{
	if (!c || !base || !size)
		return qshm__fail(EINVAL, "qshm_consumer_mapping: NULL "
				  "argument");
	*base = c->m.base;
	*size = c->m.size;
	return 0;
}
