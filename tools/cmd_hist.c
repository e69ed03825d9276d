/* SPDX-License-Identifier: MIT */
/*
 * cmd_hist.c - `qshm hist NAME`: attach to a ring as a consumer at any
 * moment, count the shots of the run it carries from there on, show a live
 * histogram on a terminal, print the counts when the run ends.
 *
 * Decoding, the run a record belongs to (also when the ring no longer holds
 * the run's RUN_BEGIN: the run descriptor) and the counts table are
 * libqshmresults' (qshm/results.h); this file reads records, feeds them in
 * and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qshm/qshm.h"
#include "qshm/results.h"
#include "tools.h"

#define HIST_EXIT_OK       0
#define HIST_EXIT_ERROR    1
#define HIST_EXIT_USAGE    2
#define HIST_EXIT_NO_END   3 /* producer gone, or the run failed */
#define HIST_EXIT_PARTIAL  4 /* --from-start, and part of the run missed */

static const char hist_usage[] =
	"usage: qshm hist [options] NAME\n"
	"\n"
	"Attach to ring NAME at any moment, count the shots of the run it\n"
	"carries from there on, and print the counts when the run ends. On a\n"
	"terminal, a live histogram on stderr. A consumer that joins mid-run\n"
	"counts from its first shot on and says so (\"joined at shot X of N;\n"
	"counted K\"); one that joins between runs counts the next run.\n"
	"\n"
	"  --json          print {\"counts\": {...}} (as `qshm sim --counts`)\n"
	"  --from-start    the whole run is wanted: exit 4 if any of its shots\n"
	"                  were not counted (joined late, or lost)\n"
	"  --lossy         attach as a lossy consumer (never slows the\n"
	"                  producer; reports the shots it lost)\n"
	"  --newest        start at the next record, not the oldest\n"
	"  --sort KEY      order of the table: count (most frequent first,\n"
	"                  the default) or outcome; the same live and at the end\n"
	"  --wait SEC      wait up to SEC seconds for the ring to appear\n"
	"                  (default 5)\n"
	"  --top N         outcomes shown live (default 16)\n"
	"  --owner USER    also trust rings owned by USER (by default only\n"
	"                  your own and root's are read)\n"
	"  -h, --help      this text\n"
	"\n"
	"Exit status: 0 the run ended OK (also when joined mid-run); 1 error;\n"
	"2 usage; 3 the producer died or stopped, or the run failed or ended\n"
	"without RUN_END; 4 with --from-start, shots of the run were missed.\n";

struct hist {
	const char *name;
	qshm_consumer *con;
	qshm_decoder *dec;
	qshm_counts *counts;    /* of the run counted, or NULL before one */
	const qshm_run *run;    /* the run counted (the decoder's) */
	unsigned order;         /* QSHM_COUNTS_BY_* */
	int lossy;
	uint8_t *copy;          /* lossy: records are copied here first */
	size_t copy_size;
	uint8_t *meta;          /* the ring's run descriptor */
	size_t meta_size;
	int have_last;
	uint64_t last_seq;
	uint64_t bad_records;   /* malformed records of the counted run */
};

static volatile sig_atomic_t hist_stop;

static void on_signal(int sig)
{
	(void)sig;
	hist_stop = 1;
}

/* Gives the decoder the ring's current run descriptor, if it has one. */
static void hist_refresh_meta(struct hist *h)
{
	for (int tries = 0; tries < 4; tries++) {
		uint64_t version;
		int n = qshm_consumer_meta(h->con, h->meta, h->meta_size,
					   &version);
		if (n >= 0 && (size_t)n <= h->meta_size) {
			if (n > 0 && qshm_decoder_meta(h->dec, h->meta,
						       (size_t)n) < 0)
				fprintf(stderr, "qshm hist: %s: run "
					"descriptor: %s\n", h->name,
					qshm_results_last_error());
			return;
		}
		/* Too small for it (however the ring says so): grow. */
		size_t want = n > 0 ? (size_t)n : h->meta_size * 2;
		if (want > (64u << 20))
			return;
		uint8_t *m = realloc(h->meta, want);
		if (!m)
			return;
		h->meta = m;
		h->meta_size = want;
	}
}

/* Prints one table line: the outcome's registers in columns of the given
 * widths, then the count. */
static void print_row(FILE *f, const char *outcome, const int *widths,
		      uint32_t ncols, const char *count)
{
	const char *p = outcome;

	for (uint32_t i = 0; i < ncols; i++) {
		const char *sp = strchr(p, ' ');
		int n = sp ? (int)(sp - p) : (int)strlen(p);
		fprintf(f, "%-*.*s  ", widths[i], n, p);
		p = sp ? sp + 1 : p + n;
	}
	fprintf(f, "%10s\n", count);
}

/* Column widths: registers as the outcome strings show them (last-declared
 * first), each as wide as its bits or its name. */
static int *column_widths(const qshm_run *run, uint32_t *ncols)
{
	uint32_t n = qshm_run_ncregs(run);
	int *w = calloc(n ? n : 1, sizeof(*w));

	*ncols = n;
	for (uint32_t i = 0; w && i < n; i++) {
		struct qshm_run_creg_info cr;
		qshm_run_creg(run, n - 1 - i, &cr);
		w[i] = (int)(cr.name_len > cr.size ? cr.name_len : cr.size);
	}
	return w;
}

/* The header naming the columns: registers in outcome order, then count. */
static void print_header(FILE *f, const qshm_run *run, const int *widths,
			 uint32_t ncols)
{
	uint32_t n = qshm_run_ncregs(run);

	for (uint32_t i = 0; i < ncols; i++) {
		struct qshm_run_creg_info cr;
		qshm_run_creg(run, n - 1 - i, &cr);
		fprintf(f, "%-*s  ", widths[i], cr.name);
	}
	fprintf(f, "%10s\n", "count");
}

/* The table, sorted as asked, the first max rows (0: all). Returns rows
 * printed, or -1 on failure. */
static int print_table(FILE *f, const struct hist *h, size_t max,
		       uint64_t shots)
{
	struct qshm_count_entry *e;
	size_t n;
	uint32_t ncols;
	char num[64];

	if (qshm_counts_list(h->counts, h->run, h->order, max, &e, &n))
		return -1;
	int *widths = column_widths(h->run, &ncols);
	if (!widths) {
		qshm_counts_list_free(e);
		return -1;
	}
	print_header(f, h->run, widths, ncols);
	for (size_t i = 0; i < n; i++) {
		if (f == stderr) /* live: with a share and a bar */
			snprintf(num, sizeof(num), "%llu %5.1f%%",
				 (unsigned long long)e[i].count,
				 100.0 * (double)e[i].count /
					 (double)(shots ? shots : 1));
		else
			snprintf(num, sizeof(num), "%llu",
				 (unsigned long long)e[i].count);
		print_row(f, e[i].outcome, widths, ncols, num);
	}
	free(widths);
	qshm_counts_list_free(e);
	return (int)n;
}

/* Redraws the live view over the previous one (lines_before lines);
 * returns the number of lines drawn. */
static int draw_live(const struct hist *h, int top, int lines_before)
{
	struct qshm_progress pg;

	qshm_decoder_progress(h->dec, &pg);
	if (lines_before)
		fprintf(stderr, "\033[%dA", lines_before);
	fprintf(stderr, "\033[J%s: %llu shots counted (from shot %llu of "
		"%llu), %llu outcomes\n", qshm_run_name(h->run),
		(unsigned long long)pg.shots_seen,
		(unsigned long long)(pg.first_shot == QSHM_SEQ_NONE ? 0 :
				     pg.first_shot),
		(unsigned long long)pg.shots,
		(unsigned long long)qshm_counts_distinct(h->counts));
	int n = print_table(stderr, h, (size_t)top, pg.shots_seen);
	return n < 0 ? 1 : n + 2;
}

static void print_json(const struct hist *h)
{
	struct qshm_count_entry *e;
	size_t n;

	if (qshm_counts_list(h->counts, h->run, QSHM_COUNTS_BY_OUTCOME, 0,
			     &e, &n)) {
		fprintf(stderr, "qshm hist: %s\n", qshm_results_last_error());
		return;
	}
	fputs("{\"counts\": {", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", e[i].outcome,
		       (unsigned long long)e[i].count);
	fputs("}}\n", stdout);
	qshm_counts_list_free(e);
}

/* Reads the next record: in place (reliable), or copied and so never torn
 * (lossy). Returns 0 or an error of qshm_consumer_read(). */
static int hist_read(struct hist *h, struct qshm_record *r,
		     const void **data, size_t *len)
{
	int n;

	if (!h->lossy) {
		n = qshm_consumer_read(h->con, r, 100 * 1000 * 1000);
		if (n)
			return n;
		*data = r->data;
		*len = r->len;
		return 0;
	}
	n = qshm_consumer_read_copy(h->con, h->copy, h->copy_size, r,
				    100 * 1000 * 1000);
	if (n < 0)
		return n;
	*data = h->copy;
	*len = (size_t)n;
	return 0;
}

/* Feeds one record to the decoder and counts it. Returns 1 when the
 * counted run is over (RUN_END, or a new run began after it), 0 to go on,
 * negative on a fatal error. */
static int hist_record(struct hist *h, const struct qshm_record *r,
		       const void *data, size_t len)
{
	struct qshm_decoded ev;

	if (!h->have_last || r->seq != h->last_seq + 1)
		hist_refresh_meta(h); /* first record, or a gap */
	h->have_last = 1;
	h->last_seq = r->seq;
	int err = qshm_decoder_record(h->dec, r->type, r->seq, data, len,
				      &ev);
	if (ev.new_run) {
		/* A run counted already: it is over, its RUN_END lost. */
		if (h->counts)
			return 1;
		int e = qshm_counts_new(ev.words_per_shot, &h->counts);
		if (e) {
			fprintf(stderr, "qshm hist: %s\n",
				qshm_results_last_error());
			return e;
		}
		h->run = ev.run;
	}
	if (err < 0) {
		fprintf(stderr, "qshm hist: %s: record %llu: %s\n", h->name,
			(unsigned long long)r->seq,
			qshm_results_last_error());
		if (h->counts)
			h->bad_records++;
		return 0;
	}
	switch (ev.kind) {
	case QSHM_DECODED_SHOTS:
		err = qshm_counts_add_shots(h->counts, &ev.shots);
		if (err) {
			fprintf(stderr, "qshm hist: %s\n",
				qshm_results_last_error());
			return err;
		}
		return 0;
	case QSHM_DECODED_ERROR:
		fprintf(stderr, "qshm hist: %s: producer reports: %.*s\n",
			h->name, (int)ev.error.len, ev.error.text);
		return 0;
	case QSHM_DECODED_RUN_END:
		return 1;
	}
	return 0;
}

/* The line that says what was counted of the run, on stderr. */
static void print_summary(const struct hist *h,
			  const struct qshm_progress *pg)
{
	/* No shot seen: joined after the last one (or the run had none). */
	uint64_t first = pg->first_shot != QSHM_SEQ_NONE ? pg->first_shot :
			 pg->ended ? pg->shots_delivered : pg->next_shot;

	fprintf(stderr, "qshm hist: %s: run %llu: joined at shot %llu of "
		"%llu; counted %llu", h->name, (unsigned long long)pg->run,
		(unsigned long long)first, (unsigned long long)pg->shots,
		(unsigned long long)pg->shots_seen);
	if (pg->shots_missed)
		fprintf(stderr, "; lost %llu", (unsigned long long)
			pg->shots_missed);
	if (pg->ended)
		fprintf(stderr, "; run ended %s with %llu shots",
			qshm_run_status_name(pg->status),
			(unsigned long long)pg->shots_delivered);
	fputc('\n', stderr);
}

int qshm_cmd_hist(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "from-start", no_argument, NULL, 'F' },
		{ "lossy", no_argument, NULL, 'l' },
		{ "newest", no_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "wait", required_argument, NULL, 'w' },
		{ "top", required_argument, NULL, 't' },
		{ "owner", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hist h = { .order = QSHM_COUNTS_BY_COUNT };
	int json = 0, from_start = 0, top = 16, c;
	unsigned flags = QSHM_CONSUMER_RELIABLE;
	double wait_s = 5;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'F': from_start = 1; break;
		case 'l': flags |= QSHM_CONSUMER_LOSSY; break;
		case 'n': flags |= QSHM_CONSUMER_FROM_NEWEST; break;
		case 's':
			if (!strcmp(optarg, "count"))
				h.order = QSHM_COUNTS_BY_COUNT;
			else if (!strcmp(optarg, "outcome"))
				h.order = QSHM_COUNTS_BY_OUTCOME;
			else
				return tools_usage_error("hist", "--sort wants "
							 "count or outcome, "
							 "got '%s'", optarg);
			break;
		case 'w':
			if (tools_parse_double(optarg, &wait_s) || wait_s < 0)
				return tools_usage_error("hist", "--wait wants "
							 "seconds, got '%s'",
							 optarg);
			break;
		case 't': {
			uint64_t t;
			if (tools_parse_u64(optarg, &t) || t < 1 || t > 1000)
				return tools_usage_error("hist", "--top wants 1."
							 ".1000, got '%s'",
							 optarg);
			top = (int)t;
			break;
		}
		case 'o':
			if (tools_allow_owner("hist", optarg))
				return 2;
			break;
		case 'h': fputs(hist_usage, stdout); return 0;
		default:
			return tools_usage_error("hist", "unknown option or "
						 "missing value: '%s'",
						 argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return tools_usage_error("hist", "one ring name expected");
	h.name = argv[optind];
	h.lossy = !!(flags & QSHM_CONSUMER_LOSSY);
	if (qshm_name_check(h.name)) /* as dump, stat, rm: a usage error */
		return tools_usage_error("hist", "%s", qshm_last_error());

	if (tools_attach("hist", h.name, flags, wait_s, &h.con))
		return HIST_EXIT_ERROR;
	int status = HIST_EXIT_ERROR;
	struct qshm_ring_info info;
	if (qshm_consumer_ring_info(h.con, &info) ||
	    qshm_decoder_new(&h.dec)) {
		fprintf(stderr, "qshm hist: %s: out of memory\n", h.name);
		goto out;
	}
	h.copy_size = h.lossy ? (size_t)info.max_record : 0;
	h.meta_size = 4096;
	h.meta = malloc(h.meta_size);
	h.copy = h.lossy ? malloc(h.copy_size) : NULL;
	if (!h.meta || (h.lossy && !h.copy)) {
		fprintf(stderr, "qshm hist: out of memory\n");
		goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int live = !json && isatty(STDERR_FILENO);
	int drawn = 0, done = 0, err = 0;
	uint64_t next_draw = 0;
	struct qshm_record r;

	while (!hist_stop && !done) {
		const void *data;
		size_t len;
		err = hist_read(&h, &r, &data, &len);
		if (err == -ETIMEDOUT)
			continue;
		if (err == -EMSGSIZE)
			continue; /* longer than max_record: counted lost */
		if (err)
			break;
		int rc = hist_record(&h, &r, data, len);
		if (!h.lossy)
			qshm_consumer_release(h.con);
		if (rc < 0)
			goto out;
		done = rc;
		if (live && h.counts) {
			uint64_t now = tools_now_ns();
			if (now >= next_draw) {
				drawn = draw_live(&h, top, drawn);
				next_draw = now + 200 * 1000 * 1000;
			}
		}
	}
	if (live && drawn)
		draw_live(&h, top, drawn);

	struct qshm_progress pg;
	qshm_decoder_progress(h.dec, &pg);
	if (!h.counts) {
		if (err == -QSHM_EPRODUCERDEAD || err == -QSHM_ECLOSED ||
		    hist_stop)
			fprintf(stderr, "qshm hist: %s: no run seen (%s)\n",
				h.name, hist_stop ? "interrupted" :
				err == -QSHM_ECLOSED ? "ring closed" :
						       "producer died");
		else
			fprintf(stderr, "qshm hist: %s: %s\n", h.name,
				qshm_last_error()[0] ? qshm_last_error() :
				qshm_strerror(err));
		status = err && err != -QSHM_EPRODUCERDEAD &&
			 err != -QSHM_ECLOSED ? HIST_EXIT_ERROR :
						HIST_EXIT_NO_END;
		goto out;
	}
	print_summary(&h, &pg);
	if (json)
		print_json(&h);
	else {
		printf("%s: %llu shots, %llu outcomes\n", qshm_run_name(h.run),
		       (unsigned long long)qshm_counts_total(h.counts),
		       (unsigned long long)qshm_counts_distinct(h.counts));
		print_table(stdout, &h, 0, 0);
	}

	if (done && pg.ended && pg.status == QSHM_RUN_OK) {
		status = HIST_EXIT_OK;
	} else if (done && pg.ended) {
		fprintf(stderr, "qshm hist: %s: the run %s\n", h.name,
			pg.status == QSHM_RUN_STOPPED ? "was stopped" :
							"failed");
		status = HIST_EXIT_NO_END;
	} else if (done) {
		fprintf(stderr, "qshm hist: %s: a new run began; this one's "
			"RUN_END was lost\n", h.name);
		status = HIST_EXIT_NO_END;
	} else if (err == -QSHM_EPRODUCERDEAD) {
		fprintf(stderr, "qshm hist: %s: producer (pid %d) died before "
			"the run ended\n", h.name,
			qshm_consumer_producer_pid(h.con));
		status = HIST_EXIT_NO_END;
	} else if (hist_stop) {
		fprintf(stderr, "qshm hist: %s: interrupted\n", h.name);
		status = HIST_EXIT_NO_END;
	} else if (err == -QSHM_ECLOSED) {
		fprintf(stderr, "qshm hist: %s: ring closed without the "
			"run's RUN_END\n", h.name);
		status = HIST_EXIT_NO_END;
	} else {
		fprintf(stderr, "qshm hist: %s: %s\n", h.name,
			qshm_last_error()[0] ? qshm_last_error() :
			qshm_strerror(err));
		status = HIST_EXIT_ERROR;
	}
	if (status == HIST_EXIT_OK && h.bad_records) {
		fprintf(stderr, "qshm hist: %s: %llu malformed records: the "
			"counts are incomplete\n", h.name,
			(unsigned long long)h.bad_records);
		status = HIST_EXIT_ERROR;
	}
	if (status == HIST_EXIT_OK && from_start &&
	    (pg.first_shot != 0 || pg.shots_missed ||
	     pg.shots_seen != pg.shots_delivered)) {
		fprintf(stderr, "qshm hist: %s: --from-start: shots %llu of "
			"the run's %llu not counted\n", h.name,
			(unsigned long long)(pg.shots_delivered -
					     pg.shots_seen),
			(unsigned long long)pg.shots_delivered);
		status = HIST_EXIT_PARTIAL;
	}
	if (h.lossy) {
		struct qshm_consumer_stats st;
		if (!qshm_consumer_stats(h.con, &st) && st.lost)
			fprintf(stderr, "qshm hist: %s: %llu records lost in "
				"all\n", h.name, (unsigned long long)st.lost);
	}
out:
	qshm_counts_free(h.counts);
	qshm_decoder_free(h.dec);
	free(h.copy);
	free(h.meta);
	qshm_consumer_close(h.con);
	return status;
}
