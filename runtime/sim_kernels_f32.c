/* sim_kernels_f32.c - sim_kernels.c built for single-precision states (sim_prec.h). */
#define SIM_SINGLE 1
#include "sim_kernels.c"
