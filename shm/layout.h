/* SPDX-License-Identifier: MIT */
/*
 * layout.h - the shared segment's layout. Private to libqshm: not installed.
 *
 * Every struct here lives in memory another process can change. Fields are
 * _Atomic where more than one process touches them after publication, and
 * every access names its memory order at the call site. Fields written
 * only before the header is published (kh_state = READY, release) are plain:
 * the attach side reads them after its acquire load of kh_state and copies
 * what it needs into process-local memory before trusting it.
 *
 * Prefixes: kh_ header, kp_ producer line, kw_ wake lines, ks_ stats,
 * kc_ consumer slot. The k says "shared, may change under you".
 *
 * Segment (offsets in bytes; docs/protocol.md has the same table):
 *
 *	0      struct qshm_kheader     256   immutable once published
 *	256    struct qshm_kprod       128   producer line; its second 64 B
 *	                                     written by consumers now and then
 *	384    struct qshm_kwake       128   futex words, space flag
 *	512    struct qshm_kstats      256   producer counters
 *	768    struct qshm_kslot[N]    128 each, N = max_consumers
 *	K      parked bits, u64[16]    128   K = 768 + 128 N: sleeping consumers
 *	M      struct qshm_kmeta       64    M = K + 128: descriptor seqlock
 *	M+64   descriptor bytes        meta_size (a multiple of 64)
 *	D      data, capacity bytes    D = round_up(M + 64 + meta_size, 4096)
 */
#ifndef QSHM_LAYOUT_H
#define QSHM_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define QSHM_MAGIC        UINT64_C(0x474e49524d485351) /* "QSHMRING" */
#define QSHM_CACHELINE    64
/* Hot fields of different writers sit this far apart: one line each plus a
 * guard line, so adjacent-line prefetch does not make them share. */
#define QSHM_HOT_STRIDE   128
#define QSHM_PAGE         4096
#define QSHM_REC_ALIGN    16
#define QSHM_REC_HDR      16

/* Layout facts encoded in the header's kh_layout word: pointer size,
 * cache-line size, record alignment and byte order. A reader built with
 * other facts refuses the segment (QSHM_ELAYOUT). */
#define QSHM_LAYOUT_WORD \
	((uint32_t)sizeof(void *) | ((uint32_t)QSHM_CACHELINE << 8) | \
	 ((uint32_t)QSHM_REC_ALIGN << 16) | \
	 ((uint32_t)(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) << 24))

/* kh_features (format 3). A reader refuses a segment with a bit it does
 * not know: each one changes what its waiters must do.
 * QSHM_FEAT_ASYM_FENCE: the producer commits without a full fence; every
 * waiter on the data futex issues membarrier(GLOBAL_EXPEDITED) between
 * its announcement (W1) and its re-check (W2) (docs/protocol.md, "Who
 * pays the fence"). */
#define QSHM_FEAT_ASYM_FENCE UINT64_C(1)
#define QSHM_FEAT_KNOWN      QSHM_FEAT_ASYM_FENCE
/* With it, a side that asked for its peer's fence (kp_fence_demand,
 * kw_release_fence) stops asking after this many records without a wait
 * (a stream that keeps up again). Local policy, not format: any value is
 * correct. */
#define QSHM_DEMAND_DROP_RECORDS 4096u

/* kh_state */
#define QSHM_KSTATE_CREATING 0u
#define QSHM_KSTATE_READY    0x52454459u /* "YDER" */

/* Slot states: the low 8 bits of kc_word. */
#define QSHM_SLOT_FREE     0u
#define QSHM_SLOT_CLAIMED  1u /* being filled in by an attaching consumer */
#define QSHM_SLOT_RELIABLE 2u
#define QSHM_SLOT_LOSSY    3u
#define QSHM_SLOT_EVICTED  4u /* reliable consumer found dead, evicted */

/*
 * kc_word: state | owner pid << 8 | generation << 40, one 64-bit word
 * changed only by CAS from the exact value seen, each change bumping the
 * generation (24 bits, wrapping). A decision made on an old word ("its
 * owner is dead") can never be applied after another process changed the
 * slot: its CAS fails (no ABA but after 2^24 changes in between).
 */
#define QSHM_SLOT_GEN_MASK UINT64_C(0xffffff)
static inline uint64_t qshm__slot_word(uint32_t state, int32_t pid,
				       uint64_t gen)
{
	return (uint64_t)(state & 0xffu) | (uint64_t)(uint32_t)pid << 8 |
	       (gen & QSHM_SLOT_GEN_MASK) << 40;
}
static inline uint32_t qshm__slot_state(uint64_t w)
{
	return (uint32_t)(w & 0xffu);
}
static inline int32_t qshm__slot_pid(uint64_t w)
{
	return (int32_t)(uint32_t)(w >> 8);
}
static inline uint64_t qshm__slot_gen(uint64_t w)
{
	return w >> 40;
}
/* kc_fence_demand of an owner whose registered word has generation gen:
 * never 0. */
static inline uint32_t qshm__demand_tag(uint64_t gen)
{
	return UINT32_C(0x80000000) | (uint32_t)(gen & QSHM_SLOT_GEN_MASK);
}
/* The word after a transition of w to state with owner pid. */
static inline uint64_t qshm__slot_next(uint64_t w, uint32_t state, int32_t pid)
{
	return qshm__slot_word(state, pid, qshm__slot_gen(w) + 1);
}

#define QSHM_MAX_CONSUMERS 1024u
#define QSHM_SEQ_UNKNOWN   UINT64_MAX
#define QSHM_USER_COUNTERS 16u
#define QSHM_META_DEFAULT  4096u
#define QSHM_META_MAX      (UINT32_C(1) << 20)

struct qshm_kheader {
	uint64_t kh_magic;          /*   0 QSHM_MAGIC */
	uint16_t kh_format_major;   /*   8 */
	uint16_t kh_format_minor;   /*  10 */
	uint32_t kh_layout;         /*  12 QSHM_LAYOUT_WORD */
	_Atomic uint32_t kh_state;  /*  16 CREATING, then READY (published last) */
	uint32_t kh_header_size;    /*  20 sizeof(struct qshm_kheader) */
	uint64_t kh_seg_size;       /*  24 bytes of the whole object */
	uint64_t kh_capacity;       /*  32 data bytes, power of two */
	uint64_t kh_max_record;     /*  40 largest payload */
	uint32_t kh_max_consumers;  /*  48 slots in the consumer table */
	uint32_t kh_slot_size;      /*  52 sizeof(struct qshm_kslot) */
	uint64_t kh_off_prod;       /*  56 */
	uint64_t kh_off_wake;       /*  64 */
	uint64_t kh_off_stats;      /*  72 */
	uint64_t kh_off_slots;      /*  80 */
	uint64_t kh_off_data;       /*  88 */
	uint64_t kh_features;       /*  96 QSHM_FEAT_* bits */
	int32_t kh_creator_pid;     /* 104 */
	uint32_t kh_pad0;           /* 108 */
	uint64_t kh_creator_start;  /* 112 creator's start time, clock ticks */
	uint64_t kh_created_ns;     /* 120 CLOCK_REALTIME at creation */
	uint64_t kh_generation;     /* 128 1, or the replaced ring's + 1 */
	uint64_t kh_seq_key;        /* 136 random, never 0 or ~0; commit
				     * words are seq ^ key */
	uint64_t kh_off_meta;       /* 144 struct qshm_kmeta */
	uint64_t kh_meta_size;      /* 152 descriptor bytes after it */
	uint64_t kh_off_parked;     /* 160 parked bits */
	uint8_t kh_reserved[88];    /* 168 zero */
};

struct qshm_kprod {
	/* Line 0, written by the producer (every commit), polled by
	 * consumers. */
	/* Committed end: every byte below it is a complete record. */
	_Atomic uint64_t kp_write_pos;  /*   0 */
	/* Oldest intact record: bytes below it may be overwritten now. */
	_Atomic uint64_t kp_head_pos;   /*   8 */
	_Atomic uint32_t kp_closed;     /*  16 1 once the producer closed */
	uint8_t kp_pad0[QSHM_CACHELINE - 20];
	/* Line 1 (format 3), written by consumers now and then, read by the
	 * producer at every commit: apart from line 0, whose store each
	 * commit makes while consumers poll it, so the commit's loads of
	 * these do not wait behind that line's transfer. */
	/* Bumped by each consumer that registers (see protocol, R4/P2). */
	_Atomic uint32_t kp_epoch;      /*  64 */
	/* 1 + highest slot index ever taken: scans stop there. */
	_Atomic uint32_t kp_slot_hwm;   /*  68 */
	/* Consumers that want the producer to fence its commits (C1d): each
	 * raises it once, with its slot's kc_fence_demand. */
	_Atomic uint32_t kp_fence_demand; /* 72 */
	uint8_t kp_pad1[QSHM_CACHELINE - 12];
};

struct qshm_kwake {
	/* Consumers sleep on kw_data_futex waiting for records; who sleeps
	 * is in the parked bits (one per slot, after the slot table). */
	_Atomic uint32_t kw_data_futex;    /*   0 */
	uint32_t kw_reserved;              /*   4 zero */
	uint8_t kw_pad0[QSHM_CACHELINE - 8];
	/* The producer sleeps on kw_space_futex waiting for space. */
	_Atomic uint32_t kw_space_futex;   /*  64 */
	/* 1 while the producer is parked (or about to be); taken (set to
	 * 0) by the consumer that wakes it or by the producer itself. */
	_Atomic uint32_t kw_space_sleepers;/*  68 */
	/* Format 3: 1 while the producer wants releases fenced (R1d). */
	_Atomic uint32_t kw_release_fence; /*  72 */
	uint8_t kw_pad1[QSHM_CACHELINE - 12];
};

struct qshm_kstats {
	_Atomic uint64_t ks_records;     /*   0 */
	_Atomic uint64_t ks_bytes;       /*   8 */
	_Atomic uint64_t ks_full_waits;  /*  16 */
	_Atomic uint64_t ks_wakes;       /*  24 */
	_Atomic uint64_t ks_evictions;   /*  32 */
	_Atomic uint64_t ks_reserved[3]; /*  40 */
	_Atomic uint64_t ks_user[QSHM_USER_COUNTERS]; /* 64 */
	uint8_t ks_pad[256 - 64 - 8 * QSHM_USER_COUNTERS];
};

struct qshm_kslot {
	/* Next position this consumer will read; below it all is released. */
	_Atomic uint64_t kc_read_pos;   /*   0 */
	_Atomic uint64_t kc_lost;       /*   8 */
	_Atomic uint64_t kc_records;    /*  16 */
	/* State, owner pid and generation: see qshm__slot_word(). */
	_Atomic uint64_t kc_word;       /*  24 */
	_Atomic uint64_t kc_start;      /*  32 owner's start time, ticks */
	_Atomic uint64_t kc_attach_ns;  /*  40 CLOCK_REALTIME */
	/* Seq of the next record this consumer reads, published with each
	 * release; QSHM_SEQ_UNKNOWN until it knows (it started mid-ring and
	 * has read nothing yet). Lag in records = ks_records - this. */
	_Atomic uint64_t kc_next_seq;   /*  48 */
	/* Generation (of kc_word) whose claim wrote kc_start: tells a taker
	 * whether kc_start belongs to a CLAIMED slot's current attacher. */
	_Atomic uint32_t kc_start_gen;  /*  56 */
	/* Format 3: while this slot's owner counts in kp_fence_demand,
	 * QSHM_DEMAND_TAG(generation of its registered kc_word), else 0;
	 * whoever takes it back (CAS from that exact tag) lowers the count,
	 * exactly once, and never for a later owner of the slot. */
	_Atomic uint32_t kc_fence_demand; /* 60 */
	uint8_t kc_pad[QSHM_HOT_STRIDE - 64];
};

/* Parked bits: bit i % 64 of word i / 64 is set while consumer slot i
 * sleeps (or is about to) on kw_data_futex. One atomic operation sets or
 * clears a bit, so a process killed at any instruction leaves no count
 * behind; the waker takes the bits it wakes. Two lines of their own. */
#define QSHM_PARKED_WORDS (QSHM_MAX_CONSUMERS / 64)
#define QSHM_PARKED_SIZE  (QSHM_PARKED_WORDS * 8)

/* The descriptor: a small blob the producer publishes for consumers that
 * attach at any moment (a run's description), under a seqlock. */
struct qshm_kmeta {
	/* Odd while the producer rewrites the blob. */
	_Atomic uint64_t km_seq;    /*  0 */
	_Atomic uint64_t km_len;    /*  8 bytes of the blob */
	uint8_t km_pad[QSHM_CACHELINE - 16];
	/* _Atomic uint64_t words[meta_size / 8] follow */
};

/* A record header, at a 16-byte aligned offset of the data area. */
struct qshm_krec {
	uint32_t kr_len;   /* payload bytes (PAD: bytes of pad after header) */
	uint16_t kr_type;  /* QSHM_TYPE_PAD or >= QSHM_TYPE_USER_MIN */
	uint16_t kr_flags; /* 0, or the item length of a batch record,
			    * whose items start qshm__item_skip() bytes
			    * after this header, counted in kr_len */
	/* Commit word: seq ^ kh_seq_key, stored (release) by the commit that
	 * publishes the record. PAD: the seq of the record that follows.
	 * QSHM_MARK(key) from the claim of the record before until then
	 * (docs/protocol.md, "The commit word"). A consumer expecting seq e
	 * knows the record is complete once it reads e ^ key here. */
	_Atomic uint64_t kr_commit;
};

/* The commit-word value no record has: the encoding of seq 2^64 - 1. */
#define QSHM_MARK(key) (~(uint64_t)(key))

#define QSHM_OFF_PROD   256u
#define QSHM_OFF_WAKE   384u
#define QSHM_OFF_STATS  512u
#define QSHM_OFF_SLOTS  768u

_Static_assert(sizeof(struct qshm_kheader) == 256, "header size");
_Static_assert(offsetof(struct qshm_kheader, kh_state) == 16, "kh_state");
_Static_assert(offsetof(struct qshm_kheader, kh_seg_size) == 24, "seg_size");
_Static_assert(offsetof(struct qshm_kheader, kh_capacity) == 32, "capacity");
_Static_assert(offsetof(struct qshm_kheader, kh_max_consumers) == 48, "maxc");
_Static_assert(offsetof(struct qshm_kheader, kh_off_prod) == 56, "off_prod");
_Static_assert(offsetof(struct qshm_kheader, kh_off_data) == 88, "off_data");
_Static_assert(offsetof(struct qshm_kheader, kh_creator_pid) == 104, "pid");
_Static_assert(offsetof(struct qshm_kheader, kh_creator_start) == 112, "st");
_Static_assert(offsetof(struct qshm_kheader, kh_generation) == 128, "gen");
_Static_assert(offsetof(struct qshm_kheader, kh_seq_key) == 136, "key");
_Static_assert(offsetof(struct qshm_kheader, kh_off_meta) == 144, "meta");
_Static_assert(offsetof(struct qshm_kheader, kh_meta_size) == 152, "msize");
_Static_assert(sizeof(struct qshm_kprod) == QSHM_HOT_STRIDE, "kprod size");
_Static_assert(offsetof(struct qshm_kprod, kp_head_pos) == 8, "head");
_Static_assert(offsetof(struct qshm_kprod, kp_closed) == 16, "closed");
_Static_assert(offsetof(struct qshm_kprod, kp_epoch) == 64, "epoch");
_Static_assert(offsetof(struct qshm_kprod, kp_slot_hwm) == 68, "hwm");
_Static_assert(offsetof(struct qshm_kprod, kp_fence_demand) == 72, "demand");
_Static_assert(sizeof(struct qshm_kwake) == 128, "kwake size");
_Static_assert(offsetof(struct qshm_kwake, kw_space_futex) == 64, "space");
_Static_assert(offsetof(struct qshm_kwake, kw_release_fence) == 72, "rfence");
_Static_assert(sizeof(struct qshm_kstats) == 256, "kstats size");
_Static_assert(offsetof(struct qshm_kstats, ks_user) == 64, "user");
_Static_assert(sizeof(struct qshm_kslot) == QSHM_HOT_STRIDE, "kslot size");
_Static_assert(offsetof(struct qshm_kslot, kc_lost) == 8, "kc_lost");
_Static_assert(offsetof(struct qshm_kslot, kc_records) == 16, "kc_records");
_Static_assert(offsetof(struct qshm_kslot, kc_word) == 24, "kc_word");
_Static_assert(offsetof(struct qshm_kslot, kc_start) == 32, "kc_start");
_Static_assert(offsetof(struct qshm_kslot, kc_attach_ns) == 40, "attach");
_Static_assert(offsetof(struct qshm_kslot, kc_next_seq) == 48, "next_seq");
_Static_assert(offsetof(struct qshm_kslot, kc_start_gen) == 56, "st_gen");
_Static_assert(offsetof(struct qshm_kslot, kc_fence_demand) == 60, "demand");
_Static_assert(offsetof(struct qshm_kheader, kh_off_parked) == 160, "park");
_Static_assert(QSHM_PARKED_SIZE == 2 * QSHM_CACHELINE, "parked bits");
_Static_assert(sizeof(struct qshm_kmeta) == QSHM_CACHELINE, "kmeta size");
_Static_assert(offsetof(struct qshm_kmeta, km_len) == 8, "km_len");
_Static_assert(sizeof(struct qshm_krec) == QSHM_REC_HDR, "record header");
_Static_assert(offsetof(struct qshm_krec, kr_commit) == 8, "commit word");
_Static_assert(QSHM_OFF_PROD == sizeof(struct qshm_kheader), "prod after hdr");
_Static_assert(QSHM_OFF_WAKE == QSHM_OFF_PROD + sizeof(struct qshm_kprod),
	       "wake after prod");
_Static_assert(QSHM_OFF_STATS == QSHM_OFF_WAKE + sizeof(struct qshm_kwake),
	       "stats after wake");
_Static_assert(QSHM_OFF_SLOTS == QSHM_OFF_STATS + sizeof(struct qshm_kstats),
	       "slots after stats");
/* The futex syscall needs 4-byte words; lock-free 64-bit atomics are needed
 * because a lock inside shared memory would be per-process. */
_Static_assert(sizeof(_Atomic uint32_t) == 4, "futex word");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics lock-free");

static inline uint64_t qshm__off_parked(uint32_t max_consumers)
{
	return QSHM_OFF_SLOTS +
	       (uint64_t)max_consumers * sizeof(struct qshm_kslot);
}

static inline uint64_t qshm__off_meta(uint32_t max_consumers)
{
	return qshm__off_parked(max_consumers) + QSHM_PARKED_SIZE;
}

static inline uint64_t qshm__off_data(uint32_t max_consumers,
				      uint64_t meta_size)
{
	uint64_t end = qshm__off_meta(max_consumers) +
		       sizeof(struct qshm_kmeta) + meta_size;
	return (end + QSHM_PAGE - 1) & ~(uint64_t)(QSHM_PAGE - 1);
}

/* Format 3: a batch record's items start at the first QSHM_ITEM_ALIGN
 * boundary at or after the end of its header (the data area is
 * page-aligned, so the position's alignment is the address's): one item
 * of 64 bytes is one cache line, and no store or load of it straddles two.
 * The skip bytes between are part of the record's length, unread. */
#define QSHM_ITEM_ALIGN 64
static inline uint64_t qshm__item_skip(uint64_t pos)
{
	return (0 - (pos + QSHM_REC_HDR)) & (QSHM_ITEM_ALIGN - 1);
}

/* Whether a record at pos of length len (header's kr_len) with item
 * length item_len holds something other than whole items after its skip
 * (a single message, item_len 0, never does); *skip gets the skip. */
static inline int qshm__items_bad(uint64_t pos, uint32_t len,
				  uint16_t item_len, uint64_t *skip)
{
	*skip = item_len ? qshm__item_skip(pos) : 0;
	return item_len && (len <= *skip || (len - *skip) % item_len);
}

static inline uint64_t qshm__rec_size(uint64_t len)
{
	return (QSHM_REC_HDR + len + QSHM_REC_ALIGN - 1) &
	       ~(uint64_t)(QSHM_REC_ALIGN - 1);
}

#endif /* QSHM_LAYOUT_H */
