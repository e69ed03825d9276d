/* SPDX-License-Identifier: MIT */
/*
 * service.c - `qshm serve`: the service loop (service.h, docs/service.md).
 *
 * One main thread owns the rings: it finds new clients (inotify on
 * /dev/shm, then a scan for NAME.q.* names), reads their requests, and
 * queues jobs; --workers threads take jobs off the queue, parse and
 * simulate them and write the reply. Labels as in docs/service.md:
 *   S1 create the control ring NAME, publish its descriptor;
 *   S2 create NAME.r.ID for a new request ring NAME.q.ID;
 *   S3 only then attach to NAME.q.ID (a client takes the attach as the
 *      sign that its reply ring exists, C3);
 *   S4 a request ring that ends (closed, or its producer dead) cancels
 *      the client's jobs; the reply ring goes when its last job does.
 * Locks: svc.lock guards the queue, the running list and every client's
 * refs and gone flag; client.rep_lock serialises writers of one reply
 * ring (a producer handle is single-threaded). Order: svc.lock is never
 * taken while holding a rep_lock.
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

void svc_log(struct svc *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->cfg->log)
		return;
	va_start(ap, fmt);
	fprintf(s->cfg->log, "qshm serve %s: ", s->cfg->name);
	vfprintf(s->cfg->log, fmt, ap);
	fputc('\n', s->cfg->log);
	fflush(s->cfg->log);
	va_end(ap);
}

uint64_t svc_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Metrics: relaxed stores of plain counters, read as snapshots by
 * inspectors; every writer holds svc.lock, so no update is lost. */
void svc_ctr_add(struct svc *s, enum svc_counter i, int64_t d)
{
	uint64_t v = __atomic_load_n(s->ctr[i], __ATOMIC_RELAXED);
	__atomic_store_n(s->ctr[i], v + (uint64_t)d, __ATOMIC_RELAXED);
}

static void client_free(struct svc_client *cl)
{
	qshm_producer_close(cl->rep, QSHM_CLOSE_UNLINK);
	pthread_mutex_destroy(&cl->rep_lock);
	free(cl->circs);
	free(cl);
}

/* Drops a reference (svc.lock held); returns true if cl must be freed
 * (after unlocking). */
static bool client_unref_locked(struct svc_client *cl)
{
	return --cl->refs == 0;
}

/* From the main thread: never waits, so a client that does not read its
 * replies (and floods requests) cannot stall the others; the answer is
 * dropped and the client's wait() times out. */
static int reply_now(struct svc_client *cl, uint64_t job, int status,
		     const char *msg)
{
	return svc_reply_error(cl, 0, job, status, msg);
}

/* Ends a job's life in the service (svc.lock not held): its references
 * and memory. */
/* A queued job that will not run (its client's ref is the caller's
 * business): its template ref and memory. */
static void drop_queued(struct svc *s, struct svc_job *j)
{
	bool tlast = false;

	if (j->tpl) {
		pthread_mutex_lock(&s->lock);
		tlast = svc_tpl_unref_locked(j->tpl);
		pthread_mutex_unlock(&s->lock);
	}
	if (tlast)
		svc_tpl_free(j->tpl);
	svc_job_free(j);
}

static void job_release(struct svc *s, struct svc_job *j)
{
	bool last, tlast = false;

	pthread_mutex_lock(&s->lock);
	last = client_unref_locked(j->cl);
	if (j->tpl)
		tlast = svc_tpl_unref_locked(j->tpl);
	pthread_mutex_unlock(&s->lock);
	if (tlast)
		svc_tpl_free(j->tpl);
	if (last)
		client_free(j->cl);
	svc_job_free(j);
}

/*
 * Fairness: round robin across clients. The next job is the oldest queued
 * job of the client whose last job started longest ago (never: first), so
 * one client's burst cannot hold back another client's jobs by more than
 * one job per worker. Within a client, jobs start in the order sent.
 * O(queue) per job, and the queue is at most --queue long.
 */
static struct svc_job *queue_take_fair_locked(struct svc *s)
{
	struct svc_job *best = NULL, *best_prev = NULL, *prev = NULL;

	for (struct svc_job *j = s->qhead; j; prev = j, j = j->next)
		if (!best || j->cl->served < best->cl->served) {
			best = j;
			best_prev = prev;
		}
	if (best_prev)
		best_prev->next = best->next;
	else
		s->qhead = best->next;
	if (s->qtail == best)
		s->qtail = best_prev;
	best->cl->served = ++s->tick;
	return best;
}

void svc_wake_locked(struct svc *s)
{
	/* Pairs with the acquire load of a spinning worker (busy-poll). */
	atomic_fetch_add_explicit(&s->work_gen, 1, memory_order_release);
	pthread_cond_broadcast(&s->cond);
}

static bool job_expired(const struct svc_job *j)
{
	return atomic_load_explicit(&j->cancel, memory_order_relaxed) ||
	       atomic_load_explicit(&j->cl->gone, memory_order_relaxed) ||
	       (j->h.deadline_ns && svc_mono_ns() >= j->h.deadline_ns);
}

/* A job waiting for memory that may go now: the oldest, when its state
 * fits; or any that was cancelled or expired (it only has to answer).
 * Unlinked from the FIFO; it stays in the running list. */
static struct svc_job *memwait_take_locked(struct svc *s)
{
	struct svc_job **pp = &s->mw_head, *prev = NULL;

	for (struct svc_job *j = s->mw_head; j; prev = j, j = j->mw_next) {
		if ((j == s->mw_head && s->mem_used + j->need <= s->budget) ||
		    job_expired(j)) {
			*pp = j->mw_next;
			if (s->mw_tail == j)
				s->mw_tail = prev;
			j->mw_next = NULL;
			return j;
		}
		pp = &j->mw_next;
	}
	return NULL;
}

static bool memwait_nonempty(struct svc *s)
{
	return atomic_load_explicit(&s->nmemwait, memory_order_relaxed) != 0;
}

/* Idle: sleep on the condition variable, or spin (busy-poll). */
static void worker_idle_locked(struct svc *s)
{
	unsigned gen;

	if (!s->cfg->busy_poll) {
		if (s->mw_head) {
			/* Jobs waiting for memory may pass their deadline
			 * or be cancelled: look every 10 ms. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		} else {
			pthread_cond_wait(&s->cond, &s->lock);
		}
		return;
	}
	gen = atomic_load_explicit(&s->work_gen, memory_order_relaxed);
	pthread_mutex_unlock(&s->lock);
	/* Pairs with the release increment of svc_wake_locked(). */
	for (unsigned k = 0; atomic_load_explicit(&s->work_gen,
			memory_order_acquire) == gen; k++) {
		svc_cpu_relax();
		if ((k & 0xffff) == 0xffff && memwait_nonempty(s))
			break;  /* look at deadlines now and then */
	}
	pthread_mutex_lock(&s->lock);
}

static void *worker_main(void *arg)
{
	struct svc *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct svc_job *j = NULL;

		while (!s->stopping && !(j = memwait_take_locked(s)) &&
		       !s->qhead)
			worker_idle_locked(s);
		if (s->stopping)
			break;
		if (!j) {
			j = queue_take_fair_locked(s);
			s->nqueued--;
			j->prev = NULL;
			j->next = s->running;
			if (s->running)
				s->running->prev = j;
			s->running = j;
			s->nrunning++;
			svc_ctr_add(s, SVC_CTR_QUEUED, -1);
			svc_ctr_add(s, SVC_CTR_RUNNING, 1);
		}
		if (atomic_load_explicit(&j->cl->gone, memory_order_relaxed))
			atomic_store_explicit(&j->cancel, 1,
					      memory_order_relaxed);
		pthread_mutex_unlock(&s->lock);

		if (svc_job_run(s, j)) {
			pthread_mutex_lock(&s->lock);
			continue;       /* waits for memory */
		}

		pthread_mutex_lock(&s->lock);
		if (j->prev)
			j->prev->next = j->next;
		else
			s->running = j->next;
		if (j->next)
			j->next->prev = j->prev;
		s->nrunning--;
		svc_ctr_add(s, SVC_CTR_RUNNING, -1);
		pthread_mutex_unlock(&s->lock);
		job_release(s, j);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- requests (main thread) ---- */

static void refuse(struct svc *s, struct svc_client *cl, uint64_t job,
		   int status, const char *msg)
{
	pthread_mutex_lock(&s->lock);
	svc_ctr_add(s, SVC_CTR_REFUSED, 1);
	pthread_mutex_unlock(&s->lock);
	reply_now(cl, job, status, msg);
}

/* Queues J (its client's ref taken here), or refuses it: full queue. */
static void enqueue(struct svc *s, struct svc_client *cl, struct svc_job *j)
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
			svc_reply_registered(cl, 0, j->h.job, -QSHM_EQUEUEFULL,
					     NULL, "service: queue full "
					     "(--queue)");
		} else {
			refuse(s, cl, j->h.job, -QSHM_EQUEUEFULL, "service: "
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

static void handle_run(struct svc *s, struct svc_client *cl,
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
		refuse(s, cl, job, -QSHM_EREFUSED, why);
		return;
	}
	if (v.h.deadline_ns && svc_mono_ns() >= v.h.deadline_ns) {
		pthread_mutex_lock(&s->lock);
		svc_ctr_add(s, SVC_CTR_TIMEDOUT, 1);
		pthread_mutex_unlock(&s->lock);
		reply_now(cl, v.h.job, -ETIMEDOUT, "job: its deadline passed "
			  "before it was queued");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		refuse(s, cl, v.h.job, -ENOMEM, "service: out of memory");
		return;
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
		refuse(s, cl, v.h.job, -ENOMEM, "service: out of memory");
		return;
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
			reply_now(cl, v.h.job, -EINVAL, why);
			return;
		}
	}
	enqueue(s, cl, j);
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
		svc_reply_registered(cl, 0, r->len >= 16 ? h.circuit : 0,
				     -QSHM_EREFUSED, NULL, why);
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
		svc_reply_registered(cl, 0, h.circuit, -EINVAL, NULL, bad);
		return;
	}
	j->kind = SVC_JOB_REGISTER;
	j->h.job = h.circuit;
	j->qasm_len = h.qasm_len;
	memcpy(j->qasm, text, h.qasm_len);
	enqueue(s, cl, j);
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
		refuse(s, cl, 0, -QSHM_EREFUSED, why);
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
static unsigned cancel_locked(struct svc *s, struct svc_client *cl,
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
		refuse(s, cl, 0, -QSHM_EREFUSED, why);
		return;
	}
	pthread_mutex_lock(&s->lock);
	cancel_locked(s, cl, false, h.job, &taken);
	pthread_mutex_unlock(&s->lock);
	while (taken) {
		struct svc_job *j = taken;
		taken = j->next;
		reply_now(cl, j->h.job, -ECANCELED, "job: cancelled before "
			  "it ran");
		pthread_mutex_lock(&s->lock);
		cl->refs--;     /* main's own ref keeps it above 0 */
		pthread_mutex_unlock(&s->lock);
		drop_queued(s, j);
	}
}

/* S4: the client is gone. Its queued jobs go, its running ones stop at
 * their next batch, its request ring is removed if its producer died,
 * and its reply ring when the last of its jobs ends. */
static void client_drop(struct svc *s, struct svc_client *cl, int why)
{
	struct svc_job *taken = NULL;
	struct svc_client **pp;
	unsigned n;
	bool last;

	for (pp = &s->clients; *pp != cl; pp = &(*pp)->next)
		;
	*pp = cl->next;
	s->nclients--;
	pthread_mutex_lock(&s->lock);
	atomic_store_explicit(&cl->gone, true, memory_order_relaxed);
	n = cancel_locked(s, cl, true, 0, &taken);
	cl->refs -= n;
	for (size_t i = 0; i < cl->ncircs; i++)
		if (cl->circs[i].tpl &&
		    svc_tpl_unref_locked(cl->circs[i].tpl)) {
			/* No job holds it: nothing else can reach it. */
			svc_tpl_free(cl->circs[i].tpl);
		}
	cl->ncircs = 0;
	last = client_unref_locked(cl);
	svc_ctr_add(s, SVC_CTR_CLIENTS, -1);
	pthread_mutex_unlock(&s->lock);
	while (taken) {
		struct svc_job *j = taken;
		taken = j->next;
		drop_queued(s, j);
	}
	svc_log(s, "client %s left (%s); %u queued jobs dropped", cl->id,
		qshm_strerror(why), n);
	qshm_consumer_close(cl->req);
	if (why == -QSHM_EPRODUCERDEAD)
		qshm_unlink(cl->req_name);
	if (last)
		client_free(cl);
}

/* Reads what cl has sent. Returns the number of records handled. */
static int client_drain(struct svc *s, struct svc_client *cl)
{
	struct qshm_record r;
	int rc, n = 0;

	while ((rc = qshm_consumer_read(cl->req, &r, 0)) == 0) {
		n++;
		if (r.len > SVC_MAX_REQUEST)
			refuse(s, cl, 0, -QSHM_EREFUSED, "request larger than "
			       "the service's max_request");
		else if (r.item_len)
			refuse(s, cl, 0, -QSHM_EREFUSED, "batch records are "
			       "not requests");
		else if (r.type == SVC_REC_RUN)
			handle_run(s, cl, &r);
		else if (r.type == SVC_REC_CANCEL)
			handle_cancel(s, cl, &r);
		else if (r.type == SVC_REC_REGISTER)
			handle_register(s, cl, &r);
		else if (r.type == SVC_REC_UNREGISTER)
			handle_unregister(s, cl, &r);
		else
			refuse(s, cl, 0, -QSHM_EREFUSED, "unknown request "
			       "record type");
		qshm_consumer_release(cl->req);
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
		client_drop(s, cl, rc);
		return n + 1;
	}
	return n;
}

/* ---- finding clients ---- */

static bool is_ignored(struct svc *s, const char *name)
{
	for (size_t i = 0; i < s->nignored; i++)
		if (!strcmp(s->ignored[i], name))
			return true;
	return false;
}

static void ignore(struct svc *s, const char *name, const char *why)
{
	char **v = realloc(s->ignored, (s->nignored + 1) * sizeof(*v));

	svc_log(s, "not serving '%s': %s", name, why);
	if (!v)
		return;
	s->ignored = v;
	if ((v[s->nignored] = strdup(name)))
		s->nignored++;
}

/* Milliseconds since the object /dev/shm/qshm.NAME last changed. */
static int64_t object_age_ms(const char *name)
{
	char path[QSHM_NAME_MAX + 24];
	struct timespec now;
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm/qshm.%s", name);
	if (stat(path, &st) < 0)
		return INT64_MAX;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
	       (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
}

static int decide_stale(void *ctx, const struct qshm_ring_info *info)
{
	(void)ctx;
	return info->state == QSHM_RING_STALE;
}

/* S2 then S3 for request ring NAME.q.ID. */
static void client_add(struct svc *s, const char *id)
{
	struct qshm_create_opts co = {
		.capacity = SVC_REPLY_CAPACITY, .max_record = SVC_REPLY_MAX,
		.max_consumers = 4, .flags = QSHM_CREATE_REPLACE_STALE,
	};
	struct qshm_ring_info ri;
	struct svc_client *cl;
	int rc;

	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return;
	snprintf(cl->id, sizeof(cl->id), "%s", id);
	snprintf(cl->req_name, sizeof(cl->req_name), "%s.q.%s", s->cfg->name,
		 id);
	snprintf(cl->rep_name, sizeof(cl->rep_name), "%s.r.%s", s->cfg->name,
		 id);
	rc = qshm_ring_info(cl->req_name, &ri);
	if (rc == 0 && ri.state == QSHM_RING_CREATING) {
		s->rescan = true;
		goto out;
	}
	if (rc == 0 && ri.state == QSHM_RING_STALE) {
		/* A client that died before we saw it: removed when its pid
		 * is known to be dead. Without a pid the object may be one
		 * whose creator has not yet marked it (a creator preempted
		 * between shm_open and its lock, on a loaded machine, looks
		 * abandoned): look again for a while, never remove it. */
		if (ri.creator_pid > 0 &&
		    qshm_ring_remove_if(cl->req_name, decide_stale, NULL,
					NULL) == 1)
			svc_log(s, "removed '%s': its client (pid %d) died "
				"before it was served", cl->req_name,
				ri.creator_pid);
		else if (object_age_ms(cl->req_name) < SVC_CREATING_PATIENCE_MS)
			s->rescan = true;
		else
			ignore(s, cl->req_name, "left half-created");
		goto out;
	}
	if (rc || ri.state != QSHM_RING_LIVE) {
		if (rc != -ENOENT)
			ignore(s, cl->req_name, rc ? qshm_strerror(rc) :
			       qshm_ring_state_name(ri.state));
		goto out;
	}
	if (s->nclients >= (s->cfg->max_clients ? s->cfg->max_clients : 256)) {
		ignore(s, cl->req_name, "too many clients");
		goto out;
	}
	rc = qshm_producer_create(cl->rep_name, &co, &cl->rep);       /* S2 */
	if (rc) {
		ignore(s, cl->req_name, qshm_last_error());
		goto out;
	}
	rc = qshm_consumer_attach(cl->req_name, QSHM_CONSUMER_RELIABLE,
				  &cl->req);                          /* S3 */
	if (rc) {
		qshm_producer_close(cl->rep, QSHM_CLOSE_UNLINK);
		if (rc == -QSHM_ECREATING)
			s->rescan = true;
		else if (rc != -ENOENT)
			ignore(s, cl->req_name, qshm_last_error());
		goto out;
	}
	pthread_mutex_init(&cl->rep_lock, NULL);
	cl->refs = 1;
	cl->next = s->clients;
	s->clients = cl;
	s->nclients++;
	pthread_mutex_lock(&s->lock);
	svc_ctr_add(s, SVC_CTR_CLIENTS, 1);
	pthread_mutex_unlock(&s->lock);
	svc_log(s, "client %s connected (pid %d)", id,
		qshm_consumer_producer_pid(cl->req));
	return;
out:
	free(cl);
}

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > SVC_ID_MAX)
		return false;
	return strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") == n;
}

static void scan(struct svc *s)
{
	char prefix[QSHM_NAME_MAX + 16];
	size_t plen;
	struct dirent *d;
	DIR *dir;

	s->rescan = false;
	s->last_scan = svc_mono_ns();
	plen = (size_t)snprintf(prefix, sizeof(prefix), "qshm.%s.q.",
				s->cfg->name);
	dir = opendir("/dev/shm");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		const char *id = d->d_name + plen;
		bool known = false;

		if (strncmp(d->d_name, prefix, plen) != 0 || !id_ok(id) ||
		    is_ignored(s, d->d_name + 5))
			continue;
		for (struct svc_client *cl = s->clients; cl; cl = cl->next)
			known |= !strcmp(cl->id, id);
		if (!known)
			client_add(s, id);
	}
	closedir(dir);
}

/* ---- the loop ---- */

static int ctl_create(struct svc *s)
{
	struct qshm_create_opts co = {
		.capacity = 4096, .max_consumers = 1,
		.flags = QSHM_CREATE_REPLACE_STALE, .meta_size = 64,
	};
	struct svc_info info = {
		.magic = SVC_INFO_MAGIC,
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.pid = (int32_t)getpid(),
		.workers = s->cfg->workers, .max_qubits = s->cfg->max_qubits,
		.queue = s->cfg->queue, .max_request = SVC_MAX_REQUEST,
		.flags = s->cfg->busy_poll ? SVC_INFO_BUSY_POLL : 0,
		.memory_budget = s->budget,
	};
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	info.started_ns = (uint64_t)ts.tv_sec * 1000000000u +
			  (uint64_t)ts.tv_nsec;
	rc = qshm_producer_create(s->cfg->name, &co, &s->ctl);     /* S1 */
	if (rc) {
		svc_log(s, "cannot create its ring: %s", rc == -EEXIST ?
			"a live service (or another ring) has the name" :
			qshm_last_error());
		return rc;
	}
	for (int i = 0; i < SVC_CTR_COUNT; i++)
		s->ctr[i] = qshm_producer_user_counter(s->ctl, (unsigned)i);
	return qshm_producer_set_meta(s->ctl, &info, sizeof(info));
}

static void wait_for_work(struct svc *s)
{
	struct qshm_pollitem items[1 + 256 + 1];
	unsigned n = 0;
	int rc;

	if (s->cfg->busy_poll) {
		/* Spin: the loop reads every request ring again at once
		 * (a read that finds nothing makes no system call); new
		 * clients show up through inotify, read every 4096 spins,
		 * and the 100 ms rescan. */
		if ((++s->naps & 4095) == 0 && s->ino >= 0) {
			char buf[4096];
			while (read(s->ino, buf, sizeof(buf)) > 0)
				s->rescan = true;
		}
		svc_cpu_relax();
		return;
	}

	if (s->ino >= 0)
		items[n++] = (struct qshm_pollitem){ .fd = s->ino };
	for (struct svc_client *cl = s->clients;
	     cl && n < sizeof(items) / sizeof(items[0]); cl = cl->next)
		items[n++] = (struct qshm_pollitem){ .c = cl->req, .fd = -1 };
	rc = n && !s->cfg->no_poll ?
	     qshm_poll(items, n, s->rescan ? 5000000 : SVC_POLL_NS) : -ENOSYS;
	if (rc < 0 && rc != -EINTR) {
		/* No io_uring futex waits here (Linux before 6.7, or
		 * io_uring disabled): wait 1 ms on the inotify descriptor
		 * alone, then read every ring again; rescan on an event, and
		 * every 100 naps to be safe. */
		struct pollfd pfd = { .fd = s->ino, .events = POLLIN };
		if (s->ino >= 0 && poll(&pfd, 1, 1) > 0) {
			char buf[4096];
			while (read(s->ino, buf, sizeof(buf)) > 0)
				;
			s->rescan = true;
		} else if (s->ino < 0) {
			usleep(1000);
		}
		if (++s->naps % 100 == 0)
			s->rescan = true;
		return;
	}
	if (rc > 0) {
		unsigned i = s->ino >= 0;
		for (struct svc_client *cl = s->clients; cl && i < n;
		     cl = cl->next, i++)
			cl->poked = (items[i].revents & QSHM_POLL_DATA) != 0;
	}
	if (s->ino >= 0 && rc > 0 && (items[0].revents & QSHM_POLL_FD)) {
		char buf[4096];
		while (read(s->ino, buf, sizeof(buf)) > 0)
			;
		s->rescan = true;
	}
	if (rc == 0)
		s->rescan = true;   /* a timeout: look again, cheaply */
}

int svc_run(const struct svc_config *cfg)
{
	struct svc s = { .cfg = cfg, .ino = -1 };
	pthread_t *th;
	sigset_t all, old;
	unsigned nth = 0;
	int rc;

	if (!cfg->name || qshm_name_check(cfg->name) ||
	    strlen(cfg->name) > SVC_NAME_MAX || !cfg->workers ||
	    cfg->workers > 256 || !cfg->queue || !cfg->max_qubits ||
	    cfg->max_clients > 256)
		return -EINVAL;
	s.budget = cfg->memory_budget;
	if (!s.budget) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		s.budget = pages > 0 && psz > 0 ?
			   (uint64_t)pages * (uint64_t)psz / 2 : (1ull << 30);
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	rc = ctl_create(&s);
	if (rc)
		return rc;
	s.ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s.ino >= 0 && inotify_add_watch(s.ino, "/dev/shm",
					    IN_CREATE | IN_MOVED_TO) < 0) {
		close(s.ino);
		s.ino = -1;
	}
	th = calloc(cfg->workers, sizeof(*th));
	if (!th) {
		rc = -ENOMEM;
		goto out;
	}
	/* Workers take no signals: the main thread's waits see them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; nth < cfg->workers; nth++)
		if (pthread_create(&th[nth], NULL, worker_main, &s))
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (nth == 0) {
		rc = -EAGAIN;
		goto out;
	}
	svc_log(&s, "serving (pid %d, %u workers, --max-qubits %u, "
		"--queue %u)", (int)getpid(), nth, cfg->max_qubits,
		cfg->queue);
	scan(&s);
	if (cfg->ready)
		cfg->ready(cfg->ready_ctx);
	while (!*cfg->stop) {
		int progress = 0;

		for (struct svc_client *cl = s.clients, *next; cl; cl = next) {
			next = cl->next;
			progress += client_drain(&s, cl);
		}
		/* Also every 100 ms: readdir may miss a name created while
		 * it runs, and a busy service never times out its poll. */
		if (s.rescan || svc_mono_ns() - s.last_scan > SVC_POLL_NS)
			scan(&s);
		if (!progress)
			wait_for_work(&s);
	}
	svc_log(&s, "stopping");
	pthread_mutex_lock(&s.lock);
	s.stopping = true;
	for (struct svc_job *j = s.running; j; j = j->next)
		atomic_store_explicit(&j->cancel, 1, memory_order_relaxed);
	svc_wake_locked(&s);
	pthread_mutex_unlock(&s.lock);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	/* What is left in the running list waited for memory. */
	while (s.running) {
		struct svc_job *j = s.running;
		s.running = j->next;
		j->cl->refs--;
		drop_queued(&s, j);
	}
	/* Queued jobs never ran: their clients see the service gone. */
	while (s.qhead) {
		struct svc_job *j = s.qhead;
		s.qhead = j->next;
		j->cl->refs--;
		drop_queued(&s, j);
	}
	while (s.clients)
		client_drop(&s, s.clients, -QSHM_ECLOSED);
	rc = 0;
out:
	free(th);
	for (size_t i = 0; i < s.nignored; i++)
		free(s.ignored[i]);
	free(s.ignored);
	if (s.ino >= 0)
		close(s.ino);
	qshm_producer_close(s.ctl, QSHM_CLOSE_UNLINK);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	return rc;
}
