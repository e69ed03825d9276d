/* SPDX-License-Identifier: MIT */
/*
 * svcclient.c - a client of `qshm serve` for tests/service/test_service.sh.
 *
 *   svcclient multi SERVICE SHOTS SEED FILE...
 *       submits every FILE (seed SEED + i) before waiting for any, then
 *       prints one line per file: FILE SEED {"counts": {...}}
 *   svcclient hang SERVICE FILE READY
 *       submits a job of 2^40 shots, creates the file READY, and waits;
 *       prints "error NAME us_since_epoch" when the wait ends in error
 *   svcclient alive SERVICE FILE READY
 *       checks qshm_client_alive() says 1, submits a 2^40-shot job,
 *       creates READY, then asks qshm_client_alive() every millisecond
 *       (no wait, no process()) until it says 0: the job must then be
 *       ready, its wait with timeout 0 gives the connection's end; prints
 *       "alive 0 NAME"
 *   svcclient deadline SERVICE FILE MS
 *       a 2^40-shot job with a deadline of MS ms: prints the wait's error
 *   svcclient queue SERVICE FILE
 *       (service with --workers 1 --queue 1) a 2^40-shot job, then a
 *       second: prints the second's error; cancels the first and prints
 *       its error
 *   svcclient fair SERVICE FILE READY GO GO2
 *       submits four 2^40-shot jobs, creates READY, waits for the file
 *       GO, cancels the first (running) one; waits for the file GO2
 *       (the script makes it once another client's job was served),
 *       then cancels the other three; prints each job's error
 *   svcclient stats SERVICE
 *       prints the service's metrics (control ring user counters 0..7):
 *       queued running done failed timedout cancelled refused clients
 *   svcclient garbage SERVICE
 *       makes its own request ring by hand, writes malformed records and
 *       prints the status of each reply (one per line)
 *   svcclient sweep SERVICE N
 *       registers a 2-parameter circuit and runs it N times with new
 *       angles (counts, probs, <Z> values); checks probs and <Z> against
 *       the analytic values and each other; prints "sweep THETA PHI
 *       {counts}" for the first 3 jobs and "sweep ok N"; then checks the
 *       errors of registering and submitting badly ("errors ok")
 *   svcclient view SERVICE
 *       a GHZ-3 job asking for everything: checks the in-place view
 *       (shots recounted equal the counts; probs, state, <Z>), -EBUSY
 *       while it is held, and QSHM_WANT_COPY; a 19-qubit state and
 *       600000 shots that come in several records; prints "view ok"
 *   svcclient fd SERVICE FILE
 *       submits 4 jobs and takes their results through qshm_client_fd()
 *       and poll(); prints "fd 4 results"
 *   svcclient policy SERVICE FILE
 *       (service with --workers 1 --queue 1) retries with backoff get a
 *       job in once the queue frees, QSHM_WANT_NO_RETRY does not; a
 *       circuit breaker opens after two failures and closes after a
 *       trial; prints "retry ok", "breaker ok"
 *   svcclient reconnect SERVICE FILE READY GO
 *       registers a circuit, runs it, creates READY, waits for GO (the
 *       script restarts the service meanwhile), runs it again through an
 *       automatic reconnection; prints "reconnect ok"
 *   svcclient stall SERVICE
 *       (service with --workers 2) a reply the main thread owes a client
 *       whose reply lock a worker holds (writing a 16 MiB state the
 *       client does not read yet) is kept, another client is served,
 *       and the first then gets both; prints "stall ok"
 *   svcclient rt SERVICE N
 *       N round trips of a trivial job; prints p50 and p99 (a figure for
 *       docs/service.md, not a test)
 *   svcclient memory SERVICE SMALLFILE GO SERVICELOG
 *       (service with --workers 2 --memory 2M) two 17-qubit jobs: one
 *       runs, one waits for memory, a small job runs meanwhile; an
 *       18-qubit job gets EFBIG; after the first is cancelled the second
 *       gets its memory (the script sees it in the log and creates GO)
 * Exit status 0 when it could do what it was asked (the script checks
 * what it printed), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qshm/client.h"
#include "qshm/results.h"
#include "svc_wire.h"

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "line %d: ", \
	__LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } } while (0)

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	static char buf[1 << 18];

	if (!f) {
		perror(path);
		exit(1);
	}
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return strdup(buf);
}

static const char *errname(int rc)
{
	switch (-rc) {
	case 0: return "OK";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECANCELED: return "ECANCELED";
	case EINVAL: return "EINVAL";
	case EFBIG: return "EFBIG";
	case ENOBUFS: return "ENOBUFS";
	case QSHM_EQUEUEFULL: return "QSHM_EQUEUEFULL";
	case QSHM_ESERVICEDEAD: return "QSHM_ESERVICEDEAD";
	case QSHM_ESERVICEGONE: return "QSHM_ESERVICEGONE";
	case QSHM_EREFUSED: return "QSHM_EREFUSED";
	case QSHM_EBREAKER: return "QSHM_EBREAKER";
	case EBUSY: return "EBUSY";
	case ENOTSUP: return "ENOTSUP";
	}
	return "OTHER";
}

static qshm_client *connect_or_die(const char *name)
{
	qshm_client *cl;
	int rc = qshm_client_connect(name, 5000000000, &cl);

	if (rc) {
		fprintf(stderr, "connect %s: %s\n", name,
			qshm_client_error(NULL));
		exit(1);
	}
	return cl;
}

/* Waits (30 s at most, else exits 1) until service NAME's metrics show
 * RUNNING jobs running and QUEUED queued: the service has taken what was
 * submitted, however slowly this machine runs. */
static void wait_metrics(const char *name, uint64_t running, uint64_t queued)
{
	struct qshm_service_metrics m = { 0 };

	for (int i = 0; i < 3000; i++) {
		if (qshm_service_metrics_read(name, &m) == 0 &&
		    m.running == running && m.queued == queued)
			return;
		usleep(10000);
	}
	fprintf(stderr, "metrics of %s: %" PRIu64 " running, %" PRIu64
		" queued after 30 s; expected %" PRIu64 ", %" PRIu64 "\n",
		name, m.running, m.queued, running, queued);
	exit(1);
}

static uint64_t submit_or_die(qshm_client *cl, const char *text,
			      uint64_t shots, uint64_t seed, int64_t deadline)
{
	struct qshm_job_spec spec = { .shots = shots, .seed = seed,
				      .deadline_ns = deadline };
	uint64_t job;
	int rc = qshm_client_submit(cl, text, strlen(text), &spec, &job);

	if (rc) {
		fprintf(stderr, "submit: %s\n", qshm_client_error(cl));
		exit(1);
	}
	return job;
}

static int cmd_multi(int argc, char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	uint64_t shots = strtoull(argv[3], NULL, 0);
	uint64_t seed = strtoull(argv[4], NULL, 0);
	int n = argc - 5;
	uint64_t *jobs = calloc((size_t)n, sizeof(*jobs));

	for (int i = 0; i < n; i++) {
		size_t len;
		char *text = slurp(argv[5 + i], &len);
		jobs[i] = submit_or_die(cl, text, shots, seed + (uint64_t)i,
					QSHM_FOREVER);
		free(text);
	}
	/* Waits in reverse order: results arrive in any order. */
	for (int i = n - 1; i >= 0; i--) {
		struct qshm_job_result *res;
		int rc = qshm_client_wait(cl, jobs[i], 60000000000, &res);
		if (rc) {
			fprintf(stderr, "wait %s: %s\n", argv[5 + i],
				qshm_client_error(cl));
			return 1;
		}
		printf("%s %" PRIu64 " {\"counts\": {", argv[5 + i],
		       seed + (uint64_t)i);
		for (size_t k = 0; k < res->n; k++)
			printf("%s\"%s\": %" PRIu64, k ? ", " : "",
			       res->entries[k].outcome, res->entries[k].count);
		printf("}}\n");
		qshm_job_result_free(res);
	}
	qshm_client_close(cl);
	free(jobs);
	return 0;
}

static int cmd_hang(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	size_t len;
	char *text = slurp(argv[3], &len);
	uint64_t job = submit_or_die(cl, text, (uint64_t)1 << 40, 1,
				     QSHM_FOREVER);
	struct qshm_job_result *res;
	struct timespec ts;
	int fd = open(argv[4], O_CREAT | O_WRONLY, 0600);
	int rc;

	close(fd);
	rc = qshm_client_wait(cl, job, QSHM_FOREVER, &res);
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("error %s %" PRIu64 "\n", errname(rc),
	       (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	fprintf(stderr, "%s\n", qshm_client_error(cl));
	qshm_client_close(cl);
	free(text);
	return 0;
}

static int cmd_alive(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	size_t len;
	char *text = slurp(argv[3], &len);
	struct qshm_job_result *res;
	uint64_t job;
	int fd, rc, i;

	CHECK(qshm_client_alive(NULL) == -EINVAL, "alive(NULL)");
	CHECK(qshm_client_alive(cl) == 1, "a running service is not alive");
	job = submit_or_die(cl, text, (uint64_t)1 << 40, 1, QSHM_FOREVER);
	fd = open(argv[4], O_CREAT | O_WRONLY, 0600);
	close(fd);
	for (i = 0; i < 20000 && (rc = qshm_client_alive(cl)) == 1; i++)
		usleep(1000);
	CHECK(rc == 0, "alive() still %d after 20 s", rc);
	CHECK(qshm_client_ready(cl, job) == 1, "job not ready once the "
	      "service is gone");
	rc = qshm_client_wait(cl, job, 0, &res);
	CHECK(rc < 0, "wait of a job of a dead service: %d", rc);
	CHECK(qshm_client_alive(cl) == 0, "alive() after the end");
	printf("alive 0 %s\n", errname(rc));
	qshm_client_close(cl);
	free(text);
	return 0;
}

static int cmd_deadline(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	size_t len;
	char *text = slurp(argv[3], &len);
	int64_t ms = strtoll(argv[4], NULL, 0);
	uint64_t job = submit_or_die(cl, text, (uint64_t)1 << 40, 1,
				     ms * 1000000);
	struct qshm_job_result *res;
	int rc = qshm_client_wait(cl, job, QSHM_FOREVER, &res);

	printf("%s\n", errname(rc));
	qshm_client_close(cl);
	free(text);
	return 0;
}

static int cmd_queue(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	size_t len;
	char *text = slurp(argv[3], &len);
	uint64_t a = submit_or_die(cl, text, (uint64_t)1 << 40, 1,
				   QSHM_FOREVER);
	uint64_t b = submit_or_die(cl, text, 10, 1, QSHM_FOREVER);
	struct qshm_job_result *res;
	int rc = qshm_client_wait(cl, b, 10000000000, &res);

	printf("second %s\n", errname(rc));
	rc = qshm_client_cancel(cl, a);
	if (rc) {
		fprintf(stderr, "cancel: %s\n", qshm_client_error(cl));
		return 1;
	}
	rc = qshm_client_wait(cl, a, 10000000000, &res);
	printf("first %s\n", errname(rc));
	qshm_client_close(cl);
	free(text);
	return 0;
}

/* A request ring made by hand, fed malformed records. */
static int cmd_garbage(char **argv)
{
	char req[QSHM_NAME_MAX + 1], rep[QSHM_NAME_MAX + 1];
	struct qshm_create_opts co = { .capacity = 1 << 16 };
	struct svc_run_req h = { .major = SVC_WIRE_MAJOR, .want = 1,
				 .job = 77, .shots = 10, .qasm_len = 5 };
	unsigned char junk[300];
	qshm_producer *p;
	qshm_consumer *c;
	int rc, sent = 0;

	snprintf(req, sizeof(req), "%s.q.evil-%d", argv[2], (int)getpid());
	snprintf(rep, sizeof(rep), "%s.r.evil-%d", argv[2], (int)getpid());
	if (qshm_producer_create(req, &co, &p))
		return 1;
	if (qshm_producer_wait_consumers(p, 1, 5000000000) ||
	    qshm_consumer_attach(rep, QSHM_CONSUMER_RELIABLE, &c)) {
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
		return 1;
	}
	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	/* random bytes as a run request */
	sent += !qshm_producer_publish(p, SVC_REC_RUN, junk, sizeof(junk), 0);
	/* a header shorter than itself */
	sent += !qshm_producer_publish(p, SVC_REC_RUN, junk, 7, 0);
	/* qasm_len that lies */
	memcpy(junk, &h, sizeof(h));
	sent += !qshm_producer_publish(p, SVC_REC_RUN, junk, sizeof(h) + 9, 0);
	/* another wire version */
	h.major = 9;
	h.qasm_len = 8;
	memcpy(junk, &h, sizeof(h));
	memcpy(junk + sizeof(h), "x;\n     ", 8);
	sent += !qshm_producer_publish(p, SVC_REC_RUN, junk, sizeof(h) + 8, 0);
	/* an unknown record type */
	sent += !qshm_producer_publish(p, 999, junk, 16, 0);
	/* a cancel of the wrong size */
	sent += !qshm_producer_publish(p, SVC_REC_CANCEL, junk, 3, 0);
	for (int i = 0; i < sent; i++) {
		struct qshm_record r;
		struct svc_job_hdr v;
		const char *msg = "";
		char why[256];

		rc = qshm_consumer_read(c, &r, 5000000000);
		if (rc)
			break;
		rc = r.type == SVC_REC_JOB ?
		     svc_job_hdr_decode(r.data, r.len, &v, &msg, why,
					sizeof(why)) : -EPROTO;
		printf("reply %s %.*s\n", rc ? "MALFORMED" :
		       errname(v.status), rc ? 0 : (int)v.msg_len,
		       rc ? "" : msg);
		qshm_consumer_release(c);
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	return sent == 6 ? 0 : 1;
}

static int cmd_fair(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	size_t len;
	char *text = slurp(argv[3], &len);
	uint64_t job[4];
	struct qshm_job_result *res;
	int fd;

	for (int i = 0; i < 4; i++)
		job[i] = submit_or_die(cl, text, (uint64_t)1 << 40, 1,
				       QSHM_FOREVER);
	fd = open(argv[4], O_CREAT | O_WRONLY, 0600);
	close(fd);
	for (int i = 0; i < 4; i++) {
		const char *go = argv[i ? 6 : 5];
		for (int k = 0; k < 600 && access(go, F_OK) != 0; k++)
			usleep(50000);
		if (qshm_client_cancel(cl, job[i]))
			return 1;
		printf("job%d %s\n", i, errname(qshm_client_wait(
			cl, job[i], 20000000000, &res)));
		fflush(stdout);
	}
	qshm_client_close(cl);
	free(text);
	return 0;
}

static int cmd_stats(char **argv)
{
	struct qshm_ring_stats st;
	qshm_consumer *c;

	if (qshm_consumer_attach(argv[2], QSHM_CONSUMER_READONLY, &c))
		return 1;
	if (qshm_consumer_ring_stats(c, &st))
		return 1;
	for (int i = 0; i < 8; i++)
		printf("%s%" PRIu64, i ? " " : "", st.user[i]);
	printf("\n");
	qshm_consumer_close(c);
	return 0;
}

static const char sweep_qasm[] =
	"OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
	"param theta, phi;\n"
	"qreg q[2];\ncreg c[2];\n"
	"ry(theta) q[0];\ncx q[0], q[1];\nrz(phi/2) q[1];\nry(phi) q[1];\n"
	"measure q -> c;\n";

static void print_counts(const struct qshm_job_view *v)
{
	printf("{\"counts\": {");
	for (size_t i = 0; i < v->ncounts; i++)
		printf("%s\"%s\": %" PRIu64, i ? ", " : "",
		       v->counts[i].outcome, v->counts[i].count);
	printf("}}\n");
}

static int cmd_sweep(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	int n = atoi(argv[3]);
	const uint64_t masks[3] = { 1, 2, 3 };
	struct qshm_circuit_info info;
	const struct qshm_job_view *v;
	uint64_t circ, job;
	int rc;

	rc = qshm_client_register(cl, sweep_qasm, strlen(sweep_qasm),
				  5000000000, &circ);
	CHECK(rc == 0, "register: %s", qshm_client_error(cl));
	CHECK(qshm_client_circuit_info(cl, circ, &info) == 0, "info");
	CHECK(info.nparams == 2 && info.nqubits == 2 && info.nclbits == 2 &&
	      !strcmp(info.param_names[0], "theta") &&
	      !strcmp(info.param_names[1], "phi"), "circuit info");
	for (int i = 0; i < n; i++) {
		double p[2] = { 0.1 + 0.37 * i, 2.5 - 0.11 * i }, z0 = 0;
		struct qshm_run_spec spec = {
			.shots = 1000, .seed = (uint64_t)i,
			.deadline_ns = QSHM_FOREVER,
			.want = QSHM_WANT_COUNTS | QSHM_WANT_PROBS |
				QSHM_WANT_EXPECT,
			.nparams = 2, .params = p, .nexpect = 3,
			.expect = masks,
		};
		uint64_t total = 0;

		rc = qshm_client_submit_circuit(cl, circ, &spec, &job);
		CHECK(rc == 0, "submit %d: %s", i, qshm_client_error(cl));
		rc = qshm_client_wait_view(cl, job, 20000000000, &v);
		CHECK(rc == 0, "job %d: %s", i, qshm_client_error(cl));
		CHECK(v->nprobs == 4 && v->nexpect == 3 && v->ncounts >= 1,
		      "job %d: shapes", i);
		for (int k = 0; k < 4; k++)
			z0 += (k & 1) ? -v->probs[k] : v->probs[k];
		/* ry(theta) on qubit 0: <Z0> = cos(theta); the gates after
		 * it commute with Z0. */
		CHECK(fabs(v->expect[0] - cos(p[0])) < 1e-12 &&
		      fabs(v->expect[0] - z0) < 1e-12 &&
		      v->expect_masks[2] == 3, "job %d: <Z0> %.17g, cos %.17g,"
		      " from probs %.17g", i, v->expect[0], cos(p[0]), z0);
		for (size_t k = 0; k < v->ncounts; k++)
			total += v->counts[k].count;
		CHECK(total == 1000, "job %d: %" PRIu64 " shots counted", i,
		      total);
		if (i < 3) {
			printf("sweep %.17g %.17g ", p[0], p[1]);
			print_counts(v);
		}
		qshm_client_view_release(cl, v);
	}
	printf("sweep ok %d\n", n);
	/* Errors: wrong number of values, unknown circuit, bad text. */
	{
		static const char bad[] = "OPENQASM 2.0;\nqreg q[1];\n"
					  "U(a, 0, 0) q[0];\n";
		double one = 1;
		struct qshm_run_spec spec = { .shots = 10, .nparams = 1,
					      .params = &one,
					      .deadline_ns = QSHM_FOREVER };
		CHECK(qshm_client_submit_circuit(cl, circ, &spec, &job) ==
		      -EINVAL, "1 value for 2 parameters");
		CHECK(qshm_client_submit_circuit(cl, circ + 7, &spec, &job) ==
		      -EINVAL, "unknown circuit");
		rc = qshm_client_register(cl, bad, strlen(bad), 5000000000,
					  &job);
		CHECK(rc == -EINVAL && strstr(qshm_client_error(cl),
					      "circuit:3:3: error:"),
		      "bad circuit: %d %s", rc, qshm_client_error(cl));
		CHECK(qshm_client_unregister(cl, circ) == 0, "unregister");
		CHECK(qshm_client_circuit_info(cl, circ, &info) == -EINVAL,
		      "unregistered info");
	}
	printf("errors ok\n");
	qshm_client_close(cl);
	return 0;
}

static const char ghz_qasm[] =
	"OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
	"qreg q[3];\ncreg c[3];\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\n"
	"measure q -> c;\n";

static void check_ghz(const struct qshm_job_view *v, const char *what)
{
	const double h = sqrt(0.5);
	qshm_counts *k;
	uint64_t c;

	CHECK(v->nqubits == 3 && v->nprobs == 8 && v->namps == 8 &&
	      v->shots == 500 && v->words_per_shot == 1 && v->run, "%s: "
	      "shapes", what);
	for (int i = 0; i < 8; i++) {
		double p = (i == 0 || i == 7) ? 0.5 : 0;
		CHECK(fabs(v->probs[i] - p) < 1e-12 &&
		      fabs(v->state[2 * i] - ((i == 0 || i == 7) ? h : 0)) <
		      1e-12 && fabs(v->state[2 * i + 1]) < 1e-12,
		      "%s: basis state %d", what, i);
	}
	CHECK(v->nexpect == 3 && fabs(v->expect[0]) < 1e-12 &&
	      fabs(v->expect[1] - 1) < 1e-12 && fabs(v->expect[2]) < 1e-12,
	      "%s: <Z> %g %g %g", what, v->expect[0], v->expect[1],
	      v->expect[2]);
	/* Every shot recounted gives the counts. */
	CHECK(qshm_counts_new(1, &k) == 0 &&
	      qshm_counts_add(k, v->shot_words, v->shots) == 0, "recount");
	CHECK(v->ncounts == qshm_counts_distinct(k) && v->ncounts == 2,
	      "%s: %zu outcomes", what, v->ncounts);
	for (size_t i = 0; i < v->ncounts; i++) {
		uint64_t key = strcmp(v->counts[i].outcome, "111") ? 0 : 7;
		CHECK(qshm_counts_get(k, &key, &c) == 0 &&
		      c == v->counts[i].count, "%s: outcome %s", what,
		      v->counts[i].outcome);
	}
	qshm_counts_free(k);
	for (uint64_t i = 0; i < v->shots; i++) {
		char s[8];
		CHECK(qshm_run_outcome(v->run, v->shot_words + i, 1, s,
				       sizeof(s)) == 3 &&
		      (!strcmp(s, "000") || !strcmp(s, "111")),
		      "%s: shot %" PRIu64, what, i);
	}
}

static int cmd_view(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	const uint64_t masks[3] = { 1, 3, 7 };
	struct qshm_run_spec spec = {
		.shots = 500, .seed = 3, .deadline_ns = QSHM_FOREVER,
		.want = QSHM_WANT_COUNTS | QSHM_WANT_SHOTS | QSHM_WANT_PROBS |
			QSHM_WANT_STATE | QSHM_WANT_EXPECT,
		.nexpect = 3, .expect = masks,
	};
	static const char branch[] = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		"qreg q[1];\ncreg c[1];\nh q[0];\nmeasure q -> c;\n"
		"if (c == 1) x q[0];\nh q[0];\n";
	const struct qshm_job_view *v;
	struct qshm_job_result *res;
	uint64_t a, b;
	int rc;

	CHECK(qshm_client_submit_qasm(cl, ghz_qasm, strlen(ghz_qasm), &spec,
				      &a) == 0, "submit");
	CHECK(qshm_client_wait_view(cl, a, 20000000000, &v) == 0, "wait: %s",
	      qshm_client_error(cl));
	CHECK(v->in_place == (QSHM_WANT_SHOTS | QSHM_WANT_PROBS |
			      QSHM_WANT_STATE), "in place 0x%x", v->in_place);
	check_ghz(v, "in place");
	/* While it is held, another job's reply cannot be read. */
	b = submit_or_die(cl, ghz_qasm, 10, 1, QSHM_FOREVER);
	rc = qshm_client_wait(cl, b, 2000000000, &res);
	CHECK(rc == -EBUSY, "wait with a view held: %s", errname(rc));
	CHECK(qshm_client_view_release(cl, v) == 0, "release");
	CHECK(qshm_client_view_release(cl, v) == -EINVAL, "release twice");
	rc = qshm_client_wait(cl, b, 20000000000, &res);
	CHECK(rc == 0 && res->n == 2, "wait after release: %s", errname(rc));
	qshm_job_result_free(res);
	/* Copies when asked. */
	spec.want |= QSHM_WANT_COPY;
	CHECK(qshm_client_submit_qasm(cl, ghz_qasm, strlen(ghz_qasm), &spec,
				      &a) == 0, "submit");
	CHECK(qshm_client_wait_view(cl, a, 20000000000, &v) == 0, "wait");
	CHECK(v->in_place == 0, "copy: in place 0x%x", v->in_place);
	check_ghz(v, "copied");
	qshm_client_view_release(cl, v);
	/* Larger than a record: 2^19 amplitudes (8 MiB) and 600000 shots
	 * (4.8 MB) come in chunks and are assembled in the client. */
	{
		static const char wide[] = "OPENQASM 2.0;\ninclude "
			"\"qelib1.inc\";\nqreg q[19];\ncreg c[4];\nh q;\n"
			"measure q[0] -> c[0];\nmeasure q[5] -> c[1];\n"
			"measure q[11] -> c[2];\nmeasure q[18] -> c[3];\n";
		struct qshm_run_spec ws = {
			.shots = 600000, .seed = 5, .deadline_ns = QSHM_FOREVER,
			.want = QSHM_WANT_COUNTS | QSHM_WANT_SHOTS |
				QSHM_WANT_PROBS | QSHM_WANT_STATE,
		};
		const double amp = pow(2, -9.5), p = pow(2, -19);
		uint64_t total = 0, c;
		qshm_counts *k;

		CHECK(qshm_client_submit_qasm(cl, wide, strlen(wide), &ws, &a)
		      == 0, "submit wide");
		rc = qshm_client_wait_view(cl, a, 60000000000, &v);
		CHECK(rc == 0, "wide: %s (%s)", errname(rc),
		      qshm_client_error(cl));
		CHECK(v->in_place == 0 && v->namps == 1u << 19 &&
		      v->nprobs == 1u << 19 && v->shots == 600000,
		      "wide shapes: in place 0x%x", v->in_place);
		for (size_t i = 0; i < v->namps; i++)
			CHECK(fabs(v->state[2 * i] - amp) < 1e-12 &&
			      fabs(v->state[2 * i + 1]) < 1e-12 &&
			      fabs(v->probs[i] - p) < 1e-15, "wide %zu", i);
		CHECK(qshm_counts_new(1, &k) == 0 &&
		      qshm_counts_add(k, v->shot_words, v->shots) == 0,
		      "recount");
		for (size_t i = 0; i < v->ncounts; i++) {
			uint64_t key = strtoull(v->counts[i].outcome, NULL, 2);
			CHECK(qshm_counts_get(k, &key, &c) == 0 &&
			      c == v->counts[i].count, "outcome %s",
			      v->counts[i].outcome);
			total += c;
		}
		CHECK(total == 600000 && v->ncounts == 16 &&
		      v->ncounts == qshm_counts_distinct(k), "wide counts");
		qshm_counts_free(k);
		qshm_client_view_release(cl, v);
	}
	/* A state that depends on a mid-circuit outcome has no probs. */
	spec.want = QSHM_WANT_PROBS;
	spec.shots = 0;
	spec.nexpect = 0;
	CHECK(qshm_client_submit_qasm(cl, branch, strlen(branch), &spec,
				      &a) == 0, "submit: %s",
	      qshm_client_error(cl));
	rc = qshm_client_wait_view(cl, a, 20000000000, &v);
	CHECK(rc == -ENOTSUP, "probs of a branching circuit: %s (%s)",
	      errname(rc), qshm_client_error(cl));
	printf("view ok\n");
	qshm_client_close(cl);
	return 0;
}

/* regrun NAME FILE N VALUE: registers FILE (one parameter) once and runs
 * it N times with VALUE, 300 shots, seed 2; prints the last counts as
 * `qshm sim --counts` does. */
static int cmd_regrun(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	size_t len;
	char *text = slurp(argv[3], &len);
	int n = atoi(argv[4]);
	double v = strtod(argv[5], NULL);
	struct qshm_run_spec spec = { .shots = 300, .seed = 2,
				      .deadline_ns = QSHM_FOREVER,
				      .want = QSHM_WANT_COUNTS,
				      .params = &v, .nparams = 1 };
	struct qshm_job_result *res = NULL;
	uint64_t circ, job;

	CHECK(qshm_client_register(cl, text, len, 10000000000, &circ) == 0,
	      "register: %s", qshm_client_error(cl));
	for (int i = 0; i < n; i++) {
		qshm_job_result_free(res);
		/* A pause: a worker that wrote the last reply has let go of
		 * the reply lock by now (a job sent the instant the reply is
		 * read can find it still held and go to a worker too). */
		usleep(20000);
		CHECK(qshm_client_submit_circuit(cl, circ, &spec, &job) == 0,
		      "submit: %s", qshm_client_error(cl));
		CHECK(qshm_client_wait(cl, job, 60000000000, &res) == 0,
		      "job: %s", qshm_client_error(cl));
	}
	printf("{\"counts\": {");
	for (size_t i = 0; i < res->n; i++)
		printf("%s\"%s\": %llu", i ? ", " : "",
		       res->entries[i].outcome,
		       (unsigned long long)res->entries[i].count);
	printf("}}\n");
	qshm_job_result_free(res);
	qshm_client_close(cl);
	free(text);
	return 0;
}

static int cmd_fd(char **argv)
{
	qshm_client *cl = connect_or_die(argv[2]);
	size_t len;
	char *text = slurp(argv[3], &len);
	uint64_t job[4];
	int fd, done = 0, wakeups = 0;

	struct qshm_job_result *r0;

	for (int i = 0; i < 4; i++)
		job[i] = submit_or_die(cl, text, 2000, (uint64_t)i,
				       QSHM_FOREVER);
	/* Waiting for the last job reads the replies of the three before
	 * it (the service answers in order here), and the descriptor made
	 * after must still come up readable: a loop that polls first must
	 * not sleep past replies a wait() already read. */
	CHECK(qshm_client_wait(cl, job[3], 60000000000, &r0) == 0,
	      "job 3: %s", qshm_client_error(cl));
	qshm_job_result_free(r0);
	job[3] = 0;
	done = 1;
	fd = qshm_client_fd(cl);
	CHECK(fd >= 0, "qshm_client_fd: %s", qshm_client_error(cl));
	CHECK(qshm_client_fd(cl) == fd, "same descriptor");
	while (done < 4 && wakeups < 1000) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 10000);

		/* (On failure: were the replies there all along, unannounced,
		 * or did none come?) */
		CHECK(n == 1, "poll: %d (no wake-up in 10 s; %d of 4 results "
		      "taken, %d wake-ups; process() now reports %d ready)", n,
		      done, wakeups, qshm_client_process(cl));
		wakeups++;
		CHECK(qshm_client_process(cl) >= 0, "process");
		for (int i = 0; i < 4; i++) {
			struct qshm_job_result *res;
			if (job[i] && qshm_client_ready(cl, job[i]) == 1) {
				CHECK(qshm_client_wait(cl, job[i], 0, &res) ==
				      0, "job %d", i);
				qshm_job_result_free(res);
				job[i] = 0;
				done++;
			}
		}
	}
	printf("fd %d results\n", done);
	qshm_client_close(cl);
	free(text);
	return 0;
}

static qshm_client *connect_opts_or_die(const char *name,
					const struct qshm_client_opts *o)
{
	qshm_client *cl;
	int rc = qshm_client_connect_opts(name, o, &cl);

	if (rc) {
		fprintf(stderr, "connect %s: %s\n", name,
			qshm_client_error(NULL));
		exit(1);
	}
	return cl;
}

/* --workers 1 --queue 1: a retried job gets in once the queue frees; a
 * job that must not be retried does not; the breaker opens after two
 * failures, refuses, and closes after a successful trial. */
static int cmd_policy(char **argv)
{
	qshm_client *hog = connect_or_die(argv[2]);
	/* Retries for about 10 s (backoff 10 ms doubling to 100 ms): far
	 * past the hog's 2 s deadline, however late the service runs. */
	struct qshm_client_opts ro = {
		.retries = 100, .backoff_ns = 10000000,
		.backoff_max_ns = 100000000, .jitter_seed = 1,
	};
	struct qshm_client_opts bo = {
		.breaker_failures = 2, .breaker_open_ns = 300000000,
	};
	qshm_client *rc_cl = connect_opts_or_die(argv[2], &ro);
	qshm_client *br = connect_opts_or_die(argv[2], &bo);
	struct qshm_client_stats st;
	struct qshm_job_result *res;
	struct qshm_run_spec spec = { .shots = 100, .seed = 1,
				      .deadline_ns = QSHM_FOREVER };
	size_t len;
	char *text = slurp(argv[3], &len);
	uint64_t h, j, k;
	int rc;

	/* The queue is taken by a job that ends at its 2 s deadline: the
	 * two jobs below come while it runs (it is running before they are
	 * sent, and 2 s is long enough for them to reach the service). */
	h = submit_or_die(hog, text, (uint64_t)1 << 40, 1, 2000000000);
	wait_metrics(argv[2], 1, 0);
	CHECK(qshm_client_submit_qasm(rc_cl, text, len, &spec, &j) == 0,
	      "submit");
	spec.want = QSHM_WANT_COUNTS | QSHM_WANT_NO_RETRY;
	CHECK(qshm_client_submit_qasm(rc_cl, text, len, &spec, &k) == 0,
	      "submit");
	rc = qshm_client_wait(rc_cl, k, 10000000000, &res);
	CHECK(rc == -QSHM_EQUEUEFULL, "no-retry job: %s", errname(rc));
	rc = qshm_client_wait(rc_cl, j, 20000000000, &res);
	CHECK(rc == 0, "retried job: %s (%s)", errname(rc),
	      qshm_client_error(rc_cl));
	qshm_job_result_free(res);
	rc = qshm_client_wait(hog, h, 20000000000, &res);
	CHECK(rc == -ETIMEDOUT, "hog: %s", errname(rc));
	CHECK(qshm_client_stats(rc_cl, &st) == 0 && st.submitted == 2 &&
	      st.retries >= 1 && st.sent == st.retries + 2, "stats: %"
	      PRIu64 " submitted, %" PRIu64 " sent, %" PRIu64 " retries",
	      st.submitted, st.sent, st.retries);
	printf("retry ok\n");

	/* The breaker: two failures open it. */
	h = submit_or_die(hog, text, (uint64_t)1 << 40, 1, QSHM_FOREVER);
	wait_metrics(argv[2], 1, 0);
	spec.want = 0;
	for (int i = 0; i < 2; i++) {
		CHECK(qshm_client_submit_qasm(br, text, len, &spec, &j) == 0,
		      "submit");
		rc = qshm_client_wait(br, j, 10000000000, &res);
		CHECK(rc == -QSHM_EQUEUEFULL, "breaker %d: %s", i, errname(rc));
	}
	rc = qshm_client_submit_qasm(br, text, len, &spec, &j);
	CHECK(rc == -QSHM_EBREAKER, "open breaker: %s", errname(rc));
	CHECK(qshm_client_stats(br, &st) == 0 && st.breaker_open == 1 &&
	      st.breaker_trips == 1 && st.breaker_refused == 1 &&
	      st.sent == 2, "breaker stats");
	CHECK(qshm_client_cancel(hog, h) == 0, "cancel");
	rc = qshm_client_wait(hog, h, 20000000000, &res);
	CHECK(rc == -ECANCELED, "hog: %s", errname(rc));
	usleep(350000);
	/* Half-open: one trial, which succeeds and closes it. */
	CHECK(qshm_client_submit_qasm(br, text, len, &spec, &j) == 0,
	      "trial: %s", qshm_client_error(br));
	rc = qshm_client_wait(br, j, 20000000000, &res);
	CHECK(rc == 0, "trial: %s", errname(rc));
	qshm_job_result_free(res);
	CHECK(qshm_client_stats(br, &st) == 0 && st.breaker_open == 0,
	      "closed");
	printf("breaker ok\n");
	qshm_client_close(br);
	qshm_client_close(rc_cl);
	qshm_client_close(hog);
	free(text);
	return 0;
}

/* A client that outlives its service: after READY the script kills the
 * service, creates GO and starts it again; the client's next submit
 * reconnects (its registered circuit too) and is served. */
static int cmd_reconnect(char **argv)
{
	struct qshm_client_opts o = {
		.reconnect = 1, .retries = 2,
		.connect_timeout_ns = 20000000000,
	};
	qshm_client *cl = connect_opts_or_die(argv[2], &o);
	struct qshm_client_stats st;
	const struct qshm_job_view *v;
	double p[2] = { 0.4, 1.1 };
	struct qshm_run_spec spec = { .shots = 100, .seed = 5,
				      .deadline_ns = QSHM_FOREVER,
				      .nparams = 2, .params = p };
	uint64_t circ, j, hog, queued;
	int fd, rc;

	CHECK(qshm_client_register(cl, sweep_qasm, strlen(sweep_qasm),
				   5000000000, &circ) == 0, "register");
	CHECK(qshm_client_submit_circuit(cl, circ, &spec, &j) == 0, "submit");
	CHECK(qshm_client_wait_view(cl, j, 20000000000, &v) == 0, "first");
	qshm_client_view_release(cl, v);
	fd = qshm_client_fd(cl);
	CHECK(fd >= 0, "fd");
	/* In flight when the service dies: a job that must not run twice
	 * (running) and one that may (queued behind it). */
	{
		size_t len;
		char *text = slurp(argv[3], &len);
		struct qshm_run_spec hs = { .shots = (uint64_t)1 << 40,
					    .deadline_ns = QSHM_FOREVER,
					    .want = QSHM_WANT_COUNTS |
						    QSHM_WANT_NO_RETRY };
		struct qshm_run_spec qs = { .shots = 100, .seed = 9,
					    .deadline_ns = QSHM_FOREVER };
		CHECK(qshm_client_submit_qasm(cl, text, len, &hs, &hog) == 0,
		      "hog");
		CHECK(qshm_client_submit_qasm(cl, text, len, &qs, &queued) ==
		      0, "queued");
		free(text);
		usleep(300000);
	}
	close(open(argv[4], O_CREAT | O_WRONLY, 0600));
	for (int k = 0; k < 600 && access(argv[5], F_OK) != 0; k++)
		usleep(50000);
	/* The service died and came back: the queued job is sent again,
	 * the other fails. */
	{
		struct qshm_job_result *res;
		rc = qshm_client_wait(cl, queued, 30000000000, &res);
		CHECK(rc == 0, "queued job across the restart: %s (%s)",
		      errname(rc), qshm_client_error(cl));
		printf("pending {\"counts\": {");
		for (size_t i = 0; i < res->n; i++)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "",
			       res->entries[i].outcome, res->entries[i].count);
		printf("}}\n");
		qshm_job_result_free(res);
		rc = qshm_client_wait(cl, hog, 30000000000, &res);
		CHECK(rc == -QSHM_ESERVICEDEAD, "no-retry job: %s",
		      errname(rc));
	}
	/* A new job after the restart. */
	CHECK(qshm_client_submit_circuit(cl, circ, &spec, &j) == 0,
	      "submit after the restart: %s", qshm_client_error(cl));
	CHECK(qshm_client_wait_view(cl, j, 20000000000, &v) == 0,
	      "after the restart: %s", qshm_client_error(cl));
	printf("after %zu outcomes\n", v->ncounts);
	qshm_client_view_release(cl, v);
	CHECK(qshm_client_stats(cl, &st) == 0 && st.reconnects == 1 &&
	      st.retries == 1, "%" PRIu64 " reconnects, %" PRIu64 " retries",
	      st.reconnects, st.retries);
	CHECK(qshm_client_fd(cl) == fd, "the descriptor stays");
	printf("reconnect ok\n");
	qshm_client_close(cl);
	return 0;
}

/* Memory-aware scheduling (service: --workers 2 --memory 2M): two
 * 17-qubit jobs (2 MiB of state each) cannot run together, so the second
 * waits for memory while a small job runs beside the first; an 18-qubit
 * job is more than the budget. */
static int cmd_memory(char **argv)
{
	static const char big[] = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		"qreg q[17];\ncreg c[1];\nh q;\nmeasure q[0] -> c[0];\n";
	static const char huge[] = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		"qreg q[18];\ncreg c[1];\nh q;\nmeasure q[0] -> c[0];\n";
	qshm_client *a = connect_or_die(argv[2]);
	qshm_client *b = connect_or_die(argv[2]);
	struct qshm_service_metrics m;
	struct qshm_job_result *res;
	size_t len;
	char *small = slurp(argv[3], &len);
	uint64_t j1, j2, k;
	int rc;

	j1 = submit_or_die(a, big, (uint64_t)1 << 40, 1, QSHM_FOREVER);
	/* The first has its worker (and so its memory) before the second
	 * comes. */
	wait_metrics(argv[2], 1, 0);
	usleep(100000);
	j2 = submit_or_die(a, big, (uint64_t)1 << 40, 2, QSHM_FOREVER);
	/* Both taken by the two workers: one runs, one waits for memory
	 * (which one, the log says below: the wait above makes the first
	 * likely, not certain, to have its memory first). */
	wait_metrics(argv[2], 2, 0);
	CHECK(qshm_service_metrics_read(argv[2], &m) == 0, "metrics");
	CHECK(m.running == 2 && m.memory_budget == 2u << 20,
	      "running %llu, budget %llu", (unsigned long long)m.running,
	      (unsigned long long)m.memory_budget);
	/* A small job runs meanwhile, on the worker the waiting job left. */
	k = submit_or_die(b, small, 1000, 7, QSHM_FOREVER);
	rc = qshm_client_wait(b, k, 20000000000, &res);
	CHECK(rc == 0, "small job beside a big one: %s", errname(rc));
	qshm_job_result_free(res);
	printf("small ok\n");
	fflush(stdout);
	/* More than the budget: refused. */
	k = submit_or_die(b, huge, 10, 1, QSHM_FOREVER);
	rc = qshm_client_wait(b, k, 20000000000, &res);
	CHECK(rc == -EFBIG && strstr(qshm_client_error(b), "memory budget"),
	      "18 qubits: %s %s", errname(rc), qshm_client_error(b));
	printf("efbig ok\n");
	fflush(stdout);
	/* The one running ends: the waiting one gets its memory. Which
	 * waits, the service's log says (argv[5]). */
	{
		char line[512];
		unsigned long long w = 0;
		FILE *f = fopen(argv[5], "r");
		CHECK(f, "log %s", argv[5]);
		while (fgets(line, sizeof(line), f)) {
			const char *p = strstr(line, " job ");
			if (p && strstr(line, "waits for memory"))
				w = strtoull(p + 5, NULL, 10);
		}
		fclose(f);
		CHECK(w == j1 || w == j2, "no waiting job in the log");
		uint64_t run = w == j1 ? j2 : j1;
		CHECK(qshm_client_cancel(a, run) == 0, "cancel");
		rc = qshm_client_wait(a, run, 20000000000, &res);
		CHECK(rc == -ECANCELED, "running one: %s", errname(rc));
		/* Wait for the script to see "got its memory". */
		for (int i = 0; i < 600 && access(argv[4], F_OK) != 0; i++)
			usleep(50000);
		CHECK(qshm_client_cancel(a, w) == 0, "cancel");
		rc = qshm_client_wait(a, w, 20000000000, &res);
		CHECK(rc == -ECANCELED, "waiting one: %s", errname(rc));
	}
	printf("memory ok\n");
	qshm_client_close(b);
	qshm_client_close(a);
	free(small);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* N round trips of a trivial job (1 qubit, 1 shot): p50 and p99 in us.
 * For a figure by hand (docs/service.md, "Cost"), not a test. */
static int cmd_rt(char **argv)
{
	static const char one[] = "OPENQASM 2.0;\nqreg q[1];\ncreg c[1];\n"
				  "measure q[0] -> c[0];\n";
	qshm_client *cl = connect_or_die(argv[2]);
	int n = atoi(argv[3]);
	uint64_t *t = calloc((size_t)(n > 0 ? n : 1), sizeof(*t));
	struct qshm_job_result *res;

	CHECK(n > 0 && t, "N");
	for (int i = -n / 10; i < n; i++) {
		struct timespec a, b;
		uint64_t j;
		clock_gettime(CLOCK_MONOTONIC, &a);
		j = submit_or_die(cl, one, 1, (uint64_t)i, QSHM_FOREVER);
		CHECK(qshm_client_wait(cl, j, 10000000000, &res) == 0, "rt");
		clock_gettime(CLOCK_MONOTONIC, &b);
		qshm_job_result_free(res);
		if (i >= 0)
			t[i] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
			       (uint64_t)(b.tv_nsec - a.tv_nsec);
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("rt %d p50 %.1f us p99 %.1f us\n", n, t[n / 2] / 1e3,
	       t[(size_t)n * 99 / 100] / 1e3);
	free(t);
	qshm_client_close(cl);
	return 0;
}

/* (service with --workers 2) a worker writes a 16 MiB state into A's
 * reply ring, which A does not read for a while, so the worker holds A's
 * reply lock; A's next job is already past its deadline, which the main
 * thread must answer: it keeps the answer (the log says so) and serves B
 * meanwhile; A then reads both. */
static int cmd_stall(char **argv)
{
	static const char wide[] = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
		"qreg q[20];\nh q;\n";
	static const char one[] = "OPENQASM 2.0;\nqreg q[1];\ncreg c[1];\n"
				  "measure q[0] -> c[0];\n";
	qshm_client *a = connect_or_die(argv[2]);
	qshm_client *b = connect_or_die(argv[2]);
	struct qshm_run_spec ws = { .shots = 0, .deadline_ns = QSHM_FOREVER,
				    .want = QSHM_WANT_STATE };
	struct qshm_run_spec es = { .shots = 10, .deadline_ns = 1 };
	const struct qshm_job_view *v;
	struct qshm_job_result *res;
	uint64_t j1, j2, k;
	int rc;

	CHECK(qshm_client_submit_qasm(a, wide, strlen(wide), &ws, &j1) == 0,
	      "submit wide");
	/* Once the first of the job's records is in A's reply ring (A is
	 * this process's first client: ID PID-0), the worker holds A's
	 * reply lock until the last (16 MiB do not fit the 8 MiB ring), or
	 * for 1 s without room. */
	{
		char rep[QSHM_NAME_MAX + 1];
		struct qshm_ring_stats st = { 0 };
		qshm_consumer *c = NULL;
		snprintf(rep, sizeof(rep), "%s.r.%d-0", argv[2], (int)getpid());
		for (int i = 0; i < 1000 && st.write_pos == 0; i++) {
			if (c || qshm_consumer_attach(rep,
					QSHM_CONSUMER_READONLY, &c) == 0)
				qshm_consumer_ring_stats(c, &st);
			if (st.write_pos == 0)
				usleep(10000);
		}
		CHECK(st.write_pos > 0, "nothing written to %s", rep);
		qshm_consumer_close(c);
	}
	CHECK(qshm_client_submit_qasm(a, one, strlen(one), &es, &j2) == 0,
	      "submit expired");
	usleep(100000);
	k = submit_or_die(b, one, 10, 1, QSHM_FOREVER);
	rc = qshm_client_wait(b, k, 30000000000, &res);
	CHECK(rc == 0, "B: %s", errname(rc));
	qshm_job_result_free(res);
	rc = qshm_client_wait_view(a, j1, 60000000000, &v);
	/* Complete, or cut short if A read too late (1 s per record). */
	CHECK(rc == 0 || rc == -EIO, "A's state: %s (%s)", errname(rc),
	      qshm_client_error(a));
	if (rc == 0) {
		CHECK(v->namps == 1u << 20, "namps");
		qshm_client_view_release(a, v);
	}
	rc = qshm_client_wait(a, j2, 30000000000, &res);
	CHECK(rc == -ETIMEDOUT, "A's expired job: %s", errname(rc));
	printf("stall ok\n");
	qshm_client_close(b);
	qshm_client_close(a);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "stall"))
		return cmd_stall(argv);
	if (argc == 4 && !strcmp(argv[1], "rt"))
		return cmd_rt(argv);
	if (argc == 6 && !strcmp(argv[1], "memory"))
		return cmd_memory(argv);
	if (argc == 4 && !strcmp(argv[1], "policy"))
		return cmd_policy(argv);
	if (argc == 6 && !strcmp(argv[1], "reconnect"))
		return cmd_reconnect(argv);
	if (argc == 4 && !strcmp(argv[1], "sweep"))
		return cmd_sweep(argv);
	if (argc == 3 && !strcmp(argv[1], "view"))
		return cmd_view(argv);
	if (argc == 6 && !strcmp(argv[1], "regrun"))
		return cmd_regrun(argv);
	if (argc == 4 && !strcmp(argv[1], "fd"))
		return cmd_fd(argv);
	if (argc == 7 && !strcmp(argv[1], "fair"))
		return cmd_fair(argv);
	if (argc == 3 && !strcmp(argv[1], "stats"))
		return cmd_stats(argv);
	if (argc >= 6 && !strcmp(argv[1], "multi"))
		return cmd_multi(argc, argv);
	if (argc == 5 && !strcmp(argv[1], "hang"))
		return cmd_hang(argv);
	if (argc == 5 && !strcmp(argv[1], "alive"))
		return cmd_alive(argv);
	if (argc == 5 && !strcmp(argv[1], "deadline"))
		return cmd_deadline(argv);
	if (argc == 4 && !strcmp(argv[1], "queue"))
		return cmd_queue(argv);
	if (argc == 3 && !strcmp(argv[1], "garbage"))
		return cmd_garbage(argv);
	fprintf(stderr, "usage: see the head of svcclient.c\n");
	return 2;
}
