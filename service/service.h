/* SPDX-License-Identifier: MIT */
/*
 * service.h - the loop of `qshm serve` (docs/service.md), as a library
 * call so that the CLI and the benchmarks run the same service.
 *
 * Internal to qshm (not installed): clients use qshm/client.h.
 */
#ifndef QSHM_SERVICE_H
#define QSHM_SERVICE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "svc_wire.h"

#define SVC_INLINE_QUBITS_DEFAULT 10

struct svc_config {
	const char *name;         /* the service's name (its control ring) */
	unsigned workers;         /* simulation threads, 1..256 */
	unsigned max_qubits;      /* larger circuits are refused (-EFBIG) */
	unsigned queue;           /* jobs queued or running, at most */
	unsigned max_clients;     /* connections, at most, 0..256; 0: 256 */
	FILE *log;                /* one line per connection event; NULL */
	int no_poll;              /* wait as on kernels without io_uring
				     futex waits (for tests) */
	int busy_poll;            /* the main thread spins instead of
				     sleeping: lowest latency, a CPU */
	unsigned inline_qubits;   /* jobs of at most this many qubits (and
				     little work) run on the main thread
				     when nothing is queued (the inline
				     lane); 0: SVC_INLINE_QUBITS_DEFAULT;
				     at most 16 */
	int no_inline;            /* 1: every job goes to a worker */
	uint64_t memory_budget;   /* bytes of state vectors of jobs running
				     at once; 0: half the physical memory */
	volatile sig_atomic_t *stop; /* the loop ends when it becomes 1 */
	/* Called once the service is ready for clients (may be NULL). */
	void (*ready)(void *ctx);
	void *ready_ctx;
};

/*
 * Runs service cfg->name until *cfg->stop: creates the control ring (a
 * stale one of a dead service is replaced), serves clients, and at the
 * end closes every ring it made (clients then get QSHM_ESERVICEGONE).
 * Returns 0 after a stop, or a negative error when it cannot start
 * (-EEXIST: a live service has the name), with a message on cfg->log.
 */
int svc_run(const struct svc_config *cfg);

#endif
