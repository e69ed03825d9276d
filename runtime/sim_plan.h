/*
 * sim_plan.h - private to the sim_*.c files: the execution plan of a run
 * (sim_plan.c), the kernels of fused blocks (sim_block.c) and the thread
 * split shared by the kernels (sim_par.c).
 *
 * A plan is the circuit's operation list turned into steps. Consecutive
 * unconditional gates become blocks: a block acts on at most
 * SIM_FUSE_MAX qubits with one dense 2^k x 2^k matrix (their product), or,
 * when every gate in it is diagonal, on at most SIM_DIAG_MAX qubits with a
 * table of 2^k phases; either way one sweep over the state. Products that
 * are monomial (one non-zero per row: permutations with phases, as runs of
 * x, cx, ccx, swap give) get a kernel that only moves amplitudes. A block
 * of a single gate stays an operation and runs through the gate kernels.
 *
 * Blocks only ever hold gates on disjoint qubits while open, so they
 * commute and may be closed in any order; a measurement, reset or
 * conditional operation closes the open blocks that share a qubit with it
 * and keeps its place. The planner also follows which qubits are in a
 * known basis state (from |0...0>, through resets and permutation gates
 * whose controls are known): gates controlled by a qubit known to be 0 are
 * dropped, controls known to be 1 are removed, resets of qubits known to be
 * |0> vanish (known |1>: an x), and measurements of known qubits become a
 * constant bit. All of it is exact: amplitudes that the known values rule
 * out are exactly zero in floating point as well.
 *
 * Cache blocking: with the state cut into chunks of 2^L amplitudes (L the
 * plan's chunk_bits, a chunk half an L2 cache), a step is chunk-local when
 * every amplitude it mixes lies in one chunk: gates and dense or monomial
 * blocks whose targets are all below qubit L (controls may be anywhere: in
 * a chunk a high control is a constant), and every diagonal step (on a
 * chunk its high qubits are constants, leaving a diagonal on the low
 * ones). A run of consecutive chunk-local steps is marked on its first
 * step (chunk_len) and executes chunk by chunk (sim_apply_chunked): every
 * step of the run on one chunk while it sits in the cache, then the next
 * chunk. One sweep of memory for the whole run; each amplitude goes
 * through the same arithmetic as in separate passes. Before the runs are
 * marked, swap passes may renumber the qubits so that work on high qubits
 * becomes chunk-local too (sim_remap.c).
 */
#ifndef QSHM_SIM_PLAN_H
#define QSHM_SIM_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define SIM_FUSE_MAX 5       /* qubits of a dense block */
#define SIM_DIAG_MAX 10      /* qubits of a diagonal block */
#define SIM_FUSE_DEFAULT 4   /* dense block size unless configured */

enum sim_step_kind {
	SIM_STEP_OP = 1,     /* op: a gate, measurement or reset */
	SIM_STEP_SETBIT,     /* op.clbit = value (a measurement of a known qubit) */
	SIM_STEP_DENSE,      /* 2^k x 2^k matrix at mat */
	SIM_STEP_MONO,       /* the same, one non-zero per row and column */
	SIM_STEP_DIAG,       /* 2^k diagonal entries at mat */
	SIM_STEP_PERM,       /* swap pass: exchange the index bits of physical
				qubits q[i] and q[k/2 + i], i < k/2 */
};

#define SIM_PERM_PAIRS 5     /* pairs of qubits of one swap pass */

struct sim_step {
	uint8_t kind;
	uint8_t k;                  /* blocks: number of qubits */
	uint8_t value;              /* SETBIT */
	uint32_t ngates;            /* gates of the circuit in this step */
	uint32_t q[SIM_DIAG_MAX];   /* blocks: qubits, ascending */
	size_t mat;                 /* blocks: offset in plan->mats, doubles */
	struct qasm_op op;          /* OP, SETBIT (with the circuit's matrix) */
	const double *m;            /* OP gates: the matrix */
	/* Qubits outside the step in a known basis state when it runs, and
	 * their values: amplitudes elsewhere are exactly zero, so gate steps
	 * visit only those with these bits equal to rval. */
	uint64_t rmask, rval;
	/* The first step of a blocked run: steps in the run, this one
	 * included (0 or 1: not blocked). */
	uint32_t chunk_len;
};

struct sim_plan {
	struct sim_step *steps;
	size_t nsteps;
	double *mats;               /* re, im pairs; row-major for dense */
	size_t nmats, cap_mats;
	/* what planning did */
	size_t ngates_in;           /* gates in the operation list */
	size_t ngates_dropped;      /* never act (a control known 0) */
	size_t nresets_dropped;     /* resets of qubits known |0> */
	size_t nblocks;             /* fused steps */
	unsigned chunk_bits;        /* L: chunks of 2^L amplitudes */
	size_t nruns;               /* blocked runs (chunk_len >= 2) */
	size_t nrun_steps;          /* steps inside them */
	size_t nperms;              /* swap passes (sim_remap.c) */
};

/*
 * Plan the @nops operations @ops of @c (a run's list, terminal
 * measurements taken out) for a state of c->nqubits. @fuse_max: the most
 * qubits of a dense block (1..SIM_FUSE_MAX); 0: no fusion and no
 * simplification, one step per operation. @chunk_bits: L of the cache
 * blocking (2..30); 0, or L + 2 > the state's qubits: none. Returns 0 or
 * -ENOMEM.
 */
int sim_plan_build(struct sim_plan *p, const struct qasm_circuit *c,
		   const struct qasm_op *ops, size_t nops, unsigned fuse_max,
		   unsigned chunk_bits, bool remap);

/* Whether step @st mixes only amplitudes within chunks of 2^@L (its
 * qubits as the step names them). */
bool sim_step_chunk_local(const struct sim_step *st, unsigned L);

/*
 * Qubit remapping (sim_remap.c): rewrite the steps of @p (a fused plan
 * of @nq qubits) in physical qubits with swap passes that make more of it
 * local to chunks of 2^@L amplitudes, and swap passes at the end back to
 * the identity; kept only if the plan then has fewer sweeps. Before the
 * blocked runs are marked. Returns 0 or -ENOMEM (the plan unchanged).
 */
int sim_plan_remap(struct sim_plan *p, unsigned nq, unsigned L);
/*
 * What @n steps cost in sweeps of the state once the blocked runs for
 * chunks of 2^@L are marked (@L 0: none): a step restricted by known
 * qubits costs the fraction of the state it visits, a blocked run the sum
 * of its steps' fractions up to one, a swap pass SIM_PERM_COST (one
 * sweep: it reads and writes every amplitude once).
 */
#define SIM_PERM_COST 1.0
double sim_plan_cost(const struct sim_step *st, size_t n, unsigned L);
/* Apply a SIM_STEP_PERM step to @s (its threads). */
void sim_apply_perm(struct sim_state *s, const struct sim_step *st);
void sim_plan_free(struct sim_plan *p);

/* Gate kernels (sim_kernels.c) restricted to the amplitudes whose @rmask
 * bits equal @rval (the others must be zero). */
void sim_apply_gate1_r(struct sim_state *s, unsigned t, uint64_t ctrl,
		       const double m[8], int shape, uint64_t rmask,
		       uint64_t rval);
void sim_apply_gate2_r(struct sim_state *s, unsigned q0, unsigned q1,
		       uint64_t ctrl, const double m[32], int shape,
		       uint64_t rmask, uint64_t rval);

/* Apply a DENSE, MONO or DIAG step to @s (its threads, st->rmask). */
void sim_apply_block(struct sim_state *s, const struct sim_step *st,
		     const double *mats);

/*
 * Run the @n steps from @st (a blocked run: all chunk-local for chunks of
 * 2^@chunk_bits amplitudes) chunk by chunk (sim_chunk.c); chunks split
 * across the state's threads.
 */
void sim_apply_chunked(struct sim_state *s, const struct sim_step *st,
		       size_t n, const double *mats, unsigned chunk_bits);

/* ---- threads (sim_par.c) ---- */

/*
 * Call @fn(@ctx, begin, end) over a split of [0, @n) into at most
 * @threads contiguous ranges, in parallel; all calls have returned when
 * this returns. Serial when @threads <= 1 or @n < @min_split.
 */
typedef void (*sim_range_fn)(void *ctx, size_t begin, size_t end);
void sim_par_for(unsigned threads, size_t n, size_t min_split,
		 sim_range_fn fn, void *ctx);

#endif
