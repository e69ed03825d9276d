/*
 * qasm_fuse.c - peephole fusion over the flat operation list: a run of
 * unconditional, uncontrolled 1-qubit gates on the same qubit, with nothing
 * touching that qubit in between, becomes one 2x2 (their product); products
 * equal to the identity disappear. Gates on other qubits may sit between the
 * members of a run: a 1-qubit gate commutes with everything that does not
 * touch its qubit, conditions and measurements of other qubits included.
 */
#include "qasm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool fusable(const struct qasm_op *op)
{
	return op->kind == QASM_OP_GATE1 && op->ctrl == 0 && op->cond == 0;
}

int qasm_circuit_fuse(struct qasm_circuit *c)
{
	size_t *pending;   /* per qubit: 1 + index in the output, 0 if none */
	size_t out = 0;

	if (c->nops == 0)
		return 0;
	pending = calloc(c->nqubits ? c->nqubits : 1, sizeof(*pending));
	if (!pending)
		return -ENOMEM;
	for (size_t i = 0; i < c->nops; i++) {
		struct qasm_op op = c->ops[i];

		if (fusable(&op)) {
			size_t p = pending[op.q[0]];

			if (p) {
				double *acc = c->mats + c->ops[p - 1].mat, r[8];

				qasm_mat2_mul(r, c->mats + op.mat, acc);
				memcpy(acc, r, sizeof(r));
				continue;
			}
			c->ops[out] = op;
			pending[op.q[0]] = ++out;
			continue;
		}
		/* Anything else ends the runs of the qubits it touches. */
		pending[op.q[0]] = 0;
		if (op.kind == QASM_OP_GATE2)
			pending[op.q[1]] = 0;
		for (uint64_t m = op.ctrl; m; m &= m - 1)
			pending[__builtin_ctzll(m)] = 0;
		c->ops[out++] = op;
	}
	free(pending);
	/* Drop identities and give the products their shapes. */
	c->nops = out;
	out = 0;
	for (size_t i = 0; i < c->nops; i++) {
		struct qasm_op *op = &c->ops[i];

		if (fusable(op)) {
			double *m = c->mats + op->mat;

			if (qasm_mat2_is_identity(m))
				continue;
			op->shape = (uint8_t)qasm_mat2_shape(m);
		}
		c->ops[out++] = *op;
	}
	c->nops = out;
	return 0;
}
