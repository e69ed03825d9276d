/*
 * test_sim_counts.c - outcome strings in Qiskit's order and the histogram.
 */
#include <errno.h>

#include "rt_test.h"

#define H "OPENQASM 2.0;\n"

Test(sim_counts, lastDeclaredRegisterFirstHighBitFirst)
{
	/* The README's example: creg a[2]; creg b[1]; a[0]=1 a[1]=0 b[0]=1. */
	struct qasm_circuit *c = rt_parse(H "creg a[2];\ncreg b[1];\n");
	uint64_t bits = 1 | (1 << 2);
	char buf[16];

	cr_expect_eq(sim_outcome_strlen(c), 4);
	cr_expect_str_eq(sim_outcome_format(c, &bits, buf), "1 01");
	bits = 2;
	cr_expect_str_eq(sim_outcome_format(c, &bits, buf), "0 10");
	qasm_circuit_free(c);

	c = rt_parse(H "creg x[3];\n");
	bits = 6;
	cr_expect_str_eq(sim_outcome_format(c, &bits, buf), "110");
	qasm_circuit_free(c);

	c = rt_parse(H "qreg q[1];\n");
	cr_expect_eq(sim_outcome_strlen(c), 0);
	cr_expect_str_eq(sim_outcome_format(c, &bits, buf), "");
	qasm_circuit_free(c);
}

Test(sim_counts, histogramSortsByOutcomeString)
{
	struct qasm_circuit *c = rt_parse(H "creg a[1];\ncreg b[2];\n");
	struct sim_counts *k = sim_counts_new(1);
	/* a is bit 0, b bits 1-2; strings "b a" */
	const uint64_t shots[] = { 0, 1, 1, 6, 6, 6, 2, 0, 1, 7 };
	struct sim_count_entry *e;

	cr_assert_not_null(k);
	cr_assert_eq(sim_counts_add(k, shots, 10), 0);
	cr_assert_eq(sim_counts_shots_fn(k, shots, 2, 1), 0);
	cr_expect_eq(sim_counts_shots_fn(k, shots, 2, 2), -EINVAL);
	cr_assert_eq(sim_counts_size(k), 5);
	cr_assert_eq(sim_counts_sorted(k, c, &e), 0);
	const char *want[] = { "00 0", "00 1", "01 0", "11 0", "11 1" };
	const uint64_t n[] = { 3, 4, 1, 3, 1 };

	for (int i = 0; i < 5; i++) {
		cr_expect_str_eq(e[i].outcome, want[i]);
		cr_expect_eq(e[i].count, n[i], "%s", want[i]);
	}
	free(e);
	sim_counts_free(k);
	qasm_circuit_free(c);
}

Test(sim_counts, manyDistinctOutcomesAndWideKeys)
{
	struct sim_counts *k = sim_counts_new(2);
	uint64_t key[2];

	cr_assert_not_null(k);
	for (uint64_t i = 0; i < 100000; i++) {
		key[0] = i * 0x9e3779b97f4a7c15ull;
		key[1] = i % 3;
		cr_assert_eq(sim_counts_add(k, key, 1), 0);
		cr_assert_eq(sim_counts_add(k, key, 1), 0);
	}
	cr_expect_eq(sim_counts_size(k), 100000);
	sim_counts_free(k);
}
