/* SPDX-License-Identifier: MIT */
/*
 * svc_cache.c - the inline lane's cache of parsed job texts
 * (docs/service.md, "The text cache"): a text job whose bytes equal those
 * of a recent one takes that one's parse instead of being parsed again.
 *
 * The key is the whole text: an entry is found by its hash and then
 * compared byte for byte, so two texts with the same hash are two entries
 * and a text is never answered with another's circuit. Bounded: at most
 * SVC_TEXT_CACHE_N entries (the least recently used one makes room), each
 * a text of at most SVC_INLINE_TEXT bytes parsed within SVC_INLINE_GATES
 * gate applications. Texts are immutable, so an entry never goes stale;
 * only the size bound evicts. The main thread alone looks up and fills it
 * (the inline lane); a job that takes an entry holds a reference to its
 * template (svc.lock: refs), so an evicted entry lives as long as a job
 * still runs it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc_internal.h"

/* 64-bit multiply-xorshift over 8-byte words, seeded per service: only
 * a quick filter before the full comparison. */
uint64_t svc_text_hash(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = seed ^ (len * k), w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * k;
		h ^= h >> 31;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ w) * k;
		h ^= h >> 31;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

void svc_text_cache_init(struct svc_text_cache *tc)
{
	struct timespec ts;

	memset(tc, 0, sizeof(*tc));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	tc->seed = svc_text_hash(&ts, sizeof(ts), (uint64_t)(uintptr_t)tc);
	tc->hash = svc_text_hash;
}

/* Drops the entry's reference; frees the template when it was the last. */
static void ent_clear(struct svc *s, struct svc_text_ent *e)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = svc_tpl_unref_locked(e->tpl);
	pthread_mutex_unlock(&s->lock);
	if (last)
		svc_tpl_free(e->tpl);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

void svc_text_cache_clear(struct svc *s)
{
	struct svc_text_cache *tc = &s->tcache;

	for (unsigned i = 0; i < tc->n; i++)
		ent_clear(s, &tc->e[i]);
	tc->n = 0;
}

/* A new shared template for a parse: the circuit of the empty binding
 * made once when the text declares no parameters. */
static int tpl_make(struct qasm_template *t, struct svc_tpl **out,
		    struct rt_error *err)
{
	struct svc_tpl *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return rt_error_set(err, -ENOMEM, "service: out of memory");
	if (qasm_template_nparams(t) == 0) {
		rc = qasm_template_bind_budget(t, NULL, 0, SVC_INLINE_GATES,
					       &st->fixed, err);
		if (rc) {
			free(st);
			return rc;
		}
	}
	st->t = t;
	st->refs = 1;
	*out = st;
	return 0;
}

int svc_text_cache_get(struct svc *s, const char *text, uint32_t len,
		       struct svc_tpl **out, struct rt_error *err)
{
	struct svc_text_cache *tc = &s->tcache;
	struct svc_text_ent *e = NULL;
	struct qasm_template *t = NULL;
	struct svc_tpl *st = NULL;
	uint64_t h;
	int rc;

	*out = NULL;
	if (len == 0 || len > SVC_INLINE_TEXT)
		return rt_error_set(err, -E2BIG, "job: error: not cached");
	h = tc->hash(text, len, tc->seed);
	for (unsigned i = 0; i < tc->n; i++)
		if (tc->e[i].hash == h && tc->e[i].len == len &&
		    memcmp(tc->e[i].text, text, len) == 0) {
			e = &tc->e[i];
			break;
		}
	if (e) {
		tc->hits++;
		e->used = ++tc->tick;
		pthread_mutex_lock(&s->lock);
		e->tpl->refs++;
		pthread_mutex_unlock(&s->lock);
		*out = e->tpl;
		return 0;
	}
	tc->misses++;
	/* Admission: a text is parsed into the cache the second time its
	 * hash is seen, so that a stream of texts that never come back (new
	 * angles written into every text) costs a hash each and evicts
	 * nothing. */
	bool again = false;

	for (unsigned i = 0; i < SVC_TEXT_CACHE_N && !again; i++)
		if (tc->seen[i] == h) {
			tc->seen[i] = 0;
			again = true;
		}
	if (!again) {
		tc->seen[tc->nseen++ % SVC_TEXT_CACHE_N] = h;
		return 1;
	}
	rc = svc_parse_text(s, "job", text, len, SVC_INLINE_GATES, &t, err);
	if (rc)
		return rc;
	rc = tpl_make(t, &st, err);
	if (rc) {
		qasm_template_free(t);
		return rc;
	}
	/* The entry's reference is the one tpl_make() took; the job's is
	 * one more. Without room for the text the job still runs on its
	 * own reference. */
	char *copy = malloc(len);
	if (copy) {
		if (tc->n < SVC_TEXT_CACHE_N) {
			e = &tc->e[tc->n++];
		} else {
			e = &tc->e[0];
			for (unsigned i = 1; i < tc->n; i++)
				if (tc->e[i].used < e->used)
					e = &tc->e[i];
			ent_clear(s, e);
			tc->evicted++;
		}
		memcpy(copy, text, len);
		e->text = copy;
		e->len = len;
		e->hash = h;
		e->used = ++tc->tick;
		e->tpl = st;
		pthread_mutex_lock(&s->lock);
		st->refs++;
		pthread_mutex_unlock(&s->lock);
	}
	*out = st;
	return 0;
}
