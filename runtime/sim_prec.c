/*
 * sim_prec.c - the passes over the state in the state's precision: each
 * entry point calls its double (_f64) or float (_f32) build (sim_prec.h).
 */
#include "sim_prec.h"

#define SIM_PICK(s, name, ...) \
	((s)->single ? name##_f32(__VA_ARGS__) : name##_f64(__VA_ARGS__))

void sim_apply_gate1_r(struct sim_state *s, unsigned t, uint64_t ctrl,
		       const double m[8], int shape, uint64_t rmask,
		       uint64_t rval)
{
	SIM_PICK(s, sim_apply_gate1_r, s, t, ctrl, m, shape, rmask, rval);
}

void sim_apply_gate2_r(struct sim_state *s, unsigned q0, unsigned q1,
		       uint64_t ctrl, const double m[32], int shape,
		       uint64_t rmask, uint64_t rval)
{
	SIM_PICK(s, sim_apply_gate2_r, s, q0, q1, ctrl, m, shape, rmask, rval);
}

void sim_apply_gate1(struct sim_state *s, unsigned t, uint64_t ctrl,
		     const double m[8], int shape)
{
	SIM_PICK(s, sim_apply_gate1, s, t, ctrl, m, shape);
}

void sim_apply_gate2(struct sim_state *s, unsigned q0, unsigned q1,
		     uint64_t ctrl, const double m[32], int shape)
{
	SIM_PICK(s, sim_apply_gate2, s, q0, q1, ctrl, m, shape);
}

void sim_apply_h(struct sim_state *s, unsigned t)
{
	SIM_PICK(s, sim_apply_h, s, t);
}

void sim_apply_block(struct sim_state *s, const struct sim_step *st,
		     const double *mats)
{
	SIM_PICK(s, sim_apply_block, s, st, mats);
}

double sim_prob_one(const struct sim_state *s, unsigned q)
{
	return SIM_PICK(s, sim_prob_one, s, q);
}

void sim_collapse(struct sim_state *s, unsigned q, int outcome, double p)
{
	SIM_PICK(s, sim_collapse, s, q, outcome, p);
}

void sim_flip_to_zero(struct sim_state *s, unsigned q)
{
	SIM_PICK(s, sim_flip_to_zero, s, q);
}

double sim_norm2(const struct sim_state *s)
{
	return SIM_PICK(s, sim_norm2, s);
}

uint64_t sim_sample_index(const struct sim_state *s, double u, double norm2)
{
	return SIM_PICK(s, sim_sample_index, s, u, norm2);
}
