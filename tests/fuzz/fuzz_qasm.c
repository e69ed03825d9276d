/*
 * fuzz_qasm.c - libFuzzer target: the OpenQASM 2.0 front end through
 * planning. The input is a program; it is parsed (with and without native
 * gates and fusion, chosen by the input's last byte) under a small gate
 * budget, and a small circuit that parses is planned and run for a few
 * shots. Whatever the input, the front end must return an error or a
 * circuit, in bounded time and memory, without a sanitizer report.
 */
#include <stddef.h>
#include <stdint.h>

#include "qasm.h"
#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that every input is planned in milliseconds. */
#define FUZZ_MAX_GATES 20000
#define FUZZ_MAX_SIM_QUBITS 10

static int count_shots(void *ctx, const uint64_t *bits, size_t nshots,
		       size_t words)
{
	uint64_t *sum = ctx;

	for (size_t i = 0; i < nshots * words; i++)
		*sum += bits[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qasm_parse_opts o = { .flags = 0, .max_gates = FUZZ_MAX_GATES };
	struct qasm_circuit *c = NULL;
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *run = NULL;
	struct rt_error err;
	uint64_t sum = 0;

	if (size > 0)
		o.flags = data[size - 1] & QASM_PARSE_FLAGS_ALL;
	if (qasm_parse_string_opts("fuzz.qasm", (const char *)data, size, &o,
				   &c, &err) < 0)
		return 0;
	if (c->nqubits <= FUZZ_MAX_SIM_QUBITS) {
		cfg.seed = 1;
		cfg.batch_shots = 4;
		if (sim_run_create(&run, c, &cfg, &err) == 0)
			(void)sim_run_shots(run, 4, count_shots, &sum, &err);
		sim_run_destroy(run);
	}
	qasm_circuit_free(c);
	return 0;
}
