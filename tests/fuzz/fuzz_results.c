/*
 * fuzz_results.c - libFuzzer target: decoding result records as the qshm
 * tools do (tools/results.c, used by `qshm hist` and `qshm dump`). The
 * input is a stream of records, each a little-endian u16 type, a u16
 * length and that many payload bytes; each payload is copied to its own
 * 16-byte aligned buffer of exactly its length (as in a ring, and so that
 * any read past it is caught). A RUN_BEGIN is decoded and kept; SHOTS are
 * checked against it and every outcome string made; PROBS and STATE chunks
 * are checked, ranked and their basis strings made.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

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

static void shots(const void *p, size_t len, const struct results_run *run)
{
	const uint64_t *bits;
	uint32_t count;
	char err[256];
	size_t need = (size_t)run->hdr.nclbits + run->hdr.ncregs + 1;
	char *out;

	if (results_shots_check(p, len, run, &bits, &count, err, sizeof(err)))
		return;
	out = malloc(need);
	if (!out)
		return;
	for (uint32_t i = 0; i < count && i < 256; i++)
		(void)results_outcome(run, bits + (size_t)i *
				      run->hdr.words_per_shot, out, need);
	free(out);
}

static void chunk(const void *p, size_t len, int is_state)
{
	struct qshm_chunk ch;
	const uint8_t *elems;
	struct results_top top[8];
	char err[256], basis[65];
	size_t n;

	if (results_chunk_check(p, len, is_state ? 16 : 8, &ch, &elems, err,
				sizeof(err)))
		return;
	n = results_chunk_top(&ch, elems, is_state, top, 8);
	for (size_t i = 0; i < n; i++)
		results_basis_string(top[i].index, ch.nqubits <= 64 ?
				     ch.nqubits : 64, basis, sizeof(basis));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct results_run run;
	int have_run = 0;
	char err[256];

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
		switch (type) {
		case QSHM_REC_RUN_BEGIN:
			if (have_run)
				results_run_free(&run);
			have_run = results_run_decode(p, len, &run, err,
						      sizeof(err)) == 0;
			break;
		case QSHM_REC_SHOTS:
			if (have_run)
				shots(p, len, &run);
			break;
		case QSHM_REC_PROBS:
		case QSHM_REC_STATE:
			chunk(p, len, type == QSHM_REC_STATE);
			break;
		default:
			break;
		}
		ASAN_UNPOISON(p, cap);
		free(p);
	}
	if (have_run)
		results_run_free(&run);
	return 0;
}
