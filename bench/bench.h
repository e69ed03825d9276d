/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the small harness shared by qshm's benchmark programs.
 *
 * A benchmark program is a list of measurements (struct bench_measure), one
 * source file per transport or measurement. The harness runs each of them
 * cfg->repeats times, interleaved (repeat 1 of every measurement, then repeat
 * 2, ...), so that slow drift of a shared machine hits numerators and
 * denominators of the ratios alike. It provides:
 *
 *   - timing: bench_ticks() (rdtsc where usable, else CLOCK_MONOTONIC),
 *     bench_now_ns(), calibration;
 *   - statistics: latency percentiles from raw samples, median and min-max
 *     spread across repeats;
 *   - two-process plumbing: a shared control block with stage barriers,
 *     fork with CPU pinning and parent-death signal, child error reports;
 *   - hygiene: unique shm names per run, unlinked at the end and on
 *     SIGINT/SIGTERM/SIGALRM (watchdog); children killed on early exit;
 *   - output: the machine description and a JSON report.
 *
 * Everything here is internal to the benchmark programs: names are bench_*.
 */
#ifndef QSHM_BENCH_H
#define QSHM_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_TSC 1
#endif

#define BENCH_CACHELINE   64
#define BENCH_MAX_REPEATS 32
#define BENCH_MAX_METRICS 8
#define BENCH_ERR_MAX     320

/* ------------------------------------------------------------------ */
/* Configuration of one run                                             */

struct bench_cfg {
	int quick;               /* --quick: one short repeat of everything */
	int repeats;             /* repeats of each measurement */
	uint64_t lat_iters;      /* timed round trips, busy-poll measurements */
	uint64_t lat_block_iters;/* timed round trips, blocking measurements */
	uint64_t msgs_small;     /* 64 B records per throughput repeat */
	uint64_t msgs_large;     /* 4 KiB records per throughput repeat */
	size_t memcpy_bytes;     /* memcpy buffer size */
	uint64_t ring_capacity;  /* bytes of data in every ring (qshm, SPSC) */
	int cpu_a, cpu_b;        /* parent's and child's CPU; -1: unpinned */
	int single_cpu;          /* both sides share one CPU: spin politely */
	unsigned watchdog_s;     /* one repeat of one measurement, at most */
	const char *json_path;   /* --json FILE, or NULL */
};

/* Warm-up iterations run (and discarded) before n timed ones. */
static inline uint64_t bench_warmup(const struct bench_cfg *cfg, uint64_t n)
{
	uint64_t w = n / 10;
	if (cfg->single_cpu)
		return w;
	return w < 1000 ? 1000 : w;
}

/* ------------------------------------------------------------------ */
/* Time                                                                 */

/* 1 if bench_ticks() reads the TSC, 0 if it reads CLOCK_MONOTONIC. */
extern int bench_tsc_in_use;
extern double bench_ns_per_tick;

/* Chooses and calibrates the tick source; force_clock picks
 * CLOCK_MONOTONIC even where the TSC is usable. */
void bench_clock_init(int force_clock, int quick);
/* Cost of one bench_ticks() call, in ns (measured at init). */
double bench_tick_cost_ns(void);
const char *bench_timer_name(void);

uint64_t bench_now_ns(void); /* CLOCK_MONOTONIC */

static inline uint64_t bench_ticks(void)
{
#ifdef BENCH_HAVE_TSC
	if (bench_tsc_in_use) {
		unsigned aux;
		/* rdtscp waits for earlier instructions to finish; the
		 * compiler barrier keeps the loads we time on their side. */
		uint64_t t = __rdtscp(&aux);
		atomic_signal_fence(memory_order_seq_cst);
		return t;
	}
#endif
	return bench_now_ns();
}

static inline double bench_ticks_ns(uint64_t ticks)
{
	return (double)ticks * bench_ns_per_tick;
}

/* A pause in a spin loop; on a single shared CPU it yields instead. */
void bench_yield(void);
static inline void bench_relax(int single_cpu)
{
	if (single_cpu) {
		bench_yield();
		return;
	}
#ifdef BENCH_HAVE_TSC
	_mm_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* ------------------------------------------------------------------ */
/* One measurement and its results                                      */

/* What one repeat of a measurement hands back. */
struct bench_out {
	double v[BENCH_MAX_METRICS];   /* in the order of measure->metrics */
	char err[BENCH_ERR_MAX];       /* set when run() fails */
	char note[160];                /* optional remark, e.g. counters */
};

struct bench_measure {
	const char *key;     /* stable name, e.g. "lat.raw_cacheline" */
	const char *label;   /* table label */
	const char *group;   /* "latency", "throughput" */
	int nmetrics;
	const char *metrics[BENCH_MAX_METRICS]; /* e.g. "p50_ns" */
	/* One repeat. Returns 0, or -1 with out->err set. */
	int (*run)(const struct bench_cfg *cfg, struct bench_out *out);
	void (*fini)(void);  /* frees what run() kept; may be NULL */
};

/* Latency metrics, in this order, filled by bench_lat_fill(). */
#define BENCH_LAT_METRICS "p50_ns", "p90_ns", "p99_ns", "p99.9_ns", \
	"max_ns", "mean_ns"
#define BENCH_LAT_NMETRICS 6
/* Sorts n tick samples and fills out->v[0..5] with the metrics above. */
void bench_lat_fill(struct bench_out *out, uint64_t *ticks, size_t n);

/*
 * Throughput metrics, in this order: the median over chunks of the timed
 * records (rate while both sides ran: a preempted chunk does not drag it
 * down on a shared machine), the same in GB/s of payload, and the plain
 * mean over the whole run.
 */
#define BENCH_TPUT_METRICS "msgs_per_s", "GB_per_s", "mean_msgs_per_s"
#define BENCH_TPUT_NMETRICS 3
void bench_tput_fill(struct bench_out *out, double median_rate,
		     double mean_rate, size_t msg_bytes);

/*
 * Per-chunk timing on the consuming side: bench_chunks_init() for total
 * timed records, bench_chunks_mark(i) after timed record i (0-based),
 * bench_chunks_rate() for the median records/s over chunks.
 */
#define BENCH_CHUNKS 256
struct bench_chunks {
	uint64_t per;                      /* records per chunk */
	uint64_t next;                     /* record index closing a chunk */
	size_t n;                          /* chunks closed */
	uint64_t stamp[BENCH_CHUNKS + 1];  /* ns; stamp[0] = start */
};
void bench_chunks_init(struct bench_chunks *ch, uint64_t total);
static inline void bench_chunks_mark(struct bench_chunks *ch, uint64_t i)
{
	if (i + 1 == ch->next && ch->n < BENCH_CHUNKS) {
		ch->stamp[++ch->n] = bench_now_ns();
		ch->next += ch->per;
	}
}
double bench_chunks_rate(struct bench_chunks *ch);

/* Results of every repeat of one measurement. */
struct bench_figure {
	const struct bench_measure *m;
	int nrep;
	double v[BENCH_MAX_REPEATS][BENCH_MAX_METRICS];
	int failed;                  /* a repeat failed: no figures */
	int skipped;                 /* not selected (--only) */
	char err[BENCH_ERR_MAX];
	char note[160];              /* from the last repeat */
};

/* Index of metric name in f's measurement, or -1. */
int bench_metric_index(const struct bench_figure *f, const char *metric);
/* Median, min and max over repeats of one metric (NaN if none). */
double bench_fig_median(const struct bench_figure *f, int metric);
double bench_fig_min(const struct bench_figure *f, int metric);
double bench_fig_max(const struct bench_figure *f, int metric);
double bench_median(double *v, int n); /* sorts v */

/* ------------------------------------------------------------------ */
/* Two processes                                                        */

/*
 * A control block in MAP_SHARED anonymous memory, made before fork. Each
 * side advances its own stage word; the other waits for it. The child
 * reports a failure in err before it exits with status 1.
 */
struct bench_ctl {
	_Alignas(BENCH_CACHELINE) _Atomic uint32_t parent_stage;
	_Alignas(BENCH_CACHELINE) _Atomic uint32_t child_stage;
	_Alignas(BENCH_CACHELINE) uint64_t t_start_ns; /* child's timings */
	uint64_t t_end_ns;
	uint64_t count[4];      /* child's counters */
	double result[4];       /* child's figures */
	char err[BENCH_ERR_MAX];
};

struct bench_ctl *bench_ctl_new(void);
void bench_ctl_free(struct bench_ctl *ctl);
/* Release store of the stage (pairs with bench_ctl_await's acquire). */
void bench_ctl_post(_Atomic uint32_t *stage, uint32_t v);
/*
 * Waits until *stage >= v (acquire load). peer_child > 0: gives up if that
 * child exits; otherwise (in a child) gives up if the parent is gone.
 * Returns 0, or -1 after timeout_s seconds or when the peer is gone.
 */
int bench_ctl_await(_Atomic uint32_t *stage, uint32_t v, pid_t peer_child,
		    unsigned timeout_s);

/* printf into a fixed error buffer (BENCH_ERR_MAX bytes). */
void bench_errf(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

typedef int (*bench_child_fn)(void *arg, struct bench_ctl *ctl);
/*
 * Forks a child that pins itself to cpu (-1: leaves affinity alone), dies
 * with its parent (PR_SET_PDEATHSIG), restores default signal handling and
 * runs fn(arg, ctl); the child exits 0 if fn returned 0, else 1 (fn writes
 * its reason in ctl->err). Returns the child's pid or -1 (errno set).
 */
pid_t bench_spawn(int cpu, bench_child_fn fn, void *arg, struct bench_ctl *ctl);
/* Waits for the child (up to timeout_s, then kills it). Returns 0 if it
 * exited 0; otherwise -1 with a reason in err (the child's, if it gave one). */
int bench_reap(pid_t pid, struct bench_ctl *ctl, unsigned timeout_s,
	       char *err);
/* Kills and reaps the child at once (error paths). */
void bench_kill(pid_t pid);

/* Pins the calling thread to cpu. Returns 0 or -errno. */
int bench_pin(int cpu);

/* 1 in a process made by bench_spawn(). */
extern int bench_in_child;

/* ------------------------------------------------------------------ */
/* Shared memory and names                                              */

/* Page-aligned MAP_SHARED anonymous memory, pre-faulted. NULL on failure. */
void *bench_shared_alloc(size_t n);
void bench_shared_free(void *p, size_t n);

/*
 * Makes a name unique to this run: "bench.<pid>.<what><n>", which suits
 * both qshm ring names and (after a '/') POSIX shm names.
 */
void bench_name(char *buf, size_t size, const char *what);

/* The shm object path (as for shm_unlink) is removed at exit, on
 * SIGINT/SIGTERM and when the watchdog fires, unless forgotten first. */
void bench_shm_track(const char *shm_path);
void bench_shm_forget(const char *shm_path);
/* Unlinks one tracked object now (ignores ENOENT) and forgets it. */
void bench_shm_remove(const char *shm_path);

/* Installs signal handlers and the exit hook. Call once, early. */
void bench_cleanup_init(void);
/* Arms (s > 0) or disarms (0) the watchdog: when it fires, children are
 * killed, names unlinked, and the program exits with status 3. */
void bench_watchdog(unsigned s, const char *what);
/* Counts objects under /dev/shm that this run made and did not remove;
 * prints them. */
int bench_shm_leftovers(void);

/* ------------------------------------------------------------------ */
/* Machine and report                                                   */

struct bench_machine {
	char cpu_model[128];
	long nproc_online;
	int cpus_allowed;
	char kernel[400];
	char compiler[96];
	char build_type[32];
	char hostname[80];
	char date[40];
};
void bench_machine_get(struct bench_machine *mc);

/* How busy the machine is: 1-minute load average and, where the kernel
 * has PSI, the share of the last 10 s some task waited for a CPU (%).
 * Either is NaN if unknown. */
struct bench_load {
	double loadavg1;
	double cpu_some_avg10;
};
void bench_load_get(struct bench_load *ld);

/* Minimal JSON writer: tracks commas between members. */
struct bench_json {
	FILE *fp;
	int depth;
	int first[16];
};
void bench_json_begin(struct bench_json *j, FILE *fp);
void bench_json_end(struct bench_json *j);
void bench_json_obj(struct bench_json *j, const char *key); /* key NULL in arrays */
void bench_json_obj_end(struct bench_json *j);
void bench_json_arr(struct bench_json *j, const char *key);
void bench_json_arr_end(struct bench_json *j);
void bench_json_str(struct bench_json *j, const char *key, const char *v);
void bench_json_num(struct bench_json *j, const char *key, double v);
void bench_json_int(struct bench_json *j, const char *key, long long v);
void bench_json_bool(struct bench_json *j, const char *key, int v);

/* ------------------------------------------------------------------ */
/* Payloads: the same code fills and reads records of every transport   */

/* A source pattern for payloads of up to 4 KiB. */
extern uint64_t bench_pattern[512];

/* Writes len bytes (a multiple of 8) at dst: the pattern, with seq in the
 * first word. */
static inline void bench_payload_write(void *dst, size_t len, uint64_t seq)
{
	memcpy(dst, bench_pattern, len);
	memcpy(dst, &seq, sizeof seq);
}

/* Reads every word of a payload; returns the first word (the seq) and
 * folds the rest into *sink so the reads cannot be dropped. */
static inline uint64_t bench_payload_read(const void *src, size_t len,
					  uint64_t *sink)
{
	const uint64_t *w = src;
	uint64_t x = 0;
	for (size_t i = 1; i < len / 8; i++)
		x ^= w[i];
	*sink ^= x;
	return w[0];
}

/* ------------------------------------------------------------------ */
/* The measurements (one file each)                                     */

extern const struct bench_measure bench_cacheline_rt;   /* bench_cacheline.c */
extern const struct bench_measure bench_futex_rt;       /* bench_futex.c */
extern const struct bench_measure bench_spsc_tput_64;   /* bench_spsc.c */
extern const struct bench_measure bench_spsc_tput_4k;
extern const struct bench_measure bench_memcpy_bw;      /* bench_memcpy.c */
#ifdef BENCH_HAVE_QSHM
extern const struct bench_measure bench_qshm_busy_rt;   /* bench_qshm_lat.c */
extern const struct bench_measure bench_qshm_block_rt;
extern const struct bench_measure bench_qshm_tput_64;   /* bench_qshm_tput.c */
extern const struct bench_measure bench_qshm_tput_4k;
#endif

#endif /* QSHM_BENCH_H */
