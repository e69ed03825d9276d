/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the harness shared by qshm's benchmark measurements.
 *
 * A benchmark is a list of measurements (struct bench_measure), one source
 * file per transport or measurement; the suite (bench_suite.c) runs each of
 * them cfg->repeats times, interleaved (repeat 1 of every measurement, then
 * repeat 2, ...), so that slow drift of a shared machine hits numerators and
 * denominators of the ratios alike. The harness provides:
 *
 *   - timing: bench_ticks() (rdtsc where usable, else CLOCK_MONOTONIC),
 *     bench_now_ns(), calibration; a time-boxed throughput clock;
 *   - statistics: latency percentiles from raw samples, histograms with
 *     three significant digits, median and min-max spread across repeats;
 *   - two-process plumbing: a shared control block with stage barriers,
 *     fork with CPU pinning and parent-death signal, child error reports;
 *   - hygiene: unique names per run, unlinked at the end and on
 *     SIGINT/SIGTERM/SIGALRM (watchdog); children killed on early exit;
 *   - output: the machine description and a JSON writer.
 *
 * Everything here is internal to the benchmarks: names are bench_*.
 * The qshm command sees only bench_suite.h.
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
	uint64_t lat_block_iters;/* timed round trips, sleeping measurements */
	double rate_hz;          /* offered rate of the fixed-rate latency */
	uint64_t rate_msgs;      /* timed messages at that rate */
	double tput_warm_s;      /* throughput: untimed warm-up */
	double tput_s;           /* throughput: timed seconds */
	double idle_s;           /* idle consumer: seconds asleep */
	size_t memcpy_bytes;     /* memcpy buffer size */
	uint64_t ring_capacity;  /* bytes of data in latency rings */
	unsigned gate_reps;      /* gates timed per simulator figure */
	unsigned gate_max_qubits;/* largest state for the gate figure */
	uint64_t sim_shots;      /* shots timed for the shots figure */
	int cpu_a, cpu_b;        /* parent's and child's CPU; -1: unpinned */
	int single_cpu;          /* both sides share one CPU: spin politely */
	unsigned watchdog_s;     /* one repeat of one measurement, at most */
	const char *json_path;   /* --json FILE, or NULL */
	const char *plots_dir;   /* --plots DIR, or NULL */
};

/* The spin of QSHM_WAIT_SPIN_PARK: the library's documented default
 * (50 us). set_wait() takes it literally, so 0 would mean no spin. */
#define BENCH_QSHM_SPIN_NS 50000u

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
 * CLOCK_MONOTONIC even where the TSC is usable. Also fills the payload
 * pattern. */
void bench_clock_init(int force_clock, int quick);
/* Cost of one bench_ticks() call, in ns (measured at init). */
double bench_tick_cost_ns(void);
/* Smallest non-zero step between two readings, in ns (the resolution). */
double bench_tick_step_ns(void);
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

/* ns -> ticks (for schedules). */
static inline uint64_t bench_ns_ticks(double ns)
{
	return (uint64_t)(ns / bench_ns_per_tick);
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

/* Spins until bench_ticks() reaches t (the send time of a schedule). */
static inline void bench_wait_until(uint64_t t, int single_cpu)
{
	while (bench_ticks() < t)
		bench_relax(single_cpu);
}

/* ------------------------------------------------------------------ */
/* Histograms: three significant digits                                 */

/*
 * Values below 1000 (ns) have a bucket each; above, a value v with d+3
 * digits falls in the bucket of its three leading digits m (100..999), i.e.
 * [m * 10^d, (m + 1) * 10^d). Up to 10^13 ns; larger values count in the
 * last bucket.
 */
#define BENCH_HIST_DECADES 10
#define BENCH_HIST_BUCKETS (1000 + 900 * BENCH_HIST_DECADES)

struct bench_hist {
	uint64_t count;
	uint64_t n[BENCH_HIST_BUCKETS];
};

int bench_hist_index(uint64_t v);
uint64_t bench_hist_low(int idx);   /* smallest value of bucket idx */
void bench_hist_add(struct bench_hist *h, uint64_t v);
/* Smallest bucket value with at least p (0..1) of the samples at or
 * below it (NaN if empty). */
double bench_hist_pct(const struct bench_hist *h, double p);

/* ------------------------------------------------------------------ */
/* One measurement and its results                                      */

/* What one repeat of a measurement hands back. */
struct bench_out {
	double v[BENCH_MAX_METRICS];   /* in the order of measure->metrics */
	char err[BENCH_ERR_MAX];       /* set when run() fails or skips */
	char note[160];                /* optional remark, e.g. counters */
	struct bench_hist *hist;       /* latency samples go here (or NULL) */
};

struct bench_measure {
	const char *key;     /* stable name, e.g. "lat.raw_cacheline" */
	const char *label;   /* table label */
	const char *group;   /* "latency", "rate", "throughput", "idle", "sim" */
	const char *transport; /* short name for plots, e.g. "unix" */
	uint64_t param;      /* message bytes, qubits, ... (per measurement) */
	const void *arg;     /* measurement-specific (a transport's ops) */
	int nmetrics;
	const char *metrics[BENCH_MAX_METRICS]; /* e.g. "p50_ns" */
	/* One repeat. Returns 0; -1 with out->err set when it failed; 1 with
	 * out->err saying why when it cannot run here (skipped). */
	int (*run)(const struct bench_measure *m, const struct bench_cfg *cfg,
		   struct bench_out *out);
	void (*fini)(void);  /* frees what run() kept; may be NULL */
};

/* Latency metrics, in this order, filled by bench_lat_fill(). */
#define BENCH_LAT_METRICS "p50_ns", "p90_ns", "p99_ns", "p99.9_ns", \
	"max_ns", "mean_ns"
#define BENCH_LAT_NMETRICS 6
/* Sorts n tick samples, fills out->v[0..5] with the metrics above and
 * adds the samples (in ns) to out->hist if there is one. */
void bench_lat_fill(struct bench_out *out, uint64_t *ticks, size_t n);
/* Sorts v and returns its p (0..1) percentile, by the rank rule of
 * bench_lat_fill() (NaN if n is 0). */
double bench_pct_sort(uint64_t *v, size_t n, double p);

/*
 * Throughput metrics, in this order: the median over chunks of the timed
 * period (rate while both sides ran: a preempted chunk does not drag it
 * down on a shared machine), the same in GB/s of payload, and the plain
 * mean over the whole timed period.
 */
#define BENCH_TPUT_METRICS "msgs_per_s", "GB_per_s", "mean_msgs_per_s"
#define BENCH_TPUT_NMETRICS 3
void bench_tput_fill(struct bench_out *out, double median_rate,
		     double mean_rate, size_t msg_bytes);

/*
 * A time-boxed throughput clock on the consuming side. The consumer calls
 * bench_tclock_tick(tc, k) after every k messages; the first warm_s seconds
 * are not counted; then chunks of about timed_s/100 seconds are timed, and
 * after timed_s seconds tick returns 1 (the consumer then tells the
 * producer to stop, and keeps reading what is in flight, untimed).
 */
#define BENCH_CHUNKS 128
struct bench_tclock {
	uint64_t warm_ns, timed_ns, chunk_ns;
	uint64_t t0, t_timed, t_chunk, t_end;
	uint64_t msgs_chunk, msgs_timed;
	size_t n;
	double rate[BENCH_CHUNKS];     /* msgs/s of each closed chunk */
};
void bench_tclock_init(struct bench_tclock *tc, const struct bench_cfg *cfg);
int bench_tclock_tick(struct bench_tclock *tc, uint64_t k);
double bench_tclock_median(struct bench_tclock *tc); /* msgs/s */
double bench_tclock_mean(const struct bench_tclock *tc);

/* Messages between two ticks of the throughput clock, by message size:
 * small messages are cheap, a clock read per message would show. */
static inline uint64_t bench_tick_every(size_t len)
{
	return len <= 4096 ? 64 : 1;
}

/* Data bytes of the rings of the throughput figures (qshm and the minimal
 * SPSC ring alike): 1 MiB, or room for 4 records of len bytes. */
static inline uint64_t bench_tput_capacity(size_t len)
{
	uint64_t c = (uint64_t)1 << 20;
	while (c < 4 * (uint64_t)len)
		c <<= 1;
	return c;
}

/* Results of every repeat of one measurement. */
struct bench_figure {
	const struct bench_measure *m;
	int nrep;
	double v[BENCH_MAX_REPEATS][BENCH_MAX_METRICS];
	int failed;                  /* a repeat failed: no figures */
	int skipped;                 /* not selected (--only) */
	int unavailable;             /* cannot run here (err says why) */
	char err[BENCH_ERR_MAX];
	char note[160];              /* from the last repeat */
	struct bench_hist *hist;     /* latency groups: every repeat's samples */
};

/* Index of metric name in f's measurement, or -1. */
int bench_metric_index(const struct bench_figure *f, const char *metric);
/* Median, min and max over repeats of one metric (NaN if none). */
double bench_fig_median(const struct bench_figure *f, int metric);
double bench_fig_min(const struct bench_figure *f, int metric);
double bench_fig_max(const struct bench_figure *f, int metric);
double bench_median(double *v, int n); /* sorts v */
/* 1 if f ran and has figures. */
int bench_fig_ok(const struct bench_figure *f);

/* ------------------------------------------------------------------ */
/* Two processes                                                        */

/*
 * A control block in MAP_SHARED anonymous memory, made before fork. Each
 * side advances its own stage word; the other waits for it. The child
 * reports a failure in err before it exits with status 1. stop is the
 * consumer's "enough" to a throughput producer.
 */
struct bench_ctl {
	_Alignas(BENCH_CACHELINE) _Atomic uint32_t parent_stage;
	_Alignas(BENCH_CACHELINE) _Atomic uint32_t child_stage;
	_Alignas(BENCH_CACHELINE) _Atomic uint32_t stop;
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

/* The consumer's "stop producing" (a plain flag: the producer polls it
 * every few messages; the data it then sends is ordered by the transport). */
static inline void bench_stop_post(struct bench_ctl *ctl)
{
	atomic_store_explicit(&ctl->stop, 1, memory_order_relaxed);
}

static inline int bench_stop_seen(struct bench_ctl *ctl)
{
	return atomic_load_explicit(&ctl->stop, memory_order_relaxed) != 0;
}

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

/* A child made some other way (fork + exec) is killed on early exit too
 * while tracked. */
void bench_child_track(pid_t pid);
void bench_child_forget(pid_t pid);

/* Pins the calling thread to cpu. Returns 0 or -errno. */
int bench_pin(int cpu);

/* 1 in a process made by bench_spawn(). */
extern int bench_in_child;

/*
 * The set-up every two-process measurement repeats: a control block, the
 * peer forked onto the second CPU (cfg->cpu_b) running fn, and the wait
 * (up to 10 s) for its first stage post ("ready": the peer posts
 * child_stage 1 once it serves). On failure *p holds nothing to undo and
 * err says why.
 */
struct bench_peer {
	struct bench_ctl *ctl;
	pid_t pid;
};
int bench_peer_start(struct bench_peer *p, const struct bench_cfg *cfg,
		     bench_child_fn fn, void *arg, char *err);
/* Sends sig (0: none, the peer ends by itself) and reaps the peer (up to
 * timeout_s, then kills it). Returns 0 if it exited 0, else -1 with err
 * set. Frees the control block either way. */
int bench_peer_finish(struct bench_peer *p, int sig, unsigned timeout_s,
		      char *err);
/* Error paths: kills and reaps the peer at once, frees the block. */
void bench_peer_kill(struct bench_peer *p);

/* n latency samples, pre-faulted (so that timing never takes a page
 * fault); NULL with err set when out of memory. */
uint64_t *bench_samples_new(uint64_t n, char *err);

/* ------------------------------------------------------------------ */
/* Shared memory and names                                              */

/* Page-aligned MAP_SHARED anonymous memory, pre-faulted. NULL on failure. */
void *bench_shared_alloc(size_t n);
void bench_shared_free(void *p, size_t n);

/*
 * Makes a name unique to this run: "bench.<pid>.<what><n>", which suits
 * qshm ring names, abstract socket names and (after a '/') POSIX shm names.
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
int bench_shm_leftovers(const char *prog);
/* Removes the objects of earlier runs whose process is gone (killed with
 * SIGKILL, which no handler sees); says so. Returns how many. */
int bench_shm_sweep(const char *prog);

/* ------------------------------------------------------------------ */
/* Machine and report                                                   */

struct bench_machine {
	char cpu_model[128];
	long nproc_online;
	int cpus_allowed;
	char kernel[400];
	char compiler[96];
	char build_type[32];
	char build_flags[400];
	char hostname[80];
	char date[40];
	uint64_t mem_total, mem_available; /* bytes, from /proc/meminfo */
};
void bench_machine_get(struct bench_machine *mc);
/* MemAvailable of /proc/meminfo in bytes (0 if unknown). */
uint64_t bench_mem_available(void);

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
/* A [a, b] pair of integers on one line (histogram buckets). */
void bench_json_pair(struct bench_json *j, unsigned long long a,
		     unsigned long long b);

/* ------------------------------------------------------------------ */
/* Payloads: the same code fills and reads records of every transport   */

/* A source pattern for payloads of up to BENCH_MAX_MSG bytes. */
#define BENCH_MAX_MSG ((size_t)1 << 20)
extern uint64_t bench_pattern[BENCH_MAX_MSG / 8];

/* Writes len bytes (a multiple of 8) at dst: the pattern, with seq in the
 * first word. */
static inline void bench_payload_write(void *dst, size_t len, uint64_t seq)
{
	memcpy(dst, bench_pattern, len);
	memcpy(dst, &seq, sizeof seq);
}

/* Reads every word of a payload; returns the first word (the seq) and
 * folds the rest into *sink so the reads cannot be dropped. Word loads go
 * through memcpy: some transports (ZeroMQ's small messages) hand back
 * payloads that are not 8-byte aligned; on x86 it is the same load. */
static inline uint64_t bench_payload_read(const void *src, size_t len,
					  uint64_t *sink)
{
	const unsigned char *p = src;
	uint64_t x = 0, w, seq;

	for (size_t i = 8; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, sizeof w);
		x ^= w;
	}
	*sink ^= x;
	memcpy(&seq, p, sizeof seq);
	return seq;
}

/* ------------------------------------------------------------------ */
/* The measurements (one file each)                                     */

/* bench_cacheline.c, bench_futex.c: the floors of a round trip, back to
 * back and at the fixed offered rate */
extern const struct bench_measure bench_cacheline_rt;
extern const struct bench_measure bench_cacheline_rate;
extern const struct bench_measure bench_futex_rt;
extern const struct bench_measure bench_futex_rate;
/* bench_spsc.c: the floor of one-way throughput (64 B .. 1 MiB) */
extern const struct bench_measure bench_spsc_tput[4];
/* bench_memcpy.c */
extern const struct bench_measure bench_memcpy_bw;
/* bench_qshm_lat.c: round trips, and latency at a fixed offered rate */
extern const struct bench_measure bench_qshm_busy_rt;
extern const struct bench_measure bench_qshm_spin_rt;
extern const struct bench_measure bench_qshm_block_rt;
extern const struct bench_measure bench_qshm_rate[3]; /* busy spin block */
/* bench_qshm_tput.c: one-way throughput (64 B .. 1 MiB) */
extern const struct bench_measure bench_qshm_tput[5];
/* bench_qshm_idle.c: CPU of an idle consumer (block, spin, busy) */
extern const struct bench_measure bench_qshm_idle[3];
/* bench_ipc.c: Unix stream socket, pipe, TCP loopback, ZeroMQ ipc:// */
#define BENCH_IPC_N 4
extern const struct bench_measure bench_ipc_rt[BENCH_IPC_N];
extern const struct bench_measure bench_ipc_rate[BENCH_IPC_N];
extern const struct bench_measure bench_ipc_tput[BENCH_IPC_N][4];
/* The version of libzmq in use ("" if built without). */
void bench_ipc_zmq_version(char *buf, size_t size);
/* bench_sim.c: the simulator's figures */
#define BENCH_GATE_N 4 /* 20, 22, 24, 26 qubits */
extern const struct bench_measure bench_sim_gate[BENCH_GATE_N];
extern const struct bench_measure bench_sim_shots;
#define BENCH_CIRC_QUICK_N 3 /* qft_20, random_20, random_20 single */
#define BENCH_CIRC_FULL_N 11 /* corpus circuits, qft_24, random_24, 26,
			      * three in single precision */
extern const struct bench_measure bench_sim_circ_quick[BENCH_CIRC_QUICK_N];
extern const struct bench_measure bench_sim_circ_full[BENCH_CIRC_FULL_N];
/* bench_service.c: the round trip of a job (a trivial one, a variational
 * step) in-process, through qshm serve (C and Python clients), and through
 * the Unix-socket and ZeroMQ REQ/REP servers of bench_service_ipc.c */
#define BENCH_SVC_TRIVIAL_N 6 /* direct, serve, busy, python, unix, zmq */
#define BENCH_SVC_VQE_N 6     /* and serve with the text every step */
extern const struct bench_measure bench_svc_trivial[BENCH_SVC_TRIVIAL_N];
extern const struct bench_measure bench_svc_vqe[BENCH_SVC_VQE_N];

/* Message sizes of the throughput figures. */
extern const size_t bench_tput_sizes[4];

#endif /* QSHM_BENCH_H */
