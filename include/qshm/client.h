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
	QSHM_EBREAKER,      /* the client's circuit breaker is open: the
			       service failed too often; nothing was sent */
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

/*
 * Fault policy of a client (qshm_client_connect_opts()). Zeroed, it is
 * the behaviour of qshm_client_connect(): no retry, no breaker, no
 * reconnection. docs/service.md, "Client policy".
 *
 * Retries: a job that fails with a transient error (-QSHM_EQUEUEFULL,
 * -QSHM_ESERVICEDEAD, -QSHM_ESERVICEGONE, -EIO: a reply cut short,
 * -ENOBUFS) is sent again, up to `retries` more times and never past its
 * deadline, after a wait drawn uniformly from [0, b] ("full jitter"),
 * where b = backoff_ns * 2^(attempt-1), capped at backoff_max_ns. Retries
 * happen inside wait()/wait_view() and process() (when due): an event
 * loop that has jobs waiting for a retry calls process() again after
 * qshm_client_next_retry_ns(). Jobs are re-run from the start with the
 * same seed (so with the same result): a job submitted with
 * QSHM_WANT_NO_RETRY is never sent twice, for callers whose jobs must not
 * run twice.
 *
 * Reconnection: when the service died or stopped, the next submit, wait,
 * process or register connects again to the service's name (waiting up to
 * connect_timeout_ns for a service to be there), registers the client's
 * circuits again under the same ids, and sends again the pending jobs
 * that may be retried; the others fail with -QSHM_ESERVICEDEAD/GONE.
 *
 * Circuit breaker: after breaker_failures transient failures in a row
 * (each failed attempt counts; a success resets the count), submits fail
 * at once with -QSHM_EBREAKER for breaker_open_ns; then one job may go
 * (half-open): its success closes the breaker, its failure opens it
 * again.
 */
struct qshm_client_opts {
	int64_t connect_timeout_ns; /* connect and each reconnection;
				       0: 2 s */
	uint32_t retries;           /* more attempts of a failed job; 0 */
	uint32_t reconnect;         /* 1: reconnect to a restarted service */
	int64_t backoff_ns;         /* first retry's bound; 0: 1 ms */
	int64_t backoff_max_ns;     /* cap of the bound; 0: 1 s */
	uint32_t breaker_failures;  /* 0: no breaker */
	uint32_t reserved;          /* 0 */
	int64_t breaker_open_ns;    /* 0: 1 s */
	uint64_t jitter_seed;       /* 0: from the clock and pid */
};

/* qshm_client_connect() with a fault policy (o may be NULL: none).
 * Errors: as qshm_client_connect(), -EINVAL (bad options). */
int qshm_client_connect_opts(const char *name,
			     const struct qshm_client_opts *o,
			     qshm_client **out);

/* Nanoseconds from now until the earliest retry that is waiting (0: due
 * now), or -1 if none. For event loops (a timer, then process()). */
int64_t qshm_client_next_retry_ns(qshm_client *cl);

/* Attempts, failures and reconnections so far. */
struct qshm_client_stats {
	uint64_t submitted;    /* jobs submitted by the caller */
	uint64_t sent;         /* RUN records sent, retries included */
	uint64_t retries;      /* jobs sent again */
	uint64_t reconnects;   /* successful reconnections */
	uint64_t breaker_trips;/* times the breaker opened */
	uint64_t breaker_refused; /* submits refused by the open breaker */
	uint32_t breaker_open; /* 1 while open (before its half-open trial) */
	uint32_t reserved;
};
int qshm_client_stats(qshm_client *cl, struct qshm_client_stats *out);

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

/*
 * Whether the service of this connection still runs: 1, or 0 when it
 * died or stopped. Asks without waiting: the service's pidfd (a poll, a
 * few microseconds), or without one (kernels before 5.3) the reply ring's
 * state. For a loop that watches the reply ring itself (through
 * qshm_client_pollitem() and a waiter, whose descriptor also wakes when
 * the service dies), where process() cannot tell a death from a spurious
 * wake-up. On 0 the replies the service committed are read first (they
 * stand), then the connection is over: every job still pending is ready,
 * and wait() gives it -QSHM_ESERVICEDEAD or -QSHM_ESERVICEGONE (with a
 * reconnecting policy, the next call reconnects). While a view is held
 * in place nothing more is read, and the connection goes on: call it
 * again after the release. Returns 1, 0 or -EINVAL (cl NULL).
 */
int qshm_client_alive(qshm_client *cl);

/* Message of the last failure on cl, with context; "" if none. With
 * cl NULL: why this thread's last qshm_client_connect() failed. */
const char *qshm_client_error(const qshm_client *cl);

/* Like qshm_strerror(), and also knows the codes above. */
const char *qshm_client_strerror(int err);

/* Removes this client's request ring, detaches, frees cl. Jobs still
 * queued are dropped by the service. Returns 0. */
int qshm_client_close(qshm_client *cl);

/* ------------------------------------------------------------------ */
/* Wire 2.0: registered circuits, parameters, every kind of result      */

/*
 * Registered circuits. The text is OpenQASM 2.0 plus top-level
 * `param NAME, NAME, ...;` declarations; top-level gate arguments may use
 * the declared names in expressions (docs/service.md, "Parameters"):
 *
 *	OPENQASM 2.0; include "qelib1.inc";
 *	param theta, phi;
 *	qreg q[2]; creg c[2];
 *	ry(theta) q[0]; cx q[0], q[1]; rz(phi / 2) q[1];
 *	measure q -> c;
 *
 * The service parses it once and keeps it; each run binds new values
 * (no text is sent or parsed again). Registering waits (up to timeout_ns)
 * for the service's answer, so a bad circuit fails here, with the
 * front end's "circuit:LINE:COL: error: ..." in qshm_client_error().
 * *circuit is this client's id for it (1, 2, ...), valid until
 * qshm_client_unregister() or close.
 * Errors: as qshm_client_submit(), -EINVAL (does not parse), -EFBIG
 * (more qubits than --max-qubits), -ETIMEDOUT.
 */
int qshm_client_register(qshm_client *cl, const char *qasm, size_t len,
			 int64_t timeout_ns, uint64_t *circuit);

/* What the service found in a registered circuit. */
struct qshm_circuit_info {
	uint32_t nqubits;
	uint32_t nclbits;
	uint32_t nparams;
	uint32_t reserved;
	const char *const *param_names; /* nparams names, declaration order:
					   the order of qshm_run_spec.params;
					   owned by cl, valid while the
					   circuit is registered */
};

/* Fills *out. Returns 0 or -EINVAL (unknown circuit). */
int qshm_client_circuit_info(qshm_client *cl, uint64_t circuit,
			     struct qshm_circuit_info *out);

/* Forgets a registered circuit here and in the service (jobs already
 * submitted still run). Returns 0, -EINVAL, or a submit() error. */
int qshm_client_unregister(qshm_client *cl, uint64_t circuit);

/* What a job returns (qshm_run_spec.want); any combination. */
#define QSHM_WANT_COUNTS 0x01u /* histogram of outcomes (as sim --counts) */
#define QSHM_WANT_SHOTS  0x02u /* every shot's outcome, packed as the
				  SHOTS records of docs/format.md */
#define QSHM_WANT_PROBS  0x04u /* |a_i|^2 of the final state */
#define QSHM_WANT_STATE  0x08u /* the final state's amplitudes */
#define QSHM_WANT_EXPECT 0x10u /* <Z...Z> on the qubit sets of .expect */
#define QSHM_WANT_COPY   0x100u /* client side: never read the arrays in
				   place (see qshm_client_wait_view()) */
#define QSHM_WANT_NO_RETRY 0x200u /* client side: never send this job
				     twice (struct qshm_client_opts) */

/*
 * A job, wire 2.0. The final state (PROBS, STATE, EXPECT) is the state
 * before the terminal measurements; a circuit whose state depends on
 * random mid-circuit outcomes has none, and the job fails with -ENOTSUP.
 */
struct qshm_run_spec {
	uint64_t shots;       /* 1 .. 2^40; may be 0 when want has neither
				 COUNTS nor SHOTS */
	uint64_t seed;        /* same circuit + values + seed: same shots */
	int64_t deadline_ns;  /* from now; QSHM_FOREVER: none */
	uint32_t want;        /* QSHM_WANT_*; 0 means COUNTS */
	uint32_t nparams;     /* values for the circuit's parameters, in */
	const double *params; /* declaration order; must be all of them */
	uint32_t nexpect;     /* EXPECT: Pauli-Z strings, each a mask of */
	uint32_t reserved;    /* qubits (bit q: Z on qubit q); 0: identity */
	const uint64_t *expect;
};

/* Runs registered circuit `circuit` with spec's parameter values. Does
 * not wait. Errors: as qshm_client_submit(); -EINVAL also for an unknown
 * circuit or a wrong number of values (checked here). */
int qshm_client_submit_circuit(qshm_client *cl, uint64_t circuit,
			       const struct qshm_run_spec *spec,
			       uint64_t *job);

/* Runs LEN bytes of text once (it may declare parameters: spec gives
 * their values). Errors: as qshm_client_submit(). */
int qshm_client_submit_qasm(qshm_client *cl, const char *qasm, size_t len,
			    const struct qshm_run_spec *spec, uint64_t *job);

/*
 * A job's result. The service sends it as the records of docs/format.md
 * (RUN_BEGIN, SHOTS, PROBS, STATE, RUN_END) plus a counts and an
 * expectations record, after a header record that tags them with the job
 * id (docs/service.md, "Replies"); this is the decoded view.
 *
 * In place: an array that the service sent as one record (SHOTS, PROBS or
 * STATE up to the reply ring's largest record, 4 MiB: a state of up to 17
 * qubits, probabilities of up to 18) points into the reply ring itself,
 * read where the service wrote it, when the job was read while no other
 * view was held in place and QSHM_WANT_COPY was not asked. Its bit is set
 * in .in_place. Larger arrays, and results read while another view is held,
 * are assembled in memory of the client.
 * Every pointer is valid until qshm_client_view_release().
 */
struct qshm_job_view {
	uint64_t job;
	uint64_t shots;          /* shots run */
	uint64_t sim_ns;         /* the simulator's own time for the job */
	uint32_t want;           /* what it returned (QSHM_WANT_*) */
	uint32_t in_place;       /* QSHM_WANT_SHOTS/PROBS/STATE: that array
				    is read in place from the reply ring */
	uint32_t nqubits;
	uint32_t words_per_shot; /* u64 words of one shot's outcome */
	/* COUNTS: entries sorted by outcome (strcmp), as sim --counts */
	size_t ncounts;
	const struct qshm_job_entry *counts;
	/* SHOTS: shot i's outcome at shot_words[i * words_per_shot]; global
	   clbit j is bit j % 64 of word j / 64 (docs/format.md, SHOTS) */
	const uint64_t *shot_words;
	/* PROBS: nprobs = 2^nqubits values, basis state i (bit q = qubit q) */
	const double *probs;
	uint64_t nprobs;
	/* STATE: namps = 2^nqubits amplitudes as (re, im) pairs */
	const double *state;
	uint64_t namps;
	/* EXPECT: expect[i] = <Z string expect_masks[i]>, as submitted */
	size_t nexpect;
	const uint64_t *expect_masks;
	const double *expect;
	/* The run's RUN_BEGIN, decoded by libqshmresults (qshm/results.h):
	   registers; qshm_run_outcome() gives a shot's outcome string.
	   Declared as void to keep this header free of results.h. */
	const void *run;         /* const qshm_run * */
};

/*
 * Like qshm_client_wait(), for any job: on 0, *out is the job's view,
 * until qshm_client_view_release(). While a view that is read in place is
 * held, the client reads no further reply (they wait in the ring): a wait
 * or process() that would need to read returns -EBUSY; so release views
 * promptly (or copy, or ask QSHM_WANT_COPY). Errors: as wait(), -EBUSY.
 */
int qshm_client_wait_view(qshm_client *cl, uint64_t job, int64_t timeout_ns,
			  const struct qshm_job_view **out);

/* Ends a view: releases its records in the ring (or frees its copies);
 * the job is forgotten. NULL is a no-op. Returns 0 or -EINVAL. */
int qshm_client_view_release(qshm_client *cl,
			     const struct qshm_job_view *view);

/*
 * A file descriptor for event loops (epoll, poll, asyncio's add_reader):
 * readable when a reply may be there, when the service stopped, or when
 * it died; also after a call other than process() (wait(), view_release(),
 * this one) read replies of other jobs, so a loop that polls before it
 * looks at its jobs misses none. When it is readable, call qshm_client_process() (which also
 * re-arms it); then take the ready jobs with wait() or wait_view() with
 * timeout 0. Wake-ups may be spurious. The descriptor is the client's
 * (do not close it); it stays the same for the client's life.
 * Returns the descriptor, or -ENOSYS (no io_uring futex waits: Linux
 * before 6.7; then poll with a timeout and call process()), -ENOMEM, or
 * -EINVAL.
 */
int qshm_client_fd(qshm_client *cl);

/* ------------------------------------------------------------------ */
/* A service's metrics (its control ring's user counters)               */

/* Latency buckets: jobs answered within 10 us, 100 us, 1 ms, 10 ms,
 * 100 ms, 1 s, and all of them (+Inf). */
#define QSHM_SVC_LATENCY_BUCKETS 7

struct qshm_service_metrics {
	int32_t pid;            /* the service process */
	uint32_t workers, max_qubits, queue;
	uint32_t busy_poll;     /* 1: serve --busy-poll */
	uint32_t reserved;
	uint64_t memory_budget; /* bytes of state the service runs at once */
	uint64_t queued, running, done, failed, timed_out, cancelled;
	uint64_t refused, clients;
	/* latency: from the service reading a job's request to its reply
	 * committed; cumulative, as a Prometheus histogram: le[i] jobs
	 * within qshm_service_latency_bound(i) seconds; le[6] = all */
	uint64_t latency_le[QSHM_SVC_LATENCY_BUCKETS];
	double latency_sum_s;   /* seconds, all jobs together */
};

/* The upper bound of latency bucket i in seconds (INFINITY for the last),
 * or NAN for i out of range. */
double qshm_service_latency_bound(unsigned i);

/*
 * Decodes a service's metrics from its control ring: user[16] (the
 * ring's user counters, struct qshm_ring_stats.user) and its descriptor
 * (qshm_consumer_meta()). Returns 0, or -EPROTO (not a service's ring),
 * -EPROTONOSUPPORT (another wire major), -EINVAL.
 */
int qshm_service_metrics_decode(const uint64_t user[16], const void *meta,
				size_t meta_len,
				struct qshm_service_metrics *out);

/* Attaches to service NAME's control ring read-only and reads its
 * metrics. Returns 0 or an error as qshm_client_connect()'s C1. */
int qshm_service_metrics_read(const char *name,
			      struct qshm_service_metrics *out);

#ifdef __cplusplus
}
#endif

#endif /* QSHM_CLIENT_H */
