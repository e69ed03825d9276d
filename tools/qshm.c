/* SPDX-License-Identifier: MIT */
/* qshm.c - the qshm command: one binary, a subcommand each. */
#include <stdio.h>
#include <string.h>

#include "qshm/qshm.h"
#include "tools.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
#ifdef QSHM_HAVE_SIM
	{ "sim", qshm_cmd_sim, "simulate an OpenQASM 2.0 circuit, stream "
	  "results into a ring" },
#endif
	{ "hist", qshm_cmd_hist, "attach to a ring, histogram its shots" },
	{ "demo", qshm_cmd_demo, "a producer and a consumer process "
	  "exchanging verified records" },
	{ "dump", qshm_cmd_dump, "show a ring read-only: header, producer, "
	  "consumers, last records" },
	{ "ls", qshm_cmd_ls, "list the rings on this machine and their "
	  "state" },
	{ "rm", qshm_cmd_rm, "remove a ring (or every stale one)" },
	{ "stat", qshm_cmd_stat, "rates, lag, losses, memory; Prometheus "
	  "metrics" },
#ifdef QSHM_HAVE_SERVE
	{ "serve", qshm_cmd_serve, "a simulator service clients reach "
	  "through shared memory" },
#endif
	{ "submit", qshm_cmd_submit, "run a circuit on a service, print its "
	  "counts" },
#ifdef QSHM_HAVE_BENCH
	{ "bench", qshm_cmd_bench, "benchmark suite: qshm against the "
	  "hardware floor, sockets, pipes, TCP, ZeroMQ" },
#endif
};

static void usage(FILE *f)
{
	fprintf(f, "usage: qshm COMMAND [options] [args]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-6s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\n'qshm COMMAND --help' tells more; 'qshm --version' "
		"prints the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		int a, b, c;
		qshm_version(&a, &b, &c);
		printf("qshm %d.%d.%d (ring format %d.%d)\n", a, b, c,
		       QSHM_FORMAT_MAJOR, QSHM_FORMAT_MINOR);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			tools_guard_sigbus();
			return cmds[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "qshm: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
