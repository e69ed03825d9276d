/* SPDX-License-Identifier: MIT */
/*
 * svc_sched.c - the jobs of `qshm serve` between their request and their
 * end: references, the round-robin queue, memory waits and the worker
 * threads (docs/service.md, "Fairness", "Waiting"). Locks as in
 * svc_internal.h.
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

void svc_client_free(struct svc_client *cl)
{
	qshm_producer_close(cl->rep, QSHM_CLOSE_UNLINK);
	pthread_mutex_destroy(&cl->rep_lock);
	while (cl->pend) {
		struct svc_pend *p = cl->pend;
		cl->pend = p->next;
		free(p->msg);
		free(p);
	}
	free(cl->circs);
	free(cl);
}

/* Drops a reference (svc.lock held); returns true if cl must be freed
 * (after unlocking). */
bool svc_client_unref_locked(struct svc_client *cl)
{
	return --cl->refs == 0;
}


/* Ends a job's life in the service (svc.lock not held): its references
 * and memory. */
/* A queued job that will not run (its client's ref is the caller's
 * business): its template ref and memory. */
void svc_drop_queued(struct svc *s, struct svc_job *j)
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

void svc_job_release(struct svc *s, struct svc_job *j)
{
	bool last, tlast = false;

	pthread_mutex_lock(&s->lock);
	last = svc_client_unref_locked(j->cl);
	if (j->tpl)
		tlast = svc_tpl_unref_locked(j->tpl);
	pthread_mutex_unlock(&s->lock);
	if (tlast)
		svc_tpl_free(j->tpl);
	if (last)
		svc_client_free(j->cl);
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

/* Idle: sleep on the condition variable. Also with --busy-poll: the main
 * thread spins and runs small jobs itself (the inline lane), so a worker
 * only ever gets a job that takes long enough for its wake-up not to
 * count; spinning workers took the CPUs that the main thread and the
 * clients need (on 2 CPUs the round trip became scheduler time slices). */
static void worker_idle_locked(struct svc *s)
{
	if (s->mw_head) {
		/* Jobs waiting for memory may pass their deadline or be
		 * cancelled: look every 10 ms. */
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
}

/* J starts (svc.lock held): into the running list, counted as running. */
void svc_job_enter_locked(struct svc *s, struct svc_job *j)
{
	j->prev = NULL;
	j->next = s->running;
	if (s->running)
		s->running->prev = j;
	s->running = j;
	s->nrunning++;
	svc_ctr_add(s, SVC_CTR_RUNNING, 1);
}

void svc_job_leave(struct svc *s, struct svc_job *j)
{
	pthread_mutex_lock(&s->lock);
	if (!j->left) {
		if (j->prev)
			j->prev->next = j->next;
		else
			s->running = j->next;
		if (j->next)
			j->next->prev = j->prev;
		j->next = j->prev = NULL;
		s->nrunning--;
		svc_ctr_add(s, SVC_CTR_RUNNING, -1);
		j->left = true;
	}
	pthread_mutex_unlock(&s->lock);
}

void *svc_worker_main(void *arg)
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
			svc_ctr_add(s, SVC_CTR_QUEUED, -1);
			svc_job_enter_locked(s, j);
		}
		if (atomic_load_explicit(&j->cl->gone, memory_order_relaxed))
			atomic_store_explicit(&j->cancel, 1,
					      memory_order_relaxed);
		pthread_mutex_unlock(&s->lock);

		if (svc_job_run(s, j)) {
			pthread_mutex_lock(&s->lock);
			continue;       /* waits for memory */
		}

		svc_job_leave(s, j);    /* if svc_job_run did not */
		svc_job_release(s, j);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

