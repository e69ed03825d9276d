/* SPDX-License-Identifier: MIT */
/*
 * consumer.c - the consumer side: attach and register, read in place,
 * release, lossy validation, waiting, noticing a dead producer.
 *
 * Labels (A*, R*, V*, W*) are those of docs/protocol.md; each names the
 * producer operation it pairs with.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "internal.h"

void qshm__unpark_slot(struct qshm_map *m, uint32_t i)
{
	/* U1: clearing is idempotent: whoever clears first, nothing is
	 * counted twice. seq_cst like W1. */
	atomic_fetch_and_explicit(&m->kparked[i / 64], ~(UINT64_C(1) << (i % 64)),
				  memory_order_seq_cst);
}

/* Changes the shared count by delta (+1, -1) with a bounded CAS loop
 * that never wraps: a count a hostile writer set to 0 or UINT32_MAX stays
 * there rather than wrap to a value that could reach 0 under a live
 * asker. Returns 0, or -EAGAIN if the loop gave up (a writer that keeps
 * changing the word). seq_cst, as D1. */
static int qshm__demand_add(struct qshm_map *m, int delta)
{
	_Atomic uint32_t *d = &m->kprod->kp_fence_demand;
	uint32_t v = atomic_load_explicit(d, memory_order_relaxed);
	for (int tries = 0; tries < 1000; tries++) {
		if ((delta < 0 && v == 0) || (delta > 0 && v == UINT32_MAX))
			return 0;
		if (atomic_compare_exchange_weak_explicit(
			    d, &v, v + (uint32_t)delta, memory_order_seq_cst,
			    memory_order_relaxed))
			return 0;
	}
	return -EAGAIN;
}

/* D2: takes back the fence demand of the owner of slot i whose registered
 * word had generation gen: a CAS from its exact tag, so only one taker
 * (the owner that stops asking or closes, the evictor, the taker of the
 * slot, the producer's sweep of dead askers) lowers the count, and never
 * for the slot's next owner, whose tag differs. */
void qshm__slot_undemand(struct qshm_map *m, uint32_t i, uint64_t gen)
{
	uint32_t tag = qshm__demand_tag(gen);
	if (atomic_compare_exchange_strong_explicit(
		    &m->kslots[i].kc_fence_demand, &tag, 0,
		    memory_order_seq_cst, memory_order_relaxed))
		qshm__demand_add(m, -1);
}

void qshm__slot_cleanup(struct qshm_map *m, uint32_t i, uint64_t gen)
{
	qshm__unpark_slot(m, i);
	qshm__slot_undemand(m, i, gen);
}

/* Is the owner recorded in slot word w dead? kc_start is the owner's only
 * if it registered (RELIABLE, LOSSY: R3 published it) or, for a CLAIMED
 * slot, if kc_start_gen says its claim wrote it; otherwise only "no such
 * process" counts. */
static int qshm__slot_owner_dead(struct qshm_kslot *s, uint64_t w)
{
	pid_t pid = qshm__slot_pid(w);

	/* kc_start_gen first (acquire, pairs with T2), then kc_start: a
	 * generation that matches then vouches for the start time read
	 * after it. (Read the other way round, the start time could be the
	 * previous owner's and a live attacher's slot would look dead.) */
	if (qshm__slot_state(w) == QSHM_SLOT_CLAIMED &&
	    atomic_load_explicit(&s->kc_start_gen, memory_order_acquire) !=
		    (uint32_t)qshm__slot_gen(w))
		return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
	uint64_t start = atomic_load_explicit(&s->kc_start,
					      memory_order_relaxed);
	return !qshm__proc_alive(pid, start);
}

static int qshm__slot_take(qshm_consumer *c, uint32_t *idx)
{
	struct qshm_map *m = &c->m;
	int32_t me = (int32_t)getpid();

	/* Pass 1: free slots, and slots of evicted consumers. Pass 2: slots
	 * whose owner died (registered, or dead while claiming). Each take
	 * is a CAS from the exact word looked at (T1), so two takers of one
	 * dead owner's slot cannot both win. */
	for (int pass = 1; pass <= 2; pass++) {
		for (uint32_t i = 0; i < m->max_consumers; i++) {
			struct qshm_kslot *s = &m->kslots[i];
			/* Acquire: pairs with R3 / the release of close,
			 * so kc_start below is the recorded owner's. */
			uint64_t w = atomic_load_explicit(
				&s->kc_word, memory_order_acquire);
			uint32_t st = qshm__slot_state(w);
			if (pass == 1 && st != QSHM_SLOT_FREE &&
			    st != QSHM_SLOT_EVICTED)
				continue;
			if (pass == 2 && ((st != QSHM_SLOT_RELIABLE &&
					   st != QSHM_SLOT_LOSSY &&
					   st != QSHM_SLOT_CLAIMED) ||
					  !qshm__slot_owner_dead(s, w)))
				continue;
			/* T1: acq_rel: our later slot stores come after the
			 * take; pairs with the release of the previous
			 * owner's close or with E2. */
			uint64_t nw = qshm__slot_next(w, QSHM_SLOT_CLAIMED, me);
			if (!atomic_compare_exchange_strong_explicit(
				    &s->kc_word, &w, nw, memory_order_acq_rel,
				    memory_order_relaxed))
				continue;
			/* A dead owner may have died parked, or asking
			 * for fences: its demand carries the generation of
			 * its registered word, w's, or for an evicted slot
			 * the one before (E2 added one). */
			qshm__slot_cleanup(m, i,
					   st == QSHM_SLOT_EVICTED ?
						   qshm__slot_gen(w) - 1 :
						   qshm__slot_gen(w));
			c->slot_word = nw;
			*idx = i;
			return 0;
		}
	}
	return qshm__fail(QSHM_ENOSLOT, "ring '%s': all %u consumer slots "
			  "are taken", m->name, m->max_consumers);
}

/* Registers c in a claimed slot; see "Registration" in docs/protocol.md. */
static int qshm__register(qshm_consumer *c, uint32_t idx)
{
	struct qshm_kslot *s = &c->m.kslots[idx];
	struct qshm_kprod *kp = c->m.kprod;
	struct timespec ts;
	uint64_t start = 0, r;

	qshm__proc_start(getpid(), &start);
	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store_explicit(&s->kc_start, start, memory_order_relaxed);
	/* T2: release: a taker that sees this generation here sees our
	 * kc_start (its acquire in qshm__slot_owner_dead pairs). */
	atomic_store_explicit(&s->kc_start_gen,
			      (uint32_t)qshm__slot_gen(c->slot_word),
			      memory_order_release);
	atomic_store_explicit(&s->kc_attach_ns, (uint64_t)ts.tv_sec *
			      1000000000u + (uint64_t)ts.tv_nsec,
			      memory_order_relaxed);
	atomic_store_explicit(&s->kc_lost, 0, memory_order_relaxed);
	atomic_store_explicit(&s->kc_records, 0, memory_order_relaxed);
	/* Start position; acquire pairs with C1 (newest) or P1 (oldest). */
	if (c->flags & QSHM_CONSUMER_FROM_NEWEST)
		r = atomic_load_explicit(&kp->kp_write_pos,
					 memory_order_acquire);
	else
		r = atomic_load_explicit(&kp->kp_head_pos,
					 memory_order_acquire);
	atomic_store_explicit(&s->kc_read_pos, r, memory_order_relaxed);
	/* Raise the scan mark to cover this slot, before R3 (seq_cst, like
	 * the producer's load of it): any scan late enough to need to see
	 * this consumer (after its P2 sees R4) also sees the mark. */
	uint32_t hwm = atomic_load_explicit(&kp->kp_slot_hwm,
					    memory_order_relaxed);
	while (hwm < idx + 1 &&
	       !atomic_compare_exchange_weak_explicit(
		       &kp->kp_slot_hwm, &hwm, idx + 1, memory_order_seq_cst,
		       memory_order_relaxed))
		;
	/* R3: become visible to the producer's scans (A1 pairs with it).
	 * A CAS from our claimed word: a taker can only have replaced it if
	 * it judged us dead, which we are not; if it did, all the same,
	 * this fails and registers nothing. */
	uint64_t w = c->slot_word;
	uint64_t nw = qshm__slot_next(w, c->lossy ? QSHM_SLOT_LOSSY :
				      QSHM_SLOT_RELIABLE, qshm__slot_pid(w));
	if (!atomic_compare_exchange_strong_explicit(&s->kc_word, &w, nw,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		/* Someone judged us dead (it cannot be: kill(2) saw us) and
		 * took the slot: it is theirs now, leave it be. */
		return qshm__fail(QSHM_ENOSLOT, "ring '%s': slot %u was "
				  "taken over while this consumer registered",
				  c->m.name, idx);
	c->slot_word = nw;
	/* R4: tell a producer that is not scanning that it must (P2). */
	atomic_fetch_add_explicit(&kp->kp_epoch, 1, memory_order_seq_cst);
	/* R5: pairs with P1. Either the producer's P2 sees R4 and its scan
	 * sees us, or this load sees every head it has announced: start
	 * at or above it, where nothing has been overwritten. */
	uint64_t h = atomic_load_explicit(&kp->kp_head_pos,
					  memory_order_seq_cst);
	if (h > r) {
		r = h;
		atomic_store_explicit(&s->kc_read_pos, r,
				      memory_order_release);
	}
	c->pos = c->released = r;
	c->cached_wp = r;
	/* At position 0 the next record is the run's first: losses count
	 * from seq 0. Elsewhere they count from the first record read. */
	c->have_seq = r == 0;
	c->expected_seq = 0;
	atomic_store_explicit(&s->kc_next_seq, r == 0 ? 0 : QSHM_SEQ_UNKNOWN,
			      memory_order_relaxed);
	return 0;
}

/* The lead a streaming wait lets the producer take (qshm__wait_data()):
 * QSHM_STREAM_LEAD, at most an eighth of the ring. QSHM_STREAM_LEAD=0 in
 * the environment turns it off (to measure what it buys). */
static uint64_t qshm__stream_lead(uint64_t capacity)
{
	const char *env = getenv("QSHM_STREAM_LEAD");
	uint64_t lead = QSHM_STREAM_LEAD;
	if (env && *env) {
		char *end;
		unsigned long long v = strtoull(env, &end, 10);
		if (*end == '\0')
			lead = v;
	}
	return capacity / 8 < lead ? capacity / 8 : lead;
}

QSHM_EXPORT int qshm_consumer_attach(const char *name, unsigned flags,
				     qshm_consumer **out)
{
	qshm_consumer *c;
	uint32_t idx = 0;
	int err;

	if (!out)
		return qshm__fail(EINVAL, "out is NULL");
	*out = NULL;
	if (flags & ~QSHM_CONSUMER_FLAGS_MASK)
		return qshm__fail(EINVAL, "unknown consumer flags 0x%x",
				  flags & ~QSHM_CONSUMER_FLAGS_MASK);
	c = calloc(1, sizeof(*c));
	if (!c)
		return qshm__fail(ENOMEM, "consumer handle");
	c->flags = flags;
	c->lossy = !!(flags & (QSHM_CONSUMER_LOSSY | QSHM_CONSUMER_READONLY));
	c->slot = -1;
	c->overrun_pos = UINT64_MAX;
	c->prod_pidfd = -1;
	c->ro_poll_ns = QSHM_RO_POLL_MIN_NS;
	c->mode = QSHM_WAIT_SPIN_PARK;
	c->spin_ns = QSHM_DEFAULT_SPIN_NS;
	err = qshm__map_attach(name, (flags & QSHM_CONSUMER_READONLY) ?
			       QSHM__MAP_READONLY : 0, &c->m);
	if (err) {
		free(c);
		return err;
	}
	if (flags & QSHM_CONSUMER_READONLY) {
		struct qshm_kprod *kp = c->m.kprod;
		/* Acquire: pairs with C1 / P1; no slot, nothing written. */
		c->pos = (flags & QSHM_CONSUMER_FROM_NEWEST) ?
			 atomic_load_explicit(&kp->kp_write_pos,
					      memory_order_acquire) :
			 atomic_load_explicit(&kp->kp_head_pos,
					      memory_order_acquire);
		c->released = c->cached_wp = c->pos;
		c->have_seq = c->pos == 0;
	} else {
		if (c->m.features & QSHM_FEAT_ASYM_FENCE) {
			/* Format 3's waiters issue the barrier before they
			 * sleep (W1b); registering lets our releases skip
			 * the fence (R1), but is not needed to issue it. */
			qshm__barrier_setup();
			c->asym = 1;
			err = qshm__barrier();
			if (err) {
				qshm__map_release(&c->m);
				free(c);
				return qshm__fail(-err, "ring '%s': its producer "
						  "commits without a fence and "
						  "relies on its consumers' "
						  "membarrier(2), which fails "
						  "here; run the producer with "
						  "QSHM_FENCE=full", name);
			}
		}
		err = qshm__slot_take(c, &idx);
		if (err) {
			qshm__map_release(&c->m);
			free(c);
			return err;
		}
		c->slot = (int)idx;
		err = qshm__register(c, idx);
		if (err) {
			qshm__map_release(&c->m);
			free(c);
			return err;
		}
	}
	c->prod_pidfd = qshm__pidfd_open(c->m.creator_pid,
					 c->m.creator_start);
	/* Lossy consumers keep no distance: a lead is room they would not
	 * have before the producer laps them. */
	c->lead = c->lossy ? 0 : qshm__stream_lead(c->m.capacity);
	qshm__clear_error();
	*out = c;
	return 0;
}

QSHM_EXPORT int qshm_consumer_set_wait(qshm_consumer *c,
				       enum qshm_wait_mode mode,
				       uint64_t spin_ns)
{
	if (!c || (unsigned)mode > QSHM_WAIT_BLOCK)
		return qshm__fail(EINVAL, "bad wait mode %d", (int)mode);
	c->mode = mode;
	c->spin_ns = spin_ns ? spin_ns : QSHM_DEFAULT_SPIN_NS;
	return 0;
}

static inline struct qshm_kslot *qshm__my_slot(qshm_consumer *c)
{
	return c->slot >= 0 ? &c->m.kslots[c->slot] : NULL;
}

/* The terminal states, checked only when there is nothing to read. */
static int qshm__check_end(qshm_consumer *c, uint64_t now)
{
	struct qshm_kprod *kp = c->m.kprod;
	struct qshm_kslot *s = qshm__my_slot(c);

	if (s && !c->lossy &&
	    atomic_load_explicit(&s->kc_word, memory_order_relaxed) !=
		    c->slot_word) {
		/* That load may be the one that found the segment cut (the
		 * guard's zero page reads as a free slot): say so. */
		if (qshm__truncated(&c->m))
			return c->gone = qshm__truncated_fail(&c->m);
		return c->gone = qshm__fail(QSHM_EEVICTED, "ring '%s': this "
					    "consumer was evicted", c->m.name);
	}
	/* A3: pairs with C4: once closed is seen, the final write_pos is
	 * visible to the load below. */
	if (atomic_load_explicit(&kp->kp_closed, memory_order_acquire)) {
		c->cached_wp = atomic_load_explicit(&kp->kp_write_pos,
						    memory_order_acquire);
		if (c->cached_wp <= c->pos)
			return c->gone = -QSHM_ECLOSED;
		return 0;
	}
	if (now >= c->next_check_ns) {
		c->next_check_ns = now + QSHM_LIVENESS_NS;
		int alive = c->prod_pidfd >= 0 ?
			    qshm__pidfd_alive(c->prod_pidfd) :
			    qshm__proc_alive(c->m.creator_pid,
					     c->m.creator_start);
		if (!alive) {
			/* Dead: whatever it committed is all there will be.
			 * A claimed, uncommitted record is never visible. */
			c->cached_wp = atomic_load_explicit(
				&kp->kp_write_pos, memory_order_acquire);
			if (c->cached_wp <= c->pos)
				return c->gone = qshm__fail(
					QSHM_EPRODUCERDEAD, "ring '%s': "
					"producer pid %d is gone", c->m.name,
					c->m.creator_pid);
		}
	}
	return 0;
}

/* W0/W1: announces c as a sleeper; returns the futex value to wait on.
 * Pairs with C2 in commit (C1 exchange, then the parked bits): see W2. */
static uint32_t qshm__announce(qshm_consumer *c)
{
	uint32_t i = (uint32_t)c->slot;

	/* W0: the futex value before the announcement: a waker that takes
	 * our bit (C3) bumps the word after taking it, so the FUTEX_WAIT on
	 * v cannot sleep through that bump. */
	uint32_t v = atomic_load_explicit(&c->m.kwake->kw_data_futex,
					  memory_order_seq_cst);
	/* W1: one atomic operation: a process killed at any instruction
	 * leaves either no bit or a bit the next wake takes. */
	atomic_fetch_or_explicit(&c->m.kparked[i / 64], UINT64_C(1) << (i % 64),
				 memory_order_seq_cst);
	c->sleeping = 1;
	return v;
}

/* D1 (format 3, QSHM_FEAT_ASYM_FENCE), after W1: a producer commits
 * without a fence unless a consumer asks for it (kp_fence_demand, C1d).
 * The first wait asks: raises the count, then its slot's flag (killed in
 * between, the count stays raised: the producer fences for good, slower
 * but never wrong), and returns 1: the caller issues the barrier (W1b)
 * before W2. Once a barrier has returned 0 after the raise, waits need
 * none: every commit whose load of the count (C1d) comes after that
 * barrier sees the raise and fences, and the C1 of any commit whose C1d
 * came before it, earlier in program order, was made visible by it. So
 * each wait is the 2.0 Dekker pair (W1 then W2 against C1, fence, C2) or
 * finds C1 with W2. */
int qshm__demand(qshm_consumer *c)
{
	if (!c->asym || c->demand_ok)
		return 0;
	if (!c->demanding &&
	    qshm__demand_add(&c->m, +1) == 0) {
		/* A hostile writer that defeats the raise leaves this wait
		 * (and every later one) to its own barrier: still correct. */
		atomic_store_explicit(&c->m.kslots[c->slot].kc_fence_demand,
				      qshm__demand_tag(qshm__slot_gen(
					      c->slot_word)),
				      memory_order_seq_cst);
		c->demanding = 1;
	}
	return 1;
}

/* After the barrier a demand needed: 0 makes the demand sure (if it was
 * raised); a failure leaves the next wait to try again, and this one only
 * short sleeps. Returns the longest sleep that is safe. */
static uint64_t qshm__demand_barrier(qshm_consumer *c, int err)
{
	if (err)
		return QSHM_NOBARRIER_SLICE_NS;
	c->demand_ok = c->demanding;
	return QSHM_SLEEP_SLICE_NS;
}

/* A consumer that keeps up again (QSHM_DEMAND_DROP_RECORDS read since its
 * last sleep) stops asking: commits go back to no fence. Never while
 * announced (wait_prepare without wait_finish yet): that wait relies on
 * the demand. */
static void qshm__undemand(qshm_consumer *c)
{
	c->demanding = c->demand_ok = 0;
	qshm__slot_undemand(&c->m, (uint32_t)c->slot,
			    qshm__slot_gen(c->slot_word));
}

static void qshm__unannounce(qshm_consumer *c)
{
	if (!c->sleeping)
		return;
	c->sleeping = 0;
	qshm__unpark_slot(&c->m, (uint32_t)c->slot);
}

/* W2: after W1, is there anything to read? Either these seq_cst loads see
 * the producer's C0/C1, or its C2 (after the C1 exchange, a load of the
 * parked bits) sees W1 and it bumps the futex word (C3), so a FUTEX_WAIT on the value read
 * in W1 returns at once. (Close, C4, bumps the word unconditionally.) */
static int qshm__data_there(qshm_consumer *c)
{
	struct qshm_kprod *kp = c->m.kprod;

	if (c->pos & (QSHM_REC_ALIGN - 1))
		return 1; /* corrupt: read() says so */
	if (c->have_seq) {
		const struct qshm_krec *kr = (const struct qshm_krec *)
			(c->m.kdata + (c->pos & c->m.mask));
		if (atomic_load_explicit(&kr->kr_commit,
					 memory_order_seq_cst) ==
		    (c->expected_seq ^ c->m.seq_key))
			return 1;
	}
	return atomic_load_explicit(&kp->kp_write_pos, memory_order_seq_cst) >
	       c->pos;
}

/* Sleeps on the data futex until something may have changed. */
static void qshm__park(qshm_consumer *c, uint64_t now, uint64_t deadline)
{
	uint32_t v = qshm__announce(c);
	uint64_t max_slice = QSHM_SLEEP_SLICE_NS;
	if (qshm__demand(c))
		max_slice = qshm__demand_barrier(c, qshm__barrier());

	if (!qshm__data_there(c) &&
	    !atomic_load_explicit(&c->m.kprod->kp_closed,
				  memory_order_seq_cst)) {
		uint64_t slice = max_slice;
		if (deadline - now < slice)
			slice = deadline - now;
		if (c->next_check_ns > now && c->next_check_ns - now < slice)
			slice = c->next_check_ns - now;
		c->demand_mark = c->records; /* slept: D2 counts from here */
		qshm__futex_wait(&c->m.kwake->kw_data_futex, v,
				 slice ? slice : 1);
	}
	qshm__unannounce(c);
}

/* Nothing to read: wait per mode. Returns 0 to look again, or an error. */
static int qshm__wait_data(qshm_consumer *c, int64_t timeout_ns,
			   uint64_t *deadline, uint64_t *spin_end)
{
	uint64_t now;

	if (c->gone)
		return c->gone;
	if (qshm__truncated(&c->m))
		return qshm__truncated_fail(&c->m);
	/* How to spin, chosen when a read first finds nothing after reading
	 * records: a consumer that read one record since it last found the
	 * ring empty is in a ping-pong and waits for one record, written in
	 * one burst: polling its commit word sees it one line transfer
	 * sooner. One that read more is streaming behind a producer filling
	 * batches: polling kp_write_pos leaves the producer's lines alone
	 * (qshm-ring-bench: lat.qshm_busy and tput.qshm_64). A read that
	 * finds nothing again without reading (a poll with timeout 0, then a
	 * wait) keeps the choice. Either is correct; this is only speed. */
	if (!*deadline && c->records != c->run_mark) {
		/* By bytes, not records: one batch record of many items is
		 * a stream, and polling its successor's commit word would
		 * take from the producer the line it is writing. */
		c->poll_word = c->have_seq && c->records - c->run_mark <= 1 &&
			       c->pos - c->run_pos <= QSHM_PINGPONG_BYTES;
		c->run_mark = c->records;
		c->run_pos = c->pos;
	}
	/* While spinning (busy mode, or spin-then-park before its spin time
	 * is up), look at the clock and at the shared end-of-stream state
	 * only every QSHM_SPIN_ROUND-th time: each look costs, and the
	 * producer's line would bounce. */
	if (timeout_ns != 0 && *deadline && c->last_now < *spin_end) {
		if (c->poll_word) {
			/* Ping-pong: read() looks at the commit word again,
			 * in the line that brings the record with it. */
			if (++c->empty_polls & (QSHM_SPIN_ROUND - 1)) {
				qshm__cpu_relax();
				return 0;
			}
		} else {
			/* Streaming: spin on the producer's published
			 * position (A2: acquire, pairs with C1), not on the
			 * commit word: that word sits in the line the
			 * producer is filling, and each look would take the
			 * line from the producer mid-write. kp_write_pos
			 * changes once per commit, so its line moves once
			 * per batch.
			 * And keep a distance: read on once the producer is
			 * more than c->lead bytes ahead; before that only
			 * when the wait has lasted QSHM_STREAM_WAIT_NS (the
			 * clock is read at the end of each round of polls),
			 * or after a round in which the producer published
			 * nothing (it has stopped: read what there is). A
			 * consumer reading right behind the producer takes
			 * lines the producer is writing or about to write
			 * (its loads, and its hardware prefetcher's ahead of
			 * them), and the producer's stores then wait for
			 * those lines to come back; read in larger chunks,
			 * further behind, both sides go faster
			 * (docs/protocol.md, "A streaming consumer keeps its
			 * distance"). A wait past its time for the lead reads
			 * at once. */
			uint64_t lead = c->last_now < c->lead_until ?
						c->lead : 0;
			for (uint64_t seen = c->pos;;) {
				uint64_t wp;
				do {
					wp = atomic_load_explicit(
						&c->m.kprod->kp_write_pos,
						memory_order_acquire);
					if (wp > c->pos && wp - c->pos > lead) {
						c->cached_wp = wp;
						return 0;
					}
					qshm__cpu_relax();
				} while (++c->empty_polls &
					 (QSHM_SPIN_ROUND - 1));
				if (wp <= c->pos || wp == seen)
					break;
				seen = wp;
				now = c->last_now = qshm__now_ns();
				if (now >= c->lead_until || now >= *deadline ||
				    now >= *spin_end)
					break;
			}
		}
	}
	now = c->last_now = qshm__now_ns();
	int err = qshm__check_end(c, now);
	if (err || c->cached_wp > c->pos)
		return err;
	/* Now and then (every QSHM_SPIN_ROUND-th look while spinning) the
	 * write position too, though the commit word is how records are
	 * noticed: a word that never matches while the producer moves on (a
	 * corrupt segment) then goes to read()'s checks instead of a silent
	 * wait. A2: acquire, pairs with C1. */
	uint64_t wp = atomic_load_explicit(&c->m.kprod->kp_write_pos,
					   memory_order_acquire);
	if (wp > c->pos) {
		c->cached_wp = wp;
		return 0;
	}
	if (timeout_ns == 0)
		return -EAGAIN;
	if (!*deadline) {
		*deadline = timeout_ns < 0 ? UINT64_MAX :
			    now + (uint64_t)timeout_ns;
		*spin_end = c->mode == QSHM_WAIT_BLOCK ? now :
			    c->mode == QSHM_WAIT_BUSY ? UINT64_MAX :
			    now + c->spin_ns;
		c->lead_until = now + QSHM_STREAM_WAIT_NS;
	}
	if (now >= *deadline)
		return -ETIMEDOUT;
	if (now < *spin_end) {
		qshm__cpu_relax();
		return 0;
	}
	if (c->slot < 0) {
		/* Read-only: cannot announce itself on the futex; polls,
		 * backing off while nothing comes (reset by each read). */
		uint64_t ns = c->ro_poll_ns;
		if (*deadline - now < ns)
			ns = *deadline - now;
		if (c->next_check_ns > now && c->next_check_ns - now < ns)
			ns = c->next_check_ns - now;
		struct timespec ts = { 0, (long)(ns ? ns : 1) };
		nanosleep(&ts, NULL);
		if (c->ro_poll_ns < QSHM_RO_POLL_MAX_NS)
			c->ro_poll_ns *= 2;
		return 0;
	}
	qshm__park(c, now, *deadline);
	return 0;
}

/* Lossy: the record at pos was overwritten; jump to the oldest intact
 * one. Losses are counted from the next record's seq. */
static void qshm__resync(qshm_consumer *c)
{
	struct qshm_kprod *kp = c->m.kprod;
	/* Acquire: pairs with P1; head <= the write_pos loaded next. */
	uint64_t h = atomic_load_explicit(&kp->kp_head_pos,
					  memory_order_acquire);
	if (h > c->pos)
		c->pos = h;
	c->cached_wp = atomic_load_explicit(&kp->kp_write_pos,
					    memory_order_acquire);
	/* A head above the write position is corrupt: never move pos back
	 * (read() then waits, honouring its timeout, instead of spinning). */
	if (c->cached_wp >= c->pos && c->cached_wp - c->pos > c->m.capacity)
		c->pos = c->cached_wp; /* head itself is behind: skip all */
}

static int qshm__corrupt(qshm_consumer *c, const char *what, uint64_t pos,
			 uint64_t val)
{
	if (qshm__truncated(&c->m)) /* zeros past the cut, not a bad record */
		return qshm__truncated_fail(&c->m);
	return qshm__fail(QSHM_ECORRUPT, "ring '%s': record at position %llu:"
			  " %s (%llu)", c->m.name, (unsigned long long)pos,
			  what, (unsigned long long)val);
}

/* Everything qshm_consumer_read()'s fast path leaves: waiting, lossy
 * validation, pads, records known only through kp_write_pos, errors. */
__attribute__((noinline))
static int qshm__read_slow(qshm_consumer *c, struct qshm_record *rec,
			   int64_t timeout_ns)
{
	uint64_t deadline = 0, spin_end = 0;
	int err;

	if (!c || !rec)
		return qshm__fail(EINVAL, "NULL argument");
	if (qshm__truncated(&c->m))
		return qshm__truncated_fail(&c->m);
	const uint64_t cap = c->m.capacity;
	const uint64_t key = c->m.seq_key;
	for (;;) {
		/* Positions come from shared memory (head, write position):
		 * a misaligned one would put the header past the end. */
		if (c->pos & (QSHM_REC_ALIGN - 1))
			return qshm__corrupt(c, "position not 16-byte aligned",
					     c->pos, c->pos & 15);
		uint64_t off = c->pos & c->m.mask;
		struct qshm_krec *kr = (struct qshm_krec *)(c->m.kdata + off);
		uint64_t word;
		if (c->pos < c->cached_wp) {
			/* Known committed (A2 below, earlier). */
			if (c->cached_wp - c->pos > cap) {
				if (c->lossy) {
					qshm__resync(c);
					continue;
				}
				err = qshm__check_end(c, 0);
				return err ? err : qshm__corrupt(c,
					"write position more than a ring "
					"ahead", c->pos, c->cached_wp);
			}
			word = atomic_load_explicit(&kr->kr_commit,
						    memory_order_relaxed);
		} else if (c->have_seq) {
			/* A4: the fast path. Acquire, pairs with C0: once
			 * the word holds the seq we expect, the record (or
			 * the pad before it) is complete. It can hold that
			 * value no sooner: K1 stored MARK there before the
			 * record we read last was committed. */
			word = atomic_load_explicit(&kr->kr_commit,
						    memory_order_acquire);
			if (__builtin_expect(word != (c->expected_seq ^ key),
					     0)) {
				if (c->lossy) {
					/* Lapped? The write position says. */
					c->cached_wp = atomic_load_explicit(
						&c->m.kprod->kp_write_pos,
						memory_order_acquire);
					if (c->pos < c->cached_wp)
						continue;
				}
				err = qshm__wait_data(c, timeout_ns, &deadline,
						      &spin_end);
				if (err)
					return err;
				continue;
			}
		} else {
			/* Just attached mid-ring: the next seq is unknown.
			 * A2: pairs with C1 in commit(): records below the
			 * loaded position are complete. */
			c->cached_wp = atomic_load_explicit(
				&c->m.kprod->kp_write_pos,
				memory_order_acquire);
			if (c->pos >= c->cached_wp) {
				err = qshm__wait_data(c, timeout_ns,
						      &deadline, &spin_end);
				if (err)
					return err;
			}
			continue;
		}
		const volatile struct qshm_krec *vr = kr;
		uint32_t len = vr->kr_len;
		uint16_t type = vr->kr_type;
		uint16_t item_len = vr->kr_flags;
		uint64_t seq = word ^ key;
		if (c->lossy) {
			/* V1: pairs with P1: if the header bytes read above
			 * were overwritten, this load sees the head moved
			 * past pos (seqlock read side). */
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&c->m.kprod->kp_head_pos,
						 memory_order_relaxed) >
			    c->pos) {
				qshm__resync(c);
				continue;
			}
		}
		uint64_t size = qshm__rec_size(len);
		if (type == QSHM_TYPE_PAD) {
			/* A real pad never starts a lap: off 0 is corrupt. */
			if (off == 0 || len > cap || off + size != cap)
				return qshm__corrupt(c, "pad does not reach "
						     "the end", c->pos, len);
			c->pos += size;
			if (c->cached_wp < c->pos)
				c->cached_wp = c->pos;
			continue;
		}
		if (type < QSHM_TYPE_USER_MIN)
			return qshm__corrupt(c, "reserved type", c->pos, type);
		if (len == 0 || len > c->m.max_record)
			return qshm__corrupt(c, "bad length", c->pos, len);
		if (off + size > cap)
			return qshm__corrupt(c, "record past the end", c->pos,
					     len);
		uint64_t skip;
		if (qshm__items_bad(c->pos, len, item_len, &skip))
			return qshm__corrupt(c, "batch of partial items",
					     c->pos, item_len);
		if (c->pos < c->cached_wp && size > c->cached_wp - c->pos)
			return qshm__corrupt(c, "record past the committed "
					     "end", c->pos, len);
		uint64_t lost = 0;
		if (c->have_seq) {
			if (seq < c->expected_seq ||
			    (!c->lossy && seq != c->expected_seq))
				return qshm__corrupt(c, "sequence number out "
						     "of order", c->pos, seq);
			lost = seq - c->expected_seq;
		}
		c->have_seq = 1;
		c->expected_seq = seq + 1;
		c->lost += lost;
		c->records++;
		c->ro_poll_ns = QSHM_RO_POLL_MIN_NS;
		rec->data = (const unsigned char *)(kr + 1) + skip;
		rec->len = (uint32_t)(len - skip);
		rec->type = type;
		rec->item_len = item_len;
		rec->seq = seq;
		rec->lost = lost;
		rec->pos = c->pos;
		c->pos += size;
		/* Committed up to here, however we learned it. */
		if (c->cached_wp < c->pos)
			c->cached_wp = c->pos;
		return 0;
	}
}

/* R3w: the producer sleeps on space: take its flag (one waker per sleep:
 * a producer that died asleep costs one wake, not one per release) and
 * wake it. Release: it sees our R1 with the new futex value. */
__attribute__((noinline, cold))
static void qshm__wake_space(struct qshm_kwake *kw)
{
	if (!atomic_exchange_explicit(&kw->kw_space_sleepers, 0,
				      memory_order_seq_cst))
		return;
	atomic_fetch_add_explicit(&kw->kw_space_futex, 1,
				  memory_order_release);
	qshm__futex_wake(&kw->kw_space_futex, INT_MAX);
}

/*
 * The fast path: a reliable consumer that knows the seq it expects finds
 * that record's commit word (A4) and a header that passes every check.
 * The same checks as the slow path, in fewer instructions: the word
 * matched, so the seq is the expected one; a pad, a lossy consumer, an
 * empty ring or anything odd goes to qshm__read_slow(), which says why.
 */
QSHM_EXPORT int qshm_consumer_read(qshm_consumer *c, struct qshm_record *rec,
				   int64_t timeout_ns)
{
	if (__builtin_expect(!c || !rec || !c->have_seq || c->lossy ||
			     qshm__truncated(&c->m), 0))
		return qshm__read_slow(c, rec, timeout_ns);
	uint64_t pos = c->pos;
	uint64_t off = pos & c->m.mask;
	const struct qshm_krec *kr = (const struct qshm_krec *)
		(c->m.kdata + off);
	/* A4: acquire, pairs with C0 (see qshm__read_slow). */
	uint64_t word = atomic_load_explicit(&kr->kr_commit,
					     memory_order_acquire);
	if (__builtin_expect(word != (c->expected_seq ^ c->m.seq_key) ||
			     (pos & (QSHM_REC_ALIGN - 1)), 0))
		return qshm__read_slow(c, rec, timeout_ns);
	/* Length, type and item length in one load; the segment is not
	 * trusted, so each is checked before use. */
	uint64_t hdr;
	memcpy(&hdr, (const void *)kr, sizeof(hdr));
	__asm__ __volatile__("" ::: "memory"); /* read once, here */
	uint32_t len = (uint32_t)hdr;
	uint16_t type = (uint16_t)(hdr >> 32);
	uint16_t item_len = (uint16_t)(hdr >> 48);
	uint64_t size = qshm__rec_size(len);
	uint64_t skip;
	if (__builtin_expect(type < QSHM_TYPE_USER_MIN || len == 0 ||
			     len > c->m.max_record ||
			     off + size > c->m.capacity ||
			     qshm__items_bad(pos, len, item_len, &skip), 0))
		return qshm__read_slow(c, rec, timeout_ns);
	rec->data = (const unsigned char *)(kr + 1) + skip;
	rec->len = (uint32_t)(len - skip);
	rec->type = type;
	rec->item_len = item_len;
	rec->seq = c->expected_seq;
	rec->lost = 0;
	rec->pos = pos;
	c->expected_seq++;
	c->records++;
	c->pos = pos + size;
	if (c->cached_wp < c->pos)
		c->cached_wp = c->pos;
	return 0;
}

QSHM_EXPORT int qshm_consumer_release(qshm_consumer *c)
{
	struct qshm_kslot *s;

	if (!c)
		return qshm__fail(EINVAL, "NULL consumer");
	if (qshm__truncated(&c->m))
		return qshm__truncated_fail(&c->m);
	s = qshm__my_slot(c);
	if (!s || c->pos == c->released)
		return 0;
	c->released = c->pos;
	if (__builtin_expect(c->demanding, 0) && !c->sleeping &&
	    c->records - c->demand_mark >= QSHM_DEMAND_DROP_RECORDS)
		qshm__undemand(c);
	/* For inspectors: exact lag in records. Relaxed: a snapshot. */
	atomic_store_explicit(&s->kc_next_seq, c->have_seq ? c->expected_seq :
			      QSHM_SEQ_UNKNOWN, memory_order_relaxed);
	if (c->lossy) {
		/* For inspectors only; nobody waits on a lossy consumer. */
		atomic_store_explicit(&s->kc_read_pos, c->pos,
				      memory_order_relaxed);
		atomic_store_explicit(&s->kc_lost, c->lost,
				      memory_order_relaxed);
		atomic_store_explicit(&s->kc_records, c->records,
				      memory_order_relaxed);
		return 0;
	}
	atomic_store_explicit(&s->kc_records, c->records, memory_order_relaxed);
	if (__builtin_expect(c->asym && qshm__barrier_ok(), 1)) {
		/* Format 3 (QSHM_FEAT_ASYM_FENCE, this process registered
		 * for the barrier): R1 a release store, pairs with A1 in
		 * qshm__scan_min() as below. R1d: does the producer ask for
		 * the fence (it waits, or has waited, for space)? Relaxed:
		 * the producer raised kw_release_fence (S1d), then issued
		 * the barrier (S2b), so a load after that barrier sees it;
		 * an R1 before it is visible to every rescan after it. With
		 * the fence it is 2.0's Dekker pair with S1/S2; without, R2
		 * comes before the producer's ask took hold, which its
		 * barrier covers. The flag shares R2's line. */
		atomic_store_explicit(&s->kc_read_pos, c->pos,
				      memory_order_release);
		/* The argument needs R1 before R1d and R2 in the emitted
		 * instructions (the barrier splits those): C11 would let
		 * the compiler hoist relaxed loads above a release store;
		 * this fence forbids it and emits nothing. */
		atomic_signal_fence(memory_order_seq_cst);
		if (__builtin_expect(atomic_load_explicit(
					     &c->m.kwake->kw_release_fence,
					     memory_order_relaxed), 0))
			atomic_thread_fence(memory_order_seq_cst);
		/* R2 */
		if (atomic_load_explicit(&c->m.kwake->kw_space_sleepers,
					 memory_order_seq_cst))
			qshm__wake_space(c->m.kwake);
		return 0;
	}
	/* R1: pairs with A1 in qshm__scan_min(): our reads of everything
	 * below pos are done before the producer may reuse it. An exchange,
	 * seq_cst: with the seq_cst load R2 it is the consumer's half of the
	 * Dekker pair with S1 (producer: flag, then rescan); on x86 one
	 * locked instruction, cheaper than a store and a full fence. */
	atomic_exchange_explicit(&s->kc_read_pos, c->pos, memory_order_seq_cst);
	/* R2 */
	if (atomic_load_explicit(&c->m.kwake->kw_space_sleepers,
				 memory_order_seq_cst))
		qshm__wake_space(c->m.kwake);
	return 0;
}

QSHM_EXPORT int qshm_consumer_validate(qshm_consumer *c,
				       const struct qshm_record *rec)
{
	if (!c || !rec)
		return qshm__fail(EINVAL, "NULL argument");
	if (qshm__truncated(&c->m)) /* what was read may be zeros */
		return qshm__truncated_fail(&c->m);
	if (!c->lossy)
		return 0;
	/* V2: pairs with P1, as V1: every read of the payload before this
	 * fence saw bytes from before any overwrite, unless the head has
	 * moved past the record. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&c->m.kprod->kp_head_pos,
				 memory_order_relaxed) <= rec->pos)
		return 0;
	if (rec->pos != c->overrun_pos) { /* count each record once */
		c->overrun_pos = rec->pos;
		c->lost++;
	}
	return -QSHM_EOVERRUN;
}

QSHM_EXPORT int qshm_consumer_read_copy(qshm_consumer *c, void *buf,
					size_t size, struct qshm_record *rec,
					int64_t timeout_ns)
{
	struct qshm_record local;
	uint64_t lost = 0;
	int err;

	if (!rec)
		rec = &local;
	for (;;) {
		err = qshm_consumer_read(c, rec, timeout_ns);
		if (err)
			return err;
		lost += rec->lost;
		if (rec->len > size) {
			c->records--; /* skipped, not returned */
			if (c->lossy)
				c->lost++;
			return qshm__fail(EMSGSIZE, "record of %u bytes, buffer "
					  "of %zu", rec->len, size);
		}
		memcpy(buf, rec->data, rec->len);
		if (qshm_consumer_validate(c, rec) == 0)
			break;
		/* Torn: not returned, so not counted as read; lost once. */
		c->records--;
		lost++;
	}
	rec->lost = lost;
	rec->data = buf;
	return (int)rec->len;
}

QSHM_EXPORT int qshm_consumer_stats(qshm_consumer *c,
				    struct qshm_consumer_stats *st)
{
	if (!c || !st)
		return qshm__fail(EINVAL, "NULL argument");
	st->records = c->records;
	st->lost = c->lost;
	st->position = c->pos;
	st->generation = c->m.generation;
	return 0;
}

/* wait_prepare() in halves, so that qshm_poll() can announce itself on
 * every ring and then issue one barrier for all of them. */
int qshm__prepare_announce(qshm_consumer *c, const uint32_t **word,
			   uint32_t *val)
{
	if (!c || !word || !val || c->sleeping)
		return qshm__fail(EINVAL, "bad arguments or already "
				  "prepared");
	if (c->slot < 0)
		return qshm__fail(EPERM, "ring '%s': a read-only consumer "
				  "cannot announce itself as a sleeper",
				  c->m.name);
	if (c->gone)
		return c->gone;
	if (qshm__truncated(&c->m))
		return qshm__truncated_fail(&c->m);
	/* W0, W1 as in qshm__park(); the caller does the sleeping. */
	*val = qshm__announce(c);
	*word = (const uint32_t *)&c->m.kwake->kw_data_futex;
	return 0;
}

/* W2 after the announcement and, if qshm__demand() asked for it,
 * the barrier (W1b), whose result is barrier_err. A barrier that failed
 * orders nothing: a commit may miss our parked bit, so the sleep must be
 * short (QSHM_NOBARRIER_SLICE_NS, as qshm__park() sleeps): 2. */
int qshm__prepare_check(qshm_consumer *c, int need_barrier, int barrier_err)
{
	if (need_barrier)
		qshm__demand_barrier(c, barrier_err);
	if (qshm__data_there(c)) {
		qshm__unannounce(c);
		return 0;
	}
	int err = qshm__check_end(c, qshm__now_ns());
	if (err || c->cached_wp > c->pos) {
		qshm__unannounce(c);
		return err;
	}
	c->demand_mark = c->records; /* the caller sleeps: D2 from here */
	return need_barrier && barrier_err ? 2 : 1;
}

int qshm__wait_prepare(qshm_consumer *c, const uint32_t **word,
		       uint32_t *val)
{
	int err = qshm__prepare_announce(c, word, val);

	if (err)
		return err;
	int need = qshm__demand(c);
	return qshm__prepare_check(c, need, need ? qshm__barrier() : 0);
}

QSHM_EXPORT int qshm_consumer_wait_prepare(qshm_consumer *c,
					   const uint32_t **word,
					   uint32_t *val)
{
	int r = qshm__wait_prepare(c, word, val);

	if (r == 2) {
		/* The caller's sleep has no bound we could set: rather
		 * than let it sleep through a lost wake-up, say "look
		 * again" (qshm_waiter and qshm_poll sleep short instead). */
		qshm__unannounce(c);
		return 0;
	}
	return r;
}

QSHM_EXPORT void qshm_consumer_wait_finish(qshm_consumer *c)
{
	if (c)
		qshm__unannounce(c);
}

QSHM_EXPORT int qshm_consumer_producer_pid(qshm_consumer *c)
{
	return c ? c->m.creator_pid : -EINVAL;
}

QSHM_EXPORT int qshm_consumer_close(qshm_consumer *c)
{
	struct qshm_kslot *s;

	if (!c)
		return qshm__fail(EINVAL, "NULL consumer");
	qshm_consumer_wait_finish(c);
	s = qshm__my_slot(c);
	if (s) {
		qshm_consumer_release(c);
		/* Our fence demand, unless an evictor took it. */
		if (c->demanding)
			qshm__undemand(c);
		/* Release: pairs with the acquire take (T1) of the next
		 * owner. From our exact word, or the one an eviction (E2)
		 * made of it: a slot that changed hands otherwise is left
		 * to its new owner. */
		uint64_t w = c->slot_word;
		uint64_t ev = qshm__slot_next(w, QSHM_SLOT_EVICTED,
					      qshm__slot_pid(w));
		if (!atomic_compare_exchange_strong_explicit(
			    &s->kc_word, &w, qshm__slot_next(w, QSHM_SLOT_FREE,
							     0),
			    memory_order_release, memory_order_relaxed) &&
		    w == ev)
			atomic_compare_exchange_strong_explicit(
				&s->kc_word, &w,
				qshm__slot_next(w, QSHM_SLOT_FREE, 0),
				memory_order_release, memory_order_relaxed);
		/* A producer waiting on us must rescan: as R2. */
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&c->m.kwake->kw_space_sleepers,
					 memory_order_seq_cst))
			qshm__wake_space(c->m.kwake);
	}
	if (c->prod_pidfd >= 0)
		close(c->prod_pidfd);
	qshm__map_release(&c->m);
	free(c);
	return 0;
}
