/* SPDX-License-Identifier: MIT */
/*
 * bench_report.c - the JSON report of a run: the machine, the
 * configuration, every figure (median, min, max and every repeat of each
 * metric; latency histograms with three significant digits), the targets
 * with their verdicts, and the plots. docs/bench.md describes the fields.
 */
#include "bench_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include <qshm/qshm.h>

static void bench_json_machine(struct bench_json *j, const struct bench_run *run)
{
	const struct bench_machine *mc = &run->machine;
	char v[32];
	int a, b, c;

	bench_json_obj(j, "machine");
	bench_json_str(j, "cpu_model", mc->cpu_model);
	bench_json_int(j, "nproc", mc->nproc_online);
	bench_json_int(j, "cpus_usable", mc->cpus_allowed);
	bench_json_int(j, "mem_total_bytes", (long long)mc->mem_total);
	bench_json_int(j, "mem_available_bytes", (long long)mc->mem_available);
	bench_json_str(j, "kernel", mc->kernel);
	bench_json_str(j, "hostname", mc->hostname);
	bench_json_str(j, "compiler", mc->compiler);
	bench_json_str(j, "build_type", mc->build_type);
	bench_json_str(j, "build_flags", mc->build_flags);
	qshm_version(&a, &b, &c);
	snprintf(v, sizeof v, "%d.%d.%d", a, b, c);
	bench_json_str(j, "libqshm", v);
	bench_json_str(j, "libzmq", run->zmq_version);
	bench_json_str(j, "date", mc->date);
	bench_json_num(j, "loadavg1_start", run->load_start.loadavg1);
	bench_json_num(j, "loadavg1_end", run->load_end.loadavg1);
	bench_json_num(j, "cpu_pressure_avg10_start",
		       run->load_start.cpu_some_avg10);
	bench_json_num(j, "cpu_pressure_avg10_end",
		       run->load_end.cpu_some_avg10);
	bench_json_obj_end(j);
}

static void bench_json_config(struct bench_json *j, const struct bench_cfg *cfg)
{
	bench_json_obj(j, "config");
	bench_json_bool(j, "quick", cfg->quick);
	bench_json_int(j, "repeats", cfg->repeats);
	bench_json_int(j, "cpu_parent", cfg->cpu_a);
	bench_json_int(j, "cpu_child", cfg->cpu_b);
	bench_json_bool(j, "single_cpu", cfg->single_cpu);
	bench_json_int(j, "lat_iters_busy", (long long)cfg->lat_iters);
	bench_json_int(j, "lat_iters_sleeping", (long long)cfg->lat_block_iters);
	bench_json_num(j, "rate_hz", cfg->rate_hz);
	bench_json_int(j, "rate_msgs", (long long)cfg->rate_msgs);
	bench_json_num(j, "tput_warmup_s", cfg->tput_warm_s);
	bench_json_num(j, "tput_timed_s", cfg->tput_s);
	bench_json_num(j, "idle_s", cfg->idle_s);
	bench_json_int(j, "memcpy_bytes", (long long)cfg->memcpy_bytes);
	bench_json_int(j, "latency_ring_capacity", (long long)cfg->ring_capacity);
	bench_json_arr(j, "tput_ring_capacity");
	for (int s = 0; s < 4; s++) {
		bench_json_obj(j, NULL);
		bench_json_int(j, "message_bytes", (long long)bench_tput_sizes[s]);
		bench_json_int(j, "capacity",
			       (long long)bench_tput_capacity(bench_tput_sizes[s]));
		bench_json_obj_end(j);
	}
	bench_json_arr_end(j);
	bench_json_int(j, "gate_reps", cfg->gate_reps);
	bench_json_int(j, "gate_max_qubits", cfg->gate_max_qubits);
	bench_json_int(j, "sim_shots", (long long)cfg->sim_shots);
	bench_json_str(j, "timer", bench_timer_name());
	bench_json_num(j, "timer_ghz",
		       bench_tsc_in_use ? 1.0 / bench_ns_per_tick : NAN);
	bench_json_num(j, "timer_read_ns", bench_tick_cost_ns());
	bench_json_num(j, "timer_resolution_ns", bench_tick_step_ns());
	bench_json_obj_end(j);
}

static void bench_json_figure(struct bench_json *j, const struct bench_figure *f)
{
	const struct bench_measure *m = f->m;

	bench_json_obj(j, m->key);
	bench_json_str(j, "label", m->label);
	bench_json_str(j, "group", m->group);
	bench_json_str(j, "transport", m->transport ? m->transport : "");
	if (strcmp(m->group, "throughput") == 0)
		bench_json_int(j, "message_bytes", (long long)m->param);
	else if (strcmp(m->group, "latency") == 0 ||
		 strcmp(m->group, "rate") == 0)
		bench_json_int(j, "message_bytes", 64);
	else if (strcmp(m->group, "sim") == 0)
		bench_json_int(j, "qubits", (long long)m->param);
	bench_json_str(j, "status", f->failed ? "failed" :
		       f->unavailable ? "unavailable" : "ok");
	if (f->err[0])
		bench_json_str(j, "error", f->err);
	if (f->note[0])
		bench_json_str(j, "note", f->note);
	bench_json_obj(j, "metrics");
	for (int k = 0; k < m->nmetrics && bench_fig_ok(f); k++) {
		bench_json_obj(j, m->metrics[k]);
		bench_json_num(j, "median", bench_fig_median(f, k));
		bench_json_num(j, "min", bench_fig_min(f, k));
		bench_json_num(j, "max", bench_fig_max(f, k));
		bench_json_arr(j, "repeats");
		for (int r = 0; r < f->nrep; r++)
			bench_json_num(j, NULL, f->v[r][k]);
		bench_json_arr_end(j);
		bench_json_obj_end(j);
	}
	bench_json_obj_end(j);
	if (f->hist && f->hist->count && bench_fig_ok(f)) {
		bench_json_obj(j, "histogram");
		bench_json_str(j, "unit", "ns");
		bench_json_int(j, "significant_digits", 3);
		bench_json_int(j, "count", (long long)f->hist->count);
		bench_json_str(j, "buckets_are", "[lowest value, count]");
		bench_json_arr(j, "buckets");
		for (int i = 0; i < BENCH_HIST_BUCKETS; i++)
			if (f->hist->n[i])
				bench_json_pair(j, bench_hist_low(i),
						f->hist->n[i]);
		bench_json_arr_end(j);
		bench_json_obj_end(j);
	}
	bench_json_obj_end(j);
}

static void bench_json_targets(struct bench_json *j, const struct bench_run *run)
{
	bench_json_obj(j, "targets");
	for (size_t i = 0; i < run->ntargets; i++) {
		const struct bench_target *t = &run->targets[i];
		const struct bench_target_val *tv = &run->tvals[i];

		bench_json_obj(j, t->key);
		bench_json_str(j, "label", t->label);
		bench_json_str(j, "numerator", t->num ? t->num : "");
		bench_json_str(j, "numerator_metric",
			       t->num_metric ? t->num_metric : "");
		if (!t->num)
			bench_json_num(j, "numerator_constant", t->num_const);
		bench_json_str(j, "denominator", t->den ? t->den : "");
		bench_json_str(j, "denominator_metric",
			       t->den_metric ? t->den_metric : "");
		bench_json_num(j, "denominator_scale", t->den_scale);
		bench_json_num(j, "scale", t->scale);
		bench_json_str(j, "target_op", t->at_most ? "<=" : ">=");
		bench_json_num(j, "target", t->target);
		bench_json_num(j, "value", tv->value);
		bench_json_num(j, "value_of_medians", tv->of_medians);
		bench_json_num(j, "min", tv->lo);
		bench_json_num(j, "max", tv->hi);
		bench_json_str(j, "verdict", !tv->have ? "n/a" :
			       tv->pass ? "PASS" : "FALLS SHORT");
		if (t->note)
			bench_json_str(j, "note", t->note);
		bench_json_obj_end(j);
	}
	bench_json_obj_end(j);
}

int bench_json_write(const struct bench_run *run, const char *path)
{
	struct bench_json j;
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", run->prog, path, strerror(errno));
		return -1;
	}
	bench_json_begin(&j, f);
	bench_json_str(&j, "tool", run->prog);
	bench_json_int(&j, "schema", 2);
	bench_json_machine(&j, run);
	bench_json_config(&j, run->cfg);
	bench_json_obj(&j, "figures");
	for (size_t i = 0; i < run->nfigs; i++)
		if (!run->figs[i].skipped)
			bench_json_figure(&j, &run->figs[i]);
	bench_json_obj_end(&j);
	bench_json_targets(&j, run);
	bench_json_obj(&j, "plots");
	bench_json_str(&j, "dir", run->cfg->plots_dir ? run->cfg->plots_dir : "");
	bench_json_str(&j, "status", !run->cfg->plots_dir ? "not asked" :
		       run->plots_status[0] ? run->plots_status : "written");
	bench_json_obj_end(&j);
	bench_json_end(&j);
	if (fclose(f) != 0) {
		fprintf(stderr, "%s: %s: %s\n", run->prog, path, strerror(errno));
		return -1;
	}
	return 0;
}
