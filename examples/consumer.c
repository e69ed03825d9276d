/* SPDX-License-Identifier: MIT */
/*
 * consumer.c - the smallest qshm consumer: attaches to ring NAME (waiting
 * for it to appear), reads every record in place and prints its sequence
 * number, type and length, until the producer closes the ring.
 *
 *	consumer NAME
 *
 * Build against an installed qshm: cc consumer.c $(pkg-config --cflags
 * --libs qshm)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() in strict C11 */

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <qshm/qshm.h>

int main(int argc, char **argv)
{
	qshm_consumer *c;
	struct qshm_record r;
	int err, tries = 0;
	unsigned long n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME\n", argv[0]);
		return 2;
	}
	/* The ring may not exist yet: try for 5 s. */
	for (;;) {
		err = qshm_consumer_attach(argv[1], QSHM_CONSUMER_RELIABLE, &c);
		if ((err != -ENOENT && err != -QSHM_ECREATING) ||
		    tries++ == 500)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	if (err) {
		fprintf(stderr, "attach %s: %s\n", argv[1], qshm_last_error());
		return 1;
	}
	/* read() returns records in order; the data is valid until
	 * release(), which gives the space back to the producer. */
	while ((err = qshm_consumer_read(c, &r, QSHM_FOREVER)) == 0) {
		printf("seq %llu type 0x%x len %u\n",
		       (unsigned long long)r.seq, r.type, r.len);
		n++;
		qshm_consumer_release(c);
	}
	/* -QSHM_ECLOSED: the producer closed the ring and all was read. */
	printf("%lu records; %s\n", n, qshm_strerror(err));
	qshm_consumer_close(c);
	return err == -QSHM_ECLOSED ? 0 : 1;
}
