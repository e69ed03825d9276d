/* SPDX-License-Identifier: MIT */
/*
 * service_client.c - a parameter sweep through a running `qshm serve`,
 * driven by an event loop: the circuit is registered once (the service
 * parses it once), every step sends only new angles, and the replies are
 * taken when the client's descriptor says they are there.
 *
 *     qshm serve sim1 &
 *     example-service-client sim1 20
 *
 * Prints one line per step: theta, <Z0> as the service computed it from
 * the final state, and cos(theta), which it must equal, then the counts
 * of the last step. Exit status 0, or 1 on an error.
 */
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qshm/client.h>

static const char circuit[] =
	"OPENQASM 2.0;\n"
	"include \"qelib1.inc\";\n"
	"param theta;\n"                 /* the service's extension */
	"qreg q[2];\n"
	"creg c[2];\n"
	"ry(theta) q[0];\n"
	"cx q[0], q[1];\n"
	"measure q -> c;\n";

int main(int argc, char **argv)
{
	struct qshm_client_opts opts = {
		.retries = 3, .backoff_ns = 1000000,    /* a full queue */
	};
	qshm_client *cl;
	uint64_t circ, job = 0;
	int steps = argc > 2 ? atoi(argv[2]) : 10, fd, rc;

	if (argc < 2 || steps < 1) {
		fprintf(stderr, "usage: %s SERVICE [STEPS]\n", argv[0]);
		return 1;
	}
	rc = qshm_client_connect_opts(argv[1], &opts, &cl);
	if (rc) {
		fprintf(stderr, "%s\n", qshm_client_error(NULL));
		return 1;
	}
	rc = qshm_client_register(cl, circuit, strlen(circuit), 5000000000,
				  &circ);
	fd = rc ? rc : qshm_client_fd(cl);
	if (rc || fd < 0) {
		fprintf(stderr, "%s\n", qshm_client_error(cl));
		qshm_client_close(cl);
		return 1;
	}
	for (int i = 0; i < steps && rc == 0; i++) {
		double theta = 3.14159265358979323846 * i / steps;
		const uint64_t z0 = 1;          /* Z on qubit 0 */
		struct qshm_run_spec spec = {
			.shots = 1000, .seed = (uint64_t)i,
			.deadline_ns = 10000000000,
			.want = QSHM_WANT_COUNTS | QSHM_WANT_EXPECT,
			.nparams = 1, .params = &theta,
			.nexpect = 1, .expect = &z0,
		};
		const struct qshm_job_view *v;

		rc = qshm_client_submit_circuit(cl, circ, &spec, &job);
		/* The event loop: here one descriptor; a real one would
		 * watch others too. */
		while (rc == 0 && qshm_client_ready(cl, job) == 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			/* A retry waiting for its backoff is a timer. */
			int64_t r = qshm_client_next_retry_ns(cl);
			int ms = r < 0 ? 10000 : (int)(r / 1000000) + 1;
			if (poll(&p, 1, ms) < 0)
				rc = -1;
			else if (qshm_client_process(cl) < 0)
				rc = -1;
		}
		if (rc == 0)
			rc = qshm_client_wait_view(cl, job, 0, &v);
		if (rc) {
			fprintf(stderr, "step %d: %s\n", i,
				qshm_client_error(cl));
			break;
		}
		printf("theta %.6f  <Z0> %+.12f  cos %+.12f\n", theta,
		       v->expect[0], cos(theta));
		if (i == steps - 1)
			for (size_t k = 0; k < v->ncounts; k++)
				printf("  %s %llu\n", v->counts[k].outcome,
				       (unsigned long long)v->counts[k].count);
		qshm_client_view_release(cl, v);
	}
	qshm_client_close(cl);
	return rc ? 1 : 0;
}
