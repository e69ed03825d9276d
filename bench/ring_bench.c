/* SPDX-License-Identifier: MIT */
/*
 * ring_bench.c - qshm-ring-bench: qshm's ring against the hardware floor and
 * minimal baselines, measured in one run so that the ratios of
 * docs/design targets are meaningful. Reports; never asserts: the exit
 * status is 0 unless something fails to run.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef BENCH_HAVE_QSHM
#include <qshm/qshm.h>
#endif

/* Every measurement, in the order they run within one repeat: each
 * baseline next to the qshm figure it is compared with. */
static const struct bench_measure *const bench_list[] = {
	&bench_cacheline_rt,
#ifdef BENCH_HAVE_QSHM
	&bench_qshm_busy_rt,
#endif
	&bench_futex_rt,
#ifdef BENCH_HAVE_QSHM
	&bench_qshm_block_rt,
#endif
	&bench_spsc_tput_64,
#ifdef BENCH_HAVE_QSHM
	&bench_qshm_tput_64,
#endif
	&bench_spsc_tput_4k,
#ifdef BENCH_HAVE_QSHM
	&bench_qshm_tput_4k,
#endif
	&bench_memcpy_bw,
};
#define BENCH_N (sizeof bench_list / sizeof bench_list[0])

/* The targets of design.md ("How fast"), as ratios of medians. */
struct bench_ratio {
	const char *key;
	const char *label;
	const char *num, *num_metric;
	const char *den, *den_metric;
	int at_most;     /* 1: ratio <= target passes; 0: ratio >= target */
	double target;
};

static const struct bench_ratio bench_ratios[] = {
	{ "busy_rt_vs_cacheline", "qshm busy RT p50 / raw cache-line p50",
	  "lat.qshm_busy", "p50_ns", "lat.raw_cacheline", "p50_ns", 1, 1.3 },
	{ "tput64_vs_spsc", "qshm 64 B msgs/s / minimal SPSC msgs/s",
	  "tput.qshm_64", "msgs_per_s", "tput.spsc_64", "msgs_per_s", 0, 0.8 },
	{ "block_rt_vs_futex", "qshm blocking RT p50 / futex p50",
	  "lat.qshm_block", "p50_ns", "lat.futex", "p50_ns", 1, 1.2 },
	{ "tput4k_vs_memcpy", "qshm 4 KiB GB/s / memcpy GB/s",
	  "tput.qshm_4k", "GB_per_s", "bw.memcpy", "GB_per_s", 0, 0.8 },
};
#define BENCH_NRATIOS (sizeof bench_ratios / sizeof bench_ratios[0])

struct bench_ratio_val {
	double value;     /* median over passes of num/den of the same pass */
	double lo, hi;    /* spread of those per-pass ratios */
	double of_medians;/* median(num) / median(den) */
	int have;
	int pass;
};

static struct bench_figure bench_figs[BENCH_N];

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

static void bench_usage(FILE *f)
{
	fprintf(f,
"usage: qshm-ring-bench [options]\n"
"\n"
"Measures qshm rings between two processes pinned to two CPUs, next to the\n"
"hardware floor and minimal baselines, in one run:\n"
"  round trip of 64 B messages (p50 p90 p99 p99.9 max): raw cache-line\n"
"    ping-pong, qshm busy-poll, raw futex ping-pong, qshm blocking;\n"
"  one-way throughput: minimal SPSC shm ring and qshm at 64 B and 4 KiB,\n"
"    and single-thread memcpy bandwidth;\n"
"and prints the ratios against the targets of design.md (PASS or FALLS\n"
"SHORT; reported, never asserted: the exit status is 0 unless something\n"
"fails to run).\n"
"\n"
"options:\n"
"  -h, --help        this text\n"
"  -q, --quick       one short repeat of everything (a few seconds)\n"
"  -j, --json FILE   also write every figure and the machine to FILE\n"
"  -n, --iters N     timed round trips per latency measurement\n"
"                    (default 200000 busy-poll, 50000 blocking)\n"
"  -c, --cpus A,B    CPUs of the two processes (default: the first two\n"
"                    this process may use)\n"
"  -r, --repeats N   repeats of each measurement (default 5, quick 1)\n"
"      --timer T     tsc or clock (CLOCK_MONOTONIC); default tsc where\n"
"                    the kernel says it is constant\n"
"      --only LIST   run only measurements whose key contains one of the\n"
"                    comma-separated words (keys: --list)\n"
"      --list        list the measurements' keys and exit\n");
}

static int bench_parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s || *end || x == 0)
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

/* Picks the CPUs; on one CPU, runs unpinned with a warning. */
static int bench_pick_cpus(struct bench_cfg *cfg, int given)
{
	cpu_set_t set;
	int first = -1, second = -1;

	if (sched_getaffinity(0, sizeof set, &set) != 0) {
		perror("sched_getaffinity");
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
			fprintf(stderr, "qshm-ring-bench: --cpus %d,%d: not "
				"CPUs this process may use\n",
				cfg->cpu_a, cfg->cpu_b);
			return -1;
		}
		if (cfg->cpu_a == cfg->cpu_b) {
			fprintf(stderr, "qshm-ring-bench: warning: both "
				"processes on CPU %d: busy-poll figures measure "
				"the scheduler, not the transport\n",
				cfg->cpu_a);
			cfg->single_cpu = 1;
		}
		return 0;
	}
	if (second < 0) {
		fprintf(stderr, "qshm-ring-bench: warning: only one CPU "
			"available: running unpinned, with few busy-poll "
			"iterations; busy-poll figures measure the scheduler, "
			"not the transport\n");
		cfg->cpu_a = cfg->cpu_b = -1;
		cfg->single_cpu = 1;
		return 0;
	}
	cfg->cpu_a = first;
	cfg->cpu_b = second;
	return 0;
}

static const struct bench_figure *bench_find(const char *key)
{
	for (size_t i = 0; i < BENCH_N; i++)
		if (strcmp(bench_figs[i].m->key, key) == 0)
			return &bench_figs[i];
	return NULL;
}

static void bench_ratio_eval(const struct bench_ratio *r,
			     struct bench_ratio_val *rv)
{
	const struct bench_figure *n = bench_find(r->num);
	const struct bench_figure *d = bench_find(r->den);
	int ni, di;

	memset(rv, 0, sizeof *rv);
	rv->value = rv->lo = rv->hi = rv->of_medians = NAN;
	if (!n || !d || n->failed || d->failed || !n->nrep || !d->nrep)
		return;
	ni = bench_metric_index(n, r->num_metric);
	di = bench_metric_index(d, r->den_metric);
	rv->of_medians = bench_fig_median(n, ni) / bench_fig_median(d, di);
	/* Repeat k of both ran in the same pass, moments apart: pair them.
	 * On a shared VM the floor itself moves between passes (vCPUs land
	 * on other host cores), so paired ratios are steadier than a ratio
	 * of medians. */
	double x[BENCH_MAX_REPEATS];
	int nx = n->nrep < d->nrep ? n->nrep : d->nrep;
	rv->lo = INFINITY;
	rv->hi = -INFINITY;
	for (int k = 0; k < nx; k++) {
		x[k] = n->v[k][ni] / d->v[k][di];
		rv->lo = fmin(rv->lo, x[k]);
		rv->hi = fmax(rv->hi, x[k]);
	}
	rv->value = bench_median(x, nx);
	rv->have = isfinite(rv->value);
	rv->pass = r->at_most ? rv->value <= r->target
			      : rv->value >= r->target;
}

/* ------------------------------------------------------------------ */
/* Table                                                                */

static void bench_print_header(const struct bench_cfg *cfg,
			       const struct bench_machine *mc,
			       const struct bench_load *ld)
{
	printf("qshm-ring-bench: %s run, %d repeat%s (median; min-max over "
	       "repeats)\n", cfg->quick ? "quick" : "full", cfg->repeats,
	       cfg->repeats == 1 ? "" : "s");
	printf("  machine: %s, %ld CPUs online, %d usable; %s\n",
	       mc->cpu_model, mc->nproc_online, mc->cpus_allowed, mc->kernel);
	printf("  build:   %s, %s", mc->compiler, mc->build_type);
#ifdef BENCH_HAVE_QSHM
	{
		int a, b, c;
		qshm_version(&a, &b, &c);
		printf(", libqshm %d.%d.%d", a, b, c);
	}
#else
	printf(", built without libqshm (baselines only)");
#endif
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
	printf(", %.1f ns per reading (included in every latency sample)\n",
	       bench_tick_cost_ns());
	printf("  load:    1-min load average %.2f, CPU pressure %.0f%%%s\n",
	       ld->loadavg1, ld->cpu_some_avg10,
	       (isnan(ld->cpu_some_avg10) ? ld->loadavg1 > 1.0 :
		ld->cpu_some_avg10 > 10) ?
	       " (machine busy: figures will be noisy)" : "");
	printf("  sizes:   %llu busy / %llu blocking round trips, %llu x 64 B, "
	       "%llu x 4 KiB, memcpy %zu MiB, rings %llu KiB\n\n",
	       (unsigned long long)cfg->lat_iters,
	       (unsigned long long)cfg->lat_block_iters,
	       (unsigned long long)cfg->msgs_small,
	       (unsigned long long)cfg->msgs_large, cfg->memcpy_bytes >> 20,
	       (unsigned long long)(cfg->ring_capacity >> 10));
}

static int bench_group_ran(const char *group)
{
	for (size_t i = 0; i < BENCH_N; i++)
		if (!bench_figs[i].skipped &&
		    strcmp(bench_figs[i].m->group, group) == 0)
			return 1;
	return 0;
}

static void bench_print_latency(void)
{
	static const char *const pm[] = { "p50_ns", "p90_ns", "p99_ns",
					  "p99.9_ns", "max_ns" };

	if (!bench_group_ran("latency"))
		return;
	printf("Round trip, 64 B, ns    %9s %9s %9s %9s %9s   %s\n", "p50",
	       "p90", "p99", "p99.9", "max", "p50 min-max");
	for (size_t i = 0; i < BENCH_N; i++) {
		const struct bench_figure *f = &bench_figs[i];
		if (strcmp(f->m->group, "latency") != 0 || f->skipped)
			continue;
		printf("  %-22s", f->m->label);
		if (f->failed) {
			printf("  FAILED: %s\n", f->err);
			continue;
		}
		for (int k = 0; k < 5; k++)
			printf(" %9.0f",
			       bench_fig_median(f, bench_metric_index(f, pm[k])));
		int p = bench_metric_index(f, "p50_ns");
		printf("   %.0f-%.0f\n", bench_fig_min(f, p), bench_fig_max(f, p));
	}
	printf("\n");
}

static void bench_print_throughput(void)
{
	if (!bench_group_ran("throughput"))
		return;
	printf("One-way throughput        %10s %15s %8s %15s\n", "M msgs/s",
	       "min-max", "GB/s", "min-max");
	for (size_t i = 0; i < BENCH_N; i++) {
		const struct bench_figure *f = &bench_figs[i];
		if (strcmp(f->m->group, "throughput") != 0 || f->skipped)
			continue;
		printf("  %-24s", f->m->label);
		if (f->failed) {
			printf("FAILED: %s\n", f->err);
			continue;
		}
		int m = bench_metric_index(f, "msgs_per_s");
		int g = bench_metric_index(f, "GB_per_s");
		if (m >= 0) {
			char mm[32];
			snprintf(mm, sizeof mm, "%.2f-%.2f",
				 bench_fig_min(f, m) / 1e6,
				 bench_fig_max(f, m) / 1e6);
			printf("%10.2f %15s", bench_fig_median(f, m) / 1e6, mm);
		} else {
			printf("%10s %15s", "-", "");
		}
		if (g >= 0) {
			char gg[32];
			snprintf(gg, sizeof gg, "%.2f-%.2f", bench_fig_min(f, g),
				 bench_fig_max(f, g));
			printf(" %8.2f %15s", bench_fig_median(f, g), gg);
		}
		if (f->note[0])
			printf("  (%s)", f->note);
		printf("\n");
	}
	printf("\n");
}

static void bench_print_ratios(const struct bench_ratio_val *rv)
{
	printf("Targets of design.md (median of per-pass ratios)%18s %6s "
	       "%13s  %-8s\n", "", "ratio", "min-max", "target");
	for (size_t i = 0; i < BENCH_NRATIOS; i++) {
		const struct bench_ratio *r = &bench_ratios[i];
		char tgt[16], mm[32];
		snprintf(tgt, sizeof tgt, "%s %.1f", r->at_most ? "<=" : ">=",
			 r->target);
		if (!rv[i].have) {
			printf("  %-64s %6s %13s  %-8s  n/a\n", r->label, "-",
			       "", tgt);
			continue;
		}
		snprintf(mm, sizeof mm, "%.2f-%.2f", rv[i].lo, rv[i].hi);
		printf("  %-64s %6.2f %13s  %-8s  %s\n", r->label, rv[i].value,
		       mm, tgt, rv[i].pass ? "PASS" : "FALLS SHORT");
	}
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

static int bench_write_json(const char *path, const struct bench_cfg *cfg,
			    const struct bench_machine *mc,
			    const struct bench_load *ld0,
			    const struct bench_load *ld1,
			    const struct bench_ratio_val *rv)
{
	struct bench_json j;
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "qshm-ring-bench: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	bench_json_begin(&j, f);
	bench_json_str(&j, "tool", "qshm-ring-bench");
	bench_json_int(&j, "schema", 1);
	bench_json_obj(&j, "machine");
	bench_json_str(&j, "cpu_model", mc->cpu_model);
	bench_json_int(&j, "nproc", mc->nproc_online);
	bench_json_int(&j, "cpus_usable", mc->cpus_allowed);
	bench_json_str(&j, "kernel", mc->kernel);
	bench_json_str(&j, "hostname", mc->hostname);
	bench_json_str(&j, "compiler", mc->compiler);
	bench_json_str(&j, "build_type", mc->build_type);
#ifdef BENCH_HAVE_QSHM
	{
		int a, b, c;
		char v[32];
		qshm_version(&a, &b, &c);
		snprintf(v, sizeof v, "%d.%d.%d", a, b, c);
		bench_json_str(&j, "libqshm", v);
	}
#else
	bench_json_str(&j, "libqshm", "");
#endif
	bench_json_str(&j, "date", mc->date);
	bench_json_num(&j, "loadavg1_start", ld0->loadavg1);
	bench_json_num(&j, "loadavg1_end", ld1->loadavg1);
	bench_json_num(&j, "cpu_pressure_avg10_start", ld0->cpu_some_avg10);
	bench_json_num(&j, "cpu_pressure_avg10_end", ld1->cpu_some_avg10);
	bench_json_obj_end(&j);

	bench_json_obj(&j, "config");
	bench_json_bool(&j, "quick", cfg->quick);
	bench_json_int(&j, "repeats", cfg->repeats);
	bench_json_int(&j, "cpu_parent", cfg->cpu_a);
	bench_json_int(&j, "cpu_child", cfg->cpu_b);
	bench_json_bool(&j, "single_cpu", cfg->single_cpu);
	bench_json_int(&j, "lat_iters", (long long)cfg->lat_iters);
	bench_json_int(&j, "lat_block_iters", (long long)cfg->lat_block_iters);
	bench_json_int(&j, "msgs_64", (long long)cfg->msgs_small);
	bench_json_int(&j, "msgs_4k", (long long)cfg->msgs_large);
	bench_json_int(&j, "memcpy_bytes", (long long)cfg->memcpy_bytes);
	bench_json_int(&j, "ring_capacity", (long long)cfg->ring_capacity);
	bench_json_str(&j, "timer", bench_timer_name());
	bench_json_num(&j, "timer_ghz",
		       bench_tsc_in_use ? 1.0 / bench_ns_per_tick : NAN);
	bench_json_num(&j, "timer_read_ns", bench_tick_cost_ns());
	bench_json_obj_end(&j);

	bench_json_obj(&j, "figures");
	for (size_t i = 0; i < BENCH_N; i++) {
		const struct bench_figure *fg = &bench_figs[i];
		if (fg->skipped)
			continue;
		bench_json_obj(&j, fg->m->key);
		bench_json_str(&j, "label", fg->m->label);
		bench_json_str(&j, "group", fg->m->group);
		bench_json_str(&j, "status", fg->failed ? "failed" : "ok");
		if (fg->failed)
			bench_json_str(&j, "error", fg->err);
		if (fg->note[0])
			bench_json_str(&j, "note", fg->note);
		bench_json_obj(&j, "metrics");
		for (int k = 0; k < fg->m->nmetrics && !fg->failed; k++) {
			bench_json_obj(&j, fg->m->metrics[k]);
			bench_json_num(&j, "median", bench_fig_median(fg, k));
			bench_json_num(&j, "min", bench_fig_min(fg, k));
			bench_json_num(&j, "max", bench_fig_max(fg, k));
			bench_json_arr(&j, "repeats");
			for (int r = 0; r < fg->nrep; r++)
				bench_json_num(&j, NULL, fg->v[r][k]);
			bench_json_arr_end(&j);
			bench_json_obj_end(&j);
		}
		bench_json_obj_end(&j);
		bench_json_obj_end(&j);
	}
	bench_json_obj_end(&j);

	bench_json_obj(&j, "ratios");
	for (size_t i = 0; i < BENCH_NRATIOS; i++) {
		const struct bench_ratio *r = &bench_ratios[i];
		bench_json_obj(&j, r->key);
		bench_json_str(&j, "label", r->label);
		bench_json_str(&j, "numerator", r->num);
		bench_json_str(&j, "denominator", r->den);
		bench_json_str(&j, "metric", r->num_metric);
		bench_json_str(&j, "target_op", r->at_most ? "<=" : ">=");
		bench_json_num(&j, "target", r->target);
		bench_json_num(&j, "value", rv[i].value);
		bench_json_num(&j, "ratio_of_medians", rv[i].of_medians);
		bench_json_num(&j, "min", rv[i].lo);
		bench_json_num(&j, "max", rv[i].hi);
		bench_json_str(&j, "verdict", !rv[i].have ? "n/a" :
			       rv[i].pass ? "PASS" : "FALLS SHORT");
		bench_json_obj_end(&j);
	}
	bench_json_obj_end(&j);
	bench_json_end(&j);
	if (fclose(f) != 0) {
		fprintf(stderr, "qshm-ring-bench: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "iters", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "timer", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_cfg cfg;
	struct bench_machine mc;
	struct bench_ratio_val rv[BENCH_NRATIOS];
	uint64_t iters = 0, repeats = 0;
	int cpus_given = 0, force_clock = 0, failures = 0, c;
	const char *only = NULL;
	struct bench_load load_start, load_end;

	memset(&cfg, 0, sizeof cfg);
	cfg.cpu_a = cfg.cpu_b = -1;
	while ((c = getopt_long(argc, argv, "hqj:n:c:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			bench_usage(stdout);
			return 0;
		case 'q':
			cfg.quick = 1;
			break;
		case 'j':
			cfg.json_path = optarg;
			break;
		case 'n':
			if (bench_parse_u64(optarg, &iters) != 0) {
				fprintf(stderr, "qshm-ring-bench: --iters: "
					"want a positive number\n");
				return 2;
			}
			break;
		case 'c':
			if (bench_parse_cpus(optarg, &cfg.cpu_a, &cfg.cpu_b)) {
				fprintf(stderr, "qshm-ring-bench: --cpus: "
					"want A,B (two CPU numbers)\n");
				return 2;
			}
			cpus_given = 1;
			break;
		case 'r':
			if (bench_parse_u64(optarg, &repeats) != 0 ||
			    repeats > BENCH_MAX_REPEATS) {
				fprintf(stderr, "qshm-ring-bench: --repeats: "
					"want 1..%d\n", BENCH_MAX_REPEATS);
				return 2;
			}
			break;
		case 't':
			if (strcmp(optarg, "clock") == 0)
				force_clock = 1;
			else if (strcmp(optarg, "tsc") != 0) {
				fprintf(stderr, "qshm-ring-bench: --timer: "
					"tsc or clock\n");
				return 2;
			}
			break;
		case 'o':
			only = optarg;
			break;
		case 'l':
			for (size_t i = 0; i < BENCH_N; i++)
				printf("%-20s %s\n", bench_list[i]->key,
				       bench_list[i]->label);
			return 0;
		default:
			bench_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "qshm-ring-bench: unexpected argument '%s'\n",
			argv[optind]);
		bench_usage(stderr);
		return 2;
	}

	if (cfg.quick) {
		cfg.repeats = 1;
		cfg.lat_iters = 20000;
		cfg.lat_block_iters = 3000;
		cfg.msgs_small = 2000000;
		cfg.msgs_large = 100000;
		cfg.memcpy_bytes = 64u << 20;
		cfg.watchdog_s = 30;
	} else {
		cfg.repeats = 5;
		cfg.lat_iters = 200000;
		cfg.lat_block_iters = 50000;
		cfg.msgs_small = 20000000;
		cfg.msgs_large = 1000000;
		cfg.memcpy_bytes = 256u << 20;
		cfg.watchdog_s = 60;
	}
	cfg.ring_capacity = 1u << 20;
	if (repeats)
		cfg.repeats = (int)repeats;
	if (iters)
		cfg.lat_iters = cfg.lat_block_iters = iters;

	bench_cleanup_init();
	bench_machine_get(&mc); /* before pinning: counts usable CPUs */
	if (bench_pick_cpus(&cfg, cpus_given) != 0)
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
			fprintf(stderr, "qshm-ring-bench: cannot pin to CPU "
				"%d: %s\n", cfg.cpu_a, strerror(-rc));
			return 2;
		}
	}
	bench_clock_init(force_clock, cfg.quick);
	bench_load_get(&load_start);
	bench_print_header(&cfg, &mc, &load_start);
	fflush(stdout);

	for (size_t i = 0; i < BENCH_N; i++) {
		bench_figs[i].m = bench_list[i];
		bench_figs[i].skipped = !bench_selected(bench_list[i], only);
	}

	/* Interleaved: pass r runs every measurement once. */
	for (int r = 0; r < cfg.repeats; r++) {
		fprintf(stderr, "pass %d/%d:", r + 1, cfg.repeats);
		for (size_t i = 0; i < BENCH_N; i++) {
			struct bench_figure *f = &bench_figs[i];
			struct bench_out out;

			if (f->failed || f->skipped)
				continue;
			fprintf(stderr, " %s", f->m->key);
			memset(&out, 0, sizeof out);
			bench_watchdog(cfg.watchdog_s + 30, f->m->key);
			int rc = f->m->run(&cfg, &out);
			bench_watchdog(0, NULL);
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
		fprintf(stderr, "\n");
	}
	for (size_t i = 0; i < BENCH_N; i++)
		if (bench_list[i]->fini)
			bench_list[i]->fini();

	bench_load_get(&load_end);
	for (size_t i = 0; i < BENCH_NRATIOS; i++)
		bench_ratio_eval(&bench_ratios[i], &rv[i]);
	bench_print_latency();
	bench_print_throughput();
	bench_print_ratios(rv);
	printf("\n  load at the end: 1-min load average %.2f (this run's two "
	       "busy processes count), CPU pressure %.0f%%\n",
	       load_end.loadavg1, load_end.cpu_some_avg10);
	fflush(stdout);

	if (cfg.json_path && bench_write_json(cfg.json_path, &cfg, &mc, &load_start,
					     &load_end, rv))
		failures++;
	if (bench_shm_leftovers() > 0) {
		fprintf(stderr, "qshm-ring-bench: shared-memory objects were "
			"left behind\n");
		failures++;
	}
	return failures ? 1 : 0;
}
