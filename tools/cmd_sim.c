/*
 * cmd_sim.c - `qshm sim`: simulate an OpenQASM 2.0 circuit.
 *
 *   qshm sim FILE [--shots N] [--seed S] [--batch N] --counts
 *   qshm sim FILE [--shots N] [--seed S] --ring NAME [--capacity SIZE]
 *                 [--probs] [--state] [--wait-consumers K] [--unlink]
 *
 * --counts prints {"counts": {"<outcome>": n, ...}} on stdout, outcomes in
 * Qiskit's order (registers last-declared first, separated by a space, each
 * written c[n-1]...c[0]) and sorted as strings. Exit status: 0 success,
 * 1 error (file, parse, simulation, ring), 2 usage, 130 stopped by a signal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>
#include <signal.h>

#include "publish.h"
#include "qasm.h"
#include "qshm/qshm.h"
#include "rt_counts.h"
#include "sim.h"
#include "tools.h"

/* The dispatcher (tools/qshm.c) calls this with argv[0] == "sim". */
int qshm_cmd_sim(int argc, char **argv);

#define SIM_EXIT_OK 0
#define SIM_EXIT_ERROR 1
#define SIM_EXIT_USAGE 2

struct sim_opts {
	const char *file;
	uint64_t shots;
	uint64_t seed;
	bool have_seed;
	uint64_t batch;
	uint64_t threads;        /* 0: QSHM_THREADS or the usable CPUs */
	uint64_t fuse;           /* fused block size; 0: no fusion */
	bool have_fuse;
	bool counts;
	/* ring publishing (see the marked place in qshm_cmd_sim) */
	const char *ring;
	uint64_t capacity;       /* bytes; 0: the ring's default */
	bool probs;
	bool state;
	uint64_t wait_consumers;
	bool have_wait;
	bool unlink_after;
	bool quiet;              /* no progress on stderr */
	uint64_t max_gates;      /* planning budget; 0: the default */
};

static void sim_usage(FILE *f)
{
	fputs("usage: qshm sim FILE [--shots N] [--seed S] [--batch N] --counts\n"
	      "       qshm sim FILE [--shots N] [--seed S] --ring NAME "
	      "[--capacity SIZE]\n"
	      "                [--probs] [--state] [--wait-consumers K] "
	      "[--unlink]\n"
	      "\n"
	      "Simulate the OpenQASM 2.0 program FILE on a state vector.\n"
	      "\n"
	      "  --shots N           number of shots (default 1024)\n"
	      "  --seed S            random seed, decimal or 0x hex; the same "
	      "seed gives\n"
	      "                      the same shots (default: a fresh seed each "
	      "run)\n"
	      "  --batch N           shots per batch (default 4096)\n"
	      "  --threads N         threads of the simulator (default: "
	      "QSHM_THREADS,\n"
	      "                      else the CPUs this process may use); the "
	      "shots\n"
	      "                      do not depend on it\n"
	      "  --fuse K            fuse gates into blocks of at most K "
	      "qubits (1-5,\n"
	      "                      default 4); 0: one pass per gate\n"
	      "  --counts            print {\"counts\": {\"<outcome>\": n, ...}} "
	      "on stdout;\n"
	      "                      outcomes read c[n-1]...c[0] per register, "
	      "the\n"
	      "                      last-declared register first, registers "
	      "separated\n"
	      "                      by a space, sorted\n"
	      "  --ring NAME         publish the run into the shared-memory ring "
	      "NAME\n"
	      "  --capacity SIZE     ring capacity in bytes (suffix K, M or G)\n"
	      "  --probs             also publish the final probabilities\n"
	      "  --state             also publish the final state vector\n"
	      "  --wait-consumers K  wait for K consumers before publishing\n"
	      "  --unlink            remove the ring when the run ends\n"
	      "  --max-gates N       refuse a program whose gate definitions "
	      "expand to\n"
	      "                      more than N gate applications (default "
	      "4000000)\n"
	      "  -q, --quiet         no progress line on a terminal\n"
	      "  -h, --help          show this help\n"
	      "\n"
	      "Exit status: 0 success, 1 error, 2 usage, 130 interrupted.\n", f);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("qshm sim: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'qshm sim --help'.\n", stderr);
	return SIM_EXIT_USAGE;
}

/* A whole unsigned number: decimal, or hex with 0x; with @suffixes, an
 * optional K, M or G (powers of 1024). */
static bool parse_u64(const char *s, bool suffixes, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if (suffixes && *end) {
		switch (*end) {
		case 'K': case 'k': mul = (uint64_t)1 << 10; break;
		case 'M': case 'm': mul = (uint64_t)1 << 20; break;
		case 'G': case 'g': mul = (uint64_t)1 << 30; break;
		default: return false;
		}
		end++;
	}
	if (*end || v > UINT64_MAX / mul)
		return false;
	*out = (uint64_t)v * mul;
	return true;
}

/*
 * Match option @name at argv[*i], as "--name VALUE" or "--name=VALUE";
 * *@value gets the value (NULL when missing). True if it matched.
 */
static bool opt_value(int argc, char **argv, int *i, const char *name,
		      const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '=') {
		*value = a + n + 1;
		return true;
	}
	if (a[n] != '\0')
		return false;
	*value = *i + 1 < argc ? argv[++*i] : NULL;
	return true;
}

static int parse_opts(int argc, char **argv, struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->shots = 1024;
	o->batch = SIM_DEFAULT_BATCH;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			sim_usage(stdout);
			return -1;
		} else if (opt_value(argc, argv, &i, "--shots", &v)) {
			if (!v)
				return usage_error("--shots needs a number%s", "");
			if (!parse_u64(v, false, &o->shots))
				return usage_error("--shots: '%s' is not a "
						   "non-negative integer", v);
		} else if (opt_value(argc, argv, &i, "--seed", &v)) {
			if (!v)
				return usage_error("--seed needs a number%s", "");
			if (!parse_u64(v, false, &o->seed))
				return usage_error("--seed: '%s' is not an integer "
						   "in [0, 2^64)", v);
			o->have_seed = true;
		} else if (opt_value(argc, argv, &i, "--batch", &v)) {
			if (!v)
				return usage_error("--batch needs a number%s", "");
			if (!parse_u64(v, false, &o->batch) || o->batch == 0 ||
			    o->batch > ((uint64_t)1 << 24))
				return usage_error("--batch: '%s' is not an integer "
						   "in [1, 16777216]", v);
		} else if (opt_value(argc, argv, &i, "--threads", &v)) {
			if (!v || !parse_u64(v, false, &o->threads) ||
			    o->threads < 1 || o->threads > 1024)
				return usage_error("--threads: '%s' is not an "
						   "integer in [1, 1024]",
						   v ? v : "");
		} else if (opt_value(argc, argv, &i, "--fuse", &v)) {
			if (!v || !parse_u64(v, false, &o->fuse) || o->fuse > 5)
				return usage_error("--fuse: '%s' is not an "
						   "integer in [0, 5]", v ? v : "");
			o->have_fuse = true;
		} else if (strcmp(a, "--counts") == 0) {
			o->counts = true;
		} else if (opt_value(argc, argv, &i, "--ring", &v)) {
			if (!v || !*v)
				return usage_error("--ring needs a ring name%s", "");
			o->ring = v;
		} else if (opt_value(argc, argv, &i, "--capacity", &v)) {
			if (!v)
				return usage_error("--capacity needs a size%s", "");
			if (!parse_u64(v, true, &o->capacity) || o->capacity == 0)
				return usage_error("--capacity: '%s' is not a "
						   "positive size (bytes, or with "
						   "K, M, G)", v);
		} else if (strcmp(a, "--probs") == 0) {
			o->probs = true;
		} else if (strcmp(a, "--state") == 0) {
			o->state = true;
		} else if (opt_value(argc, argv, &i, "--wait-consumers", &v)) {
			if (!v)
				return usage_error("--wait-consumers needs a "
						   "number%s", "");
			if (!parse_u64(v, false, &o->wait_consumers) ||
			    o->wait_consumers > 1024)
				return usage_error("--wait-consumers: '%s' is not "
						   "an integer in [0, 1024]", v);
			o->have_wait = true;
		} else if (opt_value(argc, argv, &i, "--max-gates", &v)) {
			if (!v)
				return usage_error("--max-gates needs a number%s",
						   "");
			if (!parse_u64(v, false, &o->max_gates) ||
			    o->max_gates == 0)
				return usage_error("--max-gates: '%s' is not a "
						   "positive integer", v);
		} else if (strcmp(a, "--unlink") == 0) {
			o->unlink_after = true;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			o->quiet = true;
		} else if (a[0] == '-' && a[1] != '\0') {
			return usage_error("unknown option '%s'", a);
		} else if (!o->file) {
			o->file = a;
		} else {
			return usage_error("unexpected argument '%s' (one FILE "
					   "only)", a);
		}
	}
	if (!o->file)
		return usage_error("missing FILE: the OpenQASM 2.0 program to "
				   "simulate%s", "");
	if (o->ring && qshm_name_check(o->ring))
		return usage_error("%s", qshm_last_error());
	if (!o->ring) {
		const char *needs = o->probs ? "--probs" : o->state ? "--state" :
				    o->capacity ? "--capacity" :
				    o->have_wait ? "--wait-consumers" :
				    o->unlink_after ? "--unlink" : NULL;

		if (needs)
			return usage_error("%s only applies with --ring NAME",
					   needs);
		if (!o->counts)
			return usage_error("nothing to do: give --counts (or "
					   "--ring NAME)%s", "");
	}
	if (!o->have_seed)
		o->seed = ((uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull) ^
			  ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
	return 0;
}

static int print_entries(const struct sim_count_entry *e, size_t n)
{
	fputs("{\"counts\": {", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s\"%s\": %" PRIu64, i ? ", " : "", e[i].outcome,
		       e[i].count);
	fputs("}}\n", stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("qshm sim: writing the counts");
		return SIM_EXIT_ERROR;
	}
	return SIM_EXIT_OK;
}

static int print_counts(const struct sim_counts *k,
			const struct qasm_circuit *c)
{
	struct sim_count_entry *e;
	int rc;

	if (sim_counts_sorted(k, c, &e)) {
		fputs("qshm sim: out of memory\n", stderr);
		return SIM_EXIT_ERROR;
	}
	rc = print_entries(e, sim_counts_size(k));
	free(e);
	return rc;
}

/* ---- publishing into a ring (--ring) ---- */

#define SIM_DEFAULT_CAPACITY (UINT64_C(4) << 20)

static volatile sig_atomic_t sim_stop;

static void sim_on_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

/* What the shot callback needs while a run streams into a ring. */
struct sim_stream {
	struct publisher pub;
	struct sim_counts *counts;  /* --counts too, or NULL */
	uint64_t *kshots;           /* user counter 3: shots published */
	uint64_t *kmem;             /* user counters 0..2: jemalloc stats */
	uint64_t shots, total;
	uint64_t t0, next_report, next_mem;
	int progress;               /* stderr is a terminal */
};

/* jemalloc's statistics into the ring's counters (docs/format.md). */
static void sim_publish_memory(struct sim_stream *st)
{
	static const char *const names[3] = {
		"stats.allocated", "stats.active", "stats.resident",
	};
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);

	if (mallctl("epoch", &epoch, &sz, &epoch, sz))
		return;
	for (int i = 0; i < 3; i++) {
		size_t v;
		sz = sizeof(v);
		if (!mallctl(names[i], &v, &sz, NULL, 0))
			__atomic_store_n(&st->kmem[i], (uint64_t)v,
					 __ATOMIC_RELAXED);
	}
}

static void sim_progress(struct sim_stream *st, uint64_t now, int last)
{
	double s = (double)(now - st->t0) / 1e9;
	fprintf(stderr, "\rqshm sim: %" PRIu64 " / %" PRIu64 " shots  "
		"%.2f M shots/s%s", st->shots, st->total,
		s > 0 ? (double)st->shots / s / 1e6 : 0.0,
		last ? "\n" : "   ");
}

static int sim_stream_shots(void *ctx, const uint64_t *bits, size_t n,
			    size_t wps)
{
	struct sim_stream *st = ctx;
	int err;

	if (sim_stop)
		return -EINTR;
	err = publisher_shots(&st->pub, bits, n, wps);
	if (err)
		return err;
	if (st->counts && sim_counts_add(st->counts, bits, n))
		return -ENOMEM;
	st->shots += n;
	/* Relaxed, plain-width stores: read by inspectors as snapshots. */
	__atomic_store_n(st->kshots, st->shots, __ATOMIC_RELAXED);
	uint64_t now = tools_now_ns();
	if (now >= st->next_mem) {
		sim_publish_memory(st);
		st->next_mem = now + 100 * 1000 * 1000;
	}
	if (st->progress && now >= st->next_report) {
		sim_progress(st, now, 0);
		st->next_report = now + 200 * 1000 * 1000;
	}
	return 0;
}

static int sim_fill_probs(void *ctx, uint64_t first, uint64_t count,
			  void *dst)
{
	int rc = sim_run_probs(ctx, first, (size_t)count, dst);
	return rc < 0 ? rc : 0;
}

static int sim_fill_state(void *ctx, uint64_t first, uint64_t count,
			  void *dst)
{
	const double *amps;
	size_t namps;
	int rc = sim_run_final_state(ctx, &amps, &namps);

	if (rc < 0)
		return rc;
	memcpy(dst, amps + 2 * first, (size_t)count * 16);
	return 0;
}

/* Creates the ring, replacing a stale or closed one with a notice. */
static int sim_ring_create(const struct sim_opts *o, qshm_producer **p)
{
	struct qshm_ring_info info;
	struct qshm_create_opts co = {
		.capacity = o->capacity ? o->capacity : SIM_DEFAULT_CAPACITY,
		.flags = QSHM_CREATE_REPLACE_STALE,
	};

	if (qshm_ring_info(o->ring, &info) == 0) {
		if (info.state == QSHM_RING_LIVE) {
			fprintf(stderr, "qshm sim: ring '%s' is in use: its "
				"producer (pid %d) is alive\n", o->ring,
				info.creator_pid);
			return SIM_EXIT_ERROR;
		}
		if (info.state == QSHM_RING_STALE ||
		    info.state == QSHM_RING_CLOSED)
			fprintf(stderr, "qshm sim: replacing %s ring '%s' "
				"(generation %" PRIu64 ", pid %d)\n",
				qshm_ring_state_name(info.state), o->ring,
				info.generation, info.creator_pid);
	}
	int err;

	tools_guard_ring(o->ring);
	err = qshm_producer_create(o->ring, &co, p);
	if (err) {
		fprintf(stderr, "qshm sim: create ring '%s': %s\n", o->ring,
			qshm_last_error()[0] ? qshm_last_error() :
			qshm_strerror(err));
		return SIM_EXIT_ERROR;
	}
	return SIM_EXIT_OK;
}

static int sim_publish(const struct sim_opts *o,
		       const struct qasm_circuit *c, struct sim_run *run,
		       struct sim_counts *counts)
{
	struct sim_stream st = { .counts = counts, .total = o->shots };
	struct rt_error err;
	qshm_producer *p;
	uint32_t options = 0;
	int rc, status = SIM_EXIT_ERROR;
	uint64_t sim_ns = 0;

	rc = sim_ring_create(o, &p);
	if (rc)
		return rc;
	signal(SIGINT, sim_on_signal);
	signal(SIGTERM, sim_on_signal);
	publisher_init(&st.pub, p, &sim_stop);
	st.kmem = qshm_producer_user_counter(p, 0);
	st.kshots = qshm_producer_user_counter(p, 3);
	*qshm_producer_user_counter(p, 4) = o->shots;
	*qshm_producer_user_counter(p, 5) = (uint64_t)16 << c->nqubits;
	st.progress = !o->quiet && isatty(STDERR_FILENO);
	sim_publish_memory(&st);

	if (o->have_wait) {
		while (!sim_stop && qshm_producer_wait_consumers(
			       p, (int)o->wait_consumers,
			       200 * 1000 * 1000) == -ETIMEDOUT)
			;
		if (sim_stop)
			goto stopped;
	}
	if (o->probs)
		options |= QSHM_RUN_PROBS;
	if (o->state)
		options |= QSHM_RUN_STATE;
	if (!sim_run_is_deterministic(run))
		options |= QSHM_RUN_PER_SHOT;
	st.t0 = tools_now_ns();
	rc = publisher_begin(&st.pub, c, o->shots, o->seed, options);
	if (rc)
		goto ring_error;

	rc = sim_run_shots(run, o->shots, sim_stream_shots, &st, &err);
	sim_ns = tools_now_ns() - st.t0;
	if (rc == -EINTR && sim_stop)
		goto stopped;
	if (rc) {
		char msg[2048];
		snprintf(msg, sizeof(msg), "%s: %s", o->file,
			 err.code ? err.msg : strerror(rc < 0 ? -rc : rc));
		fprintf(stderr, "qshm sim: %s\n", msg);
		publisher_error(&st.pub, rc < 0 ? rc : -rc, msg);
		publisher_end(&st.pub, QSHM_RUN_FAILED,
			      tools_now_ns() - st.t0, sim_ns);
		goto close;
	}
	rc = publisher_flush(&st.pub);
	if (!rc && (o->probs || o->state)) {
		const double *amps;
		size_t namps;
		/* PROBS and STATE describe a final state shared by every
		 * shot; a run with random mid-circuit outcomes has none. */
		if (sim_run_final_state(run, &amps, &namps) != 0) {
			fprintf(stderr, "qshm sim: %s: mid-circuit "
				"measurements make the final state differ from "
				"shot to shot: no PROBS/STATE published\n",
				o->file);
		} else {
			if (o->probs)
				rc = publisher_vector(&st.pub, QSHM_REC_PROBS,
						      c->nqubits, 8,
						      sim_fill_probs, run);
			if (!rc && o->state)
				rc = publisher_vector(&st.pub, QSHM_REC_STATE,
						      c->nqubits, 16,
						      sim_fill_state, run);
		}
	}
	if (rc == -EINTR && sim_stop)
		goto stopped;
	if (rc)
		goto ring_error;
	rc = publisher_end(&st.pub, QSHM_RUN_OK, tools_now_ns() - st.t0,
			   sim_ns);
	if (rc == -EINTR && sim_stop)
		goto stopped;
	if (rc)
		goto ring_error;
	sim_publish_memory(&st);
	if (st.progress)
		sim_progress(&st, tools_now_ns(), 1);
	status = SIM_EXIT_OK;
	goto close;

stopped:
	fprintf(stderr, "\nqshm sim: interrupted after %" PRIu64 " shots\n",
		st.shots);
	/* Best effort, without waiting: readers learn the run stopped. */
	publisher_init(&st.pub, p, NULL);
	st.pub.next_shot = st.shots;
	{
		void *b;
		if (qshm_producer_claim(p, sizeof(struct qshm_run_end),
					QSHM_REC_RUN_END, 0, &b) == 0) {
			struct qshm_run_end e = {
				.status = QSHM_RUN_STOPPED,
				.shots = st.shots,
				.elapsed_ns = st.t0 ? tools_now_ns() - st.t0 : 0,
				.sim_ns = sim_ns,
			};
			memcpy(b, &e, sizeof(e));
		}
	}
	status = 130;
	goto close;
ring_error:
	fprintf(stderr, "qshm sim: ring '%s': %s\n", o->ring,
		qshm_last_error()[0] ? qshm_last_error() : qshm_strerror(rc));
close:
	if (o->unlink_after && status == SIM_EXIT_OK) {
		/* Let reliable consumers read the whole run first. */
		while (!sim_stop && qshm_producer_drain(p, 200 * 1000 * 1000) ==
					    -ETIMEDOUT)
			;
	}
	qshm_producer_close(p, o->unlink_after ? QSHM_CLOSE_UNLINK : 0);
	return status;
}

int qshm_cmd_sim(int argc, char **argv)
{
	struct sim_opts o;
	struct qasm_circuit *c = NULL;
	struct sim_run *run = NULL;
	struct sim_counts *counts = NULL;
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct qasm_parse_opts popts = { .flags = 0 };
	struct rt_error err;
	int rc, status = SIM_EXIT_ERROR;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? SIM_EXIT_OK : rc;

	popts.max_gates = o.max_gates;
	if (qasm_parse_file_opts(o.file, &popts, &c, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return SIM_EXIT_ERROR;
	}
	cfg.seed = o.seed;
	cfg.batch_shots = (size_t)o.batch;
	cfg.threads = (unsigned)o.threads;
	if (o.have_fuse && o.fuse == 0)
		cfg.flags |= SIM_FLAG_NO_FUSE;
	else
		cfg.fuse_qubits = (unsigned)o.fuse;
	/* Plans the run and allocates the state, or says it cannot fit,
	 * before any ring exists: nothing half-created is left behind. */
	if (sim_run_create(&run, c, &cfg, &err) < 0) {
		fprintf(stderr, "qshm sim: %s: %s\n", o.file, err.msg);
		goto out;
	}
	if (o.counts && o.ring) {
		counts = sim_counts_new(sim_run_words_per_shot(run));
		if (!counts) {
			fputs("qshm sim: out of memory\n", stderr);
			goto out;
		}
	}
	if (o.ring) {
		rc = sim_publish(&o, c, run, counts);
		if (rc == SIM_EXIT_OK && counts)
			rc = print_counts(counts, c);
		status = rc;
		goto out;
	}
	/* The same counting as the service's (runtime/rt_counts.h). */
	struct sim_count_entry *e;
	size_t n;
	rc = rt_counts_run(run, c, o.shots, NULL, NULL, &e, &n, &err);
	if (rc) {
		if (err.code)
			fprintf(stderr, "qshm sim: %s: %s\n", o.file, err.msg);
		else
			fprintf(stderr, "qshm sim: %s: %s\n", o.file,
				strerror(rc < 0 ? -rc : rc));
		goto out;
	}
	status = print_entries(e, n);
	free(e);
out:
	sim_counts_free(counts);
	sim_run_destroy(run);
	qasm_circuit_free(c);
	return status;
}
