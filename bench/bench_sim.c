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
 */
#include "bench.h"
#include "bench_suite.h"

#include <errno.h>
#include <stdlib.h>
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
