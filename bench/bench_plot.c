/* SPDX-License-Identifier: MIT */
/*
 * bench_plot.c - PNG plots of a run, drawn by gnuplot (Debian's
 * gnuplot-nox): the latency CDF of every transport (round trips back to
 * back, and at the fixed offered rate), and throughput against message
 * size (GB/s and messages/s). The data files and the gnuplot script stay
 * next to the PNGs, so a plot can be redrawn or restyled by hand:
 *
 *     latency_rt.dat, latency_rate.dat   one block per transport:
 *                                        "ns fraction" (the CDF, from the
 *                                        3-significant-digit histogram)
 *     throughput.dat                     one block per transport:
 *                                        "bytes msgs_per_s GB_per_s"
 *     plots.gp                           `cd DIR && gnuplot plots.gp`
 */
#include "bench_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_PLOT_MAX_SERIES 16

struct bench_series {
	const char *title;
	int index; /* gnuplot's "index" within the data file */
};

/* One block per latency figure of group; returns how many. */
static int bench_plot_cdf(const struct bench_run *run, const char *group,
			  FILE *f, struct bench_series *ser)
{
	int n = 0;

	for (size_t i = 0; i < run->nfigs && n < BENCH_PLOT_MAX_SERIES; i++) {
		const struct bench_figure *fg = &run->figs[i];
		uint64_t sum = 0;

		if (strcmp(fg->m->group, group) != 0 || !bench_fig_ok(fg) ||
		    !fg->hist || !fg->hist->count)
			continue;
		if (n)
			fputs("\n\n", f);
		fprintf(f, "# %s: %s (%llu samples)\n", fg->m->key,
			fg->m->label, (unsigned long long)fg->hist->count);
		for (int b = 0; b < BENCH_HIST_BUCKETS; b++) {
			if (!fg->hist->n[b])
				continue;
			if (!sum) /* the CDF starts at 0 */
				fprintf(f, "%llu 0\n",
					(unsigned long long)bench_hist_low(b));
			sum += fg->hist->n[b];
			fprintf(f, "%llu %.6f\n",
				(unsigned long long)bench_hist_low(b),
				(double)sum / (double)fg->hist->count);
		}
		ser[n].title = fg->m->label;
		ser[n].index = n;
		n++;
	}
	return n;
}

/* One block per transport with throughput figures; returns how many. */
static int bench_plot_tput(const struct bench_run *run, FILE *f,
			   struct bench_series *ser)
{
	const char *seen[BENCH_PLOT_MAX_SERIES];
	int n = 0;

	for (size_t i = 0; i < run->nfigs && n < BENCH_PLOT_MAX_SERIES; i++) {
		const struct bench_figure *fg = &run->figs[i];
		const char *t = fg->m->transport;
		int dup = 0, rows = 0;

		if (strcmp(fg->m->group, "throughput") != 0 || !t)
			continue;
		for (int k = 0; k < n; k++)
			dup |= strcmp(seen[k], t) == 0;
		if (dup)
			continue;
		for (size_t k = i; k < run->nfigs; k++) {
			const struct bench_figure *g = &run->figs[k];

			if (strcmp(g->m->group, "throughput") != 0 ||
			    !g->m->transport || strcmp(g->m->transport, t) ||
			    !bench_fig_ok(g))
				continue;
			if (!rows++) {
				if (n)
					fputs("\n\n", f);
				fprintf(f, "# %s\n", t);
			}
			fprintf(f, "%llu %.6g %.6g\n",
				(unsigned long long)g->m->param,
				bench_fig_median(g, bench_metric_index(g,
					"msgs_per_s")),
				bench_fig_median(g, bench_metric_index(g,
					"GB_per_s")));
		}
		if (!rows)
			continue;
		seen[n] = t;
		/* The label up to its size: "qshm, 64 B" -> "qshm". */
		ser[n].title = fg->m->label;
		ser[n].index = n;
		n++;
	}
	return n;
}

/* A gnuplot string literal (double quotes; escapes " and \). */
static void bench_gp_str(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; s[i] && i < max; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fputc('\\', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static void bench_gp_plot(FILE *f, const char *data,
			  const struct bench_series *ser, int n,
			  const char *using, const char *style, int cut_label)
{
	fputs("plot ", f);
	for (int i = 0; i < n; i++) {
		const char *comma = cut_label ? strchr(ser[i].title, ',') : NULL;
		size_t len = comma ? (size_t)(comma - ser[i].title) : 200;

		fprintf(f, "%s'%s' index %d using %s with %s title ",
			i ? ", \\\n     " : "", data, ser[i].index, using, style);
		bench_gp_str(f, ser[i].title, len);
	}
}

static int bench_plot_script(const struct bench_run *run, FILE *f,
			     const struct bench_series *rt, int nrt,
			     const struct bench_series *rate, int nrate,
			     const struct bench_series *tp, int ntp)
{
	double mc = NAN;
	int pngs = 0;

	for (size_t i = 0; i < run->nfigs; i++)
		if (strcmp(run->figs[i].m->key, "bw.memcpy") == 0 &&
		    bench_fig_ok(&run->figs[i]))
			mc = bench_fig_median(&run->figs[i], 0);

	fprintf(f, "# Drawn by %s, %s, on %s (%s).\n", run->prog,
		run->machine.date, run->machine.cpu_model,
		run->cfg->quick ? "quick run" : "full run");
	fputs("set terminal png size 1100,700\n"
	      "set grid\n"
	      "set key outside right top\n", f);
	/* Twelve distinguishable colours, dashed from the seventh on. */
	static const char *const colours[] = {
		"#000000", "#e41a1c", "#377eb8", "#4daf4a", "#984ea3",
		"#ff7f00", "#a65628", "#f781bf", "#999999", "#17becf",
		"#bcbd22", "#1f3a93",
	};
	for (int i = 0; i < 12; i++)
		fprintf(f, "set linetype %d lc rgb '%s' lw 2 dt %d\n", i + 1,
			colours[i], i < 6 ? 1 : 2);
	fputs("set linetype cycle 12\n", f);
	if (nrt) {
		fputs("set output 'latency_cdf.png'\n"
		      "set title 'Round trip of 64 B messages, back to back: "
		      "CDF per transport'\n"
		      "set logscale x\nset format x '%g'\n"
		      "set xlabel 'round trip (us)'\n"
		      "set ylabel 'fraction of round trips'\n"
		      "set yrange [0:1]\n", f);
		bench_gp_plot(f, "latency_rt.dat", rt, nrt, "($1/1000):2",
			      "steps", 0);
		fputs("\n", f);
		pngs++;
	}
	if (nrate) {
		fputs("set output 'latency_rate_cdf.png'\n", f);
		fprintf(f, "set title 'Latency of 64 B round trips at %.0f "
			"msgs/s offered, from the due time: CDF per "
			"transport'\n", run->cfg->rate_hz);
		fputs("set logscale x\nset format x '%g'\n"
		      "set xlabel 'latency from the due time (us)'\n"
		      "set ylabel 'fraction of messages'\n"
		      "set yrange [0:1]\n", f);
		bench_gp_plot(f, "latency_rate.dat", rate, nrate, "($1/1000):2",
			      "steps", 0);
		fputs("\n", f);
		pngs++;
	}
	if (ntp) {
		fputs("set autoscale y\nset logscale xy\nset format y '%g'\n"
		      "set xlabel 'message size (bytes)'\n"
		      "set xtics ('64 B' 64, '4 KiB' 4096, '64 KiB' 65536, "
		      "'1 MiB' 1048576)\n"
		      "set output 'throughput_gbps.png'\n"
		      "set title 'One-way throughput against message size'\n"
		      "set ylabel 'GB/s of payload'\n", f);
		bench_gp_plot(f, "throughput.dat", tp, ntp, "1:3",
			      "linespoints", 1);
		if (isfinite(mc))
			fprintf(f, ", \\\n     %.6g with lines dashtype 2 "
				"title 'memcpy, one thread'", mc);
		fputs("\nset output 'throughput_msgs.png'\n"
		      "set ylabel 'messages/s'\n", f);
		bench_gp_plot(f, "throughput.dat", tp, ntp, "1:2",
			      "linespoints", 1);
		fputs("\n", f);
		pngs += 2;
	}
	return pngs;
}

/* 1 if an executable "gnuplot" is on PATH. */
static int bench_have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, path);
		if (n && access(buf, X_OK) == 0)
			return 1;
		path += n + (end ? 1 : 0);
	}
	return 0;
}

static int bench_run_gnuplot(const char *prog, const char *dir)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (chdir(dir) != 0)
			_exit(126);
		execlp("gnuplot", "gnuplot", "plots.gp", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: gnuplot failed (status %#x)\n", prog,
			status);
		return -1;
	}
	return 0;
}

static FILE *bench_plot_open(const char *prog, const char *dir,
			     const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
	return f;
}

int bench_plots_write(struct bench_run *run, const char *dir)
{
	struct bench_series rt[BENCH_PLOT_MAX_SERIES];
	struct bench_series rate[BENCH_PLOT_MAX_SERIES];
	struct bench_series tp[BENCH_PLOT_MAX_SERIES];
	int nrt, nrate, ntp, pngs;
	FILE *f;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: mkdir %s: %s\n", run->prog, dir,
			strerror(errno));
		snprintf(run->plots_status, sizeof run->plots_status,
			 "cannot make the directory");
		return -1;
	}
	if (!(f = bench_plot_open(run->prog, dir, "latency_rt.dat")))
		return -1;
	nrt = bench_plot_cdf(run, "latency", f, rt);
	fclose(f);
	if (!(f = bench_plot_open(run->prog, dir, "latency_rate.dat")))
		return -1;
	nrate = bench_plot_cdf(run, "rate", f, rate);
	fclose(f);
	if (!(f = bench_plot_open(run->prog, dir, "throughput.dat")))
		return -1;
	ntp = bench_plot_tput(run, f, tp);
	fclose(f);
	if (!(f = bench_plot_open(run->prog, dir, "plots.gp")))
		return -1;
	pngs = bench_plot_script(run, f, rt, nrt, rate, nrate, tp, ntp);
	if (fclose(f) != 0)
		return -1;

	if (!pngs) {
		snprintf(run->plots_status, sizeof run->plots_status,
			 "nothing to plot");
		return 0;
	}
	if (!bench_have_gnuplot()) {
		printf("\nplots: gnuplot not found, PNGs skipped (install "
		       "gnuplot-nox; data and plots.gp are in %s)\n", dir);
		snprintf(run->plots_status, sizeof run->plots_status,
			 "skipped: gnuplot not found");
		return 0;
	}
	if (bench_run_gnuplot(run->prog, dir) != 0) {
		snprintf(run->plots_status, sizeof run->plots_status,
			 "gnuplot failed");
		return -1;
	}
	printf("\nplots: %d PNGs and their data in %s\n", pngs, dir);
	return 0;
}
