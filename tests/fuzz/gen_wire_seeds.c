/*
 * gen_wire_seeds.c - writes seeds for fuzz_wire: valid records of every
 * type of the service's wire format (service/svc_wire.h), filled in
 * through its structs, each file the selector byte fuzz_wire reads first
 * and then the record's payload. Each record is checked to decode before
 * it is written (else the generator fails). tests/fuzz/corpus/wire holds its output
 * (committed, with any regression inputs); run.sh also runs it at every
 * fuzzing run, so the seeds follow the structs as they are now.
 *
 * usage: gen_wire_seeds DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_wire.h"

/* fuzz_wire's selector values (bits 0-2). */
enum { SEL_RUN, SEL_REGISTER, SEL_CANCEL, SEL_REGISTERED, SEL_JOB,
       SEL_COUNTS, SEL_EXPECT, SEL_INFO };

static const char *dir;
static _Alignas(16) unsigned char buf[16384];

/* The record in buf decodes (with the decoder the selector names), unless
 * it is meant to be misaligned. */
static int decodes(unsigned sel, size_t len, char *why, size_t wl)
{
	union {
		struct svc_run_view run;
		struct svc_register_req reg;
		struct svc_cancel_req can;
		struct svc_registered_view rd;
		struct svc_job_hdr job;
		struct svc_counts_hdr ch;
		struct svc_info info;
	} u;
	const char *s;
	const uint64_t *a, *b;
	const double *d;
	uint32_t n;

	switch (sel & 7) {
	case SEL_RUN: return svc_run_req_decode(buf, len, &u.run, why, wl);
	case SEL_REGISTER:
		return svc_register_req_decode(buf, len, &u.reg, &s, why, wl);
	case SEL_CANCEL:
		return svc_cancel_req_decode(buf, len, &u.can, why, wl);
	case SEL_REGISTERED:
		return svc_registered_decode(buf, len, &u.rd, why, wl);
	case SEL_JOB:
		return svc_job_hdr_decode(buf, len, &u.job, &s, why, wl);
	case SEL_COUNTS:
		return svc_counts_decode(buf, len, &u.ch, &a, &b, why, wl);
	case SEL_EXPECT:
		return svc_expect_decode(buf, len, &n, &a, &d, why, wl);
	default: return svc_info_check(buf, len, &u.info, why, wl);
	}
}

static void emit(const char *name, unsigned sel, size_t len)
{
	char path[512];
	unsigned char s = (unsigned char)sel;
	char why[256];
	FILE *f;

	if (decodes(sel, len, why, sizeof(why)) != 0) {
		fprintf(stderr, "gen_wire_seeds: %s does not decode: %s\n",
			name, why);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&s, 1, 1, f) != 1 ||
	    (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) {
		fprintf(stderr, "gen_wire_seeds: %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
}

static const char bell[] =
	"OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\n"
	"h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n";
static const char param[] =
	"OPENQASM 2.0;\ninclude \"qelib1.inc\";\ninput theta;\ninput phi;\n"
	"qreg q[2];\nrx(theta) q[0];\nrz(phi) q[1];\ncx q[0],q[1];\n";

/* A run request: inline text or a registered circuit, values, masks. */
static size_t run_req(const char *text, uint64_t circuit, uint32_t want,
		      uint64_t shots, uint32_t nparams, uint32_t nexpect)
{
	struct svc_run_req h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.want = want, .job = 7, .shots = shots, .seed = 42,
		.circuit = circuit,
		.qasm_len = text ? (uint32_t)strlen(text) : 0,
		.nparams = nparams, .nexpect = nexpect,
	};
	size_t len = svc_run_req_size(h.qasm_len, nparams, nexpect);
	size_t off = sizeof(h);

	memset(buf, 0, len);
	memcpy(buf, &h, sizeof(h));
	if (text)
		memcpy(buf + off, text, h.qasm_len);
	off += (h.qasm_len + 7) & ~(size_t)7;
	for (uint32_t i = 0; i < nparams; i++, off += 8) {
		double x = 0.25 * (i + 1);
		memcpy(buf + off, &x, 8);
	}
	for (uint32_t i = 0; i < nexpect; i++, off += 8) {
		uint64_t m = (uint64_t)1 << i | 1;
		memcpy(buf + off, &m, 8);
	}
	return len;
}

int main(int argc, char **argv)
{
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_wire_seeds DIR\n");
		return 2;
	}
	dir = argv[1];

	/* Requests (a client's request ring). */
	emit("run-text-counts", SEL_RUN,
	     run_req(bell, 0, SVC_WANT_COUNTS, 1000, 0, 0));
	emit("run-text-all", SEL_RUN,
	     run_req(bell, 0, SVC_WANT_MASK, 16, 0, 2));
	emit("run-circuit-params", SEL_RUN,
	     run_req(NULL, 3, SVC_WANT_COUNTS | SVC_WANT_SHOTS, 64, 2, 0));
	emit("run-circuit-expect", SEL_RUN,
	     run_req(NULL, 3, SVC_WANT_EXPECT | SVC_WANT_PROBS, 0, 2, 3));
	emit("run-default-want", SEL_RUN, run_req(bell, 0, 0, 1, 0, 0));

	struct svc_register_req reg = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.qasm_len = (uint32_t)strlen(param), .circuit = 3,
	};
	memcpy(buf, &reg, sizeof(reg));
	memcpy(buf + sizeof(reg), param, reg.qasm_len);
	emit("register", SEL_REGISTER, sizeof(reg) + reg.qasm_len);

	struct svc_cancel_req can = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR, .job = 7,
	};
	memcpy(buf, &can, sizeof(can));
	emit("cancel", SEL_CANCEL, sizeof(can));

	/* Replies (a client's reply ring). */
	static const char names[] = "theta\0phi";
	struct svc_registered rd = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.circuit = 3, .nqubits = 2, .nclbits = 0, .nparams = 2,
		.names_len = sizeof(names),
	};
	memcpy(buf, &rd, sizeof(rd));
	memcpy(buf + sizeof(rd), names, sizeof(names));
	emit("registered", SEL_REGISTERED, sizeof(rd) + sizeof(names));
	static const char bad[] = "fuzz.qasm:3:1: unknown gate 'hh'";
	rd = (struct svc_registered){
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.status = -EINVAL, .circuit = 4,
		.msg_len = (uint32_t)strlen(bad),
	};
	memcpy(buf, &rd, sizeof(rd));
	memcpy(buf + sizeof(rd), bad, rd.msg_len);
	emit("registered-error", SEL_REGISTERED, sizeof(rd) + rd.msg_len);

	struct svc_job_hdr jh = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR, .job = 7,
		.shots = 1000, .sim_ns = 12345, .bytes = 4096, .nrecords = 3,
		.want = SVC_WANT_COUNTS, .nqubits = 2,
	};
	memcpy(buf, &jh, sizeof(jh));
	emit("job", SEL_JOB, sizeof(jh));
	jh = (struct svc_job_hdr){
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR, .job = 8,
		.status = -ETIMEDOUT, .msg_len = (uint32_t)strlen(bad),
	};
	memcpy(buf, &jh, sizeof(jh));
	memcpy(buf + sizeof(jh), bad, jh.msg_len);
	emit("job-error", SEL_JOB, sizeof(jh) + jh.msg_len);

	/* COUNTS: outcomes 00 and 11 of a Bell pair, one word each; and
	 * three entries of two words. */
	struct svc_counts_hdr ch = { .words_per_shot = 1, .n = 2 };
	uint64_t cw[] = { 0, 3, 489, 511 };
	memcpy(buf, &ch, sizeof(ch));
	memcpy(buf + sizeof(ch), cw, sizeof(cw));
	emit("counts", SEL_COUNTS, sizeof(ch) + sizeof(cw));
	ch = (struct svc_counts_hdr){ .words_per_shot = 2, .n = 3 };
	uint64_t cw2[] = { 1, 0, 2, 0, 0, 1, 10, 20, 30 };
	memcpy(buf, &ch, sizeof(ch));
	memcpy(buf + sizeof(ch), cw2, sizeof(cw2));
	emit("counts-2words", SEL_COUNTS, sizeof(ch) + sizeof(cw2));

	struct svc_expect_hdr eh = { .n = 3 };
	uint64_t em[] = { 1, 2, 3 };
	double ev[] = { 0.0, -1.0, 0.5 };
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), em, sizeof(em));
	memcpy(buf + sizeof(eh) + sizeof(em), ev, sizeof(ev));
	emit("expect", SEL_EXPECT, sizeof(eh) + sizeof(em) + sizeof(ev));

	/* The control ring's descriptor. */
	struct svc_info in = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR, .pid = 1234,
		.workers = 2, .max_qubits = 24, .queue = 64,
		.max_request = 1 << 20, .started_ns = 1, .memory_budget = 1 << 30,
	};
	memcpy(in.magic, SVC_INFO_MAGIC, sizeof(in.magic));
	memcpy(buf, &in, sizeof(in));
	emit("info", SEL_INFO, sizeof(in));

	/* The same run request 4 bytes off alignment (selector bit 7,
	 * offset 4), which fuzz_wire's decoder must refuse. */
	len = run_req(bell, 0, SVC_WANT_COUNTS, 10, 0, 0);
	emit("run-misaligned", SEL_RUN | 0x80 | 4 << 4, len);
	return 0;
}
