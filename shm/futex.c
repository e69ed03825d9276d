/* SPDX-License-Identifier: MIT */
/*
 * futex.c - the futex waits libqshm makes, on words in shared memory (so
 * never FUTEX_PRIVATE_FLAG): the two syscalls, the io_uring FUTEX_WAIT of
 * qshm_poll() and the waiter, and deadline arithmetic.
 *
 * liburing 2.3 predates the futex opcodes: the SQE is filled by hand
 * (kernel 6.7+: IORING_OP_FUTEX_WAIT = 51; sqe->fd holds the futex2 flags,
 * addr the word, addr2 the value, addr3 the bitset mask).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <liburing.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Sleeps while *word == val, at most ns. Returns 0 (woken or value
 * changed), -ETIMEDOUT or -EINTR. */
int qshm__futex_wait(_Atomic uint32_t *word, uint32_t val, uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};
	long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, &ts,
			 NULL, 0);
	if (r == 0 || errno == EAGAIN)
		return 0;
	return -errno;
}

int qshm__futex_wake(_Atomic uint32_t *word, int n)
{
	long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL,
			 NULL, 0);
	return r < 0 ? -errno : (int)r;
}

#define QSHM__OP_FUTEX_WAIT 51
#define QSHM__FUTEX2_SIZE_U32 0x02u  /* shared: never FUTEX2_PRIVATE */
#define QSHM__FUTEX_MATCH_ANY 0xffffffffu

void qshm__prep_futex_wait(struct io_uring_sqe *sqe, const uint32_t *word,
			   uint32_t val)
{
	io_uring_prep_rw(QSHM__OP_FUTEX_WAIT, sqe, (int)QSHM__FUTEX2_SIZE_U32,
			 word, 0, val);
	sqe->addr3 = QSHM__FUTEX_MATCH_ANY;
}

/* Set once a kernel refused IORING_OP_FUTEX_WAIT: every later poll or
 * waiter says -ENOSYS without an io_uring. Relaxed: a hint that only ever
 * goes from 0 to 1, publishing nothing else. */
static atomic_int qshm__futex_missing_flag;

bool qshm__futex_missing(void)
{
	return atomic_load_explicit(&qshm__futex_missing_flag,
				    memory_order_relaxed) != 0;
}

int qshm__futex_nosys(const char *who)
{
	return qshm__fail(ENOSYS, "%s: the kernel lacks io_uring futex "
			  "waits (Linux 6.7 or later)", who);
}

int qshm__futex_wait_nosys(int res, const char *who)
{
	/* A kernel without the opcode answers the SQE with -EINVAL (the
	 * fields are valid for a FUTEX_WAIT, so nothing else does). */
	if (res != -EINVAL)
		return 0;
	atomic_store_explicit(&qshm__futex_missing_flag, 1,
			      memory_order_relaxed);
	return qshm__futex_nosys(who);
}

/* Absolute CLOCK_MONOTONIC deadline for a timeout; UINT64_MAX: never. */
uint64_t qshm__deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return UINT64_MAX;
	return qshm__now_ns() + (uint64_t)timeout_ns;
}
