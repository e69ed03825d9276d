/* SPDX-License-Identifier: MIT */
/*
 * svc_internal.h - the state the parts of `qshm serve` share:
 *   service.c   the main loop: finding clients, reading requests, queue;
 *   svc_job.c   a worker's job: bind, simulate, write the reply records.
 *
 * Locks: svc.lock guards the queue, the running list, every client's
 * refs, gone flag and circuit table, and every template's refs;
 * client.rep_lock serialises writers of one reply ring (a producer handle
 * is single-threaded). Order: a rep_lock is never taken while holding
 * svc.lock; the main thread holds a client's rep_lock through an inline
 * job and takes svc.lock inside it (rep_lock, then svc.lock); the main
 * thread only ever tries a rep_lock.
 */
#ifndef QSHM_SVC_INTERNAL_H
#define QSHM_SVC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "qasm.h"
#include "qshm/qshm.h"
#include "service.h"
#include "svc_wire.h"

#define SVC_MAX_REQUEST (256u << 10)     /* request record, bytes */
#define SVC_REPLY_CAPACITY (8u << 20)    /* reply ring */
#define SVC_REPLY_MAX ((4u << 20) - 64)  /* reply record: the most a
					    ring of 8 MiB takes */
#define SVC_REPLY_WAIT_NS 1000000000     /* a client that never reads */
#define SVC_REPLY_HELD (-2)              /* as a reply's wait: the caller
					    holds the client's rep_lock (an
					    inline job); claims do not wait */
#define SVC_POLL_NS 100000000            /* rescan / stop check */
#define SVC_SPIN_NS 50000                /* the main thread reads again for
					    this long after its last request
					    before it sleeps (as a ring's
					    reader spins before it parks) */
#define SVC_CREATING_PATIENCE_MS 5000    /* a request ring being made */
#define SVC_MAX_CIRCUITS 256             /* registered, per client: each
					    may hold a parse of up to the
					    front end's gate budget */
#define SVC_SHOTS_BYTES_MAX (256u << 20) /* QSHM_WANT_SHOTS: outcomes kept */

/* A parsed circuit, shared by the jobs that run it (svc.lock: refs). */
struct svc_tpl {
	struct qasm_template *t;
	struct qasm_circuit *fixed;  /* a text job's template without
					parameters: its circuit, bound once
					(svc_cache.c); else NULL */
	unsigned refs;
};

struct svc_circ {
	uint64_t id;                 /* the client's */
	struct svc_tpl *tpl;         /* NULL while the worker parses it */
};

/* A reply of the main thread that waits for the client's reply lock. */
struct svc_pend {
	bool registered;             /* REGISTERED, else a JOB header */
	uint64_t id;
	int status;
	char *msg;
	struct svc_pend *next;
};

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
	struct svc_pend *pend, *pend_tail; /* main thread: replies not yet
					written (a worker held the lock) */
	struct svc_circ *circs;      /* svc.lock: registered circuits */
	size_t ncircs, cap_circs;
	struct svc_client *next;     /* main thread's list */
};

enum svc_job_kind { SVC_JOB_RUN = 1, SVC_JOB_REGISTER };

struct svc_job {
	struct svc_client *cl;
	int kind;                    /* enum svc_job_kind */
	struct svc_run_req h;        /* RUN (REGISTER: job = circuit id) */
	char *qasm;                  /* inline text or REGISTER's, or NULL */
	uint32_t qasm_len;
	struct svc_tpl *tpl;         /* RUN of a registered circuit (a ref) */
	uint64_t t_recv;             /* CLOCK_MONOTONIC: request read */
	double *params;              /* h.nparams */
	uint64_t *expect;            /* h.nexpect */
	atomic_int cancel;           /* relaxed: a hint read per batch */
	/* A RUN job parsed and bound, waiting for memory (svc.memwait):
	 * kept so that it is not parsed again. */
	struct qasm_circuit *c;
	bool c_shared;               /* c is tpl->fixed: not the job's to
					free (the tpl ref keeps it) */
	struct qasm_template *own;   /* its text's template */
	uint64_t need;               /* bytes of state, reserved or not */
	bool mem_held;               /* need is counted in svc.mem_used */
	bool inline_run;             /* run by the main thread */
	bool memwaited;              /* svc.lock: put on memwait; the run
					that takes it back clears it */
	bool left;                   /* out of the running list (before its
					reply: a client that has its answer
					finds the job gone from the queue) */
	struct svc_job *mw_next;     /* svc.lock: memwait FIFO */
	struct svc_job *next, *prev;
};

/* The inline lane's cache of parsed texts (svc_cache.c; main thread
 * only, but for the templates' refs under svc.lock). */
#define SVC_TEXT_CACHE_N 16
struct svc_text_ent {
	uint64_t hash;
	uint64_t used;               /* cache tick of its last use */
	char *text;                  /* the key: the job's bytes */
	uint32_t len;
	struct svc_tpl *tpl;         /* one ref */
};
struct svc_text_cache {
	struct svc_text_ent e[SVC_TEXT_CACHE_N];
	unsigned n;
	uint64_t seen[SVC_TEXT_CACHE_N]; /* hashes of recent texts that
					    were not cached */
	unsigned nseen;
	uint64_t tick, seed;
	uint64_t hits, misses, evicted;
	uint64_t (*hash)(const void *data, size_t len, uint64_t seed);
};

struct svc {
	const struct svc_config *cfg;
	qshm_producer *ctl;
	uint64_t *ctr[SVC_CTR_COUNT];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct svc_job *qhead, *qtail;   /* FIFO of queued jobs */
	struct svc_job *running;         /* doubly linked; jobs waiting for
					    memory are in it too */
	struct svc_job *mw_head, *mw_tail; /* waiting for memory, FIFO */
	uint64_t budget;                 /* bytes of state at once */
	uint64_t mem_used;               /* svc.lock: reserved now */
	unsigned nqueued, nrunning;
	unsigned inline_qubits;          /* the lane's bound; 0: off */
	uint64_t inlined;                /* svc.lock: jobs run by the main
					    thread (the inline lane) */
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
	unsigned npend;                  /* main thread: clients with
					    replies pending */
	struct svc_text_cache tcache;    /* main thread */
};

uint64_t svc_mono_ns(void);
/* One line on the service's log (cfg->log), if any. */
void svc_log(struct svc *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One step of a spin (busy-poll). */
static inline void svc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}
/* Metrics (svc.lock held). */
void svc_ctr_add(struct svc *s, enum svc_counter i, int64_t d);

/* svc_sched.c */
void svc_client_free(struct svc_client *cl);
/* Drops a reference (svc.lock held); true if cl must be freed after. */
bool svc_client_unref_locked(struct svc_client *cl);
/* A queued job that will not run: its template ref and memory (its
 * client's ref is the caller's business). */
void svc_drop_queued(struct svc *s, struct svc_job *j);
/* A job's end: its references and memory. */
void svc_job_release(struct svc *s, struct svc_job *j);
void *svc_worker_main(void *arg);
/* Takes a running job out of the running list and its count (once). */
void svc_job_enter_locked(struct svc *s, struct svc_job *j);
void svc_job_leave(struct svc *s, struct svc_job *j);

/* svc_requests.c */
void svc_refuse(struct svc *s, struct svc_client *cl, uint64_t job, int status,
	    const char *msg);
void svc_enqueue(struct svc *s, struct svc_client *cl, struct svc_job *j);
unsigned svc_cancel_locked(struct svc *s, struct svc_client *cl, bool all,
		       uint64_t job, struct svc_job **out);
/* S4 */
void svc_client_drop(struct svc *s, struct svc_client *cl, int why);
/* Reads what cl sent; returns the records handled. */
int svc_client_drain(struct svc *s, struct svc_client *cl);
/* A reply from the main thread, which never waits: written now, or kept
 * (in order) until the client's reply lock is free. */
void svc_reply_main(struct svc *s, struct svc_client *cl, bool registered,
		    uint64_t id, int status, const char *msg);

/* svc_clients.c: finds new request rings (S2, S3). */
void svc_scan(struct svc *s);

/* States up to this size always start (docs/service.md, "Fairness"). */
#define SVC_MEM_SMALL ((uint64_t)1 << 20)

/* The inline lane (svc_job_try_inline(); docs/service.md): the most a job
 * run by the main thread may be. */
#define SVC_INLINE_TEXT 16384            /* bytes of OpenQASM text */
#define SVC_INLINE_GATES 4096            /* gate applications parsed */
#define SVC_INLINE_WORK ((uint64_t)1 << 18) /* amplitude updates */
#define SVC_INLINE_SHOTS 65536           /* shots sampled */
#define SVC_INLINE_REPLY (64u << 10)     /* reply bytes */
#define SVC_INLINE_QUBITS_MAX 16         /* a state of 1 MiB */

/* svc_job.c */
/* Runs one job on a worker (no lock held). Returns true when the job
 * waits for memory instead (it is then on svc.memwait, still in the
 * running list), false when it is over (replied to, if anyone is there). */
bool svc_job_run(struct svc *s, struct svc_job *j);
bool svc_job_try_inline(struct svc *s, struct svc_client *cl,
			struct svc_job *j);
/* Wakes idle workers (svc.lock held). */
void svc_wake_locked(struct svc *s);
/* A failure reply for JOB, written at once or within wait_ns. */
int svc_reply_error(struct svc_client *cl, int64_t wait_ns, uint64_t job,
		    int status, const char *msg);
/* A REGISTERED reply. */
int svc_reply_registered(struct svc_client *cl, int64_t wait_ns,
			 uint64_t circuit, int status,
			 const struct qasm_template *t, const char *msg);
/* Drops a template reference (svc.lock held); true if it must be freed
 * (qasm_template_free() + free(), after unlocking). */
bool svc_tpl_unref_locked(struct svc_tpl *t);
void svc_tpl_free(struct svc_tpl *t);
/* Parses a job's (name "job") or registration's ("circuit") text:
 * includes checked, at most max_gates (0: the front end's budget), at
 * most --max-qubits. */
int svc_parse_text(struct svc *s, const char *name, const char *text,
		   size_t len, uint64_t max_gates, struct qasm_template **out,
		   struct rt_error *err);

/* svc_cache.c: the text cache (docs/service.md, "The text cache"). */
uint64_t svc_text_hash(const void *data, size_t len, uint64_t seed);
void svc_text_cache_init(struct svc_text_cache *tc);
/* Empties it (its references dropped). */
void svc_text_cache_clear(struct svc *s);
/* A reference to the template of TEXT (svc_tpl_unref_locked() when
 * done): the cached one if these bytes are cached, else, if a text of
 * the same hash missed recently, a parse of them within
 * SVC_INLINE_GATES, cached (evicting the least recently used entry when
 * full). Returns 0 and *out, 1 (not cached: the caller parses), or the
 * parse's error (nothing cached). */
int svc_text_cache_get(struct svc *s, const char *text, uint32_t len,
		       struct svc_tpl **out, struct rt_error *err);

/* Frees a job's own memory (not its client or template refs). */
void svc_job_free(struct svc_job *j);

#endif
