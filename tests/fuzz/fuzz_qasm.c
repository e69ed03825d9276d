/*
 * fuzz_qasm.c - libFuzzer target: the OpenQASM 2.0 front end through
 * planning: lexing, parsing, gate expansion under a small gate budget
 * (composition of small gates, inlining of the others) and fusion. The
 * input is a program; native gates and fusion are on or off as the input's
 * last byte says. Whatever the input, the front end must return an error
 * or a circuit, in bounded time and memory, without a sanitizer report.
 * (The simulator is not linked: parts of it use GCC-only builtins.)
 */
#include <stddef.h>
#include <stdint.h>

#include "qasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that every input is planned in milliseconds. */
#define FUZZ_MAX_GATES 20000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qasm_parse_opts o = { .flags = 0, .max_gates = FUZZ_MAX_GATES };
	struct qasm_circuit *c = NULL;
	struct rt_error err;
	volatile double sink = 0;

	if (size > 0)
		o.flags = data[size - 1] & QASM_PARSE_FLAGS_ALL;
	if (qasm_parse_string_opts("fuzz.qasm", (const char *)data, size, &o,
				   &c, &err) < 0)
		return 0;
	/* Every operation's matrix and operands are within the circuit. */
	for (size_t i = 0; i < c->nops; i++) {
		const struct qasm_op *op = &c->ops[i];

		if (op->kind == QASM_OP_GATE1 || op->kind == QASM_OP_GATE2)
			sink += qasm_op_matrix(c, op)[op->kind ==
						      QASM_OP_GATE1 ? 7 : 31];
		if (op->q[0] >= c->nqubits)
			__builtin_trap();
	}
	(void)qasm_circuit_words_per_shot(c);
	(void)sink;
	qasm_circuit_free(c);
	return 0;
}
