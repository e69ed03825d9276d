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
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qshm/client.h"
#include "qshm/results.h"
#include "svc_wire.h"

enum job_state { JOB_PENDING, JOB_ASSEMBLING, JOB_DONE };

/* How long wait() reads on the ring's own wait before it polls. */
#define CLIENT_SHORT_WAIT_NS 2000000

struct job_slot {
	uint64_t job;
	uint64_t deadline;      /* CLOCK_MONOTONIC ns; 0: none */
	void *req;              /* the RUN record, kept for a retry */
	size_t req_len;
	uint32_t attempts;      /* times sent */
	bool no_retry;          /* QSHM_WANT_NO_RETRY */
	uint64_t resend_at;     /* JOB_PENDING: send again then; 0: sent */
	int state;              /* enum job_state */
	int status;             /* JOB_DONE: 0 or the job's error */
	char *msg;              /* JOB_DONE with an error: the service's */
	bool copy;              /* QSHM_WANT_COPY */
	bool in_ring;           /* some array points into the reply ring */
	bool handed;            /* its view was given to the caller */
	uint32_t left;          /* records still to come (assembling) */
	uint32_t got;           /* QSHM_WANT_* bits received */
	uint64_t shots_filled, probs_filled, state_filled;
	struct qshm_job_view v;
	/* memory of the view */
	qshm_run *run;
	struct qshm_count_entry *list;   /* libqshmresults' list */
	struct qshm_job_entry *entries;
	uint64_t *shots_mem;
	double *probs_mem, *state_mem, *expect_mem;
	uint64_t *masks_mem;
};

/* A registered circuit. */
struct circ {
	uint64_t id;
	int state;              /* JOB_PENDING until REGISTERED, JOB_DONE */
	int status;
	char *msg;
	char *names;            /* nparams NUL-terminated names */
	const char **name_v;
	struct qshm_circuit_info info;
	char *text;             /* to register it again after a reconnect */
	size_t len;
};

struct qshm_client {
	char name[SVC_NAME_MAX + 1];
	char req_name[QSHM_NAME_MAX + 1], rep_name[QSHM_NAME_MAX + 1];
	struct svc_info info;
	qshm_producer *req;
	qshm_consumer *rep;
	uint64_t rep_capacity;
	uint64_t next_job, next_circuit;
	int conn_err;           /* sticky: the connection is over */
	struct job_slot **jobs;
	size_t njobs, cap_jobs;
	struct job_slot *asm_slot;   /* the job whose records come now */
	bool asm_skip;               /* ... of a job forgotten: skipped */
	uint32_t skip_left;
	struct job_slot *held;       /* its records are held in the ring */
	struct circ *circs;
	size_t ncircs, cap_circs;
	qshm_waiter *waiter;
	bool armed;
	int epfd;               /* qshm_client_fd(): an epoll set holding
				   the waiter's descriptor; -1: none */
	int kickfd;             /* an eventfd in that set: written when a
				   call other than process() leaves a job
				   ready, or the waiter cannot be armed,
				   so the caller's loop still wakes; -1 */
	int svc_pidfd;          /* pidfd of the service of this connection
				   (readable once it exits); -1: none */
	struct qshm_client_opts opts;
	struct qshm_client_stats st;
	uint64_t rng;           /* jitter */
	uint32_t fails;         /* transient failures in a row */
	bool half_open;         /* the breaker lets one job try */
	uint64_t open_until;    /* breaker open until (mono ns); 0: closed */
	char err[SVC_MSG_MAX + 256];
};

static void job_settled(struct qshm_client *cl, struct job_slot *s);
static int pump(struct qshm_client *cl);

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
	case QSHM_EBREAKER:
		return "QSHM_EBREAKER: the client's circuit breaker is open";
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
		if (cl->jobs[i]->job == job)
			return cl->jobs[i];
	return NULL;
}

static void slot_free_arrays(struct job_slot *s)
{
	qshm_run_free(s->run);
	qshm_counts_list_free(s->list);
	free(s->entries);
	free(s->shots_mem);
	free(s->probs_mem);
	free(s->state_mem);
	free(s->expect_mem);
	free(s->masks_mem);
	s->run = NULL;
	s->list = NULL;
	s->entries = NULL;
	s->shots_mem = s->masks_mem = NULL;
	s->probs_mem = s->state_mem = s->expect_mem = NULL;
}

/* Lets go of the records a job holds in the ring, if it does. */
static void unhold(struct qshm_client *cl, struct job_slot *s)
{
	if (cl->held == s) {
		if (cl->rep)
			qshm_consumer_release(cl->rep);
		cl->held = NULL;
	}
	if (cl->asm_slot == s) {
		/* Forgotten while its records come: skip the rest. */
		cl->asm_slot = NULL;
		cl->asm_skip = true;
		cl->skip_left = s->left;
		if (cl->rep)
			qshm_consumer_release(cl->rep);
	}
}

static void job_forget(struct qshm_client *cl, struct job_slot *s)
{
	unhold(cl, s);
	free(s->msg);
	free(s->req);
	slot_free_arrays(s);
	for (size_t i = 0; i < cl->njobs; i++)
		if (cl->jobs[i] == s) {
			cl->jobs[i] = cl->jobs[--cl->njobs];
			break;
		}
	free(s);
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

static struct circ *circ_find(struct qshm_client *cl, uint64_t id)
{
	for (size_t i = 0; i < cl->ncircs; i++)
		if (cl->circs[i].id == id)
			return &cl->circs[i];
	return NULL;
}

static void circ_drop(struct qshm_client *cl, struct circ *c)
{
	free(c->msg);
	free(c->names);
	free(c->name_v);
	free(c->text);
	*c = cl->circs[--cl->ncircs];
}

/* A REGISTERED reply. */
static int take_registered(struct qshm_client *cl, const struct qshm_record *r)
{
	struct svc_registered_view v;
	struct circ *c;
	char why[256];
	int rc;

	rc = svc_registered_decode(r->data, r->len, &v, why, sizeof(why));
	if (rc)
		return cfail(cl, -EPROTO, "service '%s': %s", cl->name, why);
	c = circ_find(cl, v.h.circuit);
	if (!c || c->state == JOB_DONE)
		return 0;
	c->state = JOB_DONE;
	c->status = v.h.status;
	free(c->msg);
	free(c->names);
	free(c->name_v);
	c->msg = c->names = NULL;
	c->name_v = NULL;
	if (v.h.status) {
		c->msg = strndup(v.msg, v.h.msg_len);
		return 0;
	}
	c->names = malloc(v.h.names_len ? v.h.names_len : 1);
	c->name_v = calloc(v.h.nparams ? v.h.nparams : 1, sizeof(char *));
	if (!c->names || !c->name_v) {
		c->status = -ENOMEM;
		return 0;
	}
	memcpy(c->names, v.names, v.h.names_len);
	for (uint32_t i = 0, off = 0; i < v.h.nparams; i++) {
		c->name_v[i] = c->names + off;
		off += (uint32_t)strlen(c->names + off) + 1;
	}
	c->info.nqubits = v.h.nqubits;
	c->info.nclbits = v.h.nclbits;
	c->info.nparams = v.h.nparams;
	c->info.param_names = c->name_v;
	return 0;
}

/* Copies what a slot reads in place into its own memory (before the
 * records it points into are released). */
static int spill(struct job_slot *s)
{
	struct qshm_job_view *v = &s->v;

	if (!s->in_ring)
		return 0;
	if (v->in_place & QSHM_WANT_SHOTS) {
		size_t n = v->shots * v->words_per_shot * 8;
		if (!(s->shots_mem = malloc(n ? n : 1)))
			return -ENOMEM;
		memcpy(s->shots_mem, v->shot_words, n);
		v->shot_words = s->shots_mem;
	}
	if (v->in_place & QSHM_WANT_PROBS) {
		if (!(s->probs_mem = malloc(v->nprobs * 8)))
			return -ENOMEM;
		memcpy(s->probs_mem, v->probs, v->nprobs * 8);
		v->probs = s->probs_mem;
	}
	if (v->in_place & QSHM_WANT_STATE) {
		if (!(s->state_mem = malloc(v->namps * 16)))
			return -ENOMEM;
		memcpy(s->state_mem, v->state, v->namps * 16);
		v->state = s->state_mem;
	}
	v->in_place = 0;
	s->in_ring = false;
	return 0;
}

/* The counts record, listed as `qshm sim --counts` lists them. */
static int take_counts(struct qshm_client *cl, struct job_slot *s,
		       const struct qshm_record *r)
{
	struct svc_counts_hdr h;
	const uint64_t *words, *counts;
	qshm_counts *k = NULL;
	size_t n;
	char why[256];
	int rc;

	rc = svc_counts_decode(r->data, r->len, &h, &words, &counts, why,
			       sizeof(why));
	if (rc == 0 && h.words_per_shot != s->v.words_per_shot)
		rc = -EPROTO;
	if (rc)
		return cfail(cl, -EPROTO, "service '%s': job %llu: %s",
			     cl->name, (unsigned long long)s->job,
			     rc == -EPROTO ? why : "counts of another width");
	rc = qshm_counts_new(h.words_per_shot, &k);
	for (uint64_t i = 0; rc == 0 && i < h.n; i++)
		rc = qshm_counts_add_n(k, words + i * h.words_per_shot,
				       counts[i]);
	if (rc == 0)
		rc = qshm_counts_list(k, s->run, QSHM_COUNTS_BY_OUTCOME, 0,
				      &s->list, &n);
	qshm_counts_free(k);
	if (rc == 0 && !(s->entries = malloc((n ? n : 1) *
					     sizeof(*s->entries))))
		rc = -ENOMEM;
	if (rc)
		return cfail(cl, rc == -ENOMEM ? -ENOMEM : -EPROTO, "service "
			     "'%s': job %llu: counts: %s", cl->name,
			     (unsigned long long)s->job,
			     qshm_results_last_error());
	for (size_t i = 0; i < n; i++) {
		s->entries[i].outcome = s->list[i].outcome;
		s->entries[i].count = s->list[i].count;
	}
	s->v.counts = s->entries;
	s->v.ncounts = n;
	return 0;
}

/* A PROBS or STATE chunk, in order, in place when it is the whole
 * vector. */
static int take_vector(struct qshm_client *cl, struct job_slot *s,
		       const struct qshm_record *r, bool in_place)
{
	struct qshm_vector_view vv;
	bool probs = r->type == QSHM_REC_PROBS;
	uint64_t *filled = probs ? &s->probs_filled : &s->state_filled;
	double **mem = probs ? &s->probs_mem : &s->state_mem;
	size_t elem = probs ? 8 : 16;
	uint64_t total = (uint64_t)1 << s->v.nqubits;

	if (qshm_vector_decode(r->type, r->data, r->len, &vv) ||
	    vv.total != total || vv.first != *filled)
		return cfail(cl, -EPROTO, "service '%s': job %llu: a %s record "
			     "out of place: %s", cl->name,
			     (unsigned long long)s->job, probs ? "PROBS" :
			     "STATE", qshm_results_last_error());
	if (in_place && vv.first == 0 && vv.count == total) {
		s->in_ring = true;
		s->v.in_place |= probs ? QSHM_WANT_PROBS : QSHM_WANT_STATE;
		if (probs)
			s->v.probs = vv.values;
		else
			s->v.state = vv.values;
	} else {
		/* total is 2^nqubits of the service's word (up to 2^63):
		 * total * elem must not wrap. */
		if (!*mem && (total > SIZE_MAX / elem ||
			      !(*mem = malloc(total * elem))))
			return cfail(cl, -ENOMEM, "out of memory for job %llu",
				     (unsigned long long)s->job);
		memcpy((char *)*mem + vv.first * elem, vv.values,
		       vv.count * elem);
		if (probs)
			s->v.probs = *mem;
		else
			s->v.state = *mem;
	}
	*filled += vv.count;
	if (probs)
		s->v.nprobs = total;
	else
		s->v.namps = total;
	if (*filled == total)
		s->got |= probs ? QSHM_WANT_PROBS : QSHM_WANT_STATE;
	return 0;
}

static int take_shots(struct qshm_client *cl, struct job_slot *s,
		      const struct qshm_record *r, bool in_place)
{
	struct qshm_shots_view sv;
	size_t wps = s->v.words_per_shot;

	if (qshm_shots_decode(r->data, r->len, s->run, &sv) ||
	    sv.first_shot != s->shots_filled)
		return cfail(cl, -EPROTO, "service '%s': job %llu: a SHOTS "
			     "record out of place: %s", cl->name,
			     (unsigned long long)s->job,
			     qshm_results_last_error());
	/* RUN_BEGIN bounds the shots, but the job header sized them. */
	if (sv.count > s->v.shots - s->shots_filled)
		return cfail(cl, -EPROTO, "service '%s': job %llu: SHOTS "
			     "past the job's %llu shots", cl->name,
			     (unsigned long long)s->job,
			     (unsigned long long)s->v.shots);
	if (in_place && sv.first_shot == 0 && sv.count == s->v.shots) {
		s->in_ring = true;
		s->v.in_place |= QSHM_WANT_SHOTS;
		s->v.shot_words = sv.words;
	} else {
		if (!s->shots_mem && (s->v.shots >= SIZE_MAX / 8 / wps ||
			!(s->shots_mem = malloc(s->v.shots * wps * 8 + 8))))
			return cfail(cl, -ENOMEM, "out of memory for job %llu",
				     (unsigned long long)s->job);
		memcpy(s->shots_mem + sv.first_shot * wps, sv.words,
		       (size_t)sv.count * wps * 8);
		s->v.shot_words = s->shots_mem;
	}
	s->shots_filled += sv.count;
	if (s->shots_filled == s->v.shots)
		s->got |= QSHM_WANT_SHOTS;
	return 0;
}

/* One record of the job being assembled. */
static int take_part(struct qshm_client *cl, struct job_slot *s,
		     const struct qshm_record *r, bool in_place)
{
	int rc = 0;

	if (r->item_len)
		return cfail(cl, -EPROTO, "service '%s': a batch record",
			     cl->name);
	switch (r->type) {
	case QSHM_REC_RUN_BEGIN:
		if (s->run || qshm_run_decode(r->data, r->len, &s->run))
			return cfail(cl, -EPROTO, "service '%s': job %llu: "
				     "RUN_BEGIN: %s", cl->name,
				     (unsigned long long)s->job,
				     qshm_results_last_error());
		s->v.run = s->run;
		s->v.words_per_shot = qshm_run_words_per_shot(s->run);
		return 0;
	case SVC_REC_COUNTS:
		if (!s->run || s->v.counts)
			break;
		rc = take_counts(cl, s, r);
		if (rc == 0)
			s->got |= QSHM_WANT_COUNTS;
		return rc;
	case QSHM_REC_SHOTS:
		if (!s->run)
			break;
		return take_shots(cl, s, r, in_place);
	case QSHM_REC_PROBS:
	case QSHM_REC_STATE:
		return take_vector(cl, s, r, in_place);
	case SVC_REC_EXPECT: {
		uint32_t n;
		const uint64_t *m;
		const double *x;
		char why[256];

		if (s->v.expect ||
		    svc_expect_decode(r->data, r->len, &n, &m, &x, why,
				      sizeof(why)))
			break;
		s->masks_mem = malloc(8ull * n + 8);
		s->expect_mem = malloc(8ull * n + 8);
		if (!s->masks_mem || !s->expect_mem)
			return cfail(cl, -ENOMEM, "out of memory");
		memcpy(s->masks_mem, m, 8ull * n);
		memcpy(s->expect_mem, x, 8ull * n);
		s->v.nexpect = n;
		s->v.expect_masks = s->masks_mem;
		s->v.expect = s->expect_mem;
		s->got |= QSHM_WANT_EXPECT;
		return 0;
	}
	case QSHM_REC_RUN_END:
		return 0;
	}
	return cfail(cl, -EPROTO, "service '%s': job %llu: record of type "
		     "0x%x out of place", cl->name, (unsigned long long)s->job,
		     r->type);
}

/* The job's records are all there (or it failed on the way). */
static void job_complete(struct qshm_client *cl, struct job_slot *s, int rc)
{
	cl->asm_slot = NULL;
	s->state = JOB_DONE;
	if (rc == 0 && (s->got & s->v.want) != s->v.want)
		rc = cfail(cl, -EPROTO, "service '%s': job %llu: reply lacks "
			   "records (want 0x%x, got 0x%x)", cl->name,
			   (unsigned long long)s->job, s->v.want, s->got);
	if (rc) {
		s->status = rc;
		s->msg = strdup(cl->err);
		slot_free_arrays(s);
		s->in_ring = false;
		memset(&s->v, 0, sizeof(s->v));
	}
	if (s->in_ring)
		cl->held = s;           /* released with the view */
	else
		qshm_consumer_release(cl->rep);
	job_settled(cl, s);
}

/* A JOB header: the job's slot starts taking its records. */
static int take_job_hdr(struct qshm_client *cl, const struct qshm_record *r)
{
	struct svc_job_hdr h;
	struct job_slot *s;
	const char *msg;
	char why[256];
	int rc;

	rc = svc_job_hdr_decode(r->data, r->len, &h, &msg, why, sizeof(why));
	if (rc)
		return cfail(cl, -EPROTO, "service '%s': %s", cl->name, why);
	s = job_find(cl, h.job);
	if (!s || s->state != JOB_PENDING) {
		/* A job forgotten (deadline passed), or a refusal of a
		 * record that had no job id: keep the message, skip its
		 * records. */
		if (h.status)
			cfail(cl, h.status, "service '%s': job %llu: %.*s",
			      cl->name, (unsigned long long)h.job,
			      (int)h.msg_len, msg);
		cl->asm_skip = h.nrecords > 0;
		cl->skip_left = h.nrecords;
		qshm_consumer_release(cl->rep);
		return 0;
	}
	if (h.status || h.nrecords == 0) {
		s->state = JOB_DONE;
		s->status = h.status ? h.status : -EPROTO;
		s->msg = strndup(msg, h.msg_len);
		qshm_consumer_release(cl->rep);
		job_settled(cl, s);
		return 0;
	}
	memset(&s->v, 0, sizeof(s->v));
	s->v.job = h.job;
	s->v.shots = h.shots;
	s->v.sim_ns = h.sim_ns;
	s->v.want = h.want;
	s->v.nqubits = h.nqubits;
	s->left = h.nrecords;
	s->state = JOB_ASSEMBLING;
	cl->asm_slot = s;
	/* In place: when the caller may get the records where they are
	 * (nothing else held, all of them fit the ring together) and an
	 * array comes at all. Else copy, releasing as we go. */
	s->in_ring = false;
	if (!s->copy && !cl->held && h.bytes <= cl->rep_capacity / 2 &&
	    (h.want & (QSHM_WANT_SHOTS | QSHM_WANT_PROBS | QSHM_WANT_STATE)))
		s->handed = false;
	else
		s->copy = true;
	if (s->copy)
		qshm_consumer_release(cl->rep);
	return 0;
}

/* Reads one reply (waiting up to timeout_ns); 0, -EAGAIN, -ETIMEDOUT,
 * -EBUSY (a view held in place blocks the ring) or the connection's
 * end. */
static int read_one(struct qshm_client *cl, int64_t timeout_ns)
{
	struct qshm_record r;
	int rc;

	if (cl->conn_err)
		return cl->conn_err;
	if (cl->held) {
		if (cl->held->handed)
			return cfail(cl, -EBUSY, "job %llu's view is held in "
				     "place: release it first",
				     (unsigned long long)cl->held->job);
		/* Not given out yet: copy it, and read on. */
		if (spill(cl->held))
			return cfail(cl, -ENOMEM, "out of memory");
		qshm_consumer_release(cl->rep);
		cl->held = NULL;
	}
	rc = qshm_consumer_read(cl->rep, &r, timeout_ns);
	if (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EINTR)
		return rc;
	if (rc)
		return conn_over(cl, rc);
	if (r.type == SVC_REC_JOB || r.type == SVC_REC_REGISTERED) {
		/* A job cut short (the service gave up writing it). */
		if (cl->asm_slot) {
			struct job_slot *s = cl->asm_slot;
			spill(s);
			job_complete(cl, s, cfail(cl, -EIO, "job %llu: its "
					    "reply was cut short",
					    (unsigned long long)s->job));
		}
		cl->asm_skip = false;
		rc = r.type == SVC_REC_JOB ? take_job_hdr(cl, &r)
					    : take_registered(cl, &r);
		if (r.type == SVC_REC_REGISTERED)
			qshm_consumer_release(cl->rep);
	} else if (cl->asm_slot) {
		struct job_slot *s = cl->asm_slot;
		rc = take_part(cl, s, &r, !s->copy);
		if (s->copy)
			qshm_consumer_release(cl->rep);
		if (rc || --s->left == 0)
			job_complete(cl, s, rc);
		rc = 0;         /* a bad job fails, the connection goes on */
	} else if (cl->asm_skip) {
		qshm_consumer_release(cl->rep);
		if (--cl->skip_left == 0)
			cl->asm_skip = false;
	} else {
		qshm_consumer_release(cl->rep);
		rc = cfail(cl, -EPROTO, "service '%s': reply of type 0x%x "
			   "out of place", cl->name, r.type);
	}
	if (rc)
		conn_over(cl, rc);
	return rc;
}

/*
 * Whether the service of this connection is gone: its pidfd, opened when
 * the connection was made, is readable once it has exited (a poll with no
 * wait: microseconds, where opening the reply ring by name to ask took
 * hundreds, and process() asks after every empty read). Without a pidfd
 * (an old kernel), the reply ring's state says.
 */
static bool service_gone(struct qshm_client *cl)
{
	if (cl->svc_pidfd >= 0) {
		struct pollfd pf = { .fd = cl->svc_pidfd, .events = POLLIN };
		return poll(&pf, 1, 0) == 1;
	}
	struct qshm_ring_info ri;
	return qshm_ring_info(cl->rep_name, &ri) == 0 &&
	       (ri.state == QSHM_RING_STALE || !ri.creator_alive);
}

/*
 * After qshm_poll said the reply ring is ready. No record there means the
 * poll saw the service's pidfd: the ring's own read would say so only at
 * its next liveness check (up to 25 ms on), so look now. Every complete
 * reply has been read (the read found none), so the service is over.
 */
static int read_after_poll(struct qshm_client *cl)
{
	int rc = read_one(cl, 0);

	if (rc == -EAGAIN && service_gone(cl))
		return conn_over(cl, -QSHM_EPRODUCERDEAD);
	return rc;
}

/* Makes the event-loop descriptor readable until the next process(). */
static void kick(struct qshm_client *cl)
{
	if (cl->kickfd >= 0)
		(void)eventfd_write(cl->kickfd, 1);
}

/* After a call other than process() that may have read replies (or run
 * process() inside): whatever is ready besides @except, the job the call
 * hands out, makes the descriptor readable, so that a loop that polls
 * before it looks at its jobs misses none (a process() inside the call
 * emptied the eventfd). */
static void kick_if_ready(struct qshm_client *cl, const struct job_slot *except)
{
	if (cl->kickfd < 0)
		return;
	for (size_t i = 0; i < cl->njobs; i++)
		if (cl->jobs[i] != except && !cl->jobs[i]->handed &&
		    (cl->jobs[i]->state == JOB_DONE || cl->conn_err)) {
			kick(cl);
			return;
		}
}

int qshm_client_alive(qshm_client *cl)
{
	int rc;

	if (!cl)
		return -EINVAL;
	if (cl->conn_err)
		return 0;
	if (!service_gone(cl))
		return 1;
	/* Gone: what it committed before stands, so read that first (as
	 * read_after_poll()); then the connection ends as wait() would end
	 * it. Replies read here, outside process(), wake the caller's loop. */
	while ((rc = read_one(cl, 0)) == 0)
		;
	if (rc == -EAGAIN)
		conn_over(cl, -QSHM_EPRODUCERDEAD);
	kick_if_ready(cl, NULL);
	return 0;
}

/*
 * Arms the event-loop descriptor, if there is one, unless a view held in
 * place stops reading (then view_release() arms it). Replies already in
 * the ring are read first (their jobs become ready: the public call that
 * arms says so through kick_if_ready()). When it cannot arm, no wake-up
 * will come, so the descriptor is made readable: the caller's next
 * process() finds out why.
 */
static void arm(struct qshm_client *cl)
{
	if (!cl->waiter || cl->armed || cl->conn_err ||
	    (cl->held && cl->held->handed))
		return;
	for (int tries = 0; tries < 1000; tries++) {
		int rc = qshm_waiter_arm(cl->waiter);
		if (rc == 1) {
			cl->armed = true;
			return;
		}
		if (rc < 0)
			break;
		/* Something is there already: read it, arm again. */
		rc = read_one(cl, 0);
		if (rc && rc != -EAGAIN) {
			if (qshm_waiter_arm(cl->waiter) == 1) {
				cl->armed = true;
				return;
			}
			break;
		}
	}
	kick(cl);
}


int qshm_client_process(qshm_client *cl)
{
	int rc, ready = 0;

	if (!cl)
		return -EINVAL;
	if (cl->waiter && cl->armed) {
		qshm_waiter_disarm(cl->waiter);
		cl->armed = false;
	}
	if (cl->kickfd >= 0) {
		eventfd_t n;
		(void)eventfd_read(cl->kickfd, &n); /* non-blocking */
	}
	while ((rc = read_one(cl, 0)) == 0)
		;
	if (rc == -EAGAIN && cl->waiter) {
		/* The descriptor may have woken for the service's death. */
		if (service_gone(cl) && read_one(cl, 0) == -EAGAIN)
			conn_over(cl, -QSHM_EPRODUCERDEAD);
	}
	/* Due retries; a reconnection when the policy says so (this may
	 * wait up to connect_timeout_ns). */
	if ((!cl->conn_err || cl->opts.reconnect) && pump(cl) == 0 &&
	    rc != -EAGAIN)
		rc = -EAGAIN;
	arm(cl);
	if (rc != -EAGAIN && rc != -ETIMEDOUT && rc != -EINTR &&
	    rc != -EBUSY && !cl->njobs)
		return rc;
	for (size_t i = 0; i < cl->njobs; i++)
		ready += cl->jobs[i]->state == JOB_DONE;
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

int qshm_client_fd(qshm_client *cl)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (!cl)
		return -EINVAL;
	if (cl->epfd >= 0)
		return cl->epfd;
	if (cl->conn_err)
		return cl->conn_err;
	rc = qshm_waiter_create(cl->rep, &cl->waiter);
	if (rc)
		return cfail(cl, rc, "no pollable descriptor: %s",
			     lib_msg(rc));
	rc = qshm_waiter_arm(cl->waiter);
	if (rc == -ENOSYS) {
		qshm_waiter_close(cl->waiter);
		cl->waiter = NULL;
		return cfail(cl, rc, "no pollable descriptor: this kernel has "
			     "no io_uring futex waits");
	}
	/* An epoll set around the waiter's descriptor: the caller's
	 * descriptor stays the same when a reconnection makes a new
	 * waiter. */
	cl->epfd = epoll_create1(EPOLL_CLOEXEC);
	cl->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cl->epfd < 0 || cl->kickfd < 0 ||
	    epoll_ctl(cl->epfd, EPOLL_CTL_ADD, qshm_waiter_fd(cl->waiter),
		      &ev) < 0 ||
	    epoll_ctl(cl->epfd, EPOLL_CTL_ADD, cl->kickfd, &ev) < 0) {
		rc = -errno;
		if (cl->epfd >= 0)
			close(cl->epfd);
		if (cl->kickfd >= 0)
			close(cl->kickfd);
		cl->epfd = -1;
		cl->kickfd = -1;
		qshm_waiter_close(cl->waiter);
		cl->waiter = NULL;
		return cfail(cl, rc, "no pollable descriptor: epoll: %s",
			     strerror(-rc));
	}
	if (rc == 1)
		cl->armed = true;
	else
		arm(cl);
	/* Replies a wait() read before the descriptor existed. */
	kick_if_ready(cl, NULL);
	return cl->epfd;
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

/* C1..C4 for cl (its name set), until end. */
static int client_open(struct qshm_client *cl, uint64_t end)
{
	struct qshm_create_opts co = { .flags = QSHM_CREATE_REPLACE_STALE };
	const char *name = cl->name;
	char id[SVC_ID_MAX + 1];
	struct qshm_ring_info ri;
	int rc;

	rc = read_service(cl, end);
	if (rc)
		return rc;
	/* C2 */
	snprintf(id, sizeof(id), "%d-%u", (int)getpid(),
		 atomic_fetch_add_explicit(&client_seq, 1,
					   memory_order_relaxed));
	snprintf(cl->req_name, sizeof(cl->req_name), "%s.q.%s", name, id);
	snprintf(cl->rep_name, sizeof(cl->rep_name), "%s.r.%s", name, id);
	co.capacity = 4 * (uint64_t)cl->info.max_request;
	if (co.capacity < 4096 || (co.capacity & (co.capacity - 1)))
		return cfail(cl, -EPROTO, "service '%s': max_request %u is not "
			     "a power of two >= 1024", name,
			     cl->info.max_request);
	co.max_record = cl->info.max_request;
	co.max_consumers = 1;
	rc = qshm_producer_create(cl->req_name, &co, &cl->req);
	if (rc)
		return cfail(cl, rc, "request ring '%s': %s", cl->req_name,
			     lib_msg(rc));
	/* C3: pairs with the service's S3 (attach after S2's create). */
	rc = qshm_producer_wait_consumers(cl->req, 1, left_until(end) ?
					  left_until(end) : 1);
	if (rc)
		return cfail(cl, -ETIMEDOUT, "service '%s' (pid %d) did not "
			     "take the connection in time", name,
			     cl->info.pid);
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
	if (rc)
		return cfail(cl, rc, "reply ring '%s': %s", cl->rep_name,
			     lib_msg(rc));
	if (qshm_consumer_producer_pid(cl->rep) != cl->info.pid)
		return cfail(cl, -EPROTO, "reply ring '%s' made by pid %d, not "
			     "the service's pid %d", cl->rep_name,
			     qshm_consumer_producer_pid(cl->rep),
			     cl->info.pid);
	rc = qshm_consumer_ring_info(cl->rep, &ri);
	if (rc)
		return cfail(cl, rc, "reply ring '%s': %s", cl->rep_name,
			     lib_msg(rc));
	cl->rep_capacity = ri.capacity;
	/* The reply ring's maker is the service (checked above), so this
	 * pid is alive now: a pidfd of it cannot name a later process. */
	if (cl->svc_pidfd >= 0)
		close(cl->svc_pidfd);
	cl->svc_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)cl->info.pid, 0);
	return 0;
}

static int rep_stale(void *ctx, const struct qshm_ring_info *info)
{
	(void)ctx;
	return info->state == QSHM_RING_STALE;
}

/* Closes the rings of the connection (and its waiter). */
static void client_shut(struct qshm_client *cl)
{
	if (cl->waiter) {
		if (cl->epfd >= 0)
			epoll_ctl(cl->epfd, EPOLL_CTL_DEL,
				  qshm_waiter_fd(cl->waiter), NULL);
		qshm_waiter_close(cl->waiter);
		cl->waiter = NULL;
		cl->armed = false;
	}
	if (cl->req)
		qshm_producer_close(cl->req, QSHM_CLOSE_UNLINK);
	if (cl->rep)
		qshm_consumer_close(cl->rep);
	cl->req = NULL;
	cl->rep = NULL;
	if (cl->svc_pidfd >= 0)
		close(cl->svc_pidfd);
	cl->svc_pidfd = -1;
	/* A dead service cannot remove the reply ring it made for us. */
	if (cl->conn_err == -QSHM_ESERVICEDEAD && cl->rep_name[0])
		qshm_ring_remove_if(cl->rep_name, rep_stale, NULL, NULL);
}

int qshm_client_connect_opts(const char *name,
			     const struct qshm_client_opts *o,
			     qshm_client **out)
{
	struct qshm_client *cl;
	int rc;

	*out = NULL;
	if (!name || qshm_name_check(name) || strlen(name) > SVC_NAME_MAX)
		return -EINVAL;
	if (o && (o->reserved || o->reconnect > 1 || o->backoff_ns < 0 ||
		  o->backoff_max_ns < 0 || o->breaker_open_ns < 0 ||
		  o->connect_timeout_ns < 0))
		return -EINVAL;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	strcpy(cl->name, name);
	cl->next_job = 1;
	cl->epfd = -1;
	cl->kickfd = -1;
	cl->svc_pidfd = -1;
	if (o)
		cl->opts = *o;
	if (!cl->opts.connect_timeout_ns)
		cl->opts.connect_timeout_ns = 2000000000;
	if (!cl->opts.backoff_ns)
		cl->opts.backoff_ns = 1000000;
	if (!cl->opts.backoff_max_ns)
		cl->opts.backoff_max_ns = 1000000000;
	if (!cl->opts.breaker_open_ns)
		cl->opts.breaker_open_ns = 1000000000;
	cl->rng = cl->opts.jitter_seed ? cl->opts.jitter_seed :
		  mono_ns() ^ ((uint64_t)getpid() << 32);
	rc = client_open(cl, end_of(cl->opts.connect_timeout_ns));
	if (rc) {
		/* cl goes: its message stays for qshm_client_error(NULL). */
		snprintf(connect_err, sizeof(connect_err), "%s", cl->err);
		qshm_client_close(cl);
		return rc;
	}
	*out = cl;
	return 0;
}

int qshm_client_connect(const char *name, int64_t timeout_ns,
			qshm_client **out)
{
	struct qshm_client_opts o = {
		/* forever: as long as a uint64 end allows */
		.connect_timeout_ns = timeout_ns < 0 ? INT64_MAX / 2 :
				      timeout_ns ? timeout_ns : 1,
	};

	return qshm_client_connect_opts(name, &o, out);
}

/* ---- fault policy: retries, breaker, reconnection ---- */

static bool transient(int status)
{
	return status == -QSHM_EQUEUEFULL || status == -QSHM_ESERVICEDEAD ||
	       status == -QSHM_ESERVICEGONE || status == -EIO ||
	       status == -ENOBUFS;
}

static uint64_t rng_next(struct qshm_client *cl)
{
	/* splitmix64 */
	uint64_t z = (cl->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void breaker_result(struct qshm_client *cl, bool ok)
{
	if (!cl->opts.breaker_failures)
		return;
	if (ok) {
		cl->fails = 0;
		cl->half_open = false;
		cl->open_until = 0;
		return;
	}
	if (cl->half_open || ++cl->fails >= cl->opts.breaker_failures) {
		cl->open_until = mono_ns() + (uint64_t)cl->opts.breaker_open_ns;
		cl->half_open = false;
		cl->fails = 0;
		cl->st.breaker_trips++;
	}
}

/* May this failed job go again? Then it waits for its backoff. */
static bool schedule_retry(struct qshm_client *cl, struct job_slot *s,
			   int status)
{
	uint64_t bound, now = mono_ns();
	uint32_t shift;

	if (!transient(status) || s->no_retry || !s->req ||
	    s->attempts > cl->opts.retries ||
	    (s->deadline && now >= s->deadline))
		return false;
	shift = s->attempts - 1 < 40 ? s->attempts - 1 : 40;
	bound = (uint64_t)cl->opts.backoff_ns << shift;
	if (bound > (uint64_t)cl->opts.backoff_max_ns || bound == 0)
		bound = (uint64_t)cl->opts.backoff_max_ns;
	s->state = JOB_PENDING;
	s->status = 0;
	free(s->msg);
	s->msg = NULL;
	s->resend_at = now + 1 + rng_next(cl) % (bound + 1);
	return true;
}

/* A job's slot just became done: the breaker's count, and a retry. */
static void job_settled(struct qshm_client *cl, struct job_slot *s)
{
	if (s->status == 0 || !transient(s->status)) {
		/* Only the service's health counts: a bad circuit, a
		 * deadline or a cancel is the caller's. */
		if (s->status == 0)
			breaker_result(cl, true);
		return;
	}
	breaker_result(cl, false);
	schedule_retry(cl, s, s->status);
}

/* Sends a slot's RUN record (again). */
static int send_run(struct qshm_client *cl, struct job_slot *s)
{
	void *buf;
	int rc;

	rc = qshm_producer_claim(cl->req, s->req_len, SVC_REC_RUN,
				 s->deadline ? left_until(s->deadline) :
				 QSHM_FOREVER, &buf);
	if (rc)
		return cfail(cl, rc, "submit to '%s': %s", cl->name,
			     lib_msg(rc));
	memcpy(buf, s->req, s->req_len);
	qshm_producer_commit(cl->req);
	if (s->attempts)
		cl->st.retries++;
	s->attempts++;
	s->resend_at = 0;
	cl->st.sent++;
	return 0;
}

static bool view_in_ring_out(struct qshm_client *cl)
{
	return cl->held && cl->held->handed;
}

/* Registers circuit c again on a new connection, waiting for it. */
static int reregister(struct qshm_client *cl, struct circ *c, uint64_t end);

/*
 * The connection is over and the policy says reconnect: new rings, the
 * circuits registered again, the jobs that may be retried made due, the
 * others failed.
 */
static int reconnect(struct qshm_client *cl)
{
	uint64_t end = end_of(cl->opts.connect_timeout_ns);
	int lost = cl->conn_err, rc;

	if (view_in_ring_out(cl))
		return cfail(cl, -EBUSY, "cannot reconnect while job %llu's "
			     "view is held in place",
			     (unsigned long long)cl->held->job);
	for (size_t i = 0; i < cl->njobs; i++) {
		struct job_slot *s = cl->jobs[i];
		if (s->state == JOB_DONE)
			continue;
		if (cl->asm_slot == s || cl->held == s) {
			slot_free_arrays(s);
			s->in_ring = false;
		}
		s->state = JOB_DONE;
		s->status = lost;
		breaker_result(cl, false);
		if (schedule_retry(cl, s, lost))
			s->resend_at = 1;       /* at once, once connected */
		else
			s->msg = strdup("the connection to the service ended");
	}
	cl->asm_slot = NULL;
	cl->asm_skip = false;
	cl->held = NULL;
	client_shut(cl);
	/* Wait for a service under the name: it is being restarted. */
	for (;;) {
		rc = client_open(cl, end);
		if (rc == 0)
			break;
		client_shut(cl);
		if ((rc != -ENOENT && rc != -QSHM_ESERVICEDEAD &&
		     rc != -QSHM_ESERVICEGONE) || left_until(end) == 0) {
			cl->conn_err = lost;
			return rc;
		}
		usleep(10000);
	}
	cl->conn_err = 0;
	for (size_t i = 0; i < cl->ncircs && rc == 0; i++)
		if (cl->circs[i].state == JOB_DONE && cl->circs[i].text)
			rc = reregister(cl, &cl->circs[i], end);
	if (rc) {
		if (!cl->conn_err)
			cl->conn_err = lost;
		client_shut(cl);
		return rc;
	}
	cl->st.reconnects++;
	if (cl->epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };
		if (qshm_waiter_create(cl->rep, &cl->waiter) == 0) {
			epoll_ctl(cl->epfd, EPOLL_CTL_ADD,
				  qshm_waiter_fd(cl->waiter), &ev);
			arm(cl);
		}
	}
	return 0;
}

/* Reconnects if the policy says so, then sends every retry that is due.
 * Returns 0 or the connection's error. */
static int pump(struct qshm_client *cl)
{
	uint64_t now;

	if (cl->conn_err && cl->opts.reconnect) {
		int rc = reconnect(cl);
		if (rc)
			return rc;
	}
	if (cl->conn_err)
		return cl->conn_err;
	now = mono_ns();
	for (size_t i = 0; i < cl->njobs; i++) {
		struct job_slot *s = cl->jobs[i];
		if (s->state != JOB_PENDING || !s->resend_at ||
		    s->resend_at > now)
			continue;
		if (s->deadline && now >= s->deadline)
			continue;       /* wait() reports the deadline */
		if (send_run(cl, s)) {
			s->state = JOB_DONE;
			s->status = -EIO;
			s->msg = strdup(cl->err);
		}
	}
	return 0;
}

int64_t qshm_client_next_retry_ns(qshm_client *cl)
{
	uint64_t first = 0, now = mono_ns();

	if (!cl)
		return -1;
	if (cl->conn_err && cl->opts.reconnect)
		return 0;
	for (size_t i = 0; i < cl->njobs; i++) {
		struct job_slot *s = cl->jobs[i];
		if (s->state == JOB_PENDING && s->resend_at &&
		    (!first || s->resend_at < first))
			first = s->resend_at;
	}
	if (!first)
		return -1;
	return first <= now ? 0 : (int64_t)(first - now);
}

int qshm_client_stats(qshm_client *cl, struct qshm_client_stats *out)
{
	if (!cl || !out)
		return -EINVAL;
	*out = cl->st;
	out->breaker_open = cl->open_until && mono_ns() < cl->open_until;
	return 0;
}

/* A new slot for a job about to be sent. */
static struct job_slot *slot_new(struct qshm_client *cl)
{
	struct job_slot *s;

	if (cl->njobs == cl->cap_jobs) {
		size_t cap = cl->cap_jobs ? 2 * cl->cap_jobs : 16;
		struct job_slot **j = realloc(cl->jobs, cap * sizeof(*j));
		if (!j)
			return NULL;
		cl->jobs = j;
		cl->cap_jobs = cap;
	}
	s = calloc(1, sizeof(*s));
	return s;
}

/* Claims a request record, waiting for room up to end (0: forever). */
static int claim_req(struct qshm_client *cl, size_t size, uint16_t type,
		     uint64_t end, void **buf)
{
	/* A full request ring means the service is behind: wait for it up
	 * to the deadline (a dead service is evicted by nobody, but holds
	 * no space either: its consumer slot dies with it). */
	int rc = qshm_producer_claim(cl->req, size, type,
				     end ? left_until(end) : QSHM_FOREVER,
				     buf);
	if (rc)
		return cfail(cl, rc, "submit to '%s': %s", cl->name,
			     lib_msg(rc));
	return 0;
}

static int submit_any(qshm_client *cl, uint64_t circuit, const char *qasm,
		      size_t len, const struct qshm_run_spec *spec,
		      uint64_t *job)
{
	struct svc_run_req h;
	struct job_slot *s;
	uint32_t want;
	size_t size;
	char *p;
	void *buf;
	int rc;

	if (!cl)
		return -EINVAL;
	want = spec ? (spec->want ? spec->want : QSHM_WANT_COUNTS) : 0;
	if (!spec || !job ||
	    (want & ~(SVC_WANT_MASK | QSHM_WANT_COPY | QSHM_WANT_NO_RETRY)) ||
	    spec->reserved || spec->shots > SVC_MAX_SHOTS ||
	    (spec->shots == 0 &&
	     (want & (QSHM_WANT_COUNTS | QSHM_WANT_SHOTS))) ||
	    (spec->nparams && !spec->params) ||
	    spec->nparams > SVC_MAX_PARAMS ||
	    (spec->nexpect && !spec->expect) ||
	    spec->nexpect > SVC_MAX_EXPECT ||
	    (spec->nexpect && !(want & QSHM_WANT_EXPECT)) ||
	    (!circuit && (!qasm || !len)) || len > UINT32_MAX)
		return cfail(cl, -EINVAL, "submit: bad arguments (shots "
			     "1..2^40, or 0 without counts and shots; text "
			     "non-empty; known want bits; params and expect "
			     "pointers with their counts)");
	for (uint32_t i = 0; i < spec->nparams; i++)
		if (!isfinite(spec->params[i]))
			return cfail(cl, -EINVAL, "submit: parameter %u is "
				     "not a finite number", i);
	if (circuit) {
		struct circ *c = circ_find(cl, circuit);
		if (!c || c->state != JOB_DONE || c->status)
			return cfail(cl, -EINVAL, "submit: no circuit %llu "
				     "registered on this client",
				     (unsigned long long)circuit);
		if (spec->nparams != c->info.nparams)
			return cfail(cl, -EINVAL, "submit: %u values for "
				     "circuit %llu, which has %u parameters",
				     spec->nparams,
				     (unsigned long long)circuit,
				     c->info.nparams);
	}
	size = svc_run_req_size((uint32_t)len, spec->nparams, spec->nexpect);
	if (size == 0 || size > cl->info.max_request)
		return cfail(cl, -QSHM_ETOOBIG, "submit: a %zu-byte request, "
			     "service '%s' takes at most %u", size, cl->name,
			     cl->info.max_request);
	if (cl->open_until) {
		if (mono_ns() < cl->open_until) {
			cl->st.breaker_refused++;
			return cfail(cl, -QSHM_EBREAKER, "submit: the circuit "
				     "breaker is open (service '%s' failed %u "
				     "times in a row)", cl->name,
				     cl->opts.breaker_failures);
		}
		cl->open_until = 0;
		cl->half_open = true;   /* this job is the trial */
	}
	qshm_client_process(cl);
	rc = pump(cl);
	if (rc) {
		breaker_result(cl, false);
		return rc;
	}
	s = slot_new(cl);
	if (!s)
		return -ENOMEM;
	s->req_len = size;
	s->req = malloc(size);
	if (!s->req) {
		free(s);
		return -ENOMEM;
	}
	memset(&h, 0, sizeof(h));
	h.major = SVC_WIRE_MAJOR;
	h.minor = SVC_WIRE_MINOR;
	h.want = want & SVC_WANT_MASK;
	h.job = cl->next_job;
	h.shots = spec->shots;
	h.seed = spec->seed;
	h.deadline_ns = end_of(spec->deadline_ns);
	h.circuit = circuit;
	h.qasm_len = (uint32_t)len;
	h.nparams = spec->nparams;
	h.nexpect = spec->nexpect;
	p = buf = s->req;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	if (len) {
		memcpy(p, qasm, len);
		memset(p + len, 0, ((len + 7) & ~(size_t)7) - len);
		p += (len + 7) & ~(size_t)7;
	}
	if (spec->nparams)
		memcpy(p, spec->params, 8ull * spec->nparams);
	p += 8ull * spec->nparams;
	if (spec->nexpect)
		memcpy(p, spec->expect, 8ull * spec->nexpect);
	s->deadline = h.deadline_ns;
	rc = send_run(cl, s);
	if (rc) {
		free(s->req);
		free(s);
		return rc;
	}
	s->job = cl->next_job++;
	s->state = JOB_PENDING;
	s->copy = (want & QSHM_WANT_COPY) != 0;
	s->no_retry = (want & QSHM_WANT_NO_RETRY) != 0;
	/* Kept for a retry only when the policy may retry. */
	if (!cl->opts.retries || s->no_retry) {
		free(s->req);
		s->req = NULL;
	}
	cl->jobs[cl->njobs++] = s;
	cl->st.submitted++;
	*job = s->job;
	return 0;
}

int qshm_client_submit(qshm_client *cl, const char *qasm, size_t len,
		       const struct qshm_job_spec *spec, uint64_t *job)
{
	struct qshm_run_spec rs;

	if (!cl)
		return -EINVAL;
	if (!spec || spec->flags || spec->reserved || spec->shots == 0)
		return cfail(cl, -EINVAL, "submit: bad arguments (shots "
			     "1..2^40, text non-empty, flags 0)");
	memset(&rs, 0, sizeof(rs));
	rs.shots = spec->shots;
	rs.seed = spec->seed;
	rs.deadline_ns = spec->deadline_ns;
	rs.want = QSHM_WANT_COUNTS | QSHM_WANT_COPY;
	return submit_any(cl, 0, qasm, len, &rs, job);
}

int qshm_client_submit_qasm(qshm_client *cl, const char *qasm, size_t len,
			    const struct qshm_run_spec *spec, uint64_t *job)
{
	return submit_any(cl, 0, qasm, len, spec, job);
}

int qshm_client_submit_circuit(qshm_client *cl, uint64_t circuit,
			       const struct qshm_run_spec *spec,
			       uint64_t *job)
{
	if (!circuit)
		return cl ? cfail(cl, -EINVAL, "submit: circuit 0") : -EINVAL;
	return submit_any(cl, circuit, NULL, 0, spec, job);
}

/* One wait for a reply: the ring's own wait for a short time, then
 * qshm_poll (whose pidfd ends it the moment the service dies). */
static int wait_reply(struct qshm_client *cl, int64_t left)
{
	int rc;

	if (left < 0 || left > CLIENT_SHORT_WAIT_NS) {
		rc = read_one(cl, CLIENT_SHORT_WAIT_NS);
		if (rc == -ETIMEDOUT && !cl->conn_err) {
			struct qshm_pollitem it = { .c = cl->rep, .fd = -1 };
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
	return rc;
}

/* Waits until job's slot is done; 0 with *out, or an error (the slot is
 * forgotten unless the error is wait's own timeout, -EINTR or -EBUSY). */
static int wait_slot_inner(struct qshm_client *cl, uint64_t job,
			   int64_t timeout_ns, struct job_slot **out);

static int wait_slot(struct qshm_client *cl, uint64_t job,
		     int64_t timeout_ns, struct job_slot **out)
{
	int rc = wait_slot_inner(cl, job, timeout_ns, out);

	kick_if_ready(cl, rc == 0 ? *out : NULL);
	return rc;
}

static int wait_slot_inner(struct qshm_client *cl, uint64_t job,
			   int64_t timeout_ns, struct job_slot **out)
{
	struct job_slot *s;
	uint64_t end;
	int rc;

	s = job_find(cl, job);
	if (!s)
		return cfail(cl, -EINVAL, "no job %llu on this client",
			     (unsigned long long)job);
	if (s->handed)
		return cfail(cl, -EINVAL, "job %llu: its view is out",
			     (unsigned long long)job);
	end = end_of(timeout_ns);
	for (;;) {
		uint64_t stop = end;
		int64_t left;

		if (s->state == JOB_DONE) {
			rc = s->status;
			if (rc == 0) {
				*out = s;
				return 0;
			}
			cfail(cl, rc, "job %llu: %s%s%s",
			      (unsigned long long)job,
			      qshm_client_strerror(rc),
			      s->msg && *s->msg ? ": " : "",
			      s->msg ? s->msg : "");
			job_forget(cl, s);
			return rc;
		}
		if (cl->conn_err && !cl->opts.reconnect) {
			job_forget(cl, s);
			return cl->conn_err;
		}
		if (s->deadline && (stop == 0 || s->deadline < stop))
			stop = s->deadline;
		left = left_until(stop);
		if (left != 0 && (rc = pump(cl)) != 0) {
			/* No service to reconnect to yet: try again soon. */
			if (rc == -EBUSY || s->state == JOB_DONE)
				continue;
			usleep(left < 0 || left > 10000000 ? 10000 :
			       (useconds_t)(left / 1000));
			continue;
		}
		if (left == 0) {
			if (!cl->conn_err)
				qshm_client_process(cl);
			if (s->state == JOB_DONE)
				continue;
			if (cl->conn_err && !cl->opts.reconnect)
				continue;
			if (stop != s->deadline) {  /* wait's own timeout */
				return cfail(cl, -ETIMEDOUT, "job %llu: not "
					     "done yet", (unsigned long long)job);
			}
			/* The deadline: the service drops the job too. */
			job_forget(cl, s);
			return cfail(cl, -ETIMEDOUT, "job %llu: its deadline "
				     "passed", (unsigned long long)job);
		}
		if (s->state == JOB_PENDING && s->resend_at) {
			int64_t r = left_until(s->resend_at);
			if (r == 0)
				continue;       /* pump() sends it */
			if (left < 0 || r < left)
				left = r;
		}
		rc = wait_reply(cl, left);
		if (rc == -EINTR)
			return cfail(cl, rc, "job %llu: interrupted",
				     (unsigned long long)job);
		if (rc == -EBUSY)
			return rc;
		/* -ETIMEDOUT/-EAGAIN: the loop checks the clocks again;
		 * a connection's end is in conn_err. */
	}
}

int qshm_client_wait(qshm_client *cl, uint64_t job, int64_t timeout_ns,
		     struct qshm_job_result **out)
{
	struct qshm_job_result *res;
	struct job_slot *s;
	size_t len = 0;
	char *str;
	int rc;

	if (!cl || !out)
		return -EINVAL;
	*out = NULL;
	rc = wait_slot(cl, job, timeout_ns, &s);
	if (rc)
		return rc;
	for (size_t i = 0; i < s->v.ncounts; i++)
		len += strlen(s->v.counts[i].outcome) + 1;
	res = malloc(sizeof(*res) + s->v.ncounts * sizeof(*res->entries) +
		     len);
	if (!res) {
		job_forget(cl, s);
		return cfail(cl, -ENOMEM, "out of memory");
	}
	res->job = job;
	res->shots = s->v.shots;
	res->sim_ns = s->v.sim_ns;
	res->n = s->v.ncounts;
	res->entries = (struct qshm_job_entry *)(res + 1);
	str = (char *)(res->entries + res->n);
	for (size_t i = 0; i < res->n; i++) {
		size_t l = strlen(s->v.counts[i].outcome) + 1;
		memcpy(str, s->v.counts[i].outcome, l);
		res->entries[i].outcome = str;
		res->entries[i].count = s->v.counts[i].count;
		str += l;
	}
	job_forget(cl, s);
	arm(cl);
	kick_if_ready(cl, NULL);
	*out = res;
	return 0;
}

int qshm_client_wait_view(qshm_client *cl, uint64_t job, int64_t timeout_ns,
			  const struct qshm_job_view **out)
{
	struct job_slot *s;
	int rc;

	if (!cl || !out)
		return -EINVAL;
	*out = NULL;
	rc = wait_slot(cl, job, timeout_ns, &s);
	if (rc)
		return rc;
	s->handed = true;
	*out = &s->v;
	return 0;
}

int qshm_client_view_release(qshm_client *cl, const struct qshm_job_view *v)
{
	if (!v)
		return 0;
	if (!cl)
		return -EINVAL;
	for (size_t i = 0; i < cl->njobs; i++)
		if (&cl->jobs[i]->v == v && cl->jobs[i]->handed) {
			job_forget(cl, cl->jobs[i]);
			arm(cl);
			kick_if_ready(cl, NULL);
			return 0;
		}
	return -EINVAL;
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

/* Sends REGISTER for c (its id and text). */
static int send_register(struct qshm_client *cl, struct circ *c,
			 uint64_t end)
{
	struct svc_register_req h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.qasm_len = (uint32_t)c->len, .circuit = c->id,
	};
	void *buf;
	int rc;

	rc = claim_req(cl, sizeof(h) + c->len, SVC_REC_REGISTER, end, &buf);
	if (rc)
		return rc;
	memcpy(buf, &h, sizeof(h));
	memcpy((char *)buf + sizeof(h), c->text, c->len);
	qshm_producer_commit(cl->req);
	c->state = JOB_PENDING;
	return 0;
}

/* Waits for circuit id's REGISTERED; 0 (look at its status) or an
 * error of the wait. */
static int await_register(struct qshm_client *cl, uint64_t id, uint64_t end)
{
	for (;;) {
		struct circ *c = circ_find(cl, id);
		int64_t left;
		int rc;

		if (!c || c->state == JOB_DONE)
			return 0;
		if (cl->conn_err)
			return cl->conn_err;
		left = left_until(end);
		if (left == 0)
			return cfail(cl, -ETIMEDOUT, "register: no answer "
				     "from service '%s' in time", cl->name);
		rc = wait_reply(cl, left);
		if (rc == -EINTR || rc == -EBUSY)
			return cfail(cl, rc, "register: %s", rc == -EINTR ?
				     "interrupted" : "a view is held in "
				     "place: release it first");
	}
}

static int reregister(struct qshm_client *cl, struct circ *c, uint64_t end)
{
	uint64_t id = c->id;
	int rc = send_register(cl, c, end);

	if (rc == 0)
		rc = await_register(cl, id, end);
	c = circ_find(cl, id);
	if (rc == 0 && c && c->status)
		cfail(cl, c->status, "circuit %llu could not be registered "
		      "again after reconnecting: %s", (unsigned long long)id,
		      c->msg ? c->msg : "");
	return rc;
}

int qshm_client_register(qshm_client *cl, const char *qasm, size_t len,
			 int64_t timeout_ns, uint64_t *circuit)
{
	uint64_t end = end_of(timeout_ns), id;
	struct circ *c;
	int rc;

	if (!cl)
		return -EINVAL;
	if (!qasm || !len || !circuit)
		return cfail(cl, -EINVAL, "register: empty text");
	if (len > cl->info.max_request - sizeof(struct svc_register_req))
		return cfail(cl, -QSHM_ETOOBIG, "register: %zu bytes of "
			     "circuit, service '%s' takes at most %zu", len,
			     cl->name, cl->info.max_request -
			     sizeof(struct svc_register_req));
	qshm_client_process(cl);
	rc = pump(cl);
	if (rc)
		return rc;
	if (cl->ncircs == cl->cap_circs) {
		size_t cap = cl->cap_circs ? 2 * cl->cap_circs : 8;
		struct circ *v = realloc(cl->circs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		cl->circs = v;
		cl->cap_circs = cap;
	}
	c = &cl->circs[cl->ncircs];
	memset(c, 0, sizeof(*c));
	c->text = malloc(len);
	if (!c->text)
		return -ENOMEM;
	memcpy(c->text, qasm, len);
	c->len = len;
	c->id = id = ++cl->next_circuit;
	cl->ncircs++;
	rc = send_register(cl, c, end);
	if (rc) {
		circ_drop(cl, c);
		return rc;
	}
	rc = await_register(cl, id, end);
	c = circ_find(cl, id);
	if (rc == -ETIMEDOUT || rc == -EINTR || rc == -EBUSY)
		return rc;      /* the entry stays pending, never used */
	if (rc == 0 && c->status) {
		rc = c->status;
		cfail(cl, rc, "register: %s%s%s", qshm_client_strerror(rc),
		      c->msg && *c->msg ? ": " : "", c->msg ? c->msg : "");
	}
	if (rc) {
		circ_drop(cl, c);
		return rc;
	}
	*circuit = id;
	return 0;
}

int qshm_client_circuit_info(qshm_client *cl, uint64_t circuit,
			     struct qshm_circuit_info *out)
{
	struct circ *c = cl ? circ_find(cl, circuit) : NULL;

	if (!c || c->state != JOB_DONE || c->status || !out)
		return -EINVAL;
	*out = c->info;
	return 0;
}

int qshm_client_unregister(qshm_client *cl, uint64_t circuit)
{
	struct svc_cancel_req h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.job = circuit,
	};
	struct circ *c = cl ? circ_find(cl, circuit) : NULL;
	int rc;

	if (!c)
		return -EINVAL;
	circ_drop(cl, c);
	if (cl->conn_err)
		return 0;
	rc = qshm_producer_publish(cl->req, SVC_REC_UNREGISTER, &h, sizeof(h),
				   1000000000);
	if (rc)
		return cfail(cl, rc, "unregister on '%s': %s", cl->name,
			     lib_msg(rc));
	return 0;
}

int qshm_client_close(qshm_client *cl)
{
	if (!cl)
		return 0;
	while (cl->njobs)
		job_forget(cl, cl->jobs[0]);
	while (cl->ncircs)
		circ_drop(cl, &cl->circs[0]);
	client_shut(cl);
	if (cl->epfd >= 0)
		close(cl->epfd);
	if (cl->kickfd >= 0)
		close(cl->kickfd);
	free(cl->jobs);
	free(cl->circs);
	free(cl);
	return 0;
}

/* ---- a service's metrics ---- */

double qshm_service_latency_bound(unsigned i)
{
	static const uint64_t b[6] = SVC_LAT_BOUNDS_NS;

	if (i < 6)
		return (double)b[i] / 1e9;
	return i == 6 ? INFINITY : NAN;
}

int qshm_service_metrics_decode(const uint64_t user[16], const void *meta,
				size_t meta_len,
				struct qshm_service_metrics *out)
{
	struct svc_info info;
	uint64_t cum = 0;
	char why[128];
	int rc;

	if (!user || !meta || !out)
		return -EINVAL;
	rc = svc_info_check(meta, meta_len, &info, why, sizeof(why));
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->pid = info.pid;
	out->workers = info.workers;
	out->max_qubits = info.max_qubits;
	out->queue = info.queue;
	out->busy_poll = (info.flags & SVC_INFO_BUSY_POLL) != 0;
	out->memory_budget = info.memory_budget;
	out->queued = user[SVC_CTR_QUEUED];
	out->running = user[SVC_CTR_RUNNING];
	out->done = user[SVC_CTR_DONE];
	out->failed = user[SVC_CTR_FAILED];
	out->timed_out = user[SVC_CTR_TIMEDOUT];
	out->cancelled = user[SVC_CTR_CANCELLED];
	out->refused = user[SVC_CTR_REFUSED];
	out->clients = user[SVC_CTR_CLIENTS];
	/* Buckets are counted one by one, each with relaxed stores: a
	 * snapshot may see a bucket before the total; keep the cumulative
	 * counts monotonic as Prometheus requires. */
	for (unsigned i = 0; i < 6; i++) {
		/* shared memory anyone with access may have written: a sum
		 * that would wrap stays at the top (still monotonic) */
		uint64_t b = user[SVC_CTR_LAT0 + i];
		cum = b > UINT64_MAX - cum ? UINT64_MAX : cum + b;
		out->latency_le[i] = cum;
	}
	out->latency_le[6] = user[SVC_CTR_LAT_COUNT] > cum ?
			     user[SVC_CTR_LAT_COUNT] : cum;
	out->latency_sum_s = (double)user[SVC_CTR_LAT_SUM_NS] / 1e9;
	return 0;
}

int qshm_service_metrics_read(const char *name,
			      struct qshm_service_metrics *out)
{
	struct qshm_ring_stats st;
	qshm_consumer *c;
	char meta[256];
	int rc, n;

	if (!name || !out)
		return -EINVAL;
	rc = qshm_consumer_attach(name, QSHM_CONSUMER_READONLY, &c);
	if (rc)
		return rc;
	n = qshm_consumer_meta(c, meta, sizeof(meta), NULL);
	rc = n < 0 ? n : qshm_consumer_ring_stats(c, &st);
	if (rc == 0)
		rc = qshm_service_metrics_decode(st.user, meta,
						 (size_t)n < sizeof(meta) ?
						 (size_t)n : sizeof(meta), out);
	qshm_consumer_close(c);
	return rc;
}
