/* SPDX-License-Identifier: MIT */
/*
 * bench_ipc.c - the alternatives qshm is compared with: a Unix stream
 * socket, a pair of pipes, TCP over loopback with TCP_NODELAY, and ZeroMQ
 * PAIR sockets over ipc://. The same three measurements run over each:
 *
 *   - round trip of 64-byte messages, back to back (parent sends, child
 *     echoes, parent times);
 *   - the same at a fixed offered rate, each latency counted from the
 *     message's due time on the schedule (no coordinated omission);
 *   - one-way throughput at 64 B, 4 KiB, 64 KiB and 1 MiB: the parent
 *     writes each message with its own send call (as a program streaming
 *     results would), the child reads through a buffer and reads every
 *     word of every message, timed as the qshm figures are (bench_tclock).
 *
 * Every socket is blocking; names are unique to the run: Unix sockets and
 * ZeroMQ endpoints live in the abstract namespace ("@bench.<pid>...": no
 * file to clean up, gone with the process), TCP listens on an ephemeral
 * port of 127.0.0.1.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

enum bench_ipc_kind {
	BENCH_IPC_UNIX = 0,
	BENCH_IPC_PIPE,
	BENCH_IPC_TCP,
	BENCH_IPC_ZMQ,
};

#define BENCH_IPC_LAT_LEN 64
#define BENCH_IPC_ACCEPT_S 20

/* One side's endpoint; made by the parent before fork, so the child starts
 * with a copy. */
struct bench_ipc {
	enum bench_ipc_kind kind;
	size_t max_msg;             /* largest message: reader's buffer */
	int lfd;                    /* unix, tcp: listening socket */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int p2c[2], c2p[2];         /* pipe: parent to child, child to parent */
	int fd_in, fd_out;          /* this side (sockets: the same fd) */
	char endpoint[128];         /* zmq */
	void *zctx, *zsock;
#ifdef BENCH_HAVE_ZMQ
	zmq_msg_t zmsg;             /* the message recv() last returned */
	int zmsg_live;
#endif
	unsigned char *rbuf;        /* buffered reader (fd transports) */
	size_t rcap, rpos, rlen;
	const struct bench_cfg *cfg;
};

static void bench_ipc_init(struct bench_ipc *x, enum bench_ipc_kind kind,
			   size_t max_msg, const struct bench_cfg *cfg)
{
	memset(x, 0, sizeof *x);
	x->kind = kind;
	x->max_msg = max_msg;
	x->lfd = x->fd_in = x->fd_out = -1;
	x->p2c[0] = x->p2c[1] = x->c2p[0] = x->c2p[1] = -1;
	x->cfg = cfg;
}

static void bench_ipc_closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int bench_ipc_errno(char *err, const char *what)
{
	bench_errf(err, "%s: %s", what, strerror(errno));
	return -1;
}

#ifdef BENCH_HAVE_ZMQ
static int bench_ipc_zerr(char *err, const char *what)
{
	bench_errf(err, "%s: %s", what, zmq_strerror(zmq_errno()));
	return -1;
}
#endif

/* Parent, before fork: what both sides need to find each other. */
static int bench_ipc_prepare(struct bench_ipc *x, char *err)
{
	switch (x->kind) {
	case BENCH_IPC_UNIX: {
		struct sockaddr_un *un = (struct sockaddr_un *)&x->addr;
		char name[96];

		bench_name(name, sizeof name, "unix");
		un->sun_family = AF_UNIX;
		/* Abstract namespace: sun_path[0] is NUL, no file. */
		memcpy(un->sun_path + 1, name, strlen(name));
		x->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
					 1 + strlen(name));
		x->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (x->lfd < 0)
			return bench_ipc_errno(err, "socket(AF_UNIX)");
		if (bind(x->lfd, (struct sockaddr *)&x->addr, x->addrlen) != 0)
			return bench_ipc_errno(err, "bind(@unix)");
		if (listen(x->lfd, 1) != 0)
			return bench_ipc_errno(err, "listen");
		return 0;
	}
	case BENCH_IPC_TCP: {
		struct sockaddr_in *in = (struct sockaddr_in *)&x->addr;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = 0; /* an ephemeral port */
		x->addrlen = sizeof *in;
		x->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (x->lfd < 0)
			return bench_ipc_errno(err, "socket(AF_INET)");
		if (bind(x->lfd, (struct sockaddr *)&x->addr, x->addrlen) != 0)
			return bench_ipc_errno(err, "bind(127.0.0.1)");
		if (getsockname(x->lfd, (struct sockaddr *)&x->addr,
				&x->addrlen) != 0)
			return bench_ipc_errno(err, "getsockname");
		if (listen(x->lfd, 1) != 0)
			return bench_ipc_errno(err, "listen");
		return 0;
	}
	case BENCH_IPC_PIPE:
		if (pipe2(x->p2c, O_CLOEXEC) != 0 ||
		    pipe2(x->c2p, O_CLOEXEC) != 0)
			return bench_ipc_errno(err, "pipe2");
		return 0;
	case BENCH_IPC_ZMQ: {
		char name[96];

		bench_name(name, sizeof name, "zmq");
		snprintf(x->endpoint, sizeof x->endpoint, "ipc://@%s", name);
		return 0;
	}
	}
	bench_errf(err, "unknown transport");
	return -1;
}

static int bench_ipc_nodelay(int fd, char *err)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		return bench_ipc_errno(err, "setsockopt(TCP_NODELAY)");
	return 0;
}

#ifdef BENCH_HAVE_ZMQ
static int bench_ipc_zopen(struct bench_ipc *x, int child, char *err)
{
	/* A few MiB in flight at most, whatever the message size. */
	size_t hwm_n = ((size_t)8 << 20) / x->max_msg;
	int hwm = hwm_n < 4 ? 4 : hwm_n > 1000 ? 1000 : (int)hwm_n;
	int linger = 2000; /* ms; never hang at exit on a dead peer */

	/* A context per process, made after fork (its I/O thread is ours). */
	x->zctx = zmq_ctx_new();
	if (!x->zctx)
		return bench_ipc_zerr(err, "zmq_ctx_new");
	x->zsock = zmq_socket(x->zctx, ZMQ_PAIR);
	if (!x->zsock)
		return bench_ipc_zerr(err, "zmq_socket(ZMQ_PAIR)");
	if (zmq_setsockopt(x->zsock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
	    zmq_setsockopt(x->zsock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
	    zmq_setsockopt(x->zsock, ZMQ_LINGER, &linger, sizeof linger) != 0)
		return bench_ipc_zerr(err, "zmq_setsockopt");
	if (child ? zmq_connect(x->zsock, x->endpoint) != 0
		  : zmq_bind(x->zsock, x->endpoint) != 0)
		return bench_ipc_zerr(err, child ? "zmq_connect" : "zmq_bind");
	return 0;
}
#endif

/* Each side after fork. The parent binds (zmq); the child connects. */
static int bench_ipc_open(struct bench_ipc *x, int child, char *err)
{
	if (x->kind != BENCH_IPC_ZMQ) {
		x->rcap = 2 * x->max_msg < 65536 ? 65536 : 2 * x->max_msg;
		x->rbuf = malloc(x->rcap);
		if (!x->rbuf) {
			bench_errf(err, "out of memory");
			return -1;
		}
		memset(x->rbuf, 0xff, x->rcap); /* fault it in */
	}
	switch (x->kind) {
	case BENCH_IPC_UNIX:
	case BENCH_IPC_TCP:
		if (!child)
			return 0; /* accepts in bench_ipc_accept() */
		bench_ipc_closefd(&x->lfd);
		x->fd_in = socket(x->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
				  0);
		if (x->fd_in < 0)
			return bench_ipc_errno(err, "child: socket");
		if (connect(x->fd_in, (struct sockaddr *)&x->addr,
			    x->addrlen) != 0)
			return bench_ipc_errno(err, "child: connect");
		x->fd_out = x->fd_in;
		if (x->kind == BENCH_IPC_TCP)
			return bench_ipc_nodelay(x->fd_in, err);
		return 0;
	case BENCH_IPC_PIPE:
		if (child) {
			x->fd_in = x->p2c[0];
			x->fd_out = x->c2p[1];
			bench_ipc_closefd(&x->p2c[1]);
			bench_ipc_closefd(&x->c2p[0]);
		} else {
			x->fd_in = x->c2p[0];
			x->fd_out = x->p2c[1];
			bench_ipc_closefd(&x->p2c[0]);
			bench_ipc_closefd(&x->c2p[1]);
		}
		x->p2c[0] = x->p2c[1] = x->c2p[0] = x->c2p[1] = -1;
		return 0;
	case BENCH_IPC_ZMQ:
#ifdef BENCH_HAVE_ZMQ
		return bench_ipc_zopen(x, child, err);
#else
		bench_errf(err, "built without libzmq");
		return -1;
#endif
	}
	return -1;
}

/* Parent, once the child has connected. */
static int bench_ipc_accept(struct bench_ipc *x, char *err)
{
	struct pollfd pfd;

	if (x->kind != BENCH_IPC_UNIX && x->kind != BENCH_IPC_TCP)
		return 0;
	pfd.fd = x->lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, BENCH_IPC_ACCEPT_S * 1000) != 1) {
		bench_errf(err, "the child did not connect in %d s",
			   BENCH_IPC_ACCEPT_S);
		return -1;
	}
	x->fd_in = accept4(x->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (x->fd_in < 0)
		return bench_ipc_errno(err, "accept");
	x->fd_out = x->fd_in;
	bench_ipc_closefd(&x->lfd);
	if (x->kind == BENCH_IPC_TCP)
		return bench_ipc_nodelay(x->fd_in, err);
	return 0;
}

/* Sends one message of len bytes. Returns 0 or -1 (errno set). */
static int bench_ipc_send(struct bench_ipc *x, const void *buf, size_t len)
{
	const unsigned char *p = buf;

#ifdef BENCH_HAVE_ZMQ
	if (x->kind == BENCH_IPC_ZMQ) {
		int r;
		do
			r = zmq_send(x->zsock, buf, len, 0);
		while (r < 0 && zmq_errno() == EINTR);
		return r == (int)len ? 0 : -1;
	}
#endif
	while (len) {
		ssize_t r = write(x->fd_out, p, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/*
 * The next message of len bytes, in place (*msg valid until the next
 * call). Returns 0, 1 at the end of the stream, or -1 (errno set; EPROTO
 * for a message of another size or a stream cut mid-message).
 */
static int bench_ipc_recv(struct bench_ipc *x, size_t len, const void **msg)
{
#ifdef BENCH_HAVE_ZMQ
	if (x->kind == BENCH_IPC_ZMQ) {
		int r;

		if (x->zmsg_live)
			zmq_msg_close(&x->zmsg);
		zmq_msg_init(&x->zmsg);
		x->zmsg_live = 1;
		do
			r = zmq_msg_recv(&x->zmsg, x->zsock, 0);
		while (r < 0 && zmq_errno() == EINTR);
		if (r < 0)
			return -1;
		if (r == 0)
			return 1; /* the sender's end marker */
		if ((size_t)r != len) {
			errno = EPROTO;
			return -1;
		}
		*msg = zmq_msg_data(&x->zmsg);
		return 0;
	}
#endif
	if (x->rpos == x->rlen)
		x->rpos = x->rlen = 0;
	if (x->rlen - x->rpos < len && x->rpos + len > x->rcap) {
		memmove(x->rbuf, x->rbuf + x->rpos, x->rlen - x->rpos);
		x->rlen -= x->rpos;
		x->rpos = 0;
	}
	while (x->rlen - x->rpos < len) {
		ssize_t r = read(x->fd_in, x->rbuf + x->rlen, x->rcap - x->rlen);
		if (r > 0) {
			x->rlen += (size_t)r;
			continue;
		}
		if (r == 0) {
			if (x->rlen == x->rpos)
				return 1;
			errno = EPROTO;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
	*msg = x->rbuf + x->rpos;
	x->rpos += len;
	return 0;
}

/* The sender's end of the stream: EOF, or an empty ZeroMQ message. */
static int bench_ipc_finish(struct bench_ipc *x)
{
	switch (x->kind) {
	case BENCH_IPC_UNIX:
	case BENCH_IPC_TCP:
		return shutdown(x->fd_out, SHUT_WR);
	case BENCH_IPC_PIPE:
		bench_ipc_closefd(&x->fd_out);
		return 0;
	case BENCH_IPC_ZMQ:
		return bench_ipc_send(x, "", 0);
	}
	return -1;
}

/* Closes what this side has open (both sides; the parent also what
 * prepare made). */
static void bench_ipc_close(struct bench_ipc *x)
{
	if (x->fd_in == x->fd_out)
		x->fd_out = -1;
	bench_ipc_closefd(&x->fd_in);
	bench_ipc_closefd(&x->fd_out);
	bench_ipc_closefd(&x->lfd);
	for (int i = 0; i < 2; i++) {
		bench_ipc_closefd(&x->p2c[i]);
		bench_ipc_closefd(&x->c2p[i]);
	}
#ifdef BENCH_HAVE_ZMQ
	if (x->zmsg_live)
		zmq_msg_close(&x->zmsg);
	x->zmsg_live = 0;
	if (x->zsock)
		zmq_close(x->zsock);
	if (x->zctx)
		zmq_ctx_term(x->zctx);
	x->zsock = x->zctx = NULL;
#endif
	free(x->rbuf);
	x->rbuf = NULL;
}

/* The child's start: waits for the parent's endpoint, opens its own. */
static int bench_ipc_child_open(struct bench_ipc *x, struct bench_ctl *ctl)
{
	if (bench_ctl_await(&ctl->parent_stage, 1, 0, 20) != 0) {
		bench_errf(ctl->err, "child: the parent did not get ready");
		return -1;
	}
	if (bench_ipc_open(x, 1, ctl->err) != 0)
		return -1;
	bench_ctl_post(&ctl->child_stage, 1);
	return 0;
}

/* The parent's start, after the fork. */
static int bench_ipc_parent_open(struct bench_ipc *x, struct bench_ctl *ctl,
				 pid_t pid, char *err)
{
	if (bench_ipc_open(x, 0, err) != 0)
		return -1;
	bench_ctl_post(&ctl->parent_stage, 1);
	if (bench_ctl_await(&ctl->child_stage, 1, pid, 20) != 0) {
		bench_errf(err, "the child did not get ready");
		return -1;
	}
	return bench_ipc_accept(x, err);
}

/* ------------------------------------------------------------------ */
/* Round trips, back to back or at a fixed rate                         */

static int bench_ipc_echo(void *varg, struct bench_ctl *ctl)
{
	struct bench_ipc *x = varg;
	int rc = -1;

	if (bench_ipc_child_open(x, ctl) != 0)
		goto out;
	for (;;) {
		const void *msg;
		int r = bench_ipc_recv(x, BENCH_IPC_LAT_LEN, &msg);

		if (r == 1)
			break;
		if (r < 0) {
			bench_ipc_errno(ctl->err, "child: receive");
			goto out;
		}
		if (bench_ipc_send(x, msg, BENCH_IPC_LAT_LEN) != 0) {
			bench_ipc_errno(ctl->err, "child: send");
			goto out;
		}
	}
	rc = 0;
out:
	bench_ipc_close(x);
	return rc;
}

static int bench_ipc_lat_run(const struct bench_measure *m,
			     const struct bench_cfg *cfg, struct bench_out *out)
{
	int at_rate = strcmp(m->group, "rate") == 0;
	uint64_t n = at_rate ? cfg->rate_msgs : cfg->lat_block_iters;
	uint64_t warm = at_rate ? n / 10 : bench_warmup(cfg, n), sink = 0;
	uint64_t interval = at_rate ? bench_ns_ticks(1e9 / cfg->rate_hz) : 0;
	uint64_t due;
	struct bench_ipc x;
	struct bench_ctl *ctl = bench_ctl_new();
	uint64_t *samples = malloc(n * sizeof *samples);
	uint64_t msg[BENCH_IPC_LAT_LEN / 8];
	pid_t pid = -1;
	int rc = -1;

	bench_ipc_init(&x, (enum bench_ipc_kind)m->param, BENCH_IPC_LAT_LEN,
		       cfg);
#ifndef BENCH_HAVE_ZMQ
	if (x.kind == BENCH_IPC_ZMQ) {
		bench_errf(out->err, "built without libzmq");
		rc = 1;
		goto out;
	}
#endif
	if (!ctl || !samples) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	memset(samples, 0xff, n * sizeof *samples); /* fault in */
	if (bench_ipc_prepare(&x, out->err) != 0)
		goto out;
	pid = bench_spawn(cfg->cpu_b, bench_ipc_echo, &x, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	if (bench_ipc_parent_open(&x, ctl, pid, out->err) != 0)
		goto out;

	due = bench_ticks();
	for (uint64_t i = 1; i <= warm + n; i++) {
		const void *reply;
		uint64_t t0, seq;

		if (interval) {
			/* Open loop: due at its slot of the schedule. */
			due += interval;
			bench_wait_until(due, cfg->single_cpu);
			t0 = due;
		} else {
			t0 = bench_ticks();
		}
		bench_payload_write(msg, BENCH_IPC_LAT_LEN, i);
		if (bench_ipc_send(&x, msg, BENCH_IPC_LAT_LEN) != 0) {
			bench_ipc_errno(out->err, "send");
			goto out;
		}
		int r = bench_ipc_recv(&x, BENCH_IPC_LAT_LEN, &reply);
		if (r != 0) {
			if (r == 1)
				bench_errf(out->err, "the child hung up");
			else
				bench_ipc_errno(out->err, "receive");
			goto out;
		}
		seq = bench_payload_read(reply, BENCH_IPC_LAT_LEN, &sink);
		uint64_t t1 = bench_ticks();
		if (seq != i) {
			bench_errf(out->err, "reply %llu carries %llu",
				   (unsigned long long)i,
				   (unsigned long long)seq);
			goto out;
		}
		if (i > warm)
			samples[i - warm - 1] = t1 - t0;
	}
	if (bench_ipc_finish(&x) != 0) {
		bench_ipc_errno(out->err, "end of stream");
		goto out;
	}
	rc = bench_reap(pid, ctl, 20, out->err);
	pid = -1;
	if (rc == 0)
		bench_lat_fill(out, samples, n);
out:
	bench_kill(pid);
	bench_ipc_close(&x);
	free(samples);
	bench_ctl_free(ctl);
	return rc;
}

/* ------------------------------------------------------------------ */
/* One-way throughput                                                   */

static int bench_ipc_sink(void *varg, struct bench_ctl *ctl)
{
	struct bench_ipc *x = varg;
	size_t len = x->max_msg;
	uint64_t sink = 0, every = bench_tick_every(len), i;
	struct bench_tclock *tc = malloc(sizeof *tc);
	int rc = -1, timing = 1;

	if (!tc) {
		bench_errf(ctl->err, "child: out of memory");
		goto out;
	}
	bench_tclock_init(tc, x->cfg);
	if (bench_ipc_child_open(x, ctl) != 0)
		goto out;
	for (i = 0;; i++) {
		const void *msg;
		int r = bench_ipc_recv(x, len, &msg);

		if (r == 1)
			break;
		if (r < 0) {
			bench_ipc_errno(ctl->err, "child: receive");
			goto out;
		}
		uint64_t seq = bench_payload_read(msg, len, &sink);
		if (seq != i) {
			bench_errf(ctl->err, "child: message %llu has seq %llu",
				   (unsigned long long)i,
				   (unsigned long long)seq);
			goto out;
		}
		if (timing && (i + 1) % every == 0 &&
		    bench_tclock_tick(tc, every)) {
			timing = 0;
			bench_stop_post(ctl);
		}
	}
	if (timing) {
		bench_errf(ctl->err, "child: the stream ended after %llu "
			   "messages, before the timed period",
			   (unsigned long long)i);
		goto out;
	}
	ctl->count[0] = sink;
	ctl->count[1] = i;
	ctl->result[0] = bench_tclock_median(tc);
	ctl->result[1] = bench_tclock_mean(tc);
	rc = 0;
out:
	free(tc);
	bench_ipc_close(x);
	return rc;
}

static int bench_ipc_tput_run(const struct bench_measure *m,
			      const struct bench_cfg *cfg, struct bench_out *out)
{
	const enum bench_ipc_kind *kind = m->arg;
	size_t len = (size_t)m->param;
	uint64_t every = bench_tick_every(len);
	struct bench_ipc x;
	struct bench_ctl *ctl = bench_ctl_new();
	void *msg = aligned_alloc(64, len);
	pid_t pid = -1;
	int rc = -1;

	bench_ipc_init(&x, *kind, len, cfg);
#ifndef BENCH_HAVE_ZMQ
	if (x.kind == BENCH_IPC_ZMQ) {
		bench_errf(out->err, "built without libzmq");
		rc = 1;
		goto out;
	}
#endif
	if (!ctl || !msg) {
		bench_errf(out->err, "out of memory");
		goto out;
	}
	memset(msg, 0, len);
	if (bench_ipc_prepare(&x, out->err) != 0)
		goto out;
	pid = bench_spawn(cfg->cpu_b, bench_ipc_sink, &x, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	if (bench_ipc_parent_open(&x, ctl, pid, out->err) != 0)
		goto out;
	for (uint64_t i = 0;; i++) {
		if (i % every == 0 && bench_stop_seen(ctl))
			break;
		bench_payload_write(msg, len, i);
		if (bench_ipc_send(&x, msg, len) != 0) {
			bench_ipc_errno(out->err, "send");
			goto out;
		}
	}
	if (bench_ipc_finish(&x) != 0) {
		bench_ipc_errno(out->err, "end of stream");
		goto out;
	}
	rc = bench_reap(pid, ctl, cfg->watchdog_s, out->err);
	pid = -1;
	if (rc == 0)
		bench_tput_fill(out, ctl->result[0], ctl->result[1], len);
out:
	bench_kill(pid);
	bench_ipc_close(&x);
	free(msg);
	bench_ctl_free(ctl);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The measurements                                                     */

static const enum bench_ipc_kind bench_ipc_kinds[BENCH_IPC_N] = {
	BENCH_IPC_UNIX, BENCH_IPC_PIPE, BENCH_IPC_TCP, BENCH_IPC_ZMQ,
};

#define BENCH_IPC_LAT(prefix, grp, k, lbl, kind) {			\
	.key = prefix "." k,						\
	.label = lbl,							\
	.group = grp,							\
	.transport = k,							\
	.param = (kind),						\
	.nmetrics = BENCH_LAT_NMETRICS,					\
	.metrics = { BENCH_LAT_METRICS },				\
	.run = bench_ipc_lat_run,					\
}

#define BENCH_IPC_LABEL_UNIX "Unix stream socket"
#define BENCH_IPC_LABEL_PIPE "pipe"
#define BENCH_IPC_LABEL_TCP  "TCP loopback, NODELAY"
#define BENCH_IPC_LABEL_ZMQ  "ZeroMQ ipc://"

const struct bench_measure bench_ipc_rt[BENCH_IPC_N] = {
	BENCH_IPC_LAT("lat", "latency", "unix", BENCH_IPC_LABEL_UNIX,
		      BENCH_IPC_UNIX),
	BENCH_IPC_LAT("lat", "latency", "pipe", BENCH_IPC_LABEL_PIPE,
		      BENCH_IPC_PIPE),
	BENCH_IPC_LAT("lat", "latency", "tcp", BENCH_IPC_LABEL_TCP,
		      BENCH_IPC_TCP),
	BENCH_IPC_LAT("lat", "latency", "zmq", BENCH_IPC_LABEL_ZMQ,
		      BENCH_IPC_ZMQ),
};

const struct bench_measure bench_ipc_rate[BENCH_IPC_N] = {
	BENCH_IPC_LAT("rate", "rate", "unix", BENCH_IPC_LABEL_UNIX,
		      BENCH_IPC_UNIX),
	BENCH_IPC_LAT("rate", "rate", "pipe", BENCH_IPC_LABEL_PIPE,
		      BENCH_IPC_PIPE),
	BENCH_IPC_LAT("rate", "rate", "tcp", BENCH_IPC_LABEL_TCP,
		      BENCH_IPC_TCP),
	BENCH_IPC_LAT("rate", "rate", "zmq", BENCH_IPC_LABEL_ZMQ,
		      BENCH_IPC_ZMQ),
};

#define BENCH_IPC_TPUT(k, lbl, kind, sk, slbl, bytes) {			\
	.key = "tput." k "_" sk,					\
	.label = lbl ", " slbl,						\
	.group = "throughput",						\
	.transport = k,							\
	.param = (bytes),						\
	.arg = &bench_ipc_kinds[kind],					\
	.nmetrics = BENCH_TPUT_NMETRICS,				\
	.metrics = { BENCH_TPUT_METRICS },				\
	.run = bench_ipc_tput_run,					\
}

#define BENCH_IPC_TPUT4(k, lbl, kind) {					\
	BENCH_IPC_TPUT(k, lbl, kind, "64", "64 B", 64),			\
	BENCH_IPC_TPUT(k, lbl, kind, "4k", "4 KiB", 4096),		\
	BENCH_IPC_TPUT(k, lbl, kind, "64k", "64 KiB", 65536),		\
	BENCH_IPC_TPUT(k, lbl, kind, "1m", "1 MiB", 1048576),		\
}

const struct bench_measure bench_ipc_tput[BENCH_IPC_N][4] = {
	BENCH_IPC_TPUT4("unix", BENCH_IPC_LABEL_UNIX, BENCH_IPC_UNIX),
	BENCH_IPC_TPUT4("pipe", BENCH_IPC_LABEL_PIPE, BENCH_IPC_PIPE),
	BENCH_IPC_TPUT4("tcp", BENCH_IPC_LABEL_TCP, BENCH_IPC_TCP),
	BENCH_IPC_TPUT4("zmq", BENCH_IPC_LABEL_ZMQ, BENCH_IPC_ZMQ),
};

/* The version of libzmq in use ("" if built without). */
void bench_ipc_zmq_version(char *buf, size_t size)
{
#ifdef BENCH_HAVE_ZMQ
	int a, b, c;

	zmq_version(&a, &b, &c);
	snprintf(buf, size, "%d.%d.%d", a, b, c);
#else
	snprintf(buf, size, "%s", "");
#endif
}
