/*
 * test_hostile_reply.c - the client library against a hostile service:
 * a fake `qshm serve` (a thread of the child process: the control ring
 * with its descriptor, then the client's reply ring) answers one job with
 * records that each decode but do not agree with the job header:
 *   shots  the header says 1 shot, RUN_BEGIN and SHOTS carry 1000;
 *   probs  a PROBS chunk of a 61-qubit vector (2^61 * 8 bytes wraps);
 *   state  the same for STATE (2^61 * 16 bytes);
 * and, as the control, a consistent reply of 4 shots (ok), which must be
 * taken. The client wrote past its buffers on the first three (heap
 * overflows under ASan); it must refuse them instead: SHOTS beyond the
 * job's shots with -EPROTO, a vector too large to hold with -ENOMEM.
 * Each case runs in a child process; the parent removes its rings
 * (/dev/shm/qshm.hostile<pid>*) whatever happened to it.
 */
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qshm/client.h"
#include "qshm/format.h"
#include "qshm/qshm.h"
#include "qshm/results.h"
#include "svc_wire.h"

enum mode { M_OK, M_SHOTS, M_PROBS, M_STATE };
static const char *const mode_name[] = { "ok", "shots", "probs", "state" };

static char name[64];
static enum mode mode;

static void die(const char *what, int rc)
{
	fprintf(stderr, "test_hostile_reply: %s: %s\n", what,
		qshm_strerror(rc));
	_exit(2);
}

static void pub(qshm_producer *p, uint16_t type, const void *d, size_t n)
{
	int rc = qshm_producer_publish(p, type, d, n, QSHM_FOREVER);
	if (rc)
		die("publish", rc);
}

/* The fake service: takes the client's connection and answers its job. */
static void *service(void *arg)
{
	char pat[128], rep[192], why[256];
	struct svc_run_view v;
	struct qshm_record r;
	qshm_consumer *req;
	qshm_producer *out;
	glob_t g;
	int rc;

	(void)arg;
	snprintf(pat, sizeof(pat), "/dev/shm/qshm.%s.q.*", name);
	while (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc != 1) {
		globfree(&g);
		usleep(1000);
	}
	const char *qname = g.gl_pathv[0] + strlen("/dev/shm/qshm.");
	while ((rc = qshm_consumer_attach(qname, QSHM_CONSUMER_RELIABLE,
					  &req)) == -QSHM_ECREATING)
		usleep(1000);
	if (rc)
		die("attach request ring", rc);
	snprintf(rep, sizeof(rep), "%s.r.%s", name, qname + strlen(name) + 3);
	globfree(&g);
	struct qshm_create_opts co = { .capacity = 1 << 16 };
	rc = qshm_producer_create(rep, &co, &out);
	if (rc)
		die("create reply ring", rc);
	rc = qshm_consumer_read(req, &r, QSHM_FOREVER);
	if (rc)
		die("read request", rc);
	if (r.type != SVC_REC_RUN ||
	    svc_run_req_decode(r.data, r.len, &v, why, sizeof(why))) {
		fprintf(stderr, "test_hostile_reply: request: %s\n", why);
		_exit(2);
	}

	bool vec = mode == M_PROBS || mode == M_STATE;
	uint32_t nq = vec ? 61 : 2;
	uint64_t run_shots = mode == M_SHOTS ? 1000 : mode == M_OK ? 4 : 0;
	struct qshm_run_desc_creg cr = { .name = "c", .size = 2 };
	struct qshm_run_desc d = {
		.name = "hostile", .nqubits = nq, .shots = run_shots,
		.ncregs = 1, .cregs = &cr,
	};
	char begin[512];
	int blen = qshm_run_begin_encode(&d, begin, sizeof(begin));
	if (blen < 0)
		die("encode RUN_BEGIN", blen);
	struct svc_job_hdr h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.job = v.h.job, .shots = mode == M_OK ? 4 : vec ? 0 : 1,
		.bytes = 16384, .nrecords = 3, .want = v.h.want, .nqubits = nq,
	};
	pub(out, SVC_REC_JOB, &h, sizeof(h));
	pub(out, QSHM_REC_RUN_BEGIN, begin, (size_t)blen);
	if (!vec) {
		static uint64_t rec[2 + 1000];
		struct qshm_shots s = { .first_shot = 0,
					.count = (uint32_t)run_shots,
					.words_per_shot = 1 };
		memcpy(rec, &s, sizeof(s));
		for (uint64_t i = 0; i < run_shots; i++)
			rec[2 + i] = i & 3;
		pub(out, QSHM_REC_SHOTS, rec, 16 + 8 * run_shots);
	} else {
		/* The first 8 elements of a 2^61-element vector. */
		static uint64_t rec[4 + 16];
		struct qshm_chunk c = { .nqubits = nq, .first = 0, .count = 8,
					.total = (uint64_t)1 << nq };
		memcpy(rec, &c, sizeof(c));
		pub(out, mode == M_STATE ? QSHM_REC_STATE : QSHM_REC_PROBS,
		    rec, sizeof(c) + 8 * (mode == M_STATE ? 16 : 8));
	}
	struct qshm_run_end e = { .status = 0, .shots = run_shots };
	pub(out, QSHM_REC_RUN_END, &e, sizeof(e));
	for (;;)
		pause();
	return NULL;
}

/* The child: the service thread and the client. 0 when the client took
 * the consistent reply and refused each hostile one with an error. */
static int child(void)
{
	qshm_producer *ctl;
	qshm_client *cl;
	pthread_t t;
	uint64_t job;
	int rc;

	struct svc_info info = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.pid = getpid(), .workers = 1, .max_qubits = 63, .queue = 8,
		.max_request = 4096,
	};
	memcpy(info.magic, SVC_INFO_MAGIC, sizeof(info.magic));
	rc = qshm_producer_create(name, NULL, &ctl);
	if (rc)
		die("create control ring", rc);
	rc = qshm_producer_set_meta(ctl, &info, sizeof(info));
	if (rc)
		die("set_meta", rc);
	if (pthread_create(&t, NULL, service, NULL))
		die("pthread_create", -EAGAIN);
	rc = qshm_client_connect(name, 5000000000, &cl);
	if (rc)
		die("connect", rc);
	struct qshm_run_spec spec = {
		.shots = mode == M_OK || mode == M_SHOTS ? 1 : 0,
		.deadline_ns = QSHM_FOREVER,
		.want = mode == M_PROBS ? QSHM_WANT_PROBS :
			mode == M_STATE ? QSHM_WANT_STATE : QSHM_WANT_SHOTS,
	};
	if (mode == M_OK)
		spec.shots = 4;
	static const char qasm[] = "OPENQASM 2.0;\nqreg q[2];\n";
	rc = qshm_client_submit_qasm(cl, qasm, sizeof(qasm) - 1, &spec, &job);
	if (rc)
		die("submit", rc);
	const struct qshm_job_view *view = NULL;
	rc = qshm_client_wait_view(cl, job, 5000000000, &view);
	printf("%s: wait_view %d: %s\n", mode_name[mode], rc,
	       rc ? qshm_client_error(cl) : "taken");
	if (mode == M_OK) {
		if (rc || view->shots != 4 || view->words_per_shot != 1)
			return 1;
		for (uint64_t i = 0; i < 4; i++)
			if (view->shot_words[i] != (i & 3))
				return 1;
		return 0;
	}
	/* Refused at the record that does not fit, for that reason (the
	 * old client wrote past its buffer, then failed the job only for
	 * lacking records: an overflow ASan reports, which a build without
	 * it would not show). */
	if (mode == M_SHOTS)
		return rc == -EPROTO &&
		       strstr(qshm_client_error(cl), "SHOTS past") ? 0 : 1;
	return rc == -ENOMEM ? 0 : 1;
}

static void remove_rings(void)
{
	char pat[128];
	glob_t g;

	snprintf(pat, sizeof(pat), "/dev/shm/qshm.%s*", name);
	if (glob(pat, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
	globfree(&g);
}

int main(void)
{
	int failed = 0;

	for (mode = M_OK; mode <= M_STATE; mode++) {
		int st = 0;
		pid_t pid;

		snprintf(name, sizeof(name), "hostile%d-%s", (int)getpid(),
			 mode_name[mode]);
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			int rc = child();
			fflush(stdout);
			_exit(rc);   /* the service thread is left running */
		}
		/* 30 s at most (it takes milliseconds). */
		for (int i = 0; i < 3000; i++) {
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			if (i == 2999) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
			}
			usleep(10000);
		}
		remove_rings();
		bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if (!ok) {
			printf("FAIL %s: %s %d\n", mode_name[mode],
			       WIFEXITED(st) ? "exit status" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) :
					       WTERMSIG(st));
			failed = 1;
		}
	}
	printf("%s\n", failed ? "FAILED" : "all four replies handled");
	return failed;
}
