/* SPDX-License-Identifier: MIT */
/*
 * bench_report.h - one run of the suite as the reports see it: figures,
 * targets and the machine; the JSON report and the plots (bench_report.c,
 * bench_plot.c).
 */
#ifndef QSHM_BENCH_REPORT_H
#define QSHM_BENCH_REPORT_H

#include "bench.h"

#define BENCH_MAX_FIGS 96

/*
 * A target of the design brief: value = num / (den * den_scale) * scale, with
 * num_const standing in for num when num is NULL, and den = 1 when den is
 * NULL (an absolute figure). at_most: value <= target passes; otherwise
 * value >= target does.
 */
struct bench_target {
	const char *key, *label;
	const char *num, *num_metric;
	const char *den, *den_metric;
	double den_scale, num_const, scale;
	int at_most;
	double target;
	const char *note;
};

struct bench_target_val {
	double value;      /* median over passes of the per-pass values */
	double lo, hi;     /* their spread */
	double of_medians; /* the same formula on the medians */
	int have, pass;
};

struct bench_run {
	const char *prog;
	const struct bench_cfg *cfg;
	struct bench_machine machine;
	struct bench_load load_start, load_end;
	char zmq_version[32];
	size_t nfigs;
	struct bench_figure figs[BENCH_MAX_FIGS];
	const struct bench_target *targets;
	size_t ntargets;
	struct bench_target_val tvals[24];
	char plots_status[160]; /* "" or why there are no PNGs */
};

/* Writes the JSON report. Returns 0 or -1 (message printed). */
int bench_json_write(const struct bench_run *run, const char *path);

/* Writes the plots' data and gnuplot script to dir and runs gnuplot (if
 * installed; otherwise says so and returns 0). Returns 0 or -1. */
int bench_plots_write(struct bench_run *run, const char *dir);

#endif /* QSHM_BENCH_REPORT_H */
