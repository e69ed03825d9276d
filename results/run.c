/* SPDX-License-Identifier: MIT */
/*
 * run.c - RUN_BEGIN: decoding it into a qshm_run (every field checked),
 * encoding one from a description, and what a run says about a shot: its
 * outcome string (Qiskit's order) and its register values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Checks that [off, off + n) lies in a record of len bytes. */
static int in_record(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

static int name_check(const uint8_t *b, size_t len, uint32_t off,
		      uint32_t n, const char *what, uint32_t index)
{
	if (n > QSHM_RUN_MAX_NAME)
		return qres__fail(EBADMSG, "RUN_BEGIN: %s %u: name of %u "
				  "bytes, at most %u", what, index, n,
				  QSHM_RUN_MAX_NAME);
	if (!in_record(len, off, n))
		return qres__fail(EBADMSG, "RUN_BEGIN: %s %u: name at "
				  "%u..+%u lies past the end of the record "
				  "(%zu bytes)", what, index, off, n, len);
	if (memchr(b + off, '\0', n))
		return qres__fail(EBADMSG, "RUN_BEGIN: %s %u: name holds a "
				  "NUL byte", what, index);
	return 0;
}

int qshm_run_decode(const void *data, size_t len, qshm_run **out)
{
	const uint8_t *b = data;
	struct qshm_run_begin h;
	int err;

	qres__clear();
	if (!out)
		return qres__fail(EINVAL, "qshm_run_decode: out is NULL");
	*out = NULL;
	if (!data && len)
		return qres__fail(EINVAL, "qshm_run_decode: data is NULL");
	if (len < sizeof(h))
		return qres__fail(EBADMSG, "RUN_BEGIN of %zu bytes, need at "
				  "least %zu", len, sizeof(h));
	memcpy(&h, b, sizeof(h));
	if (h.version != QSHM_RESULTS_VERSION)
		return qres__fail(EPROTO, "RUN_BEGIN: results format version "
				  "%u, this library reads %d", h.version,
				  QSHM_RESULTS_VERSION);
	if (h.ncregs > QSHM_RUN_MAX_CREGS || h.nclbits > QSHM_RUN_MAX_CLBITS)
		return qres__fail(EBADMSG, "RUN_BEGIN: %u registers of %u "
				  "bits in all, at most %u and %u", h.ncregs,
				  h.nclbits, QSHM_RUN_MAX_CREGS,
				  QSHM_RUN_MAX_CLBITS);
	uint32_t wps = h.nclbits ? (h.nclbits + 63) / 64 : 1;
	if (h.words_per_shot != wps)
		return qres__fail(EBADMSG, "RUN_BEGIN: %u words per shot for "
				  "%u bits, expected %u", h.words_per_shot,
				  h.nclbits, wps);
	if (h.creg_off < sizeof(h) ||
	    !in_record(len, h.creg_off,
		       (uint64_t)h.ncregs * sizeof(struct qshm_creg)))
		return qres__fail(EBADMSG, "RUN_BEGIN: register table at %u "
				  "(%u entries) outside the record (%zu "
				  "bytes)", h.creg_off, h.ncregs, len);
	err = name_check(b, len, h.name_off, h.name_len, "circuit", 0);
	if (err)
		return err;

	/* Validate the table and size the one allocation. */
	size_t strings = (size_t)h.name_len + 1;
	uint64_t bits = 0;
	for (uint32_t i = 0; i < h.ncregs; i++) {
		struct qshm_creg cr;
		memcpy(&cr, b + h.creg_off + (size_t)i * sizeof(cr),
		       sizeof(cr));
		if (cr.size == 0 || cr.first_bit != bits ||
		    bits + cr.size > h.nclbits)
			return qres__fail(EBADMSG, "RUN_BEGIN: register %u "
					  "(bits %u..+%u) is empty, not "
					  "contiguous, or past %u bits", i,
					  cr.first_bit, cr.size, h.nclbits);
		err = name_check(b, len, cr.name_off, cr.name_len,
				 "register", i);
		if (err)
			return err;
		bits += cr.size;
		strings += (size_t)cr.name_len + 1;
	}
	if (bits != h.nclbits)
		return qres__fail(EBADMSG, "RUN_BEGIN: registers hold %llu "
				  "bits, the header says %u",
				  (unsigned long long)bits, h.nclbits);

	size_t table = (size_t)h.ncregs * sizeof(struct qshm_run_creg_info);
	struct qshm_run *run = malloc(sizeof(*run) + table + len + strings);
	if (!run)
		return qres__fail(ENOMEM, "RUN_BEGIN: out of memory");
	uint8_t *p = (uint8_t *)(run + 1);
	run->hdr = h;
	run->cregs = (struct qshm_run_creg_info *)p;
	p += table;
	memcpy(p, b, len);
	run->payload = p;
	run->payload_len = len;
	p += len;
	char *s = (char *)p;
	memcpy(s, b + h.name_off, h.name_len);
	s[h.name_len] = '\0';
	run->name = s;
	s += h.name_len + 1;
	for (uint32_t i = 0; i < h.ncregs; i++) {
		struct qshm_creg cr;
		memcpy(&cr, b + h.creg_off + (size_t)i * sizeof(cr),
		       sizeof(cr));
		memcpy(s, b + cr.name_off, cr.name_len);
		s[cr.name_len] = '\0';
		run->cregs[i] = (struct qshm_run_creg_info){
			.size = cr.size,
			.first_bit = cr.first_bit,
			.name = s,
			.name_len = cr.name_len,
		};
		s += cr.name_len + 1;
	}
	*out = run;
	return 0;
}

void qshm_run_free(qshm_run *run)
{
	free(run);
}

int qshm_run_header(const qshm_run *run, struct qshm_run_begin *out)
{
	if (!run || !out)
		return qres__fail(EINVAL, "qshm_run_header: NULL argument");
	*out = run->hdr;
	return 0;
}

const char *qshm_run_name(const qshm_run *run)
{
	return run ? run->name : NULL;
}

uint32_t qshm_run_ncregs(const qshm_run *run)
{
	return run ? run->hdr.ncregs : 0;
}

uint32_t qshm_run_words_per_shot(const qshm_run *run)
{
	return run ? run->hdr.words_per_shot : 0;
}

int qshm_run_creg(const qshm_run *run, uint32_t index,
		  struct qshm_run_creg_info *out)
{
	if (!run || !out)
		return qres__fail(EINVAL, "qshm_run_creg: NULL argument");
	if (index >= run->hdr.ncregs)
		return qres__fail(ERANGE, "qshm_run_creg: register %u of %u",
				  index, run->hdr.ncregs);
	*out = run->cregs[index];
	return 0;
}

int qshm_run_payload(const qshm_run *run, const void **data, size_t *len)
{
	if (!run || !data || !len)
		return qres__fail(EINVAL, "qshm_run_payload: NULL argument");
	*data = run->payload;
	*len = run->payload_len;
	return 0;
}

size_t qshm_run_outcome_size(const qshm_run *run)
{
	if (!run)
		return 0;
	return run->hdr.ncregs ? (size_t)run->hdr.nclbits + run->hdr.ncregs
			       : 1;
}

int qshm_run_outcome(const qshm_run *run, const uint64_t *words,
		     size_t nwords, char *buf, size_t size)
{
	if (!run || !words || !buf || nwords < run->hdr.words_per_shot)
		return qres__fail(EINVAL, "qshm_run_outcome: NULL argument "
				  "or %zu words for %u per shot", nwords,
				  run ? run->hdr.words_per_shot : 0);
	if (size < qshm_run_outcome_size(run))
		return qres__fail(ENOSPC, "qshm_run_outcome: %zu bytes, "
				  "need %zu", size,
				  qshm_run_outcome_size(run));
	char *p = buf;
	for (uint32_t r = run->hdr.ncregs; r-- > 0;) {
		const struct qshm_run_creg_info *cr = &run->cregs[r];
		for (uint32_t i = cr->size; i-- > 0;) {
			uint32_t j = cr->first_bit + i;
			*p++ = (char)('0' + ((words[j / 64] >> (j % 64)) & 1));
		}
		if (r)
			*p++ = ' ';
	}
	*p = '\0';
	return (int)(p - buf);
}

int qshm_run_values(const qshm_run *run, const uint64_t *words,
		    size_t nwords, uint64_t *values, size_t nvalues)
{
	if (!run || !words || (!values && run->hdr.ncregs) ||
	    nwords < run->hdr.words_per_shot)
		return qres__fail(EINVAL, "qshm_run_values: NULL argument "
				  "or too few words");
	if (nvalues < run->hdr.ncregs)
		return qres__fail(ENOSPC, "qshm_run_values: room for %zu "
				  "values, the run has %u registers",
				  nvalues, run->hdr.ncregs);
	for (uint32_t r = 0; r < run->hdr.ncregs; r++) {
		const struct qshm_run_creg_info *cr = &run->cregs[r];
		if (cr->size > 64)
			return qres__fail(EOVERFLOW, "qshm_run_values: "
					  "register '%s' has %u bits",
					  cr->name, cr->size);
		uint64_t v = 0;
		for (uint32_t i = 0; i < cr->size; i++) {
			uint32_t j = cr->first_bit + i;
			v |= ((words[j / 64] >> (j % 64)) & 1) << i;
		}
		values[r] = v;
	}
	return (int)run->hdr.ncregs;
}

/* Bytes of the RUN_BEGIN payload for d, or a negative error. */
static int64_t begin_size(const struct qshm_run_desc *d)
{
	uint64_t bits = 0;
	size_t n;

	if (!d || (d->ncregs && !d->cregs))
		return qres__fail(EINVAL, "qshm_run_begin_encode: NULL "
				  "description or register table");
	if (d->ncregs > QSHM_RUN_MAX_CREGS)
		return qres__fail(EINVAL, "qshm_run_begin_encode: %u "
				  "registers, at most %u", d->ncregs,
				  QSHM_RUN_MAX_CREGS);
	n = d->name ? strlen(d->name) : 0;
	if (n > QSHM_RUN_MAX_NAME)
		return qres__fail(EINVAL, "qshm_run_begin_encode: circuit "
				  "name of %zu bytes", n);
	int64_t total = (int64_t)(sizeof(struct qshm_run_begin) +
				  d->ncregs * sizeof(struct qshm_creg) + n);
	for (uint32_t i = 0; i < d->ncregs; i++) {
		const struct qshm_run_desc_creg *c = &d->cregs[i];
		if (!c->name || !c->size)
			return qres__fail(EINVAL, "qshm_run_begin_encode: "
					  "register %u: no name or no bits",
					  i);
		n = strlen(c->name);
		if (n > QSHM_RUN_MAX_NAME)
			return qres__fail(EINVAL, "qshm_run_begin_encode: "
					  "register %u: name of %zu bytes",
					  i, n);
		bits += c->size;
		total += (int64_t)n;
	}
	if (bits > QSHM_RUN_MAX_CLBITS)
		return qres__fail(EINVAL, "qshm_run_begin_encode: %llu "
				  "classical bits, at most %u",
				  (unsigned long long)bits,
				  QSHM_RUN_MAX_CLBITS);
	return total;
}

int qshm_run_begin_encode(const struct qshm_run_desc *d, void *buf,
			  size_t size)
{
	qres__clear();
	int64_t total = begin_size(d);
	if (total < 0 || !buf)
		return (int)total;
	if ((uint64_t)total > size)
		return qres__fail(ENOSPC, "qshm_run_begin_encode: %zu bytes, "
				  "need %lld", size, (long long)total);
	uint8_t *b = buf;
	uint32_t nclbits = 0;
	for (uint32_t i = 0; i < d->ncregs; i++)
		nclbits += d->cregs[i].size;
	struct qshm_run_begin h = {
		.version = QSHM_RESULTS_VERSION,
		.nqubits = d->nqubits,
		.shots = d->shots,
		.seed = d->seed,
		.circuit_hash = d->circuit_hash,
		.nclbits = nclbits,
		.ncregs = d->ncregs,
		.words_per_shot = nclbits ? (nclbits + 63) / 64 : 1,
		.options = d->options,
		.creg_off = sizeof(struct qshm_run_begin),
		.run = d->run,
	};
	size_t s = h.creg_off + d->ncregs * sizeof(struct qshm_creg);
	h.name_off = (uint32_t)s;
	h.name_len = d->name ? (uint32_t)strlen(d->name) : 0;
	memcpy(b + s, d->name ? d->name : "", h.name_len);
	s += h.name_len;
	uint32_t first = 0;
	for (uint32_t i = 0; i < d->ncregs; i++) {
		struct qshm_creg cr = {
			.size = d->cregs[i].size,
			.first_bit = first,
			.name_off = (uint32_t)s,
			.name_len = (uint32_t)strlen(d->cregs[i].name),
		};
		memcpy(b + s, d->cregs[i].name, cr.name_len);
		s += cr.name_len;
		first += cr.size;
		memcpy(b + h.creg_off + i * sizeof(cr), &cr, sizeof(cr));
	}
	memcpy(b, &h, sizeof(h));
	return (int)total;
}

int qshm_run_new(const struct qshm_run_desc *d, qshm_run **out)
{
	int len = qshm_run_begin_encode(d, NULL, 0);
	if (len < 0)
		return len;
	void *buf = malloc((size_t)len);
	if (!buf)
		return qres__fail(ENOMEM, "qshm_run_new: out of memory");
	int err = qshm_run_begin_encode(d, buf, (size_t)len);
	if (err >= 0)
		err = qshm_run_decode(buf, (size_t)len, out);
	free(buf);
	return err < 0 ? err : 0;
}
