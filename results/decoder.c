/* SPDX-License-Identifier: MIT */
/*
 * decoder.c - a ring's result records, run after run, from any attach
 * point (see qshm_decoder in qshm/results.h; docs/format.md, "Joining at
 * any moment").
 *
 * A record belongs to the run whose RUN_BEGIN is the last one before it
 * in seq order. The decoder knows a run either from its RUN_BEGIN record
 * or from the run descriptor (begin_seq..end_seq). Within one run, records
 * come contiguously; after a gap in seq, a RUN_BEGIN may have been lost,
 * so the decoder trusts its current run only if the descriptor, read after
 * the gap, says no newer run began before the record. That works because a
 * producer updates the descriptor right after committing RUN_BEGIN and
 * before any other record of the run (docs/format.md): every record of a
 * run except its RUN_BEGIN is committed after the descriptor names it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct dec_run {
	qshm_run *run;
	uint64_t number;    /* RUN_BEGIN's run counter, 0 unknown */
	uint64_t begin_seq;
	uint64_t end_seq;   /* QSHM_SEQ_NONE: not known to have ended */
};

struct qshm_decoder {
	struct dec_run cur;   /* the run of the latest attributed record */
	struct dec_run next;  /* a newer run known from the descriptor */
	int have_cur, have_next;
	int have_desc;        /* a descriptor not older than cur was given */
	uint64_t desc_number, desc_begin;
	int have_last;        /* a record was fed */
	int last_in_cur;      /* ... and it belonged to cur */
	int cur_unannounced;  /* cur was entered from the descriptor and no
				 record was attributed to it yet */
	uint64_t last_seq;
	struct qshm_progress prog;
};

int qshm_decoder_new(qshm_decoder **out)
{
	qres__clear();
	if (!out)
		return qres__fail(EINVAL, "qshm_decoder_new: out is NULL");
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return qres__fail(ENOMEM, "qshm_decoder_new: out of memory");
	(*out)->prog.first_shot = QSHM_SEQ_NONE;
	return 0;
}

void qshm_decoder_free(qshm_decoder *d)
{
	if (!d)
		return;
	qshm_run_free(d->cur.run);
	qshm_run_free(d->next.run);
	free(d);
}

/* Makes r the current run; resets the progress. */
static void enter_run(qshm_decoder *d, struct dec_run r, int from_begin)
{
	qshm_run_free(d->cur.run);
	d->cur = r;
	d->have_cur = 1;
	d->last_in_cur = 0;
	d->cur_unannounced = 0;
	uint64_t skipped = d->prog.records_skipped;
	memset(&d->prog, 0, sizeof(d->prog));
	d->prog.records_skipped = skipped;
	d->prog.run = r.number;
	d->prog.shots = r.run->hdr.shots;
	d->prog.first_shot = QSHM_SEQ_NONE;
	d->prog.have_run = 1;
	d->prog.from_begin = (uint32_t)from_begin;
}

int qshm_decoder_meta(qshm_decoder *d, const void *data, size_t len)
{
	struct qshm_run_meta h;
	qshm_run *run;

	qres__clear();
	if (!d)
		return qres__fail(EINVAL, "qshm_decoder_meta: NULL decoder");
	if (!len)
		return 0;
	int err = qshm_run_meta_decode(data, len, &h, &run);
	if (err)
		return err;
	if (d->have_cur && h.begin_seq < d->cur.begin_seq) {
		qshm_run_free(run); /* older than what we read: stale */
		return 0;
	}
	d->have_desc = 1;
	d->desc_number = h.run;
	d->desc_begin = h.begin_seq;
	if (d->have_cur && h.begin_seq == d->cur.begin_seq) {
		if (h.end_seq != QSHM_SEQ_NONE)
			d->cur.end_seq = h.end_seq;
		qshm_run_free(run);
		return 0;
	}
	qshm_run_free(d->next.run);
	d->next = (struct dec_run){
		.run = run,
		.number = h.run,
		.begin_seq = h.begin_seq,
		.end_seq = h.end_seq,
	};
	d->have_next = 1;
	return 0;
}

/* Whether a record at seq (not a RUN_BEGIN) belongs to the current run,
 * entering the descriptor's run first if it covers seq. *new_run is set
 * on the first record attributed to a run entered so, which need not be
 * the record that entered it (one at the run's begin_seq that is not its
 * RUN_BEGIN, as a hostile descriptor may say, enters it but is not in it). */
static int attribute(qshm_decoder *d, uint64_t seq, int *new_run)
{
	if (d->have_next && d->next.begin_seq <= seq) {
		enter_run(d, d->next, 0);
		d->next = (struct dec_run){ 0 };
		d->have_next = 0;
		d->cur_unannounced = 1;
	}
	if (!d->have_cur || seq <= d->cur.begin_seq ||
	    seq > d->cur.end_seq)
		return 0;
	if (d->cur_unannounced) {
		d->cur_unannounced = 0;
		*new_run = 1;
		return 1;
	}
	if (d->have_last && seq == d->last_seq + 1 && d->last_in_cur)
		return 1;
	/* After a gap (or first): no RUN_BEGIN may lie in between. */
	if (!d->have_desc)
		return 1; /* no descriptor to ask: best effort */
	if (d->desc_begin == d->cur.begin_seq)
		return 1;
	return d->desc_begin > seq && d->desc_number && d->cur.number &&
	       d->desc_number == d->cur.number + 1;
}

static int skip(qshm_decoder *d, struct qshm_decoded *out, uint32_t why)
{
	out->kind = QSHM_DECODED_SKIPPED;
	out->skip = why;
	d->prog.records_skipped++;
	return 0;
}

static int decode_in_run(qshm_decoder *d, uint32_t type, uint64_t seq,
			 const void *data, size_t len,
			 struct qshm_decoded *out)
{
	struct qshm_progress *pg = &d->prog;
	const qshm_run *run = d->cur.run;
	int err;

	switch (type) {
	case QSHM_REC_SHOTS: {
		struct qshm_shots_view v;
		err = qshm_shots_decode(data, len, run, &v);
		if (err)
			return err;
		if (pg->first_shot != QSHM_SEQ_NONE &&
		    v.first_shot < pg->next_shot)
			return qres__fail(EBADMSG, "SHOTS: shots %llu..+%u "
					  "come after shot %llu",
					  (unsigned long long)v.first_shot,
					  v.count,
					  (unsigned long long)pg->next_shot);
		if (pg->first_shot == QSHM_SEQ_NONE)
			pg->first_shot = v.first_shot;
		else
			pg->shots_missed += v.first_shot - pg->next_shot;
		pg->next_shot = v.first_shot + v.count;
		pg->shots_seen += v.count;
		out->kind = QSHM_DECODED_SHOTS;
		out->shots = v;
		return 0;
	}
	case QSHM_REC_PROBS:
	case QSHM_REC_STATE:
		err = qshm_vector_decode(type, data, len, &out->vector);
		if (err)
			return err;
		if (out->vector.nqubits != run->hdr.nqubits)
			return qres__fail(EBADMSG, "%s: %u qubits, the run has "
					  "%u", type == QSHM_REC_PROBS ?
					  "PROBS" : "STATE",
					  out->vector.nqubits,
					  run->hdr.nqubits);
		out->kind = type == QSHM_REC_PROBS ? QSHM_DECODED_PROBS :
						     QSHM_DECODED_STATE;
		return 0;
	case QSHM_REC_ERROR:
		err = qshm_error_decode(data, len, &out->error);
		if (err)
			return err;
		out->kind = QSHM_DECODED_ERROR;
		return 0;
	case QSHM_REC_RUN_END:
		err = qshm_run_end_decode(data, len, &out->end);
		if (err)
			return err;
		d->cur.end_seq = seq;
		pg->ended = 1;
		pg->status = out->end.status;
		pg->shots_delivered = out->end.shots;
		out->kind = QSHM_DECODED_RUN_END;
		return 0;
	}
	return skip(d, out, QSHM_SKIP_TYPE);
}

int qshm_decoder_record(qshm_decoder *d, uint32_t type, uint64_t seq,
			const void *data, size_t len,
			struct qshm_decoded *out)
{
	int err = 0, new_run = 0;

	qres__clear();
	if (!d || !out || (!data && len) || ((uintptr_t)data & 7u))
		return qres__fail(EINVAL, "qshm_decoder_record: NULL or "
				  "misaligned argument");
	if (d->have_last && seq <= d->last_seq)
		return qres__fail(EINVAL, "qshm_decoder_record: seq %llu "
				  "after %llu", (unsigned long long)seq,
				  (unsigned long long)d->last_seq);
	memset(out, 0, sizeof(*out));
	out->seq = seq;
	d->have_last = 1;
	d->last_seq = seq;
	d->last_in_cur = 0;

	if (type < QSHM_REC_RUN_BEGIN || type > QSHM_REC_ERROR)
		return skip(d, out, QSHM_SKIP_TYPE);
	if (type == QSHM_REC_RUN_BEGIN) {
		qshm_run *run;
		err = qshm_run_decode(data, len, &run);
		if (err) {
			out->kind = QSHM_DECODED_SKIPPED;
			d->prog.records_skipped++;
			return err;
		}
		if (d->have_next && d->next.begin_seq <= seq) {
			qshm_run_free(d->next.run);
			d->next = (struct dec_run){ 0 };
			d->have_next = 0;
		}
		enter_run(d, (struct dec_run){
				.run = run,
				.number = run->hdr.run,
				.begin_seq = seq,
				.end_seq = QSHM_SEQ_NONE,
			}, 1);
		if (d->have_desc && d->desc_begin < seq)
			d->have_desc = 0; /* older than this run */
		out->kind = QSHM_DECODED_RUN_BEGIN;
		new_run = 1;
	} else {
		if (!attribute(d, seq, &new_run))
			return skip(d, out, QSHM_SKIP_NO_RUN);
		err = decode_in_run(d, type, seq, data, len, out);
		if (err) {
			out->kind = QSHM_DECODED_SKIPPED;
			d->prog.records_skipped++;
		}
	}
	d->last_in_cur = 1;
	out->run = d->cur.run;
	out->words_per_shot = d->cur.run->hdr.words_per_shot;
	out->new_run = (uint32_t)new_run;
	return err;
}

const qshm_run *qshm_decoder_run(const qshm_decoder *d)
{
	return d && d->have_cur ? d->cur.run : NULL;
}

int qshm_decoder_progress(const qshm_decoder *d, struct qshm_progress *out)
{
	if (!d || !out)
		return qres__fail(EINVAL, "qshm_decoder_progress: NULL "
				  "argument");
	*out = d->prog;
	return 0;
}
