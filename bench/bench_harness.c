/* SPDX-License-Identifier: MIT */
/*
 * bench_harness.c - timing, statistics, processes, cleanup and JSON for the
 * benchmark programs. See bench.h.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_COMPILER
#define BENCH_COMPILER "cc " __VERSION__
#endif
#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif
#ifndef BENCH_BUILDFLAGS
#define BENCH_BUILDFLAGS ""
#endif

int bench_tsc_in_use;
double bench_ns_per_tick = 1.0;
int bench_in_child;
uint64_t bench_pattern[BENCH_MAX_MSG / 8];

static double bench_tick_cost;
static double bench_tick_step; /* smallest step between two readings, ns */
static pid_t bench_parent_pid;

/* ------------------------------------------------------------------ */
/* Time                                                                 */

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_yield(void)
{
	sched_yield();
}

#ifdef BENCH_HAVE_TSC
/* The TSC is a usable clock if it runs at a constant rate in every
 * C-state (the kernel's flags say so). */
static int bench_tsc_usable(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int ok = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
		break;
	}
	fclose(f);
	return ok;
}
#endif

void bench_clock_init(int force_clock, int quick)
{
	bench_tsc_in_use = 0;
	bench_ns_per_tick = 1.0;
#ifdef BENCH_HAVE_TSC
	if (!force_clock && bench_tsc_usable()) {
		uint64_t span = quick ? 20000000u : 100000000u;
		uint64_t n0, n1;
		uint64_t t0, t1;
		unsigned aux;

		n0 = bench_now_ns();
		t0 = __rdtscp(&aux);
		do
			n1 = bench_now_ns();
		while (n1 - n0 < span);
		t1 = __rdtscp(&aux);
		if (t1 > t0) {
			bench_ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
			bench_tsc_in_use = 1;
		}
	}
#else
	(void)force_clock;
	(void)quick;
#endif
	{
		enum { N = 100000 };
		uint64_t n0 = bench_now_ns(), x = 0;
		for (int i = 0; i < N; i++)
			x += bench_ticks();
		bench_tick_cost = (double)(bench_now_ns() - n0) / N;
		if (x == 42) /* keep x alive */
			bench_tick_cost += 0;
	}
	{
		/* The timer's resolution: some TSCs (and VMs) advance in
		 * steps of several ns. */
		uint64_t step = UINT64_MAX;
		for (int i = 0; i < 100000; i++) {
			uint64_t a = bench_ticks(), b = bench_ticks();
			if (b > a && b - a < step)
				step = b - a;
		}
		bench_tick_step = step == UINT64_MAX ? NAN :
				  bench_ticks_ns(step);
	}
	for (size_t i = 0; i < BENCH_MAX_MSG / 8; i++)
		bench_pattern[i] = 0x9e3779b97f4a7c15ull * (i + 1);
}

double bench_tick_cost_ns(void)
{
	return bench_tick_cost;
}

double bench_tick_step_ns(void)
{
	return bench_tick_step;
}

const char *bench_timer_name(void)
{
	return bench_tsc_in_use ? "tsc" : "clock_monotonic";
}

/* ------------------------------------------------------------------ */
/* Statistics                                                           */

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static uint64_t bench_pct(const uint64_t *s, size_t n, double p)
{
	size_t rank = (size_t)ceil(p * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1];
}

double bench_pct_sort(uint64_t *v, size_t n, double p)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof *v, bench_cmp_u64);
	return (double)bench_pct(v, n, p);
}

void bench_lat_fill(struct bench_out *out, uint64_t *ticks, size_t n)
{
	double sum = 0;

	if (n == 0) {
		for (int i = 0; i < BENCH_LAT_NMETRICS; i++)
			out->v[i] = NAN;
		return;
	}
	qsort(ticks, n, sizeof *ticks, bench_cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)ticks[i];
	out->v[0] = bench_ticks_ns(bench_pct(ticks, n, 0.50));
	out->v[1] = bench_ticks_ns(bench_pct(ticks, n, 0.90));
	out->v[2] = bench_ticks_ns(bench_pct(ticks, n, 0.99));
	out->v[3] = bench_ticks_ns(bench_pct(ticks, n, 0.999));
	out->v[4] = bench_ticks_ns(ticks[n - 1]);
	out->v[5] = sum / (double)n * bench_ns_per_tick;
	if (out->hist)
		for (size_t i = 0; i < n; i++)
			bench_hist_add(out->hist,
				       (uint64_t)(bench_ticks_ns(ticks[i]) + 0.5));
}

void bench_tput_fill(struct bench_out *out, double median_rate,
		     double mean_rate, size_t msg_bytes)
{
	out->v[0] = median_rate;
	out->v[1] = median_rate * (double)msg_bytes / 1e9;
	out->v[2] = mean_rate;
}

void bench_tclock_init(struct bench_tclock *tc, const struct bench_cfg *cfg)
{
	memset(tc, 0, sizeof *tc);
	tc->warm_ns = (uint64_t)(cfg->tput_warm_s * 1e9);
	tc->timed_ns = (uint64_t)(cfg->tput_s * 1e9);
	tc->chunk_ns = tc->timed_ns / 100;
	if (tc->chunk_ns == 0)
		tc->chunk_ns = 1;
}

int bench_tclock_tick(struct bench_tclock *tc, uint64_t k)
{
	uint64_t now = bench_now_ns();

	if (tc->t_end)
		return 1;
	if (!tc->t0) {
		/* The first messages (and the connection) are warm-up. */
		tc->t0 = now;
		return 0;
	}
	if (!tc->t_timed) {
		if (now - tc->t0 >= tc->warm_ns)
			tc->t_timed = tc->t_chunk = now;
		return 0;
	}
	tc->msgs_chunk += k;
	tc->msgs_timed += k;
	if (now - tc->t_chunk >= tc->chunk_ns) {
		if (tc->n < BENCH_CHUNKS)
			tc->rate[tc->n++] = (double)tc->msgs_chunk /
					    ((double)(now - tc->t_chunk) / 1e9);
		tc->t_chunk = now;
		tc->msgs_chunk = 0;
	}
	if (now - tc->t_timed >= tc->timed_ns) {
		tc->t_end = now;
		return 1;
	}
	return 0;
}

double bench_tclock_median(struct bench_tclock *tc)
{
	double d[BENCH_CHUNKS];

	if (tc->n == 0)
		return bench_tclock_mean(tc);
	memcpy(d, tc->rate, tc->n * sizeof d[0]);
	return bench_median(d, (int)tc->n);
}

double bench_tclock_mean(const struct bench_tclock *tc)
{
	if (!tc->t_end || tc->t_end == tc->t_timed)
		return NAN;
	return (double)tc->msgs_timed / ((double)(tc->t_end - tc->t_timed) / 1e9);
}

double bench_median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_fig_ok(const struct bench_figure *f)
{
	return f && !f->failed && !f->skipped && !f->unavailable && f->nrep > 0;
}

int bench_metric_index(const struct bench_figure *f, const char *metric)
{
	for (int i = 0; i < f->m->nmetrics; i++)
		if (strcmp(f->m->metrics[i], metric) == 0)
			return i;
	return -1;
}

double bench_fig_median(const struct bench_figure *f, int metric)
{
	double v[BENCH_MAX_REPEATS];

	if (!bench_fig_ok(f) || metric < 0)
		return NAN;
	for (int r = 0; r < f->nrep; r++)
		v[r] = f->v[r][metric];
	return bench_median(v, f->nrep);
}

double bench_fig_min(const struct bench_figure *f, int metric)
{
	double m = INFINITY;

	if (!bench_fig_ok(f) || metric < 0)
		return NAN;
	for (int r = 0; r < f->nrep; r++)
		m = fmin(m, f->v[r][metric]);
	return m;
}

double bench_fig_max(const struct bench_figure *f, int metric)
{
	double m = -INFINITY;

	if (!bench_fig_ok(f) || metric < 0)
		return NAN;
	for (int r = 0; r < f->nrep; r++)
		m = fmax(m, f->v[r][metric]);
	return m;
}

/* ------------------------------------------------------------------ */
/* Cleanup: children and shm names                                      */

#define BENCH_MAX_TRACKED 64

static volatile pid_t bench_children[BENCH_MAX_TRACKED];
static char bench_paths[BENCH_MAX_TRACKED][256];
static volatile sig_atomic_t bench_path_used[BENCH_MAX_TRACKED];
static char bench_watch_what[128];
static unsigned bench_watch_s;

void bench_child_track(pid_t pid)
{
	for (int i = 0; i < BENCH_MAX_TRACKED; i++)
		if (bench_children[i] == 0) {
			bench_children[i] = pid;
			return;
		}
}

void bench_child_forget(pid_t pid)
{
	for (int i = 0; i < BENCH_MAX_TRACKED; i++)
		if (bench_children[i] == pid)
			bench_children[i] = 0;
}

void bench_shm_track(const char *shm_path)
{
	for (int i = 0; i < BENCH_MAX_TRACKED; i++)
		if (!bench_path_used[i]) {
			snprintf(bench_paths[i], sizeof bench_paths[i], "%s",
				 shm_path);
			bench_path_used[i] = 1;
			return;
		}
	fprintf(stderr, "qshm-bench: too many shm names to track\n");
}

void bench_shm_forget(const char *shm_path)
{
	for (int i = 0; i < BENCH_MAX_TRACKED; i++)
		if (bench_path_used[i] && strcmp(bench_paths[i], shm_path) == 0)
			bench_path_used[i] = 0;
}

void bench_shm_remove(const char *shm_path)
{
	if (!shm_path[0])
		return;
	if (shm_unlink(shm_path) != 0 && errno != ENOENT)
		fprintf(stderr, "qshm-bench: shm_unlink %s: %s\n", shm_path,
			strerror(errno));
	bench_shm_forget(shm_path);
}

/* Async-signal-safe: kill, waitpid, shm_unlink (an unlink) only. */
static void bench_cleanup_now(void)
{
	if (bench_in_child)
		return;
	for (int i = 0; i < BENCH_MAX_TRACKED; i++) {
		pid_t pid = bench_children[i];
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			bench_children[i] = 0;
		}
	}
	for (int i = 0; i < BENCH_MAX_TRACKED; i++)
		if (bench_path_used[i]) {
			shm_unlink(bench_paths[i]);
			bench_path_used[i] = 0;
		}
}

static void bench_write_str(const char *s)
{
	ssize_t r = write(2, s, strlen(s));
	(void)r;
}

static void bench_on_signal(int sig)
{
	if (sig == SIGALRM) {
		char num[16];
		int k = (int)sizeof num - 1;
		unsigned s = bench_watch_s;

		num[k] = 0;
		do {
			num[--k] = (char)('0' + s % 10);
			s /= 10;
		} while (s && k > 0);
		bench_write_str("qshm-bench: watchdog: ");
		bench_write_str(bench_watch_what);
		bench_write_str(" took more than ");
		bench_write_str(num + k);
		bench_write_str(" s; giving up\n");
	}
	bench_cleanup_now();
	_exit(sig == SIGALRM ? 3 : 128 + sig);
}

static void bench_at_exit(void)
{
	bench_cleanup_now();
}

void bench_cleanup_init(void)
{
	struct sigaction sa;

	bench_parent_pid = getpid();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = bench_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	/* A peer that dies makes a write fail with EPIPE, reported as such,
	 * rather than kill us. */
	signal(SIGPIPE, SIG_IGN);
	atexit(bench_at_exit);
}

void bench_watchdog(unsigned s, const char *what)
{
	snprintf(bench_watch_what, sizeof bench_watch_what, "%s",
		 what ? what : "?");
	bench_watch_s = s;
	alarm(s);
}

void bench_name(char *buf, size_t size, const char *what)
{
	static unsigned counter;
	snprintf(buf, size, "bench.%ld.%s%u", (long)getpid(), what, counter++);
}

int bench_shm_leftovers(const char *prog)
{
	char p1[64], p2[64];
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	snprintf(p1, sizeof p1, "bench.%ld.", (long)getpid());
	snprintf(p2, sizeof p2, "qshm.bench.%ld.", (long)getpid());
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, p1, strlen(p1)) == 0 ||
		    strncmp(e->d_name, p2, strlen(p2)) == 0) {
			fprintf(stderr, "%s: left behind: /dev/shm/%s\n",
				prog, e->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

int bench_shm_sweep(const char *prog)
{
	static const char *const prefixes[] = { "bench.", "qshm.bench." };
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		for (int k = 0; k < 2; k++) {
			size_t len = strlen(prefixes[k]);
			char *end, path[300];
			long pid;

			if (strncmp(e->d_name, prefixes[k], len) != 0)
				continue;
			errno = 0;
			pid = strtol(e->d_name + len, &end, 10);
			if (errno || end == e->d_name + len || *end != '.' ||
			    pid <= 0)
				continue;
			/* Only objects of runs that are gone. */
			if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			snprintf(path, sizeof path, "/%s", e->d_name);
			if (shm_unlink(path) == 0) {
				fprintf(stderr, "%s: removed /dev/shm/%s, left "
					"by an earlier run (pid %ld) that was "
					"killed\n", prog, e->d_name, pid);
				n++;
			}
		}
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ */
/* Shared memory, processes                                             */

void *bench_shared_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, n); /* pre-fault */
	return p;
}

void bench_shared_free(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

struct bench_ctl *bench_ctl_new(void)
{
	return bench_shared_alloc(sizeof(struct bench_ctl));
}

void bench_ctl_free(struct bench_ctl *ctl)
{
	bench_shared_free(ctl, sizeof *ctl);
}

void bench_ctl_post(_Atomic uint32_t *stage, uint32_t v)
{
	/* Release: what this side did before (ring created, attached)
	 * happens-before the peer's acquire in bench_ctl_await(). */
	atomic_store_explicit(stage, v, memory_order_release);
}

int bench_ctl_await(_Atomic uint32_t *stage, uint32_t v, pid_t peer_child,
		    unsigned timeout_s)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_s * 1000000000u;

	for (unsigned spin = 0;; spin++) {
		/* Acquire: pairs with the release in bench_ctl_post(). */
		if (atomic_load_explicit(stage, memory_order_acquire) >= v)
			return 0;
		if (spin < 2000) {
			bench_relax(0);
			continue;
		}
		sched_yield();
		if (spin % 256)
			continue;
		if (bench_now_ns() > deadline)
			return -1;
		if (peer_child > 0) {
			siginfo_t si;
			memset(&si, 0, sizeof si);
			if (waitid(P_PID, (id_t)peer_child, &si,
				   WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid != 0)
				return -1;
		} else if (getppid() != bench_parent_pid) {
			return -1;
		}
	}
}

void bench_errf(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, BENCH_ERR_MAX, fmt, ap);
	va_end(ap);
}

int bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		return -errno;
	return 0;
}

pid_t bench_spawn(int cpu, bench_child_fn fn, void *arg, struct bench_ctl *ctl)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int rc;

		bench_in_child = 1;
		bench_parent_pid = parent;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		rc = bench_pin(cpu);
		if (rc < 0) {
			bench_errf(ctl->err, "child: cannot pin to CPU %d: %s",
				   cpu, strerror(-rc));
			_exit(1);
		}
		rc = fn(arg, ctl);
		_exit(rc ? 1 : 0);
	}
	bench_child_track(pid);
	return pid;
}

int bench_reap(pid_t pid, struct bench_ctl *ctl, unsigned timeout_s,
	       char *err)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_s * 1000000000u;
	int status = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			bench_errf(err, "waitpid: %s", strerror(errno));
			bench_child_forget(pid);
			return -1;
		}
		if (bench_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			bench_child_forget(pid);
			bench_errf(err, "child did not finish in %u s (killed)%s%s",
				   timeout_s, ctl->err[0] ? ": " : "", ctl->err);
			return -1;
		}
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	bench_child_forget(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (ctl->err[0])
		bench_errf(err, "%s", ctl->err);
	else if (WIFEXITED(status))
		bench_errf(err, "child exited with status %d",
			   WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		bench_errf(err, "child killed by signal %d (%s)",
			   WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		bench_errf(err, "child ended oddly (status %#x)", status);
	return -1;
}

void bench_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	bench_child_forget(pid);
}

int bench_peer_start(struct bench_peer *p, const struct bench_cfg *cfg,
		     bench_child_fn fn, void *arg, char *err)
{
	p->pid = -1;
	p->ctl = bench_ctl_new();
	if (!p->ctl) {
		bench_errf(err, "out of memory");
		return -1;
	}
	p->pid = bench_spawn(cfg->cpu_b, fn, arg, p->ctl);
	if (p->pid < 0) {
		bench_errf(err, "fork: %s", strerror(errno));
		bench_ctl_free(p->ctl);
		p->ctl = NULL;
		return -1;
	}
	if (bench_ctl_await(&p->ctl->child_stage, 1, p->pid, 10) != 0) {
		bench_reap(p->pid, p->ctl, 1, err);
		if (!err[0])
			bench_errf(err, "peer not ready in 10 s");
		bench_ctl_free(p->ctl);
		p->ctl = NULL;
		p->pid = -1;
		return -1;
	}
	return 0;
}

int bench_peer_finish(struct bench_peer *p, int sig, unsigned timeout_s,
		      char *err)
{
	int rc = 0;

	if (p->pid > 0) {
		if (sig)
			kill(p->pid, sig);
		rc = bench_reap(p->pid, p->ctl, timeout_s, err);
	}
	bench_ctl_free(p->ctl);
	p->ctl = NULL;
	p->pid = -1;
	return rc;
}

void bench_peer_kill(struct bench_peer *p)
{
	bench_kill(p->pid);
	bench_ctl_free(p->ctl);
	p->ctl = NULL;
	p->pid = -1;
}

uint64_t *bench_samples_new(uint64_t n, char *err)
{
	uint64_t *s = malloc((n ? n : 1) * sizeof(*s));

	if (!s) {
		bench_errf(err, "out of memory");
		return NULL;
	}
	/* Not 0: malloc + memset 0 may become calloc, which leaves the
	 * pages unfaulted. */
	memset(s, 0xff, (n ? n : 1) * sizeof(*s));
	return s;
}

/* ------------------------------------------------------------------ */
/* Machine                                                              */

static void bench_chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
}

/* A "Key: N kB" line of /proc/meminfo, in bytes (0 if absent). */
static uint64_t bench_meminfo(const char *key)
{
	char line[256];
	unsigned long long kb = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, n) == 0) {
			if (sscanf(line + n, "%llu", &kb) != 1)
				kb = 0;
			break;
		}
	fclose(f);
	return (uint64_t)kb * 1024;
}

uint64_t bench_mem_available(void)
{
	return bench_meminfo("MemAvailable:");
}

void bench_machine_get(struct bench_machine *mc)
{
	struct utsname u;
	cpu_set_t set;
	char line[512];
	FILE *f;
	time_t now = time(NULL);
	struct tm tm;

	memset(mc, 0, sizeof *mc);
	snprintf(mc->cpu_model, sizeof mc->cpu_model, "unknown");
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			char *colon = strchr(line, ':');
			if (strncmp(line, "model name", 10) == 0 && colon) {
				colon++;
				while (*colon == ' ' || *colon == '\t')
					colon++;
				snprintf(mc->cpu_model, sizeof mc->cpu_model,
					 "%s", colon);
				bench_chomp(mc->cpu_model);
				break;
			}
		}
		fclose(f);
	}
	mc->nproc_online = sysconf(_SC_NPROCESSORS_ONLN);
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		mc->cpus_allowed = CPU_COUNT(&set);
	if (uname(&u) == 0) {
		snprintf(mc->kernel, sizeof mc->kernel, "%s %s %s %s",
			 u.sysname, u.release, u.version, u.machine);
		snprintf(mc->hostname, sizeof mc->hostname, "%s", u.nodename);
	}
	snprintf(mc->compiler, sizeof mc->compiler, "%s", BENCH_COMPILER);
	snprintf(mc->build_type, sizeof mc->build_type, "%s", BENCH_BUILDTYPE);
	snprintf(mc->build_flags, sizeof mc->build_flags, "%s",
		 BENCH_BUILDFLAGS);
	mc->mem_total = bench_meminfo("MemTotal:");
	mc->mem_available = bench_meminfo("MemAvailable:");
	gmtime_r(&now, &tm);
	strftime(mc->date, sizeof mc->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

static void bench_json_sep(struct bench_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->fp);
	j->first[j->depth] = 0;
	fputc('\n', j->fp);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->fp);
	if (key) {
		fputc('"', j->fp);
		for (const char *s = key; *s; s++) {
			if (*s == '"' || *s == '\\')
				fputc('\\', j->fp);
			fputc(*s, j->fp);
		}
		fputs("\": ", j->fp);
	}
}

static void bench_json_open(struct bench_json *j, const char *key, char c)
{
	bench_json_sep(j, key);
	fputc(c, j->fp);
	if (j->depth < 15)
		j->depth++;
	j->first[j->depth] = 1;
}

static void bench_json_close(struct bench_json *j, char c)
{
	int empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (!empty) {
		fputc('\n', j->fp);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->fp);
	}
	fputc(c, j->fp);
}

void bench_json_begin(struct bench_json *j, FILE *fp)
{
	memset(j, 0, sizeof *j);
	j->fp = fp;
	fputc('{', fp);
	j->depth = 1;
	j->first[1] = 1;
}

void bench_json_end(struct bench_json *j)
{
	bench_json_close(j, '}');
	fputc('\n', j->fp);
}

void bench_json_obj(struct bench_json *j, const char *key)
{
	bench_json_open(j, key, '{');
}

void bench_json_obj_end(struct bench_json *j)
{
	bench_json_close(j, '}');
}

void bench_json_arr(struct bench_json *j, const char *key)
{
	bench_json_open(j, key, '[');
}

void bench_json_arr_end(struct bench_json *j)
{
	bench_json_close(j, ']');
}

void bench_json_str(struct bench_json *j, const char *key, const char *v)
{
	bench_json_sep(j, key);
	fputc('"', j->fp);
	for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(j->fp, "\\%c", *s);
		else if (*s < 0x20)
			fprintf(j->fp, "\\u%04x", *s);
		else
			fputc(*s, j->fp);
	}
	fputc('"', j->fp);
}

void bench_json_num(struct bench_json *j, const char *key, double v)
{
	bench_json_sep(j, key);
	if (isfinite(v))
		fprintf(j->fp, "%.6g", v);
	else
		fputs("null", j->fp);
}

void bench_json_int(struct bench_json *j, const char *key, long long v)
{
	bench_json_sep(j, key);
	fprintf(j->fp, "%lld", v);
}

void bench_json_bool(struct bench_json *j, const char *key, int v)
{
	bench_json_sep(j, key);
	fputs(v ? "true" : "false", j->fp);
}

void bench_json_pair(struct bench_json *j, unsigned long long a,
		     unsigned long long b)
{
	/* No line break: a histogram would take a line per bucket. */
	if (!j->first[j->depth])
		fputc(',', j->fp);
	j->first[j->depth] = 0;
	fprintf(j->fp, "[%llu,%llu]", a, b);
}

/* ------------------------------------------------------------------ */
/* Load                                                                 */

void bench_load_get(struct bench_load *ld)
{
	char line[256];
	FILE *f;

	ld->loadavg1 = NAN;
	ld->cpu_some_avg10 = NAN;
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &ld->loadavg1) != 1)
			ld->loadavg1 = NAN;
		fclose(f);
	}
	f = fopen("/proc/pressure/cpu", "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			double v;
			if (sscanf(line, "some avg10=%lf", &v) == 1)
				ld->cpu_some_avg10 = v;
		}
		fclose(f);
	}
}
