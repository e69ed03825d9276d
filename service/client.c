/* SPDX-License-Identifier: MIT */
/*
 * client.c - the C client of `qshm serve` (qshm/client.h).
 *
 * A client owns its request ring NAME.q.ID (it is the producer) and reads
 * the reply ring NAME.r.ID the service makes for it (a reliable consumer).
 * Every reply is copied out of the ring at once into the job's slot and
 * released, so replies never pile up in the ring while the caller waits
 * for some other job. Connection order, C1..C4, as docs/service.md:
 *   C1 read the control ring's descriptor: a service, its pid, its limits;
 *   C2 create NAME.q.ID;
 *   C3 wait until a reliable consumer attaches: the service attaches only
 *      after it has created NAME.r.ID (S2 before S3);
 *   C4 attach to NAME.r.ID and check its creator is the service's pid.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qshm/client.h"
#include "svc_wire.h"

enum job_state { JOB_PENDING, JOB_DONE };

/* How long wait() reads on the ring's own wait before it polls. */
#define CLIENT_SHORT_WAIT_NS 2000000

struct job_slot {
	uint64_t job;
	uint64_t deadline;      /* CLOCK_MONOTONIC ns; 0: none */
	int state;              /* enum job_state */
	int status;             /* JOB_DONE: 0 or the job's error */
	char *msg;              /* JOB_DONE with an error: the service's */
	struct qshm_job_result *res;
};

struct qshm_client {
	char name[SVC_NAME_MAX + 1];
	char req_name[QSHM_NAME_MAX + 1], rep_name[QSHM_NAME_MAX + 1];
	struct svc_info info;
	qshm_producer *req;
	qshm_consumer *rep;
	uint64_t next_job;
	int conn_err;           /* sticky: the connection is over */
	struct job_slot *jobs;
	size_t njobs, cap_jobs;
	char err[SVC_MSG_MAX + 256];
};

static atomic_uint client_seq; /* ids of this process's clients */
/* Why this thread's last qshm_client_connect() failed. */
static _Thread_local char connect_err[SVC_MSG_MAX + 256];

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Absolute CLOCK_MONOTONIC end of a relative timeout; 0 for forever. */
static uint64_t end_of(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return 0;
	return mono_ns() + (uint64_t)timeout_ns;
}

/* Time left until end (0: forever) as a timeout argument. */
static int64_t left_until(uint64_t end)
{
	uint64_t now;

	if (end == 0)
		return QSHM_FOREVER;
	now = mono_ns();
	return now >= end ? 0 : (int64_t)(end - now);
}

static int cfail(struct qshm_client *cl, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfail(struct qshm_client *cl, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->err, sizeof(cl->err), fmt, ap);
	va_end(ap);
	return code;
}

static const char *lib_msg(int err)
{
	const char *m = qshm_last_error();
	return m[0] ? m : qshm_client_strerror(err);
}

const char *qshm_client_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case QSHM_EQUEUEFULL:
		return "QSHM_EQUEUEFULL: the service's queue is full";
	case QSHM_ESERVICEDEAD:
		return "QSHM_ESERVICEDEAD: the service process died";
	case QSHM_ESERVICEGONE:
		return "QSHM_ESERVICEGONE: the service stopped";
	case QSHM_EREFUSED:
		return "QSHM_EREFUSED: the service refused a malformed request";
	}
	return qshm_strerror(err);
}

const char *qshm_client_error(const qshm_client *cl)
{
	return cl ? cl->err : connect_err;
}

static struct job_slot *job_find(struct qshm_client *cl, uint64_t job)
{
	for (size_t i = 0; i < cl->njobs; i++)
		if (cl->jobs[i].job == job)
			return &cl->jobs[i];
	return NULL;
}

static void job_forget(struct qshm_client *cl, struct job_slot *s)
{
	free(s->msg);
	qshm_job_result_free(s->res);
	*s = cl->jobs[--cl->njobs];
}

/* The connection ended (error from reading the reply ring). */
static int conn_over(struct qshm_client *cl, int err)
{
	if (err == -QSHM_EPRODUCERDEAD)
		err = -QSHM_ESERVICEDEAD;
	else if (err == -QSHM_ECLOSED || err == -QSHM_EEVICTED)
		err = -QSHM_ESERVICEGONE;
	if (!cl->conn_err) {
		cl->conn_err = err;
		cfail(cl, err, "service '%s' (pid %d): %s", cl->name,
		      cl->info.pid, qshm_client_strerror(err));
	}
	return err;
}

/* A result record into its job's slot. */
static int take_result(struct qshm_client *cl, const struct qshm_record *r)
{
	struct svc_result_view v;
	struct job_slot *s;
	char why[256];
	int rc;

	if (r->type != SVC_REC_RESULT || r->item_len)
		return cfail(cl, -EPROTO, "service '%s': reply of type 0x%x",
			     cl->name, r->type);
	rc = svc_result_decode(r->data, r->len, &v, why, sizeof(why));
	if (rc)
		return cfail(cl, -EPROTO, "service '%s': %s", cl->name, why);
	s = job_find(cl, v.h.job);
	if (!s || s->state == JOB_DONE) {
		/* A job forgotten (deadline passed), or a refusal of a
		 * record that had no job id: keep the message. */
		if (v.h.status)
			cfail(cl, v.h.status, "service '%s': job %llu: %.*s",
			      cl->name, (unsigned long long)v.h.job,
			      (int)v.h.msg_len, v.msg);
		return 0;
	}
	s->state = JOB_DONE;
	s->status = v.h.status;
	if (v.h.status) {
		s->msg = strndup(v.msg, v.h.msg_len);
		return 0;
	}
	size_t slen = (size_t)v.h.outcome_len + 1;
	struct qshm_job_result *res = malloc(sizeof(*res) +
		v.h.nentries * (sizeof(struct qshm_job_entry) + slen));
	if (!res) {
		s->status = -ENOMEM;
		return 0;
	}
	res->job = v.h.job;
	res->shots = v.h.shots;
	res->sim_ns = v.h.sim_ns;
	res->n = v.h.nentries;
	res->entries = (struct qshm_job_entry *)(res + 1);
	char *str = (char *)(res->entries + res->n);
	for (size_t i = 0; i < res->n; i++) {
		memcpy(str, v.outcomes + i * v.h.outcome_len, slen - 1);
		str[slen - 1] = '\0';
		res->entries[i].outcome = str;
		res->entries[i].count = v.counts[i];
		str += slen;
	}
	s->res = res;
	return 0;
}

/* Reads one reply (waiting up to timeout_ns); 0, -EAGAIN, -ETIMEDOUT or
 * the connection's end. */
static int read_one(struct qshm_client *cl, int64_t timeout_ns)
{
	struct qshm_record r;
	int rc;

	if (cl->conn_err)
		return cl->conn_err;
	rc = qshm_consumer_read(cl->rep, &r, timeout_ns);
	if (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EINTR)
		return rc;
	if (rc)
		return conn_over(cl, rc);
	rc = take_result(cl, &r);
	qshm_consumer_release(cl->rep);
	if (rc)
		conn_over(cl, rc);
	return rc;
}

/*
 * After qshm_poll said the reply ring is ready. No record there means the
 * poll saw the service's pidfd: the ring's own read would say so only at
 * its next liveness check (up to 25 ms on), so look now. Every complete
 * reply has been read (the read found none), so the service is over.
 */
static int read_after_poll(struct qshm_client *cl)
{
	struct qshm_ring_info ri;
	int rc = read_one(cl, 0);

	if (rc == -EAGAIN && qshm_ring_info(cl->rep_name, &ri) == 0 &&
	    (ri.state == QSHM_RING_STALE || !ri.creator_alive))
		return conn_over(cl, -QSHM_EPRODUCERDEAD);
	return rc;
}

int qshm_client_process(qshm_client *cl)
{
	int rc, ready = 0;

	if (!cl)
		return -EINVAL;
	while ((rc = read_one(cl, 0)) == 0)
		;
	if (rc != -EAGAIN && rc != -ETIMEDOUT && rc != -EINTR && !cl->njobs)
		return rc;
	for (size_t i = 0; i < cl->njobs; i++)
		ready += cl->jobs[i].state == JOB_DONE;
	/* Jobs still pending when the service is gone are ready too: their
	 * wait() reports how the connection ended. */
	if (cl->conn_err)
		return (int)cl->njobs;
	return ready;
}

int qshm_client_ready(qshm_client *cl, uint64_t job)
{
	struct job_slot *s = cl ? job_find(cl, job) : NULL;

	if (!s)
		return -EINVAL;
	return s->state == JOB_DONE || cl->conn_err != 0;
}

int qshm_client_pollitem(qshm_client *cl, struct qshm_pollitem *item)
{
	if (!cl || !item)
		return -EINVAL;
	item->c = cl->rep;
	item->fd = -1;
	item->revents = 0;
	return 0;
}

/* C1: the control ring says which service runs under NAME. */
static int read_service(struct qshm_client *cl, uint64_t end)
{
	qshm_consumer *ctl;
	struct qshm_ring_info ri;
	char buf[256], why[256];
	int rc;

	for (;;) {
		rc = qshm_consumer_attach(cl->name, QSHM_CONSUMER_READONLY,
					  &ctl);
		if (rc != -QSHM_ECREATING)
			break;
		if (left_until(end) == 0)
			return cfail(cl, -ETIMEDOUT, "service '%s' is still "
				     "starting", cl->name);
		usleep(1000);
	}
	if (rc == -ENOENT)
		return cfail(cl, rc, "no service '%s' (no ring "
			     "/dev/shm/qshm.%s)", cl->name, cl->name);
	if (rc)
		return cfail(cl, rc, "service '%s': %s", cl->name,
			     lib_msg(rc));
	rc = qshm_consumer_ring_info(ctl, &ri);
	if (rc == 0 && ri.state == QSHM_RING_STALE)
		rc = cfail(cl, -QSHM_ESERVICEDEAD, "service '%s': its "
			   "process (pid %d) is dead", cl->name,
			   ri.creator_pid);
	else if (rc == 0 && ri.state == QSHM_RING_CLOSED)
		rc = cfail(cl, -QSHM_ESERVICEGONE, "service '%s' has "
			   "stopped", cl->name);
	if (rc == 0) {
		rc = qshm_consumer_meta(ctl, buf, sizeof(buf), NULL);
		if (rc >= 0)
			rc = svc_info_check(buf, (size_t)rc < sizeof(buf) ?
					    (size_t)rc : sizeof(buf),
					    &cl->info, why, sizeof(why));
		if (rc)
			rc = cfail(cl, rc, "ring '%s': %s", cl->name,
				   rc == -EAGAIN ? "descriptor unreadable" :
				   why);
	}
	qshm_consumer_close(ctl);
	return rc;
}

int qshm_client_connect(const char *name, int64_t timeout_ns,
			qshm_client **out)
{
	struct qshm_create_opts co = { .flags = QSHM_CREATE_REPLACE_STALE };
	struct qshm_client *cl;
	uint64_t end = end_of(timeout_ns);
	char id[SVC_ID_MAX + 1];
	int rc;

	*out = NULL;
	if (!name || qshm_name_check(name) || strlen(name) > SVC_NAME_MAX)
		return -EINVAL;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	strcpy(cl->name, name);
	cl->next_job = 1;
	rc = read_service(cl, end);
	if (rc)
		goto fail;
	/* C2 */
	snprintf(id, sizeof(id), "%d-%u", (int)getpid(),
		 atomic_fetch_add_explicit(&client_seq, 1,
					   memory_order_relaxed));
	snprintf(cl->req_name, sizeof(cl->req_name), "%s.q.%s", name, id);
	snprintf(cl->rep_name, sizeof(cl->rep_name), "%s.r.%s", name, id);
	co.capacity = 4 * (uint64_t)cl->info.max_request;
	if (co.capacity < 4096 || (co.capacity & (co.capacity - 1))) {
		rc = cfail(cl, -EPROTO, "service '%s': max_request %u is not "
			   "a power of two >= 1024", name,
			   cl->info.max_request);
		goto fail;
	}
	co.max_record = cl->info.max_request;
	co.max_consumers = 1;
	rc = qshm_producer_create(cl->req_name, &co, &cl->req);
	if (rc) {
		cfail(cl, rc, "request ring '%s': %s", cl->req_name,
		      lib_msg(rc));
		goto fail;
	}
	/* C3: pairs with the service's S3 (attach after S2's create). */
	rc = qshm_producer_wait_consumers(cl->req, 1, left_until(end) ?
					  left_until(end) : 1);
	if (rc) {
		rc = cfail(cl, -ETIMEDOUT, "service '%s' (pid %d) did not "
			   "take the connection in time", name,
			   cl->info.pid);
		goto fail;
	}
	/* C4 */
	for (;;) {
		rc = qshm_consumer_attach(cl->rep_name, QSHM_CONSUMER_RELIABLE,
					  &cl->rep);
		if (rc != -QSHM_ECREATING && rc != -ENOENT)
			break;
		if (left_until(end) == 0)
			break;
		usleep(1000);
	}
	if (rc) {
		cfail(cl, rc, "reply ring '%s': %s", cl->rep_name,
		      lib_msg(rc));
		goto fail;
	}
	if (qshm_consumer_producer_pid(cl->rep) != cl->info.pid) {
		rc = cfail(cl, -EPROTO, "reply ring '%s' made by pid %d, not "
			   "the service's pid %d", cl->rep_name,
			   qshm_consumer_producer_pid(cl->rep), cl->info.pid);
		goto fail;
	}
	*out = cl;
	return 0;
fail:
	/* cl goes: its message stays for qshm_client_error(NULL). */
	snprintf(connect_err, sizeof(connect_err), "%s", cl->err);
	qshm_client_close(cl);
	return rc;
}

int qshm_client_submit(qshm_client *cl, const char *qasm, size_t len,
		       const struct qshm_job_spec *spec, uint64_t *job)
{
	struct svc_run_req h;
	struct job_slot *s;
	void *buf;
	int rc;

	if (!cl)
		return -EINVAL;
	if (!qasm || !len || !spec || !job || spec->flags ||
	    spec->reserved || spec->shots == 0 || spec->shots > SVC_MAX_SHOTS)
		return cfail(cl, -EINVAL, "submit: bad arguments (shots "
			     "1..2^40, text non-empty, flags 0)");
	if (len > cl->info.max_request - sizeof(h))
		return cfail(cl, -QSHM_ETOOBIG, "submit: %zu bytes of circuit, "
			     "service '%s' takes at most %zu", len, cl->name,
			     cl->info.max_request - sizeof(h));
	qshm_client_process(cl);
	if (cl->conn_err)
		return cl->conn_err;
	if (cl->njobs == cl->cap_jobs) {
		size_t cap = cl->cap_jobs ? 2 * cl->cap_jobs : 16;
		struct job_slot *j = realloc(cl->jobs, cap * sizeof(*j));
		if (!j)
			return -ENOMEM;
		cl->jobs = j;
		cl->cap_jobs = cap;
	}
	memset(&h, 0, sizeof(h));
	h.major = SVC_WIRE_MAJOR;
	h.minor = SVC_WIRE_MINOR;
	h.want = SVC_WANT_COUNTS;
	h.job = cl->next_job;
	h.shots = spec->shots;
	h.seed = spec->seed;
	h.deadline_ns = end_of(spec->deadline_ns);
	h.qasm_len = (uint32_t)len;
	/* A full request ring means the service is behind: wait for it up
	 * to the deadline (a dead service is evicted by nobody, but holds
	 * no space either: its consumer slot dies with it). */
	rc = qshm_producer_claim(cl->req, sizeof(h) + len, SVC_REC_RUN,
				 h.deadline_ns ? left_until(h.deadline_ns) :
				 QSHM_FOREVER, &buf);
	if (rc)
		return cfail(cl, rc, "submit to '%s': %s", cl->name,
			     lib_msg(rc));
	memcpy(buf, &h, sizeof(h));
	memcpy((char *)buf + sizeof(h), qasm, len);
	qshm_producer_commit(cl->req);
	s = &cl->jobs[cl->njobs++];
	memset(s, 0, sizeof(*s));
	s->job = cl->next_job++;
	s->deadline = h.deadline_ns;
	s->state = JOB_PENDING;
	*job = s->job;
	return 0;
}

int qshm_client_wait(qshm_client *cl, uint64_t job, int64_t timeout_ns,
		     struct qshm_job_result **out)
{
	struct job_slot *s;
	uint64_t end;
	int rc;

	if (!cl || !out)
		return -EINVAL;
	*out = NULL;
	s = job_find(cl, job);
	if (!s)
		return cfail(cl, -EINVAL, "no job %llu on this client",
			     (unsigned long long)job);
	end = end_of(timeout_ns);
	for (;;) {
		uint64_t stop = end;
		int64_t left;

		if (s->state == JOB_DONE) {
			rc = s->status;
			if (rc == 0) {
				*out = s->res;
				s->res = NULL;
			} else {
				cfail(cl, rc, "job %llu: %s%s%s",
				      (unsigned long long)job,
				      qshm_client_strerror(rc),
				      s->msg && *s->msg ? ": " : "",
				      s->msg ? s->msg : "");
			}
			job_forget(cl, s);
			return rc;
		}
		if (cl->conn_err) {
			job_forget(cl, s);
			return cl->conn_err;
		}
		if (s->deadline && (stop == 0 || s->deadline < stop))
			stop = s->deadline;
		left = left_until(stop);
		if (left == 0) {
			if (stop != s->deadline) {
				/* wait's own timeout: the job stays. */
				qshm_client_process(cl);
				if (s->state == JOB_DONE || cl->conn_err)
					continue;
				return cfail(cl, -ETIMEDOUT, "job %llu: not "
					     "done yet", (unsigned long long)job);
			}
			/* The deadline: the service drops the job too. */
			qshm_client_process(cl);
			if (s->state == JOB_DONE || cl->conn_err)
				continue;
			job_forget(cl, s);
			return cfail(cl, -ETIMEDOUT, "job %llu: its deadline "
				     "passed", (unsigned long long)job);
		}
		/* A reply that comes soon is read on the ring's own wait
		 * (spin, then futex); a longer wait goes through qshm_poll,
		 * whose pidfd ends it the moment the service dies (the
		 * ring's wait notices only at its next liveness check). */
		if (left < 0 || left > CLIENT_SHORT_WAIT_NS) {
			rc = read_one(cl, CLIENT_SHORT_WAIT_NS);
			if (rc == -ETIMEDOUT && !cl->conn_err) {
				struct qshm_pollitem it = { .c = cl->rep,
							    .fd = -1 };
				rc = qshm_poll(&it, 1, left);
				if (rc < 0 && rc != -EINTR)
					/* no io_uring futex waits here */
					rc = read_one(cl, left);
				else if (rc >= 0)
					rc = read_after_poll(cl);
			}
		} else {
			rc = read_one(cl, left);
		}
		if (rc == -EINTR)
			return cfail(cl, rc, "job %llu: interrupted",
				     (unsigned long long)job);
		/* -ETIMEDOUT/-EAGAIN: the loop checks the clocks again;
		 * a connection's end is in conn_err. */
		s = job_find(cl, job);
	}
}

void qshm_job_result_free(struct qshm_job_result *r)
{
	free(r);
}

int qshm_client_cancel(qshm_client *cl, uint64_t job)
{
	struct svc_cancel_req h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR, .job = job,
	};
	struct job_slot *s = cl ? job_find(cl, job) : NULL;
	int rc;

	if (!s)
		return -EINVAL;
	if (s->state == JOB_DONE)
		return 0;
	if (cl->conn_err)
		return cl->conn_err;
	rc = qshm_producer_publish(cl->req, SVC_REC_CANCEL, &h, sizeof(h),
				   1000000000);
	if (rc)
		return cfail(cl, rc, "cancel on '%s': %s", cl->name,
			     lib_msg(rc));
	return 0;
}

static int rep_stale(void *ctx, const struct qshm_ring_info *info)
{
	(void)ctx;
	return info->state == QSHM_RING_STALE;
}

int qshm_client_close(qshm_client *cl)
{
	if (!cl)
		return 0;
	if (cl->req)
		qshm_producer_close(cl->req, QSHM_CLOSE_UNLINK);
	if (cl->rep)
		qshm_consumer_close(cl->rep);
	/* A dead service cannot remove the reply ring it made for us. */
	if (cl->conn_err == -QSHM_ESERVICEDEAD)
		qshm_ring_remove_if(cl->rep_name, rep_stale, NULL, NULL);
	while (cl->njobs)
		job_forget(cl, &cl->jobs[0]);
	free(cl->jobs);
	free(cl);
	return 0;
}
