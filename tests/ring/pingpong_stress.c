/* SPDX-License-Identifier: MIT */
/*
 * pingpong_stress.c - the load under which format 1's commit words failed:
 * 4 parallel ping-pong pairs of processes, each through two 4 KiB rings,
 * spin-then-park, payload lengths 1..64 (every residue mod 16), the
 * consumers following the commit words. Every record is checked (seq,
 * length, type, every payload byte). Slow suite: 200 runs by default.
 *
 * Usage: pingpong_stress [RUNS] [ROUND_TRIPS]
 * Exit 0 when no bad record was seen in any run, 1 otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <qshm/qshm.h>

#define PAIRS 4
#define SPIN_NS 20000
#define TIMEOUT_NS (10 * INT64_C(1000000000))

static uint8_t pattern(uint64_t seq, size_t i)
{
	uint64_t x = (seq + 1) * 0x9e3779b97f4a7c15u + i * 0xbf58476d1ce4e5b9u;
	return (uint8_t)(x >> 56);
}

static size_t len_of(uint64_t seq)
{
	return 1 + (size_t)((seq * 7 + seq / 64) % 64);
}

static int send(qshm_producer *p, uint64_t seq)
{
	void *buf;
	size_t len = len_of(seq);
	int err = qshm_producer_claim(p, len, (uint16_t)(16 + seq % 7),
				      TIMEOUT_NS, &buf);
	if (err)
		return err;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = pattern(seq, i);
	return qshm_producer_commit(p);
}

/* 0, or -1 after printing what is wrong with the record. */
static int check(const char *who, const struct qshm_record *r, uint64_t seq)
{
	const char *bad = NULL;
	if (r->seq != seq)
		bad = "seq";
	else if (r->len != len_of(seq))
		bad = "length";
	else if (r->type != 16 + seq % 7)
		bad = "type";
	else
		for (size_t i = 0; i < r->len; i++)
			if (((const uint8_t *)r->data)[i] != pattern(seq, i))
				bad = "payload";
	if (!bad)
		return 0;
	fprintf(stderr, "%s: bad record (%s): want seq %llu len %zu, got seq "
		"%llu len %u type %u at %llu\n", who, bad,
		(unsigned long long)seq, len_of(seq),
		(unsigned long long)r->seq, r->len, r->type,
		(unsigned long long)r->pos);
	return -1;
}

static qshm_producer *create(const char *name)
{
	struct qshm_create_opts o = { .capacity = 4096, .max_consumers = 2 };
	qshm_producer *p;
	int err = qshm_producer_create(name, &o, &p);
	if (err) {
		fprintf(stderr, "create %s: %s\n", name, qshm_last_error());
		return NULL;
	}
	qshm_producer_set_wait(p, QSHM_WAIT_SPIN_PARK, SPIN_NS);
	return p;
}

static qshm_consumer *attach(const char *name)
{
	qshm_consumer *c;
	/* 10 s at least for the peer to start and create its ring. */
	for (int i = 0; i < 10000; i++) {
		if (qshm_consumer_attach(name, 0, &c) == 0) {
			qshm_consumer_set_wait(c, QSHM_WAIT_SPIN_PARK,
					       SPIN_NS);
			return c;
		}
		usleep(1000);
	}
	fprintf(stderr, "attach %s: %s\n", name, qshm_last_error());
	return NULL;
}

/* One side of a pair: ping sends first on "a" and reads "b". */
static int side(const char *out, const char *in, int ping, uint64_t n)
{
	qshm_producer *p = create(out);
	if (!p)
		return 1;
	qshm_consumer *c = attach(in);
	if (!c)
		return 1;
	if (qshm_producer_wait_consumers(p, 1, TIMEOUT_NS))
		return 1;
	struct qshm_record r;
	int bad = 0;
	for (uint64_t s = 0; s < n && !bad; s++) {
		if (ping && send(p, s))
			return 1;
		int err = qshm_consumer_read(c, &r, TIMEOUT_NS);
		if (err) {
			fprintf(stderr, "%s: read %llu: %s\n", in,
				(unsigned long long)s, qshm_last_error());
			return 1;
		}
		bad = check(in, &r, s) != 0;
		qshm_consumer_release(c);
		if (!ping && send(p, s))
			return 1;
	}
	qshm_producer_drain(p, TIMEOUT_NS);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	return bad;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 200;
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000;
	int failed = 0;

	if (argc > 1 && (!strcmp(argv[1], "--help") || runs <= 0)) {
		printf("usage: %s [RUNS] [ROUND_TRIPS]\n", argv[0]);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	for (int run = 0; run < runs; run++) {
		pid_t kids[2 * PAIRS];
		for (int k = 0; k < 2 * PAIRS; k++) {
			kids[k] = fork();
			if (kids[k] == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				alarm(60);
				char a[64], b[64];
				snprintf(a, sizeof(a), "pps%d-%d-a", getppid(),
					 k / 2);
				snprintf(b, sizeof(b), "pps%d-%d-b", getppid(),
					 k / 2);
				_exit(k % 2 ? side(b, a, 0, n) :
					      side(a, b, 1, n));
			}
		}
		for (int k = 0; k < 2 * PAIRS; k++) {
			int st;
			waitpid(kids[k], &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				fprintf(stderr, "run %d: process %d failed "
					"(status 0x%x)\n", run, k, st);
				failed++;
			}
		}
		for (int k = 0; k < PAIRS; k++) {
			char name[64];
			snprintf(name, sizeof(name), "pps%d-%d-a", getpid(), k);
			qshm_unlink(name);
			snprintf(name, sizeof(name), "pps%d-%d-b", getpid(), k);
			qshm_unlink(name);
		}
	}
	printf("%d runs x %d pairs x %llu round trips: %d failures\n", runs,
	       PAIRS, (unsigned long long)n, failed);
	return failed != 0;
}
