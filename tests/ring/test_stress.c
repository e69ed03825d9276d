/* SPDX-License-Identifier: MIT */
/*
 * test_stress.c - one producer and four reliable consumers, in five
 * processes, exchanging millions of records through a small ring that wraps
 * many times. Sizes vary from 1 byte to near max_record; every payload is a
 * splitmix64 stream seeded by its sequence number and is verified byte for
 * byte. The producer batches its claims (and trims some); the consumers
 * batch their releases, each with its own batch size and wait mode.
 *
 * QSHM_STRESS_RECORDS overrides the number of records (default 2.5 M, i.e.
 * 10 M deliveries over the four consumers).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define NCONS 4
#define CAPACITY (64u * 1024)
#define MAXREC 4096u

struct stress_shared {
	atomic_int ready;
	atomic_ullong received[NCONS];
	atomic_ullong release_batches[NCONS];
};

static struct stress_shared *sh;
static uint64_t nrecords;

static uint64_t stress_records(void)
{
	const char *e = getenv("QSHM_STRESS_RECORDS");
	uint64_t n = e ? strtoull(e, NULL, 0) : 0;
	return n ? n : 2500000;
}

static int consumer_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	static const unsigned batch[NCONS] = { 1, 3, 8, 32 };
	static const enum qshm_wait_mode mode[NCONS] = {
		QSHM_WAIT_SPIN_PARK, QSHM_WAIT_BLOCK, QSHM_WAIT_SPIN_PARK,
		QSHM_WAIT_BLOCK
	};
	char who[32];
	snprintf(who, sizeof(who), "consumer %d", id);

	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_RELIABLE, &c);
	if (err) {
		fprintf(stderr, "%s: attach: %s (%s)\n", who, t_errname(err),
			qshm_last_error());
		return T_CHILD_FAIL;
	}
	if ((err = qshm_consumer_set_wait(c, mode[id], 2000)) != 0) {
		fprintf(stderr, "%s: set_wait: %s\n", who, t_errname(err));
		return T_CHILD_FAIL;
	}
	t_arrive(&sh->ready);

	uint64_t seq = 0;
	unsigned held = 0;
	uint64_t batches = 0;
	struct qshm_record r;
	for (;;) {
		err = qshm_consumer_read(c, &r, 0);
		if (err == -EAGAIN) {
			/* Nothing new: release what we hold before waiting, or
			 * the producer could wait on us while we wait on it. */
			if (held) {
				qshm_consumer_release(c);
				held = 0;
				batches++;
			}
			err = qshm_consumer_read(c, &r, 10 * (int64_t)T_SEC);
		}
		if (err == -QSHM_ECLOSED)
			break;
		if (err) {
			fprintf(stderr, "%s: read after seq %llu: %s (%s)\n", who,
				(unsigned long long)seq, t_errname(err),
				qshm_last_error());
			return T_CHILD_FAIL;
		}
		if (r.lost != 0) {
			fprintf(stderr, "%s: reliable consumer lost %llu before "
					"seq %llu\n",
				who, (unsigned long long)r.lost,
				(unsigned long long)r.seq);
			return T_CHILD_FAIL;
		}
		if (t_check_record(who, &r, seq, MAXREC) != 0)
			return T_CHILD_FAIL;
		seq++;
		if ((seq & 1023) == 0)
			atomic_store_explicit(&sh->received[id], seq,
					      memory_order_relaxed);
		if (++held >= batch[id]) {
			qshm_consumer_release(c);
			held = 0;
			batches++;
		}
	}
	qshm_consumer_release(c);
	atomic_store(&sh->received[id], seq);
	atomic_store(&sh->release_batches[id], batches);

	struct qshm_consumer_stats st;
	if (qshm_consumer_stats(c, &st) != 0 || st.records != seq ||
	    st.lost != 0) {
		fprintf(stderr, "%s: stats records %llu lost %llu, read %llu\n",
			who, (unsigned long long)st.records,
			(unsigned long long)st.lost, (unsigned long long)seq);
		return T_CHILD_FAIL;
	}
	qshm_consumer_close(c);
	if (seq != nrecords) {
		fprintf(stderr, "%s: got %llu records, expected %llu\n", who,
			(unsigned long long)seq, (unsigned long long)nrecords);
		return T_CHILD_FAIL;
	}
	return T_CHILD_OK;
}

TestSuite(ring_stress, .init = t_init, .fini = t_fini);

Test(ring_stress, four_reliable_consumers_receive_every_record_in_order,
     .timeout = 110)
{
	nrecords = stress_records();
	sh = t_shared(sizeof(*sh));

	qshm_producer *p = t_create(t_ring, CAPACITY, MAXREC, 0);
	cr_assert_eq(qshm_producer_set_wait(p, QSHM_WAIT_SPIN_PARK, 2000), 0);

	pid_t kids[NCONS];
	for (int i = 0; i < NCONS; i++)
		kids[i] = t_fork(consumer_main, (void *)(intptr_t)i, 120);
	int err = qshm_producer_wait_consumers(p, NCONS, 10 * (int64_t)T_SEC);
	cr_assert_eq(err, 0, "consumers did not attach: %s", t_errname(err));
	cr_assert_eq(t_await(&sh->ready, NCONS, 10 * T_SEC), 0);

	uint64_t t0 = t_now_ns(), bytes = 0, trims = 0, commits = 0;
	uint64_t seq = 0;
	while (seq < nrecords) {
		/* Batch of 1..8 claims, then one commit. */
		unsigned b = 1 + (unsigned)((seq / 7) % 8);
		for (unsigned k = 0; k < b && seq < nrecords; k++, seq++) {
			size_t len = t_len_for_seq(seq, MAXREC);
			uint16_t type = t_type_for_seq(seq);
			void *buf;
			int trim = (seq % 16) == 5;
			err = qshm_producer_claim(p, trim ? MAXREC : len, type,
						  10 * (int64_t)T_SEC, &buf);
			if (err) {
				fprintf(stderr, "claim seq %llu: %s; received:",
					(unsigned long long)seq, t_errname(err));
				for (int i = 0; i < NCONS; i++)
					fprintf(stderr, " %llu",
						(unsigned long long)atomic_load(
							&sh->received[i]));
				fprintf(stderr, "\n");
			}
			cr_assert_eq(err, 0, "claim seq %llu: %s",
				     (unsigned long long)seq, t_errname(err));
			t_pattern_fill(buf, len, seq);
			if (trim) {
				cr_assert_eq(qshm_producer_trim(p, len), 0);
				trims++;
			}
			bytes += len;
		}
		cr_assert_eq(qshm_producer_commit(p), 0);
		commits++;
	}
	uint64_t t_pub = t_now_ns() - t0;
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_assert_eq(qshm_producer_close(p, 0), 0);

	int failed = 0;
	for (int i = 0; i < NCONS; i++) {
		int rc = t_wait(kids[i], 60 * T_SEC);
		cr_expect_eq(rc, 0, "consumer %d exited %d after %llu records",
			     i, rc,
			     (unsigned long long)atomic_load(&sh->received[i]));
		failed |= rc != 0;
	}
	uint64_t dt = t_now_ns() - t0;
	fprintf(stderr,
		"stress: %llu records (%llu deliveries, %.1f MB payload each "
		"consumer) in %.2f s (publish %.2f s): %.2f M deliveries/s; "
		"%llu commits, %llu trims; producer full_waits %llu wakes %llu; "
		"release batches %llu %llu %llu %llu\n",
		(unsigned long long)nrecords,
		(unsigned long long)(nrecords * NCONS), bytes / 1e6, dt / 1e9,
		t_pub / 1e9, nrecords * NCONS / (dt / 1e3),
		(unsigned long long)commits, (unsigned long long)trims,
		(unsigned long long)ps.full_waits, (unsigned long long)ps.wakes,
		(unsigned long long)atomic_load(&sh->release_batches[0]),
		(unsigned long long)atomic_load(&sh->release_batches[1]),
		(unsigned long long)atomic_load(&sh->release_batches[2]),
		(unsigned long long)atomic_load(&sh->release_batches[3]));
	cr_expect_eq(ps.records, nrecords);
	cr_expect_eq(ps.bytes, bytes);
	cr_expect_gt(ps.full_waits, 0,
		     "the ring never filled: the test did not exercise "
		     "back-pressure");
	cr_expect_eq(ps.evictions, 0);
	cr_assert_not(failed);
}
