/*
 * sim.h - the state-vector simulator of the qshm runtime.
 *
 * Internal to qshm (not installed). A run simulates one parsed circuit
 * (qasm.h) and delivers shots in batches through a callback, so that a
 * publisher can stream them without holding them all:
 *
 *     struct sim_config cfg = SIM_CONFIG_INIT;
 *     struct sim_run *run;
 *     cfg.seed = 42;
 *     if (sim_run_create(&run, circuit, &cfg, &err) < 0) ...
 *     rc = sim_run_shots(run, 1000000, on_shots, ctx, &err);
 *     ... sim_run_final_state(run, &amps, &n) for a STATE record ...
 *     sim_run_destroy(run);
 *
 * Shots: each shot's classical bits are packed little-endian into
 * sim_run_words_per_shot() 64-bit words; global clbit k (cregs in declaration
 * order, c[0] of the first creg is bit 0) is bit k%64 of word k/64.
 *
 * How shots are made: measurements that nothing acts on afterwards
 * (terminal ones) are deferred to the end. The part of the circuit whose
 * outcome is the same in every shot (everything, when the only measurements
 * are terminal; otherwise up to the first measurement or reset whose outcome
 * is random) runs once. If nothing random remains, every shot is sampled
 * from that one final state with an alias table (O(1) per shot). Otherwise
 * shots branch at each random outcome: the states after each outcome are
 * kept in a tree (within sim_config.tree_bytes), so each distinct
 * branch is simulated once and its leaf sampled like a final state; shots
 * that leave the tree copy the deepest state they reached and run the rest
 * themselves, sampling their terminal measurements with one pass.
 * Measurement or reset outcomes with probability below SIM_PROB_EPS are
 * treated as impossible.
 *
 * Execution: the operations run as a plan (sim_plan.h): consecutive gates
 * fused into blocks of up to sim_config.fuse_qubits qubits (one pass over
 * the state each), diagonal runs into diagonal passes, resets and
 * measurements of qubits in a known basis state dropped or made constant,
 * and every pass restricted to the amplitudes that can be non-zero. Runs
 * of steps that each stay within chunks of 2^sim_config.chunk_qubits
 * amplitudes execute chunk by chunk (cache blocking: one sweep of memory
 * per run), with swap passes that renumber qubits where that makes more
 * of the plan chunk-local. Passes split across sim_config.threads
 * threads; results do not depend on the thread count. SIM_FLAG_SINGLE
 * keeps the amplitudes in float (half the memory). Terminal measurements of more than 19 qubits are sampled
 * from the state itself (no marginal or alias table of 2^m entries): one
 * pass of block sums, then per 2^20 shots a sorted walk.
 *
 * RNG: xoshiro256** (Blackman and Vigna), seeded from the 64-bit seed
 * through splitmix64; a run is deterministic for a given seed and
 * configuration, whatever the batch size.
 *
 * State layout: amplitude of basis state i (qubit k = bit k of i) at
 * amps[2i] (real) and amps[2i+1] (imaginary), doubles (floats in a single
 * state: sim_state_amp() reads either), 64-byte aligned, allocated with
 * jemalloc's mallocx.
 */
#ifndef QSHM_SIM_H
#define QSHM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qasm.h"
#include "rt_error.h"

#define SIM_MAX_QUBITS 40          /* 2^40 amplitudes: 16 TiB */
#define SIM_DEFAULT_BATCH 4096     /* shots per callback */
#define SIM_PROB_EPS 1e-13

/* ---- RNG ---- */

struct sim_rng {
	uint64_t s[4];
};

/* Seed with splitmix64(seed) four times. */
void sim_rng_seed(struct sim_rng *r, uint64_t seed);

static inline uint64_t sim_rng__rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: the next 64 random bits. */
static inline uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = sim_rng__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = sim_rng__rotl(s[3], 45);
	return out;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double sim_rng_uniform(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n >= 1 (multiply-high; bias below n/2^64). */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);

/* ---- state vectors ---- */

struct sim_state {
	unsigned nqubits;
	size_t namps;     /* 2^nqubits */
	size_t bytes;     /* 16 * namps (8 * namps single) */
	double *amps;     /* re, im pairs (floats when single) */
	unsigned threads; /* threads of the passes over it (1 after create) */
	unsigned single;  /* 1: single precision, amplitudes are float pairs */
};

/*
 * Check that @copies state vectors of @nqubits fit: nqubits <= SIM_MAX_QUBITS
 * and copies * 16 * 2^nqubits <= @max_bytes (0: the machine's physical
 * memory). Returns 0 or -EFBIG with a message in @err.
 */
int sim_state_check_fits(unsigned nqubits, unsigned copies,
			 uint64_t max_bytes, struct rt_error *err);
/* The same for states of @single precision (8 bytes per amplitude). */
int sim_state_check_fits_prec(unsigned nqubits, unsigned copies, bool single,
			      uint64_t max_bytes, struct rt_error *err);

/*
 * Allocate a state of @nqubits in |0...0>. Returns 0, -EFBIG (too big, see
 * sim_state_check_fits), -ENOMEM.
 */
int sim_state_create(struct sim_state **out, unsigned nqubits,
		     uint64_t max_bytes, struct rt_error *err);
/* The same in @single precision (amplitudes as float pairs) or double. */
int sim_state_create_prec(struct sim_state **out, unsigned nqubits,
			  bool single, uint64_t max_bytes,
			  struct rt_error *err);
void sim_state_destroy(struct sim_state *s);
/* Set to the basis state |index>. */
void sim_state_set_basis(struct sim_state *s, uint64_t index);
/* Amplitude @i = re + i im (rounded to float in a single state). */
void sim_state_set_amp(struct sim_state *s, uint64_t i, double re, double im);
/* Amplitude @i's re and im, as doubles. */
static inline void sim_state_amp(const struct sim_state *s, uint64_t i,
				 double *re, double *im)
{
	if (s->single) {
		*re = ((const float *)(const void *)s->amps)[2 * i];
		*im = ((const float *)(const void *)s->amps)[2 * i + 1];
	} else {
		*re = s->amps[2 * i];
		*im = s->amps[2 * i + 1];
	}
}
/* dst = src (same number of qubits and precision). */
void sim_state_copy(struct sim_state *dst, const struct sim_state *src);

/* ---- kernels (sim_kernels.c): each touches the state once ---- */

/*
 * Apply the 2x2 @m (re,im of m00 m01 m10 m11) to qubit @t where every qubit
 * of @ctrl is 1. @shape (enum qasm_mat_shape) selects a faster kernel for
 * diagonal and permutation matrices; QASM_MAT_GENERAL is always correct.
 */
void sim_apply_gate1(struct sim_state *s, unsigned t, uint64_t ctrl,
		     const double m[8], int shape);
/* The 4x4 @m on (q0, q1), matrix index b0 + 2*b1; same rules. */
void sim_apply_gate2(struct sim_state *s, unsigned q0, unsigned q1,
		     uint64_t ctrl, const double m[32], int shape);
/* Hadamard on qubit @t (for benchmarks). */
void sim_apply_h(struct sim_state *s, unsigned t);

/* ---- measurement (sim_measure.c) ---- */

/* Probability that qubit @q is 1. */
double sim_prob_one(const struct sim_state *s, unsigned q);
/* Project qubit @q on @outcome, whose probability is @p (> 0); renormalise. */
void sim_collapse(struct sim_state *s, unsigned q, int outcome, double p);
/* After a collapse of @q on 1: move the amplitudes to @q = 0 (reset). */
void sim_flip_to_zero(struct sim_state *s, unsigned q);
/* Sum of |a_i|^2 (about 1). */
double sim_norm2(const struct sim_state *s);
/*
 * Basis index drawn with probability |a_i|^2 / norm2 for the uniform @u in
 * [0, 1): one pass over the amplitudes.
 */
uint64_t sim_sample_index(const struct sim_state *s, double u, double norm2);

/* ---- runs (sim_run.c) ---- */

/*
 * Called with @nshots shots, each @words_per_shot words (see above); the
 * memory is valid only during the call. Return 0 to go on, anything else to
 * stop the run: sim_run_shots() then returns that value.
 */
typedef int (*sim_shots_fn)(void *ctx, const uint64_t *packed_bits,
			    size_t nshots, size_t words_per_shot);

struct sim_config {
	uint64_t seed;
	size_t batch_shots;      /* shots per callback; 0: SIM_DEFAULT_BATCH */
	uint64_t max_state_bytes; /* memory for state vectors; 0: physical */
	uint64_t tree_bytes;     /* memory for the branch tree's states;
				    0: SIM_TREE_BYTES; SIM_TREE_NONE: none,
				    every shot runs its branches itself */
	unsigned flags;          /* SIM_FLAG_* */
	unsigned threads;        /* threads of the passes over the state;
				    0: sim_threads_default() */
	unsigned fuse_qubits;    /* most qubits of a fused dense block,
				    1..5; 0: the default (4) */
	unsigned chunk_qubits;   /* cache blocking: runs of steps local to
				    chunks of 2^chunk_qubits amplitudes go
				    chunk by chunk, 2..30; 0: the default
				    (SIM_CHUNK_DEFAULT, from
				    SIM_CHUNK_MIN_QUBITS qubits) */
};

#define SIM_TREE_BYTES ((uint64_t)256 << 20)
#define SIM_TREE_NONE UINT64_MAX
#define SIM_CONFIG_INIT { 0, 0, 0, 0, 0, 0, 0, 0 }

/* No gate fusion and no plan simplification: every gate is one pass. */
#define SIM_FLAG_NO_FUSE 0x1u
/* No cache blocking: every step is its own pass over the state. */
#define SIM_FLAG_NO_BLOCKING 0x2u
/* Single precision: amplitudes as float pairs, half the memory and the
 * traffic; each gate rounds to float (relative error about 6e-8 per
 * amplitude and pass), sums and sampling stay in double. */
#define SIM_FLAG_SINGLE 0x4u
/* Cache blocking without swap passes (qubits keep their places). */
#define SIM_FLAG_NO_REMAP 0x8u
/* Fuse also states under SIM_FUSE_MIN_QUBITS qubits (which by default
 * run gate by gate: fusing them costs more than it saves); implied by a
 * non-zero fuse_qubits. */
#define SIM_FLAG_FORCE_FUSE 0x10u
#define SIM_FLAGS_ALL (SIM_FLAG_NO_FUSE | SIM_FLAG_NO_BLOCKING | \
		       SIM_FLAG_SINGLE | SIM_FLAG_NO_REMAP | \
		       SIM_FLAG_FORCE_FUSE)
#define SIM_FUSE_MIN_QUBITS 10

/* 2^15 amplitudes of 16 bytes: 512 KiB, half of a 1 MiB L2 cache. */
#define SIM_CHUNK_DEFAULT 15
/* With the default chunks, states of fewer qubits (128 MiB in double)
 * run unblocked; an explicit chunk_qubits blocks any state. */
#define SIM_CHUNK_MIN_QUBITS 23

/* Threads to use: QSHM_THREADS if set to a number in 1..1024, else the
 * CPUs this process may run on (at least 1). */
unsigned sim_threads_default(void);

struct sim_run;

/*
 * Prepare a run of @c (which must outlive the run): plans the circuit and
 * allocates the state (or fails with -EFBIG when it cannot fit, -ENOMEM).
 * Nothing is simulated yet. Returns 0 or a negative errno (-EINVAL for bad
 * flags), with a message in @err.
 */
int sim_run_create(struct sim_run **out, const struct qasm_circuit *c,
		   const struct sim_config *cfg, struct rt_error *err);
void sim_run_destroy(struct sim_run *r);

/*
 * Run @nshots more shots, calling @fn for each batch. Consecutive calls
 * continue the same random stream. Returns 0, the callback's non-zero
 * value, or a negative errno (-ENOMEM) with a message in @err.
 */
int sim_run_shots(struct sim_run *r, uint64_t nshots, sim_shots_fn fn,
		  void *ctx, struct rt_error *err);

size_t sim_run_words_per_shot(const struct sim_run *r);

/*
 * 1 when every shot ends in the same state (only terminal measurements, or
 * only measurements and resets whose outcome is certain), 0 otherwise, or a
 * negative errno. Simulates the shot-independent part if not done yet.
 */
int sim_run_is_deterministic(struct sim_run *r);

/*
 * The final state before the terminal measurements: *@amps gets 2 * *@namps
 * doubles (re, im), valid until the next call on @r (a single-precision
 * run widens its state into a buffer of the double state's size, made at
 * the first call; -ENOMEM without memory for it). Returns 0 when the
 * state is the same for every shot; 1 when it is the state of the most
 * recent shot's trajectory (circuits with random mid-circuit outcomes);
 * -EAGAIN if such a circuit has run no shot yet.
 */
int sim_run_final_state(struct sim_run *r, const double **amps,
			size_t *namps);

/*
 * Probabilities |a_i|^2 of basis states first .. first+count-1 of the final
 * state (as sim_run_final_state) into @out. Same returns; -EINVAL if the
 * range is outside [0, 2^n).
 */
int sim_run_probs(struct sim_run *r, uint64_t first, size_t count,
		  double *out);

/*
 * The exact distribution of the packed classical outcome: calls @fn once per
 * outcome with non-zero probability (outcome words in no particular order).
 * Runs with random mid-circuit outcomes are expanded branch by branch, which
 * needs the whole branch tree in memory. Returns 0, the callback's non-zero
 * value, -E2BIG (too many branches for the tree's memory), -ENOTSUP (no room
 * for a second state vector), or -ENOMEM.
 */
typedef int (*sim_outcome_fn)(void *ctx, const uint64_t *bits, size_t words,
			      double prob);
int sim_run_outcome_dist(struct sim_run *r, sim_outcome_fn fn, void *ctx);

/* What planning made of the circuit (fusion, known qubits). */
struct sim_plan_stats {
	size_t gates;           /* gates in the circuit's operation list */
	size_t steps;           /* steps of the plan */
	size_t sweeps;          /* passes over the whole state: steps outside
				   blocked runs, plus one per blocked run */
	size_t blocked_runs;    /* runs of steps executed chunk by chunk */
	size_t blocked_steps;   /* steps inside them */
	size_t swap_passes;     /* passes that renumber qubits for blocking */
	size_t blocks;          /* fused blocks among them */
	size_t gates_dropped;   /* gates that never act */
	size_t resets_dropped;  /* resets of qubits in a known state */
};
void sim_run_plan_stats(const struct sim_run *r, struct sim_plan_stats *st);

/* ---- outcomes and counts (sim_counts.c) ---- */

/*
 * Length of the outcome string of @c, without the NUL: Qiskit's order,
 * registers last-declared first, separated by one space, each register
 * written c[n-1] ... c[0].
 */
size_t sim_outcome_strlen(const struct qasm_circuit *c);
/* Write the outcome string of the packed @bits into @buf (at least
 * sim_outcome_strlen(c) + 1 bytes). Returns @buf. */
char *sim_outcome_format(const struct qasm_circuit *c, const uint64_t *bits,
			 char *buf);

/* A histogram of packed outcomes. */
struct sim_counts;

struct sim_counts *sim_counts_new(size_t words_per_shot);
void sim_counts_free(struct sim_counts *k);
/* Add @nshots shots (a sim_shots_fn batch). Returns 0 or -ENOMEM. */
int sim_counts_add(struct sim_counts *k, const uint64_t *bits, size_t nshots);
/* Number of distinct outcomes. */
size_t sim_counts_size(const struct sim_counts *k);
/* A sim_shots_fn that adds to the struct sim_counts passed as @ctx. */
int sim_counts_shots_fn(void *ctx, const uint64_t *packed_bits,
			size_t nshots, size_t words_per_shot);

struct sim_count_entry {
	const char *outcome;  /* the outcome string */
	uint64_t count;
};

/*
 * The histogram as outcome strings, sorted by strcmp, in a new array of
 * sim_counts_size() entries (*@out; free with free(), the strings with it).
 * Returns 0 or -ENOMEM.
 */
int sim_counts_sorted(const struct sim_counts *k, const struct qasm_circuit *c,
		      struct sim_count_entry **out);

/* ---- benchmark entry points (sim_bench.c) ---- */

/*
 * Apply a Hadamard to qubit @target of a fresh @nqubits state @reps times
 * and return the seconds per gate (median over the repetitions), or a
 * negative value on error (@err says why). The state is allocated and
 * touched before timing starts.
 */
double sim_bench_gate1(unsigned nqubits, unsigned target, unsigned reps,
		       struct rt_error *err);

#endif
