/* SPDX-License-Identifier: MIT */
/*
 * svc_requests.c - what the main thread of `qshm serve` does with a
 * client's request ring: decode each record as hostile input (svc_wire.c),
 * answer at once or queue a job, cancel, register circuits, and S4: drop a
 * client whose ring ended (docs/service.md, "A job", "Faults").
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qshm/client.h"
#include "qshm/qshm.h"
#include "svc_internal.h"

/* ---- requests (main thread) ---- */

static int reply_write(struct svc_client *cl, bool registered, uint64_t id,
		       int status, const char *msg)
{
	return registered ? svc_reply_registered(cl, 0, id, status, NULL, msg)
			  : svc_reply_error(cl, 0, id, status, msg);
}

void svc_reply_main(struct svc *s, struct svc_client *cl, bool registered,
		    uint64_t id, int status, const char *msg)
{
	struct svc_pend *p;

	if (!cl->pend && reply_write(cl, registered, id, status, msg) !=
	    -EBUSY)
		return;         /* written, or dropped: the ring is full */
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->registered = registered;
	p->id = id;
	p->status = status;
	p->msg = msg ? strndup(msg, SVC_MSG_MAX) : NULL;
	if (!cl->pend) {
		s->npend++;
		svc_log(s, "client %s: a reply waits for the client's reply "
			"lock (a worker is writing a result); its requests "
			"wait meanwhile", cl->id);
	}
	if (cl->pend_tail)
		cl->pend_tail->next = p;
	else
		cl->pend = p;
	cl->pend_tail = p;
}

/* Writes the replies cl still waits for, in order, while its reply lock
 * is free. Returns true when none is left. */
static bool flush_pending(struct svc *s, struct svc_client *cl)
{
	while (cl->pend) {
		struct svc_pend *p = cl->pend;
		if (reply_write(cl, p->registered, p->id, p->status,
				p->msg) == -EBUSY)
			return false;
		cl->pend = p->next;
		if (!cl->pend) {
			cl->pend_tail = NULL;
			s->npend--;
		}
		free(p->msg);
		free(p);
	}
	return true;
}

void svc_refuse(struct svc *s, struct svc_client *cl, uint64_t job,
		   int status, const char *msg)
{
	pthread_mutex_lock(&s->lock);
	svc_ctr_add(s, SVC_CTR_REFUSED, 1);
	pthread_mutex_unlock(&s->lock);
	svc_reply_main(s, cl, false, job, status, msg);
}

/* Queues J (its client's ref taken here), or refuses it: full queue. */
void svc_enqueue(struct svc *s, struct svc_client *cl, struct svc_job *j)
{
	pthread_mutex_lock(&s->lock);
	if (s->nqueued + s->nrunning >= s->cfg->queue) {
		bool tlast = j->tpl && svc_tpl_unref_locked(j->tpl);
		pthread_mutex_unlock(&s->lock);
		if (tlast)
			svc_tpl_free(j->tpl);
		if (j->kind == SVC_JOB_REGISTER) {
			pthread_mutex_lock(&s->lock);
			for (size_t i = 0; i < cl->ncircs; i++)
				if (cl->circs[i].id == j->h.job &&
				    !cl->circs[i].tpl) {
					cl->circs[i] = cl->circs[--cl->ncircs];
					break;
				}
			svc_ctr_add(s, SVC_CTR_REFUSED, 1);
			pthread_mutex_unlock(&s->lock);
			svc_reply_main(s, cl, true, j->h.job,
				       -QSHM_EQUEUEFULL, "service: queue full "
				       "(--queue)");
		} else {
			svc_refuse(s, cl, j->h.job, -QSHM_EQUEUEFULL, "service: "
			       "queue full (--queue)");
		}
		svc_job_free(j);
		return;
	}
	j->cl = cl;
	cl->refs++;
	if (s->qtail)
		s->qtail->next = j;
	else
		s->qhead = j;
	s->qtail = j;
	s->nqueued++;
	svc_ctr_add(s, SVC_CTR_QUEUED, 1);
	svc_wake_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/* Returns true when the job ran at once on this thread (the inline
 * lane). */
static bool handle_run(struct svc *s, struct svc_client *cl,
		       const struct qshm_record *r)
{
	struct svc_run_view v;
	struct svc_job *j;
	char why[256];
	int rc;

	rc = svc_run_req_decode(r->data, r->len, &v, why, sizeof(why));
	if (rc) {
		uint64_t job = 0;
		if (r->len >= 16)
			memcpy(&job, (const char *)r->data + 8, 8);
		svc_log(s, "client %s: %s", cl->id, why);
		svc_refuse(s, cl, job, -QSHM_EREFUSED, why);
		return false;
	}
	if (v.h.deadline_ns && svc_mono_ns() >= v.h.deadline_ns) {
		pthread_mutex_lock(&s->lock);
		svc_ctr_add(s, SVC_CTR_TIMEDOUT, 1);
		pthread_mutex_unlock(&s->lock);
		svc_reply_main(s, cl, false, v.h.job, -ETIMEDOUT, "job: its deadline passed "
			  "before it was queued");
		return false;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		svc_refuse(s, cl, v.h.job, -ENOMEM, "service: out of memory");
		return false;
	}
	j->kind = SVC_JOB_RUN;
	j->t_recv = svc_mono_ns();
	j->h = v.h;
	j->qasm_len = v.h.qasm_len;
	if (v.h.qasm_len && (j->qasm = malloc(v.h.qasm_len)))
		memcpy(j->qasm, v.qasm, v.h.qasm_len);
	if (v.h.nparams && (j->params = malloc(8ull * v.h.nparams)))
		memcpy(j->params, v.params, 8ull * v.h.nparams);
	if (v.h.nexpect && (j->expect = malloc(8ull * v.h.nexpect)))
		memcpy(j->expect, v.expect, 8ull * v.h.nexpect);
	if ((v.h.qasm_len && !j->qasm) || (v.h.nparams && !j->params) ||
	    (v.h.nexpect && !j->expect)) {
		svc_job_free(j);
		svc_refuse(s, cl, v.h.job, -ENOMEM, "service: out of memory");
		return false;
	}
	if (v.h.circuit) {
		const char *bad = "is not registered";

		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < cl->ncircs; i++)
			if (cl->circs[i].id == v.h.circuit) {
				j->tpl = cl->circs[i].tpl;
				bad = "is still being registered";
				break;
			}
		if (j->tpl)
			j->tpl->refs++;
		pthread_mutex_unlock(&s->lock);
		if (!j->tpl) {
			snprintf(why, sizeof(why), "job: error: circuit %llu "
				 "%s", (unsigned long long)v.h.circuit, bad);
			svc_job_free(j);
			pthread_mutex_lock(&s->lock);
			svc_ctr_add(s, SVC_CTR_FAILED, 1);
			pthread_mutex_unlock(&s->lock);
			svc_reply_main(s, cl, false, v.h.job, -EINVAL, why);
			return false;
		}
	}
	if (svc_job_try_inline(s, cl, j))
		return true;
	svc_enqueue(s, cl, j);
	return false;
}

/* REGISTER: an entry without a template now (so a second REGISTER of
 * the same id is refused), parsed by a worker, which fills it in. */
static void handle_register(struct svc *s, struct svc_client *cl,
			    const struct qshm_record *r)
{
	struct svc_register_req h;
	struct svc_job *j;
	const char *text;
	const char *bad = NULL;
	char why[256];
	int rc;

	rc = svc_register_req_decode(r->data, r->len, &h, &text, why,
				     sizeof(why));
	if (rc) {
		svc_log(s, "client %s: %s", cl->id, why);
		pthread_mutex_lock(&s->lock);
		svc_ctr_add(s, SVC_CTR_REFUSED, 1);
		pthread_mutex_unlock(&s->lock);
		svc_reply_main(s, cl, true, r->len >= 16 ? h.circuit : 0,
			       -QSHM_EREFUSED, why);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j && !(j->qasm = malloc(h.qasm_len))) {
		free(j);
		j = NULL;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < cl->ncircs && !bad; i++)
		if (cl->circs[i].id == h.circuit)
			bad = "circuit id already registered";
	if (!bad && !j)
		bad = "service: out of memory";
	if (!bad && cl->ncircs == SVC_MAX_CIRCUITS)
		bad = "too many circuits registered by this client";
	if (!bad && cl->ncircs == cl->cap_circs) {
		size_t cap = cl->cap_circs ? 2 * cl->cap_circs : 8;
		struct svc_circ *v = realloc(cl->circs, cap * sizeof(*v));
		if (v) {
			cl->circs = v;
			cl->cap_circs = cap;
		} else {
			bad = "service: out of memory";
		}
	}
	if (!bad)
		cl->circs[cl->ncircs++] = (struct svc_circ){ .id = h.circuit };
	else
		svc_ctr_add(s, SVC_CTR_REFUSED, 1);
	pthread_mutex_unlock(&s->lock);
	if (bad) {
		if (j)
			svc_job_free(j);
		svc_reply_main(s, cl, true, h.circuit, -EINVAL, bad);
		return;
	}
	j->kind = SVC_JOB_REGISTER;
	j->h.job = h.circuit;
	j->qasm_len = h.qasm_len;
	memcpy(j->qasm, text, h.qasm_len);
	svc_enqueue(s, cl, j);
}

static void handle_unregister(struct svc *s, struct svc_client *cl,
			      const struct qshm_record *r)
{
	struct svc_cancel_req h;
	struct svc_tpl *t = NULL;
	bool tlast = false;
	char why[256];

	if (svc_cancel_req_decode(r->data, r->len, &h, why, sizeof(why))) {
		svc_log(s, "client %s: %s", cl->id, why);
		svc_refuse(s, cl, 0, -QSHM_EREFUSED, why);
		return;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < cl->ncircs; i++)
		if (cl->circs[i].id == h.job) {
			/* Still parsing: the worker finds no entry and
			 * frees what it parsed. */
			t = cl->circs[i].tpl;
			cl->circs[i] = cl->circs[--cl->ncircs];
			break;
		}
	if (t)
		tlast = svc_tpl_unref_locked(t);
	pthread_mutex_unlock(&s->lock);
	if (tlast)
		svc_tpl_free(t);
}

/* Takes cl's queued jobs out (svc.lock held) into *out; marks its
 * running jobs (all, or only JOB's) cancelled. Returns how many queued
 * jobs were taken. */
unsigned svc_cancel_locked(struct svc *s, struct svc_client *cl,
			      bool all, uint64_t job, struct svc_job **out)
{
	struct svc_job **pp = &s->qhead, *prev = NULL;
	unsigned n = 0;

	while (*pp) {
		struct svc_job *j = *pp;
		if (j->cl == cl && (all || (j->h.job == job &&
					       j->kind == SVC_JOB_RUN))) {
			*pp = j->next;
			if (s->qtail == j)
				s->qtail = prev;
			j->next = *out;
			*out = j;
			s->nqueued--;
			svc_ctr_add(s, SVC_CTR_QUEUED, -1);
			svc_ctr_add(s, SVC_CTR_CANCELLED, 1);
			n++;
			continue;
		}
		prev = j;
		pp = &j->next;
	}
	for (struct svc_job *j = s->running; j; j = j->next)
		if (j->cl == cl && (all || (j->h.job == job &&
					    j->kind == SVC_JOB_RUN)))
			atomic_store_explicit(&j->cancel, 1,
					      memory_order_relaxed);
	return n;
}

static void handle_cancel(struct svc *s, struct svc_client *cl,
			  const struct qshm_record *r)
{
	struct svc_cancel_req h;
	struct svc_job *taken = NULL;
	char why[256];
	int rc;

	rc = svc_cancel_req_decode(r->data, r->len, &h, why, sizeof(why));
	if (rc) {
		svc_log(s, "client %s: %s", cl->id, why);
		svc_refuse(s, cl, 0, -QSHM_EREFUSED, why);
		return;
	}
	pthread_mutex_lock(&s->lock);
	svc_cancel_locked(s, cl, false, h.job, &taken);
	pthread_mutex_unlock(&s->lock);
	while (taken) {
		struct svc_job *j = taken;
		taken = j->next;
		svc_reply_main(s, cl, false, j->h.job, -ECANCELED, "job: cancelled before "
			  "it ran");
		pthread_mutex_lock(&s->lock);
		cl->refs--;     /* main's own ref keeps it above 0 */
		pthread_mutex_unlock(&s->lock);
		svc_drop_queued(s, j);
	}
}

/* S4: the client is gone. Its queued jobs go, its running ones stop at
 * their next batch, its request ring is removed if its producer died,
 * and its reply ring when the last of its jobs ends. */
void svc_client_drop(struct svc *s, struct svc_client *cl, int why)
{
	struct svc_job *taken = NULL;
	struct svc_client **pp;
	unsigned n;
	bool last;

	for (pp = &s->clients; *pp != cl; pp = &(*pp)->next)
		;
	*pp = cl->next;
	s->nclients--;
	if (cl->pend) {
		s->npend--;     /* nobody to tell: client_free frees them */
	}
	pthread_mutex_lock(&s->lock);
	atomic_store_explicit(&cl->gone, true, memory_order_relaxed);
	n = svc_cancel_locked(s, cl, true, 0, &taken);
	cl->refs -= n;
	for (size_t i = 0; i < cl->ncircs; i++)
		if (cl->circs[i].tpl &&
		    svc_tpl_unref_locked(cl->circs[i].tpl)) {
			/* No job holds it: nothing else can reach it. */
			svc_tpl_free(cl->circs[i].tpl);
		}
	cl->ncircs = 0;
	svc_ctr_add(s, SVC_CTR_CLIENTS, -1);
	pthread_mutex_unlock(&s->lock);
	while (taken) {
		struct svc_job *j = taken;
		taken = j->next;
		svc_drop_queued(s, j);
	}
	svc_log(s, "client %s left (%s); %u queued jobs dropped", cl->id,
		qshm_strerror(why), n);
	qshm_consumer_close(cl->req);
	cl->req = NULL;
	if (why == -QSHM_EPRODUCERDEAD)
		qshm_unlink(cl->req_name);
	/* Our own reference last, after every use of cl above: a job still
	 * running on a worker holds another, and whoever drops the last one
	 * frees cl (svc_job_release()). */
	pthread_mutex_lock(&s->lock);
	last = svc_client_unref_locked(cl);
	pthread_mutex_unlock(&s->lock);
	if (last)
		svc_client_free(cl);
}

/* Reads what cl has sent. Returns the number of records handled. */
int svc_client_drain(struct svc *s, struct svc_client *cl)
{
	struct qshm_record r;
	int rc, n = 0;

	/* Replies still owed come first; until they are written the
	 * client's requests wait in its ring (back-pressure, and the
	 * replies stay in order). */
	if (cl->pend && !flush_pending(s, cl))
		return 0;

	while ((rc = qshm_consumer_read(cl->req, &r, 0)) == 0) {
		bool ran = false;

		n++;
		if (r.len > SVC_MAX_REQUEST)
			svc_refuse(s, cl, 0, -QSHM_EREFUSED, "request larger than "
			       "the service's max_request");
		else if (r.item_len)
			svc_refuse(s, cl, 0, -QSHM_EREFUSED, "batch records are "
			       "not requests");
		else if (r.type == SVC_REC_RUN)
			ran = handle_run(s, cl, &r);
		else if (r.type == SVC_REC_CANCEL)
			handle_cancel(s, cl, &r);
		else if (r.type == SVC_REC_REGISTER)
			handle_register(s, cl, &r);
		else if (r.type == SVC_REC_UNREGISTER)
			handle_unregister(s, cl, &r);
		else
			svc_refuse(s, cl, 0, -QSHM_EREFUSED, "unknown request "
			       "record type");
		qshm_consumer_release(cl->req);
		if (ran) {
			/* One inline job per client per pass: the others'
			 * requests are read before this client's next. */
			rc = -EAGAIN;
			break;
		}
	}
	if (rc == -EAGAIN && n == 0 && cl->poked) {
		/* The poll saw the client's pidfd, or a spurious wake: the
		 * ring's read looks at the producer only every 25 ms. */
		struct qshm_ring_info ri;
		if (qshm_ring_info(cl->req_name, &ri) == 0 &&
		    (ri.state == QSHM_RING_STALE || !ri.creator_alive))
			rc = -QSHM_EPRODUCERDEAD;
	}
	cl->poked = false;
	if (rc != -EAGAIN && rc != -EINTR) {
		svc_client_drop(s, cl, rc);
		return n + 1;
	}
	return n;
}

