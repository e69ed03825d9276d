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
 *                 records SVC_REC_RUN and SVC_REC_CANCEL.
 *   NAME.r.ID     reply ring of client ID, made by the service;
 *                 records SVC_REC_RESULT.
 * All integers are little-endian (the host's: rings are local).
 */
#ifndef QSHM_SVC_WIRE_H
#define QSHM_SVC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define SVC_WIRE_MAJOR 1
#define SVC_WIRE_MINOR 0

#define SVC_INFO_MAGIC "qshmsvc"   /* 8 bytes with the NUL */

/* Record types (QSHM_TYPE_USER_MIN and up). */
#define SVC_REC_RUN    0x5301
#define SVC_REC_CANCEL 0x5302
#define SVC_REC_RESULT 0x5381

/* What a job returns (svc_run_req.want). Only counts exist in 1.0. */
#define SVC_WANT_COUNTS 1u
#define SVC_WANT_MASK   SVC_WANT_COUNTS

/* Longest service NAME: NAME.q.ID must stay within QSHM_NAME_MAX. */
#define SVC_NAME_MAX 160
#define SVC_ID_MAX 32

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
};
_Static_assert(sizeof(struct svc_info) == 40, "svc_info layout");

/* SVC_REC_RUN: this header, then qasm_len bytes of OpenQASM 2.0. */
struct svc_run_req {
	uint16_t major, minor;
	uint32_t want;          /* SVC_WANT_* */
	uint64_t job;           /* the client's id, unique per client */
	uint64_t shots;         /* 1 .. SVC_MAX_SHOTS */
	uint64_t seed;
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC; 0: none */
	uint32_t qasm_len;      /* == record length - sizeof(header) */
	uint32_t reserved;      /* 0 */
};
_Static_assert(sizeof(struct svc_run_req) == 48, "svc_run_req layout");

/* SVC_REC_CANCEL. */
struct svc_cancel_req {
	uint16_t major, minor;
	uint32_t reserved;      /* 0 */
	uint64_t job;
};
_Static_assert(sizeof(struct svc_cancel_req) == 16, "svc_cancel_req layout");

/*
 * SVC_REC_RESULT: this header, then nentries 64-bit counts, then
 * nentries outcome strings of outcome_len bytes each (no NUL; sorted by
 * strcmp, as `qshm sim --counts` prints them), then msg_len bytes of
 * message (why the job failed; may be empty).
 */
struct svc_result {
	uint16_t major, minor;
	int32_t status;         /* 0, or a negative error (client.h) */
	uint64_t job;
	uint64_t shots;         /* shots run */
	uint64_t sim_ns;        /* the simulator's own time */
	uint32_t nentries;
	uint32_t outcome_len;
	uint32_t msg_len;
	uint32_t reserved;      /* 0 */
};
_Static_assert(sizeof(struct svc_result) == 48, "svc_result layout");

#define SVC_MAX_SHOTS ((uint64_t)1 << 40)
#define SVC_MSG_MAX 1024

/* A decoded result, pointing into the record. */
struct svc_result_view {
	struct svc_result h;
	const uint64_t *counts;   /* 8-byte aligned in a ring record */
	const char *outcomes;     /* nentries * outcome_len bytes */
	const char *msg;          /* msg_len bytes, not NUL-terminated */
};

/* Decoders: 0, or -EPROTO (malformed) / -EPROTONOSUPPORT (other major)
 * with the reason in why[]. */
int svc_run_req_decode(const void *data, size_t len, struct svc_run_req *h,
		       const char **qasm, char *why, size_t whylen);
int svc_cancel_req_decode(const void *data, size_t len,
			  struct svc_cancel_req *h, char *why, size_t whylen);
int svc_result_decode(const void *data, size_t len,
		      struct svc_result_view *v, char *why, size_t whylen);

/* Bytes a result record needs; 0 if it would overflow. */
size_t svc_result_size(uint32_t nentries, uint32_t outcome_len,
		       uint32_t msg_len);

/* Checks a control ring descriptor. 0 or -EPROTO/-EPROTONOSUPPORT. */
int svc_info_check(const void *data, size_t len, struct svc_info *out,
		   char *why, size_t whylen);

#endif
