/* SPDX-License-Identifier: MIT */
/*
 * bench_service.c - the round trip of a job, from submitting it to holding
 * its counts, for two jobs:
 *
 *   - trivial: 1 qubit, 1 shot (what the service itself costs);
 *   - vqe: one step of a variational loop, a 4-qubit ansatz (two layers
 *     of ry rotations around a cx chain) with new angles every step, 1000
 *     shots, counts back;
 *
 * through the paths measured in the same run: in-process (the job's calls,
 * no transport), `qshm serve` (a forked service, svc_run(), one worker)
 * with the C client, the same service with the Python client (`python3 -m
 * qshm bench-client`, asyncio), and the same job behind a Unix stream
 * socket server and a ZeroMQ REQ/REP server (bench_service_ipc.c). Through
 * the service the variational step is a template registered once whose
 * parameters each step binds (the service's way: no text is sent or
 * parsed again), and also, for comparison, its text every step (as the
 * socket and ZeroMQ servers get it). Every server times the simulator's own
 * part (planning, running and counting, as the service's sim_ns does), so
 * each figure also
 * gives the overhead: end to end minus sim_ns, per job, p50 and p99.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_service.h"
#include "qasm.h"
#include "qshm/client.h"
#include "rt_counts.h"
#include "service.h"
#include "sim.h"

enum bench_svc_work { BENCH_SVC_TRIVIAL, BENCH_SVC_VQE };

/* Shots of each work. */
static const uint64_t bench_svc_shots[2] = { 1, 1000 };

static const char bench_svc_trivial_qasm[] =
	"OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
	"qreg q[1];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\n";

/* The variational step as a template registered once: its parameters
 * are bound to each step's angles. The text jobs write them in. */
static const char bench_svc_vqe_template[] =
	"OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
	"param t0, t1, t2, t3, t4, t5, t6, t7;\n"
	"qreg q[4];\ncreg c[4];\n"
	"ry(t0) q[0];\nry(t1) q[1];\nry(t2) q[2];\nry(t3) q[3];\n"
	"cx q[0],q[1];\ncx q[1],q[2];\ncx q[2],q[3];\n"
	"ry(t4) q[0];\nry(t5) q[1];\nry(t6) q[2];\nry(t7) q[3];\n"
	"measure q -> c;\n";

/* Step i's angles. */
static void bench_svc_angles(uint64_t i, double t[BENCH_SVC_NANGLES])
{
	for (int k = 0; k < BENCH_SVC_NANGLES; k++)
		t[k] = 0.1 + 0.37 * k + 0.001 * (double)(i % 5000);
}

/* The text of step i's job, with its angles written in; returns its
 * length. */
static size_t bench_svc_text(int work, const double *t, char *buf,
			     size_t size)
{
	int n;

	if (work == BENCH_SVC_TRIVIAL) {
		memcpy(buf, bench_svc_trivial_qasm,
		       sizeof bench_svc_trivial_qasm);
		return sizeof bench_svc_trivial_qasm - 1;
	}
	n = snprintf(buf, size,
		     "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		     "qreg q[4];\ncreg c[4];\n"
		     "ry(%.17g) q[0];\nry(%.17g) q[1];\n"
		     "ry(%.17g) q[2];\nry(%.17g) q[3];\n"
		     "cx q[0],q[1];\ncx q[1],q[2];\ncx q[2],q[3];\n"
		     "ry(%.17g) q[0];\nry(%.17g) q[1];\n"
		     "ry(%.17g) q[2];\nry(%.17g) q[3];\n"
		     "measure q -> c;\n",
		     t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
	return (size_t)n < size ? (size_t)n : size - 1;
}

static uint64_t bench_svc_mono_ns(void)
{
	return bench_now_ns();
}

long bench_svc_job(const char *qasm, size_t len, uint64_t shots,
		   uint64_t seed, uint64_t *sim_ns, uint32_t *nent, void *buf,
		   size_t size)
{
	struct sim_config sc = SIM_CONFIG_INIT;
	struct qasm_circuit *c = NULL;
	struct sim_run *run = NULL;
	struct sim_count_entry *e = NULL;
	struct rt_error err;
	size_t n = 0, off = 0;
	uint64_t t0;
	long rc;

	rt_error_clear(&err);
	rc = qasm_parse_string("job", qasm, len, 0, &c, &err);
	if (rc)
		return rc;
	sc.seed = seed;
	/* sim_ns as the service measures it (service/svc_job.c, simulate()):
	 * planning the run, running it and counting. */
	t0 = bench_svc_mono_ns();
	rc = sim_run_create(&run, c, &sc, &err);
	if (!rc)
		rc = rt_counts_run(run, c, shots, NULL, NULL, &e, &n, &err);
	*sim_ns = bench_svc_mono_ns() - t0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t sl = strlen(e[i].outcome);
		uint16_t l16 = (uint16_t)sl;

		if (sl > 0xffff || off + 10 + sl > size) {
			rc = -E2BIG;
			break;
		}
		memcpy((char *)buf + off, &e[i].count, 8);
		memcpy((char *)buf + off + 8, &l16, 2);
		memcpy((char *)buf + off + 10, e[i].outcome, sl);
		off += 10 + sl;
	}
	*nent = (uint32_t)n;
	free(e);
	sim_run_destroy(run);
	qasm_circuit_free(c);
	return rc ? rc : (long)off;
}

int bench_svc_decode(const void *buf, size_t len, uint32_t n,
		     struct bench_svc_reply *r)
{
	const char *p = buf;
	size_t off = 0;

	r->counted = 0;
	r->outcomes = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t count;
		uint16_t sl;

		if (off + 10 > len)
			return -EPROTO;
		memcpy(&count, p + off, 8);
		memcpy(&sl, p + off + 8, 2);
		if (off + 10 + sl > len)
			return -EPROTO;
		r->counted += count;
		r->outcomes++;
		off += 10 + (size_t)sl;
	}
	return off == len ? 0 : -EPROTO;
}

/* ---- in-process: the job's own calls, no transport ---- */

struct bench_svc_direct_conn {
	char buf[BENCH_SVC_MAX_REPLY];
};

static int bench_svc_direct_open(void **conn, const char *endpoint,
				 char *err)
{
	(void)endpoint;
	*conn = malloc(sizeof(struct bench_svc_direct_conn));
	if (!*conn) {
		bench_errf(err, "out of memory");
		return -1;
	}
	return 0;
}

static int bench_svc_direct_call(void *conn, const char *qasm, size_t len,
				 uint64_t shots, uint64_t seed,
				 const double *angles,
				 struct bench_svc_reply *r, char *err)
{
	struct bench_svc_direct_conn *c = conn;
	uint32_t n;

	(void)angles;   /* the text has them */
	long k = bench_svc_job(qasm, len, shots, seed, &r->sim_ns, &n,
			       c->buf, sizeof c->buf);

	if (k < 0) {
		bench_errf(err, "in-process job: %s", strerror((int)-k));
		return -1;
	}
	return bench_svc_decode(c->buf, (size_t)k, n, r) ? -1 : 0;
}

static void bench_svc_direct_close(void *conn)
{
	free(conn);
}

static const struct bench_svc_transport bench_svc_direct = {
	.name = "direct",
	.open = bench_svc_direct_open,
	.call = bench_svc_direct_call,
	.close = bench_svc_direct_close,
};

/* ---- qshm serve, C client ---- */

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

/* The service: svc_run() with one worker, stopped by SIGTERM; busy: its
 * main thread spins instead of sleeping (--busy-poll). */
static int bench_svc_serve_run_server(void *arg, struct bench_ctl *ctl,
				      int busy)
{
	struct svc_config cfg = {
		.name = arg, .workers = 1, .max_qubits = 8, .queue = 16,
		.stop = &bench_svc_stop, .ready = bench_svc_ready,
		.ready_ctx = ctl, .busy_poll = busy,
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

static int bench_svc_serve_server(void *arg, struct bench_ctl *ctl)
{
	return bench_svc_serve_run_server(arg, ctl, 0);
}

static int bench_svc_busy_server(void *arg, struct bench_ctl *ctl)
{
	return bench_svc_serve_run_server(arg, ctl, 1);
}

static int bench_svc_serve_open(void **conn, const char *endpoint,
				char *err)
{
	qshm_client *cl;

	if (qshm_client_connect(endpoint, 5000000000, &cl)) {
		bench_errf(err, "connect: %s", qshm_client_error(NULL));
		return -1;
	}
	*conn = cl;
	return 0;
}

static int bench_svc_serve_call(void *conn, const char *qasm, size_t len,
				uint64_t shots, uint64_t seed,
				const double *angles,
				struct bench_svc_reply *r, char *err)
{
	qshm_client *cl = conn;
	struct qshm_job_spec spec = { .shots = shots, .seed = seed,
				      .deadline_ns = QSHM_FOREVER };
	struct qshm_job_result *res;
	uint64_t job;
	int rc;

	(void)angles;   /* the text has them */
	rc = qshm_client_submit(cl, qasm, len, &spec, &job);
	if (!rc)
		rc = qshm_client_wait(cl, job, 10000000000, &res);
	if (rc) {
		bench_errf(err, "job: %s", qshm_client_error(cl));
		return -1;
	}
	r->sim_ns = res->sim_ns;
	r->counted = 0;
	r->outcomes = (uint32_t)res->n;
	for (size_t i = 0; i < res->n; i++)
		r->counted += res->entries[i].count;
	qshm_job_result_free(res);
	return 0;
}

static void bench_svc_serve_close(void *conn)
{
	qshm_client_close(conn);
}

static const struct bench_svc_transport bench_svc_serve = {
	.name = "serve",
	.server = bench_svc_serve_server,
	.open = bench_svc_serve_open,
	.call = bench_svc_serve_call,
	.close = bench_svc_serve_close,
};

static const struct bench_svc_transport bench_svc_serve_busy = {
	.name = "busy",
	.server = bench_svc_busy_server,
	.open = bench_svc_serve_open,
	.call = bench_svc_serve_call,
	.close = bench_svc_serve_close,
};

/* ---- qshm serve, C client, the template registered once ---- */

struct bench_svc_reg_conn {
	qshm_client *cl;
	uint64_t circuit;
};

static int bench_svc_reg_open(void **conn, const char *endpoint, char *err)
{
	struct bench_svc_reg_conn *c = malloc(sizeof(*c));

	if (!c) {
		bench_errf(err, "out of memory");
		return -1;
	}
	if (qshm_client_connect(endpoint, 5000000000, &c->cl)) {
		bench_errf(err, "connect: %s", qshm_client_error(NULL));
		free(c);
		return -1;
	}
	if (qshm_client_register(c->cl, bench_svc_vqe_template,
				 sizeof(bench_svc_vqe_template) - 1,
				 5000000000, &c->circuit)) {
		bench_errf(err, "register: %s", qshm_client_error(c->cl));
		qshm_client_close(c->cl);
		free(c);
		return -1;
	}
	*conn = c;
	return 0;
}

/* Binds the step's angles to the registered template: no text. */
static int bench_svc_reg_call(void *conn, const char *qasm, size_t len,
			      uint64_t shots, uint64_t seed,
			      const double *angles,
			      struct bench_svc_reply *r, char *err)
{
	struct bench_svc_reg_conn *c = conn;
	struct qshm_run_spec spec = {
		.shots = shots, .seed = seed, .deadline_ns = QSHM_FOREVER,
		.want = QSHM_WANT_COUNTS, .nparams = BENCH_SVC_NANGLES,
		.params = angles,
	};
	const struct qshm_job_view *v;
	uint64_t job;
	int rc;

	(void)qasm;
	(void)len;
	rc = qshm_client_submit_circuit(c->cl, c->circuit, &spec, &job);
	if (!rc)
		rc = qshm_client_wait_view(c->cl, job, 10000000000, &v);
	if (rc) {
		bench_errf(err, "job: %s", qshm_client_error(c->cl));
		return -1;
	}
	r->sim_ns = v->sim_ns;
	r->counted = 0;
	r->outcomes = (uint32_t)v->ncounts;
	for (size_t i = 0; i < v->ncounts; i++)
		r->counted += v->counts[i].count;
	qshm_client_view_release(c->cl, v);
	return 0;
}

static void bench_svc_reg_close(void *conn)
{
	struct bench_svc_reg_conn *c = conn;

	if (!c)
		return;
	qshm_client_close(c->cl);
	free(c);
}

static const struct bench_svc_transport bench_svc_serve_reg = {
	.name = "serve",
	.server = bench_svc_serve_server,
	.open = bench_svc_reg_open,
	.call = bench_svc_reg_call,
	.close = bench_svc_reg_close,
};

/* ---- the measurement ---- */

enum bench_svc_path { BENCH_SVC_DIRECT, BENCH_SVC_SERVE, BENCH_SVC_PYTHON,
		      BENCH_SVC_UNIX, BENCH_SVC_ZMQ, BENCH_SVC_SERVE_REG,
		      BENCH_SVC_SERVE_BUSY };

static const struct bench_svc_transport *bench_svc_transport_of(int path)
{
	switch (path) {
	case BENCH_SVC_DIRECT:
		return &bench_svc_direct;
	case BENCH_SVC_UNIX:
		return &bench_svc_unix;
	case BENCH_SVC_ZMQ:
		return &bench_svc_zmq;
	case BENCH_SVC_SERVE_REG:
		return &bench_svc_serve_reg;
	case BENCH_SVC_SERVE_BUSY:
		return &bench_svc_serve_busy;
	default:
		return &bench_svc_serve;
	}
}

/* Timed round trips: each job parses a circuit, so fewer than the futex
 * figure; a variational step runs 1000 shots. --quick keeps the suite's
 * smoke run short: its p99 is then a rough figure. */
static uint64_t bench_svc_iters(const struct bench_cfg *cfg, int work,
				int path)
{
	uint64_t cap = work == BENCH_SVC_TRIVIAL ? (cfg->quick ? 300 : 5000)
						 : (cfg->quick ? 100 : 2000);
	uint64_t n = cfg->lat_block_iters;

	if (path == BENCH_SVC_PYTHON)
		cap /= 2;
	/* Spinning threads on a machine without spare CPUs take a time
	 * slice per hop: keep the smoke run short. */
	if (path == BENCH_SVC_SERVE_BUSY && cfg->quick)
		cap /= 3;
	return n < cap ? n : cap;
}

/* Fills the latency metrics from end-to-end ticks, and the overhead
 * metrics (6, 7) from ovh (ns); sorts both. */
static void bench_svc_fill(struct bench_out *out, uint64_t *ticks,
			   uint64_t *ovh, size_t n)
{
	bench_lat_fill(out, ticks, n);
	out->v[6] = bench_pct_sort(ovh, n, 0.50);
	out->v[7] = bench_pct_sort(ovh, n, 0.99);
}

static int bench_svc_check(const struct bench_svc_reply *r, uint64_t shots,
			   char *err)
{
	if (r->counted != shots || r->outcomes == 0) {
		bench_errf(err, "reply counts %llu shots in %u outcomes, "
			   "not %llu", (unsigned long long)r->counted,
			   r->outcomes, (unsigned long long)shots);
		return -1;
	}
	return 0;
}

static int bench_svc_python(const struct bench_cfg *cfg, int work,
			    const char *service, uint64_t warm, uint64_t n,
			    uint64_t *ticks, uint64_t *ovh, char *err);

static int bench_svc_run(const struct bench_measure *m,
			 const struct bench_cfg *cfg, struct bench_out *out)
{
	int work = (int)(m->param >> 8), path = (int)(m->param & 0xff);
	const struct bench_svc_transport *t = bench_svc_transport_of(path);
	uint64_t n = bench_svc_iters(cfg, work, path), warm = n / 10;
	uint64_t shots = bench_svc_shots[work];
	struct bench_peer peer = { NULL, -1 };
	uint64_t *ticks = NULL, *ovh = NULL;
	void *conn = NULL;
	char name[96], shm[128], text[BENCH_SVC_MAX_TEXT];
	int rc = -1;

	if (path == BENCH_SVC_ZMQ && !bench_svc_have_zmq()) {
		bench_errf(out->err, "built without libzmq");
		return 1;
	}
	ticks = bench_samples_new(n, out->err);
	ovh = ticks ? bench_samples_new(n, out->err) : NULL;
	if (!ovh)
		goto out;
	bench_name(name, sizeof(name), t->name);
	if (t->server == bench_svc_serve_server ||
	    t->server == bench_svc_busy_server) {
		snprintf(shm, sizeof(shm), "/qshm.%s", name);
		bench_shm_track(shm);
	}
	if (t->server &&
	    bench_peer_start(&peer, cfg, t->server, name, out->err) != 0)
		goto out;
	if (path == BENCH_SVC_PYTHON) {
		rc = bench_svc_python(cfg, work, name, warm, n, ticks, ovh,
				      out->err);
		if (rc > 0) {
			bench_peer_finish(&peer, SIGTERM, 10, out->err);
			goto out;
		}
		if (rc < 0)
			goto out;
		rc = -1;
	} else {
		if (t->open(&conn, name, out->err))
			goto out;
		for (uint64_t i = 0; i < warm + n; i++) {
			struct bench_svc_reply r;
			double ang[BENCH_SVC_NANGLES];
			size_t len;
			uint64_t t0;
			int err;

			bench_svc_angles(i, ang);
			len = bench_svc_text(work, ang, text, sizeof(text));
			t0 = bench_ticks();
			err = t->call(conn, text, len, shots, i,
				      work == BENCH_SVC_VQE ? ang : NULL, &r,
				      out->err);
			uint64_t t1 = bench_ticks();

			if (err || bench_svc_check(&r, shots, out->err))
				goto out;
			if (i >= warm) {
				double e2e = bench_ticks_ns(t1 - t0);
				ticks[i - warm] = t1 - t0;
				ovh[i - warm] = e2e > (double)r.sim_ns ?
					(uint64_t)(e2e - (double)r.sim_ns) : 0;
			}
		}
		t->close(conn);
		conn = NULL;
	}
	/* The servers exit when their client goes; the service on SIGTERM. */
	if (peer.pid > 0 &&
	    bench_peer_finish(&peer, t->server == bench_svc_serve_server ||
			      t->server == bench_svc_busy_server ?
			      SIGTERM : 0, 10,
			      out->err))
		goto out;
	bench_svc_fill(out, ticks, ovh, n);
	rc = 0;
out:
	if (conn)
		t->close(conn);
	bench_peer_kill(&peer);
	free(ticks);
	free(ovh);
	return rc;
}

/* ---- the Python client: `python3 -m qshm bench-client` ---- */

#ifndef BENCH_PYTHON_DIR
#define BENCH_PYTHON_DIR ""
#endif
#ifndef BENCH_BUILD_ROOT
#define BENCH_BUILD_ROOT ""
#endif

/* Runs the Python client against service for warm + n jobs; it prints one
 * line per timed job: end-to-end ns and sim_ns. Returns 0, 1 (cannot run
 * here: err says why) or -1. */
static int bench_svc_python(const struct bench_cfg *cfg, int work,
			    const char *service, uint64_t warm, uint64_t n,
			    uint64_t *ticks, uint64_t *ovh, char *err)
{
	static const char launcher[] =
		"import sys\n"
		"try:\n"
		"    import qshm.bench_client as b\n"
		"except ImportError as e:\n"
		"    print('n/a: import qshm:', e, file=sys.stderr)\n"
		"    sys.exit(77)\n"
		"sys.exit(b.main(sys.argv[1:]))\n";
	char a_iters[32], a_warm[32], pyinit[512];
	char *argv[] = { "python3", "-c", (char *)launcher, (char *)service,
			 "--kind", work == BENCH_SVC_TRIVIAL ? "trivial" : "vqe",
			 "--iters", a_iters, "--warmup", a_warm, NULL };
	char *buf = NULL, errbuf[256] = "";
	size_t len = 0, cap = 0;
	int out_pipe[2], err_pipe[2], status = 0;
	uint64_t got = 0;
	pid_t pid;
	struct stat st;

	(void)cfg;
	snprintf(a_iters, sizeof(a_iters), "%llu", (unsigned long long)n);
	snprintf(a_warm, sizeof(a_warm), "%llu", (unsigned long long)warm);
	if (access("/usr/bin/python3", X_OK) != 0) {
		bench_errf(err, "no /usr/bin/python3");
		return 1;
	}
	if (pipe2(out_pipe, O_CLOEXEC))
		return bench_errf(err, "pipe: %s", strerror(errno)), -1;
	if (pipe2(err_pipe, O_CLOEXEC)) {
		close(out_pipe[0]);
		close(out_pipe[1]);
		return bench_errf(err, "pipe: %s", strerror(errno)), -1;
	}
	snprintf(pyinit, sizeof(pyinit), "%s/qshm/__init__.py",
		 BENCH_PYTHON_DIR);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(out_pipe[1], 1);
		dup2(err_pipe[1], 2);
		/* From a build tree: its package and libraries; installed:
		 * whatever python3 finds. */
		if (BENCH_PYTHON_DIR[0] && stat(pyinit, &st) == 0) {
			setenv("PYTHONPATH", BENCH_PYTHON_DIR, 1);
			setenv("QSHM_BUILD_DIR", BENCH_BUILD_ROOT, 1);
		}
		setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
		execv("/usr/bin/python3", argv);
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (pid < 0) {
		close(out_pipe[0]);
		close(err_pipe[0]);
		return bench_errf(err, "fork: %s", strerror(errno)), -1;
	}
	bench_child_track(pid);
	for (;;) {
		ssize_t k;

		if (len + 4096 > cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 65536);
			if (!b)
				break;
			buf = b;
		}
		k = read(out_pipe[0], buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	{
		ssize_t k = read(err_pipe[0], errbuf, sizeof(errbuf) - 1);
		errbuf[k > 0 ? k : 0] = '\0';
		errbuf[strcspn(errbuf, "\n")] = '\0';
	}
	close(out_pipe[0]);
	close(err_pipe[0]);
	waitpid(pid, &status, 0);
	bench_child_forget(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		bench_errf(err, "%s", errbuf[0] ? errbuf : "python: n/a");
		free(buf);
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !buf) {
		bench_errf(err, "python3 -m qshm bench-client: status %#x%s%s",
			   status, errbuf[0] ? ": " : "", errbuf);
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	for (char *p = buf, *e; got < n && *p; p = e) {
		unsigned long long e2e, sim;

		e = strchr(p, '\n');
		e = e ? e + 1 : p + strlen(p);
		if (sscanf(p, "%llu %llu", &e2e, &sim) != 2)
			continue;
		ticks[got] = bench_ns_ticks((double)e2e);
		ovh[got] = e2e > sim ? e2e - sim : 0;
		got++;
	}
	free(buf);
	if (got != n) {
		bench_errf(err, "python client gave %llu samples of %llu",
			   (unsigned long long)got, (unsigned long long)n);
		return -1;
	}
	return 0;
}

/* ---- the figures ---- */

#define BENCH_SVC_METRICS BENCH_LAT_METRICS, "ovh_p50_ns", "ovh_p99_ns"

#define BENCH_SVC_FIG(key_, label_, transport_, work_, path_) {	\
	.key = key_, .label = label_, .group = "service",		\
	.transport = transport_,					\
	.param = ((uint64_t)(work_) << 8) | (path_),			\
	.nmetrics = BENCH_LAT_NMETRICS + 2,				\
	.metrics = { BENCH_SVC_METRICS },				\
	.run = bench_svc_run }

const struct bench_measure bench_svc_trivial[BENCH_SVC_TRIVIAL_N] = {
	BENCH_SVC_FIG("svc.trivial_direct", "trivial job, in-process",
		      "direct", BENCH_SVC_TRIVIAL, BENCH_SVC_DIRECT),
	BENCH_SVC_FIG("svc.trivial_serve", "trivial job, qshm serve (C)",
		      "serve", BENCH_SVC_TRIVIAL, BENCH_SVC_SERVE),
	BENCH_SVC_FIG("svc.trivial_busy", "trivial job, serve --busy-poll",
		      "busy", BENCH_SVC_TRIVIAL, BENCH_SVC_SERVE_BUSY),
	BENCH_SVC_FIG("svc.trivial_python", "trivial job, qshm serve (Py)",
		      "python", BENCH_SVC_TRIVIAL, BENCH_SVC_PYTHON),
	BENCH_SVC_FIG("svc.trivial_unix", "trivial job, Unix socket",
		      "unix", BENCH_SVC_TRIVIAL, BENCH_SVC_UNIX),
	BENCH_SVC_FIG("svc.trivial_zmq", "trivial job, ZeroMQ REQ/REP",
		      "zmq", BENCH_SVC_TRIVIAL, BENCH_SVC_ZMQ),
};

const struct bench_measure bench_svc_vqe[BENCH_SVC_VQE_N] = {
	BENCH_SVC_FIG("svc.vqe_direct", "4q ansatz step, in-process",
		      "direct", BENCH_SVC_VQE, BENCH_SVC_DIRECT),
	BENCH_SVC_FIG("svc.vqe_serve", "4q ansatz step, serve (C, bound)",
		      "serve", BENCH_SVC_VQE, BENCH_SVC_SERVE_REG),
	BENCH_SVC_FIG("svc.vqe_serve_text", "4q ansatz step, serve (C, text)",
		      "serve-text", BENCH_SVC_VQE, BENCH_SVC_SERVE),
	BENCH_SVC_FIG("svc.vqe_python", "4q ansatz step, serve (Py, bound)",
		      "python", BENCH_SVC_VQE, BENCH_SVC_PYTHON),
	BENCH_SVC_FIG("svc.vqe_unix", "4q ansatz step, Unix socket",
		      "unix", BENCH_SVC_VQE, BENCH_SVC_UNIX),
	BENCH_SVC_FIG("svc.vqe_zmq", "4q ansatz step, ZeroMQ REQ/REP",
		      "zmq", BENCH_SVC_VQE, BENCH_SVC_ZMQ),
};
