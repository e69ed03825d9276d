/* SPDX-License-Identifier: MIT */
/*
 * test_results.c - libqshmresults (qshm/results.h): decoding and encoding
 * result records, malformed records included, the counts table, and the
 * decoder that follows runs from any attach point.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qshm/results.h"

/* Records are decoded from 16-byte aligned buffers, as in a ring. */
static _Alignas(16) uint8_t buf[8192];
static _Alignas(16) uint8_t buf2[8192];

static const struct qshm_run_desc_creg two_regs[] = {
	{ .name = "a", .size = 2 },
	{ .name = "b", .size = 1 },
};

static struct qshm_run_desc desc_ab(void)
{
	return (struct qshm_run_desc){
		.name = "ab.qasm", .nqubits = 3, .shots = 100, .seed = 7,
		.circuit_hash = 0x1234, .run = 1, .ncregs = 2,
		.cregs = two_regs,
	};
}

static int encode_ab(uint8_t *b, size_t size)
{
	struct qshm_run_desc d = desc_ab();
	int n = qshm_run_begin_encode(&d, b, size);
	cr_assert_gt(n, 0, "%s", qshm_results_last_error());
	return n;
}

Test(run, encodes_and_decodes_a_run_begin)
{
	int n = encode_ab(buf, sizeof(buf));
	qshm_run *run;
	struct qshm_run_begin h;
	struct qshm_run_creg_info cr;

	cr_assert_eq(qshm_run_begin_encode(&(struct qshm_run_desc){
			     .name = "ab.qasm", .ncregs = 2,
			     .cregs = two_regs }, NULL, 0), n);
	cr_assert_eq(qshm_run_decode(buf, (size_t)n, &run), 0, "%s",
		     qshm_results_last_error());
	cr_assert_eq(qshm_run_header(run, &h), 0);
	cr_expect_eq(h.version, QSHM_RESULTS_VERSION);
	cr_expect_eq(h.nclbits, 3);
	cr_expect_eq(h.words_per_shot, 1);
	cr_expect_eq(h.shots, 100);
	cr_expect_eq(h.run, 1);
	cr_expect_str_eq(qshm_run_name(run), "ab.qasm");
	cr_assert_eq(qshm_run_ncregs(run), 2);
	cr_assert_eq(qshm_run_creg(run, 1, &cr), 0);
	cr_expect_str_eq(cr.name, "b");
	cr_expect_eq(cr.first_bit, 2);
	cr_expect_eq(cr.size, 1);
	cr_expect_eq(qshm_run_creg(run, 2, &cr), -ERANGE);
	const void *p;
	size_t len;
	cr_assert_eq(qshm_run_payload(run, &p, &len), 0);
	cr_expect_eq(len, (size_t)n);
	cr_expect_eq(memcmp(p, buf, len), 0);
	qshm_run_free(run);
}

Test(run, outcome_strings_are_in_qiskit_order)
{
	qshm_run *run;
	struct qshm_run_desc d = desc_ab();
	char s[16];
	/* a[0] = 1, a[1] = 0, b[0] = 1: global bits 0 and 2. */
	uint64_t w = 0x5;

	cr_assert_eq(qshm_run_new(&d, &run), 0);
	cr_expect_eq(qshm_run_outcome_size(run), 5);
	cr_assert_eq(qshm_run_outcome(run, &w, 1, s, sizeof(s)), 4);
	cr_expect_str_eq(s, "1 01");
	w = 0x2; /* a[1] = 1 */
	qshm_run_outcome(run, &w, 1, s, sizeof(s));
	cr_expect_str_eq(s, "0 10");
	cr_expect_eq(qshm_run_outcome(run, &w, 1, s, 4), -ENOSPC);
	cr_expect_eq(qshm_run_outcome(run, &w, 0, s, sizeof(s)), -EINVAL);

	uint64_t v[2];
	w = 0x5;
	cr_assert_eq(qshm_run_values(run, &w, 1, v, 2), 2);
	cr_expect_eq(v[0], 1);
	cr_expect_eq(v[1], 1);
	cr_expect_eq(qshm_run_values(run, &w, 1, v, 1), -ENOSPC);
	qshm_run_free(run);
}

Test(run, registers_across_words_and_wider_than_64_bits)
{
	const struct qshm_run_desc_creg regs[] = {
		{ .name = "c", .size = 70 },
		{ .name = "d", .size = 3 },
	};
	struct qshm_run_desc d = { .ncregs = 2, .cregs = regs, .shots = 1 };
	qshm_run *run;
	uint64_t w[2] = { 1, (UINT64_C(1) << 6) | (UINT64_C(1) << 8) };
	char s[80];
	uint64_t v[2];

	cr_assert_eq(qshm_run_new(&d, &run), 0);
	cr_expect_eq(qshm_run_words_per_shot(run), 2);
	cr_assert_eq(qshm_run_outcome(run, w, 2, s, sizeof(s)), 74);
	/* d = bits 70..72: d[0] = bit 70 = word 1 bit 6 = 1, d[2] = bit 72
	 * = word 1 bit 8 = 1 -> "101"; c: c[0] = 1, the rest 0. */
	cr_expect_eq(strncmp(s, "101 ", 4), 0, "%s", s);
	cr_expect_eq(s[73], '1');
	cr_expect_eq(strspn(s + 4, "0"), 69);
	cr_expect_eq(qshm_run_values(run, w, 2, v, 2), -EOVERFLOW);
	qshm_run_free(run);
}

Test(run, a_circuit_without_registers)
{
	struct qshm_run_desc d = { .name = "none", .shots = 5 };
	qshm_run *run;
	char s[4];
	uint64_t w = 0;

	cr_assert_eq(qshm_run_new(&d, &run), 0);
	cr_expect_eq(qshm_run_words_per_shot(run), 1);
	cr_expect_eq(qshm_run_outcome_size(run), 1);
	cr_expect_eq(qshm_run_outcome(run, &w, 1, s, sizeof(s)), 0);
	cr_expect_str_eq(s, "");
	qshm_run_free(run);
}

/* Patches a u32 at off in a RUN_BEGIN and expects decoding to fail. */
static void expect_bad_u32(size_t off, uint32_t v, int want, const char *msg)
{
	int n = encode_ab(buf, sizeof(buf));
	qshm_run *run = (qshm_run *)1;

	memcpy(buf + off, &v, 4);
	cr_expect_eq(qshm_run_decode(buf, (size_t)n, &run), want,
		     "patch at %zu: %s", off, qshm_results_last_error());
	cr_expect_null(run);
	cr_expect(strstr(qshm_results_last_error(), msg) != NULL,
		  "message '%s' lacks '%s'", qshm_results_last_error(), msg);
}

Test(run, rejects_malformed_run_begins_with_a_message)
{
	expect_bad_u32(0, 2, -EPROTO, "version 2");
	expect_bad_u32(32, 4, -EBADMSG, "registers hold 3 bits");
	expect_bad_u32(36, 1u << 20, -EBADMSG, "registers");
	expect_bad_u32(36, 3, -EBADMSG, "register");
	expect_bad_u32(40, 2, -EBADMSG, "words per shot");
	expect_bad_u32(48, 1u << 30, -EBADMSG, "past the end");
	expect_bad_u32(52, 1u << 31, -EBADMSG, "name of");
	expect_bad_u32(56, 8, -EBADMSG, "register table");
	expect_bad_u32(56, UINT32_MAX - 4, -EBADMSG, "register table");
	/* register 1: first_bit 3 (not contiguous), size 0 */
	expect_bad_u32(64 + 16 + 4, 3, -EBADMSG, "not contiguous");
	expect_bad_u32(64 + 16, 0, -EBADMSG, "empty");
	expect_bad_u32(64 + 16 + 8, 1u << 31, -EBADMSG, "past the end");
}

Test(run, rejects_a_name_with_a_nul_byte)
{
	int n = encode_ab(buf, sizeof(buf));
	qshm_run *run;
	struct qshm_run_begin h;

	memcpy(&h, buf, sizeof(h));
	buf[h.name_off + 1] = 0;
	cr_expect_eq(qshm_run_decode(buf, (size_t)n, &run), -EBADMSG);
}

Test(run, every_truncation_fails_cleanly)
{
	int n = encode_ab(buf, sizeof(buf));
	qshm_run *run;

	for (int len = 0; len < n; len++) {
		/* A copy of exactly len bytes, so a sanitizer sees any read
		 * past it. */
		uint8_t *copy = malloc(len ? (size_t)len : 1);
		memcpy(copy, buf, (size_t)len);
		cr_expect_eq(qshm_run_decode(copy, (size_t)len, &run),
			     -EBADMSG, "len %d", len);
		free(copy);
	}
}

Test(run, random_damage_never_crashes)
{
	int n = encode_ab(buf, sizeof(buf));
	qshm_run *run;
	unsigned seed = 12345;

	for (int i = 0; i < 20000; i++) {
		memcpy(buf2, buf, (size_t)n);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			buf2[(seed >> 8) % (unsigned)n] ^=
				(uint8_t)(1u << ((seed >> 4) & 7));
		}
		int err = qshm_run_decode(buf2, (size_t)n, &run);
		cr_assert(err == 0 || err == -EBADMSG || err == -EPROTO,
			  "err %d", err);
		if (!err) {
			char s[64];
			uint64_t w = ~UINT64_C(0);
			size_t need = qshm_run_outcome_size(run);
			if (need <= sizeof(s))
				cr_expect_geq(qshm_run_outcome(run, &w, 1, s,
							       sizeof(s)), 0);
			qshm_run_free(run);
		}
	}
}

Test(encode, rejects_bad_descriptions)
{
	const struct qshm_run_desc_creg empty[] = { { .name = "c" } };
	const struct qshm_run_desc_creg noname[] = { { .size = 1 } };
	struct qshm_run_desc d = { .ncregs = 1, .cregs = empty };

	cr_expect_eq(qshm_run_begin_encode(&d, NULL, 0), -EINVAL);
	d.cregs = noname;
	cr_expect_eq(qshm_run_begin_encode(&d, NULL, 0), -EINVAL);
	d = desc_ab();
	cr_expect_eq(qshm_run_begin_encode(&d, buf, 10), -ENOSPC);
	cr_expect_eq(qshm_run_begin_encode(NULL, NULL, 0), -EINVAL);
}

static size_t put_shots(uint8_t *b, uint64_t first, uint32_t count,
			uint32_t wps, const uint64_t *words)
{
	struct qshm_shots s = { first, count, wps };

	memcpy(b, &s, sizeof(s));
	memcpy(b + sizeof(s), words, (size_t)count * wps * 8);
	return sizeof(s) + (size_t)count * wps * 8;
}

Test(shots, decodes_in_place_and_checks_against_the_run)
{
	qshm_run *run;
	struct qshm_run_desc d = desc_ab();
	uint64_t w[4] = { 1, 2, 3, 5 };
	struct qshm_shots_view v;

	cr_assert_eq(qshm_run_new(&d, &run), 0);
	size_t len = put_shots(buf, 10, 4, 1, w);
	cr_assert_eq(qshm_shots_decode(buf, len, run, &v), 0);
	cr_expect_eq(v.first_shot, 10);
	cr_expect_eq(v.count, 4);
	cr_expect_eq(v.words, (const uint64_t *)(buf + 16));
	/* Too short for its count. */
	cr_expect_eq(qshm_shots_decode(buf, len - 1, run, &v), -EBADMSG);
	/* A count whose size overflows 32 bits. */
	put_shots(buf, 0, 0, 1, w);
	uint32_t big = UINT32_MAX;
	memcpy(buf + 8, &big, 4);
	cr_expect_eq(qshm_shots_decode(buf, len, run, &v), -EBADMSG);
	/* Other words per shot than the run. */
	put_shots(buf, 0, 1, 2, w);
	cr_expect_eq(qshm_shots_decode(buf, 32, run, &v), -EBADMSG);
	cr_expect_eq(qshm_shots_decode(buf, 32, NULL, &v), 0);
	/* Shots past the run's 100. */
	len = put_shots(buf, 98, 4, 1, w);
	cr_expect_eq(qshm_shots_decode(buf, len, run, &v), -EBADMSG);
	cr_expect(strstr(qshm_results_last_error(), "outside") != NULL);
	len = put_shots(buf, UINT64_MAX - 1, 4, 1, w);
	cr_expect_eq(qshm_shots_decode(buf, len, run, &v), -EBADMSG);
	/* Misaligned data is the caller's mistake. */
	cr_expect_eq(qshm_shots_decode(buf + 4, 16, NULL, &v), -EINVAL);
	cr_expect_eq(qshm_shots_decode(buf, 15, NULL, &v), -EBADMSG);
	qshm_run_free(run);
}

Test(shots, per_record)
{
	cr_expect_eq(qshm_shots_per_record(16 + 80, 1), 10);
	cr_expect_eq(qshm_shots_per_record(1 << 20, 1), 4096);
	cr_expect_eq(qshm_shots_per_record(20, 1), 0);
	cr_expect_eq(qshm_shots_per_record(100, 0), 0);
}

static size_t put_chunk(uint8_t *b, uint32_t nq, uint64_t first,
			uint64_t count, uint64_t total, const double *v,
			size_t nv)
{
	struct qshm_chunk c = { .nqubits = nq, .first = first,
				.count = count, .total = total };

	memcpy(b, &c, sizeof(c));
	memcpy(b + sizeof(c), v, nv * sizeof(double));
	return sizeof(c) + nv * sizeof(double);
}

Test(vector, probs_and_state_chunks)
{
	const double p[4] = { 0.1, 0.4, 0.4, 0.1 };
	struct qshm_vector_view v;
	struct qshm_vector_top top[3];

	size_t len = put_chunk(buf, 2, 0, 4, 4, p, 4);
	cr_assert_eq(qshm_vector_decode(QSHM_REC_PROBS, buf, len, &v), 0);
	cr_expect_eq(v.count, 4);
	cr_expect_eq(v.values[1], 0.4);
	cr_assert_eq(qshm_vector_top(&v, top, 3), 3);
	cr_expect_eq(top[0].index, 1);
	cr_expect_eq(top[1].index, 2);
	cr_expect_eq(top[2].index, 0);
	/* As STATE the same bytes hold only 2 complex elements. */
	cr_expect_eq(qshm_vector_decode(QSHM_REC_STATE, buf, len, &v),
		     -EBADMSG);
	len = put_chunk(buf, 2, 0, 2, 4, p, 4);
	cr_assert_eq(qshm_vector_decode(QSHM_REC_STATE, buf, len, &v), 0);
	cr_assert_eq(qshm_vector_top(&v, top, 1), 1);
	/* |0.1 + 0.4i|^2 = |0.4 + 0.1i|^2: a tie, the lower index first */
	cr_expect_eq(top[0].index, 0);
	cr_expect_eq(top[0].im, 0.4);
	/* Malformed: total not 2^n, range outside, 64 qubits. */
	len = put_chunk(buf, 2, 0, 4, 5, p, 4);
	cr_expect_eq(qshm_vector_decode(QSHM_REC_PROBS, buf, len, &v),
		     -EBADMSG);
	len = put_chunk(buf, 2, 3, 2, 4, p, 4);
	cr_expect_eq(qshm_vector_decode(QSHM_REC_PROBS, buf, len, &v),
		     -EBADMSG);
	len = put_chunk(buf, 2, 2, UINT64_MAX, 4, p, 4);
	cr_expect_eq(qshm_vector_decode(QSHM_REC_PROBS, buf, len, &v),
		     -EBADMSG);
	len = put_chunk(buf, 64, 0, 1, 0, p, 4);
	cr_expect_eq(qshm_vector_decode(QSHM_REC_PROBS, buf, len, &v),
		     -EBADMSG);
	cr_expect_eq(qshm_vector_decode(QSHM_REC_SHOTS, buf, len, &v),
		     -EINVAL);
	char s[8];
	cr_expect_eq(qshm_basis_string(5, 4, s, sizeof(s)), 4);
	cr_expect_str_eq(s, "0101");
	cr_expect_eq(qshm_basis_string(5, 8, s, sizeof(s)), -ENOSPC);
}

Test(records, run_end_and_error)
{
	struct qshm_run_end e = { .status = QSHM_RUN_STOPPED, .shots = 9 };
	struct qshm_run_end got;
	struct qshm_error_view ev;

	memcpy(buf, &e, sizeof(e));
	cr_assert_eq(qshm_run_end_decode(buf, sizeof(e), &got), 0);
	cr_expect_eq(got.shots, 9);
	cr_expect_str_eq(qshm_run_status_name(got.status), "stopped");
	cr_expect_eq(qshm_run_end_decode(buf, sizeof(e) - 1, &got),
		     -EBADMSG);

	int n = qshm_error_encode(-EIO, "disk on fire", 12, buf, sizeof(buf));
	cr_assert_eq(n, 20);
	cr_assert_eq(qshm_error_decode(buf, (size_t)n, &ev), 0);
	cr_expect_eq(ev.code, -EIO);
	cr_expect_eq(ev.len, 12);
	cr_expect_eq(memcmp(ev.text, "disk on fire", 12), 0);
	cr_expect_eq(qshm_error_decode(buf, (size_t)n - 1, &ev), -EBADMSG);
	cr_expect_eq(qshm_error_encode(-EIO, "disk on fire", 12, buf, 12), 4 + 8);
	cr_expect_eq(qshm_error_encode(-EIO, "x", 1, buf, 8), -ENOSPC);
}

static int put_meta(uint8_t *b, uint64_t run, uint64_t begin_seq,
		    uint64_t end_seq, const uint8_t *begin, int begin_len)
{
	struct qshm_run_meta h = { .run = run, .begin_seq = begin_seq,
				   .end_seq = end_seq };
	int n = qshm_run_meta_encode(&h, begin, (size_t)begin_len, b, 8192);
	cr_assert_gt(n, 0, "%s", qshm_results_last_error());
	return n;
}

Test(meta, round_trip_and_damage)
{
	int bl = encode_ab(buf2, sizeof(buf2));
	int n = put_meta(buf, 1, 5, QSHM_SEQ_NONE, buf2, bl);
	struct qshm_run_meta h;
	qshm_run *run;

	cr_assert_eq(n, 48 + bl);
	cr_assert_eq(qshm_run_meta_decode(buf, (size_t)n, &h, &run), 0);
	cr_expect_eq(h.begin_seq, 5);
	cr_expect_eq(h.end_seq, QSHM_SEQ_NONE);
	cr_expect_str_eq(qshm_run_name(run), "ab.qasm");
	qshm_run_free(run);
	cr_expect_eq(qshm_run_meta_decode(buf, (size_t)n - 1, &h, &run),
		     -EBADMSG);
	buf[0] ^= 1;
	cr_expect_eq(qshm_run_meta_decode(buf, (size_t)n, &h, &run),
		     -EBADMSG);
	n = put_meta(buf, 2, 5, QSHM_SEQ_NONE, buf2, bl); /* run 2 vs 1 */
	cr_expect_eq(qshm_run_meta_decode(buf, (size_t)n, &h, &run),
		     -EBADMSG);
	n = put_meta(buf, 1, 9, 8, buf2, bl);
	cr_expect_eq(qshm_run_meta_decode(buf, (size_t)n, &h, &run),
		     -EBADMSG);
}

Test(counts, counts_sorts_and_grows)
{
	qshm_counts *k;
	qshm_run *run;
	struct qshm_run_desc d = desc_ab();
	uint64_t w[] = { 5, 1, 5, 2, 5, 1 };
	struct qshm_count_entry *e;
	size_t n;
	uint64_t c;

	cr_assert_eq(qshm_run_new(&d, &run), 0);
	cr_assert_eq(qshm_counts_new(1, &k), 0);
	cr_assert_eq(qshm_counts_add(k, w, 6), 0);
	cr_expect_eq(qshm_counts_distinct(k), 3);
	cr_expect_eq(qshm_counts_total(k), 6);
	cr_assert_eq(qshm_counts_get(k, &w[0], &c), 0);
	cr_expect_eq(c, 3);
	cr_assert_eq(qshm_counts_list(k, run, QSHM_COUNTS_BY_OUTCOME, 0, &e,
				      &n), 0);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(e[0].outcome, "0 01");
	cr_expect_str_eq(e[1].outcome, "0 10");
	cr_expect_str_eq(e[2].outcome, "1 01");
	cr_expect_eq(e[2].count, 3);
	qshm_counts_list_free(e);
	cr_assert_eq(qshm_counts_list(k, run, QSHM_COUNTS_BY_COUNT, 2, &e,
				      &n), 0);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(e[0].outcome, "1 01");
	cr_expect_str_eq(e[1].outcome, "0 01");
	qshm_counts_list_free(e);
	cr_expect_eq(qshm_counts_list(k, run, 7, 0, &e, &n), -EINVAL);

	/* 5000 distinct outcomes of 2 words each: growth, then export. */
	qshm_counts *k2;
	cr_assert_eq(qshm_counts_new(2, &k2), 0);
	for (uint64_t i = 0; i < 5000; i++) {
		uint64_t key[2] = { i, ~i };
		cr_assert_eq(qshm_counts_add_n(k2, key, i + 1), 0);
	}
	cr_expect_eq(qshm_counts_distinct(k2), 5000);
	cr_expect_eq(qshm_counts_total(k2), 5000ull * 5001 / 2);
	uint64_t *keys = calloc(5000 * 2, 8), *cnt = calloc(5000, 8);
	cr_assert_eq(qshm_counts_export(k2, keys, cnt, 5000), 5000);
	for (int i = 0; i < 5000; i++) {
		cr_assert_eq(keys[2 * i + 1], ~keys[2 * i]);
		cr_assert_eq(cnt[i], keys[2 * i] + 1);
	}
	free(keys);
	free(cnt);
	/* A run of other words per shot cannot list it. */
	cr_expect_eq(qshm_counts_list(k2, run, 0, 0, &e, &n), -EINVAL);
	qshm_counts_clear(k2);
	cr_expect_eq(qshm_counts_distinct(k2), 0);
	cr_expect_eq(qshm_counts_total(k2), 0);
	qshm_counts_free(k2);
	qshm_counts_free(k);
	qshm_run_free(run);
	cr_expect_eq(qshm_counts_new(0, &k), -EINVAL);
}

/* ---- the decoder ---- */

struct feed {
	qshm_decoder *d;
	struct qshm_decoded ev;
};

static int feed(struct feed *f, uint32_t type, uint64_t seq,
		const void *data, size_t len)
{
	memcpy(buf2, data, len); /* aligned */
	return qshm_decoder_record(f->d, type, seq, buf2, len, &f->ev);
}

static size_t shots_rec(uint8_t *b, uint64_t first, uint32_t count)
{
	uint64_t w[64] = { 0 };
	for (uint32_t i = 0; i < count; i++)
		w[i] = i & 7;
	return put_shots(b, first, count, 1, w);
}

static size_t end_rec(uint8_t *b, uint64_t shots)
{
	struct qshm_run_end e = { .status = QSHM_RUN_OK, .shots = shots };
	memcpy(b, &e, sizeof(e));
	return sizeof(e);
}

static _Alignas(16) uint8_t rec[4096];

/* A new decoder given the descriptor of run 1 (encode_ab's), whose
 * RUN_BEGIN is at seq 100, still running. */
static void feed_run1_at_100(struct feed *f)
{
	static _Alignas(16) uint8_t meta[4096];
	int bl = encode_ab(rec, sizeof(rec));
	int ml = put_meta(meta, 1, 100, QSHM_SEQ_NONE, rec, bl);

	cr_assert_eq(qshm_decoder_new(&f->d), 0);
	cr_assert_eq(qshm_decoder_meta(f->d, meta, (size_t)ml), 0);
}

Test(decoder, a_whole_run_then_the_next)
{
	struct feed f;
	struct qshm_progress pg;
	int bl = encode_ab(rec, sizeof(rec));

	cr_assert_eq(qshm_decoder_new(&f.d), 0);
	cr_assert_eq(feed(&f, QSHM_REC_RUN_BEGIN, 0, rec, (size_t)bl), 0);
	cr_expect_eq(f.ev.kind, QSHM_DECODED_RUN_BEGIN);
	cr_expect_eq(f.ev.new_run, 1);
	cr_expect_str_eq(qshm_run_name(f.ev.run), "ab.qasm");
	for (int i = 0; i < 10; i++) {
		size_t n = shots_rec(rec, (uint64_t)i * 10, 10);
		cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 1 + (uint64_t)i, rec, n),
			     0, "%s", qshm_results_last_error());
		cr_expect_eq(f.ev.kind, QSHM_DECODED_SHOTS);
		cr_expect_eq(f.ev.new_run, 0);
	}
	cr_assert_eq(feed(&f, QSHM_REC_RUN_END, 11, rec, end_rec(rec, 100)), 0);
	cr_expect_eq(f.ev.kind, QSHM_DECODED_RUN_END);
	qshm_decoder_progress(f.d, &pg);
	cr_expect_eq(pg.first_shot, 0);
	cr_expect_eq(pg.shots_seen, 100);
	cr_expect_eq(pg.shots_missed, 0);
	cr_expect_eq(pg.ended, 1);
	cr_expect_eq(pg.from_begin, 1);
	/* Unknown types are skipped, also between runs. */
	cr_assert_eq(feed(&f, 0x7777, 12, rec, 8), 0);
	cr_expect_eq(f.ev.skip, QSHM_SKIP_TYPE);
	/* The next run. */
	struct qshm_run_desc d = desc_ab();
	d.run = 2;
	d.shots = 10;
	bl = qshm_run_begin_encode(&d, rec, sizeof(rec));
	cr_assert_eq(feed(&f, QSHM_REC_RUN_BEGIN, 13, rec, (size_t)bl), 0);
	cr_expect_eq(f.ev.new_run, 1);
	qshm_decoder_progress(f.d, &pg);
	cr_expect_eq(pg.run, 2);
	cr_expect_eq(pg.shots_seen, 0);
	cr_expect_eq(pg.ended, 0);
	/* Shots past this run's 10 are malformed, and skipped. */
	size_t n = shots_rec(rec, 5, 10);
	cr_expect_eq(feed(&f, QSHM_REC_SHOTS, 14, rec, n), -EBADMSG);
	cr_expect_eq(f.ev.kind, QSHM_DECODED_SKIPPED);
	n = shots_rec(rec, 0, 10);
	cr_expect_eq(feed(&f, QSHM_REC_SHOTS, 15, rec, n), 0);
	/* Going back in seq is the caller's mistake. */
	cr_expect_eq(feed(&f, QSHM_REC_SHOTS, 15, rec, n), -EINVAL);
	qshm_decoder_free(f.d);
}

Test(decoder, joins_late_from_the_descriptor)
{
	struct feed f;
	struct qshm_progress pg;

	feed_run1_at_100(&f);
	/* Joined at seq 150: shots 40.. of the run. */
	size_t n = shots_rec(rec, 40, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 150, rec, n), 0, "%s",
		     qshm_results_last_error());
	cr_expect_eq(f.ev.kind, QSHM_DECODED_SHOTS);
	cr_expect_eq(f.ev.new_run, 1);
	cr_expect_eq(f.ev.words_per_shot, 1);
	n = shots_rec(rec, 50, 50);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 151, rec, n), 0);
	cr_expect_eq(f.ev.new_run, 0);
	cr_assert_eq(feed(&f, QSHM_REC_RUN_END, 152, rec, end_rec(rec, 100)),
		     0);
	qshm_decoder_progress(f.d, &pg);
	cr_expect_eq(pg.first_shot, 40);
	cr_expect_eq(pg.shots_seen, 60);
	cr_expect_eq(pg.first_shot + pg.shots_seen, pg.shots);
	cr_expect_eq(pg.from_begin, 0);
	cr_expect_eq(pg.ended, 1);
	/* After RUN_END, records of no known run are skipped. */
	n = shots_rec(rec, 0, 1);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 160, rec, n), 0);
	cr_expect_eq(f.ev.skip, QSHM_SKIP_NO_RUN);
	qshm_decoder_free(f.d);
}

Test(decoder, a_record_before_the_descriptors_run_is_skipped)
{
	struct feed f;

	feed_run1_at_100(&f);
	/* seq 90: the tail of an earlier run, whose layout is unknown. */
	size_t n = shots_rec(rec, 0, 1);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 90, rec, n), 0);
	cr_expect_eq(f.ev.skip, QSHM_SKIP_NO_RUN);
	cr_assert_eq(feed(&f, QSHM_REC_RUN_END, 91, rec, end_rec(rec, 1)), 0);
	cr_expect_eq(f.ev.skip, QSHM_SKIP_NO_RUN);
	qshm_decoder_free(f.d);
}

Test(decoder, a_run_entered_by_a_record_outside_it_is_announced_later)
{
	struct feed f;

	feed_run1_at_100(&f);
	/* A SHOTS record where the descriptor puts RUN_BEGIN (a hostile
	 * descriptor): not of the run, skipped; it enters the run. */
	size_t n = shots_rec(rec, 0, 1);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 100, rec, n), 0);
	cr_expect_eq(f.ev.kind, QSHM_DECODED_SKIPPED);
	cr_expect_eq(f.ev.skip, QSHM_SKIP_NO_RUN);
	/* The first record attributed to the run says it starts one (it
	 * used to come with new_run 0: the caller never reset its counts). */
	n = shots_rec(rec, 0, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 101, rec, n), 0, "%s",
		     qshm_results_last_error());
	cr_expect_eq(f.ev.kind, QSHM_DECODED_SHOTS);
	cr_expect_eq(f.ev.new_run, 1);
	cr_expect_not_null(f.ev.run);
	n = shots_rec(rec, 10, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 102, rec, n), 0);
	cr_expect_eq(f.ev.new_run, 0);
	qshm_decoder_free(f.d);
}

Test(decoder, a_gap_hiding_a_new_run_is_not_guessed)
{
	struct feed f;
	struct qshm_progress pg;
	int bl = encode_ab(rec, sizeof(rec));
	static _Alignas(16) uint8_t meta[4096];

	cr_assert_eq(qshm_decoder_new(&f.d), 0);
	cr_assert_eq(feed(&f, QSHM_REC_RUN_BEGIN, 0, rec, (size_t)bl), 0);
	size_t n = shots_rec(rec, 0, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 1, rec, n), 0);
	/* Lost 2..9 (the rest of run 1, RUN_END, run 3's RUN_BEGIN at 7);
	 * the descriptor, read after the gap, names run 3 at seq 7. */
	struct qshm_run_desc d = desc_ab();
	d.run = 3;
	d.shots = 1000;
	bl = qshm_run_begin_encode(&d, rec, sizeof(rec));
	int ml = put_meta(meta, 3, 7, QSHM_SEQ_NONE, rec, bl);
	cr_assert_eq(qshm_decoder_meta(f.d, meta, (size_t)ml), 0);
	n = shots_rec(rec, 500, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 10, rec, n), 0);
	cr_expect_eq(f.ev.new_run, 1);
	qshm_decoder_progress(f.d, &pg);
	cr_expect_eq(pg.run, 3);
	cr_expect_eq(pg.first_shot, 500);

	/* A gap within one run: the descriptor still names it. */
	n = shots_rec(rec, 600, 10);
	cr_assert_eq(qshm_decoder_meta(f.d, meta, (size_t)ml), 0);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 20, rec, n), 0);
	cr_expect_eq(f.ev.kind, QSHM_DECODED_SHOTS);
	qshm_decoder_progress(f.d, &pg);
	cr_expect_eq(pg.shots_seen, 20);
	cr_expect_eq(pg.shots_missed, 90);

	/* A gap, and the descriptor names run 5, begun at seq 40: a record
	 * at 30 is of run 3 or 4, unknown. */
	d.run = 5;
	bl = qshm_run_begin_encode(&d, rec, sizeof(rec));
	ml = put_meta(meta, 5, 40, QSHM_SEQ_NONE, rec, bl);
	cr_assert_eq(qshm_decoder_meta(f.d, meta, (size_t)ml), 0);
	n = shots_rec(rec, 700, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 30, rec, n), 0);
	cr_expect_eq(f.ev.skip, QSHM_SKIP_NO_RUN);
	qshm_decoder_free(f.d);
}

Test(decoder, a_gap_before_the_next_run_keeps_the_current_one)
{
	struct feed f;
	int bl = encode_ab(rec, sizeof(rec));
	static _Alignas(16) uint8_t meta[4096];

	cr_assert_eq(qshm_decoder_new(&f.d), 0);
	cr_assert_eq(feed(&f, QSHM_REC_RUN_BEGIN, 0, rec, (size_t)bl), 0);
	/* Lost 1..9; the descriptor names run 2 at seq 40: seq 10, before
	 * it, is still run 1. */
	struct qshm_run_desc d = desc_ab();
	d.run = 2;
	bl = qshm_run_begin_encode(&d, rec, sizeof(rec));
	int ml = put_meta(meta, 2, 40, QSHM_SEQ_NONE, rec, bl);
	cr_assert_eq(qshm_decoder_meta(f.d, meta, (size_t)ml), 0);
	size_t n = shots_rec(rec, 50, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 10, rec, n), 0);
	cr_expect_eq(f.ev.kind, QSHM_DECODED_SHOTS);
	cr_expect_eq(f.ev.new_run, 0);
	/* And seq 41 is run 2's. */
	n = shots_rec(rec, 0, 10);
	cr_assert_eq(feed(&f, QSHM_REC_SHOTS, 41, rec, n), 0);
	cr_expect_eq(f.ev.new_run, 1);
	struct qshm_progress pg;
	qshm_decoder_progress(f.d, &pg);
	cr_expect_eq(pg.run, 2);
	qshm_decoder_free(f.d);
}
