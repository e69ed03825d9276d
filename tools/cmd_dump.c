/* SPDX-License-Identifier: MIT */
/*
 * cmd_dump.c - `qshm dump NAME`: what a ring is doing, without disturbing
 * it. Attaches read-only (QSHM_CONSUMER_READONLY: the segment is mapped
 * PROT_READ and no consumer slot is taken, so nothing is ever written),
 * prints the header, the producer's positions and counters, every consumer
 * with its lag and losses, and decodes the last N records. Works while the
 * producer runs, on a closed or stale ring, and with no consumer at all.
 *
 * The records are read from the oldest one in the ring up to the write
 * position seen in the snapshot, as a lossy reader: each record is copied
 * and validated, so a record the producer overwrote while it was copied is
 * counted as lost, never shown torn. The same pass finds the sequence
 * number at each consumer's position, which gives its lag in records.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "qshm/format.h"
#include "qshm/qshm.h"
#include "results.h"
#include "snapshot.h"
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

struct dump_opts {
	uint64_t nrec;
	int json, follow;
	double duration;
	unsigned shots, top;
	uint64_t hex;
};

/* A decoded RUN_BEGIN, shared by the records kept after it. */
struct run_ref {
	int refs;
	int ok;             /* decoded; else err says why */
	char err[160];
	struct results_run run;
};

/* A record copied out of the ring. */
struct kept {
	uint64_t seq, pos, lost;
	uint16_t type;
	uint32_t len;
	uint8_t *data;
	size_t cap;
	struct run_ref *run; /* the run in effect (NULL: none seen) */
};

static void run_put(struct run_ref *r)
{
	if (r && --r->refs == 0) {
		results_run_free(&r->run);
		free(r);
	}
}

static struct run_ref *run_get(struct run_ref *r)
{
	if (r)
		r->refs++;
	return r;
}

static struct run_ref *run_decode(const void *data, size_t len)
{
	struct run_ref *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->refs = 1;
	r->ok = results_run_decode(data, len, &r->run, r->err,
				   sizeof(r->err)) == 0;
	return r;
}

static const char *type_name(uint16_t t)
{
	switch (t) {
	case QSHM_REC_RUN_BEGIN: return "RUN_BEGIN";
	case QSHM_REC_SHOTS: return "SHOTS";
	case QSHM_REC_PROBS: return "PROBS";
	case QSHM_REC_STATE: return "STATE";
	case QSHM_REC_RUN_END: return "RUN_END";
	case QSHM_REC_ERROR: return "ERROR";
	}
	return NULL;
}

static const char *run_status_name(uint32_t s)
{
	switch (s) {
	case QSHM_RUN_OK: return "ok";
	case QSHM_RUN_FAILED: return "failed";
	case QSHM_RUN_STOPPED: return "stopped";
	}
	return "unknown";
}

static volatile sig_atomic_t dump_stop;

static void on_signal(int sig)
{
	(void)sig;
	dump_stop = 1;
}

/* ------------------------------------------------------------------ */
/* Text output                                                          */

static void hexdump(FILE *f, const uint8_t *p, size_t len, uint64_t max)
{
	size_t n = len < max ? len : (size_t)max;

	for (size_t off = 0; off < n; off += 16) {
		fprintf(f, "      %04zx ", off);
		for (size_t i = 0; i < 16; i++) {
			if (off + i < n)
				fprintf(f, " %02x", p[off + i]);
			else
				fputs("   ", f);
		}
		fputs("  |", f);
		for (size_t i = 0; i < 16 && off + i < n; i++) {
			uint8_t ch = p[off + i];
			fputc(ch >= 0x20 && ch < 0x7f ? ch : '.', f);
		}
		fputs("|\n", f);
	}
	if (n < len)
		fprintf(f, "      ... %zu more bytes\n", len - n);
}

/* Prints up to n bytes of s, controls and non-ASCII as '?'. */
static void print_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
}

static void text_run_begin(FILE *f, const struct run_ref *r)
{
	const struct qshm_run_begin *h = &r->run.hdr;

	fputs("      circuit ", f);
	print_safe(f, r->run.name);
	fprintf(f, "  hash 0x%016llx  qubits %u  shots %llu  seed %llu\n",
		(unsigned long long)h->circuit_hash, h->nqubits,
		(unsigned long long)h->shots, (unsigned long long)h->seed);
	fprintf(f, "      classical bits %u in %u register%s:", h->nclbits,
		h->ncregs, h->ncregs == 1 ? "" : "s");
	for (uint32_t i = 0; i < h->ncregs; i++) {
		fputc(' ', f);
		print_safe(f, r->run.cregs[i].name);
		fprintf(f, "[%u]", r->run.cregs[i].size);
	}
	fprintf(f, "\n      words per shot %u  options", h->words_per_shot);
	if (!h->options)
		fputs(" none", f);
	if (h->options & QSHM_RUN_PROBS)
		fputs(" probs", f);
	if (h->options & QSHM_RUN_STATE)
		fputs(" state", f);
	if (h->options & QSHM_RUN_PER_SHOT)
		fputs(" per-shot", f);
	fputc('\n', f);
}

static void text_shots(FILE *f, const struct kept *k,
		       const struct dump_opts *o)
{
	const struct run_ref *r = k->run;
	const uint64_t *bits;
	uint32_t count;
	char msg[160];

	if (!r || !r->ok) {
		fprintf(f, "      (no decodable RUN_BEGIN before it in the "
			"ring: raw bytes)\n");
		hexdump(f, k->data, k->len, o->hex);
		return;
	}
	if (results_shots_check(k->data, k->len, &r->run, &bits, &count, msg,
				sizeof(msg))) {
		fprintf(f, "      undecodable: %s\n", msg);
		hexdump(f, k->data, k->len, o->hex);
		return;
	}
	struct qshm_shots s;
	memcpy(&s, k->data, sizeof(s));
	fprintf(f, "      shots %llu..%llu (%u):",
		(unsigned long long)s.first_shot,
		(unsigned long long)(s.first_shot + (count ? count - 1 : 0)),
		count);
	size_t slen = (size_t)r->run.hdr.nclbits + r->run.hdr.ncregs + 1;
	char *buf = malloc(slen);
	if (!buf) {
		fputc('\n', f);
		return;
	}
	/* Copy the words out: the payload copy need not be 8-aligned. */
	uint64_t *w = malloc(r->run.hdr.words_per_shot * sizeof(uint64_t));
	/* Outcomes contain spaces between registers: separate them with
	 * commas, wrapped at 78 columns. */
	size_t col = 80;
	for (uint32_t i = 0; w && i < count && i < o->shots; i++) {
		memcpy(w, bits + (size_t)i * r->run.hdr.words_per_shot,
		       r->run.hdr.words_per_shot * sizeof(uint64_t));
		size_t n = results_outcome(&r->run, w, buf, slen);
		int last = i + 1 == count || i + 1 == o->shots;
		if (col + n + 2 > 78) {
			fputs("\n        ", f);
			col = 8;
		} else {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%s%s", buf, last ? "" : ",");
		col += n + 1;
	}
	if (count > o->shots)
		fprintf(f, "\n        ... %u more", count - o->shots);
	fputc('\n', f);
	free(w);
	free(buf);
}

static void text_chunk(FILE *f, const struct kept *k,
		       const struct dump_opts *o, int is_state)
{
	struct qshm_chunk ch;
	const uint8_t *elems;
	char msg[160];

	if (results_chunk_check(k->data, k->len, is_state ? 16 : 8, &ch,
				&elems, msg, sizeof(msg))) {
		fprintf(f, "      undecodable: %s\n", msg);
		hexdump(f, k->data, k->len, o->hex);
		return;
	}
	struct results_top *top = calloc(o->top ? o->top : 1, sizeof(*top));
	if (!top)
		return;
	size_t n = results_chunk_top(&ch, elems, is_state, top, o->top);
	fprintf(f, "      %s %llu..+%llu of %llu (%u qubits), top %zu:\n",
		is_state ? "amplitudes" : "probabilities",
		(unsigned long long)ch.first, (unsigned long long)ch.count,
		(unsigned long long)ch.total, ch.nqubits, n);
	char bs[66];
	for (size_t i = 0; i < n; i++) {
		results_basis_string(top[i].index, ch.nqubits, bs, sizeof(bs));
		if (is_state)
			fprintf(f, "        %s  %+.6f%+.6fi  p %.6f\n", bs,
				top[i].re, top[i].im, top[i].p);
		else
			fprintf(f, "        %s  %.6f\n", bs, top[i].p);
	}
	free(top);
}

static void text_record(FILE *f, const struct kept *k,
			const struct dump_opts *o)
{
	const char *tn = type_name(k->type);

	if (k->lost)
		fprintf(f, "  -- %llu record%s lost here --\n",
			(unsigned long long)k->lost, k->lost == 1 ? "" : "s");
	fprintf(f, "  seq %llu  pos %llu  type 0x%04x %s  len %u\n",
		(unsigned long long)k->seq, (unsigned long long)k->pos,
		k->type, tn ? tn : "(application)", k->len);
	switch (k->type) {
	case QSHM_REC_RUN_BEGIN:
		if (k->run && k->run->ok) {
			text_run_begin(f, k->run);
		} else {
			fprintf(f, "      undecodable: %s\n",
				k->run ? k->run->err : "out of memory");
			hexdump(f, k->data, k->len, o->hex);
		}
		break;
	case QSHM_REC_SHOTS:
		text_shots(f, k, o);
		break;
	case QSHM_REC_PROBS:
	case QSHM_REC_STATE:
		text_chunk(f, k, o, k->type == QSHM_REC_STATE);
		break;
	case QSHM_REC_RUN_END:
		if (k->len >= sizeof(struct qshm_run_end)) {
			struct qshm_run_end e;
			memcpy(&e, k->data, sizeof(e));
			fprintf(f, "      status %s (%u)  shots %llu  elapsed "
				"%.3f ms  simulating %.3f ms\n",
				run_status_name(e.status), e.status,
				(unsigned long long)e.shots,
				(double)e.elapsed_ns / 1e6,
				(double)e.sim_ns / 1e6);
		} else {
			hexdump(f, k->data, k->len, o->hex);
		}
		break;
	case QSHM_REC_ERROR:
		if (k->len >= sizeof(struct qshm_run_error)) {
			struct qshm_run_error e;
			memcpy(&e, k->data, sizeof(e));
			uint32_t l = e.len;
			if (l > k->len - sizeof(e))
				l = k->len - (uint32_t)sizeof(e);
			fprintf(f, "      code %d: ", e.code);
			for (uint32_t i = 0; i < l; i++) {
				uint8_t ch = k->data[sizeof(e) + i];
				fputc(ch >= 0x20 && ch != 0x7f ? ch : '?', f);
			}
			fputc('\n', f);
		} else {
			hexdump(f, k->data, k->len, o->hex);
		}
		break;
	default:
		hexdump(f, k->data, k->len, o->hex);
	}
}

/* ------------------------------------------------------------------ */
/* JSON output                                                          */

static void json_hex(struct json *j, const char *key, const uint8_t *p,
		     size_t len, uint64_t max)
{
	size_t n = len < max ? len : (size_t)max;
	char *s = malloc(n * 2 + 1);

	if (!s) {
		json_null(j, key);
		return;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	json_str(j, key, s);
	free(s);
}

static void json_undecodable(struct json *j, const struct kept *k,
			     const struct dump_opts *o, const char *why)
{
	if (why)
		json_str(j, "decode_error", why);
	json_hex(j, "hex", k->data, k->len, o->hex);
	json_bool(j, "hex_truncated", k->len > o->hex);
}

static void json_run_begin(struct json *j, const struct run_ref *r)
{
	const struct qshm_run_begin *h = &r->run.hdr;
	char hash[24];

	json_obj(j, "run");
	json_str(j, "circuit", r->run.name);
	snprintf(hash, sizeof(hash), "0x%016llx",
		 (unsigned long long)h->circuit_hash);
	json_str(j, "hash", hash);
	json_u64(j, "qubits", h->nqubits);
	json_u64(j, "clbits", h->nclbits);
	json_u64(j, "shots", h->shots);
	json_u64(j, "seed", h->seed);
	json_u64(j, "words_per_shot", h->words_per_shot);
	json_arr(j, "options");
	if (h->options & QSHM_RUN_PROBS)
		json_str(j, NULL, "probs");
	if (h->options & QSHM_RUN_STATE)
		json_str(j, NULL, "state");
	if (h->options & QSHM_RUN_PER_SHOT)
		json_str(j, NULL, "per-shot");
	json_end(j);
	json_arr(j, "cregs");
	for (uint32_t i = 0; i < h->ncregs; i++) {
		json_obj(j, NULL);
		json_str(j, "name", r->run.cregs[i].name);
		json_u64(j, "size", r->run.cregs[i].size);
		json_end(j);
	}
	json_end(j);
	json_end(j);
}

static void json_shots(struct json *j, const struct kept *k,
		       const struct dump_opts *o)
{
	const struct run_ref *r = k->run;
	const uint64_t *bits;
	uint32_t count;
	char msg[160];
	struct qshm_shots s = { 0 };

	if (k->len >= sizeof(s))
		memcpy(&s, k->data, sizeof(s));
	if (!r || !r->ok) {
		json_u64(j, "first_shot", s.first_shot);
		json_u64(j, "count", s.count);
		json_undecodable(j, k, o, "no decodable RUN_BEGIN before it "
				 "in the ring");
		return;
	}
	if (results_shots_check(k->data, k->len, &r->run, &bits, &count, msg,
				sizeof(msg))) {
		json_undecodable(j, k, o, msg);
		return;
	}
	json_u64(j, "first_shot", s.first_shot);
	json_u64(j, "count", count);
	size_t slen = (size_t)r->run.hdr.nclbits + r->run.hdr.ncregs + 1;
	char *buf = malloc(slen);
	uint64_t *w = malloc(r->run.hdr.words_per_shot * sizeof(uint64_t));
	json_arr(j, "outcomes");
	for (uint32_t i = 0; buf && w && i < count && i < o->shots; i++) {
		memcpy(w, bits + (size_t)i * r->run.hdr.words_per_shot,
		       r->run.hdr.words_per_shot * sizeof(uint64_t));
		results_outcome(&r->run, w, buf, slen);
		json_str(j, NULL, buf);
	}
	json_end(j);
	json_bool(j, "truncated", count > o->shots);
	free(w);
	free(buf);
}

static void json_chunk(struct json *j, const struct kept *k,
		       const struct dump_opts *o, int is_state)
{
	struct qshm_chunk ch;
	const uint8_t *elems;
	char msg[160], bs[66];

	if (results_chunk_check(k->data, k->len, is_state ? 16 : 8, &ch,
				&elems, msg, sizeof(msg))) {
		json_undecodable(j, k, o, msg);
		return;
	}
	json_u64(j, "qubits", ch.nqubits);
	json_u64(j, "first", ch.first);
	json_u64(j, "count", ch.count);
	json_u64(j, "total", ch.total);
	struct results_top *top = calloc(o->top ? o->top : 1, sizeof(*top));
	size_t n = top ? results_chunk_top(&ch, elems, is_state, top,
					   o->top) : 0;
	json_arr(j, "top");
	for (size_t i = 0; i < n; i++) {
		json_obj(j, NULL);
		results_basis_string(top[i].index, ch.nqubits, bs, sizeof(bs));
		json_str(j, "outcome", bs);
		json_u64(j, "index", top[i].index);
		json_double(j, "p", top[i].p);
		if (is_state) {
			json_double(j, "re", top[i].re);
			json_double(j, "im", top[i].im);
		}
		json_end(j);
	}
	json_end(j);
	free(top);
}

static void json_record(struct json *j, const struct kept *k,
			const struct dump_opts *o)
{
	const char *tn = type_name(k->type);

	json_obj(j, NULL);
	json_u64(j, "seq", k->seq);
	json_u64(j, "pos", k->pos);
	json_u64(j, "type", k->type);
	if (tn)
		json_str(j, "type_name", tn);
	else
		json_null(j, "type_name");
	json_u64(j, "len", k->len);
	json_u64(j, "lost_before", k->lost);
	switch (k->type) {
	case QSHM_REC_RUN_BEGIN:
		if (k->run && k->run->ok)
			json_run_begin(j, k->run);
		else
			json_undecodable(j, k, o, k->run ? k->run->err :
					 "out of memory");
		break;
	case QSHM_REC_SHOTS:
		json_shots(j, k, o);
		break;
	case QSHM_REC_PROBS:
	case QSHM_REC_STATE:
		json_chunk(j, k, o, k->type == QSHM_REC_STATE);
		break;
	case QSHM_REC_RUN_END:
		if (k->len >= sizeof(struct qshm_run_end)) {
			struct qshm_run_end e;
			memcpy(&e, k->data, sizeof(e));
			json_str(j, "status", run_status_name(e.status));
			json_u64(j, "shots", e.shots);
			json_u64(j, "elapsed_ns", e.elapsed_ns);
			json_u64(j, "sim_ns", e.sim_ns);
		} else {
			json_undecodable(j, k, o, "RUN_END too short");
		}
		break;
	case QSHM_REC_ERROR:
		if (k->len >= sizeof(struct qshm_run_error)) {
			struct qshm_run_error e;
			memcpy(&e, k->data, sizeof(e));
			uint32_t l = e.len;
			if (l > k->len - sizeof(e))
				l = k->len - (uint32_t)sizeof(e);
			json_i64(j, "code", e.code);
			json_strn(j, "message",
				  (const char *)k->data + sizeof(e), l);
		} else {
			json_undecodable(j, k, o, "ERROR too short");
		}
		break;
	default:
		json_undecodable(j, k, o, NULL);
	}
	json_end(j);
}

/* ------------------------------------------------------------------ */
/* Reading the ring                                                     */

/* Per consumer: the sequence number found at (or just after) its
 * position during the scan. */
struct cons_lag {
	unsigned slot;      /* index into snap.slots */
	uint64_t position;
	int found;          /* a record at or above position was read */
	int exact;          /* ... exactly at position */
	uint64_t seq;
};

static int by_position(const void *a, const void *b)
{
	const struct cons_lag *x = a, *y = b;
	return x->position < y->position ? -1 : x->position > y->position;
}

struct scan {
	struct kept *win;   /* last nrec records, circular */
	uint64_t nwin, next;/* slots, next slot to fill */
	uint64_t kept;      /* records kept in all (capped view: nwin) */
	uint64_t read;      /* records read intact */
	uint64_t lost;      /* records lost while reading */
	uint64_t first_seq, last_seq;
	int have;           /* first/last_seq valid */
	struct run_ref *run;/* latest RUN_BEGIN */
	int err;            /* what stopped the scan (0: reached the end) */
	int have_pending;   /* a record past the snapshot, for --follow */
	struct kept pending;
	uint64_t pending_lost; /* lost past the snapshot (pending not kept) */
};

/* Copies record r into k, validated. Returns 0, -QSHM_EOVERRUN (lost) or
 * -ENOMEM. */
static int keep(qshm_consumer *c, const struct qshm_record *r,
		struct kept *k, struct run_ref *run)
{
	if (k->cap < r->len) {
		uint8_t *nd = realloc(k->data, r->len);
		if (!nd)
			return -ENOMEM;
		k->data = nd;
		k->cap = r->len;
	}
	memcpy(k->data, r->data, r->len);
	if (qshm_consumer_validate(c, r))
		return -QSHM_EOVERRUN;
	k->seq = r->seq;
	k->pos = r->pos;
	k->lost = r->lost;
	k->type = r->type;
	k->len = r->len;
	run_put(k->run);
	k->run = NULL;
	if (r->type == QSHM_REC_RUN_BEGIN)
		k->run = run_decode(k->data, k->len);
	else
		k->run = run_get(run);
	return 0;
}

static void kept_free(struct kept *k)
{
	free(k->data);
	run_put(k->run);
	memset(k, 0, sizeof(*k));
}

/*
 * Reads from the oldest record up to end (the snapshot's write position),
 * keeping the last nwin records, and notes the sequence number at each
 * consumer position (lags sorted by position).
 */
static int scan_ring(qshm_consumer *c, uint64_t end, struct scan *s,
		     struct cons_lag *lags, unsigned nlags)
{
	struct qshm_record r;
	struct kept tmp = { 0 };
	unsigned li = 0;
	int err;

	for (;;) {
		err = qshm_consumer_read(c, &r, 0);
		if (err)
			break;
		if (r.pos >= end) {
			/* Published after the snapshot: --follow shows it. */
			err = keep(c, &r, &s->pending, s->run);
			if (err == -ENOMEM)
				break;
			if (err)
				s->pending_lost = r.lost + 1;
			else
				s->have_pending = 1;
			err = 0;
			break;
		}
		s->lost += r.lost;
		if (!s->nwin && r.type != QSHM_REC_RUN_BEGIN) {
			/* Nothing to keep: only validate what was read. */
			if (qshm_consumer_validate(c, &r)) {
				s->lost++;
				continue;
			}
		} else {
			/* Copy into tmp first: a record overwritten while
			 * copied must not clobber a kept one. */
			err = keep(c, &r, &tmp, s->run);
			if (err == -ENOMEM)
				break;
			if (err) {
				s->lost++;
				continue;
			}
			if (r.type == QSHM_REC_RUN_BEGIN) {
				run_put(s->run);
				s->run = run_get(tmp.run);
			}
			if (s->nwin) {
				struct kept t = s->win[s->next];
				s->win[s->next] = tmp;
				tmp = t;
				s->next = (s->next + 1) % s->nwin;
				s->kept++;
			}
		}
		if (!s->have)
			s->first_seq = r.seq;
		s->have = 1;
		s->last_seq = r.seq;
		s->read++;
		for (; li < nlags && lags[li].position <= r.pos; li++) {
			lags[li].found = 1;
			lags[li].exact = lags[li].position == r.pos;
			lags[li].seq = r.seq;
		}
	}
	kept_free(&tmp);
	if (err == -EAGAIN || err == -QSHM_ECLOSED ||
	    err == -QSHM_EPRODUCERDEAD)
		err = 0;
	s->err = err;
	return err;
}

/* The i-th oldest kept record (0 <= i < min(kept, nwin)). */
static struct kept *kept_at(struct scan *s, uint64_t i)
{
	uint64_t first = s->kept < s->nwin ? 0 : s->next;
	return &s->win[(first + i) % s->nwin];
}

/* ------------------------------------------------------------------ */
/* The report                                                           */

struct cons_view {
	const struct qshm_slot_info *si;
	uint64_t lag_bytes;
	uint64_t lag_records;
	int lag_exact;   /* counted record by record */
	int behind;      /* position below the oldest record: will lose */
};

static void cons_views(const struct snap *sn, const struct scan *s,
		       const struct cons_lag *lags, struct cons_view *v)
{
	uint64_t end = sn->st.write_pos;
	uint64_t seq_end = s->have ? s->last_seq + 1 : sn->st.records;

	for (unsigned i = 0; i < sn->nslots; i++) {
		const struct cons_lag *l = &lags[i];
		struct cons_view *cv = &v[l->slot];
		const struct qshm_slot_info *si = &sn->slots[l->slot];
		cv->si = si;
		cv->lag_bytes = si->position < end ? end - si->position : 0;
		cv->behind = si->position < sn->st.oldest_pos;
		if (si->position >= end) {
			cv->lag_records = 0;
			cv->lag_exact = 1;
		} else if (l->found) {
			cv->lag_records = seq_end >= l->seq ? seq_end - l->seq
							    : 0;
			cv->lag_exact = l->exact && !cv->behind;
		} else {
			/* Nothing read at or above it: the scan was cut
			 * short. Estimate from the average footprint. */
			double avg = sn->st.records ?
				(double)end / (double)sn->st.records : 0;
			cv->lag_records = avg > 0 ?
				(uint64_t)((double)cv->lag_bytes / avg) : 0;
			cv->lag_exact = 0;
		}
	}
}

static void text_report(FILE *f, const char *name, const struct snap *sn,
			const struct scan *s, const struct cons_view *cv,
			const struct dump_opts *o)
{
	const struct qshm_ring_info *in = &sn->info;
	const struct qshm_ring_stats *st = &sn->st;
	char path[QSHM_NAME_MAX + 32], when[40], b1[32];

	fprintf(f, "ring '%s' (%s)\n", name,
		snap_shm_path(name, path, sizeof(path)));
	fprintf(f, "  state        %s\n", qshm_ring_state_name(in->state));
	fprintf(f, "  format       %u.%u\n", in->format_major,
		in->format_minor);
	snap_fmt_bytes(in->size, b1, sizeof(b1));
	fprintf(f, "  size         %llu bytes (%s)\n",
		(unsigned long long)in->size, b1);
	fprintf(f, "  capacity     %llu data bytes\n",
		(unsigned long long)in->capacity);
	fprintf(f, "  max record   %llu bytes\n",
		(unsigned long long)in->max_record);
	fprintf(f, "  slots        %u consumer slots\n", in->max_consumers);
	fprintf(f, "  descriptor   %llu of %llu bytes\n",
		(unsigned long long)in->meta_len,
		(unsigned long long)in->meta_size);
	snap_fmt_time(in->created_ns, when, sizeof(when));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double age = (double)now.tv_sec + (double)now.tv_nsec / 1e9 -
		     (double)in->created_ns / 1e9;
	fprintf(f, "  created      %s (%.1f s ago)\n", when, age);
	fprintf(f, "  generation   %llu\n", (unsigned long long)in->generation);
	fprintf(f, "  producer     pid %d, %s%s\n", in->creator_pid,
		in->creator_alive ? "alive" : "dead",
		st->closed ? ", ring closed" : "");
	fprintf(f, "positions\n");
	fprintf(f, "  write        %llu\n", (unsigned long long)st->write_pos);
	fprintf(f, "  oldest       %llu\n", (unsigned long long)st->oldest_pos);
	fprintf(f, "  in ring      %llu bytes, %llu records\n",
		(unsigned long long)(st->write_pos - st->oldest_pos),
		(unsigned long long)(s->have ? s->last_seq - s->first_seq + 1
					     : 0));
	fprintf(f, "counters\n");
	fprintf(f, "  records      %llu committed\n",
		(unsigned long long)st->records);
	fprintf(f, "  bytes        %llu payload bytes committed\n",
		(unsigned long long)st->bytes);
	fprintf(f, "  full waits   %llu\n", (unsigned long long)st->full_waits);
	fprintf(f, "  wake-ups     %llu\n", (unsigned long long)st->wakes);
	fprintf(f, "  evictions    %llu\n", (unsigned long long)st->evictions);
	/* What `qshm sim` keeps in the first user counters (format.md). */
	static const char *const user_names[] = {
		"allocated bytes", "active bytes", "resident bytes",
		"shots published", "shots requested", "state vector bytes",
	};
	for (unsigned i = 0; i < 16; i++) {
		char label[16];
		if (!st->user[i])
			continue;
		snprintf(label, sizeof(label), "user[%u]", i);
		fprintf(f, "  %-12s %llu", label,
			(unsigned long long)st->user[i]);
		if (i < 6)
			fprintf(f, "  (qshm sim: %s)", user_names[i]);
		fputc('\n', f);
	}
	unsigned nrel = 0, nlossy = 0;
	for (unsigned i = 0; i < sn->nslots; i++) {
		nrel += sn->slots[i].state == QSHM_SLOT_STATE_RELIABLE;
		nlossy += sn->slots[i].state == QSHM_SLOT_STATE_LOSSY;
	}
	fprintf(f, "consumers: %u (%u reliable, %u lossy)\n", sn->nslots, nrel,
		nlossy);
	if (sn->nslots)
		fprintf(f, "  %-4s %-8s %-5s %-9s %14s %10s %12s %10s %8s\n",
			"SLOT", "PID", "ALIVE", "KIND", "POSITION", "LAG-REC",
			"LAG-BYTES", "READ", "LOST");
	for (unsigned i = 0; i < sn->nslots; i++) {
		const struct cons_view *c = &cv[i];
		char lr[32];
		snprintf(lr, sizeof(lr), "%s%llu", c->lag_exact ? "" : "~",
			 (unsigned long long)c->lag_records);
		fprintf(f, "  %-4u %-8d %-5s %-9s %14llu %10s %12llu %10llu "
			"%8llu%s\n", c->si->index, c->si->pid,
			c->si->alive ? "yes" : "no",
			snap_kind_name(c->si->state),
			(unsigned long long)c->si->position, lr,
			(unsigned long long)c->lag_bytes,
			(unsigned long long)c->si->records,
			(unsigned long long)c->si->lost,
			c->behind ? "  behind the oldest record" : "");
	}
	uint64_t shown = s->kept < s->nwin ? s->kept : s->nwin;
	if (o->nrec) {
		fprintf(f, "records: last %llu of %llu read",
			(unsigned long long)shown,
			(unsigned long long)s->read);
		if (s->lost)
			fprintf(f, " (%llu lost while reading: overwritten by "
				"the producer)", (unsigned long long)s->lost);
		fputc('\n', f);
		for (uint64_t i = 0; i < shown; i++)
			text_record(f, kept_at((struct scan *)s, i), o);
	}
}

static void json_report(FILE *f, const char *name, const struct snap *sn,
			const struct scan *s, const struct cons_view *cv,
			const struct dump_opts *o)
{
	const struct qshm_ring_info *in = &sn->info;
	const struct qshm_ring_stats *st = &sn->st;
	char path[QSHM_NAME_MAX + 32], when[40];
	struct json j;

	json_init(&j, f);
	json_obj(&j, NULL);
	json_str(&j, "ring", name);
	json_str(&j, "path", snap_shm_path(name, path, sizeof(path)));
	json_str(&j, "state", qshm_ring_state_name(in->state));
	json_obj(&j, "format");
	json_u64(&j, "major", in->format_major);
	json_u64(&j, "minor", in->format_minor);
	json_end(&j);
	json_u64(&j, "size", in->size);
	json_u64(&j, "capacity", in->capacity);
	json_u64(&j, "max_record", in->max_record);
	json_u64(&j, "max_consumers", in->max_consumers);
	json_u64(&j, "descriptor_len", in->meta_len);
	json_u64(&j, "descriptor_size", in->meta_size);
	json_u64(&j, "created_ns", in->created_ns);
	snap_fmt_time(in->created_ns, when, sizeof(when));
	json_str(&j, "created", when);
	json_u64(&j, "generation", in->generation);
	json_obj(&j, "producer");
	json_i64(&j, "pid", in->creator_pid);
	json_bool(&j, "alive", in->creator_alive);
	json_u64(&j, "start_ticks", in->creator_start);
	json_bool(&j, "closed", st->closed);
	json_end(&j);
	json_obj(&j, "positions");
	json_u64(&j, "write", st->write_pos);
	json_u64(&j, "oldest", st->oldest_pos);
	json_u64(&j, "bytes_in_ring", st->write_pos - st->oldest_pos);
	json_u64(&j, "records_in_ring",
		 s->have ? s->last_seq - s->first_seq + 1 : 0);
	json_end(&j);
	json_obj(&j, "counters");
	json_u64(&j, "records", st->records);
	json_u64(&j, "bytes", st->bytes);
	json_u64(&j, "full_waits", st->full_waits);
	json_u64(&j, "wakes", st->wakes);
	json_u64(&j, "evictions", st->evictions);
	json_arr(&j, "user");
	for (unsigned i = 0; i < 16; i++)
		json_u64(&j, NULL, st->user[i]);
	json_end(&j);
	json_end(&j);
	json_arr(&j, "consumers");
	for (unsigned i = 0; i < sn->nslots; i++) {
		const struct cons_view *c = &cv[i];
		json_obj(&j, NULL);
		json_u64(&j, "slot", c->si->index);
		json_i64(&j, "pid", c->si->pid);
		json_bool(&j, "alive", c->si->alive);
		json_str(&j, "kind", snap_kind_name(c->si->state));
		json_bool(&j, "evicted",
			  c->si->state == QSHM_SLOT_STATE_EVICTED);
		json_u64(&j, "position", c->si->position);
		json_u64(&j, "lag", c->lag_records);
		json_bool(&j, "lag_exact", c->lag_exact);
		json_u64(&j, "lag_bytes", c->lag_bytes);
		json_bool(&j, "behind_oldest", c->behind);
		json_u64(&j, "records", c->si->records);
		json_u64(&j, "lost", c->si->lost);
		json_u64(&j, "attach_ns", c->si->attach_ns);
		json_end(&j);
	}
	json_end(&j);
	json_obj(&j, "reader");
	json_u64(&j, "read", s->read);
	json_u64(&j, "lost", s->lost);
	json_end(&j);
	json_arr(&j, "records");
	uint64_t shown = s->kept < s->nwin ? s->kept : s->nwin;
	for (uint64_t i = 0; i < shown; i++)
		json_record(&j, kept_at((struct scan *)s, i), o);
	json_end(&j);
	json_done(&j);
}

/* ------------------------------------------------------------------ */
/* --follow                                                             */

static void follow_one(FILE *f, struct kept *k, const struct dump_opts *o)
{
	if (o->json) {
		struct json j;
		json_init(&j, f);
		json_record(&j, k, o);
		json_done(&j);
	} else {
		text_record(f, k, o);
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
		err = keep(c, &r, &k, s->run);
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
			run_put(s->run);
			s->run = run_get(k.run);
		}
		got++;
		follow_one(stdout, &k, o);
	}
	kept_free(&k);
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
		default: fputs(dump_usage, stderr); return SNAP_EXIT_USAGE;
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
	qsort(lags, sn.nslots, sizeof(*lags), by_position);

	if (o.follow) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	err = scan_ring(c, sn.st.write_pos, &s, lags, sn.nslots);
	cons_views(&sn, &s, lags, cv);
	if (o.json)
		json_report(stdout, name, &sn, &s, cv, &o);
	else
		text_report(stdout, name, &sn, &s, cv, &o);
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
		kept_free(&s.win[i]);
	free(s.win);
	kept_free(&s.pending);
	run_put(s.run);
	free(lags);
	free(cv);
	snap_free(&sn);
	qshm_consumer_close(c);
	return rc;
}
