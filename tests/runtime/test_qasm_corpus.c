/*
 * test_qasm_corpus.c - the QASMBench corpus in tests/qasm ($QSHM_QASM_DIR):
 * every valid circuit parses; every circuit of at most 15 qubits with an
 * expected distribution (tests/qasm/expected/<stem>.txt, computed by an
 * independent simulator) is sampled with 20000 shots and compared by total
 * variation distance, and its exact outcome distribution is compared
 * outcome by outcome within 1e-9.
 */
#include <dirent.h>
#include <unistd.h>

#include "rt_test.h"

#define SHOTS 20000
#define MAX_QUBITS 15

/* Files that are invalid on purpose (test_qasm_errors checks them). */
static const char *const invalid[] = {
	"vqe_uccsd_n4.qasm", "vqe_uccsd_n6.qasm", "vqe_uccsd_n8.qasm",
	"hhl_n10.qasm", "sat_n11.qasm", NULL,
};

static bool is_invalid(const char *name)
{
	for (size_t i = 0; invalid[i]; i++)
		if (strcmp(invalid[i], name) == 0)
			return true;
	return false;
}

static const char *corpus_dir(void)
{
	const char *dir = getenv("QSHM_QASM_DIR");

	cr_assert_not_null(dir, "QSHM_QASM_DIR is not set");
	return dir;
}

struct corpus_stats {
	unsigned parsed, compared;
};

static void check_file(const char *sub, const char *name,
		       struct corpus_stats *st)
{
	char path[1024], stem[256];
	struct qasm_circuit *c;
	struct rt_error err;
	struct rt_dist *want, *exact, *sampled;
	double bound, tvd, maxdiff = 0;

	snprintf(path, sizeof(path), "%s/%s/%s", corpus_dir(), sub, name);
	cr_assert_eq(qasm_parse_file(path, 0, &c, &err), 0, "%s", err.msg);
	st->parsed++;
	snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(name) - 5), name);
	want = calloc(1, sizeof(*want));
	cr_assert_not_null(want);
	want->c = c;
	if (c->nqubits > MAX_QUBITS || !rt_read_expected(corpus_dir(), stem, want)) {
		free(want);
		qasm_circuit_free(c);
		return;
	}
	st->compared++;

	/* Sampled: TVD within the noise bound of rt_tvd (rt_test.h). */
	sampled = rt_sample(c, SHOTS, 12345, NULL);
	tvd = rt_tvd(sampled, want, SHOTS, &bound);
	cr_expect_leq(tvd, bound, "%s: TVD %g above the bound %g", name, tvd,
		      bound);

	/* Exact: every outcome within 1e-9 (branching circuits included). */
	exact = rt_exact(c, NULL);
	for (size_t i = 0; i < want->n; i++) {
		double dd = fabs(rt_dist_get(exact, want->outcome[i]) - want->p[i]);

		if (dd > maxdiff)
			maxdiff = dd;
	}
	for (size_t i = 0; i < exact->n; i++)
		if (rt_dist_get(want, exact->outcome[i]) == 0 &&
		    exact->p[i] > maxdiff)
			maxdiff = exact->p[i] > 1e-12 ? exact->p[i] : maxdiff;
	cr_expect_leq(maxdiff, 1e-9, "%s: exact distribution off by %g", name,
		      maxdiff);
	free(sampled);
	free(exact);
	free(want);
	qasm_circuit_free(c);
}

static void check_dir(const char *sub, struct corpus_stats *st)
{
	char path[1024];
	struct dirent **list;
	int n;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir(), sub);
	n = scandir(path, &list, NULL, alphasort);
	if (n < 0)
		cr_skip_test("%s is not there", path);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		size_t len = strlen(name);

		if (len > 5 && strcmp(name + len - 5, ".qasm") == 0 &&
		    !is_invalid(name))
			check_file(sub, name, st);  /* parse all, compare some */
		free(list[i]);
	}
	free(list);
}

Test(qasm_corpus, smallCircuitsMatchTheReference, .timeout = 120)
{
	struct corpus_stats st = { 0, 0 };

	check_dir("small", &st);
	cr_expect_geq(st.parsed, 39);
	cr_expect_eq(st.compared, 39);
}

Test(qasm_corpus, mediumCircuitsMatchTheReference, .timeout = 120)
{
	struct corpus_stats st = { 0, 0 };

	check_dir("medium", &st);
	cr_expect_eq(st.parsed, 21);
	cr_expect_eq(st.compared, 7);
}
