/*
 * test_qasm_corpus_large.c - suite 'runtime-slow' (not part of 'runtime'):
 * every valid corpus circuit above 15 qubits runs, 200 shots each, and the
 * ones with a known answer give it. Minutes, not seconds: bwt_n21 alone is
 * 90 000 operations on 2^21 amplitudes.
 */
#include <unistd.h>

#include "rt_test.h"

#define SHOTS 200

static const char *path_of(const char *name)
{
	static char path[1024];
	const char *dir = getenv("QSHM_QASM_DIR");

	cr_assert_not_null(dir, "QSHM_QASM_DIR is not set");
	snprintf(path, sizeof(path), "%s/medium/%s", dir, name);
	if (access(path, R_OK) != 0)
		cr_skip_test("%s is not there", path);
	return path;
}

/* Run @name; check each sampled outcome is one of @allowed (NULL: any). */
static void run_file(const char *name, const char *const *allowed)
{
	struct qasm_circuit *c;
	struct rt_error err;
	struct rt_dist *d;

	cr_assert_eq(qasm_parse_file(path_of(name), 0, &c, &err), 0, "%s",
		     err.msg);
	d = rt_sample(c, SHOTS, 77, NULL);
	cr_expect_geq(d->n, 1);
	double total = 0;

	for (size_t i = 0; i < d->n; i++) {
		total += d->p[i];
		if (!allowed)
			continue;
		bool ok = false;

		for (size_t k = 0; allowed[k]; k++)
			ok |= strcmp(allowed[k], d->outcome[i]) == 0;
		cr_expect(ok, "%s: unexpected outcome %s", name, d->outcome[i]);
	}
	cr_expect_float_eq(total, 1.0, 1e-12);
	free(d);
	qasm_circuit_free(c);
}

#define ZEROS22 "0000000000000000000000"
#define ONES22 "1111111111111111111111"

Test(qasm_corpus_large, knownAnswers, .timeout = 600)
{
	run_file("bv_n19.qasm", (const char *[]){ "111111111111111111", NULL });
	run_file("cat_state_n22.qasm", (const char *[]){
		ZEROS22 " " ZEROS22, ONES22 " " ZEROS22, NULL });
	run_file("ghz_state_n23.qasm", (const char *[]){
		"0" ZEROS22 " 0" ZEROS22, "1" ONES22 " 0" ZEROS22, NULL });
}

Test(qasm_corpus_large, everyOtherLargeCircuitRuns, .timeout = 900)
{
	static const char *const names[] = {
		"bigadder_n18.qasm", "dnn_n16.qasm", "ising_n26.qasm",
		"knn_n25.qasm", "qec9xz_n17.qasm", "qft_n18.qasm",
		"qram_n20.qasm", "square_root_n18.qasm", "swap_test_n25.qasm",
		"wstate_n27.qasm", "bwt_n21.qasm", NULL,
	};

	for (size_t i = 0; names[i]; i++)
		run_file(names[i], NULL);
}
