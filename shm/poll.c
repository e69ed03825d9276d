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
#include <string.h>

#include "internal.h"

/* user_data: item index << 2 | what */
#define QSHM__UD_FUTEX 0u
#define QSHM__UD_PIDFD 1u
#define QSHM__UD_FD    2u
#define QSHM__UD_TIMEOUT 3u

QSHM_EXPORT int qshm_poll(struct qshm_pollitem *items, unsigned n,
			  int64_t timeout_ns)
{
	struct io_uring ring;
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
	/* Announce ourselves on every ring (W1/W2). Anything readable
	 * already, or ended, makes the call return at once. */
	const uint32_t *words[n];
	uint32_t vals[n];
	for (; prepared < n; prepared++) {
		struct qshm_pollitem *it = &items[prepared];
		if (!it->c)
			continue;
		err = qshm_consumer_wait_prepare(it->c, &words[prepared],
						 &vals[prepared]);
		if (err != 1) {
			/* 0: a record is there; < 0: read() reports it.
			 * Neither leaves c announced. */
			it->revents |= QSHM_POLL_DATA;
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

	err = io_uring_queue_init(3 * n + 2, &ring, 0);
	if (err < 0) {
		err = qshm__fail(-err, "qshm_poll: io_uring_queue_init");
		goto finish;
	}
	for (unsigned i = 0; i < n; i++) {
		struct qshm_pollitem *it = &items[i];
		struct io_uring_sqe *sqe;
		if (it->c) {
			sqe = io_uring_get_sqe(&ring);
			qshm__prep_futex_wait(sqe, words[i], vals[i]);
			sqe->user_data = (uint64_t)i << 2 | QSHM__UD_FUTEX;
			if (it->c->prod_pidfd >= 0) {
				sqe = io_uring_get_sqe(&ring);
				io_uring_prep_poll_add(sqe, it->c->prod_pidfd,
						       POLLIN);
				sqe->user_data = (uint64_t)i << 2 |
						 QSHM__UD_PIDFD;
			}
		}
		if (it->fd >= 0) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_poll_add(sqe, it->fd, POLLIN);
			sqe->user_data = (uint64_t)i << 2 | QSHM__UD_FD;
		}
	}
	struct __kernel_timespec ts, *tsp = NULL;
	if (timeout_ns > 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	struct io_uring_cqe *cqe;
	err = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, tsp, NULL);
	if (err == -ETIME || err == -EINTR) {
		err = err == -EINTR ? -EINTR : 0;
	} else if (err < 0) {
		err = qshm__fail(-err, "qshm_poll: io_uring wait");
	} else {
		err = 0;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			unsigned i = (unsigned)(cqe->user_data >> 2);
			unsigned what = (unsigned)(cqe->user_data & 3);
			seen++;
			if (i >= n)
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
		io_uring_cq_advance(&ring, seen);
	}
	/* Tearing the ring down cancels the requests still in flight. */
	io_uring_queue_exit(&ring);
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
