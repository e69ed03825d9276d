/* SPDX-License-Identifier: MIT */
/* dump_json.c - `qshm dump --json`: the report and each record (schema:
 * qshm-dump(1), docs/tools.md; see dump.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"

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
	const struct qshm_run_begin *h = &r->hdr;
	char hash[24];

	json_obj(j, "run");
	json_str(j, "circuit", qshm_run_name(r->run));
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
		struct qshm_run_creg_info cr;
		qshm_run_creg(r->run, i, &cr);
		json_str(j, "name", cr.name);
		json_u64(j, "size", cr.size);
		json_end(j);
	}
	json_end(j);
	json_end(j);
}

static void json_shots(struct json *j, const struct kept *k,
		       const struct dump_opts *o)
{
	const struct run_ref *r = k->run;
	struct qshm_shots_view v;
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
	if (qshm_shots_decode(k->data, k->len, r->run, &v)) {
		json_undecodable(j, k, o, qshm_results_last_error());
		return;
	}
	uint32_t count = v.count, wps = v.words_per_shot;
	json_u64(j, "first_shot", v.first_shot);
	json_u64(j, "count", count);
	size_t slen = qshm_run_outcome_size(r->run);
	char *buf = malloc(slen);
	json_arr(j, "outcomes");
	for (uint32_t i = 0; buf && i < count && i < o->shots; i++) {
		qshm_run_outcome(r->run, v.words + (size_t)i * wps, wps, buf,
				 slen);
		json_str(j, NULL, buf);
	}
	json_end(j);
	json_bool(j, "truncated", count > o->shots);
	free(buf);
}

static void json_chunk(struct json *j, const struct kept *k,
		       const struct dump_opts *o, int is_state)
{
	struct qshm_vector_view ch;
	char bs[66];

	if (qshm_vector_decode(k->type, k->data, k->len, &ch)) {
		json_undecodable(j, k, o, qshm_results_last_error());
		return;
	}
	json_u64(j, "qubits", ch.nqubits);
	json_u64(j, "first", ch.first);
	json_u64(j, "count", ch.count);
	json_u64(j, "total", ch.total);
	struct qshm_vector_top *top = calloc(o->top ? o->top : 1,
					     sizeof(*top));
	int tn = top ? qshm_vector_top(&ch, top, o->top) : 0;
	size_t n = tn > 0 ? (size_t)tn : 0;
	json_arr(j, "top");
	for (size_t i = 0; i < n; i++) {
		json_obj(j, NULL);
		qshm_basis_string(top[i].index, ch.nqubits, bs, sizeof(bs));
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

void dump_json_record(struct json *j, const struct kept *k,
			const struct dump_opts *o)
{
	const char *tn = dump_type_name(k->type);

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
	case QSHM_REC_RUN_END: {
		struct qshm_run_end e;
		if (qshm_run_end_decode(k->data, k->len, &e) == 0) {
			json_str(j, "status", qshm_run_status_name(e.status));
			json_u64(j, "shots", e.shots);
			json_u64(j, "elapsed_ns", e.elapsed_ns);
			json_u64(j, "sim_ns", e.sim_ns);
		} else {
			json_undecodable(j, k, o, qshm_results_last_error());
		}
		break;
	}
	case QSHM_REC_ERROR: {
		struct qshm_error_view e;
		if (qshm_error_decode(k->data, k->len, &e) == 0) {
			json_i64(j, "code", e.code);
			json_strn(j, "message", e.text, e.len);
		} else {
			json_undecodable(j, k, o, qshm_results_last_error());
		}
		break;
	}
	default:
		json_undecodable(j, k, o, NULL);
	}
	json_end(j);
}

void dump_json_report(FILE *f, const char *name, const struct snap *sn,
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
	if (s->have_desc) {
		json_obj(&j, "run_descriptor");
		json_u64(&j, "number", s->desc.run);
		json_u64(&j, "begin_seq", s->desc.begin_seq);
		if (s->desc.end_seq == QSHM_SEQ_NONE) {
			json_null(&j, "end_seq");
		} else {
			json_u64(&j, "end_seq", s->desc.end_seq);
			json_str(&j, "status",
				 qshm_run_status_name(s->desc.status));
			json_u64(&j, "shots", s->desc.shots_done);
		}
		if (s->run && s->run->from_desc)
			json_run_begin(&j, s->run);
		json_end(&j);
	} else if (s->desc_err[0]) {
		json_obj(&j, "run_descriptor");
		json_str(&j, "decode_error", s->desc_err);
		json_end(&j);
	}
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
		dump_json_record(&j, dump_kept_at((struct scan *)s, i), o);
	json_end(&j);
	json_done(&j);
}

