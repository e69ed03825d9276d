/* SPDX-License-Identifier: MIT */
/*
 * cmd_serve.c - `qshm serve NAME`: a simulator service that clients reach
 * through shared memory (service/service.h, docs/service.md).
 *
 * Exit status: 0 stopped by SIGINT/SIGTERM, 1 error (the name is taken,
 * no memory), 2 usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "tools.h"

static volatile sig_atomic_t serve_stop;

static void serve_on_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

static void serve_usage(FILE *f)
{
	fputs("usage: qshm serve NAME [--workers N] [--max-qubits Q] "
	      "[--queue N]\n"
	      "                  [--memory BYTES] [--busy-poll] "
	      "[--inline-qubits N] [-q]\n"
	      "\n"
	      "Run a simulator service named NAME: clients (qshm submit, "
	      "qshm/client.h)\n"
	      "send OpenQASM 2.0 jobs, or register circuits with parameters "
	      "and run them\n"
	      "with new values, and get counts, shots, probabilities, "
	      "states or <Z>\n"
	      "values back through shared-memory rings /dev/shm/qshm.NAME*\n"
	      "(docs/service.md). Runs until SIGINT or SIGTERM.\n"
	      "\n"
	      "  --workers N     jobs simulated at once, 1..256 (default 1)\n"
	      "  --max-qubits Q  refuse circuits of more qubits, 1..40 "
	      "(default 26)\n"
	      "  --queue N       jobs queued or running at most; more are "
	      "refused with\n"
	      "                  QSHM_EQUEUEFULL (default 64)\n"
	      "  --memory BYTES  state vectors of jobs running at once, at "
	      "most (suffix\n"
	      "                  K, M, G; default half the physical memory); "
	      "a larger job\n"
	      "                  waits, states up to 1 MiB always run\n"
	      "  --busy-poll     the main thread spins instead of sleeping: "
	      "lowest latency,\n"
	      "                  a CPU of its own (workers still sleep when "
	      "idle)\n"
	      "  --inline-qubits N\n"
	      "                  jobs of at most N qubits and little work run "
	      "on the main\n"
	      "                  thread when no job is queued, 0..16; 0: "
	      "every job goes to\n"
	      "                  a worker (default 10)\n"
	      "  -q, --quiet     no log of connections on stderr\n"
	      "  -h, --help      show this help\n"
	      "\n"
	      "Exit status: 0 stopped by a signal, 1 error, 2 usage.\n", f);
}

static int num_opt(const char *opt, const char *v, uint64_t lo, uint64_t hi,
		   unsigned *out)
{
	uint64_t x;

	if (!v || tools_parse_u64(v, &x) || x < lo || x > hi)
		return tools_usage_error("serve", "%s needs an integer in "
					 "[%llu, %llu]", opt,
					 (unsigned long long)lo,
					 (unsigned long long)hi);
	*out = (unsigned)x;
	return 0;
}

/* BYTES with an optional K, M, G or T (powers of 1024), below 2^63. */
static int bytes_opt(const char *opt, const char *v, uint64_t *out)
{
	uint64_t x;

	if (tools_parse_size(v, &x) || x == 0 || x > UINT64_MAX >> 1)
		return tools_usage_error("serve", "%s needs a size in bytes "
					 "(e.g. 4096, 512M, 8G)", opt);
	*out = x;
	return 0;
}

int qshm_cmd_serve(int argc, char **argv)
{
	struct svc_config cfg = {
		.workers = 1, .max_qubits = 26, .queue = 64, .log = stderr,
		.stop = &serve_stop,
	};
	struct sigaction sa;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			serve_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--workers")) {
			if ((rc = num_opt(a, v, 1, 256, &cfg.workers)))
				return rc;
			i++;
		} else if (!strcmp(a, "--max-qubits")) {
			if ((rc = num_opt(a, v, 1, 40, &cfg.max_qubits)))
				return rc;
			i++;
		} else if (!strcmp(a, "--queue")) {
			if ((rc = num_opt(a, v, 1, 1 << 20, &cfg.queue)))
				return rc;
			i++;
		} else if (!strcmp(a, "--memory")) {
			if ((rc = bytes_opt(a, v, &cfg.memory_budget)))
				return rc;
			i++;
		} else if (!strcmp(a, "--busy-poll")) {
			cfg.busy_poll = 1;
		} else if (!strcmp(a, "--inline-qubits")) {
			if ((rc = num_opt(a, v, 0, 16, &cfg.inline_qubits)))
				return rc;
			cfg.no_inline = cfg.inline_qubits == 0;
			i++;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cfg.log = NULL;
		} else if (a[0] == '-' && a[1]) {
			return tools_usage_error("serve", "unknown option '%s'",
						 a);
		} else if (!cfg.name) {
			cfg.name = a;
		} else {
			return tools_usage_error("serve", "unexpected argument "
						 "'%s' (one NAME only)", a);
		}
	}
	if (!cfg.name)
		return tools_usage_error("serve", "missing NAME: the service's "
					 "name");
	if (qshm_name_check(cfg.name) || strlen(cfg.name) > 160)
		return tools_usage_error("serve", "'%s' is not a service name "
					 "(1..160 of [A-Za-z0-9._-])",
					 cfg.name);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = serve_on_signal;   /* no SA_RESTART: waits end */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* For tests: the waiting of kernels without io_uring futex waits. */
	cfg.no_poll = getenv("QSHM_SERVE_NO_POLL") != NULL;
	rc = svc_run(&cfg);
	if (rc) {
		fprintf(stderr, "qshm serve: %s: %s\n", cfg.name,
			qshm_strerror(rc));
		return 1;
	}
	return 0;
}
