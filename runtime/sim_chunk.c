/*
 * sim_chunk.c - cache blocking: a run of chunk-local steps (sim_plan.h)
 * executed chunk by chunk.
 *
 * A chunk is 2^L consecutive amplitudes, the ones that share the index bits
 * from L up. On it a step is a step of an L-qubit state: the same kernels
 * run on a view of the chunk (a struct sim_state over its memory, one
 * thread), after the bits from L up are resolved for this chunk: a control
 * up there is 1 (keep the gate without it) or 0 (skip the gate); a
 * restriction (rmask, rval) up there matches (keep its low part) or not
 * (the step's amplitudes in this chunk are zero: skip it); a diagonal
 * step's high qubits select a slice of its table, a diagonal on its low
 * qubits. The chunks split across the state's threads, each thread taking
 * a contiguous range of them.
 */
#include "sim_plan.h"

#include <string.h>

/* Chunks per thread below which the run stays on one thread. */
#define CHUNK_MIN_SPLIT 2

struct chunk_ctx {
	struct sim_state *s;
	const struct sim_step *st;
	size_t n;
	const double *mats;
	unsigned L;
};

/* Step @st on the chunk view @v whose high index bits are @hi. */
static void chunk_step(struct sim_state *v, const struct sim_step *st,
		       const double *mats, uint64_t hi, uint64_t low)
{
	const uint64_t rh = st->rmask & ~low;

	if ((hi & rh) != (st->rval & rh))
		return;  /* amplitudes of this step are zero in this chunk */
	if (st->kind == SIM_STEP_OP) {
		const struct qasm_op *op = &st->op;
		const uint64_t ch = op->ctrl & ~low;

		if ((hi & ch) != ch)
			return;  /* a high control is 0 here */
		if (op->kind == QASM_OP_GATE1)
			sim_apply_gate1_r(v, op->q[0], op->ctrl & low, st->m,
					  op->shape, st->rmask & low,
					  st->rval & low);
		else
			sim_apply_gate2_r(v, op->q[0], op->q[1],
					  op->ctrl & low, st->m, op->shape,
					  st->rmask & low, st->rval & low);
		return;
	}

	struct sim_step loc = *st;

	loc.rmask = st->rmask & low;
	loc.rval = st->rval & low;
	if (st->kind == SIM_STEP_DIAG && st->k &&
	    st->q[st->k - 1] >= v->nqubits) {
		/* The slice of the table for this chunk's high qubits. */
		double tab[2u << SIM_DIAG_MAX];
		unsigned kl = 0, hidx = 0;

		while (kl < st->k && st->q[kl] < v->nqubits)
			kl++;
		for (unsigned b = kl; b < st->k; b++)
			if ((hi >> st->q[b]) & 1)
				hidx |= 1u << b;
		for (unsigned i = 0; i < (1u << kl); i++) {
			tab[2 * i] = mats[st->mat + 2 * (i | hidx)];
			tab[2 * i + 1] = mats[st->mat + 2 * (i | hidx) + 1];
		}
		loc.k = (uint8_t)kl;
		loc.mat = 0;
		sim_apply_block(v, &loc, tab);
		return;
	}
	sim_apply_block(v, &loc, mats);
}

static void chunk_range(void *arg, size_t c0, size_t c1)
{
	const struct chunk_ctx *C = arg;
	const uint64_t low = ((uint64_t)1 << C->L) - 1;
	struct sim_state v;

	v.nqubits = C->L;
	v.namps = (size_t)1 << C->L;
	v.bytes = C->s->bytes >> (C->s->nqubits - C->L);
	v.threads = 1;
	v.single = C->s->single;
	for (size_t c = c0; c < c1; c++) {
		v.amps = (double *)(void *)((char *)C->s->amps + c * v.bytes);
		for (size_t i = 0; i < C->n; i++)
			chunk_step(&v, &C->st[i], C->mats, (uint64_t)c << C->L,
				   low);
	}
}

void sim_apply_chunked(struct sim_state *s, const struct sim_step *st,
		       size_t n, const double *mats, unsigned chunk_bits)
{
	struct chunk_ctx C = { s, st, n, mats, chunk_bits };

	sim_par_for(s->threads, s->namps >> chunk_bits, CHUNK_MIN_SPLIT,
		    chunk_range, &C);
}
