/* SPDX-License-Identifier: MIT */
/*
 * cmd_hist.c - `qshm hist NAME`: attach to a ring as a consumer, count the
 * shots of a run as they stream (read in place, no copies), show a live
 * histogram on a terminal, print the final counts.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qshm/qshm.h"
#include "results.h"
#include "tools.h"

static const char hist_usage[] =
	"usage: qshm hist [options] NAME\n"
	"\n"
	"Attach to ring NAME, count the shots of the run it carries, and print\n"
	"the counts when the run ends. On a terminal, a live histogram.\n"
	"\n"
	"  --json         print {\"counts\": {...}} (as `qshm sim --counts`)\n"
	"  --lossy        attach as a lossy consumer (never slows the producer;\n"
	"                 reports lost records)\n"
	"  --newest       start at the next record, not the oldest\n"
	"  --wait SEC     wait up to SEC seconds for the ring to appear\n"
	"                 (default 5)\n"
	"  --top N        outcomes shown live (default 16)\n"
	"  --owner USER   also trust rings owned by USER (by default only\n"
	"                 your own and root's are read)\n"
	"  -h, --help     this text\n"
	"\n"
	"Exit status: 0 run complete; 1 error; 2 usage; 3 producer died or\n"
	"the run ended without RUN_END.\n";

/* Open-addressing table of outcomes, keyed by a shot's packed words. */
struct hist {
	uint32_t wps;        /* words per key */
	uint64_t cap, n;     /* slots (power of two), used */
	uint64_t *keys;      /* cap * wps */
	uint64_t *counts;    /* cap; 0 = empty */
};

static uint64_t hist_hash(const uint64_t *k, uint32_t wps)
{
	uint64_t h = 0x9e3779b97f4a7c15u;
	for (uint32_t i = 0; i < wps; i++) {
		h ^= k[i];
		h *= 0xbf58476d1ce4e5b9u;
		h ^= h >> 31;
	}
	return h;
}

static int hist_grow(struct hist *t)
{
	struct hist nt = { .wps = t->wps, .cap = t->cap ? t->cap * 2 : 1024 };
	nt.keys = calloc(nt.cap * nt.wps, sizeof(uint64_t));
	nt.counts = calloc(nt.cap, sizeof(uint64_t));
	if (!nt.keys || !nt.counts) {
		free(nt.keys);
		free(nt.counts);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < t->cap; i++) {
		if (!t->counts[i])
			continue;
		const uint64_t *k = &t->keys[i * t->wps];
		uint64_t j = hist_hash(k, nt.wps) & (nt.cap - 1);
		while (nt.counts[j])
			j = (j + 1) & (nt.cap - 1);
		memcpy(&nt.keys[j * nt.wps], k, nt.wps * sizeof(uint64_t));
		nt.counts[j] = t->counts[i];
		nt.n++;
	}
	free(t->keys);
	free(t->counts);
	*t = nt;
	return 0;
}

static int hist_add(struct hist *t, const uint64_t *k)
{
	if ((t->n + 1) * 2 > t->cap && hist_grow(t))
		return -ENOMEM;
	uint64_t j = hist_hash(k, t->wps) & (t->cap - 1);
	for (;; j = (j + 1) & (t->cap - 1)) {
		uint64_t *slot = &t->keys[j * t->wps];
		if (!t->counts[j]) {
			memcpy(slot, k, t->wps * sizeof(uint64_t));
			t->counts[j] = 1;
			t->n++;
			return 0;
		}
		if (!memcmp(slot, k, t->wps * sizeof(uint64_t))) {
			t->counts[j]++;
			return 0;
		}
	}
}

struct outcome {
	char *s;
	uint64_t n;
};

static int by_string(const void *a, const void *b)
{
	return strcmp(((const struct outcome *)a)->s,
		      ((const struct outcome *)b)->s);
}

static int by_count(const void *a, const void *b)
{
	const struct outcome *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->s, y->s);
}

/* The table as outcome strings; caller frees. */
static struct outcome *hist_list(const struct hist *t,
				 const struct results_run *run)
{
	size_t slen = (size_t)run->hdr.nclbits + run->hdr.ncregs + 1;
	struct outcome *o = calloc(t->n ? t->n : 1, sizeof(*o));
	size_t k = 0;

	if (!o)
		return NULL;
	for (uint64_t i = 0; i < t->cap; i++) {
		if (!t->counts[i])
			continue;
		o[k].s = malloc(slen);
		if (!o[k].s)
			break;
		results_outcome(run, &t->keys[i * t->wps], o[k].s, slen);
		o[k].n = t->counts[i];
		k++;
	}
	return o;
}

static void list_free(struct outcome *o, uint64_t n)
{
	for (uint64_t i = 0; o && i < n; i++)
		free(o[i].s);
	free(o);
}

static volatile sig_atomic_t hist_stop;

static void on_signal(int sig)
{
	(void)sig;
	hist_stop = 1;
}

/* Redraws the live view over the previous one (lines_before lines);
 * returns the number of lines drawn. */
static int draw_live(const struct hist *t, const struct results_run *run,
		     uint64_t shots, int top, int lines_before)
{
	struct outcome *o = hist_list(t, run);
	if (!o)
		return lines_before;
	qsort(o, t->n, sizeof(*o), by_count);
	if ((uint64_t)top > t->n)
		top = (int)t->n;
	if (lines_before)
		fprintf(stderr, "\033[%dA", lines_before);
	fprintf(stderr, "\033[J%s: %llu / %llu shots, %llu outcomes\n",
		run->name, (unsigned long long)shots,
		(unsigned long long)run->hdr.shots, (unsigned long long)t->n);
	uint64_t max = t->n ? o[0].n : 1;
	for (int i = 0; i < top; i++) {
		int bar = (int)(40.0 * (double)o[i].n / (double)max);
		fprintf(stderr, "  %s %10llu %5.1f%% %.*s\n", o[i].s,
			(unsigned long long)o[i].n,
			100.0 * (double)o[i].n / (double)(shots ? shots : 1),
			bar, "########################################");
	}
	list_free(o, t->n);
	return top + 1;
}

int qshm_cmd_hist(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "lossy", no_argument, NULL, 'l' },
		{ "newest", no_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ "top", required_argument, NULL, 't' },
		{ "owner", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, top = 16, c;
	unsigned flags = QSHM_CONSUMER_RELIABLE;
	double wait_s = 5;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'l': flags |= QSHM_CONSUMER_LOSSY; break;
		case 'n': flags |= QSHM_CONSUMER_FROM_NEWEST; break;
		case 'w':
			if (tools_parse_double(optarg, &wait_s) || wait_s < 0)
				return tools_usage_error("hist", "--wait wants "
							 "seconds, got '%s'",
							 optarg);
			break;
		case 't':
			top = atoi(optarg);
			if (top < 1 || top > 1000)
				return tools_usage_error("hist", "--top wants 1."
							 ".1000, got '%s'",
							 optarg);
			break;
		case 'o':
			if (tools_allow_owner("hist", optarg))
				return 2;
			break;
		case 'h': fputs(hist_usage, stdout); return 0;
		default: fputs(hist_usage, stderr); return 2;
		}
	}
	if (optind != argc - 1)
		return tools_usage_error("hist", "one ring name expected");
	const char *name = argv[optind];

	qshm_consumer *con;
	int err = tools_attach(name, flags, wait_s, &con);
	if (err)
		return 1;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int live = !json && isatty(STDERR_FILENO);
	struct results_run run = { 0 };
	struct hist t = { 0 };
	int have_run = 0, ended = 0, status = 0, drawn = 0;
	uint64_t shots = 0, next_draw = 0;
	char msg[256];
	struct qshm_record r;

	while (!hist_stop) {
		err = qshm_consumer_read(con, &r, 100 * 1000 * 1000);
		if (err == -ETIMEDOUT)
			continue;
		if (err)
			break;
		if (r.lost)
			fprintf(stderr, "qshm hist: %s: %llu records lost\n",
				name, (unsigned long long)r.lost);
		switch (r.type) {
		case QSHM_REC_RUN_BEGIN:
			results_run_free(&run);
			free(t.keys);
			free(t.counts);
			memset(&t, 0, sizeof(t));
			shots = 0;
			ended = 0;
			if (results_run_decode(r.data, r.len, &run, msg,
					       sizeof(msg))) {
				fprintf(stderr, "qshm hist: %s: %s\n", name,
					msg);
				status = 1;
				goto out;
			}
			t.wps = run.hdr.words_per_shot;
			have_run = 1;
			break;
		case QSHM_REC_SHOTS: {
			const uint64_t *bits;
			uint32_t n;
			if (!have_run)
				break; /* joined mid-run: wait for a start */
			if (results_shots_check(r.data, r.len, &run, &bits, &n,
						msg, sizeof(msg))) {
				fprintf(stderr, "qshm hist: %s: %s\n", name,
					msg);
				status = 1;
				goto out;
			}
			for (uint32_t i = 0; i < n; i++)
				if (hist_add(&t, bits + (size_t)i * t.wps)) {
					fprintf(stderr, "qshm hist: out of "
						"memory\n");
					status = 1;
					goto out;
				}
			if (qshm_consumer_validate(con, &r)) {
				fprintf(stderr, "qshm hist: %s: a batch was "
					"overwritten while counted; counts "
					"are approximate\n", name);
			}
			shots += n;
			break;
		}
		case QSHM_REC_ERROR: {
			struct qshm_run_error e;
			if (r.len >= sizeof(e)) {
				memcpy(&e, r.data, sizeof(e));
				uint32_t l = e.len;
				if (l > r.len - sizeof(e))
					l = r.len - (uint32_t)sizeof(e);
				fprintf(stderr, "qshm hist: %s: producer "
					"reports: %.*s\n", name, (int)l,
					(const char *)r.data + sizeof(e));
			}
			break;
		}
		case QSHM_REC_RUN_END:
			if (have_run) {
				struct qshm_run_end e = { 0 };
				memcpy(&e, r.data, r.len < sizeof(e) ? r.len :
				       sizeof(e));
				if (e.status != QSHM_RUN_OK)
					status = 3;
				ended = 1;
			}
			break;
		default:
			break; /* PROBS, STATE, others: not counted */
		}
		qshm_consumer_release(con);
		if (ended)
			break;
		if (live && have_run) {
			uint64_t now = tools_now_ns();
			if (now >= next_draw) {
				drawn = draw_live(&t, &run, shots, top,
						  drawn);
				next_draw = now + 200 * 1000 * 1000;
			}
		}
	}
	if (!ended && !status) {
		if (err == -QSHM_EPRODUCERDEAD)
			fprintf(stderr, "qshm hist: %s: producer (pid %d) died "
				"before the run ended; %llu shots received\n",
				name, qshm_consumer_producer_pid(con),
				(unsigned long long)shots);
		else if (err && err != -QSHM_ECLOSED)
			fprintf(stderr, "qshm hist: %s: %s\n", name,
				qshm_last_error()[0] ? qshm_last_error() :
				qshm_strerror(err));
		else if (hist_stop)
			fprintf(stderr, "qshm hist: %s: interrupted\n", name);
		else
			fprintf(stderr, "qshm hist: %s: ring closed without "
				"RUN_END\n", name);
		status = err && err != -QSHM_EPRODUCERDEAD &&
			 err != -QSHM_ECLOSED ? 1 : 3;
	}
	if (live && drawn)
		draw_live(&t, &run, shots, top, drawn);
	if (have_run) {
		struct outcome *o = hist_list(&t, &run);
		if (o) {
			qsort(o, t.n, sizeof(*o), by_string);
			if (json) {
				fputs("{\"counts\": {", stdout);
				for (uint64_t i = 0; i < t.n; i++) {
					if (i)
						fputs(", ", stdout);
					results_json_string(stdout, o[i].s,
							    strlen(o[i].s));
					printf(": %llu",
					       (unsigned long long)o[i].n);
				}
				fputs("}}\n", stdout);
			} else {
				printf("%s: %llu shots, %llu outcomes\n",
				       run.name, (unsigned long long)shots,
				       (unsigned long long)t.n);
				for (uint64_t i = 0; i < t.n; i++)
					printf("%s %llu\n", o[i].s,
					       (unsigned long long)o[i].n);
			}
			list_free(o, t.n);
		}
	} else if (!status) {
		fprintf(stderr, "qshm hist: %s: no run seen\n", name);
		status = 3;
	}
	struct qshm_consumer_stats st;
	if (!qshm_consumer_stats(con, &st) && st.lost)
		fprintf(stderr, "qshm hist: %s: %llu records lost in all\n",
			name, (unsigned long long)st.lost);
out:
	results_run_free(&run);
	free(t.keys);
	free(t.counts);
	qshm_consumer_close(con);
	return status;
}
