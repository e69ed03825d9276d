/*
 * fuzz_wire.c - libFuzzer target: the decoders of the service's records
 * (service/svc_wire.c): what `qshm serve` decodes from a client's request
 * ring (RUN, REGISTER, CANCEL and UNREGISTER) and what the client library
 * decodes from its reply ring (REGISTERED, JOB, COUNTS, EXPECT) and from
 * the control ring's descriptor.
 *
 * The input's first byte is the selector: bits 0-2 the decoder (RUN,
 * REGISTER, CANCEL/UNREGISTER, REGISTERED, JOB, COUNTS, EXPECT, the
 * descriptor), bit 3 a short reason buffer (8 bytes instead of 256),
 * bits 4-6 an offset of the record from 16-byte alignment (0 unless bit 7
 * is set; ring records are 16-byte aligned, the decoders must refuse what
 * is not 8-byte aligned where they require it). The rest is the record's
 * payload, copied to a buffer of its own with every byte before and after
 * it poisoned for ASan, so that a read outside the record is reported.
 *
 * On success every array the decoder points to is read in full as the
 * service or client then reads it, and what each decoder promises
 * (svc_wire.h) is checked: pointers inside the record, lengths that add
 * up, bounded counts, no NUL in circuit text, parameter names that parse;
 * a broken promise aborts. On failure the code is -EPROTO or
 * -EPROTONOSUPPORT and the reason is a terminated, non-empty string.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svc_wire.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char *rec_lo, *rec_hi;   /* the record being decoded */
static volatile uint64_t sink;

/* [p, p + n) lies within the record; then reads it all. */
static void touch(const void *p, uint64_t n)
{
	const unsigned char *c = p;

	if (n == 0)
		return;
	CHECK(c && (const char *)c >= rec_lo &&
	      n <= (uint64_t)(rec_hi - (const char *)c));
	for (uint64_t i = 0; i < n; i++)
		sink += c[i];
}

static void run_req(const void *p, size_t len, char *why, size_t wl,
		    int *rc)
{
	struct svc_run_view v;

	*rc = svc_run_req_decode(p, len, &v, why, wl);
	if (*rc)
		return;
	CHECK(((uintptr_t)p & 7) == 0);
	CHECK(v.h.major == SVC_WIRE_MAJOR && v.h.reserved == 0);
	CHECK(v.h.nparams <= SVC_MAX_PARAMS && v.h.nexpect <= SVC_MAX_EXPECT);
	CHECK(svc_run_req_size(v.h.qasm_len, v.h.nparams, v.h.nexpect) == len);
	CHECK((v.h.circuit == 0) != (v.h.qasm_len == 0));
	CHECK(v.h.want && !(v.h.want & ~SVC_WANT_MASK));
	CHECK(v.h.shots <= SVC_MAX_SHOTS);
	CHECK(v.h.shots ||
	      !(v.h.want & (SVC_WANT_COUNTS | SVC_WANT_SHOTS)));
	CHECK(!v.h.nexpect || (v.h.want & SVC_WANT_EXPECT));
	if (v.h.qasm_len) {
		touch(v.qasm, v.h.qasm_len);
		CHECK(!memchr(v.qasm, '\0', v.h.qasm_len));
	} else {
		CHECK(v.qasm == NULL);
	}
	CHECK(((uintptr_t)v.params & 7) == 0 && ((uintptr_t)v.expect & 7) == 0);
	touch(v.params, (uint64_t)v.h.nparams * 8);
	touch(v.expect, (uint64_t)v.h.nexpect * 8);
	for (uint32_t i = 0; i < v.h.nparams; i++)
		sink += (uint64_t)(v.params[i] != v.params[i]);
	for (uint32_t i = 0; i < v.h.nexpect; i++)
		sink += v.expect[i];
}

static void register_req(const void *p, size_t len, char *why, size_t wl,
			 int *rc)
{
	struct svc_register_req h;
	const char *qasm = NULL;

	*rc = svc_register_req_decode(p, len, &h, &qasm, why, wl);
	if (*rc)
		return;
	CHECK(h.major == SVC_WIRE_MAJOR && h.circuit != 0);
	CHECK(h.qasm_len > 0 && sizeof(h) + (uint64_t)h.qasm_len == len);
	touch(qasm, h.qasm_len);
	CHECK(!memchr(qasm, '\0', h.qasm_len));
}

static void cancel_req(const void *p, size_t len, char *why, size_t wl,
		       int *rc)
{
	struct svc_cancel_req h;

	*rc = svc_cancel_req_decode(p, len, &h, why, wl);
	if (*rc)
		return;
	CHECK(len == sizeof(h) && h.major == SVC_WIRE_MAJOR && !h.reserved);
}

/* As the client takes a REGISTERED reply: the names, one after another. */
static void registered(const void *p, size_t len, char *why, size_t wl,
		       int *rc)
{
	struct svc_registered_view v;
	uint64_t off = 0;

	*rc = svc_registered_decode(p, len, &v, why, wl);
	if (*rc)
		return;
	CHECK(v.h.major == SVC_WIRE_MAJOR && v.h.status <= 0);
	CHECK(v.h.msg_len <= SVC_MSG_MAX && v.h.nparams <= SVC_MAX_PARAMS);
	CHECK(sizeof(v.h) + (uint64_t)v.h.names_len + v.h.msg_len == len);
	touch(v.names, v.h.names_len);
	touch(v.msg, v.h.msg_len);
	for (uint32_t i = 0; i < v.h.nparams; i++) {
		CHECK(off < v.h.names_len);
		const char *end = memchr(v.names + off, '\0',
					 v.h.names_len - off);
		CHECK(end);
		off = (uint64_t)(end - v.names) + 1;
	}
	CHECK(off == v.h.names_len);
}

static void job_hdr(const void *p, size_t len, char *why, size_t wl,
		    int *rc)
{
	struct svc_job_hdr h;
	const char *msg = NULL;

	*rc = svc_job_hdr_decode(p, len, &h, &msg, why, wl);
	if (*rc)
		return;
	CHECK(h.major == SVC_WIRE_MAJOR && h.status <= 0);
	CHECK(!(h.status && h.nrecords) && !(h.want & ~SVC_WANT_MASK));
	CHECK(h.nqubits <= 63 && h.msg_len <= SVC_MSG_MAX);
	CHECK(sizeof(h) + (uint64_t)h.msg_len == len);
	touch(msg, h.msg_len);
}

static void counts(const void *p, size_t len, char *why, size_t wl,
		   int *rc)
{
	struct svc_counts_hdr h;
	const uint64_t *words = NULL, *cnt = NULL;

	*rc = svc_counts_decode(p, len, &h, &words, &cnt, why, wl);
	if (*rc)
		return;
	CHECK(h.words_per_shot >= 1 && h.words_per_shot <= 4096);
	CHECK(!h.reserved && h.n <= len / 8);
	CHECK(((uintptr_t)words & 7) == 0 && ((uintptr_t)cnt & 7) == 0);
	touch(words, h.n * h.words_per_shot * 8);
	touch(cnt, h.n * 8);
	CHECK((const char *)(cnt + h.n) == rec_hi);
	for (uint64_t i = 0; i < h.n; i++)
		sink += words[i * h.words_per_shot] + cnt[i];
}

static void expect(const void *p, size_t len, char *why, size_t wl,
		   int *rc)
{
	const uint64_t *masks = NULL;
	const double *values = NULL;
	uint32_t n = 0;

	*rc = svc_expect_decode(p, len, &n, &masks, &values, why, wl);
	if (*rc)
		return;
	CHECK(n <= SVC_MAX_EXPECT && 8 + (uint64_t)n * 16 == len);
	CHECK(((uintptr_t)masks & 7) == 0 && ((uintptr_t)values & 7) == 0);
	touch(masks, (uint64_t)n * 8);
	touch(values, (uint64_t)n * 8);
	for (uint32_t i = 0; i < n; i++)
		sink += masks[i] + (uint64_t)(values[i] != values[i]);
}

static void info(const void *p, size_t len, char *why, size_t wl, int *rc)
{
	struct svc_info out;

	*rc = svc_info_check(p, len, &out, why, wl);
	if (*rc)
		return;
	CHECK(len >= sizeof(out) && out.major == SVC_WIRE_MAJOR);
	CHECK(memcmp(out.magic, SVC_INFO_MAGIC, 8) == 0);
}

typedef void (*decoder_fn)(const void *, size_t, char *, size_t, int *);
/* Selector bits 0-2 (CANCEL and UNREGISTER share a decoder). */
static const decoder_fn decoders[8] = {
	run_req, register_req, cancel_req, registered,
	job_hdr, counts, expect, info,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	size_t wl, off, cap;
	uint8_t sel;
	char *buf;
	int rc = 0;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	wl = (sel & 0x08) ? 8 : sizeof(why);
	off = (sel & 0x80) ? (size_t)(sel >> 4 & 7) : 0;
	/* 16 bytes before the record, the record at 16 + off, and the rest
	 * of its last 16-byte block after it: all but the record poisoned. */
	cap = 16 + (off + size + 15) / 16 * 16 + 16;
	buf = aligned_alloc(16, cap);
	if (!buf)
		return 0;
	memcpy(buf + 16 + off, data, size);
	rec_lo = buf + 16 + off;
	rec_hi = rec_lo + size;
	POISON(buf, 16 + off);
	POISON(buf + 16 + off + size, cap - 16 - off - size);
	memset(why, 0x55, sizeof(why));
	decoders[sel & 7](rec_lo, size, why, wl, &rc);
	if (rc) {
		CHECK(rc == -EPROTO || rc == -EPROTONOSUPPORT);
		CHECK(memchr(why, '\0', wl) && why[0] != '\0');
	}
	UNPOISON(buf, cap);
	free(buf);
	return 0;
}
