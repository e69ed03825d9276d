/* SPDX-License-Identifier: MIT */
/*
 * cmd_dump.c - `qshm dump NAME`: what a ring is doing, without disturbing
 * it. Attaches read-only (QSHM_CONSUMER_READONLY: the segment is mapped
 * PROT_READ and no consumer slot is taken, so nothing is ever written),
 * prints the header, the producer's positions and counters, every consumer
 * with its lag and losses, and decodes the last N records. Works while the
 * producer runs, on a closed or stale ring, and with no consumer at all.
 *
 * This file: options, the flow, --follow. Reading the ring: dump_scan.c;
 * the text report: dump_text.c; JSON: dump_json.c (dump.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "tools.h"

static const char dump_usage[] =
	"usage: qshm dump [options] NAME\n"
	"\n"
	"Show ring NAME without disturbing it: header, producer, positions,\n"
	"counters, every consumer (pid, alive, kind, position, lag, losses)\n"
	"and the last records, decoded by type. Read-only: never writes to the\n"
	"segment; works on live, closed and stale rings.\n"
	"\n"
	"  -n, --records N   decode the last N records (default 10; 0: none)\n"
	"  --json            one JSON object (schema: qshm-dump(1))\n"
	"  -f, --follow      then keep printing new records as they come, as a\n"
	"                    lossy reader that reports its own losses, until\n"
	"                    the ring closes, its producer dies, or SIGINT\n"
	"  --duration SEC    with --follow: stop after SEC seconds\n"
	"  --shots N         outcomes shown per SHOTS record (default 8)\n"
	"  --top N           outcomes shown per PROBS/STATE record (default 8)\n"
	"  --hex BYTES       bytes hexdumped per other record (default 64)\n"
	"  --owner USER      also trust rings owned by USER (by default only\n"
	"                    your own and root's are read)\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 ok; 1 error (no such ring, permission, a corrupt\n"
	"record); 2 usage; 3 NAME is not a usable qshm ring (not a qshm\n"
	"segment, corrupt header, other format version, being created).\n";

static volatile sig_atomic_t dump_stop;

static void on_signal(int sig)
{
	(void)sig;
	dump_stop = 1;
}

/* ------------------------------------------------------------------ */
/* --follow                                                             */

static void follow_one(FILE *f, struct kept *k, const struct dump_opts *o)
{
	if (o->json) {
		struct json j;
		json_init(&j, f);
		dump_json_record(&j, k, o);
		json_done(&j);
	} else {
		dump_text_record(f, k, o);
		fflush(f);
	}
}

static int follow(const char *name, qshm_consumer *c, struct scan *s,
		  const struct dump_opts *o)
{
	uint64_t deadline = o->duration > 0 ?
		tools_now_ns() + (uint64_t)(o->duration * 1e9) : 0;
	uint64_t got = 0, lost = s->pending_lost, carry = s->pending_lost;
	struct qshm_record r;
	struct kept k = { 0 };
	int err = 0;

	if (!o->json)
		printf("following '%s' (lossy, read-only); Ctrl-C stops\n",
		       name);
	fflush(stdout);
	if (s->have_pending) {
		got++;
		lost += s->pending.lost;
		follow_one(stdout, &s->pending, o);
	}
	while (!dump_stop) {
		if (deadline && tools_now_ns() >= deadline)
			break;
		err = qshm_consumer_read(c, &r, 100 * 1000 * 1000);
		if (err == -ETIMEDOUT || err == -EINTR) {
			err = 0;
			continue;
		}
		if (err)
			break;
		lost += r.lost;
		carry += r.lost;
		err = dump_keep(c, &r, &k, s->run);
		if (err == -ENOMEM)
			break;
		if (err) {
			/* Overwritten while copied: lost too. */
			lost++;
			carry++;
			err = 0;
			continue;
		}
		k.lost = carry;
		carry = 0;
		if (k.type == QSHM_REC_RUN_BEGIN) {
			dump_run_put(s->run);
			s->run = dump_run_get(k.run);
		}
		got++;
		follow_one(stdout, &k, o);
	}
	dump_kept_free(&k);
	const char *why = dump_stop ? "interrupted" :
		err == -QSHM_ECLOSED ? "the producer closed the ring" :
		err == -QSHM_EPRODUCERDEAD ? "the producer died" :
		err ? (qshm_last_error()[0] ? qshm_last_error() :
		       qshm_strerror(err)) : "time is up";
	fprintf(stderr, "qshm dump: %s: %s; followed %llu records, %llu "
		"lost\n", name, why, (unsigned long long)got,
		(unsigned long long)lost);
	if (err == -QSHM_ECLOSED || err == -QSHM_EPRODUCERDEAD)
		err = 0;
	return err ? SNAP_EXIT_ERROR : SNAP_EXIT_OK;
}

/* ------------------------------------------------------------------ */

static int parse_count(const char *opt, const char *arg, uint64_t max,
		       uint64_t *out)
{
	if (tools_parse_u64(arg, out) || *out > max)
		return tools_usage_error("dump", "%s wants a count up to %llu, "
					 "got '%s'", opt,
					 (unsigned long long)max, arg);
	return 0;
}

int qshm_cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "records", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "follow", no_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "shots", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 't' },
		{ "hex", required_argument, NULL, 'x' },
		{ "owner", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_opts o = { .nrec = 10, .shots = 8, .top = 8, .hex = 64 };
	uint64_t v;
	int ch;

	optind = 1;
	opterr = 0; /* our own message, in the common style */
	while ((ch = getopt_long(argc, argv, "n:fh", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_count("-n", optarg, 1u << 20, &o.nrec))
				return SNAP_EXIT_USAGE;
			break;
		case 'j': o.json = 1; break;
		case 'f': o.follow = 1; break;
		case 'd':
			if (tools_parse_double(optarg, &o.duration) ||
			    !(o.duration > 0))
				return tools_usage_error("dump", "--duration "
							 "wants seconds > 0, "
							 "got '%s'", optarg);
			break;
		case 's':
			if (parse_count("--shots", optarg, 1u << 20, &v))
				return SNAP_EXIT_USAGE;
			o.shots = (unsigned)v;
			break;
		case 't':
			if (parse_count("--top", optarg, 4096, &v))
				return SNAP_EXIT_USAGE;
			o.top = (unsigned)v;
			break;
		case 'x':
			if (parse_count("--hex", optarg, 1u << 30, &o.hex))
				return SNAP_EXIT_USAGE;
			break;
		case 'o':
			if (tools_allow_owner("dump", optarg))
				return SNAP_EXIT_USAGE;
			break;
		case 'h': fputs(dump_usage, stdout); return SNAP_EXIT_OK;
		default:
			return tools_usage_error("dump", "unknown option "
						 "or missing value: '%s'",
						 argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return tools_usage_error("dump", "one ring name expected");
	if (o.duration > 0 && !o.follow)
		return tools_usage_error("dump", "--duration needs --follow");
	const char *name = argv[optind];

	qshm_consumer *c;
	int rc = snap_attach("dump", name, &c);
	if (rc)
		return rc;

	struct snap sn;
	struct scan s = { .nwin = o.nrec };
	struct cons_lag *lags = NULL;
	struct cons_view *cv = NULL;
	int err = snap_take(c, &sn);
	if (err) {
		fprintf(stderr, "qshm dump: ring '%s': %s\n", name,
			qshm_strerror(err));
		qshm_consumer_close(c);
		return SNAP_EXIT_ERROR;
	}
	lags = calloc(sn.nslots ? sn.nslots : 1, sizeof(*lags));
	cv = calloc(sn.nslots ? sn.nslots : 1, sizeof(*cv));
	s.win = calloc(o.nrec ? o.nrec : 1, sizeof(*s.win));
	if (!lags || !cv || !s.win) {
		fprintf(stderr, "qshm dump: out of memory\n");
		rc = SNAP_EXIT_ERROR;
		goto out;
	}
	for (unsigned i = 0; i < sn.nslots; i++) {
		lags[i].slot = i;
		lags[i].position = sn.slots[i].position;
	}
	qsort(lags, sn.nslots, sizeof(*lags), dump_by_position);

	if (o.follow) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	dump_read_descriptor(c, &s);
	err = dump_scan_ring(c, sn.st.write_pos, &s, lags, sn.nslots);
	dump_cons_views(&sn, &s, lags, cv);
	if (o.json)
		dump_json_report(stdout, name, &sn, &s, cv, &o);
	else
		dump_text_report(stdout, name, &sn, &s, cv, &o);
	fflush(stdout);
	if (err) {
		fprintf(stderr, "qshm dump: ring '%s': reading records: %s\n",
			name, qshm_last_error()[0] ? qshm_last_error() :
			qshm_strerror(err));
		rc = SNAP_EXIT_ERROR;
		goto out;
	}
	if (o.follow)
		rc = follow(name, c, &s, &o);
out:
	for (uint64_t i = 0; s.win && i < s.nwin; i++)
		dump_kept_free(&s.win[i]);
	free(s.win);
	dump_kept_free(&s.pending);
	dump_run_put(s.run);
	free(lags);
	free(cv);
	snap_free(&sn);
	qshm_consumer_close(c);
	return rc;
}

