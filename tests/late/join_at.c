/* SPDX-License-Identifier: MIT */
/*
 * join_at.c - runs a command once the run in ring NAME has published at
 * least SHOTS shots (the producer's user counter 3, docs/format.md) or the
 * ring is closed: a consumer that joins at a chosen moment of a run.
 * Watches read-only; gives up (exit 125) if the ring does not appear
 * within 30 s.
 *
 *	join_at NAME SHOTS CMD [ARGS...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "qshm/qshm.h"

static void nap(void)
{
	nanosleep(&(struct timespec){ 0, 200 * 1000 }, NULL);
}

int main(int argc, char **argv)
{
	qshm_consumer *c = NULL;
	struct qshm_ring_stats st;
	int err = -ENOENT;

	if (argc < 4) {
		fprintf(stderr, "usage: join_at NAME SHOTS CMD [ARGS...]\n");
		return 125;
	}
	uint64_t shots = strtoull(argv[2], NULL, 0);
	for (int i = 0; i < 150000 && err; i++) {
		err = qshm_consumer_attach(argv[1], QSHM_CONSUMER_READONLY, &c);
		if (err)
			nap();
	}
	if (err) {
		fprintf(stderr, "join_at: %s: %s\n", argv[1],
			qshm_strerror(err));
		return 125;
	}
	for (;;) {
		if (qshm_consumer_ring_stats(c, &st))
			return 125;
		if (st.user[3] >= shots || st.closed)
			break;
		nap();
	}
	qshm_consumer_close(c);
	execvp(argv[3], argv + 3);
	perror("join_at: exec");
	return 125;
}
