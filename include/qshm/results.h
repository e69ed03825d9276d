/* SPDX-License-Identifier: MIT */
/*
 * results.h - libqshmresults: decoding and encoding the result records of
 * qshm/format.h (docs/format.md), the one results codec of qshm.
 *
 * Every consumer of results uses it: the qshm tools, the Python package
 * (through cffi/ctypes: plain structs, pointer + length in, results out, no
 * callbacks), embedders. It knows nothing of rings: it decodes bytes, so a
 * record read in place, a copy, or a file all decode the same way.
 *
 * Records are hostile input. Every length, offset and count read from a
 * record is checked before use; a malformed record gives -EBADMSG and a
 * message naming the record and the field (qshm_results_last_error()), never
 * a crash or a read outside [data, data + len).
 *
 * A consumer that counts the shots of a ring, joining at any moment:
 *
 *	qshm_decoder *d;
 *	qshm_counts *k = NULL;
 *	struct qshm_decoded ev;
 *	qshm_decoder_new(&d);
 *	qshm_decoder_meta(d, blob, blob_len);   // the ring's run descriptor,
 *	                                        // if the ring has one
 *	while (read a record r) {               // type, seq, data, len
 *		if (qshm_decoder_record(d, r.type, r.seq, r.data, r.len,
 *					&ev) < 0)
 *			fail(qshm_results_last_error());
 *		if (ev.new_run)    // a RUN_BEGIN, or the first record of a
 *			...        // run known from the blob: a new table
 *			qshm_counts_new(ev.words_per_shot, &k);
 *		if (ev.kind == QSHM_DECODED_SHOTS)
 *			qshm_counts_add_shots(k, &ev.shots);
 *		if (ev.kind == QSHM_DECODED_RUN_END)
 *			break;
 *	}
 *	struct qshm_count_entry *e; size_t n;
 *	qshm_counts_list(k, ev.run, QSHM_COUNTS_BY_OUTCOME, 0, &e, &n);
 *	// e[i].outcome, e[i].count; then qshm_counts_list_free(e)
 *
 * Errors: functions returning int return 0 (or a documented non-negative
 * value) on success and a negative errno on failure: -EINVAL (a NULL or
 * misaligned argument, a caller mistake), -EBADMSG (the record is malformed),
 * -EPROTO (a results format version this library does not read), -ENOSPC (the
 * caller's buffer is too small), -EOVERFLOW (a value does not fit the output
 * type), -ENOMEM. The calling thread's message for its last failure is in
 * qshm_results_last_error().
 *
 * Alignment: records in a ring start 16-byte aligned (as do buffers from
 * malloc); the decoders that return pointers to arrays inside a record
 * require data to be 8-byte aligned and give -EINVAL otherwise.
 */
#ifndef QSHM_RESULTS_H
#define QSHM_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "qshm/format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compile-time version of this library's interface. */
#define QSHM_RESULTS_LIB_MAJOR 0
#define QSHM_RESULTS_LIB_MINOR 1
#define QSHM_RESULTS_LIB_PATCH 0

/* Limits of what the decoders accept in a RUN_BEGIN. */
#define QSHM_RUN_MAX_CREGS  4096u
#define QSHM_RUN_MAX_CLBITS (64u * 4096u)
#define QSHM_RUN_MAX_NAME   4096u /* circuit and register names, bytes */

/* ------------------------------------------------------------------ */
/* Library                                                              */

/* Run-time version of the library; also the results format it reads
 * (QSHM_RESULTS_VERSION) in *format. Any pointer may be NULL. Returns 0. */
int qshm_results_version(int *major, int *minor, int *patch, int *format);

/* The calling thread's message for its last failed call of this library
 * ("SHOTS: 9 shots of 1 words do not fit 80 bytes"). Never NULL; empty if
 * none failed. */
const char *qshm_results_last_error(void);

/* ------------------------------------------------------------------ */
/* The run: RUN_BEGIN decoded                                           */

/* A validated RUN_BEGIN: header, circuit name and registers, copied out
 * of the record (the record may go away). Opaque; free with
 * qshm_run_free(). Thread-safe to read from several threads. */
typedef struct qshm_run qshm_run;

/* One classical register, in declaration order. */
struct qshm_run_creg_info {
	uint32_t size;      /* bits */
	uint32_t first_bit; /* its bit i is global clbit first_bit + i */
	const char *name;   /* NUL-terminated copy, owned by the run */
	uint32_t name_len;  /* bytes, without the NUL */
	uint32_t reserved;  /* 0 */
};

/*
 * Decodes and validates a RUN_BEGIN payload (data, len) into a new run.
 * Checks: the version; ncregs and nclbits within the limits above;
 * words_per_shot = max(1, ceil(nclbits / 64)); the register table and
 * every name inside the record; registers contiguous from bit 0 and
 * together nclbits bits, none empty.
 * Returns 0 and *out, or -EINVAL (NULL argument), -EBADMSG, -EPROTO,
 * -ENOMEM; *out is NULL on failure.
 */
int qshm_run_decode(const void *data, size_t len, qshm_run **out);

/* Frees a run (NULL is a no-op). */
void qshm_run_free(qshm_run *run);

/* Copies the run's RUN_BEGIN header into *out. Returns 0 or -EINVAL. */
int qshm_run_header(const qshm_run *run, struct qshm_run_begin *out);

/* The circuit name (NUL-terminated, owned by the run), "" if none, NULL
 * for a NULL run. */
const char *qshm_run_name(const qshm_run *run);

/* Number of classical registers (0 for a NULL run). */
uint32_t qshm_run_ncregs(const qshm_run *run);

/* u64 words per shot in the run's SHOTS records (0 for a NULL run). */
uint32_t qshm_run_words_per_shot(const qshm_run *run);

/* Register index (declaration order) into *out. Returns 0, -EINVAL (NULL
 * argument) or -ERANGE (no such register). */
int qshm_run_creg(const qshm_run *run, uint32_t index,
		  struct qshm_run_creg_info *out);

/* The RUN_BEGIN payload the run was decoded from (a copy owned by the
 * run): for re-publishing it. Returns 0 or -EINVAL. */
int qshm_run_payload(const qshm_run *run, const void **data, size_t *len);

/* Bytes an outcome string of this run needs, its NUL included:
 * nclbits + ncregs (a space between registers, then the NUL); 1 for a
 * run without registers; 0 for a NULL run. */
size_t qshm_run_outcome_size(const qshm_run *run);

/*
 * Writes the outcome string of one shot (words_per_shot words at words)
 * into buf: Qiskit's order, each register as c[n-1]..c[0], registers
 * separated by one space, the last-declared register first. nwords must be
 * at least the run's words per shot.
 * Returns the string length (without the NUL), or -EINVAL, -ENOSPC (size
 * smaller than qshm_run_outcome_size(); nothing written).
 */
int qshm_run_outcome(const qshm_run *run, const uint64_t *words,
		     size_t nwords, char *buf, size_t size);

/*
 * The value of each register in one shot: values[r] is register r's bits
 * as an unsigned integer (its c[0] the least significant bit), for r in
 * declaration order. nvalues must be at least qshm_run_ncregs().
 * Returns the number of registers written, or -EINVAL, -ENOSPC, or
 * -EOVERFLOW (a register wider than 64 bits: use the packed words).
 */
int qshm_run_values(const qshm_run *run, const uint64_t *words,
		    size_t nwords, uint64_t *values, size_t nvalues);

/* ------------------------------------------------------------------ */
/* The run: RUN_BEGIN encoded (producers)                               */

/* A classical register, to describe a run. */
struct qshm_run_desc_creg {
	const char *name; /* NUL-terminated */
	uint32_t size;    /* bits, >= 1 */
	uint32_t reserved; /* 0 */
};

/* What a producer says about a run; registers in declaration order,
 * contiguous from global clbit 0. */
struct qshm_run_desc {
	const char *name;      /* circuit name, NUL-terminated; NULL for "" */
	uint32_t nqubits;
	uint32_t options;      /* QSHM_RUN_* */
	uint64_t shots;        /* shots requested */
	uint64_t seed;
	uint64_t circuit_hash;
	uint32_t run;          /* run counter in the ring, 1, 2, ... */
	uint32_t ncregs;
	const struct qshm_run_desc_creg *cregs;
};

/*
 * Encodes d as a RUN_BEGIN payload into buf (size bytes). With buf NULL
 * (size 0) only computes the length.
 * Returns the payload length, or -EINVAL (NULL d, a NULL register name,
 * an empty register, over the limits above), -ENOSPC (buf too small).
 */
int qshm_run_begin_encode(const struct qshm_run_desc *d, void *buf,
			  size_t size);

/* A run made from a description (encoded, then decoded: the same checks
 * as a received one). Returns 0 and *out, or an error of
 * qshm_run_begin_encode() or qshm_run_decode(). */
int qshm_run_new(const struct qshm_run_desc *d, qshm_run **out);

/* ------------------------------------------------------------------ */
/* SHOTS, PROBS, STATE, RUN_END, ERROR                                  */

/* A SHOTS record, viewed in place. */
struct qshm_shots_view {
	uint64_t first_shot;     /* index of the first shot here */
	uint32_t count;          /* shots here */
	uint32_t words_per_shot;
	const uint64_t *words;   /* count * words_per_shot words, in the
				    record: valid as long as the record */
};

/*
 * Decodes a SHOTS payload. data must be 8-byte aligned. With a run (may be
 * NULL), also checks words_per_shot against it and that the shots lie
 * within the shots it requested.
 * Returns 0, or -EINVAL (NULL or misaligned), -EBADMSG.
 */
int qshm_shots_decode(const void *data, size_t len, const qshm_run *run,
		      struct qshm_shots_view *out);

/* Shots per SHOTS record that fit a ring whose largest payload is
 * max_record bytes, capped at 4096; 0 if not even one fits. */
uint32_t qshm_shots_per_record(uint64_t max_record, uint32_t words_per_shot);

/* A PROBS or STATE chunk, viewed in place. */
struct qshm_vector_view {
	uint32_t type;      /* QSHM_REC_PROBS or QSHM_REC_STATE */
	uint32_t nqubits;
	uint64_t first;     /* index of the first element here */
	uint64_t count;     /* elements here */
	uint64_t total;     /* 2^nqubits */
	const double *values; /* PROBS: count doubles; STATE: 2 * count
				 (re, im pairs); in the record */
};

/*
 * Decodes a PROBS or STATE payload (type says which). data must be 8-byte
 * aligned. Checks nqubits <= 63, total = 2^nqubits, first + count <= total
 * and that the elements fit len.
 * Returns 0, or -EINVAL (NULL, misaligned, another type), -EBADMSG.
 */
int qshm_vector_decode(uint32_t type, const void *data, size_t len,
		       struct qshm_vector_view *out);

/* One element of a vector, for "most probable basis states". */
struct qshm_vector_top {
	uint64_t index; /* basis state (bit i is qubit i) */
	double p;       /* probability: the PROBS value or |amplitude|^2 */
	double re, im;  /* STATE: the amplitude; PROBS: p and 0 */
};

/* The k most probable elements of a decoded chunk into top[0..k), most
 * probable first, ties by lower index; NaNs skipped. Returns how many were
 * written (<= k), or -EINVAL. */
int qshm_vector_top(const struct qshm_vector_view *v,
		    struct qshm_vector_top *top, size_t k);

/* A basis-state index as the bit string q[n-1]..q[0] (nqubits <= 64) into
 * buf (at least nqubits + 1 bytes). Returns the length, or -EINVAL,
 * -ENOSPC. */
int qshm_basis_string(uint64_t index, uint32_t nqubits, char *buf,
		      size_t size);

/* Decodes a RUN_END payload into *out. Returns 0, or -EINVAL, -EBADMSG
 * (shorter than struct qshm_run_end). */
int qshm_run_end_decode(const void *data, size_t len,
			struct qshm_run_end *out);

/* The name of a RUN_END status: "ok", "failed", "stopped", "unknown". */
const char *qshm_run_status_name(uint32_t status);

/* An ERROR record, viewed in place. */
struct qshm_error_view {
	int32_t code;      /* negative errno-style code */
	uint32_t len;      /* bytes of text */
	const char *text;  /* UTF-8, NOT NUL-terminated, in the record */
};

/* Decodes an ERROR payload. Returns 0, or -EINVAL, -EBADMSG (text past
 * the end of the record). */
int qshm_error_decode(const void *data, size_t len,
		      struct qshm_error_view *out);

/* Encodes an ERROR payload: code, then msglen bytes of msg (truncated to
 * what fits size). Returns the payload length, or -EINVAL, -ENOSPC (size
 * below 9: not even the header and one byte). */
int qshm_error_encode(int32_t code, const char *msg, size_t msglen,
		      void *buf, size_t size);

/* ------------------------------------------------------------------ */
/* The run descriptor (ring metadata blob)                              */

/*
 * Encodes a run descriptor: *hdr (magic and version are filled in,
 * begin_len set from begin_len) followed by the RUN_BEGIN payload begin.
 * With buf NULL (size 0) only computes the length.
 * Returns its length, or -EINVAL, -ENOSPC.
 */
int qshm_run_meta_encode(const struct qshm_run_meta *hdr, const void *begin,
			 size_t begin_len, void *buf, size_t size);

/*
 * Decodes a run descriptor: its header into *hdr and, if run is not NULL,
 * its RUN_BEGIN into a new *run (as qshm_run_decode()). Checks the magic,
 * the version, begin_seq <= end_seq and that the payload fits len.
 * Returns 0, or -EINVAL, -EBADMSG, -EPROTO, -ENOMEM.
 */
int qshm_run_meta_decode(const void *data, size_t len,
			 struct qshm_run_meta *hdr, qshm_run **run);

/* ------------------------------------------------------------------ */
/* Counts: a histogram of outcomes                                      */

/* Outcomes (a shot's packed words) and how often each was seen: an
 * open-addressing hash table. Opaque; one thread at a time. */
typedef struct qshm_counts qshm_counts;

/* A new, empty table for shots of words_per_shot words (1..4096).
 * Returns 0 and *out, or -EINVAL, -ENOMEM. */
int qshm_counts_new(uint32_t words_per_shot, qshm_counts **out);

/* Frees a table (NULL is a no-op). */
void qshm_counts_free(qshm_counts *k);

/* Empties the table (keeps its memory). */
void qshm_counts_clear(qshm_counts *k);

/* Adds nshots shots, words_per_shot words each, at words. Returns 0, or
 * -EINVAL, -ENOMEM (the shots before the failing one are counted). */
int qshm_counts_add(qshm_counts *k, const uint64_t *words, size_t nshots);

/* Adds n to the count of one outcome (key: words_per_shot words), e.g. to
 * merge tables. Returns 0, -EINVAL, -ENOMEM. */
int qshm_counts_add_n(qshm_counts *k, const uint64_t *key, uint64_t n);

/* Every shot of a decoded SHOTS record. Returns 0, -EINVAL (other words
 * per shot), -ENOMEM. */
int qshm_counts_add_shots(qshm_counts *k, const struct qshm_shots_view *v);

/* The count of one outcome (0 if never seen), in *count. Returns 0 or
 * -EINVAL. */
int qshm_counts_get(const qshm_counts *k, const uint64_t *key,
		    uint64_t *count);

/* Distinct outcomes in the table (0 for NULL). */
uint64_t qshm_counts_distinct(const qshm_counts *k);

/* Shots in the table, all outcomes together (0 for NULL). */
uint64_t qshm_counts_total(const qshm_counts *k);

/* Words per shot of the table's keys (0 for NULL). */
uint32_t qshm_counts_words_per_shot(const qshm_counts *k);

/*
 * Copies up to max outcomes, in no particular order, into keys (max *
 * words_per_shot words) and counts (max entries): for bulk use (numpy).
 * Returns the number of distinct outcomes (which may exceed max), or
 * -EINVAL.
 */
int64_t qshm_counts_export(const qshm_counts *k, uint64_t *keys,
			   uint64_t *counts, size_t max);

/* Orders of qshm_counts_list(). */
#define QSHM_COUNTS_BY_OUTCOME 0u /* outcome strings in strcmp order (as
				     `qshm sim --counts`) */
#define QSHM_COUNTS_BY_COUNT   1u /* most frequent first; ties by outcome */

/* One outcome of a list. */
struct qshm_count_entry {
	const char *outcome;   /* outcome string (qshm_run_outcome()) */
	uint64_t count;
	const uint64_t *words; /* the packed outcome, words_per_shot words,
				  in the table: valid until it changes */
};

/*
 * The table as a sorted array of outcome strings and counts: all of it
 * (max 0) or its first max entries in that order. run gives the register
 * layout (its words per shot must be the table's). One allocation:
 * *out (free with qshm_counts_list_free()), *n entries.
 * Returns 0, or -EINVAL (NULL, unknown order, words per shot differ),
 * -ENOMEM.
 */
int qshm_counts_list(const qshm_counts *k, const qshm_run *run,
		     unsigned order, size_t max,
		     struct qshm_count_entry **out, size_t *n);

/* Frees a list from qshm_counts_list() (NULL is a no-op). */
void qshm_counts_list_free(struct qshm_count_entry *list);

/* ------------------------------------------------------------------ */
/* The decoder: a ring's records, run after run, from any attach point  */

/*
 * Follows the records of a ring in order and says, for each, which run it
 * belongs to and what it holds: the state a consumer needs to decode a
 * stream it joined at any moment, and consecutive runs. Feed it every
 * record read (with its ring seq) and, whenever there is one, the ring's
 * run descriptor (metadata blob): at attach, and again after a gap in seq
 * (lost records). It attributes a record to a run by seq: a RUN_BEGIN it
 * read, or a descriptor's begin_seq..end_seq; records it cannot attribute
 * (joined between runs, RUN_BEGIN lost and no descriptor) are skipped and
 * counted, never guessed. Opaque; one thread at a time.
 */
typedef struct qshm_decoder qshm_decoder;

/* What a record turned out to be (struct qshm_decoded.kind). */
enum qshm_decoded_kind {
	QSHM_DECODED_SKIPPED = 0, /* not decoded: see .skip */
	QSHM_DECODED_RUN_BEGIN,   /* a RUN_BEGIN record: a new run (.run) */
	QSHM_DECODED_SHOTS,       /* .shots */
	QSHM_DECODED_PROBS,       /* .vector */
	QSHM_DECODED_STATE,       /* .vector */
	QSHM_DECODED_ERROR,       /* .error */
	QSHM_DECODED_RUN_END,     /* .end; the run is over */
};

/* Why a record was skipped (struct qshm_decoded.skip). */
enum qshm_skip_reason {
	QSHM_SKIP_NONE = 0,
	QSHM_SKIP_TYPE,     /* not a results record type */
	QSHM_SKIP_NO_RUN,   /* belongs to a run this decoder does not know */
};

/* One record, decoded. Pointers point into the record or the decoder and
 * are valid until the next call on the decoder (and, for views, while the
 * record is). */
struct qshm_decoded {
	uint32_t kind;       /* enum qshm_decoded_kind */
	uint32_t skip;       /* enum qshm_skip_reason */
	uint64_t seq;        /* the record's seq */
	const qshm_run *run; /* the run it belongs to, or NULL */
	uint32_t words_per_shot; /* the run's, or 0 */
	uint32_t new_run;    /* 1: the first record of a run (its RUN_BEGIN,
				or the first record attributed to a run
				known from the descriptor): reset per-run
				state, e.g. counts */
	struct qshm_shots_view shots;   /* QSHM_DECODED_SHOTS */
	struct qshm_vector_view vector; /* QSHM_DECODED_PROBS / _STATE */
	struct qshm_error_view error;   /* QSHM_DECODED_ERROR */
	struct qshm_run_end end;        /* QSHM_DECODED_RUN_END */
};

/* Where the current (or last) run stands, as this decoder saw it. */
struct qshm_progress {
	uint64_t run;          /* run counter (RUN_BEGIN's), 0 unknown */
	uint64_t shots;        /* shots requested */
	uint64_t first_shot;   /* index of the first shot seen;
				  QSHM_SEQ_NONE before any */
	uint64_t next_shot;    /* index after the last shot seen */
	uint64_t shots_seen;   /* shots in the SHOTS records decoded */
	uint64_t shots_missed; /* shots between first_shot and next_shot in
				  records not seen (lost) */
	uint64_t records_skipped; /* records skipped since the decoder began */
	uint64_t shots_delivered; /* RUN_END's count, once ended */
	uint32_t have_run;     /* a run is known */
	uint32_t ended;        /* its RUN_END was seen */
	uint32_t status;       /* RUN_END status, once ended */
	uint32_t from_begin;   /* its RUN_BEGIN record was read (not only
				  the descriptor) */
};

/* A new decoder knowing no run. Returns 0 and *out, -EINVAL, -ENOMEM. */
int qshm_decoder_new(qshm_decoder **out);

/* Frees a decoder (NULL is a no-op). */
void qshm_decoder_free(qshm_decoder *d);

/*
 * Gives the decoder the ring's run descriptor (data, len). len 0 means the
 * ring has none (yet): a no-op. A descriptor of the run already known
 * updates its end; of a newer run, it is kept and used for the records it
 * covers.
 * Returns 0, or an error of qshm_run_meta_decode().
 */
int qshm_decoder_meta(qshm_decoder *d, const void *data, size_t len);

/*
 * Decodes one record (type, seq, payload data/len; data 8-byte aligned)
 * into *out. A malformed record of a known run is an error: it counts as
 * skipped (out->kind QSHM_DECODED_SKIPPED, out->new_run still says whether
 * it started a run) and the caller may go on with the next record. Before
 * feeding the first record, and any record whose seq is not the previous
 * one's + 1, give the decoder the ring's descriptor as read after that
 * record was read (qshm_decoder_meta()), where the ring has one.
 * Returns 0, or -EINVAL (NULL, misaligned, seq going backwards), -EBADMSG,
 * -EPROTO, -ENOMEM (out->kind is QSHM_DECODED_SKIPPED then).
 */
int qshm_decoder_record(qshm_decoder *d, uint32_t type, uint64_t seq,
			const void *data, size_t len,
			struct qshm_decoded *out);

/* The current or last run (NULL before any), owned by the decoder: valid
 * until the next qshm_decoder_record() or _meta() that starts a run. */
const qshm_run *qshm_decoder_run(const qshm_decoder *d);

/* Where the current run stands into *out. Returns 0 or -EINVAL. */
int qshm_decoder_progress(const qshm_decoder *d, struct qshm_progress *out);

#ifdef __cplusplus
}
#endif

#endif /* QSHM_RESULTS_H */
