/* SPDX-License-Identifier: MIT */
/*
 * results_consumer.c - counts the shots of a `qshm sim --ring NAME` run
 * with libqshmresults, joining at any moment: attach, give the decoder
 * the ring's run descriptor and every record, count the shots of the
 * first run met, print its counts (sorted by outcome, as `qshm sim
 * --counts`) and where it joined.
 *
 *	qshm sim circuit.qasm --shots 100000 --ring ghz &
 *	results_consumer ghz
 *
 * Build against an installed qshm: cc results_consumer.c $(pkg-config
 * --cflags --libs qshm-results qshm)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() in strict C11 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <qshm/qshm.h>
#include <qshm/results.h>

/* The ring's run descriptor (its metadata blob) to the decoder. */
static void give_descriptor(qshm_consumer *c, qshm_decoder *d)
{
	static _Alignas(16) unsigned char blob[65536];
	uint64_t version;
	int n = qshm_consumer_meta(c, blob, sizeof(blob), &version);

	if (n > 0 && (size_t)n <= sizeof(blob))
		qshm_decoder_meta(d, blob, (size_t)n);
}

int main(int argc, char **argv)
{
	qshm_consumer *c;
	qshm_decoder *d;
	qshm_counts *counts = NULL;
	struct qshm_record r;
	struct qshm_decoded ev;
	uint64_t last_seq = 0;
	int err, tries = 0, first = 1, ended = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME\n", argv[0]);
		return 2;
	}
	for (;;) {
		err = qshm_consumer_attach(argv[1], QSHM_CONSUMER_RELIABLE, &c);
		if ((err != -ENOENT && err != -QSHM_ECREATING) ||
		    tries++ == 500)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	if (err || qshm_decoder_new(&d)) {
		fprintf(stderr, "attach %s: %s\n", argv[1], qshm_last_error());
		return 1;
	}
	while (!ended && (err = qshm_consumer_read(c, &r, QSHM_FOREVER)) == 0) {
		/* After attaching (or a gap), the descriptor says which run
		 * the record belongs to, even without its RUN_BEGIN. */
		if (first || r.seq != last_seq + 1)
			give_descriptor(c, d);
		first = 0;
		last_seq = r.seq;
		if (qshm_decoder_record(d, r.type, r.seq, r.data, r.len,
					&ev) < 0)
			fprintf(stderr, "record %llu: %s\n",
				(unsigned long long)r.seq,
				qshm_results_last_error());
		else if (ev.new_run && counts)
			ended = 1; /* the next run began: ours is over */
		else if (ev.new_run &&
			 qshm_counts_new(ev.words_per_shot, &counts))
			ended = 1;
		if (counts && ev.kind == QSHM_DECODED_SHOTS)
			qshm_counts_add_shots(counts, &ev.shots);
		if (counts && ev.kind == QSHM_DECODED_RUN_END)
			ended = 1;
		qshm_consumer_release(c);
	}

	struct qshm_progress pg;
	struct qshm_count_entry *e;
	size_t n;
	qshm_decoder_progress(d, &pg);
	if (!counts ||
	    qshm_counts_list(counts, qshm_decoder_run(d),
			     QSHM_COUNTS_BY_OUTCOME, 0, &e, &n)) {
		fprintf(stderr, "no run seen (%s)\n", qshm_strerror(err));
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s %llu\n", e[i].outcome,
		       (unsigned long long)e[i].count);
	printf("run %llu of %s: joined at shot %llu of %llu; counted %llu; "
	       "%s\n", (unsigned long long)pg.run,
	       qshm_run_name(qshm_decoder_run(d)),
	       (unsigned long long)(pg.first_shot == QSHM_SEQ_NONE ?
				    pg.shots_delivered : pg.first_shot),
	       (unsigned long long)pg.shots,
	       (unsigned long long)pg.shots_seen,
	       pg.ended ? qshm_run_status_name(pg.status) : "no RUN_END");
	qshm_counts_list_free(e);
	qshm_counts_free(counts);
	qshm_decoder_free(d);
	qshm_consumer_close(c);
	return pg.ended && pg.status == QSHM_RUN_OK ? 0 : 1;
}
