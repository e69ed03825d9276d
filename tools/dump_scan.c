/* SPDX-License-Identifier: MIT */
/*
 * dump_scan.c - `qshm dump` reading the ring (see dump.h): from the oldest
 * record up to the snapshot's write position, as a lossy reader: each
 * record is copied and validated, so one the producer overwrote while it
 * was copied is counted lost, never shown torn; each kept record knows
 * its run (its RUN_BEGIN in the ring, or the run descriptor). The same
 * pass finds the sequence number at each consumer's position.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "ringstat.h"

void dump_run_put(struct run_ref *r)
{
	if (r && --r->refs == 0) {
		qshm_run_free(r->run);
		free(r);
	}
}

struct run_ref *dump_run_get(struct run_ref *r)
{
	if (r)
		r->refs++;
	return r;
}

struct run_ref *dump_run_decode(const void *data, size_t len,
				  uint64_t seq)
{
	struct run_ref *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->refs = 1;
	r->begin_seq = seq;
	r->end_seq = UINT64_MAX;
	r->ok = qshm_run_decode(data, len, &r->run) == 0;
	if (r->ok)
		qshm_run_header(r->run, &r->hdr);
	else
		snprintf(r->err, sizeof(r->err), "%s",
			 qshm_results_last_error());
	return r;
}

const char *dump_type_name(uint16_t t)
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



/* ------------------------------------------------------------------ */
/* Reading the ring                                                     */

int dump_by_position(const void *a, const void *b)
{
	const struct cons_lag *x = a, *y = b;
	return x->position < y->position ? -1 : x->position > y->position;
}


/* Copies record r into k, validated. Returns 0, -QSHM_EOVERRUN (lost) or
 * -ENOMEM. */
int dump_keep(qshm_consumer *c, const struct qshm_record *r,
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
	dump_run_put(k->run);
	k->run = NULL;
	if (r->type == QSHM_REC_RUN_BEGIN)
		k->run = dump_run_decode(k->data, k->len, r->seq);
	else if (run && run->begin_seq < r->seq && r->seq <= run->end_seq)
		k->run = dump_run_get(run);
	return 0;
}

void dump_kept_free(struct kept *k)
{
	free(k->data);
	dump_run_put(k->run);
	memset(k, 0, sizeof(*k));
}

/*
 * Reads from the oldest record up to end (the snapshot's write position),
 * keeping the last nwin records, and notes the sequence number at each
 * consumer position (lags sorted by position).
 */
int dump_scan_ring(qshm_consumer *c, uint64_t end, struct scan *s,
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
			err = dump_keep(c, &r, &s->pending, s->run);
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
			err = dump_keep(c, &r, &tmp, s->run);
			if (err == -ENOMEM)
				break;
			if (err) {
				s->lost++;
				continue;
			}
			if (r.type == QSHM_REC_RUN_BEGIN) {
				dump_run_put(s->run);
				s->run = dump_run_get(tmp.run);
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
	dump_kept_free(&tmp);
	if (err == -EAGAIN || err == -QSHM_ECLOSED ||
	    err == -QSHM_EPRODUCERDEAD)
		err = 0;
	s->err = err;
	return err;
}

/*
 * The ring's run descriptor (docs/format.md): the run of records whose
 * RUN_BEGIN is no longer in the ring. Read before the records, so it names
 * the run of every record read that no RUN_BEGIN in the ring precedes.
 */
void dump_read_descriptor(qshm_consumer *c, struct scan *s)
{
	size_t size = 4096;
	uint8_t *buf = NULL;
	int n;

	for (int tries = 0; tries < 4; tries++) {
		uint8_t *nb = realloc(buf, size);
		if (!nb)
			break;
		buf = nb;
		n = qshm_consumer_meta(c, buf, size, NULL);
		if (n <= 0)
			break;
		if ((size_t)n > size) {
			size = (size_t)n;
			continue;
		}
		qshm_run *run;
		if (qshm_run_meta_decode(buf, (size_t)n, &s->desc, &run)) {
			snprintf(s->desc_err, sizeof(s->desc_err), "%s",
				 qshm_results_last_error());
			break;
		}
		struct run_ref *r = calloc(1, sizeof(*r));
		if (!r) {
			qshm_run_free(run);
			break;
		}
		r->refs = 1;
		r->ok = 1;
		r->run = run;
		qshm_run_header(run, &r->hdr);
		r->begin_seq = s->desc.begin_seq;
		r->end_seq = s->desc.end_seq;
		r->from_desc = 1;
		s->run = r;
		s->have_desc = 1;
		break;
	}
	free(buf);
}

/* The i-th oldest kept record (0 <= i < min(kept, nwin)). */
struct kept *dump_kept_at(struct scan *s, uint64_t i)
{
	uint64_t first = s->kept < s->nwin ? 0 : s->next;
	return &s->win[(first + i) % s->nwin];
}

void dump_cons_views(const struct snap *sn, const struct scan *s,
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
			 * short. Estimate from the average footprint, as
			 * stat does. */
			cv->lag_records = rs_lag_records(sn, NULL,
							 cv->lag_bytes);
			cv->lag_exact = 0;
		}
	}
}

