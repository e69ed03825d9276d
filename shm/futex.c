/* SPDX-License-Identifier: MIT */
/*
 * futex.c - the two futex calls libqshm makes, on words in shared memory
 * (so never FUTEX_PRIVATE_FLAG), and deadline arithmetic.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
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

/* Absolute CLOCK_MONOTONIC deadline for a timeout; UINT64_MAX: never. */
uint64_t qshm__deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return UINT64_MAX;
	return qshm__now_ns() + (uint64_t)timeout_ns;
}
