/* SPDX-License-Identifier: MIT */
/*
 * svc_wire.c - decoding the service's records (svc_wire.h). Every field
 * is bounded before use: a request ring is written by a client the
 * service does not trust, a reply ring by a service the client does not
 * trust either.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "svc_wire.h"

static int why_fail(int code, char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_fail(int code, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int version_check(uint16_t major, uint16_t minor, const char *what,
			 char *why, size_t whylen)
{
	if (major != SVC_WIRE_MAJOR)
		return why_fail(-EPROTONOSUPPORT, why, whylen,
				"%s: wire version %u.%u, this side speaks %d.%d",
				what, major, minor, SVC_WIRE_MAJOR,
				SVC_WIRE_MINOR);
	return 0;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t svc_run_req_size(uint32_t qasm_len, uint32_t nparams,
			uint32_t nexpect)
{
	/* 32-bit inputs, 64-bit sum: no overflow. */
	uint64_t n = sizeof(struct svc_run_req) + pad8(qasm_len) +
		     (uint64_t)nparams * 8 + (uint64_t)nexpect * 8;

	return n > SIZE_MAX / 2 ? 0 : (size_t)n;
}

int svc_run_req_decode(const void *data, size_t len, struct svc_run_view *v,
		       char *why, size_t whylen)
{
	struct svc_run_req *h = &v->h;
	const char *p = data;
	int rc;

	if (len < sizeof(*h))
		return why_fail(-EPROTO, why, whylen, "run request of %zu "
				"bytes, shorter than its %zu-byte header", len,
				sizeof(*h));
	if ((uintptr_t)p & 7)
		return why_fail(-EPROTO, why, whylen, "run request not "
				"8-byte aligned");
	memcpy(h, data, sizeof(*h));
	rc = version_check(h->major, h->minor, "run request", why, whylen);
	if (rc)
		return rc;
	if (h->nparams > SVC_MAX_PARAMS || h->nexpect > SVC_MAX_EXPECT ||
	    svc_run_req_size(h->qasm_len, h->nparams, h->nexpect) != len)
		return why_fail(-EPROTO, why, whylen, "run request: %u bytes "
				"of text, %u values and %u masks do not make "
				"%zu bytes", h->qasm_len, h->nparams,
				h->nexpect, len);
	if ((h->circuit == 0) == (h->qasm_len == 0))
		return why_fail(-EPROTO, why, whylen, "run request: %s",
				h->circuit ? "a circuit id and text" :
				"neither a circuit id nor text");
	if (h->want & ~SVC_WANT_MASK)
		return why_fail(-EPROTO, why, whylen, "run request: want "
				"0x%x (known: 0x%x)", h->want, SVC_WANT_MASK);
	if (h->want == 0)
		h->want = SVC_WANT_COUNTS;
	if (h->shots > SVC_MAX_SHOTS ||
	    (h->shots == 0 && (h->want & (SVC_WANT_COUNTS | SVC_WANT_SHOTS))))
		return why_fail(-EPROTO, why, whylen, "run request: %llu "
				"shots (1 .. 2^40)",
				(unsigned long long)h->shots);
	if (!(h->want & SVC_WANT_EXPECT) && h->nexpect)
		return why_fail(-EPROTO, why, whylen, "run request: masks "
				"without QSHM_WANT_EXPECT");
	if (h->reserved)
		return why_fail(-EPROTO, why, whylen, "run request: reserved "
				"field set");
	p += sizeof(*h);
	v->qasm = h->qasm_len ? p : NULL;
	if (h->qasm_len && memchr(p, '\0', h->qasm_len))
		return why_fail(-EPROTO, why, whylen, "run request: a NUL "
				"byte in the circuit text");
	p += pad8(h->qasm_len);
	v->params = (const double *)(const void *)p;
	p += (size_t)h->nparams * 8;
	v->expect = (const uint64_t *)(const void *)p;
	return 0;
}

int svc_register_req_decode(const void *data, size_t len,
			    struct svc_register_req *h, const char **qasm,
			    char *why, size_t whylen)
{
	int rc;

	if (len < sizeof(*h))
		return why_fail(-EPROTO, why, whylen, "register request of "
				"%zu bytes, shorter than its header", len);
	memcpy(h, data, sizeof(*h));
	rc = version_check(h->major, h->minor, "register request", why,
			   whylen);
	if (rc)
		return rc;
	if (h->qasm_len == 0 || h->qasm_len != len - sizeof(*h))
		return why_fail(-EPROTO, why, whylen, "register request: "
				"qasm_len %u but %zu bytes follow", h->qasm_len,
				len - sizeof(*h));
	if (h->circuit == 0)
		return why_fail(-EPROTO, why, whylen, "register request: "
				"circuit id 0");
	*qasm = (const char *)data + sizeof(*h);
	if (memchr(*qasm, '\0', h->qasm_len))
		return why_fail(-EPROTO, why, whylen, "register request: a "
				"NUL byte in the circuit text");
	return 0;
}

int svc_cancel_req_decode(const void *data, size_t len,
			  struct svc_cancel_req *h, char *why, size_t whylen)
{
	int rc;

	if (len != sizeof(*h))
		return why_fail(-EPROTO, why, whylen, "cancel request of %zu "
				"bytes (expected %zu)", len, sizeof(*h));
	memcpy(h, data, sizeof(*h));
	rc = version_check(h->major, h->minor, "cancel request", why, whylen);
	if (rc)
		return rc;
	if (h->reserved)
		return why_fail(-EPROTO, why, whylen, "cancel request: "
				"reserved field set");
	return 0;
}

int svc_registered_decode(const void *data, size_t len,
			  struct svc_registered_view *v, char *why,
			  size_t whylen)
{
	const char *p = data;
	uint32_t seen = 0;
	int rc;

	if (len < sizeof(v->h))
		return why_fail(-EPROTO, why, whylen, "registered reply of "
				"%zu bytes", len);
	memcpy(&v->h, data, sizeof(v->h));
	rc = version_check(v->h.major, v->h.minor, "registered reply", why,
			   whylen);
	if (rc)
		return rc;
	if (v->h.msg_len > SVC_MSG_MAX || v->h.reserved ||
	    v->h.nparams > SVC_MAX_PARAMS || v->h.status > 0 ||
	    sizeof(v->h) + (uint64_t)v->h.names_len + v->h.msg_len != len)
		return why_fail(-EPROTO, why, whylen, "registered reply: "
				"lengths do not make %zu bytes", len);
	v->names = p + sizeof(v->h);
	v->msg = v->names + v->h.names_len;
	for (uint32_t i = 0; i < v->h.names_len; i++)
		seen += v->names[i] == '\0';
	if (seen != v->h.nparams ||
	    (v->h.names_len && v->names[v->h.names_len - 1] != '\0'))
		return why_fail(-EPROTO, why, whylen, "registered reply: "
				"%u names announced, %u found", v->h.nparams,
				seen);
	return 0;
}

int svc_job_hdr_decode(const void *data, size_t len, struct svc_job_hdr *h,
		       const char **msg, char *why, size_t whylen)
{
	int rc;

	if (len < sizeof(*h))
		return why_fail(-EPROTO, why, whylen, "job header of %zu "
				"bytes", len);
	memcpy(h, data, sizeof(*h));
	rc = version_check(h->major, h->minor, "job header", why, whylen);
	if (rc)
		return rc;
	if (h->msg_len > SVC_MSG_MAX || sizeof(*h) + h->msg_len != len ||
	    h->status > 0 || (h->status && h->nrecords) ||
	    (h->want & ~SVC_WANT_MASK) || h->nqubits > 63)
		return why_fail(-EPROTO, why, whylen, "job header: status %d, "
				"%u records, %u-byte message in %zu bytes",
				h->status, h->nrecords, h->msg_len, len);
	*msg = (const char *)data + sizeof(*h);
	return 0;
}

int svc_counts_decode(const void *data, size_t len, struct svc_counts_hdr *h,
		      const uint64_t **words, const uint64_t **counts,
		      char *why, size_t whylen)
{
	const char *p = data;

	if (len < sizeof(*h) || ((uintptr_t)p & 7))
		return why_fail(-EPROTO, why, whylen, "counts record of %zu "
				"bytes", len);
	memcpy(h, data, sizeof(*h));
	/* words_per_shot <= 4096 and n bounded by len: no overflow. */
	if (h->reserved || h->words_per_shot == 0 ||
	    h->words_per_shot > 4096 ||
	    h->n > (len - sizeof(*h)) / 8 ||
	    sizeof(*h) + h->n * 8 * ((uint64_t)h->words_per_shot + 1) != len)
		return why_fail(-EPROTO, why, whylen, "counts record: %llu "
				"entries of %u words in %zu bytes",
				(unsigned long long)h->n, h->words_per_shot,
				len);
	*words = (const uint64_t *)(const void *)(p + sizeof(*h));
	*counts = *words + h->n * h->words_per_shot;
	return 0;
}

int svc_expect_decode(const void *data, size_t len, uint32_t *n,
		      const uint64_t **masks, const double **values,
		      char *why, size_t whylen)
{
	struct svc_expect_hdr h;
	const char *p = data;

	if (len < sizeof(h) || ((uintptr_t)p & 7))
		return why_fail(-EPROTO, why, whylen, "expect record of %zu "
				"bytes", len);
	memcpy(&h, data, sizeof(h));
	if (h.reserved || h.n > SVC_MAX_EXPECT ||
	    sizeof(h) + (uint64_t)h.n * 16 != len)
		return why_fail(-EPROTO, why, whylen, "expect record: %u "
				"values in %zu bytes", h.n, len);
	*n = h.n;
	*masks = (const uint64_t *)(const void *)(p + sizeof(h));
	*values = (const double *)(const void *)(p + sizeof(h) + 8 * h.n);
	return 0;
}

int svc_info_check(const void *data, size_t len, struct svc_info *out,
		   char *why, size_t whylen)
{
	if (len < sizeof(*out))
		return why_fail(-EPROTO, why, whylen, "descriptor of %zu "
				"bytes: not a qshm service", len);
	memcpy(out, data, sizeof(*out));
	if (memcmp(out->magic, SVC_INFO_MAGIC, sizeof(out->magic)) != 0)
		return why_fail(-EPROTO, why, whylen, "descriptor without "
				"the service magic: not a qshm service");
	return version_check(out->major, out->minor, "service", why, whylen);
}
