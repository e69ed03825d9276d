/*
 * qasm_arena.c - bump allocation for the front end: gate definitions, names
 * and per-statement scratch space cost one pointer increment each, and are
 * freed all at once.
 */
#include "qasm_internal.h"

#include <stdlib.h>
#include <string.h>

/* The first chunk is small (a one-line job needs a few hundred bytes, and
 * an allocation this size comes from the allocator's per-thread cache);
 * each new one doubles, up to ARENA_CHUNK_MAX. */
#define ARENA_CHUNK_FIRST ((size_t)2048)
#define ARENA_CHUNK_MAX ((size_t)64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

struct qasm_arena {
	struct arena_chunk *first, *cur;
	size_t next_size;     /* of the next chunk made, before the need */
};

struct qasm_arena *qasm_arena_new(void)
{
	return calloc(1, sizeof(struct qasm_arena));
}

void qasm_arena_free(struct qasm_arena *a)
{
	struct arena_chunk *ch, *next;

	if (!a)
		return;
	for (ch = a->first; ch; ch = next) {
		next = ch->next;
		free(ch);
	}
	free(a);
}

void *qasm_arena_alloc(struct qasm_arena *a, size_t size)
{
	struct arena_chunk *ch = a->cur, *prev = NULL;
	size_t need = (size + 15) & ~(size_t)15;

	/* Reuse the chunks after cur (kept by a reset) before making one. */
	while (ch && ch->size - ch->used < need) {
		prev = ch;
		ch = ch->next;
		if (ch)
			ch->used = 0;
	}
	if (!ch) {
		size_t grow = a->next_size ? a->next_size : ARENA_CHUNK_FIRST;
		size_t sz = need > grow ? need : grow;

		a->next_size = grow < ARENA_CHUNK_MAX ? 2 * grow
						      : ARENA_CHUNK_MAX;

		ch = malloc(sizeof(*ch) + sz);
		if (!ch)
			return NULL;
		ch->next = NULL;
		ch->size = sz;
		ch->used = 0;
		if (prev)
			prev->next = ch;
		else
			a->first = ch;
	}
	a->cur = ch;
	ch->used += need;
	return ch->data + ch->used - need;
}

char *qasm_arena_strndup(struct qasm_arena *a, const char *s, size_t len)
{
	char *d = qasm_arena_alloc(a, len + 1);

	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

void qasm_arena_reset(struct qasm_arena *a)
{
	a->cur = a->first;
	if (a->cur)
		a->cur->used = 0;
}
