/*
 * sim_counts.c - outcome strings in Qiskit's order, and a histogram of
 * packed outcomes (an open-addressing hash table keyed by the words).
 */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t sim_outcome_strlen(const struct qasm_circuit *c)
{
	return c->ncregs ? c->nclbits + c->ncregs - 1 : 0;
}

char *sim_outcome_format(const struct qasm_circuit *c, const uint64_t *bits,
			 char *buf)
{
	char *p = buf;

	for (uint32_t r = c->ncregs; r-- > 0;) {
		const struct qasm_reg *reg = &c->cregs[r];

		for (uint32_t i = reg->size; i-- > 0;) {
			uint32_t k = reg->offset + i;

			*p++ = (char)('0' + ((bits[k / 64] >> (k % 64)) & 1));
		}
		if (r)
			*p++ = ' ';
	}
	*p = '\0';
	return buf;
}

struct sim_counts {
	size_t words;
	size_t cap, size;   /* cap: power of two */
	uint64_t *keys;     /* cap * words */
	uint64_t *counts;   /* cap; 0 marks an empty slot */
};

struct sim_counts *sim_counts_new(size_t words_per_shot)
{
	struct sim_counts *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->words = words_per_shot;
	k->cap = 64;
	k->keys = calloc(k->cap * k->words, sizeof(uint64_t));
	k->counts = calloc(k->cap, sizeof(uint64_t));
	if (!k->keys || !k->counts) {
		sim_counts_free(k);
		return NULL;
	}
	return k;
}

void sim_counts_free(struct sim_counts *k)
{
	if (!k)
		return;
	free(k->keys);
	free(k->counts);
	free(k);
}

static uint64_t hash_words(const uint64_t *w, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		h ^= w[i];
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	return h;
}

/* Slot of @key: where it is, or the empty slot where it would go. */
static size_t find_slot(const struct sim_counts *k, const uint64_t *key)
{
	size_t i = hash_words(key, k->words) & (k->cap - 1);

	while (k->counts[i] &&
	       memcmp(k->keys + i * k->words, key, k->words * 8) != 0)
		i = (i + 1) & (k->cap - 1);
	return i;
}

static int grow(struct sim_counts *k)
{
	struct sim_counts n = *k;

	n.cap = k->cap * 2;
	n.keys = calloc(n.cap * n.words, sizeof(uint64_t));
	n.counts = calloc(n.cap, sizeof(uint64_t));
	if (!n.keys || !n.counts) {
		free(n.keys);
		free(n.counts);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k->cap; i++) {
		if (!k->counts[i])
			continue;
		size_t j = find_slot(&n, k->keys + i * k->words);

		memcpy(n.keys + j * n.words, k->keys + i * k->words,
		       k->words * 8);
		n.counts[j] = k->counts[i];
	}
	free(k->keys);
	free(k->counts);
	*k = n;
	return 0;
}

int sim_counts_add(struct sim_counts *k, const uint64_t *bits, size_t nshots)
{
	for (size_t s = 0; s < nshots; s++) {
		const uint64_t *key = bits + s * k->words;
		size_t i = find_slot(k, key);

		if (k->counts[i]) {
			k->counts[i]++;
			continue;
		}
		if ((k->size + 1) * 2 > k->cap) {
			if (grow(k))
				return -ENOMEM;
			i = find_slot(k, key);
		}
		memcpy(k->keys + i * k->words, key, k->words * 8);
		k->counts[i] = 1;
		k->size++;
	}
	return 0;
}

size_t sim_counts_size(const struct sim_counts *k)
{
	return k->size;
}

int sim_counts_shots_fn(void *ctx, const uint64_t *packed_bits,
			size_t nshots, size_t words_per_shot)
{
	struct sim_counts *k = ctx;

	if (words_per_shot != k->words)
		return -EINVAL;
	return sim_counts_add(k, packed_bits, nshots);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct sim_count_entry *x = a, *y = b;

	return strcmp(x->outcome, y->outcome);
}

int sim_counts_sorted(const struct sim_counts *k, const struct qasm_circuit *c,
		      struct sim_count_entry **out)
{
	size_t len = sim_outcome_strlen(c) + 1, n = 0;
	struct sim_count_entry *e;
	char *strings;

	/* One block: the entries, then their strings. */
	e = malloc(k->size * sizeof(*e) + k->size * len + 1);
	if (!e)
		return -ENOMEM;
	strings = (char *)(e + k->size);
	for (size_t i = 0; i < k->cap; i++) {
		if (!k->counts[i])
			continue;
		e[n].outcome = sim_outcome_format(c, k->keys + i * k->words,
						  strings + n * len);
		e[n].count = k->counts[i];
		n++;
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	*out = e;
	return 0;
}
