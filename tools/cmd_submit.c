/* SPDX-License-Identifier: MIT */
/*
 * cmd_submit.c - `qshm submit SERVICE FILE`: run one circuit on a running
 * `qshm serve` and print its counts as `qshm sim --counts` does. With
 * --param the circuit is registered (its `param` names are learnt from
 * the service) and run with the values; --expect adds <Z...Z> values.
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
	      "                   [--timeout SEC] [--param NAME=VALUE]... "
	      "[--expect QUBITS]...\n"
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
	      "  --param NAME=VALUE\n"
	      "                  a value for the circuit's 'param NAME;' "
	      "(every declared\n"
	      "                  parameter needs one); the circuit is "
	      "registered, then run\n"
	      "  --expect QUBITS also print <Z...Z> on the final state for "
	      "these qubits\n"
	      "                  (comma-separated indices, e.g. 0,1), as "
	      "\"expect\": [...]\n"
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

#define SUBMIT_MAX_LIST 256

/* "0,1,5" into a qubit mask. */
static int mask_opt(const char *v, uint64_t *mask)
{
	char *end;

	*mask = 0;
	if (!v || !*v)
		return -1;
	for (const char *p = v; *p; p = end + (*end == ',')) {
		unsigned long q = strtoul(p, &end, 10);
		if (end == p || q > 63 || (*end && *end != ','))
			return -1;
		*mask |= 1ull << q;
		if (*end == ',' && !end[1])
			return -1;
	}
	return 0;
}

/* Registers text, binds --param values by name into vals[]. */
static int bind_params(qshm_client *cl, const char *file, const char *text,
		       size_t len, int64_t timeout, char **names,
		       const double *given, unsigned ngiven, uint64_t *circ,
		       double *vals, uint32_t *nvals)
{
	struct qshm_circuit_info info;
	int rc = qshm_client_register(cl, text, len, timeout, circ);

	if (rc) {
		fprintf(stderr, "qshm submit: %s: %s\n", file,
			qshm_client_error(cl));
		return rc;
	}
	qshm_client_circuit_info(cl, *circ, &info);
	if (info.nparams > SUBMIT_MAX_LIST) {
		fprintf(stderr, "qshm submit: %s: %u parameters, at most %d\n",
			file, info.nparams, SUBMIT_MAX_LIST);
		return -EINVAL;
	}
	for (unsigned k = 0; k < ngiven; k++) {
		bool known = false;
		for (uint32_t i = 0; i < info.nparams; i++)
			known |= !strcmp(info.param_names[i], names[k]);
		if (!known) {
			fprintf(stderr, "qshm submit: %s: no parameter "
				"'%s' (declared: %u)\n", file, names[k],
				info.nparams);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < info.nparams; i++) {
		bool found = false;
		for (unsigned k = 0; k < ngiven; k++)
			if (!strcmp(info.param_names[i], names[k])) {
				vals[i] = given[k];
				found = true;
			}
		if (!found) {
			fprintf(stderr, "qshm submit: %s: no --param %s=VALUE "
				"for the circuit's parameter '%s'\n", file,
				info.param_names[i], info.param_names[i]);
			return -EINVAL;
		}
	}
	*nvals = info.nparams;
	return 0;
}

int qshm_cmd_submit(int argc, char **argv)
{
	char *pnames[SUBMIT_MAX_LIST];
	double pvals[SUBMIT_MAX_LIST], bound[SUBMIT_MAX_LIST];
	uint64_t masks[SUBMIT_MAX_LIST], circ = 0;
	unsigned nparams = 0, nexpect = 0;
	uint32_t nbound = 0;
	const struct qshm_job_view *view = NULL;
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
		} else if (!strcmp(a, "--param")) {
			const char *eq = v ? strchr(v, '=') : NULL;
			double x;
			if (!eq || eq == v || tools_parse_double(eq + 1, &x) ||
			    nparams == SUBMIT_MAX_LIST)
				return tools_usage_error("submit", "--param "
							 "needs NAME=VALUE "
							 "(a number)");
			pnames[nparams] = strndup(v, (size_t)(eq - v));
			pvals[nparams++] = x;
			i++;
		} else if (!strcmp(a, "--expect")) {
			if (nexpect == SUBMIT_MAX_LIST ||
			    mask_opt(v, &masks[nexpect]))
				return tools_usage_error("submit", "--expect "
							 "needs qubit indices "
							 "0..63, e.g. 0,1");
			nexpect++;
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
		for (unsigned k = 0; k < nparams; k++)
			free(pnames[k]);
		return 1;
	}
	rc = qshm_client_connect(service, timeout, &cl);
	if (rc) {
		fprintf(stderr, "qshm submit: %s\n", qshm_client_error(NULL));
		for (unsigned k = 0; k < nparams; k++)
			free(pnames[k]);
		free(text);
		return rc == -ETIMEDOUT ? 3 : 1;
	}
	if (!nparams && !nexpect) {
		rc = qshm_client_submit(cl, text, len, &spec, &job);
	} else {
		struct qshm_run_spec rs = {
			.shots = spec.shots, .seed = spec.seed,
			.deadline_ns = spec.deadline_ns,
			.want = QSHM_WANT_COUNTS | QSHM_WANT_COPY |
				(nexpect ? QSHM_WANT_EXPECT : 0),
			.nexpect = nexpect, .expect = masks,
		};
		rc = nparams ? bind_params(cl, file, text, len, timeout,
					   pnames, pvals, nparams, &circ,
					   bound, &nbound) : 0;
		if (rc) {
			for (unsigned k = 0; k < nparams; k++)
				free(pnames[k]);
			free(text);
			qshm_client_close(cl);
			return rc == -ETIMEDOUT ? 3 : 1;
		}
		rs.nparams = nbound;
		rs.params = bound;
		rc = circ ? qshm_client_submit_circuit(cl, circ, &rs, &job) :
			    qshm_client_submit_qasm(cl, text, len, &rs, &job);
	}
	for (unsigned k = 0; k < nparams; k++)
		free(pnames[k]);
	free(text);
	if (rc == 0 && !nparams && !nexpect)
		rc = qshm_client_wait(cl, job, timeout, &res);
	else if (rc == 0)
		rc = qshm_client_wait_view(cl, job, timeout, &view);
	if (rc) {
		fprintf(stderr, "qshm submit: %s: %s\n", file,
			qshm_client_error(cl));
		qshm_client_close(cl);
		return rc == -ETIMEDOUT ? 3 : 1;
	}
	fputs("{\"counts\": {", stdout);
	if (view) {
		for (size_t i = 0; i < view->ncounts; i++)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "",
			       view->counts[i].outcome, view->counts[i].count);
		fputs("}", stdout);
		if (view->nexpect) {
			fputs(", \"expect\": [", stdout);
			for (size_t i = 0; i < view->nexpect; i++)
				printf("%s%.17g", i ? ", " : "",
				       view->expect[i]);
			fputs("]", stdout);
		}
		fputs("}\n", stdout);
		qshm_client_view_release(cl, view);
	} else {
		for (size_t i = 0; i < res->n; i++)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "",
			       res->entries[i].outcome, res->entries[i].count);
		fputs("}}\n", stdout);
		qshm_job_result_free(res);
	}
	qshm_client_close(cl);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("qshm submit: writing the counts");
		return 1;
	}
	return 0;
}
