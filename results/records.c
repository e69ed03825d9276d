/* SPDX-License-Identifier: MIT */
/*
 * records.c - the records after RUN_BEGIN (SHOTS, PROBS, STATE, RUN_END,
 * ERROR) and the run descriptor: checked views in place, and the encoders a
 * producer needs.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "internal.h"

static int misaligned(const void *p)
{
	return ((uintptr_t)p & 7u) != 0;
}

int qshm_shots_decode(const void *data, size_t len, const qshm_run *run,
		      struct qshm_shots_view *out)
{
	struct qshm_shots s;

	qres__clear();
	if (!data || !out || misaligned(data))
		return qres__fail(EINVAL, "qshm_shots_decode: NULL or "
				  "misaligned argument");
	if (len < sizeof(s))
		return qres__fail(EBADMSG, "SHOTS record of %zu bytes, need "
				  "at least %zu", len, sizeof(s));
	memcpy(&s, data, sizeof(s));
	if (s.words_per_shot == 0 || s.words_per_shot > 4096)
		return qres__fail(EBADMSG, "SHOTS: %u words per shot",
				  s.words_per_shot);
	if (run && s.words_per_shot != run->hdr.words_per_shot)
		return qres__fail(EBADMSG, "SHOTS: %u words per shot, "
				  "RUN_BEGIN said %u", s.words_per_shot,
				  run->hdr.words_per_shot);
	if ((uint64_t)s.count * s.words_per_shot > (len - sizeof(s)) / 8)
		return qres__fail(EBADMSG, "SHOTS: %u shots of %u words do "
				  "not fit %zu bytes", s.count,
				  s.words_per_shot, len);
	if (run && (s.first_shot > run->hdr.shots ||
		    s.count > run->hdr.shots - s.first_shot))
		return qres__fail(EBADMSG, "SHOTS: shots %llu..+%u outside "
				  "the %llu of the run",
				  (unsigned long long)s.first_shot, s.count,
				  (unsigned long long)run->hdr.shots);
	out->first_shot = s.first_shot;
	out->count = s.count;
	out->words_per_shot = s.words_per_shot;
	out->words = (const uint64_t *)((const uint8_t *)data + sizeof(s));
	return 0;
}

uint32_t qshm_shots_per_record(uint64_t max_record, uint32_t words_per_shot)
{
	if (!words_per_shot || max_record < sizeof(struct qshm_shots))
		return 0;
	uint64_t n = (max_record - sizeof(struct qshm_shots)) /
		     (8u * (uint64_t)words_per_shot);
	return n > 4096 ? 4096 : (uint32_t)n;
}

int qshm_vector_decode(uint32_t type, const void *data, size_t len,
		       struct qshm_vector_view *out)
{
	struct qshm_chunk ch;
	const char *what = type == QSHM_REC_STATE ? "STATE" : "PROBS";
	size_t esz = type == QSHM_REC_STATE ? 16 : 8;

	qres__clear();
	if (!data || !out || misaligned(data) ||
	    (type != QSHM_REC_PROBS && type != QSHM_REC_STATE))
		return qres__fail(EINVAL, "qshm_vector_decode: NULL or "
				  "misaligned argument, or type 0x%x", type);
	if (len < sizeof(ch))
		return qres__fail(EBADMSG, "%s record of %zu bytes, need at "
				  "least %zu", what, len, sizeof(ch));
	memcpy(&ch, data, sizeof(ch));
	if (ch.nqubits > 63 || ch.total != (UINT64_C(1) << ch.nqubits))
		return qres__fail(EBADMSG, "%s: %u qubits but %llu elements "
				  "in all", what, ch.nqubits,
				  (unsigned long long)ch.total);
	if (ch.first > ch.total || ch.count > ch.total - ch.first)
		return qres__fail(EBADMSG, "%s: elements %llu..+%llu outside "
				  "0..%llu", what,
				  (unsigned long long)ch.first,
				  (unsigned long long)ch.count,
				  (unsigned long long)ch.total);
	if (ch.count > (len - sizeof(ch)) / esz)
		return qres__fail(EBADMSG, "%s: %llu elements do not fit %zu "
				  "bytes", what, (unsigned long long)ch.count,
				  len);
	out->type = type;
	out->nqubits = ch.nqubits;
	out->first = ch.first;
	out->count = ch.count;
	out->total = ch.total;
	out->values = (const double *)((const uint8_t *)data + sizeof(ch));
	return 0;
}

int qshm_vector_top(const struct qshm_vector_view *v,
		    struct qshm_vector_top *top, size_t k)
{
	size_t n = 0;

	if (!v || (!top && k))
		return qres__fail(EINVAL, "qshm_vector_top: NULL argument");
	int state = v->type == QSHM_REC_STATE;
	for (uint64_t i = 0; k && i < v->count; i++) {
		struct qshm_vector_top t = { .index = v->first + i };
		if (state) {
			t.re = v->values[2 * i];
			t.im = v->values[2 * i + 1];
			t.p = t.re * t.re + t.im * t.im;
		} else {
			t.re = t.p = v->values[i];
		}
		if (isnan(t.p))
			continue; /* no place in an order */
		if (n == k && !(t.p > top[n - 1].p))
			continue;
		/* Insert after every entry at least as probable: earlier,
		 * lower indices win ties. */
		size_t j = n < k ? n++ : k - 1;
		while (j > 0 && top[j - 1].p < t.p) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = t;
	}
	return (int)n;
}

int qshm_basis_string(uint64_t index, uint32_t nqubits, char *buf,
		      size_t size)
{
	if (!buf || nqubits > 64)
		return qres__fail(EINVAL, "qshm_basis_string: NULL buffer or "
				  "%u qubits", nqubits);
	if (size < (size_t)nqubits + 1)
		return qres__fail(ENOSPC, "qshm_basis_string: %zu bytes for "
				  "%u qubits", size, nqubits);
	for (uint32_t i = 0; i < nqubits; i++)
		buf[i] = (char)('0' + ((index >> (nqubits - 1 - i)) & 1));
	buf[nqubits] = '\0';
	return (int)nqubits;
}

int qshm_run_end_decode(const void *data, size_t len,
			struct qshm_run_end *out)
{
	qres__clear();
	if (!data || !out)
		return qres__fail(EINVAL, "qshm_run_end_decode: NULL "
				  "argument");
	if (len < sizeof(*out))
		return qres__fail(EBADMSG, "RUN_END record of %zu bytes, "
				  "need %zu", len, sizeof(*out));
	memcpy(out, data, sizeof(*out));
	return 0;
}

const char *qshm_run_status_name(uint32_t status)
{
	switch (status) {
	case QSHM_RUN_OK: return "ok";
	case QSHM_RUN_FAILED: return "failed";
	case QSHM_RUN_STOPPED: return "stopped";
	}
	return "unknown";
}

int qshm_error_decode(const void *data, size_t len,
		      struct qshm_error_view *out)
{
	struct qshm_run_error e;

	qres__clear();
	if (!data || !out)
		return qres__fail(EINVAL, "qshm_error_decode: NULL argument");
	if (len < sizeof(e))
		return qres__fail(EBADMSG, "ERROR record of %zu bytes, need "
				  "at least %zu", len, sizeof(e));
	memcpy(&e, data, sizeof(e));
	if (e.len > len - sizeof(e))
		return qres__fail(EBADMSG, "ERROR: %u bytes of text do not "
				  "fit %zu bytes", e.len, len);
	out->code = e.code;
	out->len = e.len;
	out->text = (const char *)data + sizeof(e);
	return 0;
}

int qshm_error_encode(int32_t code, const char *msg, size_t msglen,
		      void *buf, size_t size)
{
	struct qshm_run_error e = { .code = code };

	qres__clear();
	if (!buf || (!msg && msglen))
		return qres__fail(EINVAL, "qshm_error_encode: NULL argument");
	if (size < sizeof(e) + 1)
		return qres__fail(ENOSPC, "qshm_error_encode: %zu bytes",
				  size);
	if (msglen > size - sizeof(e))
		msglen = size - sizeof(e);
	if (msglen > UINT32_MAX)
		msglen = UINT32_MAX;
	e.len = (uint32_t)msglen;
	memcpy(buf, &e, sizeof(e));
	if (msglen)
		memcpy((uint8_t *)buf + sizeof(e), msg, msglen);
	/* A record is at least one byte: an empty message keeps one pad. */
	if (!msglen)
		((uint8_t *)buf)[sizeof(e)] = 0;
	return (int)(sizeof(e) + (msglen ? msglen : 1));
}

int qshm_run_meta_encode(const struct qshm_run_meta *hdr, const void *begin,
			 size_t begin_len, void *buf, size_t size)
{
	qres__clear();
	if (!hdr || (!begin && begin_len) || begin_len > UINT32_MAX / 2)
		return qres__fail(EINVAL, "qshm_run_meta_encode: NULL or "
				  "oversized argument");
	size_t total = sizeof(*hdr) + begin_len;
	if (!buf)
		return (int)total;
	if (size < total)
		return qres__fail(ENOSPC, "qshm_run_meta_encode: %zu bytes, "
				  "need %zu", size, total);
	struct qshm_run_meta h = *hdr;
	h.magic = QSHM_RUN_META_MAGIC;
	h.version = QSHM_RESULTS_VERSION;
	h.begin_len = (uint32_t)begin_len;
	memcpy(buf, &h, sizeof(h));
	if (begin_len)
		memcpy((uint8_t *)buf + sizeof(h), begin, begin_len);
	return (int)total;
}

int qshm_run_meta_decode(const void *data, size_t len,
			 struct qshm_run_meta *hdr, qshm_run **run)
{
	struct qshm_run_meta h;

	qres__clear();
	if (run)
		*run = NULL;
	if (!data || !hdr)
		return qres__fail(EINVAL, "qshm_run_meta_decode: NULL "
				  "argument");
	if (len < sizeof(h))
		return qres__fail(EBADMSG, "run descriptor of %zu bytes, "
				  "need at least %zu", len, sizeof(h));
	memcpy(&h, data, sizeof(h));
	if (h.magic != QSHM_RUN_META_MAGIC)
		return qres__fail(EBADMSG, "run descriptor: magic 0x%08x, "
				  "expected 0x%08x", h.magic,
				  QSHM_RUN_META_MAGIC);
	if (h.version != QSHM_RESULTS_VERSION)
		return qres__fail(EPROTO, "run descriptor: results format "
				  "version %u, this library reads %d",
				  h.version, QSHM_RESULTS_VERSION);
	if (h.begin_seq > h.end_seq)
		return qres__fail(EBADMSG, "run descriptor: RUN_BEGIN at seq "
				  "%llu after RUN_END at %llu",
				  (unsigned long long)h.begin_seq,
				  (unsigned long long)h.end_seq);
	if (h.begin_len > len - sizeof(h))
		return qres__fail(EBADMSG, "run descriptor: RUN_BEGIN of %u "
				  "bytes does not fit %zu", h.begin_len, len);
	if (run) {
		int err = qshm_run_decode((const uint8_t *)data + sizeof(h),
					  h.begin_len, run);
		if (err)
			return err;
		uint32_t said = (*run)->hdr.run;
		if (said != (uint32_t)h.run) {
			qshm_run_free(*run);
			*run = NULL;
			return qres__fail(EBADMSG, "run descriptor: run %llu "
					  "but its RUN_BEGIN says %u",
					  (unsigned long long)h.run, said);
		}
	}
	*hdr = h;
	return 0;
}
