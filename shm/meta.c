/* SPDX-License-Identifier: MIT */
/*
 * meta.c - the ring's descriptor: a small blob the producer publishes and
 * any consumer can copy at any moment, whatever the data area still holds
 * (a run's description for a consumer that joins mid-run).
 *
 * A seqlock on km_seq. Writer (the producer, alone):
 *   M1  km_seq = s + 1 (odd), relaxed; release fence: the bytes stored
 *       after it are ordered after the odd value (pairs with M4).
 *   M2  words and km_len, relaxed atomic stores.
 *   M3  km_seq = s + 2, release (pairs with M4's first load).
 * Reader:
 *   M4  s1 = km_seq, acquire; odd: retry. Copy km_len and the words with
 *       relaxed loads; acquire fence; s2 = km_seq, relaxed. s1 == s2: no
 *       store of M2 was seen from a later write (if one were, the fence
 *       pair M1/M4 would make the reload see its odd value or later).
 * Every byte goes through a relaxed 64-bit atomic, so the copy is not a
 * data race in C11 terms. The reader treats len as hostile: bounded by
 * meta_size, fixed at attach.
 */
#include <errno.h>
#include <string.h>

#include "guard.h"
#include "internal.h"

#define QSHM_META_TRIES 1000

QSHM_EXPORT int qshm_producer_set_meta(qshm_producer *p, const void *data,
				       size_t len)
{
	if (!p || (!data && len))
		return qshm__fail(EINVAL, "NULL argument");
	if (qshm__truncated(&p->m))
		return qshm__truncated_fail(&p->m);
	if (len > p->m.meta_size)
		return qshm__fail(EMSGSIZE, "ring '%s': descriptor of %zu "
				  "bytes, room for %llu", p->m.name, len,
				  (unsigned long long)p->m.meta_size);
	struct qshm_kmeta *km = p->m.kmeta;
	uint64_t s = atomic_load_explicit(&km->km_seq, memory_order_relaxed);
	/* M1 */
	atomic_store_explicit(&km->km_seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	/* M2 */
	const unsigned char *b = data;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, b + i, len - i < 8 ? len - i : 8);
		atomic_store_explicit(&p->m.kmeta_words[i / 8], w,
				      memory_order_relaxed);
	}
	atomic_store_explicit(&km->km_len, len, memory_order_relaxed);
	/* M3 */
	atomic_store_explicit(&km->km_seq, s + 2, memory_order_release);
	return 0;
}

QSHM_EXPORT int qshm_consumer_meta(qshm_consumer *c, void *buf, size_t size,
				   uint64_t *version)
{
	if (!c || (!buf && size))
		return qshm__fail(EINVAL, "NULL argument");
	struct qshm_kmeta *km = c->m.kmeta;
	unsigned char *out = buf;
	for (int tries = 0; tries < QSHM_META_TRIES; tries++) {
		/* M4 */
		uint64_t s1 = atomic_load_explicit(&km->km_seq,
						   memory_order_acquire);
		if (s1 & 1) {
			qshm__cpu_relax();
			continue;
		}
		uint64_t len = atomic_load_explicit(&km->km_len,
						    memory_order_relaxed);
		uint64_t n = len < size ? len : size;
		if (len <= c->m.meta_size) {
			for (uint64_t i = 0; i < n; i += 8) {
				uint64_t w = atomic_load_explicit(
					&c->m.kmeta_words[i / 8],
					memory_order_relaxed);
				memcpy(out + i, &w, n - i < 8 ? n - i : 8);
			}
		}
		atomic_thread_fence(memory_order_acquire);
		if (qshm__truncated(&c->m)) /* copied zeros */
			return qshm__truncated_fail(&c->m);
		if (atomic_load_explicit(&km->km_seq, memory_order_relaxed) !=
		    s1)
			continue;
		if (len > c->m.meta_size)
			return qshm__fail(QSHM_ECORRUPT, "ring '%s': "
					  "descriptor of %llu bytes, room for "
					  "%llu", c->m.name,
					  (unsigned long long)len,
					  (unsigned long long)c->m.meta_size);
		if (version)
			*version = s1;
		return (int)len;
	}
	return qshm__fail(EAGAIN, "ring '%s': descriptor being rewritten "
			  "through %d tries", c->m.name, QSHM_META_TRIES);
}
