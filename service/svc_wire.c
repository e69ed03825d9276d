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

int svc_run_req_decode(const void *data, size_t len, struct svc_run_req *h,
		       const char **qasm, char *why, size_t whylen)
{
	int rc;

	if (len < sizeof(*h))
		return why_fail(-EPROTO, why, whylen, "run request of %zu "
				"bytes, shorter than its %zu-byte header", len,
				sizeof(*h));
	memcpy(h, data, sizeof(*h));
	rc = version_check(h->major, h->minor, "run request", why, whylen);
	if (rc)
		return rc;
	if (h->qasm_len != len - sizeof(*h))
		return why_fail(-EPROTO, why, whylen, "run request: qasm_len "
				"%u but %zu bytes follow the header",
				h->qasm_len, len - sizeof(*h));
	if (h->qasm_len == 0)
		return why_fail(-EPROTO, why, whylen, "run request: no "
				"circuit text");
	if (h->want == 0 || (h->want & ~SVC_WANT_MASK))
		return why_fail(-EPROTO, why, whylen, "run request: want "
				"0x%x (known: 0x%x)", h->want, SVC_WANT_MASK);
	if (h->shots == 0 || h->shots > SVC_MAX_SHOTS)
		return why_fail(-EPROTO, why, whylen, "run request: %llu "
				"shots (1 .. 2^40)",
				(unsigned long long)h->shots);
	if (h->reserved)
		return why_fail(-EPROTO, why, whylen, "run request: reserved "
				"field set");
	if (memchr((const char *)data + sizeof(*h), '\0', h->qasm_len))
		return why_fail(-EPROTO, why, whylen, "run request: a NUL "
				"byte in the circuit text");
	*qasm = (const char *)data + sizeof(*h);
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

size_t svc_result_size(uint32_t nentries, uint32_t outcome_len,
		       uint32_t msg_len)
{
	/* 64-bit arithmetic on 32-bit inputs: no overflow below 2^64. */
	uint64_t n = sizeof(struct svc_result) + (uint64_t)nentries * 8 +
		     (uint64_t)nentries * outcome_len + msg_len;

	return n > SIZE_MAX / 2 ? 0 : (size_t)n;
}

int svc_result_decode(const void *data, size_t len,
		      struct svc_result_view *v, char *why, size_t whylen)
{
	const char *p = data;
	int rc;

	if (len < sizeof(v->h))
		return why_fail(-EPROTO, why, whylen, "result of %zu bytes, "
				"shorter than its header", len);
	memcpy(&v->h, data, sizeof(v->h));
	rc = version_check(v->h.major, v->h.minor, "result", why, whylen);
	if (rc)
		return rc;
	if (v->h.msg_len > SVC_MSG_MAX || v->h.reserved ||
	    svc_result_size(v->h.nentries, v->h.outcome_len,
			    v->h.msg_len) != len)
		return why_fail(-EPROTO, why, whylen, "result: %u entries of "
				"%u bytes and a %u-byte message do not make "
				"%zu bytes", v->h.nentries, v->h.outcome_len,
				v->h.msg_len, len);
	if (v->h.status > 0 || (v->h.status == 0 && v->h.msg_len))
		return why_fail(-EPROTO, why, whylen, "result: status %d",
				v->h.status);
	if (((uintptr_t)p & 7) != 0)
		return why_fail(-EPROTO, why, whylen, "result record not "
				"8-byte aligned");
	v->counts = (const uint64_t *)(const void *)(p + sizeof(v->h));
	v->outcomes = p + sizeof(v->h) + (size_t)v->h.nentries * 8;
	v->msg = v->outcomes + (size_t)v->h.nentries * v->h.outcome_len;
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
