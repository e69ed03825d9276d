/* sim_block_f32.c - sim_block.c built for single-precision states (sim_prec.h). */
#define SIM_SINGLE 1
#include "sim_block.c"
