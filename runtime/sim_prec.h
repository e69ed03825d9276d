/*
 * sim_prec.h - private to the sim_*.c files: the two builds of the passes
 * over the state, in double (_f64: sim_kernels.c, sim_block.c,
 * sim_measure.c) and in float (_f32: the same files through
 * sim_kernels_f32.c, sim_block_f32.c, sim_measure_f32.c, with SIM_SINGLE
 * defined; see sim_loop.h). The entry points without a suffix (sim.h,
 * sim_plan.h) pick one by the state's precision (sim_prec.c).
 */
#ifndef QSHM_SIM_PREC_H
#define QSHM_SIM_PREC_H

#include "sim.h"
#include "sim_plan.h"

#define SIM_PREC_DECLARE(SFX)						\
void sim_apply_gate1_r##SFX(struct sim_state *s, unsigned t,		\
			    uint64_t ctrl, const double m[8], int shape, \
			    uint64_t rmask, uint64_t rval);		\
void sim_apply_gate2_r##SFX(struct sim_state *s, unsigned q0,		\
			    unsigned q1, uint64_t ctrl,			\
			    const double m[32], int shape,		\
			    uint64_t rmask, uint64_t rval);		\
void sim_apply_gate1##SFX(struct sim_state *s, unsigned t,		\
			  uint64_t ctrl, const double m[8], int shape);	\
void sim_apply_gate2##SFX(struct sim_state *s, unsigned q0,		\
			  unsigned q1, uint64_t ctrl, const double m[32], \
			  int shape);					\
void sim_apply_h##SFX(struct sim_state *s, unsigned t);		\
void sim_apply_block##SFX(struct sim_state *s,				\
			  const struct sim_step *st, const double *mats); \
double sim_prob_one##SFX(const struct sim_state *s, unsigned q);	\
void sim_collapse##SFX(struct sim_state *s, unsigned q, int outcome,	\
		       double p);					\
void sim_flip_to_zero##SFX(struct sim_state *s, unsigned q);		\
double sim_norm2##SFX(const struct sim_state *s);			\
uint64_t sim_sample_index##SFX(const struct sim_state *s, double u,	\
			       double norm2);

SIM_PREC_DECLARE(_f64)
SIM_PREC_DECLARE(_f32)

#endif
