/* SPDX-License-Identifier: MIT */
/*
 * internal.h - process-local state of libqshm's handles and the helpers the
 * source files share. Private: not installed.
 */
#ifndef QSHM_INTERNAL_H
#define QSHM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "qshm/qshm.h"
#include "layout.h"

#define QSHM_EXPORT __attribute__((visibility("default")))

#if defined(__x86_64__) || defined(__i386__)
#define qshm__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define qshm__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define qshm__cpu_relax() do { } while (0)
#endif

/* Prefetching for writing: the line comes over in the state a store needs
 * (docs/protocol.md, "Prefetching ahead of the producer"). x86 has
 * PREFETCHW only where CPUID says so (producer.c asks once); elsewhere the
 * compiler's write prefetch. */
#if defined(__x86_64__) || defined(__i386__)
#define qshm__prefetch_write(a) \
	__asm__ __volatile__("prefetchw %0" :: "m"(*(const char *)(a)))
#else
#define qshm__prefetch_write(a) __builtin_prefetch((a), 1, 3)
#endif
/* Lines prefetched ahead of the producer per commit, at most. */
#define QSHM_PREFETCH_LINES 64u

/* How often a waiting side looks for a dead peer, and the longest single
 * futex sleep (a dead peer cannot wake anyone). */
#define QSHM_LIVENESS_NS    (25u * 1000u * 1000u)
#define QSHM_SLEEP_SLICE_NS (25u * 1000u * 1000u)
/* A read-only consumer cannot sleep on the futex: it polls, backing off
 * from the first to the second. */
#define QSHM_RO_POLL_MIN_NS (50u * 1000u)
#define QSHM_RO_POLL_MAX_NS (5u * 1000u * 1000u)
#define QSHM_DEFAULT_SPIN_NS (50u * 1000u)
/* A consumer that read one record of at most this many bytes (header
 * included) since the ring was last empty is in a ping-pong: it polls
 * the next commit word; otherwise the write position. */
#define QSHM_PINGPONG_BYTES 512u
/* A reliable consumer that streams and finds the ring empty lets the
 * producer get more than this far ahead (at most an eighth of the ring)
 * before it reads on, for at most QSHM_STREAM_WAIT_NS (and the round of
 * polls under way then), and no longer than one round in which the
 * producer published nothing (docs/protocol.md, "A streaming consumer
 * keeps its distance"). */
#define QSHM_STREAM_LEAD    65536u
#define QSHM_STREAM_WAIT_NS 5000u
/* Polls of a spinning wait between looks at the clock. */
#define QSHM_SPIN_ROUND     64u

/* A mapped segment, as either side sees it. The geometry fields are copies
 * made at create/attach time, after validation: never re-read from shared
 * memory. */
struct qshm_map {
	uint8_t *base;
	uint64_t size;
	int fd;
	struct qshm_kheader *khdr;
	struct qshm_kprod *kprod;
	struct qshm_kwake *kwake;
	struct qshm_kstats *kstats;
	struct qshm_kslot *kslots;
	_Atomic uint64_t *kparked;     /* QSHM_PARKED_WORDS of them */
	struct qshm_kmeta *kmeta;
	_Atomic uint64_t *kmeta_words; /* meta_size / 8 of them */
	uint64_t meta_size;
	uint8_t *kdata;
	uint64_t capacity;
	uint64_t mask;
	uint64_t max_record;
	uint32_t max_consumers;
	_Atomic uint32_t truncated; /* set by the SIGBUS guard (guard.h) */
	uint64_t generation;
	uint64_t seq_key;
	int32_t creator_pid;
	uint64_t creator_start;
	uint64_t features;    /* kh_features, validated */
	char name[QSHM_NAME_MAX + 1];
	struct qshm__guard_entry *guard; /* registration, or NULL */
};

struct qshm_producer {
	/* First: the state the inline claim in qshm.h uses (claim_pos,
	 * last_pos, mark, limit: see qshm__set_limit()). */
	struct qshm__pfast f;
	struct qshm_map m;
	uint64_t committed;   /* end of committed records (= kp_write_pos) */
	uint64_t head;        /* = kp_head_pos */
	uint64_t cached_min;  /* slowest reliable consumer, UINT64_MAX: none */
	uint32_t seen_epoch;  /* kp_epoch at the last rescan */
	uint64_t commit_seq;  /* seq of the first uncommitted record */
	uint64_t records, bytes; /* committed totals, mirrored to kstats */
	/* First record start in each 1/16th of the ring, by absolute
	 * segment (pos >> seg_shift), recorded at commit: lets the head jump
	 * to a record boundary without walking old headers. */
	uint64_t checkpoint[16];
	uint64_t checkpoint_seg;
	unsigned seg_shift;
	uint64_t full_waits, wakes, evictions;
	enum qshm_wait_mode mode;
	uint64_t spin_ns;
	uint32_t want_consumers; /* for qshm_producer_wait_consumers() */
	/* QSHM_FEAT_ASYM_FENCE: commits fence only while a consumer asks
	 * (kp_fence_demand); releases fence only while we ask. */
	int asym;
	int space_fence;      /* kw_release_fence raised by us */
	int space_ok;         /* and a barrier after it returned 0 */
	uint64_t space_mark;  /* records at the last wait for space */
	uint64_t fenced_commits; /* commits a consumer asked to fence */
	int prefetch;         /* commits prefetch the lines ahead for writing */
};

struct qshm_consumer {
	struct qshm_map m;
	unsigned flags;
	int slot;             /* index in the table, -1 for read-only */
	uint64_t slot_word;   /* our kc_word since registering */
	int lossy;
	uint64_t pos;         /* next record to read */
	uint64_t released;    /* last position published to kc_read_pos */
	uint64_t cached_wp;   /* last kp_write_pos seen */
	uint64_t expected_seq;
	int have_seq;
	uint64_t records, lost;
	uint64_t overrun_pos; /* last record counted lost by validate */
	uint64_t next_check_ns; /* when to look at the producer's liveness */
	unsigned empty_polls;
	int poll_word;        /* this wait spins on the commit word */
	uint64_t run_mark;    /* records at the start of the last wait */
	uint64_t run_pos;     /* and its position */
	uint64_t lead;        /* streaming: bytes to let the producer get
				 ahead before reading on (0: none) */
	uint64_t lead_until;  /* clock at which this wait stops waiting for
				 the lead */
	uint64_t last_now;    /* clock at the last look, while waiting */
	int gone;             /* 0, or the terminal error once seen */
	int sleeping;         /* between wait_prepare and wait_finish */
	int prod_pidfd;       /* pidfd of the producer, or -1: use /proc */
	uint64_t ro_poll_ns;  /* read-only: current poll interval */
	enum qshm_wait_mode mode;
	uint64_t spin_ns;
	/* QSHM_FEAT_ASYM_FENCE: a wait needs the producer's fence: asked
	 * for once (kp_fence_demand), then made sure of with one barrier. */
	int asym;
	int demanding;        /* our slot counts in kp_fence_demand */
	int demand_ok;        /* and a barrier after it returned 0 */
	uint64_t demand_mark; /* records at the last wait */
};

/* error.c */
int qshm__fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void qshm__clear_error(void);

/* proc.c */
uint64_t qshm__now_ns(void);
int qshm__proc_start(pid_t pid, uint64_t *start);
int qshm__proc_alive(pid_t pid, uint64_t start);
int qshm__pidfd_open(pid_t pid, uint64_t start);
int qshm__pidfd_alive(int pidfd);

/* futex.c */
int qshm__futex_wait(_Atomic uint32_t *word, uint32_t val, uint64_t ns);
int qshm__futex_wake(_Atomic uint32_t *word, int n);
struct io_uring_sqe;
/* Fills sqe with an io_uring FUTEX_WAIT on a shared 32-bit word (while
 * *word == val, any wake bit); the caller sets user_data. */
void qshm__prep_futex_wait(struct io_uring_sqe *sqe, const uint32_t *word,
			   uint32_t val);
/* For the completion of such an SQE with result res: -ENOSYS (recorded
 * as who's failure) when it says the kernel lacks the opcode, else 0. */
int qshm__futex_wait_nosys(int res, const char *who);
/* -ENOSYS, recorded as who's failure: no io_uring futex waits here. */
int qshm__futex_nosys(const char *who);
/* Whether a completion already said so in this process. */
bool qshm__futex_missing(void);
uint64_t qshm__deadline(int64_t timeout_ns);

/* barrier.c: the asymmetric fence (docs/protocol.md, "Who pays the
 * fence"). setup() registers this process once and returns 1, or a
 * negative errno (-EPERM: QSHM_FENCE=full); ok() says whether it is
 * registered now; barrier() is membarrier(GLOBAL_EXPEDITED): 0 or -errno. */
int qshm__barrier_setup(void);
bool qshm__barrier_ok(void);
int qshm__barrier(void);
/* The longest sleep of a waiter whose barrier failed (it cannot trust the
 * wake-up protocol, so it looks again this often). */
#define QSHM_NOBARRIER_SLICE_NS (1000u * 1000u)

/* 1 + the highest slot index ever taken (kp_slot_hwm, loaded with order
 * mo), never more than the slots the segment has: shared, so never
 * trusted. Scans of the slots stop there. */
static inline uint32_t qshm__slot_hwm(const struct qshm_map *m,
				      memory_order mo)
{
	uint32_t hwm = atomic_load_explicit(&m->kprod->kp_slot_hwm, mo);
	return hwm > m->max_consumers ? m->max_consumers : hwm;
}

/* segment.c */
int qshm__shm_path(const char *name, char *buf, size_t size);
/* qshm__map_attach() modes */
#define QSHM__MAP_READONLY  1 /* PROT_READ from an O_RDONLY descriptor */
#define QSHM__MAP_ANY_OWNER 2 /* a look, not an attach: any owner */
int qshm__map_attach(const char *name, int mode, struct qshm_map *m);
void qshm__map_set_geometry(struct qshm_map *m);
void qshm__map_release(struct qshm_map *m);
uint64_t qshm__scan_min(struct qshm_map *m, uint32_t *nreliable);

/* consumer.c: clears slot i's parked bit (idempotent). For whoever evicts
 * or takes over a slot. */
void qshm__unpark_slot(struct qshm_map *m, uint32_t i);
/* For a dead or evicted owner's slot: its parked bit and its fence demand
 * (D2; gen: the generation of that owner's registered word), the demand
 * taken back exactly once. */
void qshm__slot_cleanup(struct qshm_map *m, uint32_t i, uint64_t gen);
/* D2 alone, for the owner whose registered word had generation gen. */
void qshm__slot_undemand(struct qshm_map *m, uint32_t i, uint64_t gen);
/* qshm_consumer_wait_prepare() in three steps (qshm_poll): announce (0
 * or an error; W0/W1); demand (D1: 1 if a barrier must follow); then,
 * after one barrier for every ring that asked, check with whether it was
 * needed and its result (1: sleep on *word == *val; 2: the same, but for
 * at most QSHM_NOBARRIER_SLICE_NS, the barrier having failed; 0: look
 * again; < 0: an error; the last two leave c unannounced).
 * qshm__wait_prepare() does all three for one consumer. */
int qshm__prepare_announce(qshm_consumer *c, const uint32_t **word,
			   uint32_t *val);
int qshm__demand(qshm_consumer *c);
int qshm__prepare_check(qshm_consumer *c, int need_barrier, int barrier_err);
int qshm__wait_prepare(qshm_consumer *c, const uint32_t **word,
		       uint32_t *val);

/* inspect.c */
void qshm__info_from_map(struct qshm_map *m, struct qshm_ring_info *info);

#endif /* QSHM_INTERNAL_H */
