/* SPDX-License-Identifier: MIT */
/*
 * bench_service.c - the round trip of a trivial job (1 qubit, 1 shot,
 * counts back) through `qshm serve` (a forked service process running
 * svc_run(), the C client in this one), beside the same job done
 * in-process: parse, plan, count with rt_counts_run(), the calls the
 * service makes. Their difference is what the service adds. Reported,
 * not asserted (issue 12's targets need a busy-polling service and the
 * socket and ZeroMQ servers, not built yet).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "qasm.h"
#include "qshm/client.h"
#include "rt_counts.h"
#include "service.h"
#include "sim.h"

static const char bench_svc_qasm[] =
	"OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
	"qreg q[1];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\n";

/* Fewer round trips than the futex figure: each job parses a circuit. */
static uint64_t bench_svc_iters(const struct bench_cfg *cfg)
{
	return cfg->lat_block_iters < 5000 ? cfg->lat_block_iters : 5000;
}

/* One trivial job in-process; 0 or a negative error. */
static int bench_svc_direct_once(uint64_t seed)
{
	struct sim_config sc = SIM_CONFIG_INIT;
	struct qasm_circuit *c = NULL;
	struct sim_run *run = NULL;
	struct sim_count_entry *e = NULL;
	struct rt_error err;
	size_t n;
	int rc;

	rc = qasm_parse_string("job", bench_svc_qasm,
			       sizeof(bench_svc_qasm) - 1, 0, &c, &err);
	if (rc)
		return rc;
	sc.seed = seed;
	rc = sim_run_create(&run, c, &sc, &err);
	if (!rc)
		rc = rt_counts_run(run, c, 1, NULL, NULL, &e, &n, &err);
	if (!rc && (n != 1 || e[0].count != 1))
		rc = -EPROTO;
	free(e);
	sim_run_destroy(run);
	qasm_circuit_free(c);
	return rc;
}

static int bench_svc_direct_run(const struct bench_measure *m,
				const struct bench_cfg *cfg,
				struct bench_out *out)
{
	uint64_t n = bench_svc_iters(cfg), warm = n / 10;
	uint64_t *samples = malloc(n * sizeof(*samples));

	(void)m;
	if (!samples) {
		bench_errf(out->err, "out of memory");
		return -1;
	}
	for (uint64_t i = 0; i < warm + n; i++) {
		uint64_t t0 = bench_ticks();
		int rc = bench_svc_direct_once(i);
		uint64_t t1 = bench_ticks();
		if (rc) {
			bench_errf(out->err, "in-process job: %s",
				   strerror(-rc));
			free(samples);
			return -1;
		}
		if (i >= warm)
			samples[i - warm] = t1 - t0;
	}
	bench_lat_fill(out, samples, n);
	free(samples);
	return 0;
}

/* ---- through the service ---- */

static volatile sig_atomic_t bench_svc_stop;

static void bench_svc_on_term(int sig)
{
	(void)sig;
	bench_svc_stop = 1;
}

static void bench_svc_ready(void *ctx)
{
	bench_ctl_post(&((struct bench_ctl *)ctx)->child_stage, 1);
}

static int bench_svc_child(void *arg, struct bench_ctl *ctl)
{
	struct svc_config cfg = {
		.name = arg, .workers = 1, .max_qubits = 4, .queue = 16,
		.stop = &bench_svc_stop, .ready = bench_svc_ready,
		.ready_ctx = ctl,
	};
	struct sigaction sa = { .sa_handler = bench_svc_on_term };
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	rc = svc_run(&cfg);
	if (rc)
		bench_errf(ctl->err, "svc_run: %s", qshm_strerror(rc));
	return rc ? 1 : 0;
}

static int bench_svc_serve_run(const struct bench_measure *m,
			       const struct bench_cfg *cfg,
			       struct bench_out *out)
{
	uint64_t n = bench_svc_iters(cfg), warm = n / 10;
	uint64_t *samples = malloc(n * sizeof(*samples));
	struct bench_ctl *ctl = bench_ctl_new();
	struct qshm_job_spec spec = { .shots = 1,
				      .deadline_ns = QSHM_FOREVER };
	qshm_client *cl = NULL;
	char name[96], shm[128];
	pid_t pid = -1;
	int rc = -1;

	(void)m;
	if (!samples || !ctl) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	bench_name(name, sizeof(name), "svc");
	snprintf(shm, sizeof(shm), "/qshm.%s", name);
	bench_shm_track(shm);
	pid = bench_spawn(cfg->cpu_b, bench_svc_child, name, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	if (bench_ctl_await(&ctl->child_stage, 1, pid, 10) != 0) {
		bench_reap(pid, ctl, 1, out->err);
		pid = -1;
		goto out;
	}
	if (qshm_client_connect(name, 5000000000, &cl)) {
		bench_errf(out->err, "connect: %s", qshm_client_error(NULL));
		goto out;
	}
	for (uint64_t i = 0; i < warm + n; i++) {
		struct qshm_job_result *res;
		uint64_t job, t0, t1;
		int err;

		spec.seed = i;
		t0 = bench_ticks();
		err = qshm_client_submit(cl, bench_svc_qasm,
					 sizeof(bench_svc_qasm) - 1, &spec,
					 &job);
		if (!err)
			err = qshm_client_wait(cl, job, 10000000000, &res);
		t1 = bench_ticks();
		if (err) {
			bench_errf(out->err, "job: %s", qshm_client_error(cl));
			goto out;
		}
		qshm_job_result_free(res);
		if (i >= warm)
			samples[i - warm] = t1 - t0;
	}
	rc = 0;
out:
	qshm_client_close(cl);
	if (pid > 0) {
		kill(pid, SIGTERM);
		if (bench_reap(pid, ctl, 10, out->err))
			rc = -1;
	}
	if (rc == 0)
		bench_lat_fill(out, samples, n);
	free(samples);
	bench_ctl_free(ctl);
	return rc;
}

const struct bench_measure bench_svc_direct = {
	.key = "lat.svc_direct",
	.label = "trivial job, in-process",
	.group = "latency",
	.transport = "direct",
	.param = 1,
	.nmetrics = BENCH_LAT_NMETRICS,
	.metrics = { BENCH_LAT_METRICS },
	.run = bench_svc_direct_run,
};

const struct bench_measure bench_svc_serve = {
	.key = "lat.svc_serve",
	.label = "trivial job, qshm serve",
	.group = "latency",
	.transport = "serve",
	.param = 1,
	.nmetrics = BENCH_LAT_NMETRICS,
	.metrics = { BENCH_LAT_METRICS },
	.run = bench_svc_serve_run,
};
