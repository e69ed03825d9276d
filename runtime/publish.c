/* SPDX-License-Identifier: MIT */
/*
 * publish.c - a simulation run as result records, and the run descriptor
 * (see publish.h; docs/format.md "Joining at any moment").
 *
 * Order of a run in the ring, and why: RUN_BEGIN is committed first; the
 * descriptor naming it (with its seq) is set right after, before any other
 * record of the run is claimed. So every record of a run but its RUN_BEGIN
 * is committed after the descriptor names the run, which is what lets a
 * consumer that finds a gap attribute the next record it reads
 * (results/decoder.c). At RUN_END, the descriptor is set again with the
 * run's end seq and status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "publish.h"
#include "qasm.h"
#include "rt_error.h"
#include "sim.h"

/* Claims wait in slices so a stop request is seen while the ring is full. */
#define PUB_SLICE_NS (200 * 1000 * 1000)

static int pub_claim(struct publisher *pub, size_t len, uint16_t type,
		     void **buf)
{
	for (;;) {
		int err = qshm_producer_claim(pub->p, len, type, PUB_SLICE_NS,
					      buf);
		if (err != -ETIMEDOUT)
			return err;
		if (pub->stop && *pub->stop)
			return -EINTR;
	}
}

void publisher_init(struct publisher *pub, qshm_producer *p,
		    volatile sig_atomic_t *stop)
{
	memset(pub, 0, sizeof(*pub));
	pub->p = p;
	pub->stop = stop;
}

void publisher_free(struct publisher *pub)
{
	free(pub->meta);
	pub->meta = NULL;
	pub->meta_len = pub->meta_cap = 0;
}

int publisher_describe(const struct qasm_circuit *c, uint64_t shots,
		       uint64_t seed, uint32_t options, uint32_t run,
		       qshm_run **out)
{
	const char *name = c->name ? c->name : "";
	const char *base = strrchr(name, '/');
	struct qshm_run_desc_creg *regs;
	int err;

	regs = calloc(c->ncregs ? c->ncregs : 1, sizeof(*regs));
	if (!regs)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->ncregs; i++) {
		regs[i].name = c->cregs[i].name;
		regs[i].size = c->cregs[i].size;
	}
	struct qshm_run_desc d = {
		.name = base ? base + 1 : name,
		.nqubits = c->nqubits,
		.options = options,
		.shots = shots,
		.seed = seed,
		.circuit_hash = c->source_hash,
		.run = run,
		.ncregs = c->ncregs,
		.cregs = regs,
	};
	err = qshm_run_new(&d, out);
	free(regs);
	return err;
}

/* The ring's seq of the record committed last (every record of ours is
 * committed by now: each is committed before the next is claimed). */
static uint64_t last_seq(struct publisher *pub)
{
	struct qshm_producer_stats st;

	if (qshm_producer_stats(pub->p, &st) || !st.records)
		return 0;
	return st.records - 1;
}

/* Publishes the descriptor in pub->meta as the ring's blob. */
static int publish_meta(struct publisher *pub)
{
	int err = qshm_producer_set_meta(pub->p, pub->meta, pub->meta_len);
	/* A ring made without room for it still carries the records; its
	 * consumers need RUN_BEGIN to decode them. */
	return err == -EMSGSIZE ? 0 : err;
}

int publisher_begin(struct publisher *pub, const struct qasm_circuit *c,
		    uint64_t shots, uint64_t seed, uint32_t options)
{
	qshm_run *run;
	const void *begin;
	size_t len;
	uint8_t *b;
	int err;

	err = publisher_describe(c, shots, seed, options, pub->run + 1, &run);
	if (err)
		return err;
	qshm_run_payload(run, &begin, &len);
	err = pub_claim(pub, len, QSHM_REC_RUN_BEGIN, (void **)&b);
	if (err)
		goto out;
	memcpy(b, begin, len);
	err = qshm_producer_commit(pub->p);
	if (err)
		goto out;
	pub->run++;
	pub->wps = qshm_run_words_per_shot(run);
	pub->per_record = qshm_shots_per_record(
		qshm_producer_max_record(pub->p), pub->wps);
	pub->next_shot = 0;
	pub->cur = NULL;

	struct qshm_run_meta h = {
		.run = pub->run,
		.begin_seq = last_seq(pub),
		.end_seq = QSHM_SEQ_NONE,
	};
	size_t need = (size_t)qshm_run_meta_encode(&h, begin, len, NULL, 0);
	if (need > pub->meta_cap) {
		uint8_t *m = realloc(pub->meta, need);
		if (!m) {
			err = -ENOMEM;
			goto out;
		}
		pub->meta = m;
		pub->meta_cap = need;
	}
	pub->meta_len = (size_t)qshm_run_meta_encode(&h, begin, len,
						     pub->meta, pub->meta_cap);
	err = publish_meta(pub);
out:
	qshm_run_free(run);
	return err;
}

int publisher_flush(struct publisher *pub)
{
	if (!pub->cur)
		return 0;
	size_t len = sizeof(struct qshm_shots) +
		     (size_t)pub->cur->count * pub->wps * 8;
	int err = qshm_producer_trim(pub->p, len);
	pub->cur = NULL;
	if (err)
		return err;
	return qshm_producer_commit(pub->p);
}

int publisher_shots(void *ctx, const uint64_t *bits, size_t n, size_t wps)
{
	struct publisher *pub = ctx;

	if (wps != pub->wps || !pub->per_record)
		return -EINVAL;
	while (n) {
		if (!pub->cur) {
			size_t len = sizeof(struct qshm_shots) +
				     (size_t)pub->per_record * wps * 8;
			int err = pub_claim(pub, len, QSHM_REC_SHOTS,
					    (void **)&pub->cur);
			if (err)
				return err;
			/* Which shots this record holds: a consumer that
			 * joins here knows where it joined. */
			pub->cur->first_shot = pub->next_shot;
			pub->cur->count = 0;
			pub->cur->words_per_shot = (uint32_t)wps;
			pub->cur_bits = (uint64_t *)(pub->cur + 1);
		}
		size_t room = pub->per_record - pub->cur->count;
		size_t k = n < room ? n : room;
		memcpy(pub->cur_bits + (size_t)pub->cur->count * wps, bits,
		       k * wps * 8);
		pub->cur->count += (uint32_t)k;
		pub->next_shot += k;
		bits += k * wps;
		n -= k;
		if (pub->cur->count == pub->per_record) {
			int err = publisher_flush(pub);
			if (err)
				return err;
		}
	}
	return 0;
}

int publisher_vector(struct publisher *pub, uint16_t type, uint32_t nqubits,
		     size_t elem, publisher_fill_fn fill, void *ctx)
{
	uint64_t total = UINT64_C(1) << nqubits;
	uint64_t per = (qshm_producer_max_record(pub->p) -
			sizeof(struct qshm_chunk)) / elem;

	for (uint64_t first = 0; first < total; first += per) {
		uint64_t n = total - first < per ? total - first : per;
		struct qshm_chunk *ch;
		int err = pub_claim(pub, sizeof(*ch) + n * elem, type,
				    (void **)&ch);
		if (err)
			return err;
		ch->nqubits = nqubits;
		ch->reserved = 0;
		ch->first = first;
		ch->count = n;
		ch->total = total;
		err = fill(ctx, first, n, ch + 1);
		if (err) {
			/* Already claimed: publish it trimmed to its header
			 * with count 0 rather than leave garbage. */
			ch->count = 0;
			qshm_producer_trim(pub->p, sizeof(*ch));
			qshm_producer_commit(pub->p);
			return err;
		}
		qshm_producer_commit(pub->p);
	}
	return 0;
}

int publisher_error(struct publisher *pub, int code, const char *msg)
{
	size_t n = strlen(msg), max = qshm_producer_max_record(pub->p);
	size_t len = sizeof(struct qshm_run_error) + (n ? n : 1);
	void *b;
	int err;

	if (len > max)
		len = max;
	err = pub_claim(pub, len, QSHM_REC_ERROR, &b);
	if (err)
		return err;
	qshm_error_encode(code, msg, n, b, len);
	return qshm_producer_commit(pub->p);
}

int publisher_end(struct publisher *pub, uint32_t status,
		  uint64_t elapsed_ns, uint64_t sim_ns)
{
	struct qshm_run_end *e;
	int err = publisher_flush(pub);

	if (err)
		return err;
	err = pub_claim(pub, sizeof(*e), QSHM_REC_RUN_END, (void **)&e);
	if (err)
		return err;
	e->status = status;
	e->reserved = 0;
	e->shots = pub->next_shot;
	e->elapsed_ns = elapsed_ns;
	e->sim_ns = sim_ns;
	err = qshm_producer_commit(pub->p);
	if (err || pub->meta_len < sizeof(struct qshm_run_meta))
		return err;
	struct qshm_run_meta h;
	memcpy(&h, pub->meta, sizeof(h));
	h.end_seq = last_seq(pub);
	h.status = status;
	h.shots_done = pub->next_shot;
	memcpy(pub->meta, &h, sizeof(h));
	return publish_meta(pub);
}

uint64_t publish_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int publisher_run_shots(struct publisher *pub, const struct qasm_circuit *c,
			struct sim_run *run, uint64_t shots, uint64_t seed,
			char *err, size_t errlen)
{
	struct rt_error rerr;
	uint64_t t0 = publish_now_ns(), sim_ns;
	int rc;

	rc = publisher_begin(pub, c, shots, seed, 0);
	if (rc) {
		snprintf(err, errlen, "publisher_begin: %s",
			 qshm_strerror(rc));
		return rc;
	}
	rt_error_clear(&rerr);
	rc = sim_run_shots(run, shots, publisher_shots, pub, &rerr);
	sim_ns = publish_now_ns() - t0;
	if (rc) {
		snprintf(err, errlen, "sim_run_shots: %s", rerr.code ?
			 rerr.msg : qshm_strerror(rc < 0 ? rc : -rc));
		return rc < 0 ? rc : -EIO;
	}
	rc = publisher_end(pub, QSHM_RUN_OK, publish_now_ns() - t0, sim_ns);
	if (rc)
		snprintf(err, errlen, "publisher_end: %s", qshm_strerror(rc));
	return rc;
}
