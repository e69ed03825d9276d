/* SPDX-License-Identifier: MIT */
/*
 * guard.c - surviving a segment truncated under its mappings.
 *
 * Anyone who can write a ring's object can make it smaller while it is
 * mapped (`truncate -s 4096 /dev/shm/qshm.X`); the next access to a page
 * past the new end raises SIGBUS, whose default action kills the process.
 * qshm_install_sigbus_guard() installs a handler that, for a fault inside
 * a mapping libqshm made, maps anonymous zero pages over the lost range
 * (MAP_FIXED, same protection), so the faulting access completes on zeros,
 * and sets the handle's truncated flag; every later call on that producer
 * or consumer fails with -QSHM_ETRUNCATED. A SIGBUS at any other address,
 * or one sent with kill(), goes to the handler that was there before, or
 * has its default action.
 *
 * The registry: blocks of entries, the first static, more allocated when
 * it fills and linked for ever (never freed, so the handler never follows
 * a dangling pointer). Each entry is a seqlock: a state word whose low two
 * bits say FREE, BUSY (being written) or LIVE and whose upper bits count
 * changes; its fields are atomics, written while BUSY.
 *
 *   register (any thread)           handler (the faulting thread)
 *   G0 CAS state FREE -> BUSY       G2 load state (acquire): LIVE?
 *      store fields (relaxed)          load fields (relaxed)
 *   G1 store state LIVE (release)   G3 fence (acquire); reload state
 *   unregister: G4 store FREE          equal to G2: the fields belong
 *      (release), before munmap        to that registration
 *
 * G1 pairs with G2: a LIVE state seen means its fields are seen. G3
 * pairs with G0/G4 through the fields: if a later change's field stores
 * were seen, the reload sees a changed state. The handler takes no lock,
 * allocates nothing and calls only fstat, mmap, sigaction and raise.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard.h"

#define QSHM__GUARD_FREE 0u
#define QSHM__GUARD_BUSY 1u
#define QSHM__GUARD_LIVE 2u
#define QSHM__GUARD_STEP 4u /* the change count, above the two bits */
#define QSHM__GUARD_BLOCK 64

struct qshm__guard_entry {
	_Atomic uint64_t state;
	_Atomic uintptr_t base;
	_Atomic uint64_t size;
	_Atomic int fd;
	_Atomic int prot;
	_Atomic(struct qshm_map *) map;
	_Atomic int64_t seen_size; /* the object's size at the fault, or -1 */
};

struct qshm__guard_block {
	struct qshm__guard_entry e[QSHM__GUARD_BLOCK];
	_Atomic(struct qshm__guard_block *) next;
};

static struct qshm__guard_block qshm__guard_first;
static _Atomic uintptr_t qshm__guard_pagesize;
static struct sigaction qshm__guard_prev; /* set before the handler is */
static pthread_mutex_t qshm__guard_lock = PTHREAD_MUTEX_INITIALIZER;

static struct qshm__guard_entry *qshm__guard_claim(void)
{
	struct qshm__guard_block *b = &qshm__guard_first;

	for (;;) {
		for (int i = 0; i < QSHM__GUARD_BLOCK; i++) {
			struct qshm__guard_entry *e = &b->e[i];
			uint64_t s = atomic_load_explicit(&e->state,
							  memory_order_relaxed);
			/* G0: relaxed: the fields are written after, and only
			 * G1 publishes them. */
			if ((s & 3) == QSHM__GUARD_FREE &&
			    atomic_compare_exchange_strong_explicit(
				    &e->state, &s,
				    (s & ~UINT64_C(3)) + QSHM__GUARD_STEP +
					    QSHM__GUARD_BUSY,
				    memory_order_relaxed, memory_order_relaxed))
				return e;
		}
		/* Acquire: pairs with the release CAS that linked the block,
		 * so its (zeroed) entries are seen as written. */
		struct qshm__guard_block *next =
			atomic_load_explicit(&b->next, memory_order_acquire);
		if (!next) {
			struct qshm__guard_block *nb = calloc(1, sizeof(*nb));
			if (!nb)
				return NULL;
			if (!atomic_compare_exchange_strong_explicit(
				    &b->next, &next, nb, memory_order_release,
				    memory_order_acquire)) {
				free(nb); /* another thread linked one */
			} else {
				next = nb;
			}
		}
		b = next;
	}
}

void qshm__guard_register(struct qshm_map *m, int prot)
{
	struct qshm__guard_entry *e;

	atomic_store_explicit(&m->truncated, 0, memory_order_relaxed);
	m->guard = NULL;
	if (!atomic_load_explicit(&qshm__guard_pagesize, memory_order_relaxed))
		atomic_store_explicit(&qshm__guard_pagesize,
				      (uintptr_t)sysconf(_SC_PAGESIZE),
				      memory_order_relaxed);
	e = qshm__guard_claim();
	if (!e)
		return;
	atomic_store_explicit(&e->base, (uintptr_t)m->base,
			      memory_order_relaxed);
	atomic_store_explicit(&e->size, m->size, memory_order_relaxed);
	atomic_store_explicit(&e->fd, m->fd, memory_order_relaxed);
	atomic_store_explicit(&e->prot, prot, memory_order_relaxed);
	atomic_store_explicit(&e->map, m, memory_order_relaxed);
	atomic_store_explicit(&e->seen_size, -1, memory_order_relaxed);
	uint64_t s = atomic_load_explicit(&e->state, memory_order_relaxed);
	/* G1: pairs with G2 in the handler. */
	atomic_store_explicit(&e->state, s + QSHM__GUARD_STEP -
				      QSHM__GUARD_BUSY + QSHM__GUARD_LIVE,
			      memory_order_release);
	m->guard = e;
}

void qshm__guard_unregister(struct qshm_map *m)
{
	struct qshm__guard_entry *e = m->guard;

	if (!e)
		return;
	m->guard = NULL;
	uint64_t s = atomic_load_explicit(&e->state, memory_order_relaxed);
	/* G4: the mapping goes away after this; a handler that loaded the
	 * state before sees the change at G3 only if it also saw a later
	 * registration's fields: until munmap() the old fields are true. */
	atomic_store_explicit(&e->state, (s & ~UINT64_C(3)) + QSHM__GUARD_STEP +
				      QSHM__GUARD_FREE,
			      memory_order_release);
}

/* Patches the mapping of entry e, which holds addr: zero pages from the
 * object's new end (or the faulting page, if lower) to the mapping's end.
 * Returns 1 if done. Async-signal-safe. */
static int qshm__guard_patch(struct qshm__guard_entry *e, uintptr_t base,
			     uint64_t size, int fd, int prot,
			     struct qshm_map *m, uintptr_t addr)
{
	uintptr_t page = atomic_load_explicit(&qshm__guard_pagesize,
					      memory_order_relaxed);
	uintptr_t start, end = base + size;
	int64_t seen = -1;
	struct stat st;

	if (!page)
		page = 4096;
	start = addr & ~(page - 1);
	if (fstat(fd, &st) == 0) {
		seen = st.st_size;
		if ((uint64_t)st.st_size < size) {
			uintptr_t cut = base + (((uintptr_t)st.st_size + page - 1) &
						~(page - 1));
			if (cut < start)
				start = cut;
		}
	}
	if (mmap((void *)start, end - start, prot,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
		return 0;
	atomic_store_explicit(&e->seen_size, seen, memory_order_relaxed);
	/* Relaxed: read by this thread after the handler returns, or by
	 * another at its next call (see qshm__truncated()). */
	atomic_store_explicit(&m->truncated, 1, memory_order_relaxed);
	return 1;
}

/* Finds the registered mapping that holds addr and patches it. */
static int qshm__guard_catch(uintptr_t addr)
{
	for (struct qshm__guard_block *b = &qshm__guard_first; b;
	     b = atomic_load_explicit(&b->next, memory_order_acquire)) {
		for (int i = 0; i < QSHM__GUARD_BLOCK; i++) {
			struct qshm__guard_entry *e = &b->e[i];
			/* G2: pairs with G1. */
			uint64_t s = atomic_load_explicit(&e->state,
							  memory_order_acquire);
			if ((s & 3) != QSHM__GUARD_LIVE)
				continue;
			uintptr_t base = atomic_load_explicit(
				&e->base, memory_order_relaxed);
			uint64_t size = atomic_load_explicit(
				&e->size, memory_order_relaxed);
			if (addr < base || addr - base >= size)
				continue;
			int fd = atomic_load_explicit(&e->fd,
						      memory_order_relaxed);
			int prot = atomic_load_explicit(&e->prot,
							memory_order_relaxed);
			struct qshm_map *m = atomic_load_explicit(
				&e->map, memory_order_relaxed);
			/* G3 */
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&e->state,
						 memory_order_relaxed) != s)
				continue;
			return qshm__guard_patch(e, base, size, fd, prot, m,
						 addr);
		}
	}
	return 0;
}

/* Not ours: what would have happened without the guard. */
static void qshm__guard_chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *p = &qshm__guard_prev;

	if (p->sa_flags & SA_SIGINFO) {
		if (p->sa_sigaction) {
			p->sa_sigaction(sig, si, uc);
			return;
		}
	} else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
		p->sa_handler(sig);
		return;
	}
	/* A fault (si_code > 0) cannot be ignored: the access runs again
	 * on return and faults again, now with the default action. A
	 * signal sent by kill() gets its previous disposition. */
	if (p->sa_handler == SIG_IGN && si && si->si_code <= 0)
		return;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	if (!si || si->si_code <= 0)
		raise(SIGBUS); /* delivered when the handler returns */
}

static void qshm__guard_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	/* si_code > 0: raised by the kernel for an access (BUS_ADRERR for
	 * a page past the end of its file). */
	if (!(si && si->si_code > 0 &&
	      qshm__guard_catch((uintptr_t)si->si_addr)))
		qshm__guard_chain(sig, si, uc);
	errno = saved;
}

QSHM_EXPORT int qshm_install_sigbus_guard(void)
{
	struct sigaction sa, cur;
	int err = 0;

	pthread_mutex_lock(&qshm__guard_lock);
	if (sigaction(SIGBUS, NULL, &cur) < 0) {
		err = qshm__fail(errno, "sigaction(SIGBUS)");
		goto out;
	}
	if ((cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_sigaction == qshm__guard_handler)
		goto out; /* installed already */
	/* The handler chains to whatever is there now. Set before the
	 * handler is installed; a SIGBUS between the two goes to cur. */
	qshm__guard_prev = cur;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = qshm__guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		err = qshm__fail(errno, "sigaction(SIGBUS)");
out:
	pthread_mutex_unlock(&qshm__guard_lock);
	return err;
}

int qshm__truncated_fail(const struct qshm_map *m)
{
	const struct qshm__guard_entry *e = m->guard;
	int64_t seen = e ? atomic_load_explicit(&e->seen_size,
						memory_order_relaxed) : -1;

	if (seen >= 0 && (uint64_t)seen < m->size)
		return qshm__fail(QSHM_ETRUNCATED, "segment '%s' was truncated "
				  "under us (its object has %lld bytes, %llu "
				  "were mapped)", m->name, (long long)seen,
				  (unsigned long long)m->size);
	return qshm__fail(QSHM_ETRUNCATED, "segment '%s' was truncated under "
			  "us (a page of its mapping was lost: SIGBUS)",
			  m->name);
}
