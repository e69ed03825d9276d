/* SPDX-License-Identifier: MIT */
/*
 * multirun.c - a producer of consecutive runs in one ring, with the
 * runtime's publisher: RUNS runs of SHOTS shots of the circuit in FILE
 * (RUN_BEGIN seed 1, 2, ...), after waiting for WAIT reliable consumers;
 * prints "run N ended" on stdout after each, and before run N >= 2 waits
 * (up to 30 s) for the file GATE_DIR/runN to exist, so a test can place a
 * consumer between two runs.
 *
 *	multirun NAME FILE RUNS SHOTS GATE_DIR WAIT [CAPACITY]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "publish.h"
#include "qasm.h"
#include "qshm/qshm.h"
#include "rt_error.h"
#include "sim.h"

/* Waits up to 30 s for DIR/runN to exist. Returns 0 or -1. */
static int wait_gate(const char *dir, int n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/run%d", dir, n);
	for (int i = 0; i < 3000; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct qasm_circuit *c;
	struct sim_run *run;
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct rt_error err;
	qshm_producer *p;
	struct publisher pub;
	char msg[512];

	if (argc < 7) {
		fprintf(stderr, "usage: multirun NAME FILE RUNS SHOTS GATE_DIR "
			"WAIT [CAPACITY]\n");
		return 2;
	}
	int runs = atoi(argv[3]);
	uint64_t shots = strtoull(argv[4], NULL, 0);
	struct qshm_create_opts co = {
		.capacity = argc > 7 ? strtoull(argv[7], NULL, 0) : 65536,
	};
	rt_error_clear(&err);
	if (qasm_parse_file(argv[2], 0, &c, &err) < 0 ||
	    sim_run_create(&run, c, &cfg, &err) < 0) {
		fprintf(stderr, "multirun: %s\n", err.msg);
		return 1;
	}
	if (qshm_producer_create(argv[1], &co, &p)) {
		fprintf(stderr, "multirun: %s\n", qshm_last_error());
		return 1;
	}
	if (qshm_producer_wait_consumers(p, atoi(argv[6]),
					 30 * 1000000000LL) < 0) {
		fprintf(stderr, "multirun: no consumers\n");
		return 1;
	}
	publisher_init(&pub, p, NULL);
	for (int i = 0; i < runs; i++) {
		if (i > 0 && wait_gate(argv[5], i + 1)) {
			fprintf(stderr, "multirun: no gate for run %d\n", i + 1);
			return 1;
		}
		__atomic_store_n(qshm_producer_user_counter(p, 4), shots,
				 __ATOMIC_RELAXED);
		if (publisher_run_shots(&pub, c, run, shots, (uint64_t)i + 1,
					msg, sizeof(msg))) {
			fprintf(stderr, "multirun: %s\n", msg);
			return 1;
		}
		printf("run %d ended\n", i + 1);
		fflush(stdout);
	}
	publisher_free(&pub);
	qshm_producer_close(p, 0);
	sim_run_destroy(run);
	qasm_circuit_free(c);
	return 0;
}
