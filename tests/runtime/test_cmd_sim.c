/*
 * test_cmd_sim.c - `qshm sim` (tools/cmd_sim.c, linked in): options, the
 * counts output, exit statuses and messages. Each run happens in a forked
 * child whose stdout and stderr go to files; the child reports only through
 * its exit status.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_test.h"

int qshm_cmd_sim(int argc, char **argv);

struct result {
	int status;
	char out[8192], err[8192];
};

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;

	lseek(fd, 0, SEEK_SET);
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

/* Run `qshm sim ARGS...` (NULL-terminated). */
static struct result *run(const char *first, ...)
{
	static struct result res;
	char *argv[32];
	int argc = 0, status;
	char outp[] = "/tmp/qshm-rt-outXXXXXX", errp[] = "/tmp/qshm-rt-errXXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp);
	va_list ap;
	pid_t pid;

	cr_assert(ofd >= 0 && efd >= 0);
	unlink(outp);
	unlink(errp);
	argv[argc++] = (char *)"sim";
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		int rc = qshm_cmd_sim(argc, argv);

		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the command crashed");
	res.status = WEXITSTATUS(status);
	slurp(ofd, res.out, sizeof(res.out));
	slurp(efd, res.err, sizeof(res.err));
	close(ofd);
	close(efd);
	return &res;
}

static char dir[] = "/tmp/qshm-rt-cmdXXXXXX";
static char bell[600], multi[600], broken[600];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(bell, sizeof(bell), "%s/bell.qasm", dir);
	write_file(bell, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n"
		   "creg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n");
	snprintf(multi, sizeof(multi), "%s/multi.qasm", dir);
	write_file(multi, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\n"
		   "creg a[1];\ncreg b[2];\nx q[0];\nh q[2];\n"
		   "measure q[0] -> a[0];\nmeasure q[1] -> b[0];\n"
		   "measure q[2] -> b[1];\n");
	snprintf(broken, sizeof(broken), "%s/broken.qasm", dir);
	write_file(broken, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n"
		   "cx q[0] q[1];\n");
}

static void teardown(void)
{
	unlink(bell);
	unlink(multi);
	unlink(broken);
	rmdir(dir);
}

TestSuite(cmd_sim, .init = setup, .fini = teardown);

/* The counts of @outcome in a {"counts": {...}} line, -1 if absent. */
static long count_of(const char *json, const char *outcome)
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\": ", outcome);
	p = strstr(json, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

Test(cmd_sim, helpPrintsUsageAndSucceeds)
{
	struct result *r = run("--help", NULL);

	cr_expect_eq(r->status, 0);
	cr_expect(strncmp(r->out, "usage: qshm sim FILE", 20) == 0, "%s", r->out);
	cr_expect(strstr(r->out, "--counts") && strstr(r->out, "--ring"));
	cr_expect_str_eq(r->err, "");
}

Test(cmd_sim, bellCountsAreJsonSortedAndReproducible)
{
	struct result *r = run(bell, "--shots", "1000", "--seed", "7", "--counts",
			       NULL);
	char first[8192];

	cr_assert_eq(r->status, 0, "%s", r->err);
	cr_expect_str_eq(r->err, "");
	cr_expect(strncmp(r->out, "{\"counts\": {\"00\": ", 18) == 0, "%s",
		  r->out);
	cr_expect(strstr(r->out, ", \"11\": ") != NULL, "%s", r->out);
	cr_expect_str_eq(r->out + strlen(r->out) - 3, "}}\n");
	cr_expect_eq(count_of(r->out, "00") + count_of(r->out, "11"), 1000);
	cr_expect_eq(count_of(r->out, "01"), -1);
	strcpy(first, r->out);
	r = run("--seed=7", "--counts", "--shots=1000", bell, NULL);
	cr_expect_str_eq(r->out, first);
	r = run(bell, "--shots", "1000", "--seed", "0x7", "--batch", "3",
		"--counts", NULL);
	cr_expect_str_eq(r->out, first);
}

Test(cmd_sim, threadsAndFusionLeaveTheCountsAlone)
{
	struct result *r = run(bell, "--shots", "2000", "--seed", "11",
			       "--counts", NULL);
	char first[8192];

	cr_assert_eq(r->status, 0, "%s", r->err);
	strcpy(first, r->out);
	r = run(bell, "--shots", "2000", "--seed", "11", "--threads", "2",
		"--counts", NULL);
	cr_expect_eq(r->status, 0, "%s", r->err);
	cr_expect_str_eq(r->out, first);
	r = run(bell, "--shots", "2000", "--seed", "11", "--threads=1",
		"--fuse", "0", "--counts", NULL);
	cr_expect_eq(r->status, 0, "%s", r->err);
	cr_expect_str_eq(r->out, first);
	setenv("QSHM_THREADS", "3", 1);
	r = run(bell, "--shots", "2000", "--seed", "11", "--fuse", "5",
		"--counts", NULL);
	unsetenv("QSHM_THREADS");
	cr_expect_eq(r->status, 0, "%s", r->err);
	cr_expect_str_eq(r->out, first);
	r = run(bell, "--threads", "0", "--counts", NULL);
	cr_expect_eq(r->status, 2);
	cr_expect(strstr(r->err, "--threads: '0' is not an integer in "
			 "[1, 1024]") != NULL, "%s", r->err);
	r = run(bell, "--fuse", "6", "--counts", NULL);
	cr_expect_eq(r->status, 2);
	cr_expect(strstr(r->err, "--fuse: '6'") != NULL, "%s", r->err);
	r = run(bell, "--shots", "2000", "--seed", "11", "--chunk", "0",
		"--counts", NULL);
	cr_expect_eq(r->status, 0, "%s", r->err);
	cr_expect_str_eq(r->out, first);
	r = run(bell, "--shots", "2000", "--seed", "11", "--chunk", "2",
		"--counts", NULL);
	cr_expect_eq(r->status, 0, "%s", r->err);
	cr_expect_str_eq(r->out, first);
	r = run(bell, "--shots", "2000", "--seed", "11", "--precision",
		"single", "--counts", NULL);
	cr_expect_eq(r->status, 0, "%s", r->err);
	cr_expect(strstr(r->out, "\"counts\"") != NULL, "%s", r->out);
	r = run(bell, "--precision", "half", "--counts", NULL);
	cr_expect_eq(r->status, 2);
	cr_expect(strstr(r->err, "--precision: 'half' is not single or "
			 "double") != NULL, "%s", r->err);
	r = run(bell, "--chunk", "1", "--counts", NULL);
	cr_expect_eq(r->status, 2);
	cr_expect(strstr(r->err, "--chunk: '1'") != NULL, "%s", r->err);
}

Test(cmd_sim, outcomesFollowQiskitOrder)
{
	struct result *r = run(multi, "--shots", "400", "--seed", "1", "--counts",
			       NULL);

	cr_assert_eq(r->status, 0, "%s", r->err);
	/* b (last declared) first: b[1] b[0], then a[0] */
	cr_expect_eq(count_of(r->out, "00 1") + count_of(r->out, "10 1"), 400,
		     "%s", r->out);
	cr_expect(strstr(r->out, "{\"counts\": {\"00 1\": ") == r->out);
}

Test(cmd_sim, defaultShotsAndZeroShots)
{
	struct result *r = run(bell, "--counts", NULL);

	cr_assert_eq(r->status, 0, "%s", r->err);
	cr_expect_eq(count_of(r->out, "00") + count_of(r->out, "11"), 1024);
	/* Zero shots is nothing to do: a usage error, not empty counts. */
	r = run(bell, "--counts", "--shots", "0", NULL);
	cr_expect_eq(r->status, 2);
	cr_expect_str_eq(r->out, "");
	cr_expect_str_eq(r->err, "qshm sim: --shots 0: nothing to simulate; "
			 "give at least 1\nTry 'qshm sim --help'.\n");
}

Test(cmd_sim, usageErrorsExitTwo)
{
	static const char *const cases[][4] = {
		{ "--counts", NULL, NULL, "missing FILE: the OpenQASM 2.0 program "
		  "to simulate" },
		{ "F", "--shots", "abc", "--shots: 'abc' is not a non-negative "
		  "integer" },
		{ "F", "--shots", "-5", "--shots: '-5' is not a non-negative "
		  "integer" },
		{ "F", "--seed", "1x", "--seed: '1x' is not an integer in [0, "
		  "2^64)" },
		{ "F", "--seed", "99999999999999999999", "--seed: "
		  "'99999999999999999999' is not an integer in [0, 2^64)" },
		{ "F", "--batch", "0", "--batch: '0' is not an integer in [1, "
		  "16777216]" },
		{ "F", "--frobnicate", NULL, "unknown option '--frobnicate'" },
		{ "F", "--probs", NULL, "--probs only applies with --ring NAME" },
		{ "F", "--capacity", "12Q", "--capacity: '12Q' is not a power "
		  "of two from 4K (bytes, or with K, M, G: 64K, 4M)" },
		{ "F", "--capacity", "3M", "--capacity: '3M' is not a power "
		  "of two from 4K (bytes, or with K, M, G: 64K, 4M)" },
		{ "F", NULL, NULL, "nothing to do: give --counts (or --ring "
		  "NAME)" },
		{ "F", "G", NULL, "unexpected argument 'G' (one FILE only)" },
		{ "F", "--shots", NULL, "--shots needs a number" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a0 = strcmp(cases[i][0], "F") ? cases[i][0] : bell;
		const char *a1 = cases[i][1], *a2 = a1 ? cases[i][2] : NULL;
		struct result *r = run(a0, a1, a2, NULL);
		char want[512];

		snprintf(want, sizeof(want), "qshm sim: %s\nTry 'qshm sim --help'.\n",
			 cases[i][3]);
		cr_expect_eq(r->status, 2, "case %zu", i);
		cr_expect_str_eq(r->err, want, "case %zu", i);
		cr_expect_str_eq(r->out, "");
	}
}

Test(cmd_sim, errorsExitOneWithTheMessage)
{
	char want[1024];
	struct result *r = run("/nonexistent/x.qasm", "--counts", NULL);

	cr_expect_eq(r->status, 1);
	cr_expect_str_eq(r->err, "/nonexistent/x.qasm: error: cannot read the "
			 "file: No such file or directory\n");
	cr_expect_str_eq(r->out, "");

	r = run(broken, "--counts", NULL);
	cr_expect_eq(r->status, 1);
	snprintf(want, sizeof(want), "%s:4:9: error: expected ',' or ';' after "
		 "the arguments, found 'q'\n", broken);
	cr_expect_str_eq(r->err, want);
	cr_expect_str_eq(r->out, "");
}

Test(cmd_sim, ringRunPublishesAndKeepsTheCountsOfACountsRun)
{
	char ring[64], path[96], *want;
	struct result *r;

	snprintf(ring, sizeof(ring), "tcs%d.bell", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm/qshm.%s", ring);
	unlink(path);
	r = run(bell, "--counts", "--shots", "5000", "--seed", "9", NULL);
	cr_assert_eq(r->status, 0);
	want = strdup(r->out);
	cr_assert_not_null(want);
	/* No consumer: the ring keeps the run for late readers. */
	r = run(bell, "--ring", ring, "--counts", "--shots", "5000", "--seed",
		"9", "--probs", "--state", NULL);
	cr_expect_eq(r->status, 0, "stderr: %s", r->err);
	cr_expect_str_eq(r->out, want);
	cr_expect_eq(access(path, F_OK), 0, "the ring stays after the run");
	unlink(path);
	r = run(bell, "--ring", ring, "--counts", "--unlink", NULL);
	cr_expect_eq(r->status, 0, "stderr: %s", r->err);
	cr_expect_neq(access(path, F_OK), 0, "--unlink removes the ring");
	unlink(path);
	free(want);
}

Test(cmd_sim, ringOptionsAreChecked)
{
	struct result *r = run(bell, "--ring", "bell", "--wait-consumers", "x",
			       NULL);
	cr_expect_eq(r->status, 2);
	r = run(bell, "--ring", "a/b", NULL);
	cr_expect_eq(r->status, 2);
	cr_expect(strstr(r->err, "a/b") != NULL, "stderr: %s", r->err);
}

Test(cmd_sim, simulatorErrorsAreReported)
{
	char big[600], want[1024];
	struct result *r;

	snprintf(big, sizeof(big), "%s/big.qasm", dir);
	write_file(big, "OPENQASM 2.0;\nqreg a[41];\ncreg c[1];\n");
	r = run(big, "--counts", NULL);
	cr_expect_eq(r->status, 1);
	snprintf(want, sizeof(want), "qshm sim: %s: error: the circuit has 41 "
		 "qubits; this simulator handles at most 40 (a state vector of "
		 "2^n amplitudes of 16 bytes)\n", big);
	cr_expect_str_eq(r->err, want);
	unlink(big);
}

Test(cmd_sim, maxGatesBoundsThePlanning)
{
	struct result *r;
	char want[1024];

	r = run(bell, "--counts", "--shots", "8", "--max-gates", "2", NULL);
	cr_expect_eq(r->status, 0, "%s", r->err);
	r = run(bell, "--counts", "--max-gates", "1", NULL);
	cr_expect_eq(r->status, 1);
	snprintf(want, sizeof(want), "%s:6:1: error: gate expansion exceeds the "
		 "limit of 1 gate applications (at 'cx'); the limit is set by "
		 "--max-gates (qasm_parse_opts.max_gates)\n", bell);
	cr_expect_str_eq(r->err, want);
	cr_expect_str_eq(r->out, "");
	r = run(bell, "--counts", "--max-gates", "0", NULL);
	cr_expect_eq(r->status, 2);
	cr_expect(strstr(r->err, "--max-gates: '0' is not a positive integer"),
		  "%s", r->err);
}
