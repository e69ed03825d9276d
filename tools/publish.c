/* SPDX-License-Identifier: MIT */
/* publish.c - a simulation run as result records (see publish.h). */
#include <errno.h>
#include <string.h>

#include "../runtime/qasm.h"
#include "publish.h"

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

int publisher_begin(struct publisher *pub, const struct qasm_circuit *c,
		    uint64_t shots, uint64_t seed, uint32_t options)
{
	const char *name = c->name ? c->name : "";
	const char *base = strrchr(name, '/');
	name = base ? base + 1 : name;
	size_t strings = strlen(name);
	for (uint32_t i = 0; i < c->ncregs; i++)
		strings += strlen(c->cregs[i].name);
	size_t len = sizeof(struct qshm_run_begin) +
		     c->ncregs * sizeof(struct qshm_creg) + strings;
	uint8_t *b;
	int err = pub_claim(pub, len, QSHM_REC_RUN_BEGIN, (void **)&b);
	if (err)
		return err;

	pub->wps = (uint32_t)qasm_circuit_words_per_shot(c);
	size_t per = (qshm_producer_max_record(pub->p) -
		      sizeof(struct qshm_shots)) / (8u * pub->wps);
	pub->per_record = per > 4096 ? 4096 : (uint32_t)per;
	pub->next_shot = 0;

	struct qshm_run_begin h = {
		.version = QSHM_RESULTS_VERSION,
		.nqubits = c->nqubits,
		.shots = shots,
		.seed = seed,
		.circuit_hash = c->source_hash,
		.nclbits = c->nclbits,
		.ncregs = c->ncregs,
		.words_per_shot = pub->wps,
		.options = options,
		.creg_off = sizeof(struct qshm_run_begin),
	};
	size_t s = h.creg_off + c->ncregs * sizeof(struct qshm_creg);
	h.name_off = (uint32_t)s;
	h.name_len = (uint32_t)strlen(name);
	memcpy(b + s, name, h.name_len);
	s += h.name_len;
	for (uint32_t i = 0; i < c->ncregs; i++) {
		struct qshm_creg cr = {
			.size = c->cregs[i].size,
			.first_bit = c->cregs[i].offset,
			.name_off = (uint32_t)s,
			.name_len = (uint32_t)strlen(c->cregs[i].name),
		};
		memcpy(b + s, c->cregs[i].name, cr.name_len);
		s += cr.name_len;
		memcpy(b + h.creg_off + i * sizeof(cr), &cr, sizeof(cr));
	}
	memcpy(b, &h, sizeof(h));
	return qshm_producer_commit(pub->p);
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

	if (wps != pub->wps)
		return -EINVAL;
	while (n) {
		if (!pub->cur) {
			size_t len = sizeof(struct qshm_shots) +
				     (size_t)pub->per_record * wps * 8;
			int err = pub_claim(pub, len, QSHM_REC_SHOTS,
					    (void **)&pub->cur);
			if (err)
				return err;
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
	size_t n = strlen(msg);
	struct qshm_run_error *e;
	int err;

	if (n > qshm_producer_max_record(pub->p) - sizeof(*e))
		n = qshm_producer_max_record(pub->p) - sizeof(*e);
	err = pub_claim(pub, sizeof(*e) + (n ? n : 1), QSHM_REC_ERROR,
			(void **)&e);
	if (err)
		return err;
	e->code = code;
	e->len = (uint32_t)n;
	memcpy(e + 1, msg, n);
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
	return qshm_producer_commit(pub->p);
}
