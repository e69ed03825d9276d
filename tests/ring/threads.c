/* SPDX-License-Identifier: MIT */
/*
 * threads.c - producer and consumers as threads of one process, so that
 * ThreadSanitizer (-Db_sanitize=thread) sees every access the ring's
 * protocol makes: a data race it reports is a missing or wrong memory
 * order. Plain C, no Criterion (its process arena does not start under
 * TSan). Reliable consumers only: lossy reads race by design (seqlock).
 * Exit 0 when every consumer got every record intact and in order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qshm/qshm.h"

#define NREC 200000u
#define NCONS 3

static char ring[64];

static uint8_t pattern(uint64_t seq, size_t i)
{
	return (uint8_t)((seq * 131u) ^ (i * 7u));
}

static size_t rec_len(uint64_t seq)
{
	return 1 + (size_t)(seq * 2654435761u % 700u);
}

struct cons {
	pthread_t t;
	int id;
	int bad;
	uint64_t got;
	qshm_consumer *c;
};

static void *consume(void *arg)
{
	struct cons *me = arg;
	struct qshm_record r;
	int err;

	/* Mixed wait modes: busy, spin-then-park, block. */
	qshm_consumer_set_wait(me->c, (enum qshm_wait_mode)(me->id % 3),
			       20000);
	for (;;) {
		err = qshm_consumer_read(me->c, &r, 0);
		if (err == -EAGAIN) {
			qshm_consumer_release(me->c);
			err = qshm_consumer_read(me->c, &r, QSHM_FOREVER);
		}
		if (err)
			break;
		const uint8_t *p = r.data;
		if (r.seq != me->got || r.len != rec_len(r.seq))
			me->bad++;
		else
			for (size_t i = 0; i < r.len; i++)
				if (p[i] != pattern(r.seq, i)) {
					me->bad++;
					break;
				}
		me->got++;
		if ((me->got & 7) == 0)
			qshm_consumer_release(me->c);
	}
	if (err != -QSHM_ECLOSED) {
		fprintf(stderr, "consumer %d: %s\n", me->id, qshm_strerror(err));
		me->bad++;
	}
	return NULL;
}

int main(void)
{
	struct qshm_create_opts o = { .capacity = 16384, .max_record = 1024 };
	struct cons cons[NCONS];
	qshm_producer *p;
	int err, bad = 0;

	snprintf(ring, sizeof(ring), "thr%d", (int)getpid());
	qshm_unlink(ring);
	err = qshm_producer_create(ring, &o, &p);
	if (err) {
		fprintf(stderr, "create: %s\n", qshm_last_error());
		return 1;
	}
	for (int i = 0; i < NCONS; i++) {
		memset(&cons[i], 0, sizeof(cons[i]));
		cons[i].id = i;
		err = qshm_consumer_attach(ring, 0, &cons[i].c);
		if (err) {
			fprintf(stderr, "attach: %s\n", qshm_last_error());
			return 1;
		}
		pthread_create(&cons[i].t, NULL, consume, &cons[i]);
	}
	qshm_producer_set_wait(p, QSHM_WAIT_SPIN_PARK, 20000);
	for (uint64_t seq = 0; seq < NREC; seq++) {
		uint8_t *b;
		size_t len = rec_len(seq);
		err = qshm_producer_claim(p, len, 16, QSHM_FOREVER,
					  (void **)&b);
		if (err) {
			fprintf(stderr, "claim: %s\n", qshm_last_error());
			return 1;
		}
		for (size_t i = 0; i < len; i++)
			b[i] = pattern(seq, i);
		if (seq % 3 == 2)
			qshm_producer_commit(p);
	}
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	for (int i = 0; i < NCONS; i++) {
		pthread_join(cons[i].t, NULL);
		if (cons[i].got != NREC || cons[i].bad) {
			fprintf(stderr, "consumer %d: %llu of %u records, %d "
				"bad\n", i, (unsigned long long)cons[i].got,
				NREC, cons[i].bad);
			bad++;
		}
		qshm_consumer_close(cons[i].c);
	}
	printf("%d consumers x %u records: %s\n", NCONS, NREC,
	       bad ? "FAILED" : "all intact, in order");
	return bad ? 1 : 0;
}
