/* SPDX-License-Identifier: MIT */
/*
 * format.h - the records that carry quantum results through a qshm ring.
 *
 * docs/format.md describes the same layout for readers in any language.
 * All integers little-endian; every payload starts 16-byte aligned in the
 * ring, and the structs below keep arrays 16-byte aligned within it.
 */
#ifndef QSHM_FORMAT_H
#define QSHM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define QSHM_RESULTS_VERSION 1

/* Record types (qshm record type field). */
enum qshm_result_type {
	QSHM_REC_RUN_BEGIN = 0x100, /* struct qshm_run_begin + tables */
	QSHM_REC_SHOTS     = 0x101, /* struct qshm_shots + packed bits */
	QSHM_REC_PROBS     = 0x102, /* struct qshm_chunk + float64[] */
	QSHM_REC_STATE     = 0x103, /* struct qshm_chunk + complex128[] */
	QSHM_REC_RUN_END   = 0x104, /* struct qshm_run_end */
	QSHM_REC_ERROR     = 0x105, /* struct qshm_run_error + UTF-8 text */
};

/* qshm_run_begin.options */
#define QSHM_RUN_PROBS      (1u << 0) /* PROBS records follow the shots */
#define QSHM_RUN_STATE      (1u << 1) /* STATE records follow the shots */
#define QSHM_RUN_PER_SHOT   (1u << 2) /* shots re-executed one by one */

/*
 * RUN_BEGIN: one per run, first. Followed in the payload by ncregs
 * struct qshm_creg entries (at creg_off), then the string table: names are
 * not NUL-terminated; offsets are from the start of the payload.
 */
struct qshm_run_begin {
	uint32_t version;      /*  0 QSHM_RESULTS_VERSION */
	uint32_t nqubits;      /*  4 */
	uint64_t shots;        /*  8 shots requested */
	uint64_t seed;         /* 16 */
	uint64_t circuit_hash; /* 24 FNV-1a 64 of the circuit file's bytes */
	uint32_t nclbits;      /* 32 all classical registers together */
	uint32_t ncregs;       /* 36 */
	uint32_t words_per_shot; /* 40 u64 words per shot in SHOTS records */
	uint32_t options;      /* 44 QSHM_RUN_* */
	uint32_t name_off;     /* 48 circuit name (file name) */
	uint32_t name_len;     /* 52 */
	uint32_t creg_off;     /* 56 first struct qshm_creg */
	uint32_t run;          /* 60 run counter in this ring: 1, 2, ...;
				     0 from producers that do not count */
};

/* A classical register, in declaration order. Its bit i is global clbit
 * first_bit + i; the first register's c[0] is global bit 0. */
struct qshm_creg {
	uint32_t size;      /*  0 bits */
	uint32_t first_bit; /*  4 */
	uint32_t name_off;  /*  8 */
	uint32_t name_len;  /* 12 */
};

/*
 * SHOTS: count shots, each words_per_shot little-endian u64 words; global
 * clbit j of a shot is bit (j % 64) of its word j / 64.
 */
struct qshm_shots {
	uint64_t first_shot;     /*  0 index of the first shot here */
	uint32_t count;          /*  8 */
	uint32_t words_per_shot; /* 12 */
	/* uint64_t bits[count * words_per_shot] at 16 */
};

/* PROBS and STATE: a chunk of a 2^nqubits vector, indexed by basis state
 * (bit i of the index is qubit i). PROBS holds float64, STATE complex128
 * as (re, im) float64 pairs. */
struct qshm_chunk {
	uint32_t nqubits;  /*  0 */
	uint32_t reserved; /*  4 0 */
	uint64_t first;    /*  8 index of the first element here */
	uint64_t count;    /* 16 elements here */
	uint64_t total;    /* 24 2^nqubits */
	/* elements at 32 */
};

/* RUN_END status */
#define QSHM_RUN_OK      0u
#define QSHM_RUN_FAILED  1u /* an ERROR record says why */
#define QSHM_RUN_STOPPED 2u /* interrupted (signal) */

/* RUN_END: one per run, last. */
struct qshm_run_end {
	uint32_t status;      /*  0 QSHM_RUN_* */
	uint32_t reserved;    /*  4 0 */
	uint64_t shots;       /*  8 shots delivered */
	uint64_t elapsed_ns;  /* 16 from RUN_BEGIN to RUN_END */
	uint64_t sim_ns;      /* 24 of which simulating */
};

/* ERROR: a message for humans, UTF-8, not NUL-terminated. */
struct qshm_run_error {
	int32_t code; /* 0 negative errno-style code */
	uint32_t len; /* 4 bytes of text at 8 */
};

/*
 * The run descriptor: what a producer publishes as the ring's metadata blob
 * (qshm_producer_set_meta(), format 2 rings) at each RUN_BEGIN and again at
 * RUN_END, so that a consumer joining at any moment knows the run without
 * RUN_BEGIN still being in the ring. Records with begin_seq <= seq <=
 * end_seq belong to this run. Followed at 48 by the run's RUN_BEGIN payload
 * (begin_len bytes), byte for byte.
 */
#define QSHM_RUN_META_MAGIC 0x4e555251u /* "QRUN" */
#define QSHM_SEQ_NONE UINT64_MAX        /* end_seq while the run goes on */

struct qshm_run_meta {
	uint32_t magic;      /*  0 QSHM_RUN_META_MAGIC */
	uint32_t version;    /*  4 QSHM_RESULTS_VERSION */
	uint64_t run;        /*  8 run counter, as RUN_BEGIN's run */
	uint64_t begin_seq;  /* 16 ring seq of the run's RUN_BEGIN record */
	uint64_t end_seq;    /* 24 ring seq of its RUN_END, or QSHM_SEQ_NONE */
	uint32_t begin_len;  /* 32 bytes of RUN_BEGIN payload at 48 */
	uint32_t status;     /* 36 RUN_END status once ended, else 0 */
	uint64_t shots_done; /* 40 shots delivered, once ended, else 0 */
};

/* The layouts above are the wire format: pinned (C11 and C++). */
#ifdef __cplusplus
#define QSHM_FORMAT_ASSERT(e, m) static_assert(e, m)
#else
#define QSHM_FORMAT_ASSERT(e, m) _Static_assert(e, m)
#endif
QSHM_FORMAT_ASSERT(sizeof(struct qshm_run_begin) == 64, "run_begin");
QSHM_FORMAT_ASSERT(offsetof(struct qshm_run_begin, nclbits) == 32, "nclbits");
QSHM_FORMAT_ASSERT(offsetof(struct qshm_run_begin, creg_off) == 56,
		   "creg_off");
QSHM_FORMAT_ASSERT(offsetof(struct qshm_run_begin, run) == 60, "run");
QSHM_FORMAT_ASSERT(sizeof(struct qshm_creg) == 16, "creg");
QSHM_FORMAT_ASSERT(sizeof(struct qshm_shots) == 16, "shots");
QSHM_FORMAT_ASSERT(sizeof(struct qshm_chunk) == 32, "chunk");
QSHM_FORMAT_ASSERT(sizeof(struct qshm_run_end) == 32, "run_end");
QSHM_FORMAT_ASSERT(sizeof(struct qshm_run_error) == 8, "error");
QSHM_FORMAT_ASSERT(sizeof(struct qshm_run_meta) == 48, "run_meta");
QSHM_FORMAT_ASSERT(offsetof(struct qshm_run_meta, begin_len) == 32,
		   "begin_len");

#endif /* QSHM_FORMAT_H */
