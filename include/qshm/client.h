/* SPDX-License-Identifier: MIT */
/*
 * client.h - submit circuits to a running `qshm serve NAME` and await
 * their counts, through shared memory only (docs/service.md).
 *
 *	qshm_client *cl;
 *	int err = qshm_client_connect("sim1", 2000000000, &cl);  // 2 s
 *	uint64_t job;
 *	struct qshm_job_spec spec = { .shots = 1000, .seed = 7,
 *				      .deadline_ns = QSHM_FOREVER };
 *	err = qshm_client_submit(cl, qasm, strlen(qasm), &spec, &job);
 *	struct qshm_job_result *res;
 *	err = qshm_client_wait(cl, job, QSHM_FOREVER, &res);
 *	if (err == 0) {
 *		for (size_t i = 0; i < res->n; i++)
 *			printf("%s %llu\n", res->entries[i].outcome,
 *			       (unsigned long long)res->entries[i].count);
 *		qshm_job_result_free(res);
 *	} else {
 *		fprintf(stderr, "%s\n", qshm_client_error(cl));
 *	}
 *	qshm_client_close(cl);
 *
 * A client handle is not thread-safe: use one per thread, or lock.
 * Errors: 0 or a negative code: -errno, a -QSHM_E* code of qshm.h, or one
 * of the -QSHM_E* codes below; qshm_strerror() does not know the latter,
 * qshm_client_strerror() knows all. qshm_client_error(cl) gives the last
 * failure's message with context (the service's own message for a job it
 * refused, e.g. "job:3:5: error: ..." for a bad circuit).
 */
#ifndef QSHM_CLIENT_H
#define QSHM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "qshm/qshm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Service errors, returned negated, in a band after libqshm's. */
enum qshm_client_errcode {
	QSHM_CLIENT_ERR_FIRST = 4352,
	QSHM_EQUEUEFULL = QSHM_CLIENT_ERR_FIRST, /* the service's queue is
						    full: job not taken */
	QSHM_ESERVICEDEAD,  /* the service process died */
	QSHM_ESERVICEGONE,  /* the service stopped (closed its rings) */
	QSHM_EREFUSED,      /* the service refused the request as malformed
			       (a protocol error on this client's side) */
	QSHM_CLIENT_ERR_LAST
};

typedef struct qshm_client qshm_client;

/*
 * Connects to service NAME: checks its control ring, creates this
 * client's request ring and waits (up to timeout_ns) for the service to
 * attach and create the reply ring.
 * Errors: -EINVAL (bad name), -ENOENT (no such service), -QSHM_ESERVICEDEAD
 * (its control ring is stale), -EPROTO (NAME is not a service),
 * -EPROTONOSUPPORT (another wire version), -ETIMEDOUT, -ENOMEM, or an
 * error of qshm_producer_create()/qshm_consumer_attach().
 */
int qshm_client_connect(const char *name, int64_t timeout_ns,
			qshm_client **out);

/* One job. */
struct qshm_job_spec {
	uint64_t shots;      /* 1 .. 2^40 */
	uint64_t seed;       /* same circuit + seed: same counts as
				`qshm sim FILE --seed S --counts` */
	int64_t deadline_ns; /* from now; QSHM_FOREVER: none. Past it the
				service drops the job and wait() gives
				-ETIMEDOUT */
	uint32_t flags;      /* none yet: must be 0 */
	uint32_t reserved;
};

/*
 * Submits LEN bytes of OpenQASM 2.0 text (only `include "qelib1.inc"`
 * may be included) and returns the job's id in *job. Does not wait for
 * the service (unless the request ring is full: then up to the deadline).
 * Errors: -EINVAL (bad spec, empty text), -QSHM_ETOOBIG (text longer than
 * the service takes), -QSHM_ESERVICEDEAD, -QSHM_ESERVICEGONE, -ETIMEDOUT.
 * A full service queue is reported by wait() as -QSHM_EQUEUEFULL.
 */
int qshm_client_submit(qshm_client *cl, const char *qasm, size_t len,
		       const struct qshm_job_spec *spec, uint64_t *job);

struct qshm_job_entry {
	const char *outcome;  /* as `qshm sim --counts` writes it */
	uint64_t count;
};

struct qshm_job_result {
	uint64_t job;
	uint64_t shots;
	uint64_t sim_ns;      /* the simulator's own time for the job */
	size_t n;             /* entries, sorted by outcome (strcmp) */
	struct qshm_job_entry *entries;
};

/*
 * Waits up to timeout_ns for job's result. On 0, *out holds the counts
 * (free with qshm_job_result_free()); the job is then forgotten.
 * Errors: -ETIMEDOUT (wait's timeout passed: the job is still pending and
 * can be waited for again; or its deadline passed: the service dropped
 * it, and it is forgotten), -ECANCELED (cancelled), -QSHM_EQUEUEFULL,
 * -EINVAL (bad circuit or unknown job; message in qshm_client_error()),
 * -EFBIG (more qubits than the service's --max-qubits, or no memory for
 * the state), -E2BIG (result too large for the reply ring),
 * -QSHM_EREFUSED, -QSHM_ESERVICEDEAD, -QSHM_ESERVICEGONE, -EPROTO (a
 * malformed reply), -EINTR.
 */
int qshm_client_wait(qshm_client *cl, uint64_t job, int64_t timeout_ns,
		     struct qshm_job_result **out);
void qshm_job_result_free(struct qshm_job_result *r);

/*
 * Asks the service to drop the job (queued: never runs; running: stops
 * at its next batch of shots). A later wait() gives -ECANCELED, unless
 * the result had already been made. Errors: as submit(), -EINVAL (unknown
 * job).
 */
int qshm_client_cancel(qshm_client *cl, uint64_t job);

/*
 * For event loops: fills *item with the reply ring's consumer, to pass to
 * qshm_poll() among other items (it also ends the wait when the service
 * dies). After it reports QSHM_POLL_DATA, call qshm_client_process().
 * Returns 0 or -EINVAL.
 */
int qshm_client_pollitem(qshm_client *cl, struct qshm_pollitem *item);

/*
 * Reads every reply already there without waiting, and returns how many
 * jobs have their result ready (wait() with timeout 0 then takes it), or
 * an error as wait() for the connection itself.
 */
int qshm_client_process(qshm_client *cl);

/* 1 if job's result (or failure) is ready, 0 if not, -EINVAL unknown. */
int qshm_client_ready(qshm_client *cl, uint64_t job);

/* Message of the last failure on cl, with context; "" if none. With
 * cl NULL: why this thread's last qshm_client_connect() failed. */
const char *qshm_client_error(const qshm_client *cl);

/* Like qshm_strerror(), and also knows the codes above. */
const char *qshm_client_strerror(int err);

/* Removes this client's request ring, detaches, frees cl. Jobs still
 * queued are dropped by the service. Returns 0. */
int qshm_client_close(qshm_client *cl);

#ifdef __cplusplus
}
#endif

#endif /* QSHM_CLIENT_H */
