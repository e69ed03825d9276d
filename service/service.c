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

#include "qasm.h"
#include "qshm/client.h"
#include "qshm/qshm.h"
#include "rt_counts.h"
#include "service.h"
#include "sim.h"
#include "svc_wire.h"

#define SVC_MAX_REQUEST (256u << 10)     /* request record, bytes */
#define SVC_REPLY_CAPACITY (8u << 20)    /* reply ring */
#define SVC_REPLY_MAX (2u << 20)         /* reply record */
#define SVC_REPLY_WAIT_NS 1000000000     /* a client that never reads */
#define SVC_POLL_NS 100000000            /* rescan / stop check */
#define SVC_CREATING_PATIENCE_MS 5000    /* a request ring being made */

struct svc_client {
	char id[SVC_ID_MAX + 1];
	char req_name[QSHM_NAME_MAX + 1], rep_name[QSHM_NAME_MAX + 1];
	qshm_consumer *req;          /* main thread only */
	qshm_producer *rep;          /* under rep_lock */
	pthread_mutex_t rep_lock;
	unsigned refs;               /* svc.lock: main's + one per job */
	atomic_bool gone;            /* set under svc.lock: its jobs are
					dropped; relaxed reads elsewhere */
	bool poked;                  /* main thread: the last poll said its
					ring is ready */
	uint64_t served;             /* svc.lock: svc.tick when a job of it
					last started; 0: never */
	struct svc_client *next;     /* main thread's list */
};

struct svc_job {
	struct svc_client *cl;
	struct svc_run_req h;
	char *qasm;
	atomic_int cancel;           /* relaxed: a hint read per batch */
	struct svc_job *next, *prev;
};

struct svc {
	const struct svc_config *cfg;
	qshm_producer *ctl;
	uint64_t *ctr[SVC_CTR_COUNT];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct svc_job *qhead, *qtail;   /* FIFO of queued jobs */
	struct svc_job *running;         /* doubly linked */
	unsigned nqueued, nrunning;
	uint64_t tick;                   /* jobs started so far */
	bool stopping;
	struct svc_client *clients;
	unsigned nclients;
	char **ignored;                  /* request names not served */
	size_t nignored;
	int ino;                         /* inotify on /dev/shm, or -1 */
	bool rescan;                     /* a name to retry */
	unsigned naps;                   /* waits without qshm_poll */
	uint64_t last_scan;              /* CLOCK_MONOTONIC ns */
};

static void svc_log(struct svc *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void svc_log(struct svc *s, const char *fmt, ...)
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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Metrics: relaxed stores of plain counters, read as snapshots by
 * inspectors; every writer holds svc.lock, so no update is lost. */
static void ctr_add(struct svc *s, enum svc_counter i, int64_t d)
{
	uint64_t v = __atomic_load_n(s->ctr[i], __ATOMIC_RELAXED);
	__atomic_store_n(s->ctr[i], v + (uint64_t)d, __ATOMIC_RELAXED);
}

/* ---- replies ---- */

/*
 * Writes a result into cl's reply ring. E (entries) may be NULL for an
 * error. Takes cl->rep_lock; never svc.lock. A client that leaves its
 * ring full for SVC_REPLY_WAIT_NS loses the reply (its wait() times out).
 */
static int reply_wait(struct svc_client *cl, int64_t wait_ns,
		      uint64_t job, int status, uint64_t shots,
		      uint64_t sim_ns, const struct sim_count_entry *e,
		      size_t n, const char *msg)
{
	struct svc_result h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.status = status, .job = job, .shots = shots,
		.sim_ns = sim_ns,
	};
	size_t olen = n ? strlen(e[0].outcome) : 0, size;
	char *p;
	void *buf;
	int rc;

	h.msg_len = msg ? (uint32_t)strnlen(msg, SVC_MSG_MAX) : 0;
	if (status == 0)
		h.msg_len = 0;
	size = svc_result_size((uint32_t)n, (uint32_t)olen, h.msg_len);
	if (n > UINT32_MAX || olen > UINT32_MAX || size == 0 ||
	    size > SVC_REPLY_MAX)
		return reply_wait(cl, wait_ns, job, -E2BIG, 0, 0, NULL, 0,
				  "the counts do not fit in a reply record "
				  "(2 MiB)");
	h.nentries = (uint32_t)n;
	h.outcome_len = (uint32_t)olen;
	pthread_mutex_lock(&cl->rep_lock);
	rc = qshm_producer_claim(cl->rep, size, SVC_REC_RESULT, wait_ns,
				 &buf);
	if (rc == 0) {
		p = buf;
		memcpy(p, &h, sizeof(h));
		p += sizeof(h);
		for (size_t i = 0; i < n; i++, p += 8)
			memcpy(p, &e[i].count, 8);
		for (size_t i = 0; i < n; i++, p += olen)
			memcpy(p, e[i].outcome, olen);
		if (h.msg_len)
			memcpy(p, msg, h.msg_len);
		qshm_producer_commit(cl->rep);
	}
	pthread_mutex_unlock(&cl->rep_lock);
	return rc;
}

/* From a worker: a client slow to read may hold it up to 1 s. */
static int reply(struct svc_client *cl, uint64_t job, int status,
		 uint64_t shots, uint64_t sim_ns,
		 const struct sim_count_entry *e, size_t n, const char *msg)
{
	return reply_wait(cl, SVC_REPLY_WAIT_NS, job, status, shots, sim_ns,
			  e, n, msg);
}

/* From the main thread: never waits, so a client that does not read its
 * replies (and floods requests) cannot stall the others; the answer is
 * dropped and the client's wait() times out. */
static int reply_now(struct svc_client *cl, uint64_t job, int status,
		     const char *msg)
{
	return reply_wait(cl, 0, job, status, 0, 0, NULL, 0, msg);
}

static void client_free(struct svc_client *cl)
{
	qshm_producer_close(cl->rep, QSHM_CLOSE_UNLINK);
	pthread_mutex_destroy(&cl->rep_lock);
	free(cl);
}

/* Drops a reference (svc.lock held); returns true if cl must be freed
 * (after unlocking). */
static bool client_unref_locked(struct svc_client *cl)
{
	return --cl->refs == 0;
}

/* ---- workers ---- */

/* Asked between batches of shots. */
static int job_should_stop(void *ctx)
{
	struct svc_job *j = ctx;

	if (atomic_load_explicit(&j->cancel, memory_order_relaxed))
		return -ECANCELED;
	if (j->h.deadline_ns && mono_ns() >= j->h.deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

/* Only `include "qelib1.inc"` (built in): the service reads no file a
 * client names. Conservative: any other occurrence of the word, even in
 * a comment, refuses the job. */
static int check_includes(const char *text, size_t len, char *msg,
			  size_t msglen)
{
	static const char kw[] = "include", lib[] = "\"qelib1.inc\"";
	const char *p = text, *end = text + len;

	while ((p = memmem(p, (size_t)(end - p), kw, sizeof(kw) - 1))) {
		const char *q = p + sizeof(kw) - 1;
		while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' ||
				   *q == '\n'))
			q++;
		if ((size_t)(end - q) < sizeof(lib) - 1 ||
		    memcmp(q, lib, sizeof(lib) - 1) != 0) {
			snprintf(msg, msglen, "job: error: only 'include "
				 "\"qelib1.inc\";' is allowed in a service "
				 "job (offset %zu)", (size_t)(p - text));
			return -EINVAL;
		}
		p = q;
	}
	return 0;
}

static void job_run(struct svc *s, struct svc_job *j)
{
	struct qasm_circuit *c = NULL;
	struct sim_run *run = NULL;
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_count_entry *e = NULL;
	struct rt_error err;
	size_t n = 0;
	uint64_t t0;
	int rc;

	rt_error_clear(&err);
	rc = job_should_stop(j);
	if (rc)
		goto done;
	rc = check_includes(j->qasm, j->h.qasm_len, err.msg, sizeof(err.msg));
	if (rc)
		goto done;
	rc = qasm_parse_string("job", j->qasm, j->h.qasm_len, 0, &c, &err);
	if (rc)
		goto done;
	if (c->nqubits > s->cfg->max_qubits) {
		rc = rt_error_set(&err, -EFBIG, "job: error: %u qubits, the "
				  "service takes at most %u (--max-qubits)",
				  c->nqubits, s->cfg->max_qubits);
		goto done;
	}
	/* The configuration of `qshm sim`: same seed, same counts. */
	cfg.seed = j->h.seed;
	rc = sim_run_create(&run, c, &cfg, &err);
	if (rc)
		goto done;
	t0 = mono_ns();
	rc = rt_counts_run(run, c, j->h.shots, job_should_stop, j, &e, &n,
			   &err);
	if (rc == 0) {
		rc = reply(j->cl, j->h.job, 0, j->h.shots, mono_ns() - t0, e,
			   n, NULL);
		if (rc == 0)
			goto counted;
		err.msg[0] = '\0';
	}
done:
	if (rc == -ECANCELED &&
	    atomic_load_explicit(&j->cl->gone, memory_order_relaxed))
		;       /* nobody to tell */
	else if (rc == -ETIMEDOUT)
		reply(j->cl, j->h.job, rc, 0, 0, NULL, 0, "job: its deadline "
		      "passed");
	else if (rc == -ECANCELED)
		reply(j->cl, j->h.job, rc, 0, 0, NULL, 0, "job: cancelled");
	else
		reply(j->cl, j->h.job, rc < 0 ? rc : -EIO, 0, 0, NULL, 0,
		      err.msg[0] ? err.msg : strerror(rc < 0 ? -rc : EIO));
counted:
	pthread_mutex_lock(&s->lock);
	ctr_add(s, rc == 0 ? SVC_CTR_DONE : rc == -ETIMEDOUT ?
		SVC_CTR_TIMEDOUT : rc == -ECANCELED ? SVC_CTR_CANCELLED :
		SVC_CTR_FAILED, 1);
	pthread_mutex_unlock(&s->lock);
	free(e);
	sim_run_destroy(run);
	qasm_circuit_free(c);
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

static void *worker_main(void *arg)
{
	struct svc *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct svc_job *j;
		bool last;

		while (!s->qhead && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stopping)
			break;
		j = queue_take_fair_locked(s);
		s->nqueued--;
		j->prev = NULL;
		j->next = s->running;
		if (s->running)
			s->running->prev = j;
		s->running = j;
		s->nrunning++;
		ctr_add(s, SVC_CTR_QUEUED, -1);
		ctr_add(s, SVC_CTR_RUNNING, 1);
		if (atomic_load_explicit(&j->cl->gone, memory_order_relaxed))
			atomic_store_explicit(&j->cancel, 1,
					      memory_order_relaxed);
		pthread_mutex_unlock(&s->lock);

		job_run(s, j);

		pthread_mutex_lock(&s->lock);
		if (j->prev)
			j->prev->next = j->next;
		else
			s->running = j->next;
		if (j->next)
			j->next->prev = j->prev;
		s->nrunning--;
		ctr_add(s, SVC_CTR_RUNNING, -1);
		last = client_unref_locked(j->cl);
		pthread_mutex_unlock(&s->lock);
		if (last)
			client_free(j->cl);
		free(j->qasm);
		free(j);
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
	ctr_add(s, SVC_CTR_REFUSED, 1);
	pthread_mutex_unlock(&s->lock);
	reply_now(cl, job, status, msg);
}

static void handle_run(struct svc *s, struct svc_client *cl,
		       const struct qshm_record *r)
{
	struct svc_run_req h;
	struct svc_job *j;
	const char *text;
	char why[256];
	int rc;

	rc = svc_run_req_decode(r->data, r->len, &h, &text, why, sizeof(why));
	if (rc) {
		uint64_t job = 0;
		if (r->len >= 16)
			memcpy(&job, (const char *)r->data + 8, 8);
		svc_log(s, "client %s: %s", cl->id, why);
		refuse(s, cl, job, -QSHM_EREFUSED, why);
		return;
	}
	if (h.deadline_ns && mono_ns() >= h.deadline_ns) {
		pthread_mutex_lock(&s->lock);
		ctr_add(s, SVC_CTR_TIMEDOUT, 1);
		pthread_mutex_unlock(&s->lock);
		reply_now(cl, h.job, -ETIMEDOUT, "job: its deadline passed "
			  "before it was queued");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j)
		j->qasm = malloc(h.qasm_len);
	if (!j || !j->qasm) {
		free(j);
		refuse(s, cl, h.job, -ENOMEM, "service: out of memory");
		return;
	}
	j->cl = cl;
	j->h = h;
	memcpy(j->qasm, text, h.qasm_len);
	pthread_mutex_lock(&s->lock);
	if (s->nqueued + s->nrunning >= s->cfg->queue) {
		pthread_mutex_unlock(&s->lock);
		free(j->qasm);
		free(j);
		refuse(s, cl, h.job, -QSHM_EQUEUEFULL, "service: queue full "
		       "(--queue)");
		return;
	}
	cl->refs++;
	if (s->qtail)
		s->qtail->next = j;
	else
		s->qhead = j;
	s->qtail = j;
	s->nqueued++;
	ctr_add(s, SVC_CTR_QUEUED, 1);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
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
		if (j->cl == cl && (all || j->h.job == job)) {
			*pp = j->next;
			if (s->qtail == j)
				s->qtail = prev;
			j->next = *out;
			*out = j;
			s->nqueued--;
			ctr_add(s, SVC_CTR_QUEUED, -1);
			ctr_add(s, SVC_CTR_CANCELLED, 1);
			n++;
			continue;
		}
		prev = j;
		pp = &j->next;
	}
	for (struct svc_job *j = s->running; j; j = j->next)
		if (j->cl == cl && (all || j->h.job == job))
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
		free(j->qasm);
		free(j);
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
	last = client_unref_locked(cl);
	ctr_add(s, SVC_CTR_CLIENTS, -1);
	pthread_mutex_unlock(&s->lock);
	while (taken) {
		struct svc_job *j = taken;
		taken = j->next;
		free(j->qasm);
		free(j);
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
	ctr_add(s, SVC_CTR_CLIENTS, 1);
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
	s->last_scan = mono_ns();
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
		if (s.rescan || mono_ns() - s.last_scan > SVC_POLL_NS)
			scan(&s);
		if (!progress)
			wait_for_work(&s);
	}
	svc_log(&s, "stopping");
	pthread_mutex_lock(&s.lock);
	s.stopping = true;
	for (struct svc_job *j = s.running; j; j = j->next)
		atomic_store_explicit(&j->cancel, 1, memory_order_relaxed);
	pthread_cond_broadcast(&s.cond);
	pthread_mutex_unlock(&s.lock);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	/* Queued jobs never ran: their clients see the service gone. */
	while (s.qhead) {
		struct svc_job *j = s.qhead;
		s.qhead = j->next;
		j->cl->refs--;
		free(j->qasm);
		free(j);
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
