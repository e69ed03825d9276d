/* SPDX-License-Identifier: MIT */
/*
 * bench_suite.c - runs the benchmark suite: picks the measurements of a
 * profile, runs them in interleaved passes, prints the tables with qshm's
 * ratio to each baseline and the targets of the design brief as PASS or FALLS
 * SHORT (reported, never asserted), and hands the figures to the JSON
 * report and the plots (bench_report.c).
 */
#include "bench.h"
#include "bench_report.h"
#include "bench_suite.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <qshm/qshm.h>

const size_t bench_tput_sizes[4] = { 64, 4096, 65536, 1048576 };

/* ------------------------------------------------------------------ */
/* What runs                                                            */

/* Every measurement of a profile, in the order they run within a pass:
 * each baseline next to the qshm figure it is compared with. */
static size_t bench_list_build(enum bench_profile profile,
			       const struct bench_measure **list, size_t max)
{
	size_t n = 0;

#define BENCH_ADD(m) do { if (n < max) list[n++] = (m); } while (0)
	if (profile == BENCH_PROFILE_RING) {
		BENCH_ADD(&bench_cacheline_rt);
		BENCH_ADD(&bench_qshm_busy_rt);
		BENCH_ADD(&bench_futex_rt);
		BENCH_ADD(&bench_qshm_block_rt);
		BENCH_ADD(&bench_spsc_tput[0]);
		BENCH_ADD(&bench_qshm_tput[0]);
		BENCH_ADD(&bench_qshm_tput[1]);
		BENCH_ADD(&bench_spsc_tput[1]);
		BENCH_ADD(&bench_qshm_tput[2]);
		BENCH_ADD(&bench_memcpy_bw);
		return n;
	}
	BENCH_ADD(&bench_cacheline_rt);
	BENCH_ADD(&bench_qshm_busy_rt);
	BENCH_ADD(&bench_qshm_spin_rt);
	BENCH_ADD(&bench_futex_rt);
	BENCH_ADD(&bench_qshm_block_rt);
	for (int t = 0; t < BENCH_IPC_N; t++)
		BENCH_ADD(&bench_ipc_rt[t]);
	for (int t = 0; t < BENCH_SVC_TRIVIAL_N; t++)
		BENCH_ADD(&bench_svc_trivial[t]);
	for (int t = 0; t < BENCH_SVC_VQE_N; t++)
		BENCH_ADD(&bench_svc_vqe[t]);
	BENCH_ADD(&bench_cacheline_rate);
	BENCH_ADD(&bench_qshm_rate[0]);
	BENCH_ADD(&bench_qshm_rate[1]);
	BENCH_ADD(&bench_futex_rate);
	BENCH_ADD(&bench_qshm_rate[2]);
	for (int t = 0; t < BENCH_IPC_N; t++)
		BENCH_ADD(&bench_ipc_rate[t]);
	for (int s = 0; s < 4; s++) {
		BENCH_ADD(&bench_spsc_tput[s]);
		BENCH_ADD(&bench_qshm_tput[s ? s + 1 : 0]);
		if (s == 0)
			BENCH_ADD(&bench_qshm_tput[1]);
		for (int t = 0; t < BENCH_IPC_N; t++)
			BENCH_ADD(&bench_ipc_tput[t][s]);
	}
	BENCH_ADD(&bench_memcpy_bw);
	for (int q = 0; q < 3; q++)
		BENCH_ADD(&bench_qshm_idle[q]);
	for (int g = 0; g < BENCH_GATE_N; g++)
		BENCH_ADD(&bench_sim_gate[g]);
	BENCH_ADD(&bench_sim_shots);
	for (int c = 0; c < BENCH_CIRC_QUICK_N; c++)
		BENCH_ADD(&bench_sim_circ_quick[c]);
	for (int c = 0; c < BENCH_CIRC_FULL_N; c++)
		BENCH_ADD(&bench_sim_circ_full[c]);
#undef BENCH_ADD
	return n;
}

/*
 * The targets of the design brief ("How fast"). value = num / den of the same
 * pass (den times den_scale), or num_const / den, or num alone (den NULL),
 * times scale; the median over passes is what the verdict uses.
 */
static const struct bench_target bench_targets_ring[] = {
	{ "busy_rt_vs_cacheline", "qshm busy RT p50 / raw cache-line p50",
	  "lat.qshm_busy", "p50_ns", "lat.raw_cacheline", "p50_ns", 1, 0, 1,
	  1, 1.3, NULL },
	{ "tput64_vs_spsc", "qshm 64 B msgs/s / minimal SPSC msgs/s",
	  "tput.qshm_64", "msgs_per_s", "tput.spsc_64", "msgs_per_s", 1, 0, 1,
	  0, 0.8, NULL },
	{ "tput64b_vs_spsc", "qshm 64 B in batch records / minimal SPSC",
	  "tput.qshm_64b", "msgs_per_s", "tput.spsc_64", "msgs_per_s", 1, 0,
	  1, 0, 0.8, NULL },
	{ "block_rt_vs_futex", "qshm blocking RT p50 / futex p50",
	  "lat.qshm_block", "p50_ns", "lat.futex", "p50_ns", 1, 0, 1, 1, 1.2,
	  NULL },
	{ "tput4k_vs_memcpy", "qshm 4 KiB GB/s / memcpy GB/s",
	  "tput.qshm_4k", "GB_per_s", "bw.memcpy", "GB_per_s", 1, 0, 1, 0,
	  0.8, NULL },
};

static const struct bench_target bench_targets_all[] = {
	{ "busy_rt_vs_cacheline", "busy-poll RT p50 / raw cache-line p50",
	  "lat.qshm_busy", "p50_ns", "lat.raw_cacheline", "p50_ns", 1, 0, 1,
	  1, 1.3, NULL },
	{ "tput64_vs_spsc", "64 B msgs/s / minimal SPSC ring msgs/s",
	  "tput.qshm_64", "msgs_per_s", "tput.spsc_64", "msgs_per_s", 1, 0, 1,
	  0, 0.8, NULL },
	{ "tput64b_vs_spsc", "64 B in batch records / minimal SPSC ring",
	  "tput.qshm_64b", "msgs_per_s", "tput.spsc_64", "msgs_per_s", 1, 0,
	  1, 0, 0.8, NULL },
	{ "tput64_vs_unix", "64 B msgs/s / Unix socket msgs/s",
	  "tput.qshm_64", "msgs_per_s", "tput.unix_64", "msgs_per_s", 1, 0, 1,
	  0, 50, NULL },
	{ "tput64k_vs_memcpy", "64 KiB records GB/s / memcpy GB/s",
	  "tput.qshm_64k", "GB_per_s", "bw.memcpy", "GB_per_s", 1, 0, 1, 0,
	  0.8, NULL },
	{ "tput1m_vs_memcpy", "1 MiB records GB/s / memcpy GB/s",
	  "tput.qshm_1m", "GB_per_s", "bw.memcpy", "GB_per_s", 1, 0, 1, 0,
	  0.8, NULL },
	{ "block_rt_vs_futex", "blocking RT p50 / raw futex p50",
	  "lat.qshm_block", "p50_ns", "lat.futex", "p50_ns", 1, 0, 1, 1, 1.2,
	  NULL },
	{ "svc_trivial_us", "trivial job via serve --busy-poll, p50 us",
	  "svc.trivial_busy", "p50_ns", NULL, NULL, 1, 0, 1e-3, 1, 5,
	  "issue 12: with a busy-polling service" },
	{ "svc_trivial_vs_futex", "trivial job via qshm serve p50 / futex p50",
	  "svc.trivial_serve", "p50_ns", "lat.futex", "p50_ns", 1, 0, 1, 1,
	  1.2, "issue 12: with a blocking service" },
	{ "svc_zmq_vs_trivial", "trivial job: ZeroMQ REQ/REP p50 / serve p50",
	  "svc.trivial_zmq", "p50_ns", "svc.trivial_serve", "p50_ns", 1, 0, 1,
	  0, 10, "issue 12" },
	{ "svc_vqe_overhead_us", "4q ansatz step via serve: overhead p50, us",
	  "svc.vqe_serve", "ovh_p50_ns", NULL, NULL, 1, 0, 1e-3, 1, 10,
	  "issue 12: end to end minus the simulator's own time" },
	{ "idle_block_cpu", "idle blocked consumer, % of a CPU",
	  "idle.qshm_block", "cpu_pct", NULL, NULL, 1, 0, 1, 1, 1.0,
	  "~0 CPU, read as at most 1 %" },
	{ "gate24_vs_membw", "gate GB/s, 24 qubits / (2 x memcpy GB/s)",
	  "sim.gate_24", "GB_per_s", "bw.memcpy", "GB_per_s", 2, 0, 1, 0, 0.5,
	  "memory bandwidth: a copy reads and writes" },
	{ "gate26_vs_membw", "gate GB/s, 26 qubits / (2 x memcpy GB/s)",
	  "sim.gate_26", "GB_per_s", "bw.memcpy", "GB_per_s", 2, 0, 1, 0, 0.5,
	  "memory bandwidth: a copy reads and writes" },
	{ "gate24_vs_quest", "QuEST 54 ms (design brief) / gate ms, 24 qubits",
	  NULL, NULL, "sim.gate_24", "ms_per_gate", 1, 54.0, 1, 0, 1.5,
	  "QuEST 4.1, one thread, as recorded in the design brief: not measured "
	  "in this run" },
	{ "shots20_rate", "shots/s from a 20-qubit state, in millions",
	  "sim.shots_20", "shots_per_s", NULL, NULL, 1, 0, 1e-6, 0, 10,
	  "an absolute figure: 10 M shots/s" },
	{ "random24_fusion", "random 24 qubits depth 20: unfused s / fused s",
	  "sim.circ_random_24", "unfused_s", "sim.circ_random_24", "fused_s",
	  1, 0, 1, 0, 3, "issue 13: fused at most 1/3 of unfused" },
	{ "ising26_s", "ising_n26, 1000 shots, seconds",
	  "sim.circ_ising_n26", "fused_s", NULL, NULL, 1, 0, 1, 1, 4,
	  "an absolute figure (issue 13)" },
	{ "wstate27_s", "wstate_n27, 1000 shots, seconds",
	  "sim.circ_wstate_n27", "fused_s", NULL, NULL, 1, 0, 1, 1, 5,
	  "an absolute figure (issue 13)" },
	{ "bwt21_s", "bwt_n21, 1000 shots, seconds",
	  "sim.circ_bwt_n21", "fused_s", NULL, NULL, 1, 0, 1, 1, 10,
	  "an absolute figure (issue 13)" },
};

/* ------------------------------------------------------------------ */
/* Options                                                              */

static void bench_usage(const char *prog, enum bench_profile profile,
			FILE *f)
{
	fprintf(f, "usage: %s [--quick] [--json FILE] [--plots DIR] "
		"[options]\n\n", prog);
	if (profile == BENCH_PROFILE_RING)
		fputs(
"Measures qshm rings between two processes pinned to two CPUs, next to the\n"
"hardware floor, in one run: round trips of 64 B (raw cache-line ping-pong,\n"
"qshm busy-poll, raw futex ping-pong, qshm blocking) and one-way throughput\n"
"(minimal SPSC shm ring and qshm at 64 B and 4 KiB, memcpy bandwidth).\n"
"`qshm bench` runs the whole suite.\n", f);
	else
		fputs(
"Runs the benchmark suite: qshm against the hardware floor (raw cache-line\n"
"and futex ping-pong, a minimal SPSC shm ring, memcpy) and the alternatives\n"
"(Unix stream socket, pipe, TCP loopback, ZeroMQ ipc://), each between two\n"
"processes pinned to two CPUs, in one run: round-trip latency of 64 B\n"
"messages, latency at a fixed offered rate, one-way throughput at 64 B to\n"
"1 MiB, an idle consumer's CPU, the simulator's gate bandwidth,\n"
"shots per second into a ring, and whole circuits fused against unfused.\n", f);
	fputs(
"Prints each figure with qshm's ratio to its baselines and every target of\n"
"the design brief as PASS or FALLS SHORT (reported, never asserted).\n"
"\n"
"options:\n"
"  -h, --help        this text\n"
"  -q, --quick       one short pass of everything (under a minute)\n"
"  -j, --json FILE   write every figure and the machine to FILE\n"
"  -p, --plots DIR   write PNG plots (gnuplot) and their data to DIR\n"
"  -n, --iters N     timed round trips per latency measurement\n"
"                    (default 200000 busy-poll, 50000 the others)\n"
"  -c, --cpus A,B    CPUs of the two processes (default: the first two\n"
"                    this process may use)\n"
"  -r, --repeats N   passes over every measurement (default 5, quick 1)\n"
"      --rate HZ     offered rate of the fixed-rate latency (default 5000)\n"
"      --timer T     tsc or clock (CLOCK_MONOTONIC); default tsc where\n"
"                    the kernel says it is constant\n"
"      --only LIST   run only measurements whose key contains one of the\n"
"                    comma-separated words (keys: --list)\n"
"      --list        list the measurements' keys and exit\n"
"\n"
"Exit status: 0 when everything ran, whatever the verdicts; 1 when a\n"
"measurement failed or left something behind; 2 usage error.\n", f);
}

static int bench_parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s || *end || x == 0 || *s == '-')
		return -1;
	*v = x;
	return 0;
}

static int bench_parse_cpus(const char *s, int *a, int *b)
{
	char *end;
	long x, y;

	errno = 0;
	x = strtol(s, &end, 10);
	if (errno || end == s || *end != ',' || x < 0 || x >= CPU_SETSIZE)
		return -1;
	s = end + 1;
	y = strtol(s, &end, 10);
	if (errno || end == s || *end || y < 0 || y >= CPU_SETSIZE)
		return -1;
	*a = (int)x;
	*b = (int)y;
	return 0;
}

/* --only: 1 if m's key contains one of the comma-separated words. */
static int bench_selected(const struct bench_measure *m, const char *only)
{
	char buf[256], *save = NULL;

	if (!only)
		return 1;
	snprintf(buf, sizeof buf, "%s", only);
	for (char *w = strtok_r(buf, ",", &save); w;
	     w = strtok_r(NULL, ",", &save))
		if (*w && strstr(m->key, w))
			return 1;
	return 0;
}

/* Picks the CPUs; on one CPU, runs unpinned with a warning. */
static int bench_pick_cpus(const char *prog, struct bench_cfg *cfg, int given)
{
	cpu_set_t set;
	int first = -1, second = -1;

	if (sched_getaffinity(0, sizeof set, &set) != 0) {
		fprintf(stderr, "%s: sched_getaffinity: %s\n", prog,
			strerror(errno));
		return -1;
	}
	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (first < 0)
			first = i;
		else if (second < 0)
			second = i;
	}
	if (given) {
		if (!CPU_ISSET(cfg->cpu_a, &set) || !CPU_ISSET(cfg->cpu_b, &set)) {
			fprintf(stderr, "%s: --cpus %d,%d: not CPUs this "
				"process may use\n", prog, cfg->cpu_a,
				cfg->cpu_b);
			return -1;
		}
		if (cfg->cpu_a == cfg->cpu_b) {
			fprintf(stderr, "%s: warning: both processes on CPU "
				"%d: busy-poll figures measure the scheduler, "
				"not the transport\n", prog, cfg->cpu_a);
			cfg->single_cpu = 1;
		}
		return 0;
	}
	if (second < 0) {
		fprintf(stderr, "%s: warning: only one CPU available: running "
			"unpinned, with few busy-poll iterations; busy-poll "
			"figures measure the scheduler, not the transport\n",
			prog);
		cfg->cpu_a = cfg->cpu_b = -1;
		cfg->single_cpu = 1;
		return 0;
	}
	cfg->cpu_a = first;
	cfg->cpu_b = second;
	return 0;
}

static void bench_cfg_defaults(struct bench_cfg *cfg)
{
	if (cfg->quick) {
		cfg->repeats = 1;
		cfg->lat_iters = 20000;
		cfg->lat_block_iters = 3000;
		cfg->rate_msgs = 1500;
		cfg->tput_warm_s = 0.03;
		cfg->tput_s = 0.1;
		cfg->idle_s = 0.3;
		cfg->memcpy_bytes = (size_t)64 << 20;
		cfg->gate_reps = 3;
		cfg->gate_max_qubits = 24;
		cfg->sim_shots = 2000000;
		cfg->watchdog_s = 30;
	} else {
		cfg->repeats = 5;
		cfg->lat_iters = 200000;
		cfg->lat_block_iters = 50000;
		cfg->rate_msgs = 10000;
		cfg->tput_warm_s = 0.1;
		cfg->tput_s = 0.5;
		cfg->idle_s = 1.0;
		cfg->memcpy_bytes = (size_t)256 << 20;
		cfg->gate_reps = 5;
		cfg->gate_max_qubits = 26;
		cfg->sim_shots = 10000000;
		cfg->watchdog_s = 60;
	}
	cfg->rate_hz = 5000;
	cfg->ring_capacity = (uint64_t)1 << 20;
}

/* ------------------------------------------------------------------ */
/* Targets                                                              */

static const struct bench_figure *bench_find(const struct bench_run *run,
					     const char *key)
{
	for (size_t i = 0; i < run->nfigs; i++)
		if (strcmp(run->figs[i].m->key, key) == 0)
			return &run->figs[i];
	return NULL;
}

/* Value of metric in repeat k (or the median, k < 0). */
static double bench_fig_at(const struct bench_figure *f, const char *metric,
			   int k)
{
	int i;

	if (!bench_fig_ok(f))
		return NAN;
	i = bench_metric_index(f, metric);
	if (i < 0)
		return NAN;
	return k < 0 ? bench_fig_median(f, i) : f->v[k][i];
}

static double bench_target_value(const struct bench_target *t,
				 const struct bench_figure *n,
				 const struct bench_figure *d, int k)
{
	double num = t->num ? bench_fig_at(n, t->num_metric, k) : t->num_const;
	double den = 1;

	if (t->den)
		den = bench_fig_at(d, t->den_metric, k) * t->den_scale;
	return num / den * t->scale;
}

static void bench_target_eval(const struct bench_run *run,
			      const struct bench_target *t,
			      struct bench_target_val *tv)
{
	const struct bench_figure *n = t->num ? bench_find(run, t->num) : NULL;
	const struct bench_figure *d = t->den ? bench_find(run, t->den) : NULL;
	double x[BENCH_MAX_REPEATS];
	int nx = BENCH_MAX_REPEATS;

	memset(tv, 0, sizeof *tv);
	tv->value = tv->lo = tv->hi = tv->of_medians = NAN;
	if ((t->num && !bench_fig_ok(n)) || (t->den && !bench_fig_ok(d)))
		return;
	if (t->num)
		nx = n->nrep;
	if (t->den && d->nrep < nx)
		nx = d->nrep;
	tv->of_medians = bench_target_value(t, n, d, -1);
	/* Repeat k of both ran in the same pass, moments apart: pair them.
	 * On a shared VM the floor itself moves between passes, so paired
	 * ratios are steadier than a ratio of medians. */
	tv->lo = INFINITY;
	tv->hi = -INFINITY;
	for (int k = 0; k < nx; k++) {
		x[k] = bench_target_value(t, n, d, k);
		tv->lo = fmin(tv->lo, x[k]);
		tv->hi = fmax(tv->hi, x[k]);
	}
	tv->value = bench_median(x, nx);
	tv->have = isfinite(tv->value);
	tv->pass = t->at_most ? tv->value <= t->target
			      : tv->value >= t->target;
}

/* ------------------------------------------------------------------ */
/* Tables                                                               */

static void bench_print_header(const struct bench_run *run)
{
	const struct bench_cfg *cfg = run->cfg;
	const struct bench_machine *mc = &run->machine;
	const struct bench_load *ld = &run->load_start;
	int a, b, c;

	printf("%s: %s run, %d pass%s (median; min-max over passes)\n",
	       run->prog, cfg->quick ? "quick" : "full", cfg->repeats,
	       cfg->repeats == 1 ? "" : "es");
	printf("  machine: %s, %ld CPUs online, %d usable, %.1f GiB RAM; %s\n",
	       mc->cpu_model, mc->nproc_online, mc->cpus_allowed,
	       (double)mc->mem_total / (1 << 30), mc->kernel);
	qshm_version(&a, &b, &c);
	printf("  build:   %s, %s, libqshm %d.%d.%d", mc->compiler,
	       mc->build_type, a, b, c);
	if (run->zmq_version[0])
		printf(", libzmq %s", run->zmq_version);
	printf("\n");
	if (cfg->cpu_a >= 0)
		printf("  CPUs:    parent %d, child %d%s\n", cfg->cpu_a, cfg->cpu_b,
		       cfg->single_cpu ? " (shared: busy-poll figures "
					 "meaningless)" : "");
	else
		printf("  CPUs:    unpinned, one CPU (busy-poll figures "
		       "meaningless)\n");
	printf("  timer:   %s", bench_timer_name());
	if (bench_tsc_in_use)
		printf(" at %.3f GHz", 1.0 / bench_ns_per_tick);
	printf(", resolution %.1f ns, %.1f ns per reading (included in every "
	       "latency sample)\n", bench_tick_step_ns(), bench_tick_cost_ns());
	printf("  load:    1-min load average %.2f, CPU pressure %.0f%%%s\n",
	       ld->loadavg1, ld->cpu_some_avg10,
	       (isnan(ld->cpu_some_avg10) ? ld->loadavg1 > 1.0 :
		ld->cpu_some_avg10 > 10) ?
	       " (machine busy: figures will be noisy)" : "");
	printf("  sizes:   %llu busy / %llu sleeping round trips; %llu at "
	       "%.0f/s; throughput %.2f s timed (after %.2f s); memcpy "
	       "%zu MiB\n\n",
	       (unsigned long long)cfg->lat_iters,
	       (unsigned long long)cfg->lat_block_iters,
	       (unsigned long long)cfg->rate_msgs, cfg->rate_hz, cfg->tput_s,
	       cfg->tput_warm_s, cfg->memcpy_bytes >> 20);
}

static int bench_group_ran(const struct bench_run *run, const char *group)
{
	for (size_t i = 0; i < run->nfigs; i++)
		if (!run->figs[i].skipped &&
		    strcmp(run->figs[i].m->group, group) == 0)
			return 1;
	return 0;
}

/* "FAILED: ..." or "n/a: ..." for a figure without numbers; 0 if it has. */
static int bench_print_missing(const struct bench_figure *f)
{
	if (f->failed) {
		printf("FAILED: %s\n", f->err);
		return 1;
	}
	if (f->unavailable || f->nrep == 0) {
		printf("n/a: %s\n", f->err[0] ? f->err : "did not run");
		return 1;
	}
	return 0;
}

/* A ratio, or "-" when either side is missing. */
static void bench_print_ratio(double num, double den, int width)
{
	double r = num / den;

	if (!isfinite(r))
		printf(" %*s", width, "-");
	else if (r >= 100)
		printf(" %*.0f", width, r);
	else if (r >= 10)
		printf(" %*.1f", width, r);
	else if (r >= 0.01)
		printf(" %*.2f", width, r);
	else
		printf(" %*.4f", width, r);
}

static double bench_median_of(const struct bench_run *run, const char *key,
			      const char *metric)
{
	return bench_fig_at(bench_find(run, key), metric, -1);
}

static void bench_print_latency(const struct bench_run *run,
				const char *group)
{
	static const char *const pm[] = { "p50_ns", "p90_ns", "p99_ns",
					  "p99.9_ns", "max_ns" };
	int at_rate = strcmp(group, "rate") == 0;
	const char *rm = at_rate ? "p99_ns" : "p50_ns";
	char k_busy[32], k_block[32];

	if (!bench_group_ran(run, group))
		return;
	snprintf(k_busy, sizeof k_busy, "%s.qshm_busy", at_rate ? "rate" : "lat");
	snprintf(k_block, sizeof k_block, "%s.qshm_block",
		 at_rate ? "rate" : "lat");
	if (at_rate)
		printf("At %.0f msgs/s offered, 64 B, ns from the due time "
		       "(qshm / this: p99)\n", run->cfg->rate_hz);
	else
		printf("Round trip, 64 B, ns (qshm / this: p50; < 1: qshm "
		       "faster)\n");
	printf("  %-26s %8s %8s %8s %8s %9s %15s %6s %6s\n", "", "p50", "p90",
	       "p99", "p99.9", "max", at_rate ? "p99 min-max" : "p50 min-max",
	       "busy/", "block/");
	for (size_t i = 0; i < run->nfigs; i++) {
		const struct bench_figure *f = &run->figs[i];
		char mm[40];
		int p;

		if (strcmp(f->m->group, group) != 0 || f->skipped)
			continue;
		printf("  %-26s ", f->m->label);
		if (bench_print_missing(f))
			continue;
		for (int k = 0; k < 5; k++)
			printf(k == 4 ? " %9.0f" : " %8.0f",
			       bench_fig_at(f, pm[k], -1));
		p = bench_metric_index(f, rm);
		snprintf(mm, sizeof mm, "%.0f-%.0f", bench_fig_min(f, p),
			 bench_fig_max(f, p));
		printf(" %15s", mm);
		double self = bench_fig_at(f, rm, -1);
		bench_print_ratio(bench_median_of(run, k_busy, rm), self, 6);
		bench_print_ratio(bench_median_of(run, k_block, rm), self, 6);
		printf("\n");
	}
	printf("\n");
}

/* The service figures: a job's round trip through each path, its
 * overhead over the simulator's own time, and each path against serve. */
static void bench_print_service(const struct bench_run *run)
{
	static const char *const pm[] = { "p50_ns", "p99_ns", "ovh_p50_ns",
					  "ovh_p99_ns" };

	if (!bench_group_ran(run, "service"))
		return;
	printf("Job round trip, us (overhead: end to end minus the "
	       "simulator's own time;\n  this / serve: p50, > 1: serve "
	       "faster)\n");
	printf("  %-32s %9s %9s %9s %9s %15s %7s\n", "", "p50", "p99",
	       "ovh p50", "ovh p99", "p50 min-max", "/serve");
	for (size_t i = 0; i < run->nfigs; i++) {
		const struct bench_figure *f = &run->figs[i];
		char mm[40], serve[48];
		int p;

		if (strcmp(f->m->group, "service") != 0 || f->skipped)
			continue;
		printf("  %-32s ", f->m->label);
		if (bench_print_missing(f))
			continue;
		for (int k = 0; k < 4; k++)
			printf(" %9.1f", bench_fig_at(f, pm[k], -1) / 1e3);
		p = bench_metric_index(f, "p50_ns");
		snprintf(mm, sizeof mm, "%.1f-%.1f", bench_fig_min(f, p) / 1e3,
			 bench_fig_max(f, p) / 1e3);
		printf(" %15s", mm);
		snprintf(serve, sizeof serve, "svc.%s_serve",
			 strncmp(f->m->key, "svc.vqe", 7) ? "trivial" : "vqe");
		bench_print_ratio(bench_fig_at(f, "p50_ns", -1),
				  bench_median_of(run, serve, "p50_ns"), 7);
		printf("\n");
	}
	printf("\n");
}

static void bench_print_throughput(const struct bench_run *run)
{
	if (!bench_group_ran(run, "throughput") &&
	    !bench_group_ran(run, "bandwidth"))
		return;
	printf("One-way throughput (qshm / this at the same size; > 1: qshm "
	       "faster)\n");
	printf("  %-34s %9s %15s %8s %13s %7s\n", "", "M msgs/s", "min-max",
	       "GB/s", "min-max", "qshm/");
	for (size_t i = 0; i < run->nfigs; i++) {
		const struct bench_figure *f = &run->figs[i];
		char mm[40], gg[40], qkey[48];

		if (f->skipped || (strcmp(f->m->group, "throughput") != 0 &&
				   strcmp(f->m->group, "bandwidth") != 0))
			continue;
		printf("  %-34s ", f->m->label);
		if (bench_print_missing(f))
			continue;
		int m = bench_metric_index(f, "msgs_per_s");
		int g = bench_metric_index(f, "GB_per_s");
		if (m >= 0) {
			snprintf(mm, sizeof mm, "%.3g-%.3g",
				 bench_fig_min(f, m) / 1e6,
				 bench_fig_max(f, m) / 1e6);
			printf("%9.3g %15s", bench_fig_median(f, m) / 1e6, mm);
		} else {
			printf("%9s %15s", "-", "");
		}
		snprintf(gg, sizeof gg, "%.3g-%.3g", bench_fig_min(f, g),
			 bench_fig_max(f, g));
		printf(" %8.3g %13s", bench_fig_median(f, g), gg);
		if (strcmp(f->m->group, "throughput") == 0) {
			snprintf(qkey, sizeof qkey, "tput.qshm_%s",
				 strrchr(f->m->key, '_') + 1);
			bench_print_ratio(bench_median_of(run, qkey, "GB_per_s"),
					  bench_fig_median(f, g), 7);
		} else {
			printf(" %7s", "");
		}
		if (f->note[0])
			printf("  (%s)", f->note);
		printf("\n");
	}
	printf("\n");
}

static void bench_print_idle(const struct bench_run *run)
{
	if (!bench_group_ran(run, "idle"))
		return;
	printf("Idle consumer, %.1f s with nothing to read\n", run->cfg->idle_s);
	printf("  %-26s %9s %15s %12s\n", "", "CPU %", "min-max",
	       "wake-up us");
	for (size_t i = 0; i < run->nfigs; i++) {
		const struct bench_figure *f = &run->figs[i];
		char mm[40];

		if (strcmp(f->m->group, "idle") != 0 || f->skipped)
			continue;
		printf("  %-26s ", f->m->label);
		if (bench_print_missing(f))
			continue;
		snprintf(mm, sizeof mm, "%.3g-%.3g", bench_fig_min(f, 0),
			 bench_fig_max(f, 0));
		printf("%9.3g %15s %12.1f\n", bench_fig_median(f, 0), mm,
		       bench_fig_median(f, 1));
	}
	printf("\n");
}

static void bench_print_sim(const struct bench_run *run)
{
	double mc = bench_median_of(run, "bw.memcpy", "GB_per_s");

	if (!bench_group_ran(run, "sim"))
		return;
	printf("Simulator (memory bandwidth = 2 x memcpy GB/s of this run "
	       "= %.3g GB/s)\n", 2 * mc);
	for (size_t i = 0; i < run->nfigs; i++) {
		const struct bench_figure *f = &run->figs[i];
		char mm[40];

		if (strcmp(f->m->group, "sim") != 0 || f->skipped)
			continue;
		printf("  %-30s ", f->m->label);
		if (bench_print_missing(f))
			continue;
		if (strncmp(f->m->key, "sim.circ_", 9) == 0) {
			printf("%7.3g s fused", bench_fig_median(f, 0));
			if (!isnan(bench_fig_median(f, 1)))
				printf(", %.3g s unfused (x%.2f)",
				       bench_fig_median(f, 1),
				       bench_fig_median(f, 2));
			printf("; %.0f sweeps (unblocked %.0f",
			       bench_fig_median(f, 3), bench_fig_median(f, 7));
			if (!isnan(bench_fig_median(f, 4)))
				printf(", unfused %.0f", bench_fig_median(f, 4));
			printf(")");
			printf(", %.3g GB/s effective, peak RSS %.0f MiB\n",
			       bench_fig_median(f, 5), bench_fig_median(f, 6));
		} else if (strncmp(f->m->key, "sim.gate_", 9) == 0) {
			snprintf(mm, sizeof mm, "%.3g-%.3g", bench_fig_min(f, 0),
				 bench_fig_max(f, 0));
			printf("%7.3g GB/s (%s) %8.3g ms/gate  %4.0f%% of "
			       "memory bandwidth\n", bench_fig_median(f, 0), mm,
			       bench_fig_median(f, 1),
			       100 * bench_fig_median(f, 0) / (2 * mc));
		} else {
			snprintf(mm, sizeof mm, "%.3g-%.3g",
				 bench_fig_min(f, 0) / 1e6,
				 bench_fig_max(f, 0) / 1e6);
			printf("%7.3g M shots/s (%s) read by the consumer; "
			       "producer %.3g M/s\n",
			       bench_fig_median(f, 0) / 1e6, mm,
			       bench_fig_median(f, 1) / 1e6);
		}
	}
	printf("\n");
}

static void bench_print_targets(const struct bench_run *run)
{
	printf("Targets of the design brief (median of per-pass values)%2s %8s %15s  "
	       "%-8s\n", "", "value", "min-max", "target");
	for (size_t i = 0; i < run->ntargets; i++) {
		const struct bench_target *t = &run->targets[i];
		const struct bench_target_val *tv = &run->tvals[i];
		char tgt[16], mm[40];

		snprintf(tgt, sizeof tgt, "%s %g", t->at_most ? "<=" : ">=",
			 t->target);
		if (!tv->have) {
			printf("  %-54s %8s %15s  %-8s  n/a (not measured)\n",
			       t->label, "-", "", tgt);
			continue;
		}
		snprintf(mm, sizeof mm, "%.3g-%.3g", tv->lo, tv->hi);
		printf("  %-54s %8.3g %15s  %-8s  %s\n", t->label, tv->value,
		       mm, tgt, tv->pass ? "PASS" : "FALLS SHORT");
	}
	for (size_t i = 0; i < run->ntargets; i++)
		if (run->targets[i].note && run->tvals[i].have)
			printf("  note, %s: %s\n", run->targets[i].key,
			       run->targets[i].note);
}

/* ------------------------------------------------------------------ */

int bench_suite_main(const char *prog, enum bench_profile profile,
		     int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "plots", required_argument, NULL, 'p' },
		{ "iters", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "timer", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench_run run; /* large: keep it off the stack */
	const struct bench_measure *list[BENCH_MAX_FIGS];
	struct bench_cfg cfg;
	uint64_t iters = 0, repeats = 0, rate = 0;
	int cpus_given = 0, force_clock = 0, failures = 0, c;
	const char *only = NULL;
	size_t nlist = bench_list_build(profile, list, BENCH_MAX_FIGS);

	memset(&cfg, 0, sizeof cfg);
	memset(&run, 0, sizeof run);
	cfg.cpu_a = cfg.cpu_b = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hqj:p:n:c:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			bench_usage(prog, profile, stdout);
			return 0;
		case 'q':
			cfg.quick = 1;
			break;
		case 'j':
			cfg.json_path = optarg;
			break;
		case 'p':
			cfg.plots_dir = optarg;
			break;
		case 'n':
			if (bench_parse_u64(optarg, &iters) != 0) {
				fprintf(stderr, "%s: --iters: want a positive "
					"number\n", prog);
				return 2;
			}
			break;
		case 'c':
			if (bench_parse_cpus(optarg, &cfg.cpu_a, &cfg.cpu_b)) {
				fprintf(stderr, "%s: --cpus: want A,B (two CPU "
					"numbers)\n", prog);
				return 2;
			}
			cpus_given = 1;
			break;
		case 'r':
			if (bench_parse_u64(optarg, &repeats) != 0 ||
			    repeats > BENCH_MAX_REPEATS) {
				fprintf(stderr, "%s: --repeats: want 1..%d\n",
					prog, BENCH_MAX_REPEATS);
				return 2;
			}
			break;
		case 'R':
			if (bench_parse_u64(optarg, &rate) != 0 ||
			    rate > 1000000) {
				fprintf(stderr, "%s: --rate: want 1..1000000 "
					"messages per second\n", prog);
				return 2;
			}
			break;
		case 't':
			if (strcmp(optarg, "clock") == 0) {
				force_clock = 1;
			} else if (strcmp(optarg, "tsc") != 0) {
				fprintf(stderr, "%s: --timer: tsc or clock\n",
					prog);
				return 2;
			}
			break;
		case 'o':
			only = optarg;
			break;
		case 'l':
			for (size_t i = 0; i < nlist; i++)
				printf("%-20s %s\n", list[i]->key,
				       list[i]->label);
			return 0;
		case ':':
			fprintf(stderr, "%s: %s needs a value\n", prog,
				argv[optind - 1]);
			fprintf(stderr, "(see '%s --help')\n", prog);
			return 2;
		default:
			fprintf(stderr, "%s: unknown option '%s'\n", prog,
				argv[optind - 1]);
			fprintf(stderr, "(see '%s --help')\n", prog);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n(see '%s "
			"--help')\n", prog, argv[optind], prog);
		return 2;
	}

	bench_cfg_defaults(&cfg);
	if (repeats)
		cfg.repeats = (int)repeats;
	if (iters)
		cfg.lat_iters = cfg.lat_block_iters = iters;
	if (rate)
		cfg.rate_hz = (double)rate;

	bench_cleanup_init();
	bench_shm_sweep(prog);
	bench_machine_get(&run.machine); /* before pinning: counts CPUs */
	if (bench_pick_cpus(prog, &cfg, cpus_given) != 0)
		return 2;
	if (cfg.single_cpu && !iters) {
		/* A busy-polling side keeps the CPU until preempted: each
		 * hop can cost a scheduler slice. Keep the run short. */
		cfg.lat_iters = 300;
		cfg.lat_block_iters = cfg.quick ? 300 : 3000;
	}
	if (cfg.cpu_a >= 0) {
		int rc = bench_pin(cfg.cpu_a);
		if (rc < 0) {
			fprintf(stderr, "%s: cannot pin to CPU %d: %s\n", prog,
				cfg.cpu_a, strerror(-rc));
			return 2;
		}
	}
	bench_clock_init(force_clock, cfg.quick);
	run.prog = prog;
	run.cfg = &cfg;
	bench_ipc_zmq_version(run.zmq_version, sizeof run.zmq_version);
	bench_load_get(&run.load_start);
	if (profile == BENCH_PROFILE_RING) {
		run.targets = bench_targets_ring;
		run.ntargets = sizeof bench_targets_ring /
			       sizeof bench_targets_ring[0];
	} else {
		run.targets = bench_targets_all;
		run.ntargets = sizeof bench_targets_all /
			       sizeof bench_targets_all[0];
	}
	run.nfigs = nlist;
	for (size_t i = 0; i < nlist; i++) {
		struct bench_figure *f = &run.figs[i];

		f->m = list[i];
		f->skipped = !bench_selected(list[i], only);
		if (!f->skipped && (strcmp(f->m->group, "latency") == 0 ||
				    strcmp(f->m->group, "rate") == 0 ||
				    strcmp(f->m->group, "service") == 0)) {
			f->hist = calloc(1, sizeof *f->hist);
			if (!f->hist) {
				fprintf(stderr, "%s: out of memory\n", prog);
				return 1;
			}
		}
	}
	bench_print_header(&run);
	fflush(stdout);

	/* Interleaved: pass r runs every measurement once. */
	for (int r = 0; r < cfg.repeats; r++) {
		uint64_t t_pass = bench_now_ns();

		fprintf(stderr, "pass %d/%d:", r + 1, cfg.repeats);
		for (size_t i = 0; i < run.nfigs; i++) {
			struct bench_figure *f = &run.figs[i];
			struct bench_out out;
			int rc;

			if (f->failed || f->skipped || f->unavailable)
				continue;
			fprintf(stderr, " %s", f->m->key);
			memset(&out, 0, sizeof out);
			out.hist = f->hist;
			bench_watchdog(cfg.watchdog_s + 30, f->m->key);
			rc = f->m->run(f->m, &cfg, &out);
			bench_watchdog(0, NULL);
			if (rc > 0) {
				f->unavailable = 1;
				snprintf(f->err, sizeof f->err, "%s", out.err);
				fprintf(stderr, " (n/a: %s)", f->err);
				continue;
			}
			if (rc != 0) {
				f->failed = 1;
				snprintf(f->err, sizeof f->err, "%s",
					 out.err[0] ? out.err : "failed");
				fprintf(stderr, " (FAILED: %s)", f->err);
				failures++;
				continue;
			}
			memcpy(f->v[f->nrep], out.v, sizeof out.v);
			f->nrep++;
			if (out.note[0])
				snprintf(f->note, sizeof f->note, "%s",
					 out.note);
		}
		fprintf(stderr, " (%.0f s)\n",
			(double)(bench_now_ns() - t_pass) / 1e9);
	}
	for (size_t i = 0; i < run.nfigs; i++)
		if (run.figs[i].m->fini)
			run.figs[i].m->fini();

	bench_load_get(&run.load_end);
	for (size_t i = 0; i < run.ntargets; i++)
		bench_target_eval(&run, &run.targets[i], &run.tvals[i]);
	bench_print_latency(&run, "latency");
	bench_print_latency(&run, "rate");
	bench_print_service(&run);
	bench_print_throughput(&run);
	bench_print_idle(&run);
	bench_print_sim(&run);
	bench_print_targets(&run);
	printf("\n  load at the end: 1-min load average %.2f (this run's two "
	       "busy processes count), CPU pressure %.0f%%\n",
	       run.load_end.loadavg1, run.load_end.cpu_some_avg10);
	fflush(stdout);

	if (cfg.plots_dir && bench_plots_write(&run, cfg.plots_dir) < 0)
		failures++;
	if (cfg.json_path && bench_json_write(&run, cfg.json_path) < 0)
		failures++;
	if (bench_shm_leftovers(prog) > 0) {
		fprintf(stderr, "%s: shared-memory objects were left behind\n",
			prog);
		failures++;
	}
	for (size_t i = 0; i < run.nfigs; i++) {
		free(run.figs[i].hist);
		run.figs[i].hist = NULL;
	}
	return failures ? 1 : 0;
}
