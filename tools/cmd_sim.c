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
#include <grp.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <signal.h>

#include "publish.h"
#include "qasm.h"
#include "qshm/qshm.h"
#include "qshm/results.h"
#include "rt_error.h"
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
	uint64_t chunk;          /* cache blocking: chunks of 2^chunk */
	bool have_chunk;
	bool single;             /* --precision single */
	bool counts;
	/* ring publishing (see the marked place in qshm_cmd_sim) */
	const char *ring;
	uint64_t capacity;       /* bytes; 0: the ring's default */
	bool probs;
	bool state;
	uint64_t wait_consumers;
	bool have_wait;
	bool unlink_after;
	bool keep;               /* --keep: the default, said explicitly */
	uint32_t mode;           /* --mode: permission bits; 0: 0600 */
	bool have_group;
	gid_t gid;               /* --group */
	bool quiet;              /* no progress on stderr */
	uint64_t max_gates;      /* planning budget; 0: the default */
};

static void sim_usage(FILE *f)
{
	fputs("usage: qshm sim FILE [--shots N] [--seed S] [--batch N] --counts\n"
	      "       qshm sim FILE [--shots N] [--seed S] --ring NAME "
	      "[--capacity SIZE]\n"
	      "                [--probs] [--state] [--wait-consumers K]\n"
	      "                [--keep | --unlink] [--mode MODE] "
	      "[--group GROUP]\n"
	      "\n"
	      "Simulate the OpenQASM 2.0 program FILE (- : standard input) on a "
	      "state\n"
	      "vector. The circuit must declare a classical register (the "
	      "shots'\n"
	      "outcomes); a circuit that never measures is simulated, with a "
	      "warning\n"
	      "that every shot reads all zeros.\n"
	      "\n"
	      "  --shots N           number of shots, at least 1 (default 1024)\n"
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
	      "  --chunk L           cache blocking: runs of fused blocks on "
	      "qubits below L\n"
	      "                      go in chunks of 2^L amplitudes, one "
	      "sweep of the\n"
	      "                      state per run (2-30, default 15, from "
	      "23 qubits);\n"
	      "                      0: no blocking\n"
	      "  --precision P       double (the default) or single: float "
	      "amplitudes,\n"
	      "                      half the memory and traffic, about 7 "
	      "significant\n"
	      "                      digits (runtime/README.md)\n"
	      "  --counts            print {\"counts\": {\"<outcome>\": n, ...}} "
	      "on stdout;\n"
	      "                      outcomes read c[n-1]...c[0] per register, "
	      "the\n"
	      "                      last-declared register first, registers "
	      "separated\n"
	      "                      by a space, sorted\n"
	      "  --ring NAME         publish the run into the shared-memory ring "
	      "NAME\n"
	      "                      (/dev/shm/qshm.NAME); consumers attach by "
	      "name at\n"
	      "                      any moment (qshm hist NAME)\n"
	      "  --capacity SIZE     ring data bytes: a power of two from 4K, "
	      "in bytes or\n"
	      "                      with K, M or G (4M, 64K; default 4M)\n"
	      "  --probs             also publish the final probabilities\n"
	      "  --state             also publish the final state vector\n"
	      "  --wait-consumers K  create the ring, then wait until K "
	      "reliable\n"
	      "                      consumers have attached before the run "
	      "starts, so\n"
	      "                      they see it from its first shot (without "
	      "it, the\n"
	      "                      run starts at once and a consumer that "
	      "attaches\n"
	      "                      later joins it where it is)\n"
	      "  --keep              leave the finished ring in /dev/shm, "
	      "closed, for\n"
	      "                      late readers (the default; `qshm rm NAME` "
	      "or the\n"
	      "                      next run of the same name removes it)\n"
	      "  --unlink            remove the ring when the run ends, once "
	      "reliable\n"
	      "                      consumers have read it\n"
	      "  --mode MODE         the ring's permission bits, octal (default "
	      "0600;\n"
	      "                      0640 lets a group read it)\n"
	      "  --group GROUP       the ring's group (name or number; you must "
	      "be in it)\n"
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

/* A whole unsigned number (tools_parse_u64()); with @suffixes, a size
 * (tools_parse_size(): K, M, G or T, powers of 1024). */
static bool parse_u64(const char *s, bool suffixes, uint64_t *out)
{
	return (suffixes ? tools_parse_size(s, out)
			 : tools_parse_u64(s, out)) == 0;
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
			if (o->shots == 0)
				return usage_error("--shots 0: nothing to "
						   "simulate; give at least %s",
						   "1");
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
		} else if (opt_value(argc, argv, &i, "--precision", &v)) {
			if (v && strcmp(v, "single") == 0)
				o->single = true;
			else if (v && strcmp(v, "double") == 0)
				o->single = false;
			else
				return usage_error("--precision: '%s' is not "
						   "single or double", v ? v : "");
		} else if (opt_value(argc, argv, &i, "--chunk", &v)) {
			if (!v || !parse_u64(v, false, &o->chunk) ||
			    o->chunk == 1 || o->chunk > 30)
				return usage_error("--chunk: '%s' is not 0 or an "
						   "integer in [2, 30]",
						   v ? v : "");
			o->have_chunk = true;
		} else if (strcmp(a, "--counts") == 0) {
			o->counts = true;
		} else if (opt_value(argc, argv, &i, "--ring", &v)) {
			if (!v || !*v)
				return usage_error("--ring needs a ring name%s", "");
			o->ring = v;
		} else if (opt_value(argc, argv, &i, "--capacity", &v)) {
			if (!v)
				return usage_error("--capacity needs a size%s", "");
			if (!parse_u64(v, true, &o->capacity) ||
			    o->capacity < 4096 ||
			    (o->capacity & (o->capacity - 1)))
				return usage_error("--capacity: '%s' is not a "
						   "power of two from 4K (bytes, "
						   "or with K, M, G: 64K, 4M)",
						   v);
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
		} else if (strcmp(a, "--keep") == 0) {
			o->keep = true;
		} else if (opt_value(argc, argv, &i, "--mode", &v)) {
			char *end;
			unsigned long m;
			if (!v)
				return usage_error("--mode needs octal permission "
						   "bits%s", "");
			errno = 0;
			m = strtoul(v, &end, 8);
			if (errno || end == v || *end || m > 0777 ||
			    !(m & 0600))
				return usage_error("--mode: '%s' is not octal "
						   "permission bits the owner can "
						   "read and write (e.g. 0640)",
						   v);
			o->mode = (uint32_t)m;
		} else if (opt_value(argc, argv, &i, "--group", &v)) {
			if (!v || !*v)
				return usage_error("--group needs a group name "
						   "or number%s", "");
			struct group *g = getgrnam(v);
			uint64_t n;
			if (g)
				o->gid = g->gr_gid;
			else if (parse_u64(v, false, &n) && n < UINT32_MAX)
				o->gid = (gid_t)n;
			else
				return usage_error("--group: no group '%s'", v);
			o->have_group = true;
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
	if (o->keep && o->unlink_after)
		return usage_error("--keep and --unlink: choose one%s", "");
	if (o->ring && qshm_name_check(o->ring))
		return usage_error("%s", qshm_last_error());
	if (!o->ring) {
		const char *needs = o->probs ? "--probs" : o->state ? "--state" :
				    o->capacity ? "--capacity" :
				    o->have_wait ? "--wait-consumers" :
				    o->unlink_after ? "--unlink" :
				    o->keep ? "--keep" :
				    o->mode ? "--mode" :
				    o->have_group ? "--group" : NULL;

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

/* The simulator's shot callback, counting into the qshm_counts at ctx. */
static int sim_count_shots(void *ctx, const uint64_t *bits, size_t n,
			   size_t wps)
{
	qshm_counts *k = ctx;

	if (wps != qshm_counts_words_per_shot(k))
		return -EINVAL;
	return qshm_counts_add(k, bits, n);
}

static int print_counts(const qshm_counts *k, const struct qasm_circuit *c,
			uint64_t shots, uint64_t seed)
{
	struct qshm_count_entry *e;
	qshm_run *run = NULL;
	size_t n;

	if (publisher_describe(c, shots, seed, 0, 0, &run) ||
	    qshm_counts_list(k, run, QSHM_COUNTS_BY_OUTCOME, 0, &e, &n)) {
		fprintf(stderr, "qshm sim: %s\n", qshm_results_last_error());
		qshm_run_free(run);
		return SIM_EXIT_ERROR;
	}
	fputs("{\"counts\": {", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s\"%s\": %" PRIu64, i ? ", " : "", e[i].outcome,
		       e[i].count);
	fputs("}}\n", stdout);
	qshm_counts_list_free(e);
	qshm_run_free(run);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("qshm sim: writing the counts");
		return SIM_EXIT_ERROR;
	}
	return SIM_EXIT_OK;
}


/* ---- publishing into a ring (--ring): runtime/publish_run.c ---- */

static volatile sig_atomic_t sim_stop;

static void sim_on_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

static void sim_progress(void *ctx, uint64_t shots, uint64_t total,
			 uint64_t elapsed_ns, int last)
{
	double s = (double)elapsed_ns / 1e9;

	(void)ctx;
	fprintf(stderr, "\rqshm sim: %" PRIu64 " / %" PRIu64 " shots  "
		"%.2f M shots/s%s", shots, total,
		s > 0 ? (double)shots / s / 1e6 : 0.0, last ? "\n" : "   ");
}

static void sim_notice(void *ctx, const char *msg)
{
	fprintf(stderr, "qshm sim: %s: %s\n", (const char *)ctx, msg);
}

static int sim_publish(const struct sim_opts *o,
		       const struct qasm_circuit *c, struct sim_run *run,
		       qshm_counts *counts)
{
	struct publish_run_opts po = {
		.ring = o->ring,
		.capacity = o->capacity,
		.probs = o->probs,
		.state = o->state,
		.unlink_after = o->unlink_after,
		.mode = o->mode,
		.chgrp = o->have_group,
		.gid = (uint32_t)o->gid,
		.wait_consumers = o->have_wait ? (int32_t)o->wait_consumers : 0,
		.stop = &sim_stop,
		.counts = counts,
		.progress = !o->quiet && isatty(STDERR_FILENO) ? sim_progress :
								 NULL,
		.notice = sim_notice,
		.ctx = (void *)o->file,
	};
	struct rt_error err;
	uint64_t done;

	rt_error_clear(&err);
	signal(SIGINT, sim_on_signal);
	signal(SIGTERM, sim_on_signal);
	int rc = publish_run(c, run, o->shots, o->seed, &po, &done, &err);
	if (rc == -EINTR && sim_stop) {
		fprintf(stderr, "\nqshm sim: interrupted after %" PRIu64
			" shots\n", done);
		return 130;
	}
	if (rc) {
		fprintf(stderr, "qshm sim: %s: %s\n", o->file, err.msg);
		return SIM_EXIT_ERROR;
	}
	return SIM_EXIT_OK;
}

/* Largest circuit read from standard input. */
#define SIM_STDIN_MAX (64u << 20)

/* `qshm sim -`: the program from standard input, named "<stdin>" in
 * messages (includes resolve against the working directory). */
static int sim_parse_stdin(const struct qasm_parse_opts *popts,
			   struct qasm_circuit **c, struct rt_error *err)
{
	size_t len = 0, cap = 1 << 16;
	char *text = malloc(cap);

	if (!text)
		return rt_error_set(err, -ENOMEM, "qshm sim: out of memory");
	for (;;) {
		if (len == cap) {
			if (cap >= SIM_STDIN_MAX) {
				free(text);
				return rt_error_set(err, -EFBIG, "qshm sim: "
						    "<stdin>: more than %u "
						    "bytes", SIM_STDIN_MAX);
			}
			char *t = realloc(text, cap * 2);
			if (!t) {
				free(text);
				return rt_error_set(err, -ENOMEM,
						    "qshm sim: out of memory");
			}
			text = t;
			cap *= 2;
		}
		size_t n = fread(text + len, 1, cap - len, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin)) {
				free(text);
				return rt_error_set(err, -EIO, "qshm sim: "
						    "reading <stdin>: %s",
						    strerror(errno));
			}
			break;
		}
	}
	int rc = qasm_parse_string_opts("<stdin>", text, len, popts, c, err);
	free(text);
	return rc;
}

/*
 * A circuit without classical registers has no outcome to count or
 * publish: refused. One with registers that never measures is legal
 * (every shot reads zeros): simulated, with a warning.
 */
static int sim_check_outcomes(const struct sim_opts *o,
			      const struct qasm_circuit *c)
{
	const char *file = strcmp(o->file, "-") ? o->file : "<stdin>";

	if (c->ncregs == 0) {
		fprintf(stderr, "qshm sim: %s: the circuit declares no "
			"classical register, so its shots have no outcome to "
			"count or publish (add `creg c[N];` and `measure`)\n",
			file);
		return -1;
	}
	for (size_t i = 0; i < c->nops; i++)
		if (c->ops[i].kind == QASM_OP_MEASURE)
			return 0;
	fprintf(stderr, "qshm sim: %s: warning: the circuit never measures: "
		"every shot reads its classical registers as zeros\n",
		file);
	return 0;
}

int qshm_cmd_sim(int argc, char **argv)
{
	struct sim_opts o;
	struct qasm_circuit *c = NULL;
	struct sim_run *run = NULL;
	qshm_counts *counts = NULL;
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct qasm_parse_opts popts = { .flags = 0 };
	struct rt_error err;
	int rc, status = SIM_EXIT_ERROR;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? SIM_EXIT_OK : rc;

	popts.max_gates = o.max_gates;
	if (strcmp(o.file, "-") == 0)
		rc = sim_parse_stdin(&popts, &c, &err);
	else
		rc = qasm_parse_file_opts(o.file, &popts, &c, &err);
	if (rc < 0) {
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
	if (o.single)
		cfg.flags |= SIM_FLAG_SINGLE;
	if (o.have_chunk && o.chunk == 0)
		cfg.flags |= SIM_FLAG_NO_BLOCKING;
	else
		cfg.chunk_qubits = (unsigned)o.chunk;
	/* Plans the run and allocates the state, or says it cannot fit,
	 * before any ring exists: nothing half-created is left behind. */
	if (sim_run_create(&run, c, &cfg, &err) < 0) {
		fprintf(stderr, "qshm sim: %s: %s\n", o.file, err.msg);
		goto out;
	}
	/* After the plan: a circuit too large is said first. */
	if (sim_check_outcomes(&o, c))
		goto out;
	if (o.counts) {
		if (qshm_counts_new((uint32_t)sim_run_words_per_shot(run),
				    &counts)) {
			fputs("qshm sim: out of memory\n", stderr);
			goto out;
		}
	}
	if (o.ring) {
		rc = sim_publish(&o, c, run, counts);
		if (rc == SIM_EXIT_OK && counts)
			rc = print_counts(counts, c, o.shots, o.seed);
		status = rc;
		goto out;
	}
	rc = sim_run_shots(run, o.shots, sim_count_shots, counts, &err);
	if (rc) {
		if (err.code)
			fprintf(stderr, "qshm sim: %s: %s\n", o.file, err.msg);
		else
			fprintf(stderr, "qshm sim: %s: %s\n", o.file,
				strerror(rc < 0 ? -rc : rc));
		goto out;
	}
	status = print_counts(counts, c, o.shots, o.seed);
out:
	qshm_counts_free(counts);
	sim_run_destroy(run);
	qasm_circuit_free(c);
	return status;
}
