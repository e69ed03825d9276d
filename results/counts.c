/* SPDX-License-Identifier: MIT */
/*
 * counts.c - the outcome histogram: an open-addressing hash table (linear
 * probing, at most half full) keyed by a shot's packed words, and its
 * sorted listing as outcome strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct qshm_counts {
	uint32_t words;     /* words per key */
	uint64_t cap;       /* slots, a power of two */
	uint64_t size;      /* distinct outcomes */
	uint64_t total;     /* shots */
	uint64_t *keys;     /* cap * words */
	uint64_t *counts;   /* cap; 0 marks an empty slot */
};

#define COUNTS_MIN_CAP 64

static uint64_t hash_words(const uint64_t *w, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15u;

	for (uint32_t i = 0; i < n; i++) {
		h ^= w[i];
		h *= 0xbf58476d1ce4e5b9u;
		h ^= h >> 31;
	}
	return h;
}

/* Slot of key: where it is, or the empty slot where it would go. The
 * table is never full, so the probe ends. */
static uint64_t find_slot(const struct qshm_counts *k, const uint64_t *key)
{
	uint64_t i = hash_words(key, k->words) & (k->cap - 1);

	if (k->words == 1) {
		/* the common case (at most 64 classical bits): a word
		 * compare, not a memcmp call per probe */
		while (k->counts[i] && k->keys[i] != key[0])
			i = (i + 1) & (k->cap - 1);
		return i;
	}
	while (k->counts[i] &&
	       memcmp(k->keys + i * k->words, key, k->words * 8u) != 0)
		i = (i + 1) & (k->cap - 1);
	return i;
}

static int alloc_slots(struct qshm_counts *k, uint64_t cap)
{
	if (cap > (UINT64_C(1) << 40) / k->words)
		return -ENOMEM;
	k->cap = cap;
	k->keys = calloc(cap * k->words, sizeof(uint64_t));
	k->counts = calloc(cap, sizeof(uint64_t));
	if (!k->keys || !k->counts) {
		free(k->keys);
		free(k->counts);
		k->keys = k->counts = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int grow(struct qshm_counts *k)
{
	struct qshm_counts n = *k;

	if (alloc_slots(&n, k->cap * 2))
		return qres__fail(ENOMEM, "counts: out of memory at %llu "
				  "outcomes", (unsigned long long)k->size);
	for (uint64_t i = 0; i < k->cap; i++) {
		if (!k->counts[i])
			continue;
		uint64_t j = find_slot(&n, k->keys + i * k->words);
		memcpy(n.keys + j * n.words, k->keys + i * k->words,
		       k->words * 8u);
		n.counts[j] = k->counts[i];
	}
	free(k->keys);
	free(k->counts);
	*k = n;
	return 0;
}

int qshm_counts_new(uint32_t words_per_shot, qshm_counts **out)
{
	qres__clear();
	if (!out)
		return qres__fail(EINVAL, "qshm_counts_new: out is NULL");
	*out = NULL;
	if (words_per_shot == 0 || words_per_shot > 4096)
		return qres__fail(EINVAL, "qshm_counts_new: %u words per "
				  "shot, expected 1..4096", words_per_shot);
	struct qshm_counts *k = calloc(1, sizeof(*k));
	if (!k)
		return qres__fail(ENOMEM, "qshm_counts_new: out of memory");
	k->words = words_per_shot;
	if (alloc_slots(k, COUNTS_MIN_CAP)) {
		free(k);
		return qres__fail(ENOMEM, "qshm_counts_new: out of memory");
	}
	*out = k;
	return 0;
}

void qshm_counts_free(qshm_counts *k)
{
	if (!k)
		return;
	free(k->keys);
	free(k->counts);
	free(k);
}

void qshm_counts_clear(qshm_counts *k)
{
	if (!k)
		return;
	memset(k->keys, 0, k->cap * k->words * sizeof(uint64_t));
	memset(k->counts, 0, k->cap * sizeof(uint64_t));
	k->size = 0;
	k->total = 0;
}

int qshm_counts_add_n(qshm_counts *k, const uint64_t *key, uint64_t n)
{
	if (!k || !key)
		return qres__fail(EINVAL, "qshm_counts_add_n: NULL argument");
	if (!n)
		return 0;
	uint64_t i = find_slot(k, key);
	if (k->counts[i]) {
		k->counts[i] += n;
		k->total += n;
		return 0;
	}
	if ((k->size + 1) * 2 > k->cap) {
		int err = grow(k);
		if (err)
			return err;
		i = find_slot(k, key);
	}
	memcpy(k->keys + i * k->words, key, k->words * 8u);
	k->counts[i] = n;
	k->size++;
	k->total += n;
	return 0;
}

int qshm_counts_add(qshm_counts *k, const uint64_t *words, size_t nshots)
{
	if (!k || (!words && nshots))
		return qres__fail(EINVAL, "qshm_counts_add: NULL argument");
	for (size_t s = 0; s < nshots; s++) {
		int err = qshm_counts_add_n(k, words + s * k->words, 1);
		if (err)
			return err;
	}
	return 0;
}

int qshm_counts_add_shots(qshm_counts *k, const struct qshm_shots_view *v)
{
	if (!k || !v || v->words_per_shot != k->words)
		return qres__fail(EINVAL, "qshm_counts_add_shots: NULL "
				  "argument, or %u words per shot for a table "
				  "of %u", v ? v->words_per_shot : 0,
				  k ? k->words : 0);
	return qshm_counts_add(k, v->words, v->count);
}

int qshm_counts_get(const qshm_counts *k, const uint64_t *key,
		    uint64_t *count)
{
	if (!k || !key || !count)
		return qres__fail(EINVAL, "qshm_counts_get: NULL argument");
	*count = k->counts[find_slot(k, key)];
	return 0;
}

uint64_t qshm_counts_distinct(const qshm_counts *k)
{
	return k ? k->size : 0;
}

uint64_t qshm_counts_total(const qshm_counts *k)
{
	return k ? k->total : 0;
}

uint32_t qshm_counts_words_per_shot(const qshm_counts *k)
{
	return k ? k->words : 0;
}

int64_t qshm_counts_export(const qshm_counts *k, uint64_t *keys,
			   uint64_t *counts, size_t max)
{
	size_t n = 0;

	if (!k || (max && (!keys || !counts)))
		return qres__fail(EINVAL, "qshm_counts_export: NULL "
				  "argument");
	for (uint64_t i = 0; i < k->cap && n < max; i++) {
		if (!k->counts[i])
			continue;
		memcpy(keys + n * k->words, k->keys + i * k->words,
		       k->words * 8u);
		counts[n++] = k->counts[i];
	}
	return (int64_t)k->size;
}

static int by_outcome(const void *a, const void *b)
{
	return strcmp(((const struct qshm_count_entry *)a)->outcome,
		      ((const struct qshm_count_entry *)b)->outcome);
}

static int by_count(const void *a, const void *b)
{
	const struct qshm_count_entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->outcome, y->outcome);
}

int qshm_counts_list(const qshm_counts *k, const qshm_run *run,
		     unsigned order, size_t max,
		     struct qshm_count_entry **out, size_t *n)
{
	qres__clear();
	if (!k || !run || !out || !n || order > QSHM_COUNTS_BY_COUNT ||
	    run->hdr.words_per_shot != k->words)
		return qres__fail(EINVAL, "qshm_counts_list: NULL argument, "
				  "order %u, or a run of %u words per shot "
				  "for a table of %u", order,
				  run ? run->hdr.words_per_shot : 0,
				  k ? k->words : 0);
	*out = NULL;
	*n = 0;
	/* One block: the entries, then their outcome strings. */
	size_t slen = qshm_run_outcome_size(run);
	size_t count = (size_t)k->size;
	if (count > SIZE_MAX / 2 / (sizeof(**out) + slen))
		return qres__fail(ENOMEM, "qshm_counts_list: too many "
				  "outcomes");
	struct qshm_count_entry *e = malloc(count * (sizeof(*e) + slen) + 1);
	if (!e)
		return qres__fail(ENOMEM, "qshm_counts_list: out of memory");
	char *strings = (char *)(e + count);
	size_t j = 0;
	for (uint64_t i = 0; i < k->cap; i++) {
		if (!k->counts[i])
			continue;
		char *s = strings + j * slen;
		qshm_run_outcome(run, k->keys + i * k->words, k->words, s,
				 slen);
		e[j].outcome = s;
		e[j].count = k->counts[i];
		e[j].words = k->keys + i * k->words;
		j++;
	}
	qsort(e, j, sizeof(*e),
	      order == QSHM_COUNTS_BY_COUNT ? by_count : by_outcome);
	*out = e;
	*n = max && max < j ? max : j;
	return 0;
}

void qshm_counts_list_free(struct qshm_count_entry *list)
{
	free(list);
}
