/* SPDX-License-Identifier: MIT */
/*
 * test_format2.c - what format 2.0 of the segment guarantees beyond format
 * 1: the commit word never matches before its record is committed (MARK),
 * slot words with generations (no two owners, no live consumer evicted),
 * sleeper counts that a killed sleeper does not leak, the descriptor blob,
 * and a clear error for format-1 segments.
 *
 * White box where it must be (offsets from shm/layout.h): the sleeper count
 * and the seq key are not in the public API.
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

TestSuite(ring_format2, .init = t_init, .fini = t_fini, .timeout = 60);

static int publish(qshm_producer *p, const void *data, size_t len)
{
	return qshm_producer_publish(p, 16, data, len, 0);
}

static int read_all(qshm_consumer *c, uint64_t *nread)
{
	struct qshm_record r;
	int err;
	while ((err = qshm_consumer_read(c, &r, 0)) == 0) {
		(*nread)++;
		qshm_consumer_release(c);
	}
	return err;
}

/*
 * The format-1 failure, made deterministic: an earlier lap's payload leaves
 * exactly the commit word the consumer will expect next (e ^ key) where the
 * next record will start, and a plausible header before it. A consumer that
 * polls that word before record e is claimed must see nothing: the claim of
 * the record before e stored MARK there (K1). Without K1 this read returns
 * a record that was never published.
 */
Test(ring_format2, stale_payload_never_passes_for_a_commit_word)
{
	struct qshm_create_opts o = { .capacity = 4096, .max_record = 1984 };
	qshm_producer *p;
	cr_assert_eq(qshm_producer_create(t_ring, &o, &p), 0, "%s",
		     qshm_last_error());
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	size_t len;
	uint8_t *m = t_map_rw(t_ring, &len);
	cr_assert_not_null(m);
	uint64_t key;
	memcpy(&key, m + offsetof(struct qshm_kheader, kh_seq_key), 8);

	/* Lap 0: A [0, 1040) seq 0, its payload covering offsets 1024..1039:
	 * a header (len 8, type 16) at 1024 and 4 ^ key at 1032. */
	uint8_t a[1024];
	memset(a, 0xa5, sizeof(a));
	uint64_t hdr = 8 | (uint64_t)16 << 32, word = 4 ^ key;
	memcpy(a + 1024 - 16, &hdr, 8);
	memcpy(a + 1032 - 16, &word, 8);
	uint64_t n = 0;
	cr_assert_eq(publish(p, a, sizeof(a)), 0);
	cr_assert_eq(read_all(c, &n), -EAGAIN);
	/* B1 [1040, 2576) seq 1, B2 [2576, 4096) seq 2. */
	uint8_t b[1520];
	memset(b, 0x5a, sizeof(b));
	cr_assert_eq(publish(p, b, 1520), 0);
	cr_assert_eq(publish(p, b, 1504), 0);
	cr_assert_eq(read_all(c, &n), -EAGAIN);
	cr_assert_eq(n, 3);
	/* Lap 1: C [4096, 5120) seq 3; record 4 would start at offset
	 * 1024, over A's payload. */
	cr_assert_eq(publish(p, b, 1008), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_assert_eq(r.seq, 3);
	cr_assert_eq(r.pos, 4096);
	qshm_consumer_release(c);

	/* The consumer now expects seq 4 at 5120, the word it polls is at
	 * offset 1032: it must not match. */
	int err = qshm_consumer_read(c, &r, 0);
	cr_expect_eq(err, -EAGAIN, "read before record 4 was claimed: %s "
		     "(seq %llu len %u): a stale word passed for a commit",
		     t_errname(err), (unsigned long long)r.seq, r.len);
	uint64_t w;
	memcpy(&w, m + (len - 4096) + 1032, 8);
	cr_expect_eq(w, ~key, "the word at the claim frontier is MARK");

	/* Claimed, not committed: still nothing. */
	void *buf;
	cr_assert_eq(qshm_producer_claim(p, 8, 17, 0, &buf), 0);
	memcpy(buf, "record 4", 8);
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	cr_assert_eq(qshm_producer_commit(p), 0);
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.seq, 4);
	cr_expect_eq(r.type, 17);
	cr_expect_eq(memcmp(r.data, "record 4", 8), 0);
	qshm_consumer_release(c);
	munmap(m, len);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* Every payload length 1..64 (every residue mod 16) over many laps of a
 * small ring, the reader following only the commit words: each record is
 * the one published. */
Test(ring_format2, all_payload_residues_over_many_laps_read_exactly)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	struct qshm_record r;
	for (uint64_t s = 0; s < 20000; s++) {
		cr_assert_eq(t_publish_seq(p, s, 64, 0, 1), 0);
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0, "seq %llu",
			     (unsigned long long)s);
		cr_assert_eq(t_check_record("c", &r, s, 64), 0);
		qshm_consumer_release(c);
		cr_assert_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/*
 * The inline claim (qshm.h) trusts a bound the library keeps. A claim that
 * ends exactly on the lap boundary moves that bound to the next lap; a trim
 * then brings the end back into this lap, and the bound must come back
 * with it: otherwise the next claims run past the end of the data area.
 * 4 KiB ring, records of 256 bytes (240 payload): the 16th claim of each lap
 * ends on its boundary and is trimmed to 16 bytes; the claims after it
 * must pad to the next lap, and every record must read back intact.
 */
Test(ring_format2, a_trim_after_a_claim_ending_a_lap_keeps_claims_in_the_ring)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	const uint64_t cap = 4096;
	uint64_t pads = 0, got = 0;
	for (uint64_t s = 0; s < 2001; s++) {
		void *buf;
		int trim = (s % 16) == 15;
		cr_assert_eq(qshm_producer_claim(p, 240, 16, 0, &buf), 0,
			     "claim %llu: %s", (unsigned long long)s,
			     qshm_last_error());
		t_pattern_fill(buf, trim ? 16 : 240, s);
		if (trim) {
			/* No commit: the next claim follows the trim. */
			cr_assert_eq(qshm_producer_trim(p, 16), 0);
			continue;
		}
		cr_assert_eq(qshm_producer_commit(p), 0);
		struct qshm_record r;
		int err;
		while ((err = qshm_consumer_read(c, &r, 0)) == 0) {
			uint64_t e = got++;
			cr_assert_eq(r.seq, e);
			cr_assert_eq(r.len, (e % 16) == 15 ? 16u : 240u);
			cr_assert_eq(t_pattern_mismatch(r.data, r.len, e), -1,
				     "record %llu's payload",
				     (unsigned long long)e);
			cr_assert_leq((r.pos % cap) + 16 + r.len, cap,
				      "record %llu at %llu runs past the "
				      "ring's end", (unsigned long long)e,
				      (unsigned long long)r.pos);
			if (r.pos % cap == 0 && e > 0)
				pads++;
			qshm_consumer_release(c);
		}
		cr_assert_eq(err, -EAGAIN, "read: %s", qshm_last_error());
	}
	cr_assert_eq(got, 2001);
	cr_assert_gt(pads, 100, "the claims after each trim start new laps");
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/*
 * commit() walks the batch's headers. A reliable consumer maps the ring
 * read-write, so those headers may have been scribbled on before commit:
 * a length of 2^32 - 1 once made the walk step by 0 bytes forever. It must
 * end, and the consumer must call the record corrupt.
 */
Test(ring_format2, commit_ends_whatever_was_scribbled_on_its_headers)
{
	qshm_producer *p = t_create(t_ring, 1 << 16, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	alarm(10); /* a hang fails the test by SIGALRM */
	for (int k = 0; k < 3; k++) {
		static const uint32_t bad[] = { UINT32_MAX, 0, 1u << 31 };
		void *buf;
		cr_assert_eq(qshm_producer_claim(p, 100, 16, 0, &buf), 0);
		memset(buf, 0, 100);
		memcpy((unsigned char *)buf - 16, &bad[k], sizeof bad[k]);
		cr_assert_eq(qshm_producer_commit(p), 0);
	}
	alarm(0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), -QSHM_ECORRUPT, "%s",
		     qshm_last_error());
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Sleepers                                                           */

struct parked {
	atomic_int ready;
	unsigned flags;
};
static struct parked *pk;

static int parked_consumer_main(void *arg)
{
	qshm_consumer *c;
	if (qshm_consumer_attach(t_ring, pk->flags, &c))
		return T_CHILD_FAIL;
	qshm_consumer_set_wait(c, QSHM_WAIT_BLOCK, 0);
	t_arrive(&pk->ready);
	struct qshm_record r;
	qshm_consumer_read(c, &r, QSHM_FOREVER); /* killed in here */
	return T_CHILD_FAIL;
}

/* Consumers parked: the parked bits set. */
static uint32_t sleepers(const char *name)
{
	size_t len;
	uint8_t *m = t_map_rw(name, &len);
	cr_assert_not_null(m);
	uint64_t off;
	memcpy(&off, m + offsetof(struct qshm_kheader, kh_off_parked), 8);
	_Atomic uint64_t *bits = (_Atomic uint64_t *)(m + off);
	uint32_t n = 0;
	for (unsigned i = 0; i < QSHM_PARKED_WORDS; i++)
		n += (uint32_t)__builtin_popcountll(atomic_load(&bits[i]));
	munmap(m, len);
	return n;
}

static void killed_parked_consumer(unsigned flags)
{
	pk = t_shared(sizeof(*pk));
	pk->flags = flags;
	qshm_producer *p = t_create(t_ring, 1 << 16, 0, 0);
	pid_t kid = t_fork(parked_consumer_main, NULL, 30);
	cr_assert_eq(t_await(&pk->ready, 1, 10 * T_SEC), 0);
	/* Parked: the count says so. */
	uint64_t t0 = t_now_ns();
	while (sleepers(t_ring) == 0 && t_now_ns() - t0 < 5 * T_SEC)
		t_sleep_ns(T_MS);
	cr_assert_eq(sleepers(t_ring), 1, "the consumer parked");
	t_untrack(kid);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	cr_expect_eq(sleepers(t_ring), 1, "dead, still counted");

	struct qshm_producer_stats before, after;
	cr_assert_eq(qshm_producer_stats(p, &before), 0);
	for (uint64_t s = 0; s < 100000; s++) {
		int err = t_publish_seq(p, s, 32, 2 * (int64_t)T_SEC, 1);
		cr_assert_eq(err, 0, "commit %llu: %s", (unsigned long long)s,
			     t_errname(err));
	}
	cr_assert_eq(qshm_producer_stats(p, &after), 0);
	fprintf(stderr, "killed parked %s consumer: %llu wakes in 100000 "
		"commits, %llu evictions\n", flags ? "lossy" : "reliable",
		(unsigned long long)(after.wakes - before.wakes),
		(unsigned long long)(after.evictions - before.evictions));
	/* The first commit wakes the dead sleeper (the producer cannot
	 * know) and takes its bit; no other commit makes a syscall. */
	cr_expect_leq(after.wakes - before.wakes, 1);
	cr_expect_eq(sleepers(t_ring), 0, "the count came back to 0");
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_format2, killed_parked_lossy_consumer_costs_at_most_one_wake)
{
	killed_parked_consumer(QSHM_CONSUMER_LOSSY);
}

Test(ring_format2, killed_parked_reliable_consumer_costs_at_most_one_wake)
{
	killed_parked_consumer(0);
}

Test(ring_format2, wait_prepare_that_returns_0_or_error_holds_nothing)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	const uint32_t *word;
	uint32_t val;
	cr_assert_eq(qshm_consumer_wait_prepare(c, &word, &val), 1);
	cr_expect_eq(sleepers(t_ring), 1);
	qshm_consumer_wait_finish(c);
	qshm_consumer_wait_finish(c); /* a second one does nothing */
	cr_expect_eq(sleepers(t_ring), 0);
	cr_assert_eq(t_publish_seq(p, 0, 64, 0, 1), 0);
	cr_assert_eq(qshm_consumer_wait_prepare(c, &word, &val), 0);
	cr_expect_eq(sleepers(t_ring), 0, "0 returned, nothing held");
	qshm_consumer_wait_finish(c);
	cr_expect_eq(sleepers(t_ring), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	qshm_consumer_release(c);
	qshm_producer_close(p, 0);
	cr_assert_eq(qshm_consumer_wait_prepare(c, &word, &val),
		     -QSHM_ECLOSED);
	cr_expect_eq(sleepers(t_ring), 0, "error returned, nothing held");
	qshm_consumer_close(c);
	qshm_unlink(t_ring);
}

/* ---------------------------------------------------------------- */
/* Slots                                                              */

struct race {
	pthread_barrier_t go;
	atomic_int attached;
	atomic_int done;
	atomic_int ready;
	int32_t owner[8];
};
static struct race *rc;

static int exit_holding_slot_main(void *arg)
{
	qshm_consumer *c;
	if (qshm_consumer_attach(t_ring, (unsigned)(uintptr_t)arg, &c))
		return T_CHILD_FAIL;
	return T_CHILD_OK; /* dies holding its slot */
}

static int racing_attacher_main(void *arg)
{
	int idx = (int)(uintptr_t)arg;
	qshm_consumer *c;
	pthread_barrier_wait(&rc->go);
	int err = qshm_consumer_attach(t_ring, 0, &c);
	if (err == -QSHM_ENOSLOT) {
		atomic_fetch_add(&rc->done, 1);
		return T_CHILD_SKIP;
	}
	if (err)
		return T_CHILD_FAIL;
	rc->owner[idx] = getpid();
	atomic_fetch_add(&rc->attached, 1);
	atomic_fetch_add(&rc->done, 1);
	/* Hold the slot until the parent has looked. */
	t_await(&rc->ready, 1, 20 * T_SEC);
	qshm_consumer_close(c);
	return T_CHILD_OK;
}

/* A full table of dead consumers, eight attachers at once: exactly as
 * many win as there are slots, and no slot has two owners. */
Test(ring_format2, attachers_racing_for_dead_slots_never_share_one)
{
	for (int round = 0; round < 10; round++) {
		rc = t_shared(sizeof(*rc));
		t_barrier_init(&rc->go, 8);
		struct qshm_create_opts o = { .capacity = 4096,
					      .max_consumers = 3 };
		qshm_producer *p;
		cr_assert_eq(qshm_producer_create(t_ring, &o, &p), 0);
		for (int i = 0; i < 3; i++) {
			pid_t k = t_fork(exit_holding_slot_main,
					 (void *)(uintptr_t)(i == 1 ?
						QSHM_CONSUMER_LOSSY : 0), 10);
			cr_assert_eq(t_wait(k, 10 * T_SEC), T_CHILD_OK);
		}
		pid_t kids[8];
		for (int i = 0; i < 8; i++)
			kids[i] = t_fork(racing_attacher_main,
					 (void *)(uintptr_t)i, 30);
		cr_assert_eq(t_await(&rc->done, 8, 20 * T_SEC), 0);
		cr_expect_eq(atomic_load(&rc->attached), 3, "round %d: %d "
			     "attachers won 3 slots", round,
			     atomic_load(&rc->attached));
		/* Each slot's owner is a distinct winner. */
		qshm_consumer *ro;
		cr_assert_eq(qshm_consumer_attach(t_ring,
						  QSHM_CONSUMER_READONLY, &ro),
			     0);
		struct qshm_slot_info si[3];
		int n = qshm_consumer_slots(ro, si, 3);
		cr_expect_eq(n, 3);
		for (int i = 0; i < n && i < 3; i++) {
			int hits = 0;
			for (int k = 0; k < 8; k++)
				hits += rc->owner[k] == si[i].pid;
			cr_expect_eq(hits, 1, "slot %u owner %d", si[i].index,
				     si[i].pid);
			for (int j = 0; j < i; j++)
				cr_expect_neq(si[i].pid, si[j].pid);
		}
		qshm_consumer_close(ro);
		t_arrive(&rc->ready);
		for (int i = 0; i < 8; i++) {
			int st = t_wait(kids[i], 10 * T_SEC);
			cr_expect(st == T_CHILD_OK || st == T_CHILD_SKIP,
				  "attacher %d: %d", i, st);
		}
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	}
}

static int late_reader_main(void *arg)
{
	uint64_t total = (uint64_t)(uintptr_t)arg;
	qshm_consumer *c;
	pthread_barrier_wait(&rc->go);
	int err = qshm_consumer_attach(t_ring, 0, &c);
	if (err) {
		fprintf(stderr, "late reader: attach: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	struct qshm_record r;
	uint64_t got = 0;
	while ((err = qshm_consumer_read(c, &r, 5 * (int64_t)T_SEC)) == 0) {
		got++;
		qshm_consumer_release(c);
	}
	qshm_consumer_close(c);
	if (err != -QSHM_ECLOSED) {
		fprintf(stderr, "late reader: after %llu of at most %llu "
			"records: %s\n", (unsigned long long)got,
			(unsigned long long)total, t_errname(err));
		return T_CHILD_FAIL;
	}
	return T_CHILD_OK;
}

/* A producer blocked by a dead consumer evicts it while a new consumer
 * takes the same slot over: whichever wins, the live one is never evicted
 * (it reads to the end and sees the ring closed, not QSHM_EEVICTED). */
Test(ring_format2, eviction_racing_a_takeover_never_evicts_the_live_one)
{
	for (int round = 0; round < 20; round++) {
		rc = t_shared(sizeof(*rc));
		t_barrier_init(&rc->go, 2);
		struct qshm_create_opts o = { .capacity = 4096,
					      .max_consumers = 1 };
		qshm_producer *p;
		cr_assert_eq(qshm_producer_create(t_ring, &o, &p), 0);
		pid_t k = t_fork(exit_holding_slot_main, NULL, 10);
		cr_assert_eq(t_wait(k, 10 * T_SEC), T_CHILD_OK);
		pid_t reader = t_fork(late_reader_main,
				      (void *)(uintptr_t)400, 30);
		uint64_t s = 0;
		int err;
		while ((err = t_publish_seq(p, s, 64, 0, 1)) == 0)
			s++;
		cr_assert_eq(err, -EAGAIN);
		pthread_barrier_wait(&rc->go);
		/* Blocked on the dead consumer, or on the new one. */
		for (; s < 400; s++) {
			err = t_publish_seq(p, s, 64, 10 * (int64_t)T_SEC, 1);
			cr_assert_eq(err, 0, "round %d seq %llu: %s", round,
				     (unsigned long long)s, t_errname(err));
		}
		/* Keep the name until the reader has attached and read. */
		qshm_producer_close(p, 0);
		cr_expect_eq(t_wait(reader, 20 * T_SEC), T_CHILD_OK,
			     "round %d: the live consumer was evicted or "
			     "failed", round);
		qshm_unlink(t_ring);
	}
}

/* ---------------------------------------------------------------- */
/* Descriptor                                                         */

Test(ring_format2, descriptor_round_trips_and_reports_its_size)
{
	struct qshm_create_opts o = { .capacity = 4096, .meta_size = 128 };
	qshm_producer *p;
	cr_assert_eq(qshm_producer_create(t_ring, &o, &p), 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &c),
		     0);
	char buf[200];
	uint64_t v = 99;
	cr_expect_eq(qshm_consumer_meta(c, buf, sizeof(buf), &v), 0);
	cr_expect_eq(v, 0, "never published");
	cr_assert_eq(qshm_producer_set_meta(p, "run 1: 27 qubits", 16), 0);
	cr_expect_eq(qshm_consumer_meta(c, buf, sizeof(buf), &v), 16);
	cr_expect_eq(memcmp(buf, "run 1: 27 qubits", 16), 0);
	uint64_t v1 = v;
	cr_expect_eq(qshm_consumer_meta(c, buf, 5, &v), 16, "truncated copy "
		     "says the whole length");
	cr_expect_eq(memcmp(buf, "run 1", 5), 0);
	char big[129];
	memset(big, 'x', sizeof(big));
	cr_expect_eq(qshm_producer_set_meta(p, big, 129), -EMSGSIZE);
	cr_assert_eq(qshm_producer_set_meta(p, big, 128), 0);
	cr_expect_eq(qshm_consumer_meta(c, buf, sizeof(buf), &v), 128);
	cr_expect_gt(v, v1);
	cr_expect_eq(qshm_producer_set_meta(p, NULL, 0), 0);
	cr_expect_eq(qshm_consumer_meta(c, buf, sizeof(buf), &v), 0);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

static int meta_reader_main(void *arg)
{
	qshm_consumer *c;
	if (qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &c))
		return T_CHILD_FAIL;
	t_arrive(&pk->ready);
	unsigned char buf[4096];
	uint64_t seen = 0, v;
	while (atomic_load(&pk->ready) < 2) {
		int n = qshm_consumer_meta(c, buf, sizeof(buf), &v);
		if (n < 0 && n != -EAGAIN)
			return T_CHILD_FAIL;
		if (n <= 0)
			continue;
		/* A blob is n bytes all equal to n % 251. */
		for (int i = 0; i < n; i++)
			if (buf[i] != (unsigned char)(n % 251)) {
				fprintf(stderr, "torn blob: len %d byte %d = "
					"%u\n", n, i, buf[i]);
				return T_CHILD_FAIL;
			}
		seen++;
	}
	qshm_consumer_close(c);
	return seen ? T_CHILD_OK : T_CHILD_FAIL;
}

/* A reader in another process copying while the producer rewrites the
 * blob with other lengths never sees a mix of two blobs. */
Test(ring_format2, descriptor_is_never_torn_across_processes)
{
	pk = t_shared(sizeof(*pk));
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	unsigned char blob[4096];
	pid_t kid = t_fork(meta_reader_main, NULL, 30);
	cr_assert_eq(t_await(&pk->ready, 1, 10 * T_SEC), 0);
	uint64_t t0 = t_now_ns();
	for (unsigned i = 0; t_now_ns() - t0 < T_SEC; i++) {
		size_t n = 1 + (i * 2654435761u) % 4096;
		memset(blob, (int)(n % 251), n);
		cr_assert_eq(qshm_producer_set_meta(p, blob, n), 0);
	}
	t_arrive(&pk->ready);
	cr_expect_eq(t_wait(kid, 10 * T_SEC), T_CHILD_OK);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_format2, format_1_segment_gets_a_clear_version_error)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	size_t len;
	uint8_t *m = t_map_rw(t_ring, &len);
	cr_assert_not_null(m);
	uint16_t major = 1, minor = 0;
	memcpy(m + 8, &major, 2);
	memcpy(m + 10, &minor, 2);
	qshm_consumer *c;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &c), -QSHM_EVERSION);
	const char *msg = qshm_last_error();
	cr_expect(strstr(msg, "format 1.0") && strstr(msg, "3.x"),
		  "message names both formats: %s", msg);
	munmap(m, len);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

static int blocked_producer_main(void *arg)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_producer_set_wait(p, QSHM_WAIT_BLOCK, 0);
	t_arrive(&pk->ready);
	if (qshm_producer_wait_consumers(p, 1, 10 * (int64_t)T_SEC))
		return T_CHILD_FAIL;
	for (uint64_t s = 0;; s++) /* blocks when full; killed in there */
		if (t_publish_seq(p, s, 64, QSHM_FOREVER, 1))
			return T_CHILD_FAIL;
}

static uint32_t space_sleeper(const char *name)
{
	size_t len;
	uint8_t *m = t_map_rw(name, &len);
	cr_assert_not_null(m);
	struct qshm_kwake *kw = (struct qshm_kwake *)(m + QSHM_OFF_WAKE);
	uint32_t n = atomic_load(&kw->kw_space_sleepers);
	munmap(m, len);
	return n;
}

/* A producer killed while asleep on a full ring: the first release takes
 * its flag (one wake), later releases see none. */
Test(ring_format2, killed_parked_producer_flag_is_taken_once)
{
	pk = t_shared(sizeof(*pk));
	pid_t kid = t_fork(blocked_producer_main, NULL, 30);
	cr_assert_eq(t_await(&pk->ready, 1, 10 * T_SEC), 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	uint64_t t0 = t_now_ns();
	while (space_sleeper(t_ring) == 0 && t_now_ns() - t0 < 5 * T_SEC)
		t_sleep_ns(T_MS);
	cr_assert_eq(space_sleeper(t_ring), 1, "the producer parked");
	t_untrack(kid);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	cr_expect_eq(space_sleeper(t_ring), 1, "dead, still flagged");
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_assert_eq(qshm_consumer_release(c), 0);
	cr_expect_eq(space_sleeper(t_ring), 0, "the first release took it");
	qshm_consumer_close(c);
	qshm_unlink(t_ring);
}

/* ---------------------------------------------------------------- */
/* Batch records                                                      */

/* The next read finds a corrupt batch ("partial items"); then both
 * handles go. */
static void expect_partial_items_and_close(qshm_consumer *c,
					   qshm_producer *p)
{
	struct qshm_record r;
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -QSHM_ECORRUPT);
	cr_expect(strstr(qshm_last_error(), "partial items"), "%s",
		  qshm_last_error());
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* The header of the batch claimed at items (len bytes of items): 16-byte
 * aligned, 0 to 48 bytes of skip before the items; the one whose length
 * says so. */
static struct qshm_krec *batch_header(void *items, uint32_t len)
{
	for (unsigned skip = 0; skip < 64; skip += 16) {
		struct qshm_krec *h = (struct qshm_krec *)
			((unsigned char *)items - skip) - 1;
		if (h->kr_len == skip + len && h->kr_flags != 0)
			return h;
	}
	cr_assert_fail("no batch header before %p", items);
	return NULL;
}

Test(ring_format2, batch_record_carries_its_items_and_checks_them)
{
	qshm_producer *p = t_create(t_ring, 1 << 16, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	void *buf;
	cr_expect_eq(qshm_producer_claim_batch(p, 0, 64, 16, 0, &buf), -EINVAL);
	cr_expect_eq(qshm_producer_claim_batch(p, 4, 0, 16, 0, &buf), -EINVAL);
	cr_expect_eq(qshm_producer_claim_batch(p, 4, 70000, 16, 0, &buf),
		     -EINVAL);
	cr_expect_eq(qshm_producer_claim_batch(p, 1000, 64, 16, 0, &buf),
		     -QSHM_ETOOBIG);
	cr_assert_eq(qshm_producer_claim_batch(p, 32, 24, 16, 0, &buf), 0);
	for (int i = 0; i < 32; i++)
		memset((char *)buf + 24 * i, i, 24);
	cr_expect_eq(qshm_producer_trim(p, 24 * 10 + 1), -EINVAL,
		     "a trim must keep whole items");
	cr_assert_eq(qshm_producer_trim(p, 24 * 10), 0);
	cr_assert_eq(qshm_producer_commit(p), 0);
	cr_assert_eq(t_publish_seq(p, 1, 64, 0, 1), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.item_len, 24);
	cr_expect_eq(r.len, 240);
	for (int i = 0; i < 10; i++)
		cr_expect_eq(((const unsigned char *)r.data)[24 * i + 23], i);
	qshm_consumer_release(c);
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.item_len, 0, "a plain record after it");
	cr_expect_eq(t_check_record("c", &r, 1, 64), 0);
	qshm_consumer_release(c);

	/* A header whose item length does not divide its length. */
	cr_assert_eq(qshm_producer_claim_batch(p, 4, 16, 16, 0, &buf), 0);
	batch_header(buf, 64)->kr_flags = 7;
	cr_assert_eq(qshm_producer_commit(p), 0);
	expect_partial_items_and_close(c, p);
}

/* Format 3: wherever a batch record starts, its items start on a 64-byte
 * line, the consumer sees exactly the items, and a length that leaves no
 * room past the skip is corrupt. */
Test(ring_format2, batch_items_start_on_a_line_at_every_record_alignment)
{
	qshm_producer *p = t_create(t_ring, 1 << 16, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	unsigned seen_skip = 0;
	for (uint64_t s = 0; s < 3000; s++) {
		/* A plain record of 1..48 bytes first: the batch after it
		 * starts at every offset mod 64, laps and pads included. */
		cr_assert_eq(qshm_producer_publish(p, 16, "abcdefghijklmnop"
						   "abcdefghijklmnopabcdefghijklmnop",
						   1 + s % 48, 0), 0);
		void *buf;
		uint32_t n = 1 + (uint32_t)(s % 7), il = 8 + 8 * (s % 9);
		cr_assert_eq(qshm_producer_claim_batch(p, n, il, 17, 0, &buf), 0);
		cr_assert_eq((uintptr_t)buf % 64, 0, "items at %p", buf);
		struct qshm_krec *h = batch_header(buf, il * n);
		seen_skip |= 1u << (((unsigned char *)buf -
				     (unsigned char *)(h + 1)) / 16);
		for (uint32_t k = 0; k < n * il; k++)
			((unsigned char *)buf)[k] = (unsigned char)(s + k);
		cr_assert_eq(qshm_producer_commit(p), 0);
		struct qshm_record r;
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_assert_eq(r.len, 1 + s % 48);
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_assert_eq(r.item_len, il);
		cr_assert_eq(r.len, n * il);
		cr_assert_eq((uintptr_t)r.data % 64, 0, "read at %p", r.data);
		for (uint32_t k = 0; k < n * il; k++)
			cr_assert_eq(((const unsigned char *)r.data)[k],
				     (unsigned char)(s + k));
		qshm_consumer_release(c);
	}
	cr_expect_eq(seen_skip, 0xf, "skips of 0, 16, 32 and 48 bytes seen");

	/* A length that is all skip. */
	void *buf;
	cr_assert_eq(qshm_producer_publish(p, 16, "x", 1, 0), 0);
	cr_assert_eq(qshm_producer_claim_batch(p, 1, 64, 17, 0, &buf), 0);
	struct qshm_krec *h = batch_header(buf, 64);
	h->kr_len = (uint32_t)((unsigned char *)buf - (unsigned char *)(h + 1));
	cr_assert_eq(qshm_producer_commit(p), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	qshm_consumer_release(c);
	expect_partial_items_and_close(c, p);
}

/* Commit walks remembered claim positions, or the headers when a batch
 * has more than it remembers: both give every record, pads included. */
Test(ring_format2, large_and_small_batches_with_pads_commit_every_record)
{
	qshm_producer *p = t_create(t_ring, 1 << 16, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	uint64_t s = 0, r = 0;
	unsigned batches[] = { 1, 3, 64, 65, 200, 7, 129 };
	for (int lap = 0; lap < 20; lap++)
		for (unsigned b = 0; b < sizeof(batches) / sizeof(*batches);
		     b++) {
			for (unsigned k = 0; k < batches[b]; k++, s++)
				cr_assert_eq(t_publish_seq(p, s, 200, 0, 0), 0,
					     "seq %llu",
					     (unsigned long long)s);
			cr_assert_eq(qshm_producer_commit(p), 0);
			struct qshm_record rec;
			for (; r < s; r++) {
				cr_assert_eq(qshm_consumer_read(c, &rec, 0), 0,
					     "seq %llu",
					     (unsigned long long)r);
				cr_assert_eq(t_check_record("c", &rec, r, 200),
					     0);
			}
			qshm_consumer_release(c);
			cr_assert_eq(qshm_consumer_read(c, &rec, 0), -EAGAIN);
		}
	struct qshm_producer_stats st;
	cr_assert_eq(qshm_producer_stats(p, &st), 0);
	cr_expect_eq(st.records, s);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}
