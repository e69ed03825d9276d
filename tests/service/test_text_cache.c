/* SPDX-License-Identifier: MIT */
/*
 * test_text_cache.c - the inline lane's text cache (service/svc_cache.c)
 * in one process, with its hash replaced by one that puts every text in
 * the same place: two texts of the same hash each get their own circuit;
 * a text changed in one byte is parsed again; a text is cached the second
 * time it is seen; 100 texts leave 16 entries; a text that does not parse
 * is not cached; an evicted entry's template lives while a job holds it.
 * (The cache across real processes: test_service.sh.)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_internal.h"

static int failures;

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__,    \
				__LINE__, #cond);                         \
			failures++;                                       \
		}                                                         \
	} while (0)

static uint64_t same_hash(const void *data, size_t len, uint64_t seed)
{
	(void)data;
	(void)len;
	(void)seed;
	return 42;
}

/* A text of NQ qubits, with TAG in a comment. */
static size_t text_of(char *buf, size_t size, unsigned nq, unsigned tag)
{
	return (size_t)snprintf(buf, size, "OPENQASM 2.0;\ninclude "
				"\"qelib1.inc\";\nqreg q[%u];\ncreg c[%u];\n"
				"h q[0];\nmeasure q -> c;\n// %u\n", nq, nq,
				tag);
}

static void unref(struct svc *s, struct svc_tpl *t)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = svc_tpl_unref_locked(t);
	pthread_mutex_unlock(&s->lock);
	if (last)
		svc_tpl_free(t);
}

/* Gets TEXT twice: the first time it is only seen (1), the second time
 * cached (0). Returns the template of the second (a reference). */
static struct svc_tpl *get_cached(struct svc *s, const char *text,
				  size_t len)
{
	struct svc_tpl *t = NULL;
	struct rt_error err;
	int rc = svc_text_cache_get(s, text, (uint32_t)len, &t, &err);

	if (rc == 1)
		rc = svc_text_cache_get(s, text, (uint32_t)len, &t, &err);
	CHECK(rc == 0 && t);
	return rc == 0 ? t : NULL;
}

int main(void)
{
	struct svc_config cfg = { .name = "t", .workers = 1, .max_qubits = 26,
				  .queue = 4 };
	struct svc s;
	struct rt_error err;
	struct svc_tpl *a, *b, *t;
	char ta[512], tb[512], tx[512];
	size_t la, lb, lx;

	memset(&s, 0, sizeof(s));
	s.cfg = &cfg;
	pthread_mutex_init(&s.lock, NULL);
	svc_text_cache_init(&s.tcache);

	/* The real hash tells these texts apart. */
	la = text_of(ta, sizeof(ta), 1, 0);
	lb = text_of(tb, sizeof(tb), 3, 0);
	CHECK(svc_text_hash(ta, la, 7) != svc_text_hash(tb, lb, 7));
	CHECK(svc_text_hash(ta, la, 7) != svc_text_hash(ta, la, 8));
	CHECK(svc_text_hash(ta, la, 7) == svc_text_hash(ta, la, 7));

	s.tcache.hash = same_hash;
	/* First sighting: not cached. */
	CHECK(svc_text_cache_get(&s, ta, (uint32_t)la, &t, &err) == 1 && !t);
	CHECK(s.tcache.n == 0);
	/* Second: cached; a third: the same template. */
	CHECK(svc_text_cache_get(&s, ta, (uint32_t)la, &a, &err) == 0);
	CHECK(s.tcache.n == 1);
	CHECK(svc_text_cache_get(&s, ta, (uint32_t)la, &t, &err) == 0 && t == a);
	CHECK(s.tcache.hits == 1);
	unref(&s, t);
	/* Another text, the same hash: its own circuit. */
	b = get_cached(&s, tb, lb);
	CHECK(b && b != a);
	CHECK(s.tcache.n == 2);
	CHECK(a->fixed && a->fixed->nqubits == 1);
	CHECK(b && b->fixed && b->fixed->nqubits == 3);
	CHECK(svc_text_cache_get(&s, ta, (uint32_t)la, &t, &err) == 0 && t == a);
	unref(&s, t);
	CHECK(svc_text_cache_get(&s, tb, (uint32_t)lb, &t, &err) == 0 && t == b);
	unref(&s, t);
	/* One byte changed (h -> x): not the cached circuit. */
	memcpy(tx, ta, la + 1);
	lx = la;
	char *h = strstr(tx, "h q[0]");
	CHECK(h != NULL);
	if (h)
		*h = 'x';
	t = get_cached(&s, tx, lx);
	CHECK(t && t != a && t != b);
	CHECK(t && t->fixed && t->fixed->ops[0].kind ==
	      a->fixed->ops[0].kind &&
	      memcmp(qasm_op_matrix(t->fixed, &t->fixed->ops[0]),
		     qasm_op_matrix(a->fixed, &a->fixed->ops[0]),
		     4 * sizeof(double)) != 0);
	if (t)
		unref(&s, t);
	/* A text that does not parse: an error, nothing cached. */
	unsigned n0 = s.tcache.n;
	static const char bad[] = "OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n";
	t = NULL;
	int rc = svc_text_cache_get(&s, bad, sizeof(bad) - 1, &t, &err);
	if (rc == 1)
		rc = svc_text_cache_get(&s, bad, sizeof(bad) - 1, &t, &err);
	CHECK(rc < 0 && !t && s.tcache.n == n0);
	/* Nor one over --max-qubits: seen twice, its parse fails both
	 * times and nothing is cached. */
	cfg.max_qubits = 2;
	char tw[512];
	size_t lw = text_of(tw, sizeof(tw), 3, 999);
	n0 = s.tcache.n;
	t = NULL;
	rc = svc_text_cache_get(&s, tw, (uint32_t)lw, &t, &err);
	if (rc == 1)
		rc = svc_text_cache_get(&s, tw, (uint32_t)lw, &t, &err);
	CHECK(rc < 0 && !t && s.tcache.n == n0);
	/* An entry cached before the limit went down is still found (the
	 * job's own checks then refuse it). */
	t = NULL;
	rc = svc_text_cache_get(&s, tb, (uint32_t)lb, &t, &err);
	CHECK(rc == 0 && t == b);      /* cached before the limit changed */
	if (t)
		unref(&s, t);
	cfg.max_qubits = 26;
	/* 100 more texts, each twice: 16 entries at most; the first ones
	 * evicted, while a and b (held here) stay valid. */
	for (unsigned k = 1; k <= 100; k++) {
		char tk[512];
		size_t lk = text_of(tk, sizeof(tk), 1 + k % 4, k);

		t = get_cached(&s, tk, lk);
		CHECK(s.tcache.n <= SVC_TEXT_CACHE_N);
		if (t) {
			CHECK(t->fixed && t->fixed->nqubits == 1 + k % 4);
			unref(&s, t);
		}
	}
	CHECK(s.tcache.n == SVC_TEXT_CACHE_N);
	CHECK(s.tcache.evicted >= 100 + 3 - SVC_TEXT_CACHE_N);
	CHECK(a->refs == 1 && a->fixed->nqubits == 1);   /* ours alone */
	CHECK(b->refs == 1 && b->fixed->nqubits == 3);
	/* a is no longer cached: the same text is a new miss. */
	uint64_t misses = s.tcache.misses;
	CHECK(svc_text_cache_get(&s, ta, (uint32_t)la, &t, &err) == 1);
	CHECK(s.tcache.misses == misses + 1);
	unref(&s, a);
	unref(&s, b);
	svc_text_cache_clear(&s);
	CHECK(s.tcache.n == 0);
	pthread_mutex_destroy(&s.lock);
	if (failures)
		return 1;
	printf("text cache: ok (%llu hits, %llu misses, %llu evicted)\n",
	       (unsigned long long)s.tcache.hits,
	       (unsigned long long)s.tcache.misses,
	       (unsigned long long)s.tcache.evicted);
	return 0;
}
