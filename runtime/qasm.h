/*
 * qasm.h - OpenQASM 2.0 front end of the qshm runtime.
 *
 * Internal to qshm (not installed). The front end reads an OpenQASM 2.0
 * program, inlines every gate definition, and produces a flat list of
 * primitive operations with concrete angles, ready for the simulator:
 *
 *     struct qasm_circuit *c;
 *     struct rt_error err;
 *     if (qasm_parse_file("ghz.qasm", 0, &c, &err) < 0)
 *             fprintf(stderr, "%s\n", err.msg);   // file:line:col: error: ...
 *     ...
 *     qasm_circuit_free(c);
 *
 * Language: all of OpenQASM 2.0 (header, qreg/creg, include, U and CX, gate
 * definitions with parameter expressions, opaque, register broadcast,
 * barrier, measure, reset, if). `include "qelib1.inc"` resolves to a built-in
 * library: the extended qelib1.inc of current tools (see qasm_qelib1.c for
 * the list of gates and their definitions); other includes are read relative
 * to the directory of the including file.
 *
 * Conventions: qubit k of the circuit is bit k of a basis-state index, in
 * register declaration order (the first qreg's qubit 0 is qubit 0); the same
 * for classical bits. U(theta,phi,lambda) is the matrix
 *
 *     [ cos(t/2)              -e^{i lambda} sin(t/2)       ]
 *     [ e^{i phi} sin(t/2)     e^{i(phi+lambda)} cos(t/2)  ]
 *
 * and every built-in gate is exactly the product of its qelib1 definition
 * (global phase included; e.g. rz(l) = u1(l) = diag(1, e^{il})).
 */
#ifndef QSHM_QASM_H
#define QSHM_QASM_H

#include <stddef.h>
#include <stdint.h>

#include "rt_error.h"

/* At most this many qubits in a circuit (control masks are 64-bit). */
#define QASM_MAX_QUBITS 64

/* Flags for qasm_parse_file() / qasm_parse_string(). */
#define QASM_PARSE_NO_NATIVE 0x1u /* expand built-in gates through their
                                     qelib1 bodies down to U and CX */
#define QASM_PARSE_NO_FUSE   0x2u /* keep one operation per primitive gate:
                                     no fusion, no composition */
#define QASM_PARSE_NO_LIB_CACHE 0x4u /* parse the built-in qelib1.inc's
                                        text again instead of sharing the
                                        definitions parsed once per process
                                        (the same circuit: for tests) */
#define QASM_PARSE_FLAGS_ALL (QASM_PARSE_NO_NATIVE | QASM_PARSE_NO_FUSE | \
			      QASM_PARSE_NO_LIB_CACHE)

enum qasm_op_kind {
	QASM_OP_GATE1 = 1, /* 2x2 matrix on q[0], applied where all ctrl bits are 1 */
	QASM_OP_GATE2,     /* 4x4 matrix on (q[0], q[1]), same control rule */
	QASM_OP_MEASURE,   /* measure q[0] into clbit */
	QASM_OP_RESET,     /* reset q[0] to |0> */
};

/* Shape of a gate's matrix: tells the simulator which kernel fits. */
enum qasm_mat_shape {
	QASM_MAT_GENERAL = 0,
	QASM_MAT_DIAG,     /* diagonal */
	QASM_MAT_PERM,     /* one non-zero per row and column (X, swap, ...) */
};

/*
 * One primitive operation. Matrices live in qasm_circuit.mats (pairs of
 * doubles: re, im; row-major). For GATE2 the matrix index of a basis state
 * is b0 + 2*b1, with b0 the bit of q[0] and b1 the bit of q[1].
 */
struct qasm_op {
	uint8_t kind;    /* enum qasm_op_kind */
	uint8_t shape;   /* enum qasm_mat_shape */
	uint16_t pad;
	uint32_t cond;   /* 0: unconditional; else 1 + index into conds */
	uint32_t q[2];   /* target qubits (q[1] unused for GATE1, MEASURE, RESET) */
	uint32_t clbit;  /* MEASURE: global classical bit index */
	uint32_t mat;    /* GATE1/GATE2: offset of the matrix in mats, in doubles */
	uint64_t ctrl;   /* mask of control qubits (GATE1/GATE2) */
};

/* `if (creg == value)`: compares the bits [offset, offset+width). */
struct qasm_cond {
	uint32_t creg;    /* index into cregs */
	uint32_t offset;  /* first global clbit of the register */
	uint32_t width;
	uint32_t pad;
	uint64_t value;
};

/* A quantum or classical register. */
struct qasm_reg {
	const char *name;
	uint32_t offset;  /* global index of element 0 */
	uint32_t size;
};

/* Storage arena (opaque), used for names and gate definitions. */
struct qasm_arena;

struct qasm_circuit {
	char *name;                 /* the path or name given to the parser */
	uint64_t source_hash;       /* FNV-1a 64 of the main file's bytes */
	uint32_t nqubits, nclbits;
	uint32_t nqregs, ncregs;
	struct qasm_reg *qregs, *cregs;
	size_t nops, cap_ops;
	struct qasm_op *ops;
	size_t nmats, cap_mats;     /* in doubles */
	double *mats;
	uint32_t nconds, cap_conds;
	struct qasm_cond *conds;
	struct qasm_arena *arena;   /* owns register names */
};

/*
 * Parse the OpenQASM 2.0 file at @path into a new circuit (*@out).
 * @flags: QASM_PARSE_* (0 for normal use).
 * The file, and every file it includes, must be a regular file (a FIFO, a
 * device or a directory is refused with -EINVAL, without blocking).
 * Gate expansion is limited to QASM_DEFAULT_MAX_GATES gate applications.
 * Returns 0, or -EINVAL (syntax or semantic error, unknown flag, not a
 * regular file), -E2BIG (a limit), -ENOENT and other errno values (files),
 * -ENOMEM; on error *@out is NULL and @err (may
 * be NULL) holds "file:line:col: error: ..." (or "file: error: ..." when no
 * position applies).
 */
int qasm_parse_file(const char *path, unsigned flags,
		    struct qasm_circuit **out, struct rt_error *err);

/*
 * Limits on the work a program may cause while it is parsed and planned.
 * Every limit is checked as the work is done, so a hostile program is
 * refused in time bounded by the limit, never after it.
 */

/* Expressions nest at most this deep (parentheses, unary signs, function
 * calls, exponents; also the depth of the tree a long '+' chain builds). */
#define QASM_MAX_EXPR_DEPTH 256

/*
 * Default limit on gate applications counted while planning: every U, CX
 * and built-in gate applied while gate definitions are expanded (also those
 * composed into a larger operation and never emitted on their own). The
 * largest circuit of the test corpus plans 462001 (bwt_n21, expanded down to
 * U and CX); 4 * 10^6 leaves room, and refusing that many takes at most a few
 * seconds and, when every gate is emitted on its own, about 0.5 GiB.
 */
#define QASM_DEFAULT_MAX_GATES 4000000ull

/* Options for qasm_parse_file_opts() / qasm_parse_string_opts(). */
struct qasm_parse_opts {
	unsigned flags;       /* QASM_PARSE_* */
	uint64_t max_gates;   /* 0: QASM_DEFAULT_MAX_GATES */
};

/*
 * Like qasm_parse_file() and qasm_parse_string(), with options (@o may be
 * NULL: the defaults). A program that applies more than o->max_gates gates
 * during expansion fails with -E2BIG and a message naming the statement.
 */
int qasm_parse_file_opts(const char *path, const struct qasm_parse_opts *o,
			 struct qasm_circuit **out, struct rt_error *err);
int qasm_parse_string_opts(const char *name, const char *text, size_t len,
			   const struct qasm_parse_opts *o,
			   struct qasm_circuit **out, struct rt_error *err);

/*
 * Parse @len bytes of @text as the program named @name (used in messages and
 * to resolve relative includes against the directory part of @name).
 * Same returns as qasm_parse_file().
 */
int qasm_parse_string(const char *name, const char *text, size_t len,
		      unsigned flags, struct qasm_circuit **out,
		      struct rt_error *err);

/*
 * Templates: a circuit parsed once and bound to parameter values many
 * times (the service's registered circuits; docs/service.md). A template
 * is OpenQASM 2.0 plus one extension: top-level statements
 *
 *     param theta, phi;
 *
 * declare parameters (before their first use; at most
 * QASM_MAX_TEMPLATE_PARAMS in all), which top-level gate arguments may then
 * use in expressions like gate parameters in a gate body:
 * `rx(theta/2) q[0]; u3(theta, phi + pi, 0) q[1];`. Parsing records each
 * application whose arguments use a parameter (its gate, its expression
 * trees, its qubits, its condition) at its place in the operation list and
 * expands everything else once. qasm_template_bind() copies the fixed
 * operations, evaluates the recorded expressions with the given values,
 * expands only those applications, and fuses: no text is lexed or parsed
 * again. A template without `param` binds to the circuit that
 * qasm_parse_string() gives for the same text (same operations, same
 * matrices), so a registered circuit counts like `qshm sim`.
 */
#define QASM_MAX_TEMPLATE_PARAMS 1024

struct qasm_template;

/* Parses @len bytes of @text (named @name, as qasm_parse_string_opts()).
 * Returns 0 and *@out, or the errors of qasm_parse_string(). */
int qasm_template_parse(const char *name, const char *text, size_t len,
			const struct qasm_parse_opts *o,
			struct qasm_template **out, struct rt_error *err);
void qasm_template_free(struct qasm_template *t);
/* Its parameters, in declaration order. */
uint32_t qasm_template_nparams(const struct qasm_template *t);
const char *qasm_template_param_name(const struct qasm_template *t,
				     uint32_t i);
/* The unbound circuit: registers, qubit and bit counts (its operation
 * list lacks the recorded applications). */
const struct qasm_circuit *qasm_template_shape(const struct qasm_template *t);
/* Recorded applications (that bind re-expands). */
size_t qasm_template_nbound(const struct qasm_template *t);
/*
 * A new circuit: the template with parameter i = @values[i]; @n must be
 * qasm_template_nparams(). Every value must be finite, and so must every
 * gate argument computed from them (else -EINVAL naming the statement).
 * Returns 0 and *@out (qasm_circuit_free()), -EINVAL, -E2BIG (the gate
 * budget of the parse options), -ENOMEM.
 */
int qasm_template_bind(const struct qasm_template *t, const double *values,
		       size_t n, struct qasm_circuit **out,
		       struct rt_error *err);
/* The same with at most @max_gates gate applications expanded by this
 * bind (0: the parse options' budget; a lower one only): -E2BIG beyond. */
int qasm_template_bind_budget(const struct qasm_template *t,
			      const double *values, size_t n,
			      uint64_t max_gates, struct qasm_circuit **out,
			      struct rt_error *err);

/* Free a circuit (NULL is allowed). */
void qasm_circuit_free(struct qasm_circuit *c);

/* Matrix of op @op (2x2 or 4x4 complex as re,im pairs). */
static inline const double *qasm_op_matrix(const struct qasm_circuit *c,
					    const struct qasm_op *op)
{
	return c->mats + op->mat;
}

/*
 * Number of 64-bit words that hold one shot's classical bits:
 * ceil(nclbits / 64), at least 1.
 */
size_t qasm_circuit_words_per_shot(const struct qasm_circuit *c);

/*
 * The matrix U(theta, phi, lambda) (see the top of this file) into @m
 * (8 doubles: re,im of m00 m01 m10 m11).
 */
void qasm_mat_u3(double theta, double phi, double lambda, double m[8]);

/* Names of the gates of the built-in qelib1.inc, NULL-terminated. */
const char *const *qasm_qelib1_gate_names(void);

#endif
