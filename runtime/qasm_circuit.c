/*
 * qasm_circuit.c - the circuit object the front end produces: registers,
 * the flat operation list, the matrix pool and the conditions; and the small
 * matrix helpers the front end shares (U, products, shape tests).
 */
#include "qasm_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Refuse circuits that expand to more operations than this. */
#define QASM_MAX_OPS ((size_t)1 << 27)

/* Entries at most this far from 0 (or 1) count as exactly 0 (or 1) when a
 * matrix's shape is decided: about ten units in the last place of 1. */
#define MAT_EPS 2e-15

struct qasm_circuit *qasm_circuit_new(const char *name)
{
	struct qasm_circuit *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->arena = qasm_arena_new();
	c->name = strdup(name);
	if (!c->arena || !c->name) {
		qasm_circuit_free(c);
		return NULL;
	}
	return c;
}

void qasm_circuit_free(struct qasm_circuit *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->qregs);
	free(c->cregs);
	free(c->ops);
	free(c->mats);
	free(c->conds);
	qasm_arena_free(c->arena);
	free(c);
}

size_t qasm_circuit_words_per_shot(const struct qasm_circuit *c)
{
	size_t w = ((size_t)c->nclbits + 63) / 64;

	return w ? w : 1;
}

int qasm_circuit_add_op(struct qasm_circuit *c, const struct qasm_op *op,
			const double *mat, size_t nmat)
{
	if (c->nops == c->cap_ops) {
		size_t cap = c->cap_ops ? c->cap_ops * 2 : 1024;
		struct qasm_op *n;

		if (c->nops >= QASM_MAX_OPS)
			return -E2BIG;
		n = realloc(c->ops, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->ops = n;
		c->cap_ops = cap;
	}
	struct qasm_op *o = &c->ops[c->nops];

	*o = *op;
	if (nmat) {
		if (c->cap_mats - c->nmats < nmat) {
			size_t cap = c->cap_mats ? c->cap_mats * 2 : 8192;
			double *n;

			while (cap - c->nmats < nmat)
				cap *= 2;
			n = realloc(c->mats, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			c->mats = n;
			c->cap_mats = cap;
		}
		o->mat = (uint32_t)c->nmats;
		memcpy(c->mats + c->nmats, mat, nmat * sizeof(double));
		c->nmats += nmat;
	}
	c->nops++;
	return 0;
}

int qasm_circuit_add_cond(struct qasm_circuit *c, uint32_t creg,
			  uint64_t value, uint32_t *index)
{
	if (c->nconds == c->cap_conds) {
		uint32_t cap = c->cap_conds ? c->cap_conds * 2 : 16;
		struct qasm_cond *n = realloc(c->conds, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->conds = n;
		c->cap_conds = cap;
	}
	struct qasm_cond *k = &c->conds[c->nconds];

	k->creg = creg;
	k->offset = c->cregs[creg].offset;
	k->width = c->cregs[creg].size;
	k->pad = 0;
	k->value = value;
	*index = ++c->nconds;  /* ops store index + 1 */
	return 0;
}

void qasm_mat_u3(double theta, double phi, double lambda, double m[8])
{
	double c = cos(theta / 2), s = sin(theta / 2);

	m[0] = c;
	m[1] = 0;
	m[2] = -cos(lambda) * s;
	m[3] = -sin(lambda) * s;
	m[4] = cos(phi) * s;
	m[5] = sin(phi) * s;
	m[6] = cos(phi + lambda) * c;
	m[7] = sin(phi + lambda) * c;
}

void qasm_mat2_mul(double r[8], const double a[8], const double b[8])
{
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			double re = 0, im = 0;

			for (int k = 0; k < 2; k++) {
				const double *x = a + 2 * (2 * i + k);
				const double *y = b + 2 * (2 * k + j);

				re += x[0] * y[0] - x[1] * y[1];
				im += x[0] * y[1] + x[1] * y[0];
			}
			r[2 * (2 * i + j)] = re;
			r[2 * (2 * i + j) + 1] = im;
		}
	}
}

/* Snap entries within MAT_EPS of zero to exact zeros; true if @re,@im is 0. */
static bool snap_zero(double *e)
{
	if (fabs(e[0]) <= MAT_EPS && fabs(e[1]) <= MAT_EPS) {
		e[0] = 0;
		e[1] = 0;
		return true;
	}
	return false;
}

static enum qasm_mat_shape shape_of(double *m, int dim)
{
	bool diag = true, perm = true;

	for (int r = 0; r < dim; r++) {
		int nz = 0;

		for (int c = 0; c < dim; c++) {
			if (!snap_zero(m + 2 * (r * dim + c))) {
				nz++;
				if (r != c)
					diag = false;
			}
		}
		if (nz != 1)
			perm = false;
	}
	if (diag)
		return QASM_MAT_DIAG;
	return perm ? QASM_MAT_PERM : QASM_MAT_GENERAL;
}

enum qasm_mat_shape qasm_mat2_shape(double m[8])
{
	return shape_of(m, 2);
}

enum qasm_mat_shape qasm_mat4_shape(double m[32])
{
	return shape_of(m, 4);
}

bool qasm_mat2_is_identity(const double m[8])
{
	return fabs(m[0] - 1) <= MAT_EPS && fabs(m[1]) <= MAT_EPS &&
	       fabs(m[2]) <= MAT_EPS && fabs(m[3]) <= MAT_EPS &&
	       fabs(m[4]) <= MAT_EPS && fabs(m[5]) <= MAT_EPS &&
	       fabs(m[6] - 1) <= MAT_EPS && fabs(m[7]) <= MAT_EPS;
}
