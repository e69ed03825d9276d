/* SPDX-License-Identifier: MIT */
/* ringstat.c - the set of rings `qshm stat` watches (see ringstat.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qshm/client.h"
#include "ringstat.h"

int rs_add(struct rs_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return 0;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		struct rs_ring *nv = realloc(s->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	struct rs_ring *r = &s->v[s->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->state = -1;
	r->err = -ENOENT;
	return 0;
}

static void rs_detach(struct rs_ring *r)
{
	if (r->c)
		qshm_consumer_close(r->c);
	r->c = NULL;
	snap_free(&r->prev);
	snap_free(&r->cur);
	snap_free(&r->now);
	r->nsamples = 0;
	r->have_now = 0;
}

void rs_free(struct rs_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		rs_detach(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void rs_look(struct rs_ring *r)
{
	struct qshm_ring_info in;
	int err = qshm_ring_info(r->name, &in);

	if (err) {
		/* Gone (or unreadable): stop watching the old object. */
		rs_detach(r);
		r->state = -1;
		r->err = err;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", qshm_last_error());
		return;
	}
	r->state = (int)in.state;
	if (r->c && (in.generation != r->generation ||
		     in.created_ns != r->created_ns))
		rs_detach(r); /* the name points at a new ring */
	if (r->c)
		return;
	err = qshm_consumer_attach(r->name, QSHM_CONSUMER_READONLY, &r->c);
	r->err = err;
	if (err) {
		r->c = NULL;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", qshm_last_error());
		return;
	}
	r->errmsg[0] = '\0';
	struct qshm_ring_info ai;
	qshm_consumer_ring_info(r->c, &ai);
	r->generation = ai.generation;
	r->created_ns = ai.created_ns;
	r->state = (int)ai.state;
	/* A service publishes its descriptor before anyone can find it
	 * (S1): reading it once at attach is enough. */
	{
		struct qshm_service_metrics m;
		uint64_t zero[16] = { 0 };
		int n = qshm_consumer_meta(r->c, r->meta, sizeof(r->meta),
					   NULL);
		r->meta_len = n > 0 ? ((size_t)n < sizeof(r->meta) ?
				       (size_t)n : sizeof(r->meta)) : 0;
		r->is_service = r->meta_len &&
			qshm_service_metrics_decode(zero, r->meta,
						    r->meta_len, &m) == 0;
	}
}

int rs_service_metrics(const struct rs_ring *r,
		       struct qshm_service_metrics *out)
{
	if (!r->is_service || !r->have_now)
		return -1;
	return qshm_service_metrics_decode(r->now.st.user, r->meta,
					   r->meta_len, out) ? -1 : 0;
}

void rs_refresh(struct rs_set *s)
{
	if (s->all) {
		char **names;
		int n = snap_list_names(&names);
		for (size_t i = 0; i < s->n; i++)
			s->v[i].listed = 0;
		for (int k = 0; k < n; k++) {
			if (qshm_name_check(names[k]))
				continue;
			if (rs_add(s, names[k]))
				break;
			for (size_t i = 0; i < s->n; i++)
				if (!strcmp(s->v[i].name, names[k]))
					s->v[i].listed = 1;
		}
		if (n >= 0)
			snap_names_free(names, n);
		/* Drop rings that left /dev/shm. */
		size_t w = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (!s->v[i].listed && n >= 0) {
				rs_detach(&s->v[i]);
				continue;
			}
			s->v[w++] = s->v[i];
		}
		s->n = w;
	}
	for (size_t i = 0; i < s->n; i++)
		rs_look(&s->v[i]);
}

void rs_sample(struct rs_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct rs_ring *r = &s->v[i];
		struct snap sn;
		if (!r->c)
			continue;
		if (snap_take(r->c, &sn))
			continue;
		snap_free(&r->prev);
		r->prev = r->cur;
		r->cur = sn;
		r->nsamples++;
		r->state = (int)sn.info.state;
	}
}

void rs_snap_now(struct rs_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct rs_ring *r = &s->v[i];
		snap_free(&r->now);
		r->have_now = r->c && snap_take(r->c, &r->now) == 0;
		if (r->have_now)
			r->state = (int)r->now.info.state;
	}
}

double rs_dt(const struct rs_ring *r)
{
	if (r->nsamples < 2 || r->cur.t_ns <= r->prev.t_ns)
		return 0;
	return (double)(r->cur.t_ns - r->prev.t_ns) / 1e9;
}

double rs_rate(uint64_t a, uint64_t b, double dt)
{
	if (!(dt > 0) || b < a)
		return NAN;
	return (double)(b - a) / dt;
}

const struct qshm_slot_info *rs_same_slot(const struct snap *sn,
					  const struct qshm_slot_info *si)
{
	for (unsigned i = 0; i < sn->nslots; i++) {
		const struct qshm_slot_info *o = &sn->slots[i];
		if (o->index == si->index && o->pid == si->pid &&
		    o->attach_ns == si->attach_ns)
			return o;
	}
	return NULL;
}

uint64_t rs_lag_records(const struct snap *sn, const struct qshm_slot_info *si,
			uint64_t lag_bytes)
{
	/* Exact when the consumer has published its next sequence number. */
	if (si && si->next_seq != QSHM_SEQ_UNKNOWN)
		return sn->st.records > si->next_seq ?
		       sn->st.records - si->next_seq : 0;
	if (!lag_bytes || !sn->st.records || !sn->st.write_pos)
		return 0;
	double avg = (double)sn->st.write_pos / (double)sn->st.records;
	double est = (double)lag_bytes / avg + 0.5;
	/* Counters from the segment can make it 2^64 or more, and converting
	 * that is undefined. */
	if (est >= 18446744073709551616.0)
		return UINT64_MAX;
	return est < 1 ? 1 : (uint64_t)est;
}
