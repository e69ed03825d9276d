/* SPDX-License-Identifier: MIT */
/*
 * test_lossy.c - lossy consumers: exact loss accounting, no torn data
 * accepted, and a lossy consumer never holds the producer back.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

TestSuite(ring_lossy, .init = t_init, .fini = t_fini, .timeout = 50);

/* ---------------------------------------------------------------- */
/* Deterministic, one process                                         */

Test(ring_lossy, overwritten_records_are_reported_in_rec_lost)
{
	qshm_producer *p = t_create(t_ring, 4096, 1024, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c), 0);
	/* 100 records of 200 bytes: far more than 4 KiB. */
	for (uint64_t s = 0; s < 100; s++) {
		void *buf;
		cr_assert_eq(qshm_producer_claim(p, 200, 16, 0, &buf), 0,
			     "lossy consumers never make the ring full");
		t_pattern_fill(buf, 200, s);
		qshm_producer_commit(p);
	}
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_gt(r.lost, 0);
	cr_expect_eq(r.seq, r.lost, "records 0..seq-1 were lost: seq %llu lost "
				    "%llu",
		     (unsigned long long)r.seq, (unsigned long long)r.lost);
	cr_expect_eq(t_check_record("lossy", &r, r.seq, 0), 0);
	cr_expect_eq(qshm_consumer_validate(c, &r), 0);
	uint64_t lost = r.lost, reads = 1, next = r.seq + 1;
	while (qshm_consumer_read(c, &r, 0) == 0) {
		cr_expect_eq(r.seq, next);
		cr_expect_eq(r.lost, 0);
		cr_expect_eq(t_check_record("lossy", &r, r.seq, 0), 0);
		cr_expect_eq(qshm_consumer_validate(c, &r), 0);
		next = r.seq + 1;
		reads++;
	}
	cr_expect_eq(next, 100);
	struct qshm_consumer_stats st;
	cr_assert_eq(qshm_consumer_stats(c, &st), 0);
	cr_expect_eq(st.lost, lost);
	cr_expect_eq(st.records, reads);
	cr_expect_eq(st.records + st.lost, 100);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_lossy, validate_reports_overrun_of_a_view_in_use)
{
	qshm_producer *p = t_create(t_ring, 4096, 1024, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c), 0);
	cr_assert_eq(t_publish_seq(p, 0, 200, 0, 1), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_assert_eq(r.seq, 0);
	cr_expect_eq(qshm_consumer_validate(c, &r), 0, "not overwritten yet");
	/* Overwrite it many times over. */
	for (uint64_t s = 1; s <= 100; s++)
		cr_assert_eq(t_publish_seq(p, s, 200, 0, 1), 0);
	cr_expect_eq(qshm_consumer_validate(c, &r), -QSHM_EOVERRUN);
	cr_expect_eq(qshm_consumer_validate(c, &r), -QSHM_EOVERRUN,
		     "validate is repeatable");
	struct qshm_consumer_stats st;
	cr_assert_eq(qshm_consumer_stats(c, &st), 0);
	cr_expect_eq(st.lost, 1, "the overrun view counts as lost once");
	qshm_consumer_release(c);

	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_gt(r.seq, 1);
	cr_expect_eq(r.lost, r.seq - 1, "seq %llu lost %llu",
		     (unsigned long long)r.seq, (unsigned long long)r.lost);
	cr_expect_eq(t_check_record("lossy", &r, r.seq, 200), 0);
	cr_expect_eq(qshm_consumer_validate(c, &r), 0);
	uint64_t n = 2;
	while (qshm_consumer_read(c, &r, 0) == 0)
		n++;
	cr_assert_eq(qshm_consumer_stats(c, &st), 0);
	cr_expect_eq(st.records, n);
	cr_expect_eq(st.records - 1 + st.lost, 101,
		     "reads minus the overrun one plus lost = published "
		     "(records %llu lost %llu)",
		     (unsigned long long)st.records,
		     (unsigned long long)st.lost);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_lossy, read_copy_skips_overwritten_records_and_never_tears)
{
	qshm_producer *p = t_create(t_ring, 4096, 1024, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c), 0);
	for (uint64_t s = 0; s < 100; s++)
		cr_assert_eq(t_publish_seq(p, s, 300, 0, 1), 0);
	char buf[300];
	struct qshm_record r;
	uint64_t got = 0, lost = 0, next = 0;
	int n;
	while ((n = qshm_consumer_read_copy(c, buf, sizeof(buf), &r, 0)) > 0) {
		cr_expect_eq(r.seq, next + r.lost);
		cr_expect_eq((size_t)n, t_len_for_seq(r.seq, 300));
		cr_expect_eq(t_pattern_mismatch(buf, (size_t)n, r.seq), -1);
		lost += r.lost;
		next = r.seq + 1;
		got++;
	}
	cr_expect_eq(n, -EAGAIN);
	cr_expect_gt(lost, 0);
	cr_expect_eq(got + lost, 100);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Cross-process, slow lossy consumers                                */

#define LCAP (64u * 1024)
#define LMAX 2048u

struct lossy_result {
	atomic_ullong valid, lost_sum, overruns, seq_errors, torn_accepted;
	atomic_ullong next, st_records, st_lost, reads;
};

struct lossy_shared {
	atomic_int ready;
	struct lossy_result res[2];
};

static struct lossy_shared *lsh;
static uint64_t lossy_n;

/* In place, validate after use; sometimes slow between read and validate
 * so that the producer overwrites the view. */
static int lossy_inplace_main(void *arg)
{
	struct lossy_result *res = &lsh->res[0];
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c);
	if (err) {
		fprintf(stderr, "inplace: attach: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	t_arrive(&lsh->ready);
	uint64_t next = 0, valid = 0, lost = 0, overruns = 0, reads = 0;
	uint64_t seq_errors = 0, torn = 0;
	struct qshm_record r;
	for (;;) {
		err = qshm_consumer_read(c, &r, 10 * (int64_t)T_SEC);
		if (err == -QSHM_ECLOSED)
			break;
		if (err) {
			fprintf(stderr, "inplace: read after %llu: %s (%s)\n",
				(unsigned long long)next, t_errname(err),
				qshm_last_error());
			return T_CHILD_FAIL;
		}
		reads++;
		if (r.seq != next + r.lost) {
			if (seq_errors++ < 5)
				fprintf(stderr,
					"inplace: seq %llu, expected %llu + lost "
					"%llu\n",
					(unsigned long long)r.seq,
					(unsigned long long)next,
					(unsigned long long)r.lost);
		}
		lost += r.lost;
		/* Use the bytes in place (may be overwritten meanwhile). */
		int ok = r.len == t_len_for_seq(r.seq, LMAX) &&
			 r.type == t_type_for_seq(r.seq) && r.len <= LMAX;
		long off = ok ? t_pattern_mismatch(r.data, r.len, r.seq) : -2;
		if (reads % 613 == 0)
			t_sleep_ns(300000); /* let the producer lap us */
		else if (reads % 89 == 0)
			for (volatile int k = 0; k < 20000; k++)
				;
		err = qshm_consumer_validate(c, &r);
		if (err == 0) {
			if (off != -1) {
				if (torn++ < 5) {
					fprintf(stderr,
						"inplace: validate accepted a "
						"torn record seq %llu pos %llu "
						"len %u type %u\n",
						(unsigned long long)r.seq,
						(unsigned long long)r.pos, r.len,
						r.type);
					if (off >= 0)
						t_pattern_dump("inplace", r.data,
							       r.len, r.seq, off);
				}
			} else {
				valid++;
			}
		} else if (err == -QSHM_EOVERRUN) {
			overruns++;
		} else {
			fprintf(stderr, "inplace: validate: %s\n",
				t_errname(err));
			return T_CHILD_FAIL;
		}
		next = r.seq + 1;
		if (reads % 4 == 0)
			qshm_consumer_release(c);
	}
	struct qshm_consumer_stats st;
	qshm_consumer_stats(c, &st);
	qshm_consumer_close(c);
	res->valid = valid;
	res->lost_sum = lost;
	res->overruns = overruns;
	res->seq_errors = seq_errors;
	res->torn_accepted = torn;
	res->next = next;
	res->st_records = st.records;
	res->st_lost = st.lost;
	res->reads = reads;
	return T_CHILD_OK;
}

/* Copies with read_copy: every copy must be intact. */
static int lossy_copy_main(void *arg)
{
	struct lossy_result *res = &lsh->res[1];
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c);
	if (err) {
		fprintf(stderr, "copy: attach: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	t_arrive(&lsh->ready);
	static char buf[LMAX];
	uint64_t next = 0, valid = 0, gaps = 0, lost = 0, seq_errors = 0;
	uint64_t torn = 0;
	struct qshm_record r;
	for (;;) {
		int n = qshm_consumer_read_copy(c, buf, sizeof(buf), &r,
						10 * (int64_t)T_SEC);
		if (n == -QSHM_ECLOSED)
			break;
		if (n < 0) {
			fprintf(stderr, "copy: read_copy after %llu: %s\n",
				(unsigned long long)next, t_errname(n));
			return T_CHILD_FAIL;
		}
		/* The caller never sees a record that was overwritten while
		 * being copied: it is lost just before r, so rec.lost counts
		 * it and the gap in seq equals rec.lost. */
		if (r.seq != next + r.lost) {
			if (seq_errors++ < 5)
				fprintf(stderr,
					"copy: seq %llu, expected %llu + lost "
					"%llu\n",
					(unsigned long long)r.seq,
					(unsigned long long)next,
					(unsigned long long)r.lost);
		}
		gaps += r.seq - next;
		lost += r.lost;
		long off = -1;
		if ((size_t)n != t_len_for_seq(r.seq, LMAX) ||
		    (off = t_pattern_mismatch(buf, (size_t)n, r.seq)) != -1) {
			if (torn++ < 5) {
				fprintf(stderr, "copy: torn copy seq %llu len %d\n",
					(unsigned long long)r.seq, n);
				if (off >= 0)
					t_pattern_dump("copy", buf, (size_t)n,
						       r.seq, off);
			}
		} else {
			valid++;
		}
		if (valid % 700 == 0)
			t_sleep_ns(200000);
		next = r.seq + 1;
	}
	struct qshm_consumer_stats st;
	qshm_consumer_stats(c, &st);
	qshm_consumer_close(c);
	res->valid = valid;
	res->lost_sum = lost;
	res->overruns = gaps; /* for the copy consumer: sum of seq gaps */
	res->seq_errors = seq_errors;
	res->torn_accepted = torn;
	res->next = next;
	res->st_records = st.records;
	res->st_lost = st.lost;
	return T_CHILD_OK;
}

Test(ring_lossy, slow_lossy_consumers_count_losses_exactly_and_accept_no_torn_data)
{
	lossy_n = 400000;
	lsh = t_shared(sizeof(*lsh));
	qshm_producer *p = t_create(t_ring, LCAP, LMAX, 0);
	pid_t a = t_fork(lossy_inplace_main, NULL, 60);
	pid_t b = t_fork(lossy_copy_main, NULL, 60);
	cr_assert_eq(t_await(&lsh->ready, 2, 10 * T_SEC), 0);

	uint64_t t0 = t_now_ns();
	for (uint64_t s = 0; s < lossy_n; s++) {
		int err = t_publish_seq(p, s, LMAX, 0, (s % 4) == 3);
		cr_assert_eq(err, 0, "seq %llu: %s: a lossy consumer held the "
				     "producer back",
			     (unsigned long long)s, t_errname(err));
		if (s % 2000 == 1999) {
			qshm_producer_commit(p);
			t_sleep_ns(200000); /* spread the run out */
		}
	}
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_assert_eq(qshm_producer_close(p, 0), 0);
	cr_expect_eq(ps.full_waits, 0);
	cr_expect_eq(ps.records, lossy_n);
	uint64_t tp = t_now_ns() - t0;

	int rca = t_wait(a, 30 * T_SEC), rcb = t_wait(b, 30 * T_SEC);
	cr_assert_eq(rca, 0, "in-place consumer exited %d", rca);
	cr_assert_eq(rcb, 0, "copy consumer exited %d", rcb);

	struct lossy_result *ra = &lsh->res[0], *rb = &lsh->res[1];
	fprintf(stderr,
		"lossy: published %llu in %.2f s; in-place: valid %llu lost "
		"%llu (rec.lost) + %llu overruns, stats records %llu lost "
		"%llu; copy: valid %llu gaps %llu rec.lost %llu, stats "
		"records %llu lost %llu\n",
		(unsigned long long)lossy_n, tp / 1e9,
		(unsigned long long)ra->valid, (unsigned long long)ra->lost_sum,
		(unsigned long long)ra->overruns,
		(unsigned long long)ra->st_records,
		(unsigned long long)ra->st_lost, (unsigned long long)rb->valid,
		(unsigned long long)rb->overruns,
		(unsigned long long)rb->lost_sum,
		(unsigned long long)rb->st_records,
		(unsigned long long)rb->st_lost);

	/* In place. */
	cr_expect_eq(ra->torn_accepted, 0, "validate accepted torn data");
	cr_expect_eq(ra->seq_errors, 0, "rec.seq != previous + 1 + rec.lost");
	cr_expect_eq(ra->next, lossy_n, "read up to the last record");
	cr_expect_eq(ra->valid + ra->lost_sum + ra->overruns, lossy_n,
		     "published == valid + lost exactly");
	cr_expect_eq(ra->st_lost, ra->lost_sum + ra->overruns,
		     "stats.lost counts rec.lost and overruns");
	cr_expect_eq(ra->st_records, ra->reads);
	cr_expect_gt(ra->lost_sum, 0, "the consumer was never lapped: the "
				      "test did not exercise loss");
	cr_expect_gt(ra->valid, 0);
	if (ra->overruns == 0)
		fprintf(stderr, "lossy: note: no overrun was caught in "
				"validate this run\n");

	/* Copies. */
	cr_expect_eq(rb->torn_accepted, 0, "read_copy returned torn data");
	cr_expect_eq(rb->seq_errors, 0,
		     "read_copy: rec.seq != previous + 1 + rec.lost (sum of "
		     "rec.lost %llu, records skipped %llu)",
		     (unsigned long long)rb->lost_sum,
		     (unsigned long long)rb->overruns);
	cr_expect_eq(rb->st_records, rb->valid,
		     "stats.records counts records returned (%llu), not "
		     "copies retried (%llu)",
		     (unsigned long long)rb->valid,
		     (unsigned long long)rb->st_records);
	cr_expect_eq(rb->next, lossy_n);
	cr_expect_eq(rb->valid + rb->overruns, lossy_n,
		     "copies + seq gaps == published");
	cr_expect_eq(rb->st_lost, rb->overruns,
		     "stats.lost == records skipped (sum of seq gaps)");
	cr_expect_gt(rb->overruns, 0);
}

/* ---------------------------------------------------------------- */
/* A stopped lossy consumer never blocks the producer                 */

struct stop_shared {
	atomic_int ready, read10;
	atomic_ullong reads, lost, next, st_lost;
};
static struct stop_shared *ssh;

static int stopped_lossy_main(void *arg)
{
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c);
	if (err) {
		fprintf(stderr, "stopped: attach: %s\n", t_errname(err));
		return T_CHILD_FAIL;
	}
	t_arrive(&ssh->ready);
	struct qshm_record r;
	uint64_t reads = 0, lost = 0, next = 0;
	for (int i = 0; i < 10; i++) {
		/* Read and hold the views (no release). */
		err = qshm_consumer_read(c, &r, 10 * (int64_t)T_SEC);
		if (err || r.seq != (uint64_t)i) {
			fprintf(stderr, "stopped: read %d: %s seq %llu\n", i,
				t_errname(err), (unsigned long long)r.seq);
			return T_CHILD_FAIL;
		}
		reads++;
		next = r.seq + 1;
	}
	t_arrive(&ssh->read10);
	raise(SIGSTOP);
	/* Continued: read to the end, counting. */
	for (;;) {
		err = qshm_consumer_read(c, &r, 10 * (int64_t)T_SEC);
		if (err == -QSHM_ECLOSED)
			break;
		if (err) {
			fprintf(stderr, "stopped: read: %s\n", t_errname(err));
			return T_CHILD_FAIL;
		}
		if (r.seq != next + r.lost) {
			fprintf(stderr, "stopped: seq %llu next %llu lost %llu\n",
				(unsigned long long)r.seq,
				(unsigned long long)next,
				(unsigned long long)r.lost);
			return T_CHILD_FAIL;
		}
		int ok = t_check_record("stopped", &r, r.seq, 500) == 0;
		err = qshm_consumer_validate(c, &r);
		if (err == 0 && !ok)
			return T_CHILD_FAIL; /* torn data accepted */
		if (err != 0 && err != -QSHM_EOVERRUN) {
			fprintf(stderr, "stopped: validate: %s\n",
				t_errname(err));
			return T_CHILD_FAIL;
		}
		lost += r.lost;
		next = r.seq + 1;
		if (err == 0)
			reads++; /* overruns count in stats.lost instead */
		qshm_consumer_release(c);
	}
	struct qshm_consumer_stats st;
	qshm_consumer_stats(c, &st);
	ssh->reads = reads;
	ssh->lost = lost;
	ssh->next = next;
	ssh->st_lost = st.lost;
	qshm_consumer_close(c);
	return T_CHILD_OK;
}

Test(ring_lossy, stopped_lossy_consumer_never_blocks_the_producer)
{
	ssh = t_shared(sizeof(*ssh));
	qshm_producer *p = t_create(t_ring, 8192, 1024, 0);
	/* Also one in this process that never reads, and an inspector. */
	qshm_consumer *idle, *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &idle),
		     0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	pid_t kid = t_fork(stopped_lossy_main, NULL, 40);
	cr_assert_eq(t_await(&ssh->ready, 1, 10 * T_SEC), 0);
	for (uint64_t s = 0; s < 10; s++)
		cr_assert_eq(t_publish_seq(p, s, 500, 0, 1), 0);
	cr_assert_eq(t_await(&ssh->read10, 1, 10 * T_SEC), 0);
	int st;
	cr_assert_eq(waitpid(kid, &st, WUNTRACED), kid);
	cr_assert(WIFSTOPPED(st), "consumer did not stop");

	const uint64_t n = 200000; /* ~ 12000 times the ring */
	uint64_t t0 = t_now_ns();
	for (uint64_t s = 10; s < n; s++) {
		int err = t_publish_seq(p, s, 500, 0, 1);
		cr_assert_eq(err, 0, "seq %llu: claim with timeout 0 failed: %s",
			     (unsigned long long)s, t_errname(err));
	}
	uint64_t dt = t_now_ns() - t0;
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(ps.full_waits, 0);
	cr_expect_eq(ps.records, n);
	fprintf(stderr, "stopped lossy: %llu records in %.3f s\n",
		(unsigned long long)n, dt / 1e9);

	/* The idle consumer resynchronises and counts exactly. */
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(idle, &r, 0), 0);
	cr_expect_eq(r.seq, r.lost, "first read: seq %llu lost %llu",
		     (unsigned long long)r.seq, (unsigned long long)r.lost);
	cr_expect_gt(r.lost, n / 2);
	cr_expect_eq(t_check_record("idle", &r, r.seq, 500), 0);
	cr_expect_eq(qshm_consumer_validate(idle, &r), 0);

	kill(kid, SIGCONT);
	cr_assert_eq(qshm_producer_close(p, 0), 0);
	int rc = t_wait(kid, 20 * T_SEC);
	cr_assert_eq(rc, 0, "stopped consumer exited %d", rc);
	cr_expect_eq(ssh->next, n);
	cr_expect_gt(ssh->lost, 0);
	cr_expect_eq(ssh->reads + ssh->st_lost, n,
		     "reads %llu + lost %llu != %llu",
		     (unsigned long long)ssh->reads,
		     (unsigned long long)ssh->st_lost, (unsigned long long)n);
	qshm_consumer_close(idle);
	qshm_consumer_close(ro);
	qshm_unlink(t_ring);
}
