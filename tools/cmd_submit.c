/* SPDX-License-Identifier: MIT */
/*
 * cmd_submit.c - `qshm submit SERVICE FILE`: run one circuit on a running
 * `qshm serve` and print its counts as `qshm sim --counts` does.
 *
 * Exit status: 0 success, 1 error (no service, a refused or failed job,
 * the service died), 2 usage, 3 timed out (--timeout or --deadline).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qshm/client.h"
#include "tools.h"

#define SUBMIT_MAX_FILE (256u << 10)

static void submit_usage(FILE *f)
{
	fputs("usage: qshm submit SERVICE FILE [--shots N] [--seed S] "
	      "[--deadline SEC]\n"
	      "                   [--timeout SEC]\n"
	      "\n"
	      "Run the OpenQASM 2.0 program FILE on service SERVICE (qshm "
	      "serve) and\n"
	      "print {\"counts\": {...}} as 'qshm sim FILE --counts' does: "
	      "the same\n"
	      "circuit and seed give the same counts.\n"
	      "\n"
	      "  --shots N       number of shots (default 1024)\n"
	      "  --seed S        random seed (default: a fresh one)\n"
	      "  --deadline SEC  the service drops the job if not done in SEC "
	      "seconds\n"
	      "  --timeout SEC   wait at most SEC seconds to connect and for "
	      "the result\n"
	      "                  (default 60)\n"
	      "  -h, --help      show this help\n"
	      "\n"
	      "Exit status: 0 success, 1 error, 2 usage, 3 timed out.\n", f);
}

/* A regular file of at most SUBMIT_MAX_FILE bytes, into *out. */
static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > SUBMIT_MAX_FILE) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

static int sec_opt(const char *opt, const char *v, int64_t *ns)
{
	double s;

	if (!v || tools_parse_double(v, &s) || !(s > 0) || s > 1e9)
		return tools_usage_error("submit", "%s needs a positive number "
					 "of seconds", opt);
	*ns = (int64_t)(s * 1e9);
	return 0;
}

int qshm_cmd_submit(int argc, char **argv)
{
	struct qshm_job_spec spec = { .shots = 1024,
				      .deadline_ns = QSHM_FOREVER };
	const char *service = NULL, *file = NULL;
	int64_t timeout = (int64_t)60 * 1000000000;
	bool have_seed = false;
	struct qshm_job_result *res;
	qshm_client *cl;
	uint64_t job;
	char *text = NULL;
	size_t len = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			submit_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--shots")) {
			if (!v || tools_parse_u64(v, &spec.shots) ||
			    spec.shots == 0 || spec.shots > ((uint64_t)1 << 40))
				return tools_usage_error("submit", "--shots "
							 "needs an integer in "
							 "[1, 2^40]");
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (!v || tools_parse_u64(v, &spec.seed))
				return tools_usage_error("submit", "--seed "
							 "needs an integer in "
							 "[0, 2^64)");
			have_seed = true;
			i++;
		} else if (!strcmp(a, "--deadline")) {
			if ((rc = sec_opt(a, v, &spec.deadline_ns)))
				return rc;
			i++;
		} else if (!strcmp(a, "--timeout")) {
			if ((rc = sec_opt(a, v, &timeout)))
				return rc;
			i++;
		} else if (a[0] == '-' && a[1]) {
			return tools_usage_error("submit", "unknown option "
						 "'%s'", a);
		} else if (!service) {
			service = a;
		} else if (!file) {
			file = a;
		} else {
			return tools_usage_error("submit", "unexpected "
						 "argument '%s'", a);
		}
	}
	if (!service || !file)
		return tools_usage_error("submit", "needs SERVICE and FILE");
	if (!have_seed)
		spec.seed = ((uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull) ^
			    ((uint64_t)getpid() << 32);
	rc = read_file(file, &text, &len);
	if (rc) {
		fprintf(stderr, "qshm submit: %s: %s\n", file,
			rc == -EINVAL ? "not a regular file" :
			rc == -EFBIG ? "larger than 256 KiB" : strerror(-rc));
		return 1;
	}
	rc = qshm_client_connect(service, timeout, &cl);
	if (rc) {
		fprintf(stderr, "qshm submit: %s\n", qshm_client_error(NULL));
		free(text);
		return rc == -ETIMEDOUT ? 3 : 1;
	}
	rc = qshm_client_submit(cl, text, len, &spec, &job);
	free(text);
	if (rc == 0)
		rc = qshm_client_wait(cl, job, timeout, &res);
	if (rc) {
		fprintf(stderr, "qshm submit: %s: %s\n", file,
			qshm_client_error(cl));
		qshm_client_close(cl);
		return rc == -ETIMEDOUT ? 3 : 1;
	}
	fputs("{\"counts\": {", stdout);
	for (size_t i = 0; i < res->n; i++)
		printf("%s\"%s\": %" PRIu64, i ? ", " : "",
		       res->entries[i].outcome, res->entries[i].count);
	fputs("}}\n", stdout);
	qshm_job_result_free(res);
	qshm_client_close(cl);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("qshm submit: writing the counts");
		return 1;
	}
	return 0;
}
