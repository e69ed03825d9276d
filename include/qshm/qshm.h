/* SPDX-License-Identifier: MIT */
/*
 * qshm.h - named shared-memory rings for streaming quantum-simulation results.
 *
 * One producer process creates a ring by name and publishes typed,
 * variable-length records; any number of consumer processes attach by name
 * and read the records in place. Every consumer sees every record
 * (broadcast). The fast path of both sides makes no syscall and takes no
 * lock: positions are free-running 64-bit counters published with release
 * stores and observed with acquire loads (see docs/protocol.md).
 *
 * Producer, zero-copy:
 *
 *	qshm_producer *p;
 *	int err = qshm_producer_create("ghz", NULL, &p);
 *	void *buf;
 *	err = qshm_producer_claim(p, len, MY_TYPE, QSHM_FOREVER, &buf);
 *	fill(buf, len);                  // write the payload in place
 *	err = qshm_producer_commit(p);   // publishes every claimed record
 *	...
 *	qshm_producer_close(p, 0);
 *
 * Consumer, zero-copy (reliable: the producer never overwrites what this
 * consumer has not released):
 *
 *	qshm_consumer *c;
 *	err = qshm_consumer_attach("ghz", QSHM_CONSUMER_RELIABLE, &c);
 *	struct qshm_record r;
 *	while ((err = qshm_consumer_read(c, &r, QSHM_FOREVER)) == 0) {
 *		use(r.data, r.len);          // valid until the next release
 *		qshm_consumer_release(c);    // or release after a batch of reads
 *	}
 *	// err is -QSHM_ECLOSED (producer closed, all read) or
 *	// -QSHM_EPRODUCERDEAD (producer died, every complete record read)
 *	qshm_consumer_close(c);
 *
 * Lossy consumers never slow the producer. A record they read in place may be
 * overwritten while it is in use, so each use is followed by a validation:
 *
 *	err = qshm_consumer_read(c, &r, QSHM_FOREVER);
 *	double x = parse(r.data, r.len);
 *	if (qshm_consumer_validate(c, &r) == 0)
 *		accept(x);                   // the bytes were intact while read
 *	// r.lost says how many records were lost just before r.
 *
 * Errors: every function that returns int returns 0 (or a documented
 * non-negative value) on success and a negative error code on failure: either
 * -errno or one of the -QSHM_E* codes below. qshm_strerror() describes a
 * code; qshm_last_error() gives the calling thread's detailed message for the
 * last failure (which ring, which field, both versions on a mismatch).
 */
#ifndef QSHM_QSHM_H
#define QSHM_QSHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compile-time version of this header. */
#define QSHM_VERSION_MAJOR 0
#define QSHM_VERSION_MINOR 4
#define QSHM_VERSION_PATCH 2

/* Version of the segment format this library writes and reads. */
#define QSHM_FORMAT_MAJOR 3
#define QSHM_FORMAT_MINOR 0

/* Library-specific error codes, returned negated, in their own band. */
enum qshm_error {
	QSHM_ERR_FIRST = 4096,
	QSHM_ENOTQSHM = QSHM_ERR_FIRST, /* the object is not a qshm ring */
	QSHM_EVERSION,      /* segment format version not supported */
	QSHM_ELAYOUT,       /* segment made for another word/cache-line size */
	QSHM_ECORRUPT,      /* a header field or record fails validation */
	QSHM_ECREATING,     /* ring exists but its creator has not finished */
	QSHM_ESTALE,        /* ring exists but its creator is dead */
	QSHM_ECLOSED,       /* producer closed the ring; everything was read */
	QSHM_EPRODUCERDEAD, /* producer died; every complete record was read */
	QSHM_EOVERRUN,      /* a lossy view was overwritten while in use */
	QSHM_EEVICTED,      /* this consumer was evicted by the producer */
	QSHM_ENOSLOT,       /* the consumer table is full */
	QSHM_ETOOBIG,       /* record longer than the ring's maximum */
	QSHM_ETRUNCATED,    /* the segment was truncated under its mapping
			       (caught by qshm_install_sigbus_guard()) */
	QSHM_ERR_LAST
};

/* Timeouts are in nanoseconds: 0 never waits, QSHM_FOREVER waits forever. */
#define QSHM_FOREVER ((int64_t)-1)

/* Longest ring name (the part after "qshm."), in bytes. */
#define QSHM_NAME_MAX 200

/* Record types below 16 are the library's own; applications use the rest. */
#define QSHM_TYPE_PAD      0 /* never returned to callers */
#define QSHM_TYPE_USER_MIN 16
#define QSHM_TYPE_MAX      0xffff

/* How a side waits when it cannot make progress. */
enum qshm_wait_mode {
	QSHM_WAIT_SPIN_PARK = 0, /* spin for spin_ns, then sleep on the futex */
	QSHM_WAIT_BUSY,          /* never sleep: poll until data or timeout */
	QSHM_WAIT_BLOCK,         /* sleep on the futex at once */
};

/* Options for qshm_producer_create(); zero fields take the defaults. */
struct qshm_create_opts {
	uint64_t capacity;   /* data bytes; power of two >= 4096; default 1 MiB */
	uint64_t max_record; /* largest payload; <= capacity/2 - 64;
				default capacity/4 */
	uint32_t max_consumers; /* 1..1024; default 64 */
	uint32_t mode;       /* permission bits; default 0600 */
	uint32_t flags;      /* QSHM_CREATE_* */
	uint32_t meta_size;  /* descriptor bytes (qshm_producer_set_meta());
				multiple of 64, at most 1 MiB; default 4096 */
};

/* Replace a stale ring of the same name (its creator is dead); the new ring
 * gets the old generation + 1. Without it, a stale ring gives -QSHM_ESTALE. */
#define QSHM_CREATE_REPLACE_STALE (1u << 0)
#define QSHM_CREATE_FLAGS_MASK    (QSHM_CREATE_REPLACE_STALE)

/* Flags for qshm_consumer_attach(). */
#define QSHM_CONSUMER_RELIABLE    0u        /* holds the producer back */
#define QSHM_CONSUMER_LOSSY       (1u << 0) /* never slows the producer */
#define QSHM_CONSUMER_READONLY    (1u << 1) /* maps read-only, takes no slot,
						implies LOSSY: for inspectors */
#define QSHM_CONSUMER_FROM_NEWEST (1u << 2) /* start at the next record
						published, not the oldest */
#define QSHM_CONSUMER_FLAGS_MASK  (QSHM_CONSUMER_LOSSY | \
				   QSHM_CONSUMER_READONLY | \
				   QSHM_CONSUMER_FROM_NEWEST)

/* Flags for qshm_producer_close(). */
#define QSHM_CLOSE_UNLINK (1u << 0) /* also remove the name */

typedef struct qshm_producer qshm_producer;
typedef struct qshm_consumer qshm_consumer;

/* A record as a consumer sees it, in place in the shared mapping. */
struct qshm_record {
	const void *data; /* payload, 16-byte aligned (a batch record's
			     items: 64-byte aligned), contiguous */
	uint32_t len;     /* payload bytes, 1..max_record */
	uint16_t type;    /* QSHM_TYPE_USER_MIN.. (producer's choice) */
	uint16_t item_len; /* 0: one message; else the record holds
			      len / item_len items of item_len bytes each,
			      back to back (qshm_producer_claim_batch()) */
	uint64_t seq;     /* sequence number, 0 for the first record */
	uint64_t lost;    /* lossy: records lost just before this one */
	uint64_t pos;     /* ring position of the record (for validation) */
};

/* ------------------------------------------------------------------ */
/* Versions and errors                                                  */

/* Run-time version of the library. Returns 0. */
int qshm_version(int *major, int *minor, int *patch);

/* A static string that begins with the code's name, e.g.
 * "QSHM_ESTALE: ring's creator is dead". Accepts err or -err. */
const char *qshm_strerror(int err);

/* The calling thread's message for its last failed qshm call, with context
 * (ring name, field, values). Empty string if none. */
const char *qshm_last_error(void);

/*
 * Lets this process survive a ring truncated under it. Anyone who can
 * write a ring's object can make it smaller while it is mapped; without
 * this guard the next access to a lost page raises SIGBUS and kills the
 * process. The guard is a process-wide SIGBUS handler (opt-in: call this
 * once, early, before other code relies on its own SIGBUS handler; calling
 * it again does nothing while it is installed). For a fault inside a
 * mapping of a ring made by this library it maps anonymous zero pages over
 * the lost range, so the access completes (reading zeros), and marks the
 * handle: every later call on that producer or consumer fails with
 * -QSHM_ETRUNCATED ("segment 'X' was truncated under us ...") and the
 * handle can only be closed. A record's bytes read in place before the
 * error may be zeros: a consumer learns that from qshm_consumer_release()
 * or qshm_consumer_validate() (both return -QSHM_ETRUNCATED, for reliable
 * consumers too), so validate or release before trusting what was read.
 * A producer's inline claim (below) does not look at the mark: claims that
 * need no room made may still succeed, writing into ring memory (space the
 * consumers released, or the zero pages), until the next commit or slow
 * claim fails with -QSHM_ETRUNCATED; nothing is published.
 * Any other SIGBUS (another address, or one sent by kill()) goes to the
 * handler that was installed before, or gets the default action. The
 * handler is async-signal-safe and takes no lock; a handler installed
 * later that does not chain to it turns the guard off.
 * Returns 0, or -errno from sigaction().
 */
int qshm_install_sigbus_guard(void);

/* Checks a ring name: 1..QSHM_NAME_MAX bytes of [A-Za-z0-9._-], not
 * starting with '.'. Returns 0 or -EINVAL (message in qshm_last_error()). */
int qshm_name_check(const char *name);

/* ------------------------------------------------------------------ */
/* Producer                                                             */

/*
 * Creates ring NAME (the POSIX shm object "/qshm.NAME"), exclusively, and
 * maps it. opts may be NULL for the defaults. The memory is pre-faulted. The
 * header is published last, so no consumer ever attaches to a half-built
 * ring.
 * Errors: -EINVAL (bad name, opts or flags), -EEXIST (a live ring or another
 * object has the name), -QSHM_ESTALE (a stale ring has the name and
 * QSHM_CREATE_REPLACE_STALE was not given; also a closed ring, whose creator
 * may still run), -ENOMEM, -EACCES, other -errno
 * from shm_open/ftruncate/mmap.
 */
int qshm_producer_create(const char *name, const struct qshm_create_opts *opts,
			 qshm_producer **out);

/* How claim() waits for space; spin_ns applies to QSHM_WAIT_SPIN_PARK
 * (0: the default, 50 us). Returns 0 or -EINVAL. */
int qshm_producer_set_wait(qshm_producer *p, enum qshm_wait_mode mode,
			   uint64_t spin_ns);

/*
 * Claims space for one record of len payload bytes and type, and returns a
 * pointer to its payload (16-byte aligned, contiguous) in *payload. The
 * record becomes visible to consumers at the next qshm_producer_commit().
 * Several claims may precede one commit (batched commit), but a claim may
 * itself commit the records claimed before it: when it must wait for space,
 * and when the uncommitted claims would span more than the ring. So fill each
 * record before claiming the next. If a reliable
 * consumer holds the space, waits up to timeout_ns (0: do not wait),
 * committing pending records first; while waiting, evicts reliable consumers
 * whose process is dead.
 * Errors: -EINVAL (len 0, type < QSHM_TYPE_USER_MIN), -QSHM_ETOOBIG
 * (len > max_record), -EAGAIN (full and timeout_ns == 0), -ETIMEDOUT,
 * -QSHM_ECORRUPT (the shared state was damaged), -EINTR.
 */
int qshm_producer_claim(qshm_producer *p, size_t len, uint16_t type,
			int64_t timeout_ns, void **payload);

/*
 * claim()'s fast path is inline: a claim that needs no room made, no pad
 * and no check beyond length and type is a few stores into the ring and
 * the handle, with no call. With GCC or Clang, calls of
 * qshm_producer_claim(...) expand to qshm__claim_inline(), which falls back
 * to the library for everything else; (qshm_producer_claim)(...) or
 * defining QSHM_NO_INLINE before including this header calls the library
 * directly (still with a fast path, behind a call). The macro is
 * function-like: a name qshm_producer_claim followed by '(' anywhere after
 * this header (a C++ member, a re-declaration) needs QSHM_NO_INLINE. Each
 * store counts: a producer writing into lines a consumer has just read is
 * limited by its store buffer, not by arithmetic.
 *
 * struct qshm__pfast begins every producer handle. It is not an API: only
 * the inline functions here touch it. Its layout is part of the library's
 * ABI: the inline code falls back to qshm__producer_claim_slow, a symbol
 * of version node QSHM_0.3, so a program built with this header does not
 * load with a library of another layout (0.2 and older lack the symbol).
 */
struct qshm__pfast {
	unsigned char *data;  /* the ring's data area */
	uint64_t mask;        /* capacity - 1 */
	uint64_t claim_pos;   /* end of the claimed records */
	uint64_t limit;       /* a claim whose end + 16 is at most this
				 needs no room made and no pad */
	uint64_t mark;        /* the MARK word (docs/protocol.md, K1) */
	uint64_t max_record;
	uint64_t last_pos;    /* start of the last claim */
};

/* The library's claim without the inline part: what qshm__claim_inline()
 * falls back to. Call qshm_producer_claim() instead. */
int qshm__producer_claim_slow(qshm_producer *p, size_t len, uint16_t type,
			      int64_t timeout_ns, void **payload);

#if defined(__GNUC__)
/* The fast path: 0 and *payload set, or 1 when the library must decide
 * (any error, a pad, room to make). */
static inline int qshm__claim_fast(qshm_producer *p, size_t len,
				   uint16_t type, void **payload)
{
	struct qshm__pfast *f = (struct qshm__pfast *)(void *)p;
	uint64_t need, w, end, hdr;
	unsigned char *r;

	if (__builtin_expect(!p || !payload || len - 1 >= f->max_record ||
			     type < QSHM_TYPE_USER_MIN, 0))
		return 1;
	/* 16 B header, payload rounded up to 16 B. */
	need = ((uint64_t)len + 31) & ~(uint64_t)15;
	w = f->claim_pos;
	end = w + need;
	/* The next record's header (where its MARK goes) must fit too. */
	if (__builtin_expect(end + 16 > f->limit, 0))
		return 1;
	r = f->data + (w & f->mask);
	/* Length, type and flags (0) in one store: the header's first 8
	 * bytes (docs/protocol.md, "Records"). */
	hdr = (uint32_t)len | (uint64_t)type << 32;
	__builtin_memcpy(r, &hdr, 8);
	/* K1: MARK into the next record's commit word. Relaxed: commit()'s
	 * release store of this record's commit word (C0), later in program
	 * order, orders it before any consumer can look at that word. */
	__atomic_store_n((uint64_t *)(void *)(f->data + (end & f->mask) + 8),
			 f->mark, __ATOMIC_RELAXED);
	f->last_pos = w;
	f->claim_pos = end;
	*payload = r + 16;
	return 0;
}

static inline int qshm__claim_inline(qshm_producer *p, size_t len,
				     uint16_t type, int64_t timeout_ns,
				     void **payload)
{
	if (__builtin_expect(qshm__claim_fast(p, len, type, payload) == 0, 1))
		return 0;
	return qshm__producer_claim_slow(p, len, type, timeout_ns, payload);
}

#ifndef QSHM_NO_INLINE
#define qshm_producer_claim(p, len, type, timeout_ns, payload) \
	qshm__claim_inline(p, len, type, timeout_ns, payload)
#endif
#endif /* __GNUC__ */

/* Shrinks the most recent uncommitted claim to len bytes (1..claimed).
 * Lets a producer claim the maximum and fill less. Returns 0 or -EINVAL. */
int qshm_producer_trim(qshm_producer *p, size_t len);

/*
 * Claims one record that holds COUNT items of ITEM_LEN bytes each, back to
 * back from *items (item i at (char *)*items + i * item_len): many small
 * messages for the cost of one (one header, one commit word, one read).
 * *items is 64-byte aligned (format 3): a 64-byte item is one cache line;
 * the record takes up to 48 bytes of the ring more than its items.
 * Consumers read it as one record with item_len = ITEM_LEN. Commit as any
 * claim. Trimming it keeps whole items.
 * Errors: as qshm_producer_claim(); -EINVAL for count or item_len 0, or
 * item_len above 65535; -QSHM_ETOOBIG when count * item_len + 48 is.
 */
int qshm_producer_claim_batch(qshm_producer *p, uint32_t count,
			      uint32_t item_len, uint16_t type,
			      int64_t timeout_ns, void **items);

/* Publishes every claimed record (a release store of each record's commit
 * word, then one of the write position), and wakes
 * sleeping consumers (a syscall only if someone sleeps). Returns 0. */
int qshm_producer_commit(qshm_producer *p);

/* claim + memcpy + commit. Errors as qshm_producer_claim(). */
int qshm_producer_publish(qshm_producer *p, uint16_t type, const void *data,
			  size_t len, int64_t timeout_ns);

/* The ring's largest payload in bytes (0 for a NULL handle). */
uint64_t qshm_producer_max_record(qshm_producer *p);

/* Number of reliable consumers attached now (not evicted). */
int qshm_producer_consumers(qshm_producer *p);

/*
 * Waits until at least n reliable consumers are attached, up to timeout_ns.
 * Returns 0, -ETIMEDOUT or -EAGAIN (timeout 0).
 */
int qshm_producer_wait_consumers(qshm_producer *p, int n, int64_t timeout_ns);

/*
 * Waits until every reliable consumer has released everything committed, up
 * to timeout_ns (dead consumers are evicted meanwhile). Returns 0,
 * -ETIMEDOUT or -EAGAIN.
 */
int qshm_producer_drain(qshm_producer *p, int64_t timeout_ns);

/* Counters the producer keeps in the segment (also read by inspectors). */
struct qshm_producer_stats {
	uint64_t records;      /* records committed */
	uint64_t bytes;        /* payload bytes committed */
	uint64_t full_waits;   /* claims that found the ring full */
	uint64_t wakes;        /* futex wake calls made for consumers */
	uint64_t evictions;    /* dead reliable consumers evicted */
};
int qshm_producer_stats(qshm_producer *p, struct qshm_producer_stats *st);

/*
 * Bytes the claims can take now without waiting for a consumer: the
 * capacity less what the slowest reliable consumer has not released, less
 * the next record's header. A lower bound for what a claim may wait for
 * (releases only raise it), but not a promise that a claim of that size
 * fits: a record that would cross the ring's end pads it, which can cost
 * up to one record more; so ask for twice what you will claim. Lossy
 * consumers never hold space. Reads the consumers' positions; makes no
 * syscall. Returns 0 or -EINVAL.
 */
int qshm_producer_room(qshm_producer *p, uint64_t *bytes);

/* Address of a 64-bit counter in the segment's user counter block
 * (index 0..15), for the producer to publish its own metrics; inspectors
 * read them. Returns NULL for a bad index. */
uint64_t *qshm_producer_user_counter(qshm_producer *p, unsigned index);

/*
 * Publishes DATA (LEN bytes, at most the ring's meta_size) as the ring's
 * descriptor: a blob any consumer can read at any moment with
 * qshm_consumer_meta(), whatever the ring still holds (a run's
 * description, for consumers that join mid-run). Replaces the previous
 * blob; LEN 0 clears it. Readers never see a torn blob (seqlock). Not
 * thread-safe against other calls on p. Makes no syscall.
 * Errors: -EINVAL (NULL p, or NULL data with len > 0), -EMSGSIZE (too big).
 */
int qshm_producer_set_meta(qshm_producer *p, const void *data, size_t len);

/*
 * Commits what is pending, marks the ring closed (consumers read what is
 * left, then get -QSHM_ECLOSED), unmaps it and frees p. The name stays
 * (late consumers can still read it) unless flags has QSHM_CLOSE_UNLINK.
 * Returns 0, -EINVAL (unknown flags), or -errno from shm_unlink.
 */
int qshm_producer_close(qshm_producer *p, unsigned flags);

/* ------------------------------------------------------------------ */
/* Consumer                                                             */

/*
 * Attaches to ring NAME. Reliable consumers and lossy ones take a slot in
 * the segment's consumer table (pid and start time recorded); READONLY ones
 * map the segment read-only and never write to it. Starts at the oldest
 * record still in the ring, or at the next one published with
 * QSHM_CONSUMER_FROM_NEWEST. Every header field is checked against the
 * object's real size.
 * The object must be a regular file (a FIFO, symbolic link or directory
 * holding the name is refused without blocking: -QSHM_ENOTQSHM, saying what
 * is there) owned by the caller's effective uid or by root, or by the
 * owner allowed with qshm_allow_owner(): anyone who can write a ring can
 * forge what it says.
 * Errors: -EINVAL (bad name or flags), -ENOENT (no such ring),
 * -QSHM_ECREATING (still being created: try again), -QSHM_ESTALE (left
 * half-created by a creator that died), -QSHM_ENOTQSHM (not a qshm ring),
 * -QSHM_EVERSION (both versions in qshm_last_error()),
 * -QSHM_ELAYOUT, -QSHM_ECORRUPT, -QSHM_ENOSLOT, -EACCES (no permission, or
 * owned by an untrusted user), -ENOMEM.
 */
int qshm_consumer_attach(const char *name, unsigned flags,
			 qshm_consumer **out);

/*
 * Lets this process's consumers also attach to rings owned by user @uid
 * (besides its own effective uid and root); -1 withdraws it. One owner at a
 * time, process-wide; set it before attaching. Returns 0 or -EINVAL.
 * qshm_ring_info() and the other looks by name report on any owner's ring.
 */
int qshm_allow_owner(long uid);

/* How read() waits; spin_ns applies to QSHM_WAIT_SPIN_PARK (0: the
 * default, 50 us). Returns 0 or -EINVAL. */
int qshm_consumer_set_wait(qshm_consumer *c, enum qshm_wait_mode mode,
			   uint64_t spin_ns);

/*
 * Reads the next record in place into *rec, waiting up to timeout_ns. The
 * payload stays valid (reliable) until qshm_consumer_release(); several
 * reads may precede one release (batched release); release before waiting,
 * though: a producer may be waiting for exactly that space. For a lossy
 * consumer
 * rec->lost counts the records overwritten before it could read them, and
 * the view must be checked with qshm_consumer_validate() after use.
 * Losses count from the ring's first record for a consumer that attached
 * before it, else from the first record this consumer reads (whose seq
 * says how many records the run had published before it).
 * Errors: -EAGAIN (nothing new, timeout_ns == 0), -ETIMEDOUT,
 * -QSHM_ECLOSED (producer closed and all was read), -QSHM_EPRODUCERDEAD
 * (producer died and every complete record was read), -QSHM_EEVICTED,
 * -QSHM_ECORRUPT (a record header fails its bounds checks), -EINTR,
 * -QSHM_ETRUNCATED (the segment was truncated under us: see
 * qshm_install_sigbus_guard(); so for every call on a handle).
 */
int qshm_consumer_read(qshm_consumer *c, struct qshm_record *rec,
		       int64_t timeout_ns);

/* Releases every record read so far, letting the producer reuse the space.
 * Returns 0 (a no-op for lossy consumers other than updating the position
 * shown to inspectors). */
int qshm_consumer_release(qshm_consumer *c);

/*
 * Lossy consumers: says whether rec's bytes were intact for the whole time
 * since it was read. Returns 0 if so, -QSHM_EOVERRUN if the producer has
 * overwritten it (the record then counts as lost and the data read must be
 * discarded). Reliable consumers always get 0.
 */
int qshm_consumer_validate(qshm_consumer *c, const struct qshm_record *rec);

/*
 * Reads the next record and copies its payload into buf (size bytes), with
 * the validation done: the copy is never torn (a record overwritten while
 * copied is skipped and counted in rec->lost, which covers every record
 * lost since the previous record returned). Returns the payload length,
 * or an error as qshm_consumer_read(), or -EMSGSIZE (buf too small; the
 * record is skipped and counted lost for lossy consumers).
 */
int qshm_consumer_read_copy(qshm_consumer *c, void *buf, size_t size,
			    struct qshm_record *rec, int64_t timeout_ns);

/* What a consumer has seen. */
struct qshm_consumer_stats {
	uint64_t records;  /* records returned by read, including any that
			      later failed validation */
	uint64_t lost;     /* records lost (lossy), failed validations
			      included: published = records - overruns + lost */
	uint64_t position; /* ring position of the next read */
	uint64_t generation; /* generation of the ring attached to */
};
int qshm_consumer_stats(qshm_consumer *c, struct qshm_consumer_stats *st);

/* Releases the slot, unmaps and frees c. Returns 0. */
int qshm_consumer_close(qshm_consumer *c);

/*
 * Copies the ring's descriptor (see qshm_producer_set_meta()) into BUF of
 * SIZE bytes. Returns its length (0: none published; larger than SIZE: only
 * SIZE bytes were copied, call again with a larger buffer) and, if VERSION
 * is not NULL, a number that changes each time the producer publishes a
 * new blob (even, from 2 on; 0 when none was ever published).
 * Errors: -EINVAL (NULL c, or NULL buf with size > 0), -QSHM_ECORRUPT (the
 * segment's descriptor is out of bounds), -EAGAIN (the producer kept
 * rewriting it, or died while writing it, through 1000 tries).
 */
int qshm_consumer_meta(qshm_consumer *c, void *buf, size_t size,
		       uint64_t *version);

/*
 * Event-loop hooks (io_uring, or any loop that can wait on a futex word).
 * qshm_consumer_wait_prepare() announces c as a sleeper and fills in the
 * futex word to wait on and the value to wait while it holds. It returns 1
 * if the caller may sleep (FUTEX_WAIT on *word while it equals val, shared
 * futex, 32-bit), 0 if a record is already there (no sleep), or an error as
 * read(). Only after a return of 1 is c announced: the caller then calls
 * qshm_consumer_wait_finish() once after the sleep (or instead of it);
 * after 0 or an error nothing is held (a wait_finish() then, or a second
 * one, does nothing). Read-only consumers get -EPERM. While asleep, the caller should
 * also watch qshm_consumer_producer_pid() (e.g. a pidfd) or wake up now and
 * then: a producer that dies cannot wake anyone. It also returns 0 while the
 * membarrier(2) that a format-3 wait needs fails (a seccomp filter installed
 * after attach): a sleep then could miss its wake-up, and this caller's has
 * no bound, so it reads and prepares again, a spin. qshm_waiter and
 * qshm_poll() sleep 1 ms at a time instead (docs/protocol.md, "Who pays the
 * fence").
 */
int qshm_consumer_wait_prepare(qshm_consumer *c, const uint32_t **word,
			       uint32_t *val);
void qshm_consumer_wait_finish(qshm_consumer *c);
int qshm_consumer_producer_pid(qshm_consumer *c);

/* ------------------------------------------------------------------ */
/* Waiting on many rings and file descriptors (io_uring)                */

#define QSHM_POLL_DATA (1u << 0) /* the ring may have a record, or ended */
#define QSHM_POLL_FD   (1u << 1) /* the file descriptor is readable */

struct qshm_pollitem {
	qshm_consumer *c;  /* a reliable or lossy consumer, or NULL */
	int fd;            /* a file descriptor to watch for input, or -1 */
	unsigned revents;  /* out: QSHM_POLL_* */
};

/*
 * Waits until one of the items is ready, up to timeout_ns: a record (or
 * the end of the stream: closed ring, dead producer) on an item's ring, or
 * input on its fd. One io_uring wait covers everything: a shared-futex wait
 * per ring (the ring's own wake-up protocol, so the producer wakes us with
 * no extra cost), a poll per fd, and a poll on each producer's pidfd, so a
 * producer's death ends the wait at once. QSHM_POLL_DATA may be spurious:
 * read with timeout 0, and poll again on -EAGAIN. Sets up an io_uring per
 * call (tens of microseconds): for waiting, not for the data path.
 * Returns the number of ready items, 0 on timeout, or -EINVAL (no items,
 * an item with neither consumer nor fd), -EPERM (a read-only consumer),
 * -ENOSYS (a kernel without io_uring futex waits, before Linux 6.7),
 * -EINTR, or another -errno from io_uring.
 */
int qshm_poll(struct qshm_pollitem *items, unsigned n, int64_t timeout_ns);

/* ------------------------------------------------------------------ */
/* Inspection (any consumer handle; READONLY ones never write)          */

enum qshm_slot_state {
	QSHM_SLOT_STATE_CLAIMED = 1,  /* a consumer is attaching */
	QSHM_SLOT_STATE_RELIABLE = 2,
	QSHM_SLOT_STATE_LOSSY = 3,
	QSHM_SLOT_STATE_EVICTED = 4,  /* found dead by the producer */
};

/* One occupied slot of the consumer table, as last published. */
struct qshm_slot_info {
	uint32_t index;
	uint32_t state;       /* enum qshm_slot_state */
	int32_t pid;
	int alive;            /* pid with that start time still runs */
	uint64_t start;       /* start time, clock ticks since boot */
	uint64_t attach_ns;   /* CLOCK_REALTIME */
	uint64_t position;    /* released up to (lossy: last published) */
	uint64_t records;     /* records read, as last published */
	uint64_t lost;        /* lossy: records lost, as last published */
	uint64_t next_seq;    /* seq of the next record it reads, as of its
				 last release; QSHM_SEQ_UNKNOWN before it
				 knows. Lag in records: records - next_seq */
};

#define QSHM_SEQ_UNKNOWN UINT64_MAX

/* The producer's counters and positions, as last published. */
struct qshm_ring_stats {
	uint64_t write_pos;   /* committed end */
	uint64_t oldest_pos;  /* oldest intact record */
	uint64_t records, bytes, full_waits, wakes, evictions;
	uint64_t user[16];    /* qshm_producer_user_counter() */
	int closed;           /* the producer closed the ring */
};

struct qshm_ring_info; /* below, with qshm_ring_info() */

/* Fills info from c's mapping (as qshm_ring_info(), without reopening).
 * Returns 0 or -EINVAL. */
int qshm_consumer_ring_info(qshm_consumer *c, struct qshm_ring_info *info);

/* Returns 0 or -EINVAL. */
int qshm_consumer_ring_stats(qshm_consumer *c, struct qshm_ring_stats *st);

/*
 * Copies up to max occupied slots (not free ones) into out, in table order,
 * and returns how many slots are occupied (may exceed max), or -EINVAL.
 * Snapshot values: each field is read once, relaxed, and may be a moment
 * old. The caller's own slot is included.
 */
int qshm_consumer_slots(qshm_consumer *c, struct qshm_slot_info *out,
			unsigned max);

/* ------------------------------------------------------------------ */
/* Rings by name                                                        */

enum qshm_ring_state {
	QSHM_RING_LIVE = 0,   /* creator alive */
	QSHM_RING_CLOSED,     /* creator closed it cleanly */
	QSHM_RING_STALE,      /* creator died without closing (also while
				 creating: its pid is dead, or the object
				 has not changed for 10 s) */
	QSHM_RING_CREATING,   /* header not published yet, creator alive */
	QSHM_RING_NOTQSHM,    /* not a qshm segment */
	QSHM_RING_CORRUPT,    /* header fails validation */
	QSHM_RING_VERSION,    /* another format version */
};

/* What a read-only look at a ring's header says. */
struct qshm_ring_info {
	enum qshm_ring_state state;
	uint32_t format_major, format_minor;
	uint64_t size;          /* bytes of the shm object */
	uint64_t capacity, max_record;
	uint32_t max_consumers;
	int32_t creator_pid;
	int creator_alive;
	uint64_t creator_start; /* clock ticks since boot (/proc/PID/stat) */
	uint64_t created_ns;    /* CLOCK_REALTIME at creation */
	uint64_t generation;
	uint64_t write_pos, oldest_pos;
	uint32_t reliable_consumers, lossy_consumers;
	uint64_t meta_size;     /* room for the descriptor, bytes */
	uint64_t meta_len;      /* bytes of the current descriptor */
};

/*
 * Looks at ring NAME read-only and fills info, also for stale, corrupt or
 * foreign objects (state says which). Returns 0, -EINVAL (bad name),
 * -ENOENT, -EACCES or other -errno.
 */
int qshm_ring_info(const char *name, struct qshm_ring_info *info);

/* Removes ring NAME, whatever it holds. Returns 0, -EINVAL, -ENOENT,
 * -EACCES. */
int qshm_unlink(const char *name);

/* Says, from info, whether to remove the ring: nonzero removes it. If it
 * returns a negative code, nothing is removed and that code is returned. */
typedef int (*qshm_remove_fn)(void *ctx, const struct qshm_ring_info *info);

/*
 * Removes ring NAME if decide(ctx, info) says so, where info is a look at
 * the ring taken while holding the exclusive lock that stale-ring
 * replacement also takes, and the name is unlinked only if it still names
 * the object looked at: a ring replaced or removed meanwhile is never
 * removed by mistake. info_out (may be NULL) gets what decide saw.
 * Returns 1 removed, 0 kept (decide said no), -ENOENT (no such ring),
 * -EBUSY (another process holds the lock: it is being replaced or
 * removed), -EAGAIN (the name moved to another object while looked at),
 * decide's negative code, -EINVAL, or another -errno.
 */
int qshm_ring_remove_if(const char *name, qshm_remove_fn decide, void *ctx,
			struct qshm_ring_info *info_out);

/*
 * Copies @s into @buf (@size bytes, at least 8) fit for a terminal: bytes
 * outside 0x20..0x7e as \xNN, quotes and backslashes escaped, cut with
 * "..." if too long. For messages that show a name the caller did not
 * check (an invalid ring name, an entry of /dev/shm). Returns @buf.
 */
const char *qshm_quote(const char *s, char *buf, size_t size);

/* Name of the function's state as a word: "live", "stale", ... */
const char *qshm_ring_state_name(enum qshm_ring_state s);


/* ------------------------------------------------------------------ */
/* A pollable waiter, for event loops (asyncio, libuv, epoll)           */

typedef struct qshm_waiter qshm_waiter;

/*
 * Creates a waiter for consumer c (reliable or lossy): a file descriptor,
 * qshm_waiter_fd(), that an event loop watches for input (POLLIN). It
 * becomes readable when an armed wait ends: a record may be there, the
 * ring was closed, or the producer died (a poll on its pidfd). One
 * io_uring instance per waiter; c must outlive it.
 * Errors: -EINVAL, -EPERM (a read-only consumer), -ENOMEM, or -errno from
 * io_uring setup.
 */
int qshm_waiter_create(qshm_consumer *c, qshm_waiter **out);

/* The descriptor to watch, or -EINVAL. */
int qshm_waiter_fd(const qshm_waiter *w);

/*
 * Arms the waiter: returns 1 when armed (wait until the descriptor is
 * readable, then call qshm_waiter_disarm()), 0 when there is no need to
 * wait (read with timeout 0: a record is there, or the stream ended), or a
 * negative error as qshm_consumer_read() (-QSHM_ECLOSED, ...), -EINVAL
 * (already armed), -ENOSYS (a kernel without io_uring futex waits, before
 * Linux 6.7). Wake-ups may be spurious: read with timeout 0 and arm again
 * on -EAGAIN. Release what was read before arming: a reliable producer may
 * be waiting for that space.
 */
int qshm_waiter_arm(qshm_waiter *w);

/*
 * Ends an armed wait, whether the descriptor became readable or the
 * caller gave up (timeout, cancellation): cancels the futex wait if it is
 * still queued and consumes the completions, so the descriptor is no
 * longer readable. A no-op when not armed. Returns 0.
 */
int qshm_waiter_disarm(qshm_waiter *w);

/* Disarms and frees w (the consumer stays attached). Returns 0. */
int qshm_waiter_close(qshm_waiter *w);

/* The address and size of c's mapping of the segment: record payloads lie
 * inside it (for zero-copy checks and language bindings). Returns 0 or
 * -EINVAL. */
int qshm_consumer_mapping(qshm_consumer *c, const void **base,
			  uint64_t *size);

#ifdef __cplusplus
}
#endif

#endif /* QSHM_QSHM_H */
