/* SPDX-License-Identifier: MIT */
/*
 * svc_wire.h - the records `qshm serve` and its clients exchange
 * (docs/service.md, "Records"). Private to service/: the client library
 * and the service loop both encode and decode through svc_wire.c, and
 * every decoder treats its input as hostile (lengths checked against the
 * record, no trust in a count before it is bounded).
 *
 * Rings of a service NAME:
 *   NAME          control ring, made by the service; its descriptor is a
 *                 struct svc_info; its user counters are the metrics.
 *   NAME.q.ID     request ring of client ID, made by the client;
 *                 records SVC_REC_RUN, _CANCEL, _REGISTER, _UNREGISTER.
 *   NAME.r.ID     reply ring of client ID, made by the service;
 *                 SVC_REC_REGISTERED, and per job SVC_REC_JOB followed by
 *                 the job's records.
 * All integers are little-endian (the host's: rings are local).
 */
#ifndef QSHM_SVC_WIRE_H
#define QSHM_SVC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define SVC_WIRE_MAJOR 2
#define SVC_WIRE_MINOR 0

#define SVC_INFO_MAGIC "qshmsvc"   /* 8 bytes with the NUL */

/* Record types (QSHM_TYPE_USER_MIN and up). Requests: */
#define SVC_REC_RUN        0x5301
#define SVC_REC_CANCEL     0x5302
#define SVC_REC_REGISTER   0x5303
#define SVC_REC_UNREGISTER 0x5304
/* Replies: a JOB header, then its records (the format.md types
 * QSHM_REC_RUN_BEGIN .. QSHM_REC_RUN_END and the two below). */
#define SVC_REC_JOB        0x5381
#define SVC_REC_REGISTERED 0x5382
#define SVC_REC_COUNTS     0x5383
#define SVC_REC_EXPECT     0x5384

/* What a job returns (svc_run_req.want): the QSHM_WANT_* bits of
 * client.h that travel (not QSHM_WANT_COPY). */
#define SVC_WANT_COUNTS 0x01u
#define SVC_WANT_SHOTS  0x02u
#define SVC_WANT_PROBS  0x04u
#define SVC_WANT_STATE  0x08u
#define SVC_WANT_EXPECT 0x10u
#define SVC_WANT_MASK   0x1fu
#define SVC_WANT_FINAL  (SVC_WANT_PROBS | SVC_WANT_STATE | SVC_WANT_EXPECT)

/* Longest service NAME: NAME.q.ID must stay within QSHM_NAME_MAX. */
#define SVC_NAME_MAX 160
#define SVC_ID_MAX 32

#define SVC_MAX_SHOTS ((uint64_t)1 << 40)
#define SVC_MSG_MAX 1024
#define SVC_MAX_PARAMS 1024      /* = QASM_MAX_TEMPLATE_PARAMS */
#define SVC_MAX_EXPECT 4096

/* The control ring's descriptor. */
struct svc_info {
	char magic[8];          /* SVC_INFO_MAGIC */
	uint16_t major, minor;  /* SVC_WIRE_* */
	int32_t pid;            /* the service process */
	uint32_t workers;
	uint32_t max_qubits;
	uint32_t queue;         /* jobs queued or running, at most */
	uint32_t max_request;   /* largest request record, bytes */
	uint64_t started_ns;    /* CLOCK_REALTIME */
	uint32_t flags;         /* SVC_INFO_BUSY_POLL */
	uint32_t reserved;      /* 0 */
	uint64_t memory_budget; /* bytes of state run at once */
};
_Static_assert(sizeof(struct svc_info) == 56, "svc_info layout");

#define SVC_INFO_BUSY_POLL 0x1u

/* Metrics: user counters of the control ring (qshm stat NAME). */
enum svc_counter {
	SVC_CTR_QUEUED = 0,   /* jobs waiting now */
	SVC_CTR_RUNNING,      /* jobs running now */
	SVC_CTR_DONE,         /* jobs that returned counts */
	SVC_CTR_FAILED,       /* jobs that returned another error */
	SVC_CTR_TIMEDOUT,     /* jobs dropped at their deadline */
	SVC_CTR_CANCELLED,    /* jobs cancelled (by the client, or its end) */
	SVC_CTR_REFUSED,      /* malformed requests and full-queue refusals */
	SVC_CTR_CLIENTS,      /* clients connected now */
	/* Latency histogram (qshm_service_metrics): jobs whose time in the
	 * service was within 10 us, 100 us, ..., 1 s (one bucket each, not
	 * cumulative), then all jobs, then the sum of their times in ns. */
	SVC_CTR_LAT0,
	SVC_CTR_LAT_COUNT = SVC_CTR_LAT0 + 6,
	SVC_CTR_LAT_SUM_NS,
	SVC_CTR_COUNT
};
_Static_assert(SVC_CTR_COUNT == 16, "the ring has 16 user counters");

/* Bucket bounds in ns of SVC_CTR_LAT0.. */
#define SVC_LAT_BOUNDS_NS { 10000ull, 100000ull, 1000000ull, 10000000ull, \
			    100000000ull, 1000000000ull }



/*
 * SVC_REC_RUN: this header; then, for inline text (circuit 0), qasm_len
 * bytes of text padded with zeros to a multiple of 8; then nparams f64
 * values; then nexpect u64 qubit masks.
 */
struct svc_run_req {
	uint16_t major, minor;
	uint32_t want;          /* SVC_WANT_* */
	uint64_t job;           /* the client's id, unique per client */
	uint64_t shots;         /* 0 .. SVC_MAX_SHOTS */
	uint64_t seed;
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC; 0: none */
	uint64_t circuit;       /* a registered circuit; 0: text follows */
	uint32_t qasm_len;      /* text bytes (0 with a circuit) */
	uint32_t nparams;
	uint32_t nexpect;
	uint32_t reserved;      /* 0 */
};
_Static_assert(sizeof(struct svc_run_req) == 64, "svc_run_req layout");

/* SVC_REC_CANCEL and SVC_REC_UNREGISTER (id: job or circuit). */
struct svc_cancel_req {
	uint16_t major, minor;
	uint32_t reserved;      /* 0 */
	uint64_t job;
};
_Static_assert(sizeof(struct svc_cancel_req) == 16, "svc_cancel_req layout");

/* SVC_REC_REGISTER: this header, then qasm_len bytes of text. */
struct svc_register_req {
	uint16_t major, minor;
	uint32_t qasm_len;      /* == record length - 16, > 0 */
	uint64_t circuit;       /* the client's id, > 0, unique per client */
};
_Static_assert(sizeof(struct svc_register_req) == 16, "svc_register layout");

/* SVC_REC_REGISTERED: this header, then names_len bytes of parameter
 * names (each NUL-terminated, nparams of them), then msg_len bytes. */
struct svc_registered {
	uint16_t major, minor;
	int32_t status;         /* 0 or a negative error */
	uint64_t circuit;
	uint32_t nqubits, nclbits;
	uint32_t nparams, names_len;
	uint32_t msg_len;
	uint32_t reserved;      /* 0 */
};
_Static_assert(sizeof(struct svc_registered) == 40, "svc_registered layout");

/*
 * SVC_REC_JOB: this header, then msg_len bytes of message (why the job
 * failed). Followed in the ring by nrecords records of the job (none
 * when status is not 0): RUN_BEGIN, COUNTS, SHOTS..., PROBS..., STATE...,
 * EXPECT, RUN_END, in that order, those that were asked for, together
 * bytes long (payloads only).
 */
struct svc_job_hdr {
	uint16_t major, minor;
	int32_t status;         /* 0, or a negative error (client.h) */
	uint64_t job;
	uint64_t shots;         /* shots run */
	uint64_t sim_ns;        /* the simulator's own time */
	uint64_t bytes;         /* payload bytes of the records that follow */
	uint32_t nrecords;
	uint32_t want;          /* what the records hold */
	uint32_t nqubits;
	uint32_t msg_len;
};
_Static_assert(sizeof(struct svc_job_hdr) == 56, "svc_job_hdr layout");

/* SVC_REC_COUNTS: this header, then n * words_per_shot u64 outcome words
 * (as SHOTS packs them; distinct, in no order), then n u64 counts. */
struct svc_counts_hdr {
	uint32_t words_per_shot;
	uint32_t reserved;      /* 0 */
	uint64_t n;
};
_Static_assert(sizeof(struct svc_counts_hdr) == 16, "svc_counts layout");

/* SVC_REC_EXPECT: this header, then n u64 masks, then n f64 values. */
struct svc_expect_hdr {
	uint32_t n;
	uint32_t reserved;      /* 0 */
};
_Static_assert(sizeof(struct svc_expect_hdr) == 8, "svc_expect layout");

/* Decoded requests, pointing into the record. */
struct svc_run_view {
	struct svc_run_req h;
	const char *qasm;         /* qasm_len bytes, or NULL */
	const double *params;     /* nparams (8-byte aligned in a record) */
	const uint64_t *expect;   /* nexpect */
};

/* Decoders: 0, or -EPROTO (malformed) / -EPROTONOSUPPORT (other major)
 * with the reason in why[]. Records must be 8-byte aligned (ring records
 * are 16). */
int svc_run_req_decode(const void *data, size_t len, struct svc_run_view *v,
		       char *why, size_t whylen);
int svc_cancel_req_decode(const void *data, size_t len,
			  struct svc_cancel_req *h, char *why, size_t whylen);
int svc_register_req_decode(const void *data, size_t len,
			    struct svc_register_req *h, const char **qasm,
			    char *why, size_t whylen);
/* Bytes of a run request. 0 if too large. */
size_t svc_run_req_size(uint32_t qasm_len, uint32_t nparams,
			uint32_t nexpect);

/* Decoded replies. */
struct svc_registered_view {
	struct svc_registered h;
	const char *names;        /* names_len bytes, checked: nparams
				     NUL-terminated names */
	const char *msg;          /* msg_len bytes, no NUL */
};
int svc_registered_decode(const void *data, size_t len,
			  struct svc_registered_view *v, char *why,
			  size_t whylen);
int svc_job_hdr_decode(const void *data, size_t len, struct svc_job_hdr *h,
		       const char **msg, char *why, size_t whylen);
int svc_counts_decode(const void *data, size_t len, struct svc_counts_hdr *h,
		      const uint64_t **words, const uint64_t **counts,
		      char *why, size_t whylen);
int svc_expect_decode(const void *data, size_t len, uint32_t *n,
		      const uint64_t **masks, const double **values,
		      char *why, size_t whylen);

/* Checks a control ring descriptor. 0 or -EPROTO/-EPROTONOSUPPORT. */
int svc_info_check(const void *data, size_t len, struct svc_info *out,
		   char *why, size_t whylen);

#endif
