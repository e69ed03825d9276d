/* SPDX-License-Identifier: MIT */
/*
 * bench_service.h - what the service benchmark (bench_service.c) shares
 * with its comparison servers (bench_service_ipc.c): the job every server
 * runs, and the interface of a transport.
 */
#ifndef QSHM_BENCH_SERVICE_H
#define QSHM_BENCH_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

/* What the job's reply carries back to the measuring side. */
struct bench_svc_reply {
	uint64_t sim_ns;   /* the simulator's own time, measured by the server */
	uint64_t counted;  /* sum of the counts decoded from the reply */
	uint32_t outcomes; /* distinct outcomes decoded */
};

/*
 * The job a comparison server runs for a request: parse the text, plan the
 * run with the seed, count shots with rt_counts_run() (the service counts
 * through sim_run_shots() into a qshm_counts table: the same simulator
 * work, the same counts). sim_ns spans planning, running and counting, as
 * the service's sim_ns does (service/svc_job.c, simulate()). The counts are encoded into buf
 * (at most size bytes) as entries of u64 count, u16 length and
 * the outcome's bytes (*n gets how many). Returns the encoded length,
 * or a negative errno.
 */
long bench_svc_job(const char *qasm, size_t len, uint64_t shots,
		   uint64_t seed, uint64_t *sim_ns, uint32_t *n, void *buf,
		   size_t size);

/* Decodes what bench_svc_job() encoded (n entries) into r's counted and
 * outcomes; 0 or -EPROTO. */
int bench_svc_decode(const void *buf, size_t len, uint32_t n,
		     struct bench_svc_reply *r);

/* The wire of the comparison servers: a request is this header and the
 * text; a reply is the reply header and the encoded counts. */
struct bench_svc_req {
	uint32_t len;      /* bytes of text after the header */
	uint32_t reserved;
	uint64_t shots;
	uint64_t seed;
};
struct bench_svc_rep {
	int32_t status;    /* 0 or a negative errno */
	uint32_t n;        /* entries */
	uint32_t len;      /* bytes of entries after the header */
	uint32_t reserved;
	uint64_t sim_ns;
};
#define BENCH_SVC_MAX_TEXT  4096
#define BENCH_SVC_NANGLES   8
#define BENCH_SVC_MAX_REPLY 65536

/*
 * A transport the measurement loop drives: open() connects to the server
 * running as peer (NULL where the job runs in-process), call() sends one
 * job and waits for its reply, close() ends the connection. A job is its
 * text; a variational step also has its angles (BENCH_SVC_NANGLES, NULL
 * for the trivial job), which a transport that registered the circuit's
 * template binds instead of sending the text.
 */
struct bench_svc_transport {
	const char *name;
	/* The server, run in the forked peer; posts child_stage 1 when it
	 * serves, and stops on SIGTERM. NULL: no server. */
	bench_child_fn server;
	int (*open)(void **conn, const char *endpoint, char *err);
	int (*call)(void *conn, const char *qasm, size_t len, uint64_t shots,
		    uint64_t seed, const double *angles,
		    struct bench_svc_reply *r, char *err);
	void (*close)(void *conn);
};

/* bench_service_ipc.c: a Unix stream socket server, and a ZeroMQ REQ/REP
 * one (zmq is NULL's server when built without libzmq: its figures say
 * n/a). The endpoint is passed to the server as its arg. */
extern const struct bench_svc_transport bench_svc_unix;
extern const struct bench_svc_transport bench_svc_zmq;
int bench_svc_have_zmq(void);

#endif /* QSHM_BENCH_SERVICE_H */
