/* SPDX-License-Identifier: MIT */
/*
 * test_corrupt.c - the segment is untrusted input. In a loop of thousands
 * of iterations, a live ring with records has random bytes changed through a
 * separate RW mapping (header, consumer table, record headers, anywhere),
 * then consumers attach, read, validate and release, and the producer goes
 * on. Every call must return 0 or a negative code and never crash; every
 * record returned must lie inside the consumer's mapping of the segment.
 * Run under -Db_sanitize=address to catch out-of-bounds reads as well.
 *
 * Fixed seed (printed); QSHM_CORRUPT_SEED and QSHM_CORRUPT_ITERS override.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

TestSuite(ring_corrupt, .init = t_init, .fini = t_fini, .timeout = 100);

#define CCAP 8192u
#define CMAX 1024u

static uint64_t rng;
static uint64_t rnd(uint64_t n)
{
	return n ? t_splitmix64(&rng) % n : 0;
}

/* What the loop is doing, for the crash handler. */
static char step[256];

static void on_fatal(int sig)
{
	const char pre[] = "\ncorrupt: fatal signal during: ";
	ssize_t r = write(2, pre, sizeof(pre) - 1);
	r = write(2, step, strnlen(step, sizeof(step)));
	r = write(2, "\n", 1);
	(void)r;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(void)
{
#if !defined(__SANITIZE_ADDRESS__)
	signal(SIGSEGV, on_fatal);
	signal(SIGBUS, on_fatal);
#endif
	signal(SIGALRM, on_fatal); /* a hang in one iteration */
	signal(SIGFPE, on_fatal);
	signal(SIGABRT, on_fatal);
}

static uint64_t seed_from_env(uint64_t dflt)
{
	const char *e = getenv("QSHM_CORRUPT_SEED");
	return e ? strtoull(e, NULL, 0) : dflt;
}

static int iters_from_env(int dflt)
{
	const char *e = getenv("QSHM_CORRUPT_ITERS");
	return e ? atoi(e) : dflt;
}

/* Mappings of the segment in this process, from /proc/self/maps. */
struct maps {
	int n;
	uintptr_t lo[16], hi[16];
};

static void find_maps(const char *name, struct maps *m)
{
	char path[256], line[512];
	t_shm_path(name, path, sizeof(path));
	m->n = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && m->n < 16) {
		unsigned long lo, hi;
		int off = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) <
			    2 ||
		    off == 0)
			continue;
		char *p = line + off;
		p[strcspn(p, "\n")] = '\0';
		if (strncmp(p, path, strlen(path)) == 0 &&
		    (p[strlen(path)] == '\0' || p[strlen(path)] == ' ')) {
			m->lo[m->n] = lo;
			m->hi[m->n] = hi;
			m->n++;
		}
	}
	fclose(f);
}

static int in_maps(const struct maps *m, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	for (int i = 0; i < m->n; i++)
		if (a >= m->lo[i] && a <= m->hi[i] && len <= m->hi[i] - a)
			return 1;
	return 0;
}

struct tally {
	uint64_t calls, records, codes[QSHM_ERR_LAST - QSHM_ERR_FIRST + 1];
	uint64_t errno_codes;
	uint64_t bad_returns, outside;
};

static void count(struct tally *t, int err, const char *what)
{
	t->calls++;
	if (err > 0) {
		if (t->bad_returns++ < 10)
			fprintf(stderr, "corrupt: %s returned %d (> 0) during %s\n",
				what, err, step);
		return;
	}
	if (err == 0)
		return;
	if (-err >= QSHM_ERR_FIRST && -err < QSHM_ERR_LAST)
		t->codes[-err - QSHM_ERR_FIRST]++;
	else if (-err < 4096)
		t->errno_codes++;
	else if (t->bad_returns++ < 10)
		fprintf(stderr, "corrupt: %s returned unknown code %d during %s\n",
			what, err, step);
}

/* Read, touch every byte, validate, release; bounded. */
static void exercise(qshm_consumer *c, const char *name, struct tally *t)
{
	struct maps m;
	find_maps(name, &m);
	for (int i = 0; i < 64; i++) {
		struct qshm_record r;
		int err = qshm_consumer_read(c, &r, 0);
		count(t, err, "read");
		if (err)
			break;
		t->records++;
		if (r.len > CMAX || !in_maps(&m, r.data, r.len)) {
			if (t->outside++ < 10)
				fprintf(stderr,
					"corrupt: record %p len %u outside the "
					"mapping or above max_record, during %s\n",
					r.data, r.len, step);
			break;
		}
		volatile uint8_t sum = 0;
		for (uint32_t k = 0; k < r.len; k++)
			sum += ((const volatile uint8_t *)r.data)[k];
		count(t, qshm_consumer_validate(c, &r), "validate");
		if (i % 3 == 2)
			count(t, qshm_consumer_release(c), "release");
	}
	count(t, qshm_consumer_release(c), "release");
	char buf[CMAX];
	struct qshm_record r;
	int n = qshm_consumer_read_copy(c, buf, sizeof(buf), &r, 0);
	if (n > (int)CMAX) {
		t->bad_returns++;
		fprintf(stderr, "corrupt: read_copy returned %d > size\n", n);
	} else if (n < 0) {
		count(t, n, "read_copy");
	}
	struct qshm_consumer_stats cs;
	count(t, qshm_consumer_stats(c, &cs), "stats");
	const uint32_t *word;
	uint32_t val;
	int w = qshm_consumer_wait_prepare(c, &word, &val);
	if (w >= 0) {
		if (w == 1 && !in_maps(&m, word, 4)) {
			t->outside++;
			fprintf(stderr, "corrupt: futex word outside mapping\n");
		}
		qshm_consumer_wait_finish(c);
	} else {
		count(t, w, "wait_prepare");
	}
}

/* Payload offsets in the object, found by their pattern. */
static int find_payloads(const uint8_t *m, size_t len, uint64_t nrec,
			 size_t *offs, int max)
{
	int n = 0;
	for (size_t off = 16; off + 8 <= len && n < max; off += 16) {
		for (uint64_t s = nrec > 64 ? nrec - 64 : 0; s < nrec; s++) {
			if (t_len_for_seq(s, CMAX) < 8)
				continue;
			uint8_t w[8];
			t_pattern_fill(w, 8, s);
			if (memcmp(m + off, w, 8) == 0) {
				offs[n++] = off;
				break;
			}
		}
	}
	return n;
}

static void corrupt_once(uint8_t *m, size_t len, uint64_t nrec, char *desc,
			 size_t dlen)
{
	size_t payloads[256];
	int np = find_payloads(m, len, nrec, payloads, 256);
	size_t data_off = len - CCAP; /* data is the object's tail */
	int mode = (int)rnd(5);
	int nbytes = 1 + (int)rnd(8);
	int w = snprintf(desc, dlen, "mode %d:", mode);
	for (int i = 0; i < nbytes; i++) {
		size_t off;
		switch (mode) {
		case 0: /* header, producer line, wake, stats */
			off = rnd(768);
			break;
		case 1: /* consumer table */
			off = 768 + rnd(data_off > 768 ? data_off - 768 : 1);
			break;
		case 2: /* record headers (16 bytes before a payload) */
			off = np ? payloads[rnd((uint64_t)np)] - 1 - rnd(16)
				 : data_off + rnd(CCAP);
			break;
		case 3: /* a whole aligned word anywhere, extreme values */
			off = rnd(len / 8) * 8;
			break;
		default: /* anywhere */
			off = rnd(len);
			break;
		}
		if (mode == 3 || (mode == 2 && rnd(2))) {
			static const uint64_t vals[] = {
				0, ~0ull, 1ull << 63, 0x7fffffff, 0xffffffff,
				CCAP, CCAP + 1, CMAX + 1, 16, 4096, 1ull << 32
			};
			uint64_t v = rnd(3) ? vals[rnd(sizeof(vals) / 8)]
					    : t_splitmix64(&rng);
			size_t width = rnd(2) ? 8 : 4;
			off &= ~(width - 1);
			if (off + width > len)
				off = len - width;
			memcpy(m + off, &v, width);
			if (w < (int)dlen)
				w += snprintf(desc + w, dlen - (size_t)w,
					      " [%zu]=%#llx/%zu", off,
					      (unsigned long long)v, width);
		} else {
			uint8_t v = (uint8_t)t_splitmix64(&rng);
			m[off] = v;
			if (w < (int)dlen)
				w += snprintf(desc + w, dlen - (size_t)w,
					      " [%zu]=%#x", off, v);
		}
	}
}

static void print_tally(const char *what, uint64_t seed, int iters,
			const struct tally *t)
{
	static const char *const names[] = {
		"ENOTQSHM", "EVERSION", "ELAYOUT",  "ECORRUPT",
		"ECREATING", "ESTALE", "ECLOSED",   "EPRODUCERDEAD",
		"EOVERRUN", "EEVICTED", "ENOSLOT", "ETOOBIG",
	};
	fprintf(stderr, "%s: seed %#llx, %d iterations, %llu calls, %llu "
			"records read; errno codes %llu;",
		what, (unsigned long long)seed, iters,
		(unsigned long long)t->calls, (unsigned long long)t->records,
		(unsigned long long)t->errno_codes);
	for (int i = 0; i < QSHM_ERR_LAST - QSHM_ERR_FIRST; i++)
		if (t->codes[i])
			fprintf(stderr, " %s %llu", names[i],
				(unsigned long long)t->codes[i]);
	fprintf(stderr, "\n");
}

Test(ring_corrupt, consumers_survive_random_corruption_of_a_live_ring)
{
	uint64_t seed = seed_from_env(0x5eedc0de2024ull);
	int iters = iters_from_env(3000);
	fprintf(stderr, "corrupt: consumer side, seed %#llx (QSHM_CORRUPT_SEED), "
			"%d iterations\n",
		(unsigned long long)seed, iters);
	rng = seed;
	install_handlers();
	struct tally t = { 0 };

	for (int it = 0; it < iters; it++) {
		snprintf(step, sizeof(step), "iteration %d: setup", it);
		qshm_producer *p = t_create(t_ring, CCAP, CMAX, 8);
		uint64_t nrec = rnd(60);
		for (uint64_t s = 0; s < nrec; s++)
			t_publish_seq(p, s, CMAX, 0, 1);
		/* Consumers attached before the damage, some holding views. */
		qshm_consumer *pre[2] = { NULL, NULL };
		count(&t, qshm_consumer_attach(t_ring, QSHM_CONSUMER_RELIABLE,
					       &pre[0]),
		      "attach");
		count(&t, qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY,
					       &pre[1]),
		      "attach");
		struct qshm_record held;
		if (pre[1] && rnd(2))
			qshm_consumer_read(pre[1], &held, 0);
		/* More records after the consumers attached. */
		uint64_t more = rnd(20);
		for (uint64_t s = nrec; s < nrec + more; s++)
			t_publish_seq(p, s, CMAX, 0, 1);
		nrec += more;

		size_t len;
		uint8_t *m = t_map_rw(t_ring, &len);
		cr_assert_not_null(m);
		char desc[200];
		corrupt_once(m, len, nrec, desc, sizeof(desc));
		snprintf(step, sizeof(step), "iteration %d: %s", it, desc);
		alarm(10);

		for (int i = 0; i < 2; i++)
			if (pre[i])
				exercise(pre[i], t_ring, &t);
		unsigned flags[] = { QSHM_CONSUMER_RELIABLE,
				     QSHM_CONSUMER_LOSSY,
				     QSHM_CONSUMER_READONLY,
				     QSHM_CONSUMER_LOSSY |
					     QSHM_CONSUMER_FROM_NEWEST };
		for (int i = 0; i < 4; i++) {
			qshm_consumer *c = NULL;
			int err = qshm_consumer_attach(t_ring, flags[i], &c);
			count(&t, err, "attach after corruption");
			if (err == 0) {
				exercise(c, t_ring, &t);
				count(&t, qshm_consumer_close(c), "close");
			}
		}
		struct qshm_ring_info info;
		count(&t, qshm_ring_info(t_ring, &info), "ring_info");
		for (int i = 0; i < 2; i++)
			if (pre[i])
				count(&t, qshm_consumer_close(pre[i]), "close");
		alarm(0);
		munmap(m, len);
		snprintf(step, sizeof(step), "iteration %d: producer close (%s)",
			 it, desc);
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
		if (t.bad_returns || t.outside)
			break;
	}
	print_tally("corrupt (consumers)", seed, iters, &t);
	cr_expect_eq(t.bad_returns, 0, "calls returned positive/unknown codes");
	cr_expect_eq(t.outside, 0, "records outside the mapping were returned");
	cr_expect_gt(t.codes[QSHM_ECORRUPT - QSHM_ERR_FIRST], 0,
		     "no corruption was ever detected: the test is vacuous");
}

/* The producer trusts only its own copies of its positions: damage in the
 * consumer table or the producer line must not make it write outside the
 * data area or crash. */
Test(ring_corrupt, producer_survives_random_corruption_of_shared_state)
{
	uint64_t seed = seed_from_env(0xfeedbeefull);
	int iters = iters_from_env(3000);
	fprintf(stderr, "corrupt: producer side, seed %#llx, %d iterations\n",
		(unsigned long long)seed, iters);
	rng = seed;
	install_handlers();
	struct tally t = { 0 };

	for (int it = 0; it < iters; it++) {
		snprintf(step, sizeof(step), "iteration %d: setup", it);
		qshm_producer *p = t_create(t_ring, CCAP, CMAX, 8);
		qshm_consumer *c = NULL;
		if (rnd(2))
			qshm_consumer_attach(t_ring, QSHM_CONSUMER_RELIABLE, &c);
		uint64_t nrec = rnd(30);
		for (uint64_t s = 0; s < nrec; s++)
			t_publish_seq(p, s, CMAX, 0, 1);
		size_t len;
		uint8_t *m = t_map_rw(t_ring, &len);
		cr_assert_not_null(m);
		char desc[200];
		corrupt_once(m, len, nrec, desc, sizeof(desc));
		snprintf(step, sizeof(step), "iteration %d: %s", it, desc);
		alarm(10);
		for (int k = 0; k < 40; k++) {
			void *buf = NULL;
			size_t l = 1 + rnd(CMAX);
			int err = qshm_producer_claim(p, l, 16, 0, &buf);
			count(&t, err, "claim");
			if (err == 0) {
				if (!buf || (uintptr_t)buf % 16) {
					t.outside++;
					break;
				}
				memset(buf, 0xab, l);
				count(&t, qshm_producer_commit(p), "commit");
			}
			if (c && k % 5 == 0) {
				struct qshm_record r;
				while (qshm_consumer_read(c, &r, 0) == 0)
					;
				qshm_consumer_release(c);
			}
		}
		struct qshm_producer_stats ps;
		count(&t, qshm_producer_stats(p, &ps), "stats");
		int nc = qshm_producer_consumers(p);
		if (nc < 0 || nc > 8) {
			fprintf(stderr, "corrupt: consumers() = %d during %s\n",
				nc, step);
			t.bad_returns++;
		}
		count(&t, qshm_producer_drain(p, 0), "drain");
		alarm(0);
		if (c)
			qshm_consumer_close(c);
		munmap(m, len);
		snprintf(step, sizeof(step), "iteration %d: close (%s)", it,
			 desc);
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
		if (t.bad_returns || t.outside)
			break;
	}
	print_tally("corrupt (producer)", seed, iters, &t);
	cr_expect_eq(t.bad_returns, 0);
	cr_expect_eq(t.outside, 0);
}
