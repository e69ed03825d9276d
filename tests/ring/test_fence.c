/* SPDX-License-Identifier: MIT */
/*
 * test_fence.c - format 3's asymmetric fence (docs/protocol.md, "Who
 * pays the fence"), across processes: the segment says whether its
 * producer fences; a consumer's first sleep asks for the producer's fence
 * (kp_fence_demand and its slot's flag) and a consumer that keeps up stops
 * asking; a killed asker's demand is taken back exactly once; a producer
 * that sleeps on space asks for the consumers' fence (kw_release_fence)
 * and stops when the stream keeps up; a segment with a feature this
 * library does not know is refused. The wake-up itself is exercised by
 * every blocking test of the suite, which runs in both modes (meson.build:
 * the _full_fence variants set QSHM_FENCE=full).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "../../shm/layout.h"

TestSuite(ring_fence, .init = t_init, .fini = t_fini, .timeout = 60);

struct fence_view {
	uint64_t features;
	uint32_t demand;        /* kp_fence_demand */
	uint32_t slot_demand;   /* slot 0's kc_fence_demand holds a tag */
	uint32_t release_fence; /* kw_release_fence */
	uint32_t space_sleepers;
};

static struct fence_view view(void)
{
	struct fence_view v;
	size_t len;
	uint8_t *m = t_map_rw(t_ring, &len);
	cr_assert_not_null(m);
	const struct qshm_kheader *h = (const void *)m;
	struct qshm_kprod *kp = (void *)(m + QSHM_OFF_PROD);
	struct qshm_kwake *kw = (void *)(m + QSHM_OFF_WAKE);
	struct qshm_kslot *ks = (void *)(m + QSHM_OFF_SLOTS);
	v.features = h->kh_features;
	v.demand = atomic_load(&kp->kp_fence_demand);
	v.slot_demand = atomic_load(&ks[0].kc_fence_demand) != 0;
	v.release_fence = atomic_load(&kw->kw_release_fence);
	v.space_sleepers = atomic_load(&kw->kw_space_sleepers);
	munmap(m, len);
	return v;
}

/* Waits up to 5 s for the field that get() reads to equal want. */
static uint32_t await_field(uint32_t (*get)(void), uint32_t want)
{
	uint64_t t0 = t_now_ns();
	uint32_t v;
	while ((v = get()) != want && t_now_ns() - t0 < 5 * T_SEC)
		t_sleep_ns(T_MS);
	return v;
}
static uint32_t get_demand(void) { return view().demand; }
static uint32_t get_release_fence(void) { return view().release_fence; }
static uint32_t get_space_sleepers(void) { return view().space_sleepers; }

/* Skips where the kernel has no membarrier(GLOBAL_EXPEDITED): producers
 * then fence as in 2.0 and nothing here applies. */
static qshm_producer *asym_producer(uint64_t capacity)
{
	qshm_producer *p = t_create(t_ring, capacity, 0, 0);
	if (!(view().features & QSHM_FEAT_ASYM_FENCE)) {
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
		cr_skip_test("no membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) "
			     "here: producers fence every commit");
	}
	return p;
}

struct shared {
	atomic_int ready, go, done;
	atomic_ullong got;   /* records the reader has read so far */
	atomic_ullong total; /* records the filler published */
	char env[16];
};
static struct shared *sh;

static int create_main(void *arg)
{
	(void)arg;
	setenv("QSHM_FENCE", sh->env, 1);
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	t_arrive(&sh->ready);
	t_await(&sh->go, 1, 20 * T_SEC);
	qshm_producer_close(p, 0);
	return T_CHILD_OK;
}

Test(ring_fence, segment_says_whether_its_producer_fences)
{
	sh = t_shared(sizeof(*sh));
	/* QSHM_FENCE=full: the producer fences every commit and the
	 * segment does not carry the feature. */
	strcpy(sh->env, "full");
	pid_t kid = t_fork(create_main, NULL, 30);
	cr_assert_eq(t_await(&sh->ready, 1, 10 * T_SEC), 0);
	struct fence_view v = view();
	cr_expect_eq(v.features & QSHM_FEAT_ASYM_FENCE, 0,
		     "QSHM_FENCE=full: features 0x%llx",
		     (unsigned long long)v.features);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.format_major, 3);
	cr_expect_eq(info.format_minor, 0);
	t_arrive(&sh->go);
	cr_expect_eq(t_wait(kid, 10 * T_SEC), T_CHILD_OK);
	qshm_unlink(t_ring);

	/* By default (any other value) it asks for the barrier instead. */
	atomic_store(&sh->ready, 0);
	atomic_store(&sh->go, 0);
	strcpy(sh->env, "asym");
	kid = t_fork(create_main, NULL, 30);
	cr_assert_eq(t_await(&sh->ready, 1, 10 * T_SEC), 0);
	v = view();
	t_arrive(&sh->go);
	cr_expect_eq(t_wait(kid, 10 * T_SEC), T_CHILD_OK);
	if (!(v.features & QSHM_FEAT_ASYM_FENCE))
		cr_skip_test("no membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)");
	cr_expect_eq(v.features, QSHM_FEAT_ASYM_FENCE);
}

Test(ring_fence, a_segment_with_an_unknown_feature_is_refused)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	size_t len;
	uint8_t *m = t_map_rw(t_ring, &len);
	cr_assert_not_null(m);
	struct qshm_kheader *h = (void *)m;
	h->kh_features |= UINT64_C(1) << 5;
	qshm_consumer *c = NULL;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &c), -QSHM_EVERSION);
	const char *msg = qshm_last_error();
	cr_expect(strstr(msg, "features 0x20") && strstr(msg, "3.0"),
		  "message names the feature and the format: %s", msg);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_VERSION, "state %s",
		     qshm_ring_state_name(info.state));
	munmap(m, len);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* A consumer that blocks on an empty ring (and so asks for fences), reads
 * record 0, then, once the parent has published the other n - 1, reads
 * them without sleeping (and so stops asking), says so, and, when told,
 * blocks again until the producer closes. */
static unsigned asker_flags;
static int asker_main(void *arg)
{
	uint64_t n = (uint64_t)(uintptr_t)arg;
	qshm_consumer *c;
	if (qshm_consumer_attach(t_ring, asker_flags, &c))
		return T_CHILD_FAIL;
	qshm_consumer_set_wait(c, QSHM_WAIT_BLOCK, 0);
	t_arrive(&sh->ready);
	struct qshm_record r;
	for (uint64_t s = 0; s < n; s++) {
		int err = qshm_consumer_read(c, &r, 20 * (int64_t)T_SEC);
		if (err || t_check_record("asker", &r, s, 64))
			return T_CHILD_FAIL;
		qshm_consumer_release(c);
		if (s == 0 && t_await(&sh->go, 1, 20 * T_SEC))
			return T_CHILD_FAIL;
	}
	t_arrive(&sh->done);
	if (t_await(&sh->go, 2, 20 * T_SEC))
		return T_CHILD_FAIL;
	/* Sleeps again (some tests kill it in here). */
	int err = qshm_consumer_read(c, &r, 20 * (int64_t)T_SEC);
	qshm_consumer_close(c);
	return err == -QSHM_ECLOSED ? T_CHILD_OK : T_CHILD_FAIL;
}

static void asks_and_stops(unsigned flags)
{
	sh = t_shared(sizeof(*sh));
	asker_flags = flags;
	qshm_producer *p = asym_producer(1 << 20);
	uint64_t n = QSHM_DEMAND_DROP_RECORDS + 100;
	pid_t kid = t_fork(asker_main, (void *)(uintptr_t)n, 60);
	cr_assert_eq(t_await(&sh->ready, 1, 10 * T_SEC), 0);
	/* Blocked on an empty ring: it asked, with its slot's flag. */
	cr_assert_eq(await_field(get_demand, 1), 1, "the sleeper asked");
	cr_expect_eq(view().slot_demand, 1);
	for (uint64_t s = 0; s < n; s++)
		cr_assert_eq(t_publish_seq(p, s, 64, 2 * (int64_t)T_SEC, 1), 0);
	t_arrive(&sh->go);
	cr_assert_eq(t_await(&sh->done, 1, 20 * T_SEC), 0);
	/* QSHM_DEMAND_DROP_RECORDS read without a sleep: it stopped. */
	struct fence_view v = view();
	cr_expect_eq(v.demand, 0, "count %u after a burst read", v.demand);
	cr_expect_eq(v.slot_demand, 0);
	/* Blocked again: it asks again. */
	t_arrive(&sh->go);
	cr_expect_eq(await_field(get_demand, 1), 1, "asked again");
	qshm_producer_close(p, 0);
	cr_expect_eq(t_wait(kid, 20 * T_SEC), T_CHILD_OK);
	cr_expect_eq(view().demand, 0, "closed: taken back");
	qshm_unlink(t_ring);
}

Test(ring_fence, a_sleeping_consumer_asks_for_fences_and_stops_when_it_keeps_up)
{
	asks_and_stops(0);
}

Test(ring_fence, a_sleeping_lossy_consumer_asks_and_stops_too)
{
	asks_and_stops(QSHM_CONSUMER_LOSSY);
}

static int blocked_forever_main(void *arg)
{
	qshm_consumer *c;
	if (qshm_consumer_attach(t_ring, (unsigned)(uintptr_t)arg, &c))
		return T_CHILD_FAIL;
	qshm_consumer_set_wait(c, QSHM_WAIT_BLOCK, 0);
	t_arrive(&sh->ready);
	struct qshm_record r;
	/* Asleep (some tests kill it in here); woken by the first record,
	 * it stays alive, still asking, without reading more. */
	if (qshm_consumer_read(c, &r, QSHM_FOREVER))
		return T_CHILD_FAIL;
	return t_await(&sh->go, 1, 30 * T_SEC) ? T_CHILD_FAIL : T_CHILD_OK;
}

static uint32_t get_demand_2(void) { return view().demand == 2; }

Test(ring_fence, a_killed_askers_demand_is_taken_back_once_by_its_eviction)
{
	sh = t_shared(sizeof(*sh));
	qshm_producer *p = asym_producer(1 << 16);
	pid_t kid = t_fork(blocked_forever_main, NULL, 30);
	cr_assert_eq(t_await(&sh->ready, 1, 10 * T_SEC), 0);
	cr_assert_eq(await_field(get_demand, 1), 1, "the sleeper asked");
	/* A second asker, lossy (never evicted, holds no space), alive
	 * throughout: the count must keep its 1. */
	pid_t other = t_fork(blocked_forever_main,
			     (void *)(uintptr_t)QSHM_CONSUMER_LOSSY, 30);
	cr_assert_eq(t_await(&sh->ready, 2, 10 * T_SEC), 0);
	cr_assert_eq(await_field(get_demand_2, 1), 1, "both asked");
	t_untrack(kid);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	cr_expect_eq(view().demand, 2, "dead, still asking");
	/* Enough to fill the ring many times: the dead consumer holds it,
	 * so the producer evicts it, taking its demand back, once. */
	struct qshm_producer_stats st;
	for (uint64_t s = 0; s < 20000; s++)
		cr_assert_eq(t_publish_seq(p, s, 64, 5 * (int64_t)T_SEC, 1), 0,
			     "commit %llu", (unsigned long long)s);
	cr_assert_eq(qshm_producer_stats(p, &st), 0);
	cr_expect_eq(st.evictions, 1);
	struct fence_view v = view();
	cr_expect_eq(v.demand, 1, "count %u after the eviction", v.demand);
	cr_expect_eq(v.slot_demand, 0, "slot 0's tag taken");
	/* An attacher taking the evicted slot cleans it again: the tag is
	 * gone, the count keeps the live asker's 1. */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_expect_eq(view().demand, 1);
	qshm_consumer_close(c);
	/* The live asker, still asking, dies now. */
	t_untrack(other);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	cr_expect_eq(view().demand, 1, "dead, still asking");
	/* A dead lossy asker is never evicted: the producer's sweep of
	 * dead askers, every 4096 commits it was asked to fence, takes its
	 * demand back. */
	for (uint64_t s = 20000; s < 20000 + 2 * QSHM_DEMAND_DROP_RECORDS; s++)
		cr_assert_eq(t_publish_seq(p, s, 64, 5 * (int64_t)T_SEC, 1), 0);
	cr_expect_eq(view().demand, 0, "the dead lossy asker's demand");
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* A producer that fills a 64 KiB ring nobody reads yet (so it sleeps on
 * space and asks the consumers to fence their releases), then publishes
 * in chunks that the consumer drains before the next (so it never waits
 * again), and says when it is done. */
#define FILL_RECORDS 2000u
#define CHUNK 400u
static int filler_main(void *arg)
{
	(void)arg;
	qshm_producer *p = t_create(t_ring, 1 << 16, 0, 0);
	qshm_producer_set_wait(p, QSHM_WAIT_BLOCK, 0);
	t_arrive(&sh->ready);
	if (qshm_producer_wait_consumers(p, 1, 10 * (int64_t)T_SEC))
		return T_CHILD_FAIL;
	uint64_t s = 0;
	for (; s < FILL_RECORDS; s++)
		if (t_publish_seq(p, s, 64, 20 * (int64_t)T_SEC, 1))
			return T_CHILD_FAIL;
	uint64_t end = s + QSHM_DEMAND_DROP_RECORDS + 2 * CHUNK;
	while (s < end) {
		uint64_t t0 = t_now_ns();
		while (atomic_load(&sh->got) < s)
			if (t_now_ns() - t0 > 20 * T_SEC)
				return T_CHILD_FAIL;
		for (unsigned k = 0; k < CHUNK; k++, s++)
			if (t_publish_seq(p, s, 64, 20 * (int64_t)T_SEC, 1))
				return T_CHILD_FAIL;
	}
	atomic_store(&sh->total, s);
	t_arrive(&sh->done);
	if (t_await(&sh->go, 1, 20 * T_SEC))
		return T_CHILD_FAIL;
	qshm_producer_close(p, 0);
	return T_CHILD_OK;
}

Test(ring_fence, a_producer_asks_for_release_fences_while_it_waits_for_space)
{
	sh = t_shared(sizeof(*sh));
	pid_t kid = t_fork(filler_main, NULL, 60);
	cr_assert_eq(t_await(&sh->ready, 1, 10 * T_SEC), 0);
	if (!(view().features & QSHM_FEAT_ASYM_FENCE))
		cr_skip_test("no membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)");
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_assert_eq(await_field(get_space_sleepers, 1), 1,
		     "the producer sleeps on a full ring");
	cr_expect_eq(view().release_fence, 1, "and asked for fences");
	struct qshm_record r;
	uint64_t s = 0;
	for (;; s++) {
		int err = qshm_consumer_read(c, &r, 0);
		if (err == -EAGAIN) {
			/* done is set after the last commit: only a read
			 * that finds nothing after seeing it is the end (the
			 * EAGAIN above may predate the last records). */
			if (atomic_load(&sh->done)) {
				err = qshm_consumer_read(c, &r, 0);
				if (err == -EAGAIN)
					break;
			} else {
				err = qshm_consumer_read(c, &r,
							 20 * (int64_t)T_SEC);
			}
		}
		cr_assert_eq(err, 0, "record %llu: %s", (unsigned long long)s,
			     t_errname(err));
		cr_assert_eq(t_check_record("reader", &r, s, 64), 0);
		qshm_consumer_release(c);
		atomic_store(&sh->got, s + 1);
	}
	cr_expect_eq(s, atomic_load(&sh->total), "read every record: %llu "
		     "of %llu", (unsigned long long)s,
		     (unsigned long long)atomic_load(&sh->total));
	/* QSHM_DEMAND_DROP_RECORDS commits without a wait: it stopped. */
	cr_expect_eq(get_release_fence(), 0);
	t_arrive(&sh->go);
	cr_expect_eq(t_wait(kid, 20 * T_SEC), T_CHILD_OK);
	qshm_consumer_close(c);
	qshm_unlink(t_ring);
}

/* ------------------------------------------------------------------ */
/* A barrier that fails after attach: short sleeps, not a spin          */

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Records the producer publishes for each half (waiter, then qshm_poll),
 * one every NOBAR_GAP_NS. */
#define NOBAR_RECORDS 20
#define NOBAR_GAP_NS  (20 * T_MS)

struct nobar_shared {
	atomic_int ready, half; /* half: the reader is on its second way */
	atomic_ullong got;
	atomic_ullong loops[2]; /* waits the reader went through, per way */
};
static struct nobar_shared *nb;

/* From here on membarrier(2) fails with EPERM in this process, as under a
 * seccomp policy that a sandbox installs after start-up. */
static int refuse_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return -1;
	return syscall(SYS_membarrier, 0 /* QUERY */, 0, 0) == -1 &&
			       errno == EPERM ? 0 : -1;
}

static int nobar_read(qshm_consumer *c, uint64_t *seq)
{
	struct qshm_record r;
	int err = qshm_consumer_read(c, &r, 0);
	if (err)
		return err;
	if (t_check_record("reader", &r, *seq, 64) != 0)
		return -EIO;
	(*seq)++;
	qshm_consumer_release(c);
	atomic_store(&nb->got, *seq);
	return 0;
}

/* Waits the event-loop way (w: arm, poll(2) its descriptor, disarm) or
 * with qshm_poll() and no timeout (w NULL). Returns 0 or -1. */
static int nobar_wait(qshm_consumer *c, qshm_waiter *w)
{
	if (!w) {
		struct qshm_pollitem it = { .c = c, .fd = -1 };
		int err = qshm_poll(&it, 1, -1);
		if (err < 0) {
			fprintf(stderr, "reader: qshm_poll: %s\n",
				t_errname(err));
			return -1;
		}
		return 0;
	}
	int err = qshm_waiter_arm(w);
	if (err < 0) {
		fprintf(stderr, "reader: arm: %s\n", t_errname(err));
		return -1;
	}
	if (err == 1) {
		struct pollfd p = { .fd = qshm_waiter_fd(w), .events = POLLIN };
		if (poll(&p, 1, 5000) != 1) {
			fprintf(stderr, "reader: the waiter's descriptor "
				"stayed quiet for 5 s\n");
			return -1;
		}
		qshm_waiter_disarm(w);
	}
	return 0;
}

/* Reads up to record end, counting in nb->loops[way] the waits it makes
 * (nobar_wait() with w). Returns 0 or -1. */
static int nobar_half(qshm_consumer *c, qshm_waiter *w, uint64_t *seq,
		      uint64_t end, int way)
{
	while (*seq < end) {
		int err = nobar_read(c, seq);
		if (err == 0)
			continue;
		if (err != -EAGAIN) {
			fprintf(stderr, "reader: read: %s\n", t_errname(err));
			return -1;
		}
		atomic_fetch_add(&nb->loops[way], 1);
		if (nobar_wait(c, w) != 0)
			return -1;
	}
	return 0;
}

static int nobar_reader_main(void *arg)
{
	(void)arg;
	/* Attach while the barrier works (a ring whose producer relies on
	 * it refuses a consumer that cannot issue it), then lose it. */
	qshm_consumer *c = t_child_attach("reader", t_ring,
					  QSHM_CONSUMER_RELIABLE);
	if (!c)
		return T_CHILD_FAIL;
	if (refuse_membarrier() != 0) {
		fprintf(stderr, "reader: cannot install the seccomp filter\n");
		return T_CHILD_SKIP;
	}
	t_arrive(&nb->ready);
	qshm_waiter *w;
	int err = qshm_waiter_create(c, &w);
	if (err) {
		fprintf(stderr, "reader: waiter: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	uint64_t seq = 0;
	if (nobar_half(c, w, &seq, NOBAR_RECORDS, 0) != 0)
		return T_CHILD_FAIL;
	qshm_waiter_close(w);
	atomic_store(&nb->half, 1);
	if (nobar_half(c, NULL, &seq, 2 * NOBAR_RECORDS, 1) != 0)
		return T_CHILD_FAIL;
	qshm_consumer_close(c);
	return T_CHILD_OK;
}

/* Before library 0.4.2 the waiter and qshm_poll() answered "look again"
 * to every wait whose barrier failed: their callers spun (hundreds of
 * thousands of waits in this test). Now such a wait sleeps, for 1 ms at
 * most (QSHM_NOBARRIER_SLICE_NS): about one wait per millisecond while
 * nothing comes, and every record still arrives. */
Test(ring_fence, a_consumer_whose_barrier_fails_sleeps_short_instead_of_spinning)
{
	qshm_producer *p = asym_producer(1 << 16);
	nb = t_shared(sizeof(*nb));
	pid_t kid = t_fork(nobar_reader_main, NULL, 50);
	cr_assert_eq(t_await(&nb->ready, 1, 10 * T_SEC), 0);
	uint64_t t0 = t_now_ns();
	for (uint64_t s = 0; s < 2 * NOBAR_RECORDS; s++) {
		if (s == NOBAR_RECORDS)
			cr_assert_eq(t_await(&nb->half, 1, 10 * T_SEC), 0,
				     "the reader did not get the first %d "
				     "records", NOBAR_RECORDS);
		t_sleep_ns(NOBAR_GAP_NS);
		cr_assert_eq(t_publish_seq(p, s, 64, T_SEC, 1), 0);
	}
	int st = t_wait(kid, 20 * T_SEC);
	double ms = (t_now_ns() - t0) / 1e6;
	if (st == T_CHILD_SKIP) {
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
		cr_skip_test("seccomp filters cannot be installed here");
	}
	unsigned long long l0 = atomic_load(&nb->loops[0]);
	unsigned long long l1 = atomic_load(&nb->loops[1]);
	fprintf(stderr, "no barrier: %llu records in %.0f ms; waits: %llu "
		"(waiter), %llu (qshm_poll)\n",
		(unsigned long long)atomic_load(&nb->got), ms, l0, l1);
	cr_assert_eq(st, T_CHILD_OK, "the reader failed");
	cr_expect_eq(atomic_load(&nb->got), 2 * NOBAR_RECORDS);
	/* A 1 ms sleep gives at most ~1 wait per ms, plus one per record;
	 * twice that leaves room for a loaded machine, and a spin is
	 * hundreds of times more. */
	cr_expect_lt(l0 + l1, 2 * (ms + 2 * NOBAR_RECORDS),
		     "%llu + %llu waits in %.0f ms: the reader spins", l0, l1,
		     ms);
	/* And it slept at all: waits that found nothing ended by the
	 * slice, not only by the producer's wake-ups. */
	cr_expect_gt(l0 + l1, 2 * NOBAR_RECORDS,
		     "%llu + %llu waits: no wait ended by its slice", l0, l1);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}
