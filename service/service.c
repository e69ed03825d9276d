/* SPDX-License-Identifier: MIT */
/*
 * service.c - `qshm serve`: the service loop (service.h, docs/service.md):
 * the control ring, the main thread's waiting, start and stop. The rest is
 * in svc_clients.c (finding clients), svc_requests.c (their requests),
 * svc_sched.c (queue and workers), svc_job.c (a job) and svc_wire.c (the
 * records).
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
 * ring (a producer handle is single-threaded). Order: a rep_lock is never
 * taken while holding svc.lock; the main thread holds a client's rep_lock
 * through an inline job (svc_job_try_inline()) and takes svc.lock inside
 * it; the main thread only ever tries a rep_lock, never waits for one.
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

	struct svc_client *polled[sizeof(items) / sizeof(items[0])];

	if (s->ino >= 0)
		items[n++] = (struct qshm_pollitem){ .fd = s->ino };
	/* A client owed replies (its reply lock was busy) is not read, so
	 * not polled either: its ring would wake the poll at once; the
	 * loop looks at it again within 1 ms. */
	for (struct svc_client *cl = s->clients;
	     cl && n < sizeof(items) / sizeof(items[0]); cl = cl->next) {
		cl->poked = false;
		if (cl->pend)
			continue;
		polled[n] = cl;
		items[n++] = (struct qshm_pollitem){ .c = cl->req, .fd = -1 };
	}
	rc = n && !s->cfg->no_poll ?
	     qshm_poll(items, n, s->npend ? 1000000 : s->rescan ? 5000000 :
		       SVC_POLL_NS) : -ENOSYS;
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
	if (rc > 0)
		for (unsigned i = s->ino >= 0; i < n; i++)
			polled[i]->poked =
				(items[i].revents & QSHM_POLL_DATA) != 0;
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
	s.inline_qubits = cfg->no_inline ? 0 : !cfg->inline_qubits ?
			  SVC_INLINE_QUBITS_DEFAULT :
			  cfg->inline_qubits < SVC_INLINE_QUBITS_MAX ?
			  cfg->inline_qubits : SVC_INLINE_QUBITS_MAX;
	s.budget = cfg->memory_budget;
	if (!s.budget) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		s.budget = pages > 0 && psz > 0 ?
			   (uint64_t)pages * (uint64_t)psz / 2 : (1ull << 30);
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	svc_text_cache_init(&s.tcache);
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
		if (pthread_create(&th[nth], NULL, svc_worker_main, &s))
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (nth == 0) {
		rc = -EAGAIN;
		goto out;
	}
	svc_log(&s, "serving (pid %d, %u workers, --max-qubits %u, "
		"--queue %u)", (int)getpid(), nth, cfg->max_qubits,
		cfg->queue);
	svc_scan(&s);
	if (cfg->ready)
		cfg->ready(cfg->ready_ctx);
	uint64_t last_work = 0;

	while (!*cfg->stop) {
		int progress = 0;
		uint64_t now;

		for (struct svc_client *cl = s.clients, *next; cl; cl = next) {
			next = cl->next;
			progress += svc_client_drain(&s, cl);
		}
		now = svc_mono_ns();
		/* Also every 100 ms: readdir may miss a name created while
		 * it runs, and a busy service never times out its poll. */
		if (s.rescan || now - s.last_scan > SVC_POLL_NS)
			svc_scan(&s);
		if (progress)
			last_work = now;
		else if (!cfg->busy_poll && now - last_work < SVC_SPIN_NS)
			svc_cpu_relax();   /* a client's next request comes
					      soon after its reply */
		else
			wait_for_work(&s);
	}
	svc_log(&s, "stopping (%llu jobs ran on the main thread, the "
		"inline lane; text cache: %llu hits, %llu misses, %llu "
		"evicted, %u of %u entries)", (unsigned long long)s.inlined,
		(unsigned long long)s.tcache.hits,
		(unsigned long long)s.tcache.misses,
		(unsigned long long)s.tcache.evicted, s.tcache.n,
		SVC_TEXT_CACHE_N);
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
		svc_drop_queued(&s, j);
	}
	/* Queued jobs never ran: their clients see the service gone. */
	while (s.qhead) {
		struct svc_job *j = s.qhead;
		s.qhead = j->next;
		j->cl->refs--;
		svc_drop_queued(&s, j);
	}
	while (s.clients)
		svc_client_drop(&s, s.clients, -QSHM_ECLOSED);
	svc_text_cache_clear(&s);
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

