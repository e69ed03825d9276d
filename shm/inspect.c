/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - read-only views of a ring's header, counters and consumer
 * table, for tools. Every load here is relaxed: these are snapshots for
 * display, and nothing is read through the values they return.
 */
#include <errno.h>
#include <string.h>

#include "guard.h"
#include "internal.h"

void qshm__info_from_map(struct qshm_map *m, struct qshm_ring_info *info)
{
	memset(info, 0, sizeof(*info));
	info->format_major = m->khdr->kh_format_major;
	info->format_minor = m->khdr->kh_format_minor;
	info->size = m->size;
	info->capacity = m->capacity;
	info->max_record = m->max_record;
	info->max_consumers = m->max_consumers;
	info->meta_size = m->meta_size;
	/* A snapshot for inspectors; readers of the blob bound it again. */
	info->meta_len = atomic_load_explicit(&m->kmeta->km_len,
					      memory_order_relaxed);
	info->creator_pid = m->creator_pid;
	info->creator_start = m->creator_start;
	info->created_ns = m->khdr->kh_created_ns;
	info->generation = m->generation;
	info->creator_alive = qshm__proc_alive(m->creator_pid,
					       m->creator_start);
	info->write_pos = atomic_load_explicit(&m->kprod->kp_write_pos,
					       memory_order_relaxed);
	info->oldest_pos = atomic_load_explicit(&m->kprod->kp_head_pos,
						memory_order_relaxed);
	for (uint32_t i = 0; i < m->max_consumers; i++) {
		uint32_t s = qshm__slot_state(atomic_load_explicit(
			&m->kslots[i].kc_word, memory_order_relaxed));
		if (s == QSHM_SLOT_RELIABLE)
			info->reliable_consumers++;
		else if (s == QSHM_SLOT_LOSSY)
			info->lossy_consumers++;
	}
	if (atomic_load_explicit(&m->kprod->kp_closed, memory_order_relaxed))
		info->state = QSHM_RING_CLOSED;
	else
		info->state = info->creator_alive ? QSHM_RING_LIVE :
						    QSHM_RING_STALE;
}

QSHM_EXPORT int qshm_consumer_ring_info(qshm_consumer *c,
					struct qshm_ring_info *info)
{
	if (!c || !info)
		return qshm__fail(EINVAL, "NULL argument");
	qshm__info_from_map(&c->m, info);
	if (qshm__truncated(&c->m)) /* read zeros past the cut */
		return qshm__truncated_fail(&c->m);
	return 0;
}

QSHM_EXPORT int qshm_consumer_ring_stats(qshm_consumer *c,
					 struct qshm_ring_stats *st)
{
	if (!c || !st)
		return qshm__fail(EINVAL, "NULL argument");
	struct qshm_kstats *ks = c->m.kstats;
	struct qshm_kprod *kp = c->m.kprod;
	memset(st, 0, sizeof(*st));
	st->write_pos = atomic_load_explicit(&kp->kp_write_pos,
					     memory_order_relaxed);
	st->oldest_pos = atomic_load_explicit(&kp->kp_head_pos,
					      memory_order_relaxed);
	st->records = atomic_load_explicit(&ks->ks_records,
					   memory_order_relaxed);
	st->bytes = atomic_load_explicit(&ks->ks_bytes, memory_order_relaxed);
	st->full_waits = atomic_load_explicit(&ks->ks_full_waits,
					      memory_order_relaxed);
	st->wakes = atomic_load_explicit(&ks->ks_wakes, memory_order_relaxed);
	st->evictions = atomic_load_explicit(&ks->ks_evictions,
					     memory_order_relaxed);
	for (unsigned i = 0; i < QSHM_USER_COUNTERS; i++)
		st->user[i] = atomic_load_explicit(&ks->ks_user[i],
						   memory_order_relaxed);
	st->closed = (int)atomic_load_explicit(&kp->kp_closed,
					       memory_order_relaxed);
	if (qshm__truncated(&c->m))
		return qshm__truncated_fail(&c->m);
	return 0;
}

QSHM_EXPORT int qshm_consumer_slots(qshm_consumer *c,
				    struct qshm_slot_info *out, unsigned max)
{
	unsigned n = 0;

	if (!c || (!out && max))
		return qshm__fail(EINVAL, "NULL argument");
	for (uint32_t i = 0; i < c->m.max_consumers; i++) {
		struct qshm_kslot *s = &c->m.kslots[i];
		uint64_t w = atomic_load_explicit(&s->kc_word,
						  memory_order_relaxed);
		uint32_t st = qshm__slot_state(w);
		if (st == QSHM_SLOT_FREE)
			continue;
		if (n < max) {
			struct qshm_slot_info *o = &out[n];
			o->index = i;
			o->state = st;
			o->pid = qshm__slot_pid(w);
			o->start = atomic_load_explicit(&s->kc_start,
							memory_order_relaxed);
			o->alive = qshm__proc_alive(o->pid, o->start);
			o->attach_ns = atomic_load_explicit(
				&s->kc_attach_ns, memory_order_relaxed);
			o->position = atomic_load_explicit(
				&s->kc_read_pos, memory_order_relaxed);
			o->records = atomic_load_explicit(
				&s->kc_records, memory_order_relaxed);
			o->lost = atomic_load_explicit(&s->kc_lost,
						       memory_order_relaxed);
			o->next_seq = atomic_load_explicit(
				&s->kc_next_seq, memory_order_relaxed);
		}
		n++;
	}
	if (qshm__truncated(&c->m))
		return qshm__truncated_fail(&c->m);
	return (int)n;
}
