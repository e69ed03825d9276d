/* SPDX-License-Identifier: MIT */
/*
 * guard.h - the registry of libqshm's mappings that the SIGBUS guard
 * (qshm_install_sigbus_guard()) consults. Private: not installed.
 *
 * Every mapping of a segment is registered right after mmap() and
 * unregistered right before munmap(), whether or not the guard is
 * installed, so that installing it later covers what is mapped already.
 * When the guard catches a SIGBUS inside a registered mapping (its object
 * was made smaller while mapped), it maps anonymous zero pages over the
 * lost range and sets m->truncated; every call on the handle then fails
 * with -QSHM_ETRUNCATED (qshm__truncated_fail()).
 */
#ifndef QSHM_GUARD_H
#define QSHM_GUARD_H

#include "internal.h"

/* Registers m (base, size, fd, protection). Never fails: with no memory
 * for a new block of entries, the mapping is just not guarded (a SIGBUS
 * on it then goes to the previous handler, as without the guard). */
void qshm__guard_register(struct qshm_map *m, int prot);
/* Unregisters m, if registered. Before munmap(). */
void qshm__guard_unregister(struct qshm_map *m);

/* Nonzero once the guard caught a SIGBUS in m's mapping. Relaxed: the
 * flag is set by a handler on whichever thread faulted; a thread that
 * faulted itself sees its own store (the handler runs before the access
 * resumes); another thread sees it at its next call after the store. */
static inline int qshm__truncated(const struct qshm_map *m)
{
	return __builtin_expect(atomic_load_explicit(&m->truncated,
						     memory_order_relaxed), 0);
}

/* Sets the thread's message ("segment 'X' was truncated under us ...")
 * and returns -QSHM_ETRUNCATED. */
int qshm__truncated_fail(const struct qshm_map *m);

#endif /* QSHM_GUARD_H */
