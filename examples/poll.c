/* SPDX-License-Identifier: MIT */
/*
 * poll.c - one thread waiting on several rings at once with qshm_poll():
 * attaches to every ring named on the command line, sleeps until any of
 * them has records (one io_uring wait, no busy loop), drains those, and
 * ends when every ring is closed; then prints the records read per ring.
 *
 *	poll NAME...
 *
 * Build against an installed qshm: cc poll.c $(pkg-config --cflags --libs
 * qshm)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() in strict C11 */

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <qshm/qshm.h>

#define MAX_RINGS 16

int main(int argc, char **argv)
{
	struct qshm_pollitem items[MAX_RINGS];
	unsigned long records[MAX_RINGS] = { 0 };
	int open = 0, n = argc - 1, status = 0;

	if (n < 1 || n > MAX_RINGS) {
		fprintf(stderr, "usage: %s NAME... (1 to %d rings)\n", argv[0],
			MAX_RINGS);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		int err, tries = 0;
		/* The ring may not exist yet, or be half-made: 5 s. */
		for (;;) {
			err = qshm_consumer_attach(argv[i + 1],
						   QSHM_CONSUMER_RELIABLE,
						   &items[i].c);
			if ((err != -ENOENT && err != -QSHM_ECREATING) ||
			    tries++ == 500)
				break;
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
		}
		if (err) {
			fprintf(stderr, "attach %s: %s\n", argv[i + 1],
				qshm_last_error());
			return 1;
		}
		items[i].fd = -1; /* rings only; a socket could go here too */
		open++;
	}
	while (open > 0) {
		/* Sleeps until a ring has data or ends (10 s at most). */
		int ready = qshm_poll(items, (unsigned)n, 10 * 1000000000LL);
		if (ready < 0) {
			fprintf(stderr, "qshm_poll: %s\n",
				qshm_strerror(ready));
			status = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!items[i].c || !(items[i].revents & QSHM_POLL_DATA))
				continue;
			/* Drain without waiting: the wake-up may be
			 * spurious, so -EAGAIN just means poll again. */
			struct qshm_record r;
			int err;
			while ((err = qshm_consumer_read(items[i].c, &r,
							 0)) == 0) {
				records[i]++;
				qshm_consumer_release(items[i].c);
			}
			if (err != -EAGAIN) { /* closed, or producer died */
				printf("%s: %lu records (%s)\n", argv[i + 1],
				       records[i], qshm_strerror(err));
				if (err != -QSHM_ECLOSED)
					status = 1;
				qshm_consumer_close(items[i].c);
				items[i].c = NULL;
				items[i].fd = -1;
				open--;
			}
		}
		/* An item with neither ring nor fd is -EINVAL to
		 * qshm_poll(): pack the open rings to the front. */
		int k = 0;
		for (int i = 0; i < n; i++)
			if (items[i].c) {
				items[k] = items[i];
				records[k] = records[i];
				argv[k + 1] = argv[i + 1];
				k++;
			}
		n = k;
	}
	return status;
}
