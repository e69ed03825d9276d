/*
 * sim_run.c - running a circuit for many shots (see sim.h for the model).
 *
 * Planning: a backward pass finds the terminal measurements (no later gate
 * or reset touches the qubit, no later condition reads the bit) and takes
 * them out of the operation list; a measurement whose bit a later one
 * overwrites, with nothing else depending on it, is dropped. What remains
 * runs forward once on the shared state, up to the first measurement or
 * reset whose outcome is random (the prefix, kept as the root of the branch
 * tree below); shots start from it.
 */
#include "sim.h"
#include "sim_plan.h"
#include "sim_sample.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdlib.h>
#include <string.h>

/*
 * Terminal measurements of more qubits than this are sampled from the
 * state itself (struct sim_big), not from an alias table over their
 * marginal, which would take 24 bytes per outcome.
 */
#define SIM_ALIAS_MAX_QUBITS 19

/* At most this many nodes in the branch tree. */
#define SIM_TREE_MAX_NODES 65536

struct sim_node {
	size_t pos;               /* random step it stops at; nsteps: a leaf */
	double p1;                /* probability of outcome 1 there */
	double weight;            /* probability of reaching this node */
	struct sim_state *state;  /* before op pos (a leaf: the final state) */
	uint64_t *bits;           /* classical bits so far */
	struct sim_node *child[2];
	bool no_child[2];         /* could not be kept: shots run it */
	struct sim_alias *alias;  /* leaf: sampler of terminal outcomes */
	bool alias_failed;
};

struct sim_run {
	const struct qasm_circuit *c;
	struct sim_config cfg;
	struct sim_rng rng;
	size_t words;

	/* plan */
	struct qasm_op *ops;       /* without the terminal measurements */
	size_t nops;
	struct sim_plan plan;      /* ops as steps: what runs */
	size_t nsteps;
	uint32_t mq[QASM_MAX_QUBITS]; /* distinct terminally measured qubits */
	unsigned m;
	struct sim_term *term;
	size_t nterm;
	uint64_t *term_mask;       /* clbits written by terminal measurements */
	struct sim_outtab outtab;  /* marginal index -> shot words */

	/* execution */
	struct sim_state *state;   /* the root's state: after the prefix */
	struct sim_state *work;    /* scratch for shots off the tree */
	uint64_t *bits;            /* one shot's classical bits */
	uint64_t *batch;           /* batch_shots * words */
	struct sim_node *root;     /* NULL until prepared */
	size_t tree_bytes;         /* states held by nodes below the root */
	size_t tree_nodes;
	bool no_tree;              /* no room for two states */
	const struct sim_state *last;  /* final state of the latest shot */
	/* big final states (m > SIM_ALIAS_MAX_QUBITS) */
	struct sim_big big;
	bool big_ready;
	size_t big_n, big_pos;         /* sampled shots in big.idx, next one */
	struct sim_compress *cz;
	double *wide;                  /* a single state in double, for
					  sim_run_final_state; NULL until then */
};

static inline bool bit_get(const uint64_t *w, uint32_t k)
{
	return (w[k / 64] >> (k % 64)) & 1;
}

static inline void bit_put(uint64_t *w, uint32_t k, bool v)
{
	if (v)
		w[k / 64] |= (uint64_t)1 << (k % 64);
	else
		w[k / 64] &= ~((uint64_t)1 << (k % 64));
}

static bool cond_holds(const struct qasm_circuit *c, const uint64_t *bits,
		       uint32_t cond)
{
	const struct qasm_cond *k;
	uint64_t v = 0;

	if (!cond)
		return true;
	k = &c->conds[cond - 1];
	for (uint32_t i = 0; i < k->width; i++) {
		bool b = bit_get(bits, k->offset + i);

		if (i >= 64) {
			if (b)
				return false;  /* value has no bits up there */
			continue;
		}
		v |= (uint64_t)b << i;
	}
	return v == k->value;
}

/* ---- planning ---- */

static int plan(struct sim_run *r)
{
	const struct qasm_circuit *c = r->c;
	size_t nb = r->words;
	uint64_t *read = calloc(nb, sizeof(uint64_t));
	uint64_t *written = calloc(nb, sizeof(uint64_t));
	bool *terminal = calloc(c->nops ? c->nops : 1, sizeof(bool));
	bool *dead = calloc(c->nops ? c->nops : 1, sizeof(bool));
	uint64_t touched = 0, measured = 0;
	int rc = -ENOMEM;

	r->ops = malloc((c->nops ? c->nops : 1) * sizeof(*r->ops));
	r->term = malloc((c->nops ? c->nops : 1) * sizeof(*r->term));
	r->term_mask = calloc(nb, sizeof(uint64_t));
	if (!read || !written || !terminal || !dead || !r->ops || !r->term ||
	    !r->term_mask)
		goto out;
	for (size_t i = c->nops; i-- > 0;) {
		const struct qasm_op *op = &c->ops[i];

		if (op->kind == QASM_OP_MEASURE && !op->cond &&
		    !((touched >> op->q[0]) & 1) && !bit_get(read, op->clbit)) {
			terminal[i] = true;
			dead[i] = bit_get(written, op->clbit);
			bit_put(written, op->clbit, true);
			continue;
		}
		if (op->kind == QASM_OP_MEASURE) {
			bit_put(written, op->clbit, true);
		} else {
			touched |= op->ctrl | ((uint64_t)1 << op->q[0]);
			if (op->kind == QASM_OP_GATE2)
				touched |= (uint64_t)1 << op->q[1];
		}
		if (op->cond) {
			const struct qasm_cond *k = &c->conds[op->cond - 1];

			for (uint32_t b = 0; b < k->width; b++)
				bit_put(read, k->offset + b, true);
		}
	}
	r->nops = 0;
	r->nterm = 0;
	for (size_t i = 0; i < c->nops; i++) {
		const struct qasm_op *op = &c->ops[i];

		if (!terminal[i]) {
			r->ops[r->nops++] = *op;
		} else if (!dead[i]) {
			measured |= (uint64_t)1 << op->q[0];
			r->term[r->nterm].mqi = op->q[0];  /* qubit, for now */
			r->term[r->nterm].clbit = op->clbit;
			bit_put(r->term_mask, op->clbit, true);
			r->nterm++;
		}
	}
	/* Distinct measured qubits in ascending order; number the terms. */
	unsigned rank[QASM_MAX_QUBITS];

	r->m = 0;
	for (unsigned q = 0; q < c->nqubits; q++)
		if ((measured >> q) & 1) {
			rank[q] = r->m;
			r->mq[r->m++] = q;
		}
	for (size_t k = 0; k < r->nterm; k++)
		r->term[k].mqi = rank[r->term[k].mqi];
	rc = 0;
out:
	free(read);
	free(written);
	free(terminal);
	free(dead);
	return rc;
}

/* ---- execution ---- */

/* Apply @outcome (probability @p) of measurement or reset @op. */
static void apply_outcome(struct sim_state *s, uint64_t *bits,
			  const struct qasm_op *op, int outcome, double p)
{
	/* Certain outcomes still drop the ~0 other half. */
	if (p != 1.0)
		sim_collapse(s, op->q[0], outcome, p);
	if (op->kind == QASM_OP_MEASURE)
		bit_put(bits, op->clbit, outcome);
	else if (outcome)
		sim_flip_to_zero(s, op->q[0]);
}

/*
 * Run steps [*pos, nsteps) on @s with classical bits @bits. Outcomes with a
 * probability within SIM_PROB_EPS of 0 or 1 are certain. A random outcome
 * draws from @rng, or, if @rng is NULL, stops before the op: *pos is its
 * index and *p1 the probability of outcome 1. Returns true if it stopped.
 */
static bool execute(const struct sim_run *r, struct sim_state *s,
		    uint64_t *bits, size_t *pos, double *p1_out,
		    struct sim_rng *rng)
{
	const struct qasm_circuit *c = r->c;

	for (size_t i = *pos; i < r->nsteps; i++) {
		const struct sim_step *st = &r->plan.steps[i];
		const struct qasm_op *op = &st->op;

		if (st->kind == SIM_STEP_SETBIT) {
			if (cond_holds(c, bits, op->cond))
				bit_put(bits, op->clbit, st->value);
			continue;
		}
		if (st->chunk_len >= 2) {
			/* A blocked run: only gates, no outcome inside. */
			sim_apply_chunked(s, st, st->chunk_len, r->plan.mats,
					  r->plan.chunk_bits);
			i += st->chunk_len - 1;
			continue;
		}
		if (st->kind == SIM_STEP_PERM) {
			sim_apply_perm(s, st);
			continue;
		}
		if (st->kind != SIM_STEP_OP) {
			sim_apply_block(s, st, r->plan.mats);
			continue;
		}
		if (!cond_holds(c, bits, op->cond))
			continue;
		switch (op->kind) {
		case QASM_OP_GATE1:
			sim_apply_gate1_r(s, op->q[0], op->ctrl, st->m,
					  op->shape, st->rmask, st->rval);
			break;
		case QASM_OP_GATE2:
			sim_apply_gate2_r(s, op->q[0], op->q[1], op->ctrl,
					  st->m, op->shape, st->rmask,
					  st->rval);
			break;
		case QASM_OP_MEASURE:
		case QASM_OP_RESET: {
			double p1 = sim_prob_one(s, op->q[0]);
			int outcome;

			if (p1 <= SIM_PROB_EPS) {
				outcome = 0;
			} else if (p1 >= 1.0 - SIM_PROB_EPS) {
				outcome = 1;
			} else if (!rng) {
				*pos = i;
				*p1_out = p1;
				return true;
			} else {
				outcome = sim_rng_uniform(rng) < p1;
			}
			apply_outcome(s, bits, op, outcome,
				      outcome ? p1 : 1.0 - p1);
			break;
		}
		default:
			break;
		}
	}
	*pos = r->nsteps;
	return false;
}

/*
 * The branch tree. The root holds the state after the shot-independent
 * prefix. A node stops at a measurement or reset with a random outcome; its
 * children hold the states after each outcome, run on to the next random
 * one; a leaf holds a final state (and, once shots need it, an alias table
 * over its terminal measurements). A shot walks from the root, drawing one
 * number per random outcome, and samples its leaf. Nodes are made when a
 * shot first needs them, within cfg.tree_bytes of states in all; beyond
 * that a shot copies the deepest node it has into a scratch state and runs
 * the rest itself. Few distinct branches (teleportation, error correction,
 * phase estimation) thus cost one simulation each, not one per shot.
 */
static struct sim_node *node_new(struct sim_run *r, struct sim_state *state,
				 const uint64_t *bits, double weight)
{
	struct sim_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->bits = malloc(r->words * sizeof(uint64_t));
	if (!n->bits) {
		free(n);
		return NULL;
	}
	memcpy(n->bits, bits, r->words * sizeof(uint64_t));
	n->state = state;
	n->weight = weight;
	n->pos = 0;
	/* Run on from the start of the remaining ops (set by the caller). */
	return n;
}

static void node_free(struct sim_run *r, struct sim_node *n)
{
	if (!n)
		return;
	node_free(r, n->child[0]);
	node_free(r, n->child[1]);
	if (n->state != r->state)
		sim_state_destroy(n->state);
	sim_alias_free(n->alias);
	free(n->bits);
	free(n);
}

/* Run node @n from op @pos until the next random outcome or the end. */
static void node_run(struct sim_run *r, struct sim_node *n, size_t pos)
{
	n->pos = pos;
	execute(r, n->state, n->bits, &n->pos, &n->p1, NULL);
}

/* Child @outcome of @n, made if needed; NULL if it cannot be kept. */
static struct sim_node *node_child(struct sim_run *r, struct sim_node *n,
				   int outcome)
{
	const struct qasm_op *op = &r->plan.steps[n->pos].op;
	double p = outcome ? n->p1 : 1.0 - n->p1;
	struct sim_state *s;
	struct sim_node *ch;

	if (n->child[outcome] || n->no_child[outcome])
		return n->child[outcome];
	if (r->cfg.tree_bytes == SIM_TREE_NONE ||
	    r->tree_bytes + r->state->bytes > r->cfg.tree_bytes ||
	    r->tree_nodes >= SIM_TREE_MAX_NODES ||
	    sim_state_create_prec(&s, r->c->nqubits, r->state->single,
				  r->cfg.max_state_bytes, NULL) != 0) {
		n->no_child[outcome] = true;
		return NULL;
	}
	s->threads = r->cfg.threads;
	sim_state_copy(s, n->state);
	ch = node_new(r, s, n->bits, n->weight * p);
	if (!ch) {
		sim_state_destroy(s);
		n->no_child[outcome] = true;
		return NULL;
	}
	r->tree_bytes += s->bytes;
	r->tree_nodes++;
	apply_outcome(ch->state, ch->bits, op, outcome, p);
	node_run(r, ch, n->pos + 1);
	n->child[outcome] = ch;
	return ch;
}

/* Bits of the terminal measurements of basis state @idx into @bits. */
static void put_terminal_bits(const struct sim_run *r, uint64_t *bits,
			      uint64_t idx)
{
	for (size_t w = 0; w < r->words; w++)
		bits[w] &= ~r->term_mask[w];
	for (size_t k = 0; k < r->nterm; k++)
		if ((idx >> r->mq[r->term[k].mqi]) & 1)
			bit_put(bits, r->term[k].clbit, true);
}

static int leaf_alias(struct sim_run *r, struct sim_node *n)
{
	double *marg;
	int rc;

	if (n->alias)
		return 0;
	if (n->alias_failed || r->m > SIM_ALIAS_MAX_QUBITS)
		return -ENOMEM;
	rc = sim_marginal(n->state, r->mq, r->m, &marg);
	if (rc == 0)
		rc = sim_alias_build(marg, r->m, &r->outtab, n->bits, &n->alias);
	if (rc)
		n->alias_failed = true;
	return rc;
}

/* One shot into @out (words). */
static void run_shot(struct sim_run *r, uint64_t *out)
{
	struct sim_node *n = r->root;
	struct sim_state *s;
	size_t pos;

	if (r->no_tree) {
		/* No room for a second state: every shot from the start. */
		s = r->state;
		sim_state_set_basis(s, 0);
		memset(r->bits, 0, r->words * sizeof(uint64_t));
		pos = 0;
		execute(r, s, r->bits, &pos, NULL, &r->rng);
		goto sample;
	}
	while (n->pos < r->nsteps) {
		int outcome = sim_rng_uniform(&r->rng) < n->p1;
		struct sim_node *ch = node_child(r, n, outcome);

		if (!ch) {
			/* Off the tree: finish in the scratch state. */
			const struct qasm_op *op = &r->plan.steps[n->pos].op;

			s = r->work;
			sim_state_copy(s, n->state);
			memcpy(r->bits, n->bits, r->words * sizeof(uint64_t));
			apply_outcome(s, r->bits, op, outcome,
				      outcome ? n->p1 : 1.0 - n->p1);
			pos = n->pos + 1;
			execute(r, s, r->bits, &pos, NULL, &r->rng);
			goto sample;
		}
		n = ch;
	}
	r->last = n->state;
	if (!r->nterm) {
		memcpy(out, n->bits, r->words * sizeof(uint64_t));
		return;
	}
	if (leaf_alias(r, n) == 0) {
		sim_alias_sample(n->alias, &r->rng, out, 1);
		return;
	}
	s = n->state;
	memcpy(r->bits, n->bits, r->words * sizeof(uint64_t));
sample:
	r->last = s;
	if (r->nterm)
		put_terminal_bits(r, r->bits,
				  sim_sample_index(s, sim_rng_uniform(&r->rng),
						   1.0));
	memcpy(out, r->bits, r->words * sizeof(uint64_t));
}

static int big_prepare(struct sim_run *r)
{
	r->cz = sim_compress_new(r->c->nqubits, r->mq, r->m);
	if (!r->cz || sim_big_init(&r->big, r->state) != 0)
		return -ENOMEM;
	r->big_ready = true;
	r->big_n = r->big_pos = 0;
	return 0;
}

/* Shots from the one big final state, in chunks of one walk each. */
static int big_shots(struct sim_run *r, uint64_t nshots, sim_shots_fn fn,
		     void *ctx)
{
	const size_t batch = r->cfg.batch_shots;
	int rc;

	r->last = r->state;
	while (nshots) {
		size_t n = nshots < batch ? (size_t)nshots : batch;

		if (r->big_pos == r->big_n) {
			r->big_n = nshots < SIM_BIG_CHUNK ? (size_t)nshots
							  : SIM_BIG_CHUNK;
			r->big_pos = 0;
			sim_big_sample(&r->big, &r->rng, r->big_n);
		}
		if (n > r->big_n - r->big_pos)
			n = r->big_n - r->big_pos;
		for (size_t s = 0; s < n; s++)
			sim_outtab_words(&r->outtab, r->root->bits,
					 sim_compress_index(r->cz,
						r->big.idx[r->big_pos + s]),
					 r->batch + s * r->words);
		r->big_pos += n;
		rc = fn(ctx, r->batch, n, r->words);
		if (rc)
			return rc;
		nshots -= n;
	}
	return 0;
}

static int prepare(struct sim_run *r, struct rt_error *err)
{
	uint64_t *zero;

	if (r->root || r->no_tree)
		return 0;
	zero = calloc(r->words, sizeof(uint64_t));
	if (!zero)
		return rt_error_set(err, -ENOMEM, "error: out of memory");
	/* r->state is |0...0> from sim_state_create. */
	r->root = node_new(r, r->state, zero, 1.0);
	free(zero);
	if (!r->root)
		return rt_error_set(err, -ENOMEM, "error: out of memory");
	node_run(r, r->root, 0);
	if (r->root->pos < r->nsteps) {
		/* Shots branch: they need a scratch state besides the root;
		 * without room for one, each shot runs from the start. */
		if (sim_state_check_fits_prec(r->c->nqubits, 2,
					      r->state->single,
					      r->cfg.max_state_bytes,
					      NULL) != 0 ||
		    sim_state_create_prec(&r->work, r->c->nqubits,
					  r->state->single,
					  r->cfg.max_state_bytes, NULL) != 0) {
			node_free(r, r->root);
			r->root = NULL;
			r->no_tree = true;
		} else {
			r->work->threads = r->cfg.threads;
		}
	}
	return 0;
}

int sim_run_shots(struct sim_run *r, uint64_t nshots, sim_shots_fn fn,
		  void *ctx, struct rt_error *err)
{
	const size_t batch = r->cfg.batch_shots;
	bool fixed;
	int rc;

	rt_error_clear(err);
	rc = prepare(r, err);
	if (rc)
		return rc;
	/* One final state for all: sample every shot from its table (without
	 * memory for one, shots fall back to a pass over the state each). */
	fixed = r->root && r->root->pos == r->nsteps && r->nterm == 0;
	if (r->root && r->root->pos == r->nsteps && r->nterm &&
	    r->m > SIM_ALIAS_MAX_QUBITS) {
		if (!r->big_ready && big_prepare(r) != 0)
			return rt_error_set(err, -ENOMEM, "error: out of memory");
		return big_shots(r, nshots, fn, ctx);
	}
	if (r->root && r->root->pos == r->nsteps && r->nterm &&
	    leaf_alias(r, r->root) == 0)
		fixed = true;
	while (nshots) {
		size_t n = nshots < batch ? (size_t)nshots : batch;

		if (fixed && r->nterm) {
			sim_alias_sample(r->root->alias, &r->rng, r->batch, n);
		} else if (fixed) {
			for (size_t s = 0; s < n; s++)
				memcpy(r->batch + s * r->words, r->root->bits,
				       r->words * sizeof(uint64_t));
		} else {
			for (size_t s = 0; s < n; s++)
				run_shot(r, r->batch + s * r->words);
		}
		if (fixed)
			r->last = r->state;
		rc = fn(ctx, r->batch, n, r->words);
		if (rc)
			return rc;
		nshots -= n;
	}
	return 0;
}

/* ---- creation and queries ---- */

int sim_run_create(struct sim_run **out, const struct qasm_circuit *c,
		   const struct sim_config *cfg, struct rt_error *err)
{
	struct sim_run *r;
	int rc;

	*out = NULL;
	rt_error_clear(err);
	if (cfg && (cfg->flags & ~SIM_FLAGS_ALL))
		return rt_error_set(err, -EINVAL, "error: unknown simulator "
				    "flags 0x%x", cfg->flags);
	if (cfg && cfg->chunk_qubits && (cfg->chunk_qubits < 2 ||
					 cfg->chunk_qubits > 30))
		return rt_error_set(err, -EINVAL, "error: chunks of 2^%u "
				    "amplitudes: the exponent must be 2..30",
				    cfg->chunk_qubits);
	if (cfg && cfg->fuse_qubits > SIM_FUSE_MAX)
		return rt_error_set(err, -EINVAL, "error: fused blocks of %u "
				    "qubits: at most %d", cfg->fuse_qubits,
				    SIM_FUSE_MAX);
	rc = sim_state_check_fits_prec(c->nqubits, 1,
				       cfg && (cfg->flags & SIM_FLAG_SINGLE),
				       cfg ? cfg->max_state_bytes : 0, err);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return rt_error_set(err, -ENOMEM, "error: out of memory");
	r->c = c;
	if (cfg)
		r->cfg = *cfg;
	if (!r->cfg.batch_shots)
		r->cfg.batch_shots = SIM_DEFAULT_BATCH;
	if (!r->cfg.tree_bytes)
		r->cfg.tree_bytes = SIM_TREE_BYTES;
	/* A state under 2^14 amplitudes is one pass's worth of work for one
	 * thread (every split in sim_par_for() needs more items than it
	 * has; results do not depend on the thread count): skip asking the
	 * kernel for the usable CPUs, a syscall per run of a small job. */
	if (!r->cfg.threads)
		r->cfg.threads = c->nqubits < 14 ? 1 : sim_threads_default();
	/* An explicit block size asks for fusion at any size. */
	if (r->cfg.fuse_qubits)
		r->cfg.flags |= SIM_FLAG_FORCE_FUSE;
	if (!r->cfg.fuse_qubits)
		r->cfg.fuse_qubits = SIM_FUSE_DEFAULT;
	/* A state of fewer than 2^10 amplitudes (16 KiB) sits in the L1
	 * cache: a gate costs a few hundred flops, so fusing buys nothing,
	 * while building a fused block costs D^2 work per gate (a 4-qubit,
	 * 11-gate ansatz: planning took 30 us fused, 3 us not; one-off
	 * loop, release, loaded machine). By default small states run
	 * their gates one by one (the front end's own merging stays). */
	if (c->nqubits < SIM_FUSE_MIN_QUBITS && !(r->cfg.flags &
						  SIM_FLAG_FORCE_FUSE))
		r->cfg.flags |= SIM_FLAG_NO_FUSE;
	/* By default small states are left to the caches: blocking and
	 * remapping cost planning time and per-chunk set-up, and a state
	 * that fits the L3 cache gains little (bwt_n21, 32 MiB: 2x slower
	 * blocked). */
	if (!r->cfg.chunk_qubits && c->nqubits < SIM_CHUNK_MIN_QUBITS)
		r->cfg.flags |= SIM_FLAG_NO_BLOCKING;
	if (!r->cfg.chunk_qubits)
		r->cfg.chunk_qubits = SIM_CHUNK_DEFAULT;
	sim_rng_seed(&r->rng, r->cfg.seed);
	r->words = qasm_circuit_words_per_shot(c);
	r->bits = calloc(r->words, sizeof(uint64_t));
	r->batch = mallocx(r->cfg.batch_shots * r->words * sizeof(uint64_t),
			   MALLOCX_ALIGN(64));
	if (!r->bits || !r->batch || plan(r) ||
	    sim_plan_build(&r->plan, c, r->ops, r->nops,
			   (r->cfg.flags & SIM_FLAG_NO_FUSE) ? 0
							     : r->cfg.fuse_qubits,
			   (r->cfg.flags & SIM_FLAG_NO_BLOCKING)
				   ? 0 : r->cfg.chunk_qubits,
			   !(r->cfg.flags & SIM_FLAG_NO_REMAP)) ||
	    sim_outtab_init(&r->outtab, r->words, r->m, r->term, r->nterm,
			    r->term_mask)) {
		sim_run_destroy(r);
		return rt_error_set(err, -ENOMEM, "error: out of memory");
	}
	rc = sim_state_create_prec(&r->state, c->nqubits,
				   (r->cfg.flags & SIM_FLAG_SINGLE) != 0,
				   r->cfg.max_state_bytes, err);
	if (rc) {
		sim_run_destroy(r);
		return rc;
	}
	r->nsteps = r->plan.nsteps;
	r->state->threads = r->cfg.threads;
	*out = r;
	return 0;
}

void sim_run_destroy(struct sim_run *r)
{
	if (!r)
		return;
	node_free(r, r->root);
	sim_big_free(&r->big);
	free(r->cz);
	sim_state_destroy(r->state);
	sim_state_destroy(r->work);
	free(r->ops);
	sim_plan_free(&r->plan);
	free(r->term);
	free(r->term_mask);
	sim_outtab_free(&r->outtab);
	free(r->bits);
	if (r->wide)
		dallocx(r->wide, 0);
	if (r->batch)
		dallocx(r->batch, 0);
	free(r);
}

void sim_run_plan_stats(const struct sim_run *r, struct sim_plan_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->gates = r->plan.ngates_in;
	st->steps = r->plan.nsteps;
	st->blocks = r->plan.nblocks;
	st->gates_dropped = r->plan.ngates_dropped;
	st->resets_dropped = r->plan.nresets_dropped;
	st->blocked_runs = r->plan.nruns;
	st->blocked_steps = r->plan.nrun_steps;
	st->swap_passes = r->plan.nperms;
	for (size_t i = 0; i < r->plan.nsteps; i++) {
		const struct sim_step *s = &r->plan.steps[i];

		if (s->chunk_len >= 2) {
			st->sweeps++;  /* the whole run: one pass */
			i += s->chunk_len - 1;
		} else {
			st->sweeps += s->kind != SIM_STEP_SETBIT;
		}
	}
}

size_t sim_run_words_per_shot(const struct sim_run *r)
{
	return r->words;
}

int sim_run_is_deterministic(struct sim_run *r)
{
	int rc = prepare(r, NULL);

	if (rc)
		return rc;
	return r->root && r->root->pos == r->nsteps ? 1 : 0;
}

/* The state sim_run_final_state() describes, and its return code. */
static int final_state(struct sim_run *r, const struct sim_state **s)
{
	int rc = sim_run_is_deterministic(r);

	if (rc < 0)
		return rc;
	if (rc == 1) {
		*s = r->state;
		return 0;
	}
	if (!r->last)
		return -EAGAIN;
	*s = r->last;
	return 1;
}

int sim_run_final_state(struct sim_run *r, const double **amps,
			size_t *namps)
{
	const struct sim_state *s;
	int rc = final_state(r, &s);

	if (rc < 0)
		return rc;
	if (s->single) {
		/* Widened into a buffer of the double state's size, made
		 * once: only for callers that want the amplitudes. */
		if (!r->wide)
			r->wide = mallocx(16 * s->namps, MALLOCX_ALIGN(64));
		if (!r->wide)
			return -ENOMEM;
		for (size_t i = 0; i < s->namps; i++)
			sim_state_amp(s, i, &r->wide[2 * i], &r->wide[2 * i + 1]);
		*amps = r->wide;
	} else {
		*amps = s->amps;
	}
	*namps = s->namps;
	return rc;
}

int sim_run_probs(struct sim_run *r, uint64_t first, size_t count,
		  double *out)
{
	const struct sim_state *s;
	int rc = final_state(r, &s);

	if (rc < 0)
		return rc;
	if (first > s->namps || count > s->namps - first)
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		double re, im;

		sim_state_amp(s, first + i, &re, &im);
		out[i] = re * re + im * im;
	}
	return rc;
}

/* ---- the exact outcome distribution ---- */

struct dist {
	size_t words, n, cap;
	uint64_t *keys;   /* n rows of words */
	double *probs;
};

static int dist_add(struct dist *d, const uint64_t *bits, double p)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 256;
		uint64_t *k = realloc(d->keys, cap * d->words * sizeof(uint64_t));
		double *pr;

		if (!k)
			return -ENOMEM;
		d->keys = k;
		pr = realloc(d->probs, cap * sizeof(double));
		if (!pr)
			return -ENOMEM;
		d->probs = pr;
		d->cap = cap;
	}
	memcpy(d->keys + d->n * d->words, bits, d->words * sizeof(uint64_t));
	d->probs[d->n++] = p;
	return 0;
}

/* Add the outcomes of the subtree of @n, weighted, to @d. */
static int dist_walk(struct sim_run *r, struct sim_node *n, struct dist *d,
		     uint64_t *words)
{
	if (n->pos < r->nsteps) {
		for (int o = 0; o < 2; o++) {
			struct sim_node *ch = node_child(r, n, o);
			int rc;

			if (!ch)
				return -E2BIG;
			rc = dist_walk(r, ch, d, words);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!r->nterm)
		return dist_add(d, n->bits, n->weight);

	double *marg, total = 0;
	int rc = sim_marginal(n->state, r->mq, r->m, &marg);

	if (rc)
		return rc;
	for (size_t i = 0; i < ((size_t)1 << r->m); i++)
		total += marg[i];
	for (size_t i = 0; i < ((size_t)1 << r->m) && rc == 0; i++) {
		if (marg[i] <= 0)
			continue;
		sim_outtab_words(&r->outtab, n->bits, i, words);
		rc = dist_add(d, words, n->weight * marg[i] / total);
	}
	free(marg);
	return rc;
}

static int cmp_rows(const void *a, const void *b, void *words)
{
	return memcmp(a, b, *(size_t *)words * sizeof(uint64_t));
}

int sim_run_outcome_dist(struct sim_run *r, sim_outcome_fn fn, void *ctx)
{
	struct dist d = { r->words, 0, 0, NULL, NULL };
	uint64_t *words, *rows = NULL;
	size_t rowlen = (r->words + 1) * sizeof(uint64_t);
	int rc = prepare(r, NULL);

	if (rc)
		return rc;
	if (r->no_tree)
		return -ENOTSUP;
	words = calloc(r->words, sizeof(uint64_t));
	if (!words)
		return -ENOMEM;
	rc = dist_walk(r, r->root, &d, words);
	if (rc)
		goto out;
	/* Merge equal outcomes (resets make branches that write no bit):
	 * sort rows of (words, prob) by the words. */
	rows = malloc(d.n * rowlen + 1);
	if (!rows) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d.n; i++) {
		uint64_t *row = (uint64_t *)((char *)rows + i * rowlen);

		memcpy(row, d.keys + i * r->words, r->words * sizeof(uint64_t));
		memcpy(row + r->words, &d.probs[i], sizeof(double));
	}
	qsort_r(rows, d.n, rowlen, cmp_rows, &r->words);
	for (size_t i = 0; i < d.n && rc == 0;) {
		const uint64_t *row = (uint64_t *)((char *)rows + i * rowlen);
		double p = 0;
		size_t j = i;

		for (; j < d.n; j++) {
			const uint64_t *rj = (uint64_t *)((char *)rows + j * rowlen);
			double pj;

			if (memcmp(rj, row, r->words * sizeof(uint64_t)) != 0)
				break;
			memcpy(&pj, rj + r->words, sizeof(double));
			p += pj;
		}
		rc = fn(ctx, row, r->words, p);
		i = j;
	}
out:
	free(rows);
	free(d.keys);
	free(d.probs);
	free(words);
	return rc;
}
