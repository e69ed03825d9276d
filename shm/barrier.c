/* SPDX-License-Identifier: MIT */
/*
 * barrier.c - the asymmetric fence of format 3 (docs/protocol.md, "Who
 * pays the fence"). A wake-up needs a store-load order on both sides: the
 * publisher stores (write position, read position), then loads who sleeps;
 * the sleeper announces itself, then loads the position again. Format 2.0
 * paid a full fence on both sides, so every commit and every release
 * drained the store buffer. Here the publisher pays nothing: the side about
 * to sleep, after its announcement and before its re-check, calls
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), which runs a full barrier on
 * every CPU that runs a thread of a registered process at that moment (and
 * a CPU that switches to such a thread later passes the scheduler's own
 * barrier). Every process that maps a ring writable registers
 * (MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) once, here.
 *
 * QSHM_FENCE=full in the environment turns it off for this process:
 * nothing is registered, producers it creates fence every commit (their
 * segments do not carry QSHM_FEAT_ASYM_FENCE), its consumers fence every
 * release. Its consumers still issue the barrier before they sleep on a
 * segment that carries the feature: the producer relies on it.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* 1: registered, the barrier works; 0: not tried; < 0: -errno, or
 * -EPERM when QSHM_FENCE=full asked for full fences. Written by the
 * once-routine and the fork handler, read on every commit and release:
 * relaxed, a plain flag that publishes nothing (a thread that still sees
 * an old 1 after a failed re-registration in a forked child cannot exist:
 * the child has one thread when its handler runs). */
static atomic_int qshm__barrier_state;
static pthread_once_t qshm__barrier_once = PTHREAD_ONCE_INIT;

static long qshm__membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static int qshm__barrier_register(void)
{
	long q = qshm__membarrier(MEMBARRIER_CMD_QUERY);

	if (q < 0)
		return -errno;
	if (!(q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
	    !(q & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
		return -ENOSYS;
	if (qshm__membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0)
		return -errno;
	return 1;
}

/* A forked child is a new process: it registers again (the kernel keeps
 * the registration with the address space, which fork copies, but the
 * state of this library must not rest on that). */
static void qshm__barrier_atfork_child(void)
{
	int s = atomic_load_explicit(&qshm__barrier_state,
				     memory_order_relaxed);
	if (s == 1)
		atomic_store_explicit(&qshm__barrier_state,
				      qshm__barrier_register(),
				      memory_order_relaxed);
}

static void qshm__barrier_init(void)
{
	const char *env = getenv("QSHM_FENCE");
	int s;

	if (env && strcmp(env, "full") == 0) {
		s = -EPERM;
	} else {
		s = qshm__barrier_register();
		if (s == 1 && pthread_atfork(NULL, NULL,
					     qshm__barrier_atfork_child) != 0)
			s = -ENOMEM; /* cannot follow a fork: stay fenced */
	}
	atomic_store_explicit(&qshm__barrier_state, s, memory_order_relaxed);
}

int qshm__barrier_setup(void)
{
	pthread_once(&qshm__barrier_once, qshm__barrier_init);
	return atomic_load_explicit(&qshm__barrier_state,
				    memory_order_relaxed);
}

bool qshm__barrier_ok(void)
{
	return atomic_load_explicit(&qshm__barrier_state,
				    memory_order_relaxed) == 1;
}

/* Needs no registration of its own: only the targets register. */
int qshm__barrier(void)
{
	if (qshm__membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0)
		return -errno;
	return 0;
}
