/* SPDX-License-Identifier: MIT */
/* results.c - checked decoding of result records (see results.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

static int bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static char *copy_str(const uint8_t *base, size_t len, uint32_t off,
		      uint32_t n)
{
	if ((uint64_t)off + n > len)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, base + off, n);
	s[n] = '\0';
	return s;
}

int results_run_decode(const void *data, size_t len, struct results_run *run,
		       char *err, size_t errlen)
{
	const uint8_t *b = data;

	memset(run, 0, sizeof(*run));
	if (len < sizeof(run->hdr))
		return bad(err, errlen, "RUN_BEGIN of %zu bytes, need %zu", len,
			   sizeof(run->hdr));
	memcpy(&run->hdr, b, sizeof(run->hdr));
	const struct qshm_run_begin *h = &run->hdr;
	if (h->version != QSHM_RESULTS_VERSION)
		return bad(err, errlen, "results format version %u, this tool "
			   "reads %d", h->version, QSHM_RESULTS_VERSION);
	if (h->ncregs > RESULTS_MAX_CREGS || h->nclbits > 64u * 4096u)
		return bad(err, errlen, "RUN_BEGIN: %u registers, %u bits",
			   h->ncregs, h->nclbits);
	if (h->words_per_shot != (h->nclbits + 63) / 64 &&
	    !(h->nclbits == 0 && h->words_per_shot == 1))
		return bad(err, errlen, "RUN_BEGIN: %u words per shot for %u "
			   "bits", h->words_per_shot, h->nclbits);
	if ((uint64_t)h->creg_off + (uint64_t)h->ncregs *
	    sizeof(struct qshm_creg) > len)
		return bad(err, errlen, "RUN_BEGIN: register table past the "
			   "end of the record");
	run->name = copy_str(b, len, h->name_off, h->name_len);
	run->cregs = calloc(h->ncregs ? h->ncregs : 1, sizeof(*run->cregs));
	if (!run->name || !run->cregs)
		goto fail;
	uint64_t bits = 0;
	for (uint32_t i = 0; i < h->ncregs; i++) {
		struct qshm_creg cr;
		memcpy(&cr, b + h->creg_off + i * sizeof(cr), sizeof(cr));
		if (cr.first_bit != bits || cr.size == 0 ||
		    bits + cr.size > h->nclbits) {
			results_run_free(run);
			return bad(err, errlen, "RUN_BEGIN: register %u "
				   "(bits %u..+%u) does not fit %u bits", i,
				   cr.first_bit, cr.size, h->nclbits);
		}
		bits += cr.size;
		run->cregs[i].size = cr.size;
		run->cregs[i].first_bit = cr.first_bit;
		run->cregs[i].name = copy_str(b, len, cr.name_off, cr.name_len);
		if (!run->cregs[i].name)
			goto fail;
	}
	if (bits != h->nclbits) {
		results_run_free(run);
		return bad(err, errlen, "RUN_BEGIN: registers hold %llu bits, "
			   "header says %u", (unsigned long long)bits,
			   h->nclbits);
	}
	return 0;
fail:
	results_run_free(run);
	return bad(err, errlen, "RUN_BEGIN: a name lies past the end of the "
		   "record (or out of memory)");
}

void results_run_free(struct results_run *run)
{
	if (run->cregs)
		for (uint32_t i = 0; i < run->hdr.ncregs; i++)
			free(run->cregs[i].name);
	free(run->cregs);
	free(run->name);
	memset(run, 0, sizeof(*run));
}

int results_shots_check(const void *data, size_t len,
			const struct results_run *run, const uint64_t **bits,
			uint32_t *count, char *err, size_t errlen)
{
	struct qshm_shots s;

	if (len < sizeof(s))
		return bad(err, errlen, "SHOTS record of %zu bytes", len);
	memcpy(&s, data, sizeof(s));
	if (s.words_per_shot != run->hdr.words_per_shot)
		return bad(err, errlen, "SHOTS: %u words per shot, RUN_BEGIN "
			   "said %u", s.words_per_shot,
			   run->hdr.words_per_shot);
	if ((uint64_t)s.count * s.words_per_shot * 8 > len - sizeof(s))
		return bad(err, errlen, "SHOTS: %u shots do not fit %zu bytes",
			   s.count, len);
	*bits = (const uint64_t *)((const uint8_t *)data + sizeof(s));
	*count = s.count;
	return 0;
}

size_t results_outcome(const struct results_run *run, const uint64_t *bits,
		       char *buf, size_t size)
{
	size_t n = 0;

	for (uint32_t r = run->hdr.ncregs; r-- > 0;) {
		const struct results_creg *cr = &run->cregs[r];
		if (n && n < size)
			buf[n++] = ' ';
		for (uint32_t i = cr->size; i-- > 0 && n < size;) {
			uint32_t j = cr->first_bit + i;
			buf[n++] = (bits[j / 64] >> (j % 64)) & 1 ? '1' : '0';
		}
	}
	if (n < size)
		buf[n] = '\0';
	else if (size)
		buf[size - 1] = '\0';
	return n;
}

void results_json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int results_chunk_check(const void *data, size_t len, size_t elem_size,
			struct qshm_chunk *chunk, const uint8_t **elems,
			char *err, size_t errlen)
{
	const char *what = elem_size == 16 ? "STATE" : "PROBS";

	if (len < sizeof(*chunk))
		return bad(err, errlen, "%s record of %zu bytes", what, len);
	memcpy(chunk, data, sizeof(*chunk));
	if (chunk->nqubits > 63 ||
	    chunk->total != (UINT64_C(1) << chunk->nqubits))
		return bad(err, errlen, "%s: %u qubits but %llu elements in "
			   "all", what, chunk->nqubits,
			   (unsigned long long)chunk->total);
	if (chunk->first > chunk->total ||
	    chunk->count > chunk->total - chunk->first)
		return bad(err, errlen, "%s: elements %llu..+%llu outside "
			   "0..%llu", what, (unsigned long long)chunk->first,
			   (unsigned long long)chunk->count,
			   (unsigned long long)chunk->total);
	if (chunk->count > (len - sizeof(*chunk)) / elem_size)
		return bad(err, errlen, "%s: %llu elements do not fit %zu "
			   "bytes", what, (unsigned long long)chunk->count,
			   len);
	*elems = (const uint8_t *)data + sizeof(*chunk);
	return 0;
}

size_t results_chunk_top(const struct qshm_chunk *chunk,
			 const uint8_t *elems, int is_state,
			 struct results_top *top, size_t k)
{
	size_t n = 0, esz = is_state ? 16 : 8;

	for (uint64_t i = 0; k && i < chunk->count; i++) {
		struct results_top t = { .index = chunk->first + i };
		memcpy(&t.re, elems + i * esz, 8);
		if (is_state) {
			memcpy(&t.im, elems + i * esz + 8, 8);
			t.p = t.re * t.re + t.im * t.im;
		} else {
			t.p = t.re;
		}
		if (t.p != t.p)
			continue; /* NaN: no place in an order */
		if (n == k && !(t.p > top[n - 1].p))
			continue;
		/* Insert after every entry at least as probable (stable:
		 * earlier, lower indices win ties). */
		size_t j = n < k ? n++ : k - 1;
		while (j > 0 && top[j - 1].p < t.p) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = t;
	}
	return n;
}

void results_basis_string(uint64_t index, uint32_t nqubits, char *buf,
			  size_t size)
{
	size_t n = 0;

	if (nqubits > 64)
		nqubits = 64;
	for (uint32_t i = nqubits; i-- > 0 && n + 1 < size;)
		buf[n++] = (index >> i) & 1 ? '1' : '0';
	if (size)
		buf[n] = '\0';
}
