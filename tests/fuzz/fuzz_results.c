/*
 * fuzz_results.c - libFuzzer target: decoding result records with
 * libqshmresults, the project's one decoder (what `qshm hist`, `qshm dump`
 * and the Python package use). The
 * input is a stream of records, each a little-endian u16 type, a u16
 * length and that many payload bytes; each payload is copied to its own
 * 16-byte aligned buffer of exactly its length (as in a ring, and so that
 * any read past it is caught). A RUN_BEGIN is decoded and kept; SHOTS are
 * checked against it and every outcome string made; PROBS and STATE chunks
 * are checked, ranked and their basis strings made.
 *
 * Every record also goes, in order, through one late-join decoder
 * (qshm_decoder, what `qshm hist` and the Python package read rings with),
 * at consecutive seqs; two types drive it instead: 0xFFFF gives the
 * payload to qshm_decoder_meta() as the ring's run descriptor, 0xFFFE
 * skips (first payload byte + 1) seqs, as records lost to a lossy reader.
 * What the decoder promises is checked: only its documented errors, every
 * decoded record carries the run that the latest new_run announced (the
 * caller resets its counts on new_run), views inside the payload.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qshm/format.h>
#include <qshm/results.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void shots(const void *p, size_t len, const qshm_run *run)
{
	struct qshm_shots_view v;
	size_t need = qshm_run_outcome_size(run);
	char *out;

	if (qshm_shots_decode(p, len, run, &v))
		return;
	out = malloc(need ? need : 1);
	if (!out)
		return;
	for (uint32_t i = 0; i < v.count && i < 256; i++)
		(void)qshm_run_outcome(run, v.words + (size_t)i *
				       v.words_per_shot, v.words_per_shot,
				       out, need);
	qshm_counts *k;
	if (qshm_counts_new(v.words_per_shot, &k) == 0) {
		(void)qshm_counts_add_shots(k, &v);
		qshm_counts_free(k);
	}
	free(out);
}

static void chunk(const void *p, size_t len, uint32_t type)
{
	struct qshm_vector_view v;
	struct qshm_vector_top top[8];
	char basis[65];

	if (qshm_vector_decode(type, p, len, &v))
		return;
	int n = qshm_vector_top(&v, top, 8);
	for (int i = 0; i < n; i++)
		qshm_basis_string(top[i].index, v.nqubits <= 64 ? v.nqubits : 64,
				  basis, sizeof(basis));
}

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define FUZZ_TYPE_META 0xFFFF
#define FUZZ_TYPE_GAP  0xFFFE

/* [q, q + n) lies within [p, p + len). */
static int within(const void *p, size_t len, const void *q, uint64_t n)
{
	const char *a = p, *b = q;

	return n == 0 ||
	       (b >= a && b <= a + len && n <= (uint64_t)(a + len - b));
}

/* One record through the late-join decoder. */
static void late(qshm_decoder *d, uint64_t seq, uint32_t type, const void *p,
		 size_t len, const qshm_run **announced)
{
	struct qshm_decoded ev;
	int rc = qshm_decoder_record(d, type, seq, p, len, &ev);

	CHECK(rc == 0 || rc == -EBADMSG || rc == -EPROTO || rc == -ENOMEM);
	if (ev.new_run) {
		CHECK(ev.run != NULL);
		*announced = ev.run;
	}
	if (rc || ev.kind == QSHM_DECODED_SKIPPED)
		return;
	/* A decoded record belongs to the run announced last. */
	CHECK(ev.run != NULL && ev.run == *announced);
	CHECK(ev.run == qshm_decoder_run(d));
	CHECK(ev.words_per_shot == qshm_run_words_per_shot(ev.run));
	if (ev.kind == QSHM_DECODED_SHOTS) {
		CHECK(ev.shots.words_per_shot == ev.words_per_shot);
		CHECK(within(p, len, ev.shots.words, (uint64_t)ev.shots.count *
			     ev.shots.words_per_shot * 8));
	} else if (ev.kind == QSHM_DECODED_PROBS ||
		   ev.kind == QSHM_DECODED_STATE) {
		CHECK(within(p, len, ev.vector.values, ev.vector.count *
			     (ev.kind == QSHM_DECODED_STATE ? 16 : 8)));
	} else if (ev.kind == QSHM_DECODED_ERROR) {
		CHECK(within(p, len, ev.error.text, ev.error.len));
	}
	struct qshm_progress pg;
	CHECK(qshm_decoder_progress(d, &pg) == 0 && pg.have_run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	qshm_run *run = NULL;
	qshm_decoder *dec = NULL;
	const qshm_run *announced = NULL;
	uint64_t seq = 0;

	if (qshm_decoder_new(&dec))
		return 0;

	while (size >= 4) {
		uint16_t type = (uint16_t)(data[0] | data[1] << 8);
		size_t len = (size_t)(data[2] | data[3] << 8);
		void *p;

		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		size_t cap = len ? (len + 15) / 16 * 16 : 16;

		p = aligned_alloc(16, cap);
		if (!p)
			break;
		memcpy(p, data, len);
		/* Bytes past the payload are not the payload's. */
		POISON((char *)p + len, cap - len);
		data += len;
		size -= len;
		if (type == FUZZ_TYPE_META)
			(void)qshm_decoder_meta(dec, p, len);
		else if (type == FUZZ_TYPE_GAP)
			seq += 1 + (len ? *(const uint8_t *)p : 0);
		else
			late(dec, seq++, type, p, len, &announced);
		switch (type) {
		case QSHM_REC_RUN_BEGIN:
			qshm_run_free(run);
			run = NULL;
			if (qshm_run_decode(p, len, &run))
				run = NULL;
			break;
		case QSHM_REC_SHOTS:
			if (run)
				shots(p, len, run);
			break;
		case QSHM_REC_PROBS:
		case QSHM_REC_STATE:
			chunk(p, len, type);
			break;
		case QSHM_REC_RUN_END: {
			struct qshm_run_end e;
			(void)qshm_run_end_decode(p, len, &e);
			break;
		}
		case QSHM_REC_ERROR: {
			struct qshm_error_view e;
			(void)qshm_error_decode(p, len, &e);
			break;
		}
		default:
			break;
		}
		ASAN_UNPOISON(p, cap);
		free(p);
	}
	qshm_run_free(run);
	qshm_decoder_free(dec);
	return 0;
}
