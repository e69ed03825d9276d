/* SPDX-License-Identifier: MIT */
/*
 * bench_sim.c - the simulator's figures.
 *
 *   - sim.gate_N: a Hadamard on the middle qubit of an N-qubit state
 *     (sim_bench_gate1: the state is allocated and touched first; the
 *     median of cfg->gate_reps gates), as effective GB/s: one read and
 *     one write of the 16 * 2^N bytes of the state per gate. The suite
 *     holds it against memcpy measured in the same run (twice its
 *     GB/s: a copy reads and writes too).
 *   - sim.shots_20: shots of a 20-qubit circuit whose measurements are all
 *     terminal (so every shot is sampled from one final state), published
 *     into a ring by the runtime's publisher (runtime/publish.c, the same
 *     code as `qshm sim --ring`), read by a consumer process that counts
 *     them and reads every word. Shots per second on the consumer's clock,
 *     from RUN_BEGIN to RUN_END of the timed run, after a warm-up run.
 *   - sim.circ_NAME: whole circuits, fused against unfused (below).
 */
#include "bench.h"
#include "bench_suite.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <qshm/format.h>
#include <qshm/qshm.h>

#include "publish.h"
#include "qasm.h"
#include "sim.h"

/* ------------------------------------------------------------------ */
/* A single-qubit gate                                                  */

static int bench_gate_run(const struct bench_measure *m,
			  const struct bench_cfg *cfg, struct bench_out *out)
{
	unsigned n = (unsigned)m->param;
	uint64_t bytes = (uint64_t)16 << n;
	uint64_t avail = bench_mem_available();
	struct rt_error err;
	double s;

	if (n > cfg->gate_max_qubits) {
		bench_errf(out->err, "%u qubits only in the full run", n);
		return 1;
	}
	/* The state, and room to spare for everything else. */
	if (avail && avail < 2 * bytes + ((uint64_t)512 << 20)) {
		bench_errf(out->err, "%u qubits need %.1f GiB; %.1f GiB "
			   "available", n, (double)(2 * bytes) / (1 << 30),
			   (double)avail / (1 << 30));
		return 1;
	}
	rt_error_clear(&err);
	s = sim_bench_gate1(n, n / 2, cfg->gate_reps, &err);
	if (!(s > 0)) {
		bench_errf(out->err, "sim_bench_gate1(%u): %s", n,
			   err.msg[0] ? err.msg : "failed");
		return -1;
	}
	out->v[0] = 2.0 * (double)bytes / s / 1e9;
	out->v[1] = s * 1e3;
	return 0;
}

#define BENCH_GATE_MEASURE(k, lbl, n) {					\
	.key = "sim.gate_" k,						\
	.label = "1-qubit gate, " lbl,					\
	.group = "sim",							\
	.transport = "sim",						\
	.param = (n),							\
	.nmetrics = 2,							\
	.metrics = { "GB_per_s", "ms_per_gate" },			\
	.run = bench_gate_run,						\
}

const struct bench_measure bench_sim_gate[BENCH_GATE_N] = {
	BENCH_GATE_MEASURE("20", "20 qubits", 20),
	BENCH_GATE_MEASURE("22", "22 qubits", 22),
	BENCH_GATE_MEASURE("24", "24 qubits", 24),
	BENCH_GATE_MEASURE("26", "26 qubits", 26),
};

/* ------------------------------------------------------------------ */
/* Shots into a ring                                                    */

/* 20 qubits, entangled, every measurement terminal: 2^20 outcomes with
 * unequal probabilities, all shots sampled from one final state. */
static const char bench_shots_qasm[] =
	"OPENQASM 2.0;\n"
	"include \"qelib1.inc\";\n"
	"qreg q[20];\n"
	"creg c[20];\n"
	"h q;\n"
	"cx q[0],q[1]; cx q[2],q[3]; cx q[4],q[5]; cx q[6],q[7];\n"
	"cx q[8],q[9]; cx q[10],q[11]; cx q[12],q[13]; cx q[14],q[15];\n"
	"cx q[16],q[17]; cx q[18],q[19];\n"
	"ry(0.4) q;\n"
	"cx q[1],q[2]; cx q[5],q[6]; cx q[9],q[10]; cx q[13],q[14];\n"
	"rz(0.3) q;\n"
	"measure q -> c;\n";

#define BENCH_SHOTS_SEED 20260101u

struct bench_shots_arg {
	char name[96];
};

static int bench_shots_fail(char *err, const char *what, int e)
{
	bench_errf(err, "%s: %s [%s]", what, qshm_strerror(e),
		   qshm_last_error());
	return -1;
}

/* The consumer: counts the shots of the second run and reads them. */
static int bench_shots_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_shots_arg *a = varg;
	qshm_consumer *c = NULL;
	uint64_t shots = 0, sink = 0, t_begin = 0, t_end = 0;
	int e = -ENOENT, runs = 0, ends = 0, rc = -1;

	if (bench_ctl_await(&ctl->parent_stage, 1, 0, 30) != 0) {
		bench_errf(ctl->err, "child: parent did not create %s", a->name);
		return -1;
	}
	for (int tries = 0; tries < 2000; tries++) {
		e = qshm_consumer_attach(a->name, QSHM_CONSUMER_RELIABLE, &c);
		if (e != -ENOENT && e != -QSHM_ECREATING)
			break;
		usleep(1000);
	}
	if (e < 0)
		return bench_shots_fail(ctl->err, "child: qshm_consumer_attach",
					e);
	bench_ctl_post(&ctl->child_stage, 1);
	for (;;) {
		struct qshm_record rec;

		e = qshm_consumer_read(c, &rec, QSHM_FOREVER);
		if (e == -QSHM_ECLOSED)
			break;
		if (e < 0) {
			bench_shots_fail(ctl->err, "child: qshm_consumer_read", e);
			goto out;
		}
		if (rec.type == QSHM_REC_RUN_BEGIN) {
			if (++runs == 2)
				t_begin = bench_now_ns();
		} else if (rec.type == QSHM_REC_SHOTS) {
			const struct qshm_shots *h = rec.data;
			const uint64_t *w = (const uint64_t *)(h + 1);
			uint64_t nw;

			if (rec.len < sizeof *h) {
				bench_errf(ctl->err, "child: short SHOTS record");
				goto out;
			}
			nw = (uint64_t)h->count * h->words_per_shot;
			if (sizeof *h + nw * 8 > rec.len) {
				bench_errf(ctl->err, "child: SHOTS record of %u "
					   "bytes holds %llu words", rec.len,
					   (unsigned long long)nw);
				goto out;
			}
			for (uint64_t i = 0; i < nw; i++)
				sink ^= w[i];
			if (runs == 2)
				shots += h->count;
		} else if (rec.type == QSHM_REC_RUN_END) {
			if (++ends == 2)
				t_end = bench_now_ns();
		} else if (rec.type == QSHM_REC_ERROR) {
			bench_errf(ctl->err, "child: the run reported an error");
			goto out;
		}
		qshm_consumer_release(c);
	}
	if (ends != 2 || t_end <= t_begin) {
		bench_errf(ctl->err, "child: saw %d runs end, want 2", ends);
		goto out;
	}
	ctl->count[0] = shots;
	ctl->count[1] = sink;
	ctl->result[0] = (double)shots / ((double)(t_end - t_begin) / 1e9);
	rc = 0;
out:
	qshm_consumer_close(c);
	return rc;
}

static int bench_shots_run(const struct bench_measure *m,
			   const struct bench_cfg *cfg, struct bench_out *out)
{
	struct bench_shots_arg a;
	struct bench_ctl *ctl = NULL;
	struct qasm_circuit *circ = NULL;
	struct sim_run *run = NULL;
	struct sim_config scfg = SIM_CONFIG_INIT;
	struct qshm_create_opts opts;
	struct rt_error err;
	qshm_producer *p = NULL;
	struct publisher pub = { 0 };
	char path[128];
	uint64_t t0, t1;
	pid_t pid = -1;
	int rc = -1, e;

	memset(&a, 0, sizeof a);
	memset(&opts, 0, sizeof opts);
	bench_name(a.name, sizeof a.name, "shots");
	snprintf(path, sizeof path, "/qshm.%s", a.name);
	bench_shm_track(path);
	ctl = bench_ctl_new();
	if (!ctl) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	/* Fork first, so the child inherits no state of ours. */
	pid = bench_spawn(cfg->cpu_b, bench_shots_child, &a, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	rt_error_clear(&err);
	scfg.seed = BENCH_SHOTS_SEED;
	if (qasm_parse_string("bench-shots-20.qasm", bench_shots_qasm,
			      sizeof bench_shots_qasm - 1, 0, &circ, &err) < 0 ||
	    sim_run_create(&run, circ, &scfg, &err) < 0) {
		bench_errf(out->err, "%s", err.msg);
		goto out;
	}
	opts.capacity = (uint64_t)4 << 20; /* as `qshm sim` */
	e = qshm_producer_create(a.name, &opts, &p);
	if (e < 0) {
		bench_shots_fail(out->err, "qshm_producer_create", e);
		goto out;
	}
	bench_ctl_post(&ctl->parent_stage, 1);
	if (bench_ctl_await(&ctl->child_stage, 1, pid, 30) != 0) {
		bench_reap(pid, ctl, 1, out->err);
		pid = -1;
		goto out;
	}
	e = qshm_producer_wait_consumers(p, 1, 20000000000);
	if (e < 0) {
		bench_shots_fail(out->err, "qshm_producer_wait_consumers", e);
		goto out;
	}
	/* Warm-up run: simulates the circuit, builds the sampler. */
	publisher_init(&pub, p, NULL);
	e = publisher_run_shots(&pub, circ, run, cfg->sim_shots / 10 + 1,
				BENCH_SHOTS_SEED, out->err, BENCH_ERR_MAX);
	if (e < 0)
		goto out;
	t0 = bench_now_ns();
	e = publisher_run_shots(&pub, circ, run, cfg->sim_shots,
				BENCH_SHOTS_SEED, out->err, BENCH_ERR_MAX);
	t1 = bench_now_ns();
	if (e < 0)
		goto out;
	qshm_producer_close(p, 0);
	p = NULL;
	rc = bench_reap(pid, ctl, cfg->watchdog_s, out->err);
	pid = -1;
	if (rc == 0) {
		if (ctl->count[0] != cfg->sim_shots) {
			bench_errf(out->err, "the consumer counted %llu shots "
				   "of %llu",
				   (unsigned long long)ctl->count[0],
				   (unsigned long long)cfg->sim_shots);
			rc = -1;
			goto out;
		}
		out->v[0] = ctl->result[0];
		out->v[1] = (double)cfg->sim_shots / ((double)(t1 - t0) / 1e9);
	}
out:
	bench_kill(pid);
	if (p)
		qshm_producer_close(p, 0);
	bench_shm_remove(path);
	publisher_free(&pub);
	sim_run_destroy(run);
	qasm_circuit_free(circ);
	bench_ctl_free(ctl);
	(void)m;
	return rc;
}

const struct bench_measure bench_sim_shots = {
	.key = "sim.shots_20",
	.label = "shots, 20 qubits, into a ring",
	.group = "sim",
	.transport = "sim",
	.param = 20,
	.nmetrics = 2,
	.metrics = { "shots_per_s", "producer_shots_per_s" },
	.run = bench_shots_run,
};

/* ------------------------------------------------------------------ */
/* Whole circuits, fused against unfused                                */

/*
 * sim.circ_NAME: one circuit simulated and sampled for BENCH_CIRC_SHOTS
 * shots in a child process (so that its peak resident memory is its own):
 * first with the fused plan, then with one pass per gate (SIM_FLAG_NO_FUSE),
 * back to back, same threads. Figures: seconds of each (run creation,
 * simulation and shots; parsing excluded), their ratio, the passes over
 * the state of each plan ("sweeps": passes that read and write the whole
 * state, measurements included, a cache-blocked run of steps counted
 * once), the sweeps the fused plan would make without cache blocking, the
 * fused run's effective bandwidth (sweeps x 2 x state bytes / seconds),
 * and the child's peak RSS. _single rows run the fused plan in single
 * precision only (8-byte amplitudes), in a child of their own. Corpus circuits are read from
 * $QSHM_QASM_DIR/medium, else the source tree's tests/qasm/medium;
 * qft_N and random_N (depth 20: each layer u3 on every qubit, then cz on a
 * random pairing) are generated here.
 */
#define BENCH_CIRC_SHOTS 1000
#define BENCH_CIRC_SEED 20260102u

#ifndef BENCH_QASM_DIR
#define BENCH_QASM_DIR "tests/qasm"
#endif

struct bench_circ_arg {
	const char *name;     /* the circuit */
	unsigned unfused;     /* also run unfused */
	unsigned flags;       /* SIM_FLAG_SINGLE: single precision */
};

static uint64_t bench_circ_rng = 0x243f6a8885a308d3ull;

static uint64_t bench_circ_next(void)
{
	bench_circ_rng ^= bench_circ_rng << 13;
	bench_circ_rng ^= bench_circ_rng >> 7;
	bench_circ_rng ^= bench_circ_rng << 17;
	return bench_circ_rng;
}

/* A generated circuit's source into a new buffer, or NULL. */
static char *bench_circ_source(const char *name)
{
	unsigned n;
	size_t cap, len = 0;
	char *s;

	if (sscanf(name, "qft_%u", &n) == 1 && n >= 2 && n <= 30) {
		cap = 256 + (size_t)n * n * 48;
		s = malloc(cap);
		if (!s)
			return NULL;
		len += (size_t)snprintf(s + len, cap - len, "OPENQASM 2.0;\n"
					"include \"qelib1.inc\";\nqreg q[%u];\n"
					"creg c[%u];\n", n, n);
		for (unsigned q = 0; q < n; q += 3)
			len += (size_t)snprintf(s + len, cap - len, "x q[%u];\n", q);
		for (unsigned i = n; i-- > 0;) {
			len += (size_t)snprintf(s + len, cap - len, "h q[%u];\n", i);
			for (unsigned j = i; j-- > 0;)
				len += (size_t)snprintf(s + len, cap - len,
					"cp(pi/%llu) q[%u],q[%u];\n",
					1ull << (i - j), j, i);
		}
		for (unsigned q = 0; q < n / 2; q++)
			len += (size_t)snprintf(s + len, cap - len,
						"swap q[%u],q[%u];\n", q, n - 1 - q);
		snprintf(s + len, cap - len, "measure q -> c;\n");
		return s;
	}
	if (sscanf(name, "random_%u", &n) == 1 && n >= 2 && n <= 30) {
		unsigned perm[30];

		cap = 256 + (size_t)20 * n * 96;
		s = malloc(cap);
		if (!s)
			return NULL;
		bench_circ_rng = 0x243f6a8885a308d3ull ^ n;
		len += (size_t)snprintf(s + len, cap - len, "OPENQASM 2.0;\n"
					"include \"qelib1.inc\";\nqreg q[%u];\n"
					"creg c[%u];\n", n, n);
		for (int layer = 0; layer < 20; layer++) {
			for (unsigned q = 0; q < n; q++)
				len += (size_t)snprintf(s + len, cap - len,
					"u3(%.6f,%.6f,%.6f) q[%u];\n",
					(double)(bench_circ_next() % 6283) / 1000,
					(double)(bench_circ_next() % 6283) / 1000,
					(double)(bench_circ_next() % 6283) / 1000, q);
			for (unsigned q = 0; q < n; q++)
				perm[q] = q;
			for (unsigned q = n; q > 1; q--) {
				unsigned j = (unsigned)(bench_circ_next() % q), t;

				t = perm[q - 1];
				perm[q - 1] = perm[j];
				perm[j] = t;
			}
			for (unsigned q = 0; q + 1 < n; q += 2)
				len += (size_t)snprintf(s + len, cap - len,
					"cz q[%u],q[%u];\n", perm[q], perm[q + 1]);
		}
		snprintf(s + len, cap - len, "measure q -> c;\n");
		return s;
	}
	return NULL;
}

static int bench_circ_parse(const char *name, struct qasm_circuit **c,
			    char *err)
{
	struct rt_error e;
	char *src = bench_circ_source(name);
	int rc;

	rt_error_clear(&e);
	if (src) {
		rc = qasm_parse_string(name, src, strlen(src), 0, c, &e);
		free(src);
	} else {
		const char *dir = getenv("QSHM_QASM_DIR");
		char path[4096];

		if (!dir || !*dir)
			dir = BENCH_QASM_DIR;
		snprintf(path, sizeof path, "%s/medium/%s.qasm", dir, name);
		rc = qasm_parse_file(path, 0, c, &e);
	}
	if (rc < 0)
		bench_errf(err, "%s", e.msg);
	return rc;
}

static int bench_circ_discard(void *ctx, const uint64_t *bits, size_t n,
			      size_t words)
{
	uint64_t *sink = ctx;

	for (size_t i = 0; i < n * words; i++)
		*sink ^= bits[i];
	return 0;
}

/* Sweeps of the plan with @flags, without running it. */
static int bench_circ_sweeps(const struct qasm_circuit *c, unsigned flags,
			     uint64_t *sweeps, char *err)
{
	struct sim_config scfg = SIM_CONFIG_INIT;
	struct sim_plan_stats st;
	struct sim_run *run = NULL;
	struct rt_error e;

	scfg.flags = flags;
	rt_error_clear(&e);
	/* The state is allocated but never touched: no resident pages. */
	if (sim_run_create(&run, c, &scfg, &e) != 0) {
		bench_errf(err, "%s", e.msg);
		return -1;
	}
	sim_run_plan_stats(run, &st);
	*sweeps = st.sweeps;
	sim_run_destroy(run);
	return 0;
}

/* One plan: seconds into *secs, sweeps into *sweeps. */
static int bench_circ_once(const struct qasm_circuit *c, unsigned flags,
			   double *secs, uint64_t *sweeps, char *err)
{
	struct sim_config scfg = SIM_CONFIG_INIT;
	struct sim_plan_stats st;
	struct sim_run *run = NULL;
	struct rt_error e;
	uint64_t t0, sink = 0;
	int rc;

	scfg.seed = BENCH_CIRC_SEED;
	scfg.flags = flags;
	rt_error_clear(&e);
	t0 = bench_now_ns();
	rc = sim_run_create(&run, c, &scfg, &e);
	if (rc == 0)
		rc = sim_run_shots(run, BENCH_CIRC_SHOTS, bench_circ_discard,
				   &sink, &e);
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	if (rc != 0) {
		bench_errf(err, "%s", e.msg[0] ? e.msg : "the run failed");
		sim_run_destroy(run);
		return -1;
	}
	sim_run_plan_stats(run, &st);
	*sweeps = st.sweeps;
	sim_run_destroy(run);
	return 0;
}

static int bench_circ_child(void *varg, struct bench_ctl *ctl)
{
	const struct bench_circ_arg *a = varg;
	struct qasm_circuit *c = NULL;
	struct rusage ru;
	double s;
	uint64_t sweeps;

	if (bench_circ_parse(a->name, &c, ctl->err) < 0)
		return -1;
	if (bench_circ_once(c, a->flags, &s, &sweeps, ctl->err) < 0)
		goto fail;
	ctl->result[0] = s;
	ctl->count[0] = sweeps;
	ctl->result[2] = c->nqubits;
	ctl->result[3] = (a->flags & SIM_FLAG_SINGLE) ? 8 : 16;
	ctl->result[1] = 0;
	ctl->count[1] = 0;
	if (bench_circ_sweeps(c, a->flags | SIM_FLAG_NO_BLOCKING,
			      &ctl->count[3], ctl->err) < 0)
		goto fail;
	if (a->unfused) {
		if (bench_circ_once(c, a->flags | SIM_FLAG_NO_FUSE, &s, &sweeps,
				    ctl->err) < 0)
			goto fail;
		ctl->result[1] = s;
		ctl->count[1] = sweeps;
	}
	getrusage(RUSAGE_SELF, &ru);
	ctl->count[2] = (uint64_t)ru.ru_maxrss;  /* KiB */
	qasm_circuit_free(c);
	return 0;
fail:
	qasm_circuit_free(c);
	return -1;
}

static int bench_circ_run(const struct bench_measure *m,
			  const struct bench_cfg *cfg, struct bench_out *out)
{
	const struct bench_circ_arg *a = m->arg;
	struct bench_ctl *ctl = bench_ctl_new();
	uint64_t avail = bench_mem_available();
	uint64_t bytes = (uint64_t)((a->flags & SIM_FLAG_SINGLE) ? 8 : 16)
			 << m->param;
	pid_t pid;
	int rc;

	if (!ctl) {
		bench_errf(out->err, "out of memory");
		return -1;
	}
	if (cfg->quick && m->param > 20) {
		bench_errf(out->err, "only in the full run");
		bench_ctl_free(ctl);
		return 1;
	}
	if (avail && avail < bytes + ((uint64_t)256 << 20)) {
		bench_errf(out->err, "%llu qubits need %.1f GiB; %.1f GiB "
			   "available", (unsigned long long)m->param,
			   (double)bytes / (1 << 30), (double)avail / (1 << 30));
		bench_ctl_free(ctl);
		return 1;
	}
	pid = bench_spawn(-1, bench_circ_child, (void *)a, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		bench_ctl_free(ctl);
		return -1;
	}
	rc = bench_reap(pid, ctl, cfg->quick ? 300 : 1200, out->err);
	if (rc == 0) {
		double qb = ctl->result[3] * (double)((uint64_t)1 <<
						      (unsigned)ctl->result[2]);

		out->v[0] = ctl->result[0];
		out->v[1] = a->unfused ? ctl->result[1] : NAN;
		out->v[2] = a->unfused && ctl->result[0] > 0
				    ? ctl->result[1] / ctl->result[0] : NAN;
		out->v[3] = (double)ctl->count[0];
		out->v[4] = a->unfused ? (double)ctl->count[1] : NAN;
		out->v[5] = ctl->result[0] > 0
				    ? (double)ctl->count[0] * 2 * qb /
				      ctl->result[0] / 1e9 : NAN;
		out->v[6] = (double)ctl->count[2] / 1024;
		out->v[7] = (double)ctl->count[3];
	}
	bench_ctl_free(ctl);
	return rc;
}

#define BENCH_CIRC_ROW(k, nm, lbl, nq, unf, fl) {			\
	.key = "sim.circ_" k,						\
	.label = lbl,							\
	.group = "sim",							\
	.transport = "sim",						\
	.param = (nq),							\
	.arg = &(const struct bench_circ_arg){ nm, (unf), (fl) },	\
	.nmetrics = 8,							\
	.metrics = { "fused_s", "unfused_s", "speedup", "sweeps",	\
		     "sweeps_unfused", "GB_per_s", "peak_rss_MiB",	\
		     "sweeps_unblocked" },				\
	.run = bench_circ_run,						\
}
#define BENCH_CIRC(nm, lbl, nq, unf) BENCH_CIRC_ROW(nm, nm, lbl, nq, unf, 0)
/* Single precision, fused only: its own child, so its own peak RSS. */
#define BENCH_CIRC_SINGLE(nm, lbl, nq)					\
	BENCH_CIRC_ROW(nm "_single", nm, lbl, nq, 0, SIM_FLAG_SINGLE)

const struct bench_measure bench_sim_circ_quick[BENCH_CIRC_QUICK_N] = {
	BENCH_CIRC("qft_20", "qft, 20 qubits", 20, 1),
	BENCH_CIRC("random_20", "random depth 20, 20 qubits", 20, 1),
	BENCH_CIRC_SINGLE("random_20", "random_20, single precision", 20),
};

/* bwt_n21 unfused takes minutes (over 100 s in one pass): fused only. */
const struct bench_measure bench_sim_circ_full[BENCH_CIRC_FULL_N] = {
	BENCH_CIRC("ising_n26", "ising_n26", 26, 1),
	BENCH_CIRC("wstate_n27", "wstate_n27", 27, 1),
	BENCH_CIRC("bwt_n21", "bwt_n21 (fused only)", 21, 0),
	BENCH_CIRC("swap_test_n25", "swap_test_n25", 25, 1),
	BENCH_CIRC("knn_n25", "knn_n25", 25, 1),
	BENCH_CIRC("qft_24", "qft, 24 qubits", 24, 1),
	BENCH_CIRC("random_24", "random depth 20, 24 qubits", 24, 1),
	BENCH_CIRC("random_26", "random depth 20, 26 qubits", 26, 0),
	BENCH_CIRC_SINGLE("ising_n26", "ising_n26, single precision", 26),
	BENCH_CIRC_SINGLE("wstate_n27", "wstate_n27, single precision", 27),
	BENCH_CIRC_SINGLE("random_24", "random_24, single precision", 24),
};
