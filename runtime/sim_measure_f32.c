/* sim_measure_f32.c - sim_measure.c built for single-precision states (sim_prec.h). */
#define SIM_SINGLE 1
#include "sim_measure.c"
