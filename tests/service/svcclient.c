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
 * Exit status 0 when it could do what it was asked (the script checks
 * what it printed), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qshm/client.h"
#include "svc_wire.h"

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
	case QSHM_EQUEUEFULL: return "QSHM_EQUEUEFULL";
	case QSHM_ESERVICEDEAD: return "QSHM_ESERVICEDEAD";
	case QSHM_ESERVICEGONE: return "QSHM_ESERVICEGONE";
	case QSHM_EREFUSED: return "QSHM_EREFUSED";
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
	h.qasm_len = 4;
	memcpy(junk, &h, sizeof(h));
	memcpy(junk + sizeof(h), "x;\n ", 4);
	sent += !qshm_producer_publish(p, SVC_REC_RUN, junk, sizeof(h) + 4, 0);
	/* an unknown record type */
	sent += !qshm_producer_publish(p, 999, junk, 16, 0);
	/* a cancel of the wrong size */
	sent += !qshm_producer_publish(p, SVC_REC_CANCEL, junk, 3, 0);
	for (int i = 0; i < sent; i++) {
		struct qshm_record r;
		struct svc_result_view v;
		char why[256];

		rc = qshm_consumer_read(c, &r, 5000000000);
		if (rc)
			break;
		rc = svc_result_decode(r.data, r.len, &v, why, sizeof(why));
		printf("reply %s %.*s\n", rc ? "MALFORMED" :
		       errname(v.h.status), rc ? 0 : (int)v.h.msg_len,
		       rc ? "" : v.msg);
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

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "fair"))
		return cmd_fair(argv);
	if (argc == 3 && !strcmp(argv[1], "stats"))
		return cmd_stats(argv);
	if (argc >= 6 && !strcmp(argv[1], "multi"))
		return cmd_multi(argc, argv);
	if (argc == 5 && !strcmp(argv[1], "hang"))
		return cmd_hang(argv);
	if (argc == 5 && !strcmp(argv[1], "deadline"))
		return cmd_deadline(argv);
	if (argc == 4 && !strcmp(argv[1], "queue"))
		return cmd_queue(argv);
	if (argc == 3 && !strcmp(argv[1], "garbage"))
		return cmd_garbage(argv);
	fprintf(stderr, "usage: see the head of svcclient.c\n");
	return 2;
}
