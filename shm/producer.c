/* SPDX-License-Identifier: MIT */
/*
 * producer.c - the producer side: create, claim, commit, back-pressure,
 * eviction of dead consumers, close.
 *
 * The protocol, its labels (P*, C*, R*, A*) and the proofs that nothing is
 * lost, torn or left asleep are in docs/protocol.md; each atomic below names
 * the label it implements and the operation it pairs with.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "internal.h"
#include "object.h"

_Static_assert(offsetof(struct qshm_producer, f) == 0,
	       "the inline claim (qshm.h) finds its state at the handle's start");

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void qshm__set_limit(qshm_producer *p);

/* Whether commits prefetch ahead (qshm__prefetch_ahead()): x86 needs
 * PREFETCHW in CPUID (bit PRFCHW of leaf 0x80000001), which every AMD64
 * CPU and Intel's since Broadwell have; other machines have a write
 * prefetch. QSHM_PREFETCH=0 in the environment turns it off (to measure
 * what it buys). */
static int qshm__have_prefetchw(void)
{
	const char *env = getenv("QSHM_PREFETCH");
	if (env && strcmp(env, "0") == 0)
		return 0;
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000001u, &a, &b, &c, &d))
		return 0;
	return (c & bit_PRFCHW) != 0;
#else
	return 1;
#endif
}

static int qshm__check_opts(const struct qshm_create_opts *o,
			    struct qshm_create_opts *out)
{
	struct qshm_create_opts d = {
		.capacity = UINT64_C(1) << 20,
		.max_consumers = 64,
		.mode = 0600,
	};

	d.meta_size = QSHM_META_DEFAULT;
	if (o) {
		if (o->meta_size > QSHM_META_MAX ||
		    (o->meta_size & (QSHM_CACHELINE - 1)))
			return qshm__fail(EINVAL, "meta_size %u: a multiple of "
					  "64, at most %u", o->meta_size,
					  QSHM_META_MAX);
		if (o->meta_size)
			d.meta_size = o->meta_size;
		if (o->flags & ~QSHM_CREATE_FLAGS_MASK)
			return qshm__fail(EINVAL, "unknown create flags 0x%x",
					  o->flags & ~QSHM_CREATE_FLAGS_MASK);
		if (o->capacity)
			d.capacity = o->capacity;
		d.max_record = o->max_record;
		if (o->max_consumers)
			d.max_consumers = o->max_consumers;
		if (o->mode)
			d.mode = o->mode;
		d.flags = o->flags;
	}
	if (d.capacity < 4096 || (d.capacity & (d.capacity - 1)) ||
	    d.capacity > (UINT64_C(1) << 40))
		return qshm__fail(EINVAL, "capacity %llu: must be a power of "
				  "two from 4096 to 2^40",
				  (unsigned long long)d.capacity);
	if (!d.max_record)
		d.max_record = d.capacity / 4;
	if (d.max_record > d.capacity / 2 - 64)
		return qshm__fail(EINVAL, "max_record %llu: at most capacity/2"
				  " - 64 = %llu",
				  (unsigned long long)d.max_record,
				  (unsigned long long)(d.capacity / 2 - 64));
	if (d.max_record > UINT32_MAX)
		return qshm__fail(EINVAL, "max_record %llu: at most 2^32-1",
				  (unsigned long long)d.max_record);
	if (d.max_consumers > QSHM_MAX_CONSUMERS)
		return qshm__fail(EINVAL, "max_consumers %u: at most %u",
				  d.max_consumers, QSHM_MAX_CONSUMERS);
	if (d.mode & ~0777u)
		return qshm__fail(EINVAL, "mode 0%o: only permission bits",
				  d.mode);
	*out = d;
	return 0;
}

/* Creates the object exclusively and publishes its header. */
static int qshm__map_create(const char *name, const char *path,
			    const struct qshm_create_opts *o,
			    uint64_t generation, struct qshm_map *m)
{
	uint64_t off_data = qshm__off_data(o->max_consumers, o->meta_size);
	uint64_t size = off_data + o->capacity;
	int err;

	int anon; /* built unnamed, linked to its name when ready */

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	/* An unnamed object in /dev/shm (O_TMPFILE), built and published,
	 * then given its name with linkat(): nobody can ever see it half
	 * built, and a creator killed while building leaves nothing. Where
	 * the kernel or filesystem cannot do that, the named O_EXCL create
	 * with the creator's mark (an OFD lock) and pid, as before. */
	m->fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC,
		     (mode_t)o->mode);
	anon = m->fd >= 0;
	if (!anon) {
		m->fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
				 (mode_t)o->mode);
		if (m->fd < 0)
			return -errno;
		qshm__creator_mark(m->fd);
	}
	/* The umask must not narrow what the caller asked for. */
	if (fchmod(m->fd, (mode_t)o->mode) < 0 ||
	    ftruncate(m->fd, (off_t)size) < 0) {
		err = qshm__fail(errno, "size ring '%s' to %llu bytes", name,
				 (unsigned long long)size);
		goto fail;
	}
	m->size = size;
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, m->fd, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		err = qshm__fail(errno, "mmap ring '%s' (%llu bytes)", name,
				 (unsigned long long)size);
		goto fail;
	}
	qshm__guard_register(m, PROT_READ | PROT_WRITE);
	/* Pre-fault for writing: a first-touch fault costs ~20 us here. */
	(void)madvise(m->base, size, MADV_POPULATE_WRITE);

	struct qshm_kheader *h = (struct qshm_kheader *)m->base;
	/* The creator first, so that an observer of a half-created object
	 * can tell whether its creator still runs (segment.c, A-pid). P-pid:
	 * release, pairs with A-pid's acquire: a pid seen means its start
	 * time is there too. */
	uint64_t start;
	if (qshm__proc_start(getpid(), &start) < 0)
		start = 0;
	__atomic_store_n(&h->kh_creator_start, start, __ATOMIC_RELAXED);
	__atomic_store_n(&h->kh_creator_pid, (int32_t)getpid(),
			 __ATOMIC_RELEASE);
	h->kh_magic = QSHM_MAGIC;
	h->kh_format_major = QSHM_FORMAT_MAJOR;
	h->kh_format_minor = QSHM_FORMAT_MINOR;
	h->kh_layout = QSHM_LAYOUT_WORD;
	h->kh_header_size = sizeof(*h);
	h->kh_seg_size = size;
	h->kh_capacity = o->capacity;
	h->kh_max_record = o->max_record;
	h->kh_max_consumers = o->max_consumers;
	h->kh_slot_size = sizeof(struct qshm_kslot);
	h->kh_off_prod = QSHM_OFF_PROD;
	h->kh_off_wake = QSHM_OFF_WAKE;
	h->kh_off_stats = QSHM_OFF_STATS;
	h->kh_off_slots = QSHM_OFF_SLOTS;
	h->kh_off_parked = qshm__off_parked(o->max_consumers);
	h->kh_off_meta = qshm__off_meta(o->max_consumers);
	h->kh_meta_size = o->meta_size;
	h->kh_off_data = off_data;
	/* Asymmetric fences when this process is registered for the
	 * barrier its consumers will issue (barrier.c). */
	if (qshm__barrier_setup() == 1)
		h->kh_features |= QSHM_FEAT_ASYM_FENCE;
	m->features = h->kh_features;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->kh_created_ns = (uint64_t)ts.tv_sec * 1000000000u +
			   (uint64_t)ts.tv_nsec;
	h->kh_generation = generation;
	/* Random, so the words of two generations of a ring differ; the
	 * soundness of the commit word rests on the MARK protocol, not on
	 * the key (docs/protocol.md). Never 0 (fresh memory) or ~0 (its
	 * MARK would be 0). */
	if (getrandom(&h->kh_seq_key, sizeof(h->kh_seq_key), 0) !=
	    sizeof(h->kh_seq_key))
		h->kh_seq_key = (uint64_t)h->kh_created_ns * 0x9e3779b97f4a7c15u ^
				(uint64_t)getpid();
	if (h->kh_seq_key == 0 || h->kh_seq_key == UINT64_MAX)
		h->kh_seq_key = 0x5153484d52494e47u;

	m->capacity = o->capacity;
	m->max_record = o->max_record;
	m->max_consumers = o->max_consumers;
	m->generation = generation;
	m->seq_key = h->kh_seq_key;
	m->creator_pid = h->kh_creator_pid;
	m->creator_start = h->kh_creator_start;
	m->meta_size = o->meta_size;
	qshm__map_set_geometry(m);
	/* The commit word of position 0 holds MARK before anyone can look
	 * (the invariant of "The commit word" in docs/protocol.md). */
	atomic_store_explicit(&((struct qshm_krec *)m->kdata)->kr_commit,
			      QSHM_MARK(m->seq_key), memory_order_relaxed);

	/* P0: publishes the header; pairs with A0 in qshm__map_attach().
	 * Every field above is written before it. */
	atomic_store_explicit(&h->kh_state, QSHM_KSTATE_READY,
			      memory_order_release);
	if (anon) {
		char fdpath[64], dst[QSHM_NAME_MAX + 24];
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", m->fd);
		snprintf(dst, sizeof(dst), "/dev/shm%s", path);
		/* Atomic, and fails with EEXIST like O_EXCL: the caller
		 * then replaces what holds the name, or gives up. */
		if (linkat(AT_FDCWD, fdpath, AT_FDCWD, dst,
			   AT_SYMLINK_FOLLOW) < 0) {
			err = -errno;
			qshm__map_release(m);
			return err;
		}
		return 0;
	}
	qshm__creator_unmark(m->fd);
	return 0;
fail:
	qshm__map_release(m);
	if (!anon)
		shm_unlink(path);
	return err;
}

struct qshm__replace_ctx {
	const char *name;
	unsigned flags;
};

/* Generations read from an object being replaced are trusted below this. */
#define QSHM__GEN_TRUST_MAX (UINT64_C(1) << 48)

/* Policy for replacing whatever holds the name (under the lock). */
static int qshm__may_replace(void *arg, const struct qshm_ring_info *info)
{
	const struct qshm__replace_ctx *r = arg;

	switch (info->state) {
	case QSHM_RING_LIVE:
		return qshm__fail(EEXIST, "ring '%s' exists and its producer "
				  "(pid %d) is alive", r->name,
				  info->creator_pid);
	case QSHM_RING_STALE:
	case QSHM_RING_CLOSED:
		if (!(r->flags & QSHM_CREATE_REPLACE_STALE))
			return qshm__fail(QSHM_ESTALE, "ring '%s' exists, %s "
					  "(creator pid %d); replace it or "
					  "remove it", r->name,
					  qshm_ring_state_name(info->state),
					  info->creator_pid);
		return 1;
	case QSHM_RING_NOTQSHM:
		return qshm__fail(EEXIST, "'%s' exists and is %s, not a qshm "
				  "ring; not replaced", r->name,
				  qshm__object_what(r->name));
	default:
		return qshm__fail(EEXIST, "'%s' exists and is %s; not "
				  "replaced", r->name,
				  qshm_ring_state_name(info->state));
	}
}

/*
 * The name is taken. If the holder is a stale or closed qshm ring and the
 * caller allows it, remove it (qshm_ring_remove_if: under the exclusive
 * lock, so two replacers never remove each other's new rings) and report
 * its generation. -EAGAIN: the name moved on meanwhile; try again.
 */
static int qshm__replace_old(const char *name, unsigned flags,
			     uint64_t *old_gen)
{
	struct qshm__replace_ctx r = { name, flags };
	struct qshm_ring_info info;
	int err = qshm_ring_remove_if(name, qshm__may_replace, &r, &info);

	if (err == -ENOENT)
		return -EAGAIN; /* gone already: create again */
	if (err == -EBUSY)
		return qshm__fail(EEXIST, "ring '%s' is being replaced by "
				  "another process", name);
	if (err < 0)
		return err;
	*old_gen = info.generation;
	return 0;
}

QSHM_EXPORT int qshm_producer_create(const char *name,
				     const struct qshm_create_opts *opts,
				     qshm_producer **out)
{
	struct qshm_create_opts o = { 0 };
	char path[QSHM_NAME_MAX + 8];
	uint64_t gen = 1;
	qshm_producer *p;
	int err;

	if (!out)
		return qshm__fail(EINVAL, "out is NULL");
	*out = NULL;
	err = qshm__shm_path(name, path, sizeof(path));
	if (err)
		return err;
	err = qshm__check_opts(opts, &o);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return qshm__fail(ENOMEM, "producer handle");
	for (int tries = 0;; tries++) {
		err = qshm__map_create(name, path, &o, gen, &p->m);
		if (err != -EEXIST)
			break;
		uint64_t old_gen = 0;
		err = qshm__replace_old(name, o.flags, &old_gen);
		/* The old object may be anyone's forgery: its generation
		 * is used only if it is small enough to count up from
		 * (a huge one would wrap the new ring's to 0). */
		if (err == 0)
			gen = old_gen >= 1 && old_gen < QSHM__GEN_TRUST_MAX ?
			      old_gen + 1 : 1;
		else if (err != -EAGAIN || tries > 8)
			break;
	}
	if (err) {
		free(p);
		if (err == -EEXIST && !qshm_last_error()[0])
			return qshm__fail(EEXIST, "ring '%s' exists", name);
		if (!qshm_last_error()[0])
			return qshm__fail(-err, "create ring '%s'", name);
		return err;
	}
	p->cached_min = UINT64_MAX;
	p->asym = (p->m.features & QSHM_FEAT_ASYM_FENCE) != 0;
	p->prefetch = qshm__have_prefetchw();
	p->f.data = p->m.kdata;
	p->f.mask = p->m.mask;
	p->f.mark = QSHM_MARK(p->m.seq_key);
	p->f.max_record = p->m.max_record;
	qshm__set_limit(p);
	p->seg_shift = (unsigned)__builtin_ctzll(o.capacity) - 4;
	p->checkpoint_seg = UINT64_MAX;
	p->mode = QSHM_WAIT_SPIN_PARK;
	p->spin_ns = QSHM_DEFAULT_SPIN_NS;
	qshm__clear_error();
	*out = p;
	return 0;
}

QSHM_EXPORT int qshm_producer_set_wait(qshm_producer *p,
				       enum qshm_wait_mode mode,
				       uint64_t spin_ns)
{
	if (!p || (unsigned)mode > QSHM_WAIT_BLOCK)
		return qshm__fail(EINVAL, "bad wait mode %d", (int)mode);
	p->mode = mode;
	p->spin_ns = spin_ns ? spin_ns : QSHM_DEFAULT_SPIN_NS;
	return 0;
}

static void qshm__wake_data(qshm_producer *p, uint32_t nwords);

/* Evicts reliable consumers that hold position below need and whose
 * process is dead. Returns how many were evicted. */
static int qshm__evict_dead(qshm_producer *p, uint64_t need)
{
	int n = 0;
	uint32_t hwm = qshm__slot_hwm(&p->m, memory_order_relaxed);

	for (uint32_t i = 0; i < hwm; i++) {
		struct qshm_kslot *s = &p->m.kslots[i];
		/* E1: acquire, pairs with the owner's R3: kc_start, written
		 * before it registered, is that owner's. */
		uint64_t w = atomic_load_explicit(&s->kc_word,
						  memory_order_acquire);
		if (qshm__slot_state(w) != QSHM_SLOT_RELIABLE)
			continue;
		if (atomic_load_explicit(&s->kc_read_pos,
					 memory_order_relaxed) >= need)
			continue;
		uint64_t start = atomic_load_explicit(&s->kc_start,
						      memory_order_relaxed);
		if (qshm__proc_alive(qshm__slot_pid(w), start))
			continue;
		/* E2: from the exact word judged dead. If the slot changed
		 * hands since E1 (closed, taken over, re-registered), its
		 * generation moved and this fails: a live owner is never
		 * evicted. Relaxed: nothing else is published with it. */
		uint64_t ev = qshm__slot_next(w, QSHM_SLOT_EVICTED,
					      qshm__slot_pid(w));
		if (atomic_compare_exchange_strong_explicit(
			    &s->kc_word, &w, ev, memory_order_relaxed,
			    memory_order_relaxed)) {
			/* U1: the dead owner's parked bit (and demand). */
			qshm__slot_cleanup(&p->m, i, qshm__slot_gen(w));
			/* U1r: a consumer that took the slot after E2 may
			 * have parked before U1, which then erased its bit:
			 * seq_cst, after U1's seq_cst RMW, this load sees
			 * its take if U1 read its W1 (W1 then happens
			 * before U1). A word other than E2's: wake every
			 * sleeper (one spurious wake-up; it announces
			 * itself again). tests/model/evict_park.pml. */
			if (atomic_load_explicit(&s->kc_word,
						 memory_order_seq_cst) != ev)
				qshm__wake_data(p, (hwm + 63) / 64);
			n++;
			p->evictions++;
			atomic_store_explicit(&p->m.kstats->ks_evictions,
					      p->evictions,
					      memory_order_relaxed);
		}
	}
	return n;
}

/*
 * Waits until positions below need may be overwritten: every reliable
 * consumer has released at least need. Returns 0, -EAGAIN, -ETIMEDOUT.
 */
__attribute__((noinline, cold))
static int qshm__wait_space(qshm_producer *p, uint64_t need,
			    int64_t timeout_ns)
{
	struct qshm_kwake *kw = p->m.kwake;
	uint64_t deadline, now, spin_end, next_check;

	p->full_waits++;
	atomic_store_explicit(&p->m.kstats->ks_full_waits, p->full_waits,
			      memory_order_relaxed);
	if (timeout_ns == 0)
		return -EAGAIN;
	now = qshm__now_ns();
	deadline = timeout_ns < 0 ? UINT64_MAX : now + (uint64_t)timeout_ns;
	spin_end = p->mode == QSHM_WAIT_BLOCK ? now :
		   p->mode == QSHM_WAIT_BUSY ? UINT64_MAX : now + p->spin_ns;
	next_check = now + QSHM_LIVENESS_NS;
	for (;;) {
		p->cached_min = qshm__scan_min(&p->m, NULL);
		if (p->cached_min >= need)
			return 0;
		now = qshm__now_ns();
		if (now >= next_check) {
			if (qshm__evict_dead(p, need))
				continue;
			next_check = now + QSHM_LIVENESS_NS;
		}
		if (now >= deadline)
			return -ETIMEDOUT;
		if (now < spin_end) {
			qshm__cpu_relax();
			continue;
		}
		/* S0: the futex value first: a release that takes our flag
		 * (R2) bumps the word after, so the wait below cannot sleep
		 * through it. */
		uint32_t v = atomic_load_explicit(&kw->kw_space_futex,
						  memory_order_seq_cst);
		/* S1: announce the sleep; pairs with R2 in
		 * qshm_consumer_release() (Dekker through seq_cst: either it
		 * sees us or our rescan below sees its release). A flag, not
		 * a count: one producer; the waker takes it (exchange), so
		 * a producer that dies asleep costs one wake, not one per
		 * release forever. */
		atomic_store_explicit(&kw->kw_space_sleepers, 1,
				      memory_order_seq_cst);
		/* S2: the rescan's loads are acquire, not seq_cst: this fence
		 * makes them see every seq_cst exchange R1 that precedes it in
		 * the total order (C11 7.17.3p10), so either R2 sees S1 or the
		 * rescan sees the release. */
		atomic_thread_fence(memory_order_seq_cst);
		/* S1d/S2b (format 3): consumers registered for the
		 * barrier release with a plain store (R1) and fence only
		 * while kw_release_fence asks them to (R1d). The first wait
		 * asks, then issues the barrier: a full fence on their CPUs,
		 * so every release whose R1d comes after it fences (2.0's
		 * Dekker pair with S1/S2), and the R1 of any release whose
		 * R1d came before it is visible to this rescan and every
		 * later one. Consumers that are not registered fence every
		 * R1, as in 2.0. A barrier that fails leaves the next wait to
		 * try again, and this one only short sleeps. */
		uint64_t max_slice = QSHM_SLEEP_SLICE_NS;
		p->space_mark = p->records;
		if (p->asym && !p->space_ok) {
			if (!p->space_fence) {
				atomic_store_explicit(&kw->kw_release_fence, 1,
						      memory_order_seq_cst);
				p->space_fence = 1;
			}
			if (qshm__barrier() == 0)
				p->space_ok = 1;
			else
				max_slice = QSHM_NOBARRIER_SLICE_NS;
		}
		p->cached_min = qshm__scan_min(&p->m, NULL);
		if (p->cached_min < need) {
			uint64_t slice = max_slice;
			if (deadline != UINT64_MAX && deadline - now < slice)
				slice = deadline - now;
			if (next_check > now && next_check - now < slice)
				slice = next_check - now;
			qshm__futex_wait(&kw->kw_space_futex, v,
					 slice ? slice : 1);
		}
		atomic_store_explicit(&kw->kw_space_sleepers, 0,
				      memory_order_relaxed);
	}
}

/*
 * The inline claim's bound (qshm.h): a claim may take the fast path when its
 * end plus the next header stays within the lap it starts in (no pad) and
 * reuses only bytes below the head, the slowest reliable consumer and the
 * committed end: exactly the checks of qshm__claim_slow(). Recomputed by
 * commit, trim (a claim that ended on a lap boundary set it for the next
 * lap) and every slow claim, successful or not. Between those the head and
 * the committed end do not move, and the cached slowest consumer only
 * rises (releases, evictions) or is rescanned inside a slow claim; a
 * consumer that registers meanwhile starts at or above the head the bound
 * already counts (R4/R5 against P1/P2). So it is only ever too low, which
 * costs one slow claim.
 */
static void qshm__set_limit(qshm_producer *p)
{
	/* A cut segment: every claim goes to the library, which says so. */
	if (qshm__truncated(&p->m)) {
		p->f.limit = 0;
		return;
	}
	uint64_t cap = p->m.capacity;
	uint64_t low = p->head < p->cached_min ? p->head : p->cached_min;
	if (p->committed < low)
		low = p->committed;
	uint64_t lap_end = (p->f.claim_pos | p->m.mask) + 1;
	uint64_t lim = low + cap;
	if (lim > lap_end + QSHM_REC_HDR)
		lim = lap_end + QSHM_REC_HDR;
	p->f.limit = lim;
}

static inline struct qshm_krec *qshm__rec_at(qshm_producer *p, uint64_t pos)
{
	return (struct qshm_krec *)(p->m.kdata + (pos & p->m.mask));
}

/* K1: MARK into the commit word at pos, the next record's: relaxed; C0 of
 * the record before it (a release store, later in program order) orders it
 * before any consumer can look at pos. */
static inline void qshm__mark(qshm_producer *p, uint64_t pos)
{
	atomic_store_explicit(&qshm__rec_at(p, pos)->kr_commit, p->f.mark,
			      memory_order_relaxed);
}

/* Length, type and flags (0) of a header in one 8-byte store. */
static inline void qshm__hdr_write(struct qshm_krec *r, uint64_t len,
				   uint16_t type)
{
	uint64_t w = (uint32_t)len | (uint64_t)type << 32;
	_Static_assert(offsetof(struct qshm_krec, kr_len) == 0 &&
		       offsetof(struct qshm_krec, kr_type) == 4 &&
		       offsetof(struct qshm_krec, kr_flags) == 6,
		       "header word layout");
	memcpy(r, &w, sizeof(w));
}

/*
 * Moves kp_head_pos past every old record below limit, and some way beyond
 * so this (seq_cst) store happens once per capacity/16 bytes rather than
 * once per record, but never past the slowest reliable consumer or what is
 * committed. Lossy readers validate against it (V1).
 */
__attribute__((noinline))
static int qshm__advance_head(qshm_producer *p, uint64_t limit)
{
	uint64_t h = p->head;
	uint64_t want = limit + p->m.capacity / 16;
	uint64_t bound = p->committed < p->cached_min ? p->committed :
							 p->cached_min;
	/* Fast way: the first record of the 1/16th of the ring that starts
	 * at or after limit, remembered at commit. No walk over the old
	 * headers (each load of which depends on the one before). */
	uint64_t seg = (limit + (UINT64_C(1) << p->seg_shift) - 1) >>
		       p->seg_shift;
	uint64_t cp = p->checkpoint[seg & 15];
	if ((cp >> p->seg_shift) == seg && cp >= limit && cp <= bound &&
	    cp > h) {
		h = cp;
		want = h;
	}
	if (want > bound)
		want = bound;
	if (want < limit)
		want = limit; /* cannot happen: the caller checked space */
	while (h < want) {
		const struct qshm_krec *r = qshm__rec_at(p, h);
		uint64_t off = h & p->m.mask;
		uint64_t size = qshm__rec_size(r->kr_len);
		/* Our own records, but a consumer with write access could
		 * have scribbled on them: check before trusting. */
		if (r->kr_len > p->m.capacity || off + size > p->m.capacity)
			return qshm__fail(QSHM_ECORRUPT, "ring '%s': record "
					  "at %llu has length %u", p->m.name,
					  (unsigned long long)h, r->kr_len);
		h += size;
	}
	p->head = h;
	/* P1: announce that bytes below h may now be overwritten. seq_cst:
	 * pairs with R5 in qshm__register() (a consumer registering now
	 * either sees this head or is seen by the epoch check P2 below). */
	atomic_store_explicit(&p->m.kprod->kp_head_pos, h,
			      memory_order_seq_cst);
	/* P1f: the overwriting stores come after this release fence; pairs
	 * with the acquire fence of V1/V2: a lossy reader that saw any
	 * overwritten byte sees this head (or a later one). Without it a
	 * weakly ordered CPU may make new bytes visible before the head. */
	atomic_thread_fence(memory_order_release);
	/* P2: consumers that registered since the last scan: rescan. */
	uint32_t e = atomic_load_explicit(&p->m.kprod->kp_epoch,
					  memory_order_seq_cst);
	if (e != p->seen_epoch) {
		p->seen_epoch = e;
		p->cached_min = qshm__scan_min(&p->m, NULL);
	}
	return 0;
}

/*
 * Makes the bytes below end - capacity reusable (end: the claim's end plus
 * the next record's header, where its MARK goes): commits a batch that would
 * otherwise span the whole ring, waits for reliable consumers, moves the
 * head. Returns 0 or an error as qshm_producer_claim().
 */
__attribute__((noinline, cold))
static int qshm__make_room(qshm_producer *p, uint64_t end, int64_t timeout_ns)
{
	uint64_t cap = p->m.capacity;
	uint64_t limit = end - cap; /* bytes below limit get reused */
	int err;

	/* The bytes this claim reuses must lie below the committed end (the
	 * head never passes it): a batch that would reach a whole ring past
	 * it is committed first. */
	if (end - p->committed > cap && p->f.claim_pos != p->committed)
		qshm_producer_commit(p);
	for (;;) {
		if (p->cached_min < limit) {
			p->cached_min = qshm__scan_min(&p->m, NULL);
			if (p->cached_min < limit) {
				qshm_producer_commit(p);
				err = qshm__wait_space(p, limit, timeout_ns);
				if (err)
					return err;
			}
		}
		if (p->head >= limit)
			return 0;
		err = qshm__advance_head(p, limit);
		if (err)
			return err;
		/* A newly registered consumer may sit below limit; the rescan
		 * in P2 found it: check again. */
		if (p->cached_min >= limit)
			return 0;
	}
}

/* Every claim the fast path below does not finish: errors, pads, room to
 * make. */
__attribute__((noinline))
static int qshm__claim_slow(qshm_producer *p, size_t len, uint16_t type,
			    int64_t timeout_ns, void **payload)
{
	uint64_t cap, need, w, off, pad, end;
	int err;

	if (!p || !payload)
		return qshm__fail(EINVAL, "NULL argument");
	if (qshm__truncated(&p->m))
		return qshm__truncated_fail(&p->m);
	if (len == 0 || type < QSHM_TYPE_USER_MIN)
		return qshm__fail(EINVAL, "record of %zu bytes, type %u: "
				  "need len >= 1 and type >= %d", len, type,
				  QSHM_TYPE_USER_MIN);
	if (len > p->m.max_record)
		return qshm__fail(QSHM_ETOOBIG, "ring '%s': record of %zu "
				  "bytes, maximum %llu", p->m.name, len,
				  (unsigned long long)p->m.max_record);
	cap = p->m.capacity;
	need = qshm__rec_size(len);
	w = p->f.claim_pos;
	off = w & p->m.mask;
	pad = off + need > cap ? cap - off : 0;
	end = w + pad + need;
	/* The next record's header (its MARK) must be free too. */
	uint64_t room = end + QSHM_REC_HDR;

	/* Fast path: the bytes reused (below room - cap) are already free:
	 * below the head and the cached slowest consumer. Anything else
	 * goes to qshm__make_room(), out of line, so this path keeps its
	 * state in registers (stack spills wait behind ring stores). */
	if (__builtin_expect(room > cap, 1) &&
	    __builtin_expect(room - cap > p->head ||
			     room - cap > p->cached_min ||
			     room - p->committed > cap, 0)) {
		err = qshm__make_room(p, room, timeout_ns);
		if (err) {
			/* A rescan may have moved cached_min: keep the
			 * inline claim's bound exact (cheap, and rare). */
			qshm__set_limit(p);
			/* Zeros read past a cut look corrupt: say why. */
			return qshm__truncated(&p->m) ?
				       qshm__truncated_fail(&p->m) : err;
		}
	}

	/* Few stores per record: the store buffer, not the arithmetic, is
	 * what limits a producer writing into lines a consumer just read.
	 * Counts and sequence numbers are worked out at commit. */
	if (pad) {
		/* The pad's own commit word holds MARK already (K1 of the
		 * claim before); the record after it starts a lap. */
		qshm__hdr_write(qshm__rec_at(p, w), pad - QSHM_REC_HDR,
				QSHM_TYPE_PAD);
		w += pad;
		qshm__mark(p, w);
	}
	struct qshm_krec *r = qshm__rec_at(p, w);
	qshm__hdr_write(r, len, type);
	qshm__mark(p, w + need);
	p->f.last_pos = w;
	p->f.claim_pos = w + need;
	qshm__set_limit(p);
	*payload = r + 1;
	return 0;
}

/* What the inline claim in qshm.h falls back to. */
QSHM_EXPORT int qshm__producer_claim_slow(qshm_producer *p, size_t len,
					  uint16_t type, int64_t timeout_ns,
					  void **payload)
{
	return qshm__claim_slow(p, len, type, timeout_ns, payload);
}

/* The library's claim, for callers that bypass the inline one (cffi,
 * QSHM_NO_INLINE, dlsym): the same fast path, behind a call. */
QSHM_EXPORT int (qshm_producer_claim)(qshm_producer *p, size_t len,
				      uint16_t type, int64_t timeout_ns,
				      void **payload)
{
	if (qshm__claim_fast(p, len, type, payload) == 0)
		return 0;
	return qshm__claim_slow(p, len, type, timeout_ns, payload);
}

QSHM_EXPORT int qshm_producer_trim(qshm_producer *p, size_t len)
{
	if (p && qshm__truncated(&p->m)) /* its header may read as zeros */
		return qshm__truncated_fail(&p->m);
	/* The last claim is uncommitted iff it lies at or above committed. */
	if (!p || p->f.claim_pos == p->committed ||
	    p->f.last_pos < p->committed)
		return qshm__fail(EINVAL, "no uncommitted claim to trim");
	struct qshm_krec *r = qshm__rec_at(p, p->f.last_pos);
	/* A batch's length counts the skip before its items. */
	uint64_t skip = r->kr_flags ? qshm__item_skip(p->f.last_pos) : 0;
	if (len == 0 || len > r->kr_len - skip)
		return qshm__fail(EINVAL, "trim to %zu bytes: claim has %llu",
				  len, (unsigned long long)(r->kr_len - skip));
	if (r->kr_flags && len % r->kr_flags)
		return qshm__fail(EINVAL, "trim to %zu bytes: not whole items "
				  "of %u", len, r->kr_flags);
	len += skip;
	r->kr_len = (uint32_t)len;
	p->f.claim_pos = p->f.last_pos + qshm__rec_size(len);
	qshm__mark(p, p->f.claim_pos); /* K1 for the new end */
	/* A claim that ended on a lap boundary set the limit for the next
	 * lap; trimmed, its end is back in this one. */
	qshm__set_limit(p);
	return 0;
}

/* D2 for askers whose process is gone: each slot with a demand tag whose
 * owner (the word the tag names) is dead. A slot that changed hands since
 * has another tag, so the CAS in qshm__slot_undemand() leaves it. */
__attribute__((noinline, cold))
static void qshm__sweep_askers(qshm_producer *p)
{
	uint32_t hwm = qshm__slot_hwm(&p->m, memory_order_relaxed);
	for (uint32_t i = 0; i < hwm; i++) {
		struct qshm_kslot *s = &p->m.kslots[i];
		if (!atomic_load_explicit(&s->kc_fence_demand,
					  memory_order_relaxed))
			continue;
		/* Acquire: pairs with the owner's R3, as E1. */
		uint64_t w = atomic_load_explicit(&s->kc_word,
						  memory_order_acquire);
		uint32_t st = qshm__slot_state(w);
		if (st != QSHM_SLOT_RELIABLE && st != QSHM_SLOT_LOSSY)
			continue;
		uint64_t start = atomic_load_explicit(&s->kc_start,
						      memory_order_relaxed);
		if (!qshm__proc_alive(qshm__slot_pid(w), start))
			qshm__slot_undemand(&p->m, i, qshm__slot_gen(w));
	}
}


/* C3: takes the parked bits first, then bumps the futex word and wakes:
 * every consumer whose bit it took read the word before setting the bit
 * (W0 before W1), so its FUTEX_WAIT sees the bump and cannot sleep through
 * it; a consumer that parks after the take keeps its bit for the next
 * wake. A consumer killed asleep costs this one wake, nothing after. */
__attribute__((noinline, cold))
static void qshm__wake_data(qshm_producer *p, uint32_t nwords)
{
	struct qshm_kwake *kw = p->m.kwake;

	for (uint32_t i = 0; i < nwords; i++)
		if (atomic_load_explicit(&p->m.kparked[i],
					 memory_order_relaxed))
			atomic_exchange_explicit(&p->m.kparked[i], 0,
						 memory_order_seq_cst);
	/* Release: a woken consumer that sees the new futex value also
	 * sees C0/C1. */
	atomic_fetch_add_explicit(&kw->kw_data_futex, 1, memory_order_release);
	qshm__futex_wake(&kw->kw_data_futex, INT_MAX);
	p->wakes++;
	atomic_store_explicit(&p->m.kstats->ks_wakes, p->wakes,
			      memory_order_relaxed);
}

/* C2 (and C3): is any parked bit set? Reads the words of parked bits
 * that cover the slots in use (kp_slot_hwm; one word, one line quiet
 * unless someone parks, while at most 64 slots were ever taken) and wakes
 * if so. fenced: after 2.0's exchange or the demand's fence, seq_cst
 * loads, the second half of the pair with W1/W2 (a relaxed load of the
 * mark could miss one a consumer raised, seq_cst, before its R3, and so
 * skip the word holding its bit); otherwise relaxed, ordered by the
 * consumers' barriers ("Who pays the fence"). Inlined with a constant. */
static inline void qshm__c2(qshm_producer *p, bool fenced)
{
	memory_order mo = fenced ? memory_order_seq_cst : memory_order_relaxed;
	uint32_t nwords = (qshm__slot_hwm(&p->m, mo) + 63) / 64;
	for (uint32_t i = 0; i < nwords; i++)
		if (atomic_load_explicit(&p->m.kparked[i], mo)) {
			qshm__wake_data(p, nwords);
			return;
		}
}

QSHM_EXPORT int qshm_producer_claim_batch(qshm_producer *p, uint32_t count,
					  uint32_t item_len, uint16_t type,
					  int64_t timeout_ns, void **items)
{
	if (count == 0 || item_len == 0 || item_len > UINT16_MAX)
		return qshm__fail(EINVAL, "batch of %u items of %u bytes: "
				  "need 1.. items of 1..65535 bytes", count,
				  item_len);
	/* Room for the items and the largest skip before them: where the
	 * record starts (after a pad, perhaps) is known once claimed. */
	uint64_t len = (uint64_t)count * item_len;
	uint64_t most = len + QSHM_ITEM_ALIGN - QSHM_REC_ALIGN;
	if (p && most > p->m.max_record)
		return qshm__fail(QSHM_ETOOBIG, "ring '%s': batch of %llu "
				  "bytes (and up to %d to align its items), "
				  "maximum %llu", p->m.name,
				  (unsigned long long)len,
				  QSHM_ITEM_ALIGN - QSHM_REC_ALIGN,
				  (unsigned long long)p->m.max_record);
	void *payload;
	int err = qshm_producer_claim(p, (size_t)most, type, timeout_ns,
				      &payload);
	if (err)
		return err;
	/* Our own header, claimed just now: the length down to the skip
	 * and the items (the next record's MARK moves with it, K1), and the
	 * item length in its flags field (0 for a single message). */
	struct qshm_krec *r = (struct qshm_krec *)payload - 1;
	uint64_t skip = qshm__item_skip(p->f.last_pos);
	r->kr_len = (uint32_t)(skip + len);
	r->kr_flags = (uint16_t)item_len;
	p->f.claim_pos = p->f.last_pos + qshm__rec_size(skip + len);
	qshm__mark(p, p->f.claim_pos);
	qshm__set_limit(p);
	*items = (unsigned char *)payload + skip;
	return 0;
}

/*
 * The lines of the next two spans, for a producer that commits spans of
 * one size: it writes them next, and their stores then find them in its
 * cache, owned, instead of each waiting in the store buffer for the
 * consumer's copy to be taken back (a line a consumer read a lap ago).
 * The second span's lines are on their way while the first is written;
 * the first's were asked for by the commit before (asked again: a line
 * already owned costs nothing, one whose prefetch was dropped comes now).
 * Only lines claims may already reuse (below the inline bound, so no
 * consumer still reads them), at most QSHM_PREFETCH_LINES of them. A
 * hint: it changes no byte and orders nothing.
 */
static inline void qshm__prefetch_ahead(qshm_producer *p, uint64_t span)
{
	/* Spans of more than QSHM_PREFETCH_LINES lines (large records):
	 * the window would cover a sliver of what comes next, and the
	 * hardware's own prefetcher follows long runs of stores. */
	if (__builtin_expect(!p->prefetch, 0) ||
	    span > QSHM_PREFETCH_LINES * QSHM_CACHELINE)
		return;
	uint64_t from = p->f.claim_pos;
	uint64_t to = from + 2 * span;
	if (2 * span > QSHM_PREFETCH_LINES * QSHM_CACHELINE)
		to = from + QSHM_PREFETCH_LINES * QSHM_CACHELINE;
	/* Whole lines: the last one must lie below the bound too. */
	to = (to + QSHM_CACHELINE - 1) & ~(uint64_t)(QSHM_CACHELINE - 1);
	if (to + QSHM_REC_HDR > p->f.limit)
		return;
	for (uint64_t a = from & ~(uint64_t)(QSHM_CACHELINE - 1); a < to;
	     a += QSHM_CACHELINE)
		qshm__prefetch_write(p->m.kdata + (a & p->m.mask));
}

QSHM_EXPORT int qshm_producer_commit(qshm_producer *p)
{
	if (!p)
		return qshm__fail(EINVAL, "NULL producer");
	if (qshm__truncated(&p->m)) {
		qshm__set_limit(p); /* 0: claims go to the library */
		return qshm__truncated_fail(&p->m);
	}
	if (p->f.claim_pos == p->committed)
		return 0;
	/* C0: each record's commit word, in order, with release: pairs with
	 * A4 in the consumer (acquire load of the word it expects): the
	 * record's header and payload, written before, are visible. Our own
	 * headers, written by claim(): trusted without checks. The walk
	 * loads headers just written (in L1); remembering the positions at
	 * claim instead would cost stores there, which cost more. */
	uint64_t seq = p->commit_seq, bytes = 0, key = p->m.seq_key;
	/* A matching pair: a length read from the ring always gives a
	 * size of at least 16, so the walk ends whatever a consumer with
	 * write access scribbled on these headers. */
	uint32_t plen = 0;
	uint64_t psize = qshm__rec_size(0);
	for (uint64_t pos = p->committed; pos < p->f.claim_pos;) {
		struct qshm_krec *r = qshm__rec_at(p, pos);
		uint32_t len = r->kr_len;
		/* The next position by a predicted branch rather than from the
		 * loaded length: records of one size (the common case) then do
		 * not wait for each header load in turn. */
		uint64_t size = psize;
		if (__builtin_expect(len != plen, 0)) {
			plen = len;
			psize = size = qshm__rec_size(len);
			__asm__ __volatile__("" : "+r"(size)); /* no cmov */
		}
		/* The first record of each 1/16th of the ring, for the head
		 * (qshm__advance_head()). */
		uint64_t seg = pos >> p->seg_shift;
		if (seg != p->checkpoint_seg) {
			p->checkpoint[seg & 15] = pos;
			p->checkpoint_seg = seg;
		}
		atomic_store_explicit(&r->kr_commit, seq ^ key,
				      memory_order_release);
		if (r->kr_type != QSHM_TYPE_PAD) {
			seq++;
			bytes += len;
		}
		pos += size;
	}
	p->commit_seq = seq;
	uint64_t span = p->f.claim_pos - p->committed;
	p->committed = p->f.claim_pos;
	qshm__set_limit(p);
	p->records = seq; /* seq counts every record ever committed */
	p->bytes += bytes;
	/* Counters for inspectors: relaxed, a snapshot is all they need. */
	atomic_store_explicit(&p->m.kstats->ks_records, p->records,
			      memory_order_relaxed);
	atomic_store_explicit(&p->m.kstats->ks_bytes, p->bytes,
			      memory_order_relaxed);
	/* C1: publish the records; pairs with A2 (consumer's acquire load of
	 * kp_write_pos): the record bytes written above are visible to a
	 * consumer that sees the new position. */
	if (__builtin_expect(p->asym && qshm__barrier_ok(), 1)) {
		/* Format 3, QSHM_FEAT_ASYM_FENCE: C1 a release store. */
		atomic_store_explicit(&p->m.kprod->kp_write_pos, p->committed,
				      memory_order_release);
		/* The argument needs C1 before C1d and C2 in the emitted
		 * instructions (the barrier splits those): C11 would let the
		 * compiler hoist relaxed loads above a release store; this
		 * fence forbids it and emits nothing. */
		atomic_signal_fence(memory_order_seq_cst);
		/* We asked consumers to fence their releases while we waited
		 * for space (S1d); a stream that has not filled the ring for
		 * a while stops asking. */
		if (__builtin_expect(p->space_fence, 0) &&
		    p->records - p->space_mark >= QSHM_DEMAND_DROP_RECORDS) {
			atomic_store_explicit(&p->m.kwake->kw_release_fence, 0,
					      memory_order_relaxed);
			p->space_fence = p->space_ok = 0;
		}
		/* C1d: does a consumer ask for the fence (it sleeps, or has
		 * slept, waiting for records)? Relaxed, after C1 in program
		 * order: a consumer raises the count (D1), then issues the
		 * barrier (W1b); a load after that barrier sees the raise,
		 * and a C1 before it is visible to that consumer's W2 and
		 * every later one (docs/protocol.md, "Who pays the fence").
		 * In the producer line's second line, which commits only
		 * load. */
		if (__builtin_expect(atomic_load_explicit(
					     &p->m.kprod->kp_fence_demand,
					     memory_order_relaxed) == 0, 1)) {
			/* C2 without a fence: nobody sleeps that has not
			 * covered this commit with its barrier. */
			qshm__c2(p, false);
			qshm__prefetch_ahead(p, span);
			return 0;
		}
		/* Asked for: 2.0's order, C1 then a full fence then C2. */
		atomic_thread_fence(memory_order_seq_cst);
		/* Now and then, take back the demand of askers that died
		 * (lossy ones are never evicted, so nobody else would). */
		if (__builtin_expect(++p->fenced_commits %
					     QSHM_DEMAND_DROP_RECORDS == 0, 0))
			qshm__sweep_askers(p);
	} else {
		/* Format 2.0's order (QSHM_FENCE=full, or no membarrier):
		 * an exchange, seq_cst: with the seq_cst loads of C2 it is
		 * the producer's half of the no-lost-wake-up rule, paired
		 * with W1/W2 (bit set, then write_pos re-checked, all
		 * seq_cst): one locked instruction on x86 instead of a store
		 * and a full fence. */
		atomic_exchange_explicit(&p->m.kprod->kp_write_pos,
					 p->committed, memory_order_seq_cst);
	}
	qshm__c2(p, true);
	qshm__prefetch_ahead(p, span);
	return 0;
}

QSHM_EXPORT int qshm_producer_publish(qshm_producer *p, uint16_t type,
				      const void *data, size_t len,
				      int64_t timeout_ns)
{
	void *buf;
	int err = qshm_producer_claim(p, len, type, timeout_ns, &buf);

	if (err)
		return err;
	memcpy(buf, data, len);
	return qshm_producer_commit(p);
}

QSHM_EXPORT uint64_t qshm_producer_max_record(qshm_producer *p)
{
	return p ? p->m.max_record : 0;
}

QSHM_EXPORT int qshm_producer_consumers(qshm_producer *p)
{
	uint32_t n = 0;

	if (!p)
		return qshm__fail(EINVAL, "NULL producer");
	qshm__scan_min(&p->m, &n);
	return (int)n;
}

/* Waits for cond(p) with the producer's wait mode; polls every 1 ms at
 * most while sleeping (used by the slow, rare calls below). */
static int qshm__poll_until(qshm_producer *p, int (*cond)(qshm_producer *),
			    int64_t timeout_ns)
{
	uint64_t deadline = qshm__deadline(timeout_ns);
	uint64_t next_check = 0;

	for (;;) {
		if (qshm__truncated(&p->m))
			return qshm__truncated_fail(&p->m);
		if (cond(p))
			return 0;
		uint64_t now = qshm__now_ns();
		if (now >= next_check) {
			qshm__evict_dead(p, UINT64_MAX);
			next_check = now + QSHM_LIVENESS_NS;
			if (cond(p))
				return 0;
		}
		if (timeout_ns == 0)
			return -EAGAIN;
		if (now >= deadline)
			return -ETIMEDOUT;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

static int qshm__enough_consumers(qshm_producer *p)
{
	return qshm_producer_consumers(p) >= (int)p->want_consumers;
}

QSHM_EXPORT int qshm_producer_wait_consumers(qshm_producer *p, int n,
					     int64_t timeout_ns)
{
	if (!p || n < 0)
		return qshm__fail(EINVAL, "bad arguments");
	p->want_consumers = (uint32_t)n;
	return qshm__poll_until(p, qshm__enough_consumers, timeout_ns);
}

static int qshm__drained(qshm_producer *p)
{
	return qshm__scan_min(&p->m, NULL) >= p->committed;
}

QSHM_EXPORT int qshm_producer_drain(qshm_producer *p, int64_t timeout_ns)
{
	if (!p)
		return qshm__fail(EINVAL, "NULL producer");
	qshm_producer_commit(p);
	return qshm__poll_until(p, qshm__drained, timeout_ns);
}

QSHM_EXPORT int qshm_producer_stats(qshm_producer *p,
				    struct qshm_producer_stats *st)
{
	if (!p || !st)
		return qshm__fail(EINVAL, "NULL argument");
	st->records = p->records;
	st->bytes = p->bytes;
	st->full_waits = p->full_waits;
	st->wakes = p->wakes;
	st->evictions = p->evictions;
	return 0;
}

/*
 * The capacity less what is claimed and not yet released by the slowest
 * reliable consumer, less the next record's header. Reads the slots only
 * (acquire, pairing with the consumers' releases as the claim's scan
 * does); changes nothing the claims rely on (cached_min, limit).
 */
QSHM_EXPORT int qshm_producer_room(qshm_producer *p, uint64_t *bytes)
{
	if (!p || !bytes)
		return qshm__fail(EINVAL, "qshm_producer_room: NULL argument");
	uint64_t cap = p->m.capacity;
	uint64_t low = qshm__scan_min(&p->m, NULL);
	if (low > p->f.claim_pos)
		low = p->f.claim_pos; /* no reliable consumer */
	uint64_t used = p->f.claim_pos - low + QSHM_REC_HDR;
	*bytes = used >= cap ? 0 : cap - used;
	return 0;
}

QSHM_EXPORT uint64_t *qshm_producer_user_counter(qshm_producer *p,
						 unsigned index)
{
	if (!p || index >= QSHM_USER_COUNTERS)
		return NULL;
	/* Lock-free _Atomic uint64_t has the representation of uint64_t;
	 * writers store with plain 64-bit aligned stores, which are single
	 * copy atomic on every target this format supports. */
	return (uint64_t *)&p->m.kstats->ks_user[index];
}

QSHM_EXPORT int qshm_producer_close(qshm_producer *p, unsigned flags)
{
	int err = 0;

	if (!p)
		return qshm__fail(EINVAL, "NULL producer");
	if (flags & ~QSHM_CLOSE_UNLINK)
		return qshm__fail(EINVAL, "unknown close flags 0x%x", flags);
	qshm_producer_commit(p);
	/* C4: mark closed after the last commit; pairs with A3 in the
	 * consumer, which re-reads kp_write_pos after seeing it, so nothing
	 * committed is missed. */
	atomic_store_explicit(&p->m.kprod->kp_closed, 1, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	/* Unconditional: the closed flag is not covered by C2/C3. */
	atomic_fetch_add_explicit(&p->m.kwake->kw_data_futex, 1,
				  memory_order_release);
	qshm__futex_wake(&p->m.kwake->kw_data_futex, INT_MAX);
	if (flags & QSHM_CLOSE_UNLINK)
		err = qshm_unlink(p->m.name);
	if (!err && qshm__truncated(&p->m))
		err = qshm__truncated_fail(&p->m);
	qshm__map_release(&p->m);
	free(p);
	return err;
}
