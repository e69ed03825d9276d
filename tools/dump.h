/* SPDX-License-Identifier: MIT */
/*
 * dump.h - what the parts of `qshm dump` share (private to tools/):
 * dump_scan.c reads the ring and keeps the last records (copied, validated,
 * with the run each belongs to), dump_text.c and dump_json.c print the
 * report and the records, cmd_dump.c parses options and follows.
 */
#ifndef QSHM_TOOLS_DUMP_H
#define QSHM_TOOLS_DUMP_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "qshm/format.h"
#include "qshm/qshm.h"
#include "qshm/results.h"
#include "snapshot.h"

struct dump_opts {
	uint64_t nrec;
	int json, follow;
	double duration;
	unsigned shots, top;
	uint64_t hex;
};

/* A decoded RUN_BEGIN, shared by the records kept after it. */
struct run_ref {
	int refs;
	int ok;             /* decoded; else err says why */
	char err[256];
	qshm_run *run;
	struct qshm_run_begin hdr; /* run's header, when ok */
	/* Records with begin_seq < seq <= end_seq are this run's: from its
	 * RUN_BEGIN record, or from the ring's run descriptor. */
	uint64_t begin_seq, end_seq;
	int from_desc;
};

/* A record copied out of the ring. */
struct kept {
	uint64_t seq, pos, lost;
	uint16_t type;
	uint32_t len;
	uint8_t *data;
	size_t cap;
	struct run_ref *run; /* the run in effect (NULL: none seen) */
};

/* Per consumer: the sequence number found at (or just after) its
 * position during the scan. */
struct cons_lag {
	unsigned slot;      /* index into snap.slots */
	uint64_t position;
	int found;          /* a record at or above position was read */
	int exact;          /* ... exactly at position */
	uint64_t seq;
};

struct scan {
	struct kept *win;   /* last nrec records, circular */
	uint64_t nwin, next;/* slots, next slot to fill */
	uint64_t kept;      /* records kept in all (capped view: nwin) */
	uint64_t read;      /* records read intact */
	uint64_t lost;      /* records lost while reading */
	uint64_t first_seq, last_seq;
	int have;           /* first/last_seq valid */
	struct run_ref *run;/* latest RUN_BEGIN, or the run descriptor's */
	struct qshm_run_meta desc; /* the ring's run descriptor */
	int have_desc;
	char desc_err[256]; /* why it could not be decoded, or "" */
	int err;            /* what stopped the scan (0: reached the end) */
	int have_pending;   /* a record past the snapshot, for --follow */
	struct kept pending;
	uint64_t pending_lost; /* lost past the snapshot (pending not kept) */
};

struct cons_view {
	const struct qshm_slot_info *si;
	uint64_t lag_bytes;
	uint64_t lag_records;
	int lag_exact;   /* counted record by record */
	int behind;      /* position below the oldest record: will lose */
};

/* dump_scan.c: runs, records, the scan */
void dump_run_put(struct run_ref *r);
struct run_ref *dump_run_get(struct run_ref *r);
struct run_ref *dump_run_decode(const void *data, size_t len, uint64_t seq);
const char *dump_type_name(uint16_t t);
int dump_by_position(const void *a, const void *b);
int dump_keep(qshm_consumer *c, const struct qshm_record *r,
	      struct kept *k, struct run_ref *run);
void dump_kept_free(struct kept *k);
int dump_scan_ring(qshm_consumer *c, uint64_t end, struct scan *s,
		   struct cons_lag *lags, unsigned nlags);
void dump_read_descriptor(qshm_consumer *c, struct scan *s);
struct kept *dump_kept_at(struct scan *s, uint64_t i);
void dump_cons_views(const struct snap *sn, const struct scan *s,
		     const struct cons_lag *lags, struct cons_view *cv);

/* dump_text.c */
void dump_hexdump(FILE *f, const uint8_t *p, size_t len, uint64_t max);
void dump_print_safe(FILE *f, const char *s);
void dump_text_record(FILE *f, const struct kept *k,
		      const struct dump_opts *o);
void dump_text_report(FILE *f, const char *name, const struct snap *sn,
		      const struct scan *s, const struct cons_view *cv,
		      const struct dump_opts *o);

/* dump_json.c */
void dump_json_record(struct json *j, const struct kept *k,
		      const struct dump_opts *o);
void dump_json_report(FILE *f, const char *name, const struct snap *sn,
		      const struct scan *s, const struct cons_view *cv,
		      const struct dump_opts *o);

#endif
