/* SPDX-License-Identifier: MIT */
/*
 * producer.c - the smallest qshm producer: creates ring NAME and publishes
 * COUNT records of its own type (a sequence number and a line of text),
 * zero-copy (claim, fill in place, commit), then closes the ring.
 *
 *	producer NAME [COUNT]      (then: consumer NAME)
 *
 * Build against an installed qshm: cc producer.c $(pkg-config --cflags
 * --libs qshm)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() in strict C11 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qshm/qshm.h>

#define EXAMPLE_TYPE 0x4242 /* any type >= QSHM_TYPE_USER_MIN is ours */

struct greeting {
	uint64_t n;
	char text[48];
};

int main(int argc, char **argv)
{
	qshm_producer *p;
	int count = argc > 2 ? atoi(argv[2]) : 10;

	if (argc < 2) {
		fprintf(stderr, "usage: %s NAME [COUNT]\n", argv[0]);
		return 2;
	}
	/* NULL options: a 1 MiB ring readable by this user. */
	int err = qshm_producer_create(argv[1], NULL, &p);
	if (err) {
		fprintf(stderr, "create %s: %s\n", argv[1], qshm_last_error());
		return 1;
	}
	/* Publish nothing until someone listens (a reliable consumer then
	 * sees every record). Wait up to 10 s. */
	if (qshm_producer_wait_consumers(p, 1, 10 * 1000000000LL))
		fprintf(stderr, "no consumer yet; publishing anyway\n");
	for (int i = 0; i < count; i++) {
		struct greeting *g;
		err = qshm_producer_claim(p, sizeof(*g), EXAMPLE_TYPE,
					  QSHM_FOREVER, (void **)&g);
		if (err) {
			fprintf(stderr, "claim: %s\n", qshm_strerror(err));
			break;
		}
		g->n = (uint64_t)i;
		snprintf(g->text, sizeof(g->text), "hello number %d", i);
		qshm_producer_commit(p); /* consumers see it now */
	}
	/* Closing lets consumers read what is left, then tells them. */
	qshm_producer_close(p, 0);
	return err ? 1 : 0;
}
