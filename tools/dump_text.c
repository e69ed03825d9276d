/* SPDX-License-Identifier: MIT */
/* dump_text.c - `qshm dump` as text: the report and each record decoded
 * by type (see dump.h, qshm-dump(1)). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"

/* ------------------------------------------------------------------ */
/* Text output                                                          */

void dump_hexdump(FILE *f, const uint8_t *p, size_t len, uint64_t max)
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
void dump_print_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
}

static void text_run_begin(FILE *f, const struct run_ref *r)
{
	const struct qshm_run_begin *h = &r->hdr;

	fputs("      circuit ", f);
	dump_print_safe(f, qshm_run_name(r->run));
	fprintf(f, "  hash 0x%016llx  qubits %u  shots %llu  seed %llu\n",
		(unsigned long long)h->circuit_hash, h->nqubits,
		(unsigned long long)h->shots, (unsigned long long)h->seed);
	fprintf(f, "      classical bits %u in %u register%s:", h->nclbits,
		h->ncregs, h->ncregs == 1 ? "" : "s");
	for (uint32_t i = 0; i < h->ncregs; i++) {
		fputc(' ', f);
		struct qshm_run_creg_info cr;
		qshm_run_creg(r->run, i, &cr);
		dump_print_safe(f, cr.name);
		fprintf(f, "[%u]", cr.size);
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
	struct qshm_shots_view v;

	if (!r || !r->ok) {
		fprintf(f, "      (no decodable RUN_BEGIN before it in the "
			"ring: raw bytes)\n");
		dump_hexdump(f, k->data, k->len, o->hex);
		return;
	}
	/* k->data is a malloc'd copy: aligned for in-place views. */
	if (qshm_shots_decode(k->data, k->len, r->run, &v)) {
		fprintf(f, "      undecodable: %s\n", qshm_results_last_error());
		dump_hexdump(f, k->data, k->len, o->hex);
		return;
	}
	uint32_t count = v.count, wps = v.words_per_shot;
	fprintf(f, "      shots %llu..%llu (%u):",
		(unsigned long long)v.first_shot,
		(unsigned long long)(v.first_shot + (count ? count - 1 : 0)),
		count);
	size_t slen = qshm_run_outcome_size(r->run);
	char *buf = malloc(slen);
	if (!buf) {
		fputc('\n', f);
		return;
	}
	/* Outcomes contain spaces between registers: separate them with
	 * commas, wrapped at 78 columns. */
	size_t col = 80;
	for (uint32_t i = 0; i < count && i < o->shots; i++) {
		int sn = qshm_run_outcome(r->run, v.words + (size_t)i * wps,
					  wps, buf, slen);
		size_t n = sn > 0 ? (size_t)sn : 0;
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
	free(buf);
}

static void text_chunk(FILE *f, const struct kept *k,
		       const struct dump_opts *o, int is_state)
{
	struct qshm_vector_view ch;

	if (qshm_vector_decode(k->type, k->data, k->len, &ch)) {
		fprintf(f, "      undecodable: %s\n", qshm_results_last_error());
		dump_hexdump(f, k->data, k->len, o->hex);
		return;
	}
	struct qshm_vector_top *top = calloc(o->top ? o->top : 1,
					     sizeof(*top));
	if (!top)
		return;
	int tn = qshm_vector_top(&ch, top, o->top);
	size_t n = tn > 0 ? (size_t)tn : 0;
	fprintf(f, "      %s %llu..+%llu of %llu (%u qubits), top %zu:\n",
		is_state ? "amplitudes" : "probabilities",
		(unsigned long long)ch.first, (unsigned long long)ch.count,
		(unsigned long long)ch.total, ch.nqubits, n);
	char bs[66];
	for (size_t i = 0; i < n; i++) {
		qshm_basis_string(top[i].index, ch.nqubits, bs, sizeof(bs));
		if (is_state)
			fprintf(f, "        %s  %+.6f%+.6fi  p %.6f\n", bs,
				top[i].re, top[i].im, top[i].p);
		else
			fprintf(f, "        %s  %.6f\n", bs, top[i].p);
	}
	free(top);
}

void dump_text_record(FILE *f, const struct kept *k,
			const struct dump_opts *o)
{
	const char *tn = dump_type_name(k->type);

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
			dump_hexdump(f, k->data, k->len, o->hex);
		}
		break;
	case QSHM_REC_SHOTS:
		text_shots(f, k, o);
		break;
	case QSHM_REC_PROBS:
	case QSHM_REC_STATE:
		text_chunk(f, k, o, k->type == QSHM_REC_STATE);
		break;
	case QSHM_REC_RUN_END: {
		struct qshm_run_end e;
		if (qshm_run_end_decode(k->data, k->len, &e) == 0) {
			fprintf(f, "      status %s (%u)  shots %llu  elapsed "
				"%.3f ms  simulating %.3f ms\n",
				qshm_run_status_name(e.status), e.status,
				(unsigned long long)e.shots,
				(double)e.elapsed_ns / 1e6,
				(double)e.sim_ns / 1e6);
		} else {
			fprintf(f, "      undecodable: %s\n",
				qshm_results_last_error());
			dump_hexdump(f, k->data, k->len, o->hex);
		}
		break;
	}
	case QSHM_REC_ERROR: {
		struct qshm_error_view e;
		if (qshm_error_decode(k->data, k->len, &e) == 0) {
			fprintf(f, "      code %d: ", e.code);
			for (uint32_t i = 0; i < e.len; i++) {
				uint8_t ch = (uint8_t)e.text[i];
				fputc(ch >= 0x20 && ch != 0x7f ? ch : '?', f);
			}
			fputc('\n', f);
		} else {
			fprintf(f, "      undecodable: %s\n",
				qshm_results_last_error());
			dump_hexdump(f, k->data, k->len, o->hex);
		}
		break;
	}
	default:
		dump_hexdump(f, k->data, k->len, o->hex);
	}
}

void dump_text_report(FILE *f, const char *name, const struct snap *sn,
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
	if (s->have_desc) {
		fprintf(f, "run descriptor\n");
		fprintf(f, "  run          %llu, ", (unsigned long long)
			s->desc.run);
		dump_print_safe(f, s->run && s->run->from_desc ?
			   qshm_run_name(s->run->run) : "?");
		fprintf(f, ", RUN_BEGIN at seq %llu, ",
			(unsigned long long)s->desc.begin_seq);
		if (s->desc.end_seq == QSHM_SEQ_NONE)
			fprintf(f, "running\n");
		else
			fprintf(f, "ended %s at seq %llu with %llu shots\n",
				qshm_run_status_name(s->desc.status),
				(unsigned long long)s->desc.end_seq,
				(unsigned long long)s->desc.shots_done);
	} else if (s->desc_err[0]) {
		fprintf(f, "run descriptor\n  undecodable: %s\n", s->desc_err);
	}
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
			dump_text_record(f, dump_kept_at((struct scan *)s, i), o);
	}
}

