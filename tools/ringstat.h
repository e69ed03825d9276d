/* SPDX-License-Identifier: MIT */
/*
 * ringstat.h - the rings `qshm stat` watches: each attached read-only,
 * sampled now and then (rates come from the last two samples), re-attached
 * when its name comes to point at a new ring, and, with --all, discovered
 * in /dev/shm as rings come and go.
 */
#ifndef QSHM_TOOLS_RINGSTAT_H
#define QSHM_TOOLS_RINGSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "qshm/qshm.h"
#include "snapshot.h"

struct rs_ring {
	char name[QSHM_NAME_MAX + 1];
	qshm_consumer *c;      /* NULL while not attached */
	int err;               /* last attach error (0 while attached) */
	char errmsg[256];      /* qshm_last_error() of that error */
	int state;             /* enum qshm_ring_state from the last look,
				  -1 if the ring does not exist */
	uint64_t generation, created_ns; /* of the ring attached to */
	struct snap prev, cur; /* the last two samples */
	int nsamples;          /* samples since attaching (rates: >= 2) */
	struct snap now;       /* a fresh snapshot for output */
	int have_now;
	int listed;            /* --all: still in /dev/shm */
	int is_service;        /* a `qshm serve` control ring (its
				  descriptor says so, read at attach) */
	unsigned char meta[64];/* that descriptor */
	size_t meta_len;
};

/* A service ring's metrics from its ->now snapshot. Returns 0, or -1 if r
 * is not a service's ring or has no snapshot. */
struct qshm_service_metrics;
int rs_service_metrics(const struct rs_ring *r,
		       struct qshm_service_metrics *out);

struct rs_set {
	struct rs_ring *v;
	size_t n, cap;
	int all;               /* track every ring in /dev/shm */
};

/* Adds a ring by name (not attached yet). Returns 0 or -ENOMEM. */
int rs_add(struct rs_set *s, const char *name);
void rs_free(struct rs_set *s);

/*
 * Looks at every ring: attaches those not attached, re-attaches those
 * whose name now points at another ring (new generation), detaches those
 * that are gone; with s->all, adds the rings that appeared in /dev/shm and
 * drops those that disappeared.
 */
void rs_refresh(struct rs_set *s);

/* Takes a sample of every attached ring (prev = cur, cur = new). */
void rs_sample(struct rs_set *s);

/* Takes a fresh snapshot of every attached ring into ->now. */
void rs_snap_now(struct rs_set *s);

/* Seconds between the last two samples; 0 when there are not two. */
double rs_dt(const struct rs_ring *r);

/* (b - a) / dt, or NaN when dt is 0 or the counter went back. */
double rs_rate(uint64_t a, uint64_t b, double dt);

/* The slot in snap sn that is the same consumer as si (same slot, pid
 * and attach time), or NULL. */
const struct qshm_slot_info *rs_same_slot(const struct snap *sn,
					  const struct qshm_slot_info *si);

/* Consumer lag in records: exact from the sequence number the consumer
 * publishes (si->next_seq), else (si NULL, or not known yet) estimated
 * from the lag in bytes and the ring's average footprint per record. */
uint64_t rs_lag_records(const struct snap *sn, const struct qshm_slot_info *si,
			uint64_t lag_bytes);

#endif
