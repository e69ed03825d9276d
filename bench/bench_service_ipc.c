/* SPDX-License-Identifier: MIT */
/*
 * bench_service_ipc.c - the servers `qshm serve` is compared with: the same
 * job (bench_svc_job(): parse, plan, count, as the service does) behind a
 * Unix stream socket, and behind a ZeroMQ REQ/REP socket pair over ipc://.
 * Each is as lean as such a server is written: one blocking connection,
 * one request at a time, the request as a header and the text, the reply
 * as a header and the counts (bench_service.h). Names live in the abstract
 * namespace (nothing to clean up). A server serves one client and exits 0
 * when it goes (socket: end of file; ZeroMQ: a stop request).
 */
#include "bench_service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

/* A request with this length asks a ZeroMQ server to stop. */
#define BENCH_SVC_STOP 0xffffffffu

/* Serves one decoded request into out (header and counts); returns the
 * reply's length. */
static size_t bench_svc_serve_req(const void *msg, size_t len, void *out)
{
	struct bench_svc_req q;
	struct bench_svc_rep r = { 0 };
	long k;

	if (len < sizeof q) {
		r.status = -EPROTO;
		memcpy(out, &r, sizeof r);
		return sizeof r;
	}
	memcpy(&q, msg, sizeof q);
	if (q.len != len - sizeof q || q.len > BENCH_SVC_MAX_TEXT) {
		r.status = -EPROTO;
		memcpy(out, &r, sizeof r);
		return sizeof r;
	}
	k = bench_svc_job((const char *)msg + sizeof q, q.len, q.shots,
			  q.seed, &r.sim_ns, &r.n, (char *)out + sizeof r,
			  BENCH_SVC_MAX_REPLY - sizeof r);
	if (k < 0) {
		r.status = (int32_t)k;
		r.n = 0;
		k = 0;
	}
	r.len = (uint32_t)k;
	memcpy(out, &r, sizeof r);
	return sizeof r + (size_t)k;
}

static int bench_svc_check_reply(const void *msg, size_t len,
				 struct bench_svc_reply *rep, char *err)
{
	struct bench_svc_rep r;

	if (len < sizeof r) {
		bench_errf(err, "short reply (%zu bytes)", len);
		return -1;
	}
	memcpy(&r, msg, sizeof r);
	if (r.status) {
		bench_errf(err, "server: job failed: %s", strerror(-r.status));
		return -1;
	}
	if (r.len != len - sizeof r ||
	    bench_svc_decode((const char *)msg + sizeof r, r.len, r.n, rep)) {
		bench_errf(err, "malformed reply");
		return -1;
	}
	rep->sim_ns = r.sim_ns;
	return 0;
}

/* ---- Unix stream socket ---- */

static int bench_svc_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t k = read(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k == 0 ? 1 : -1;  /* 1: end of file */
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int bench_svc_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static socklen_t bench_svc_addr(struct sockaddr_un *a, const char *name)
{
	size_t n = strlen(name);

	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (n > sizeof a->sun_path - 1)
		n = sizeof a->sun_path - 1;
	memcpy(a->sun_path + 1, name, n);   /* abstract: leading NUL */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int bench_svc_unix_server(void *arg, struct bench_ctl *ctl)
{
	struct sockaddr_un a;
	socklen_t alen = bench_svc_addr(&a, arg);
	char *in = malloc(sizeof(struct bench_svc_req) + BENCH_SVC_MAX_TEXT);
	char *out = malloc(BENCH_SVC_MAX_REPLY);
	int lfd = -1, fd = -1, rc = 1;

	if (!in || !out) {
		bench_errf(ctl->err, "unix server: out of memory");
		goto out;
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, alen) ||
	    listen(lfd, 1)) {
		bench_errf(ctl->err, "unix server: %s", strerror(errno));
		goto out;
	}
	bench_ctl_post(&ctl->child_stage, 1);
	do
		fd = accept(lfd, NULL, NULL);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		bench_errf(ctl->err, "unix server: accept: %s",
			   strerror(errno));
		goto out;
	}
	for (;;) {
		struct bench_svc_req q;
		int r = bench_svc_read_full(fd, &q, sizeof q);

		if (r == 1) {
			rc = 0;        /* the client went: done */
			break;
		}
		if (r || q.len > BENCH_SVC_MAX_TEXT ||
		    bench_svc_read_full(fd, in + sizeof q, q.len)) {
			bench_errf(ctl->err, "unix server: bad request");
			break;
		}
		memcpy(in, &q, sizeof q);
		size_t n = bench_svc_serve_req(in, sizeof q + q.len, out);
		if (bench_svc_write_full(fd, out, n)) {
			bench_errf(ctl->err, "unix server: write: %s",
				   strerror(errno));
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	free(in);
	free(out);
	return rc;
}

struct bench_svc_unix_conn {
	int fd;
	char buf[BENCH_SVC_MAX_REPLY];
};

static int bench_svc_unix_open(void **conn, const char *endpoint, char *err)
{
	struct bench_svc_unix_conn *c = malloc(sizeof *c);
	struct sockaddr_un a;
	socklen_t alen = bench_svc_addr(&a, endpoint);

	if (!c) {
		bench_errf(err, "out of memory");
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, alen)) {
		bench_errf(err, "unix connect: %s", strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return -1;
	}
	*conn = c;
	return 0;
}

static int bench_svc_unix_call(void *conn, const char *qasm, size_t len,
			       uint64_t shots, uint64_t seed,
			       const double *angles,
			       struct bench_svc_reply *r, char *err)
{
	struct bench_svc_unix_conn *c = conn;
	struct bench_svc_req q = { .len = (uint32_t)len, .shots = shots,
				   .seed = seed };
	struct bench_svc_rep h;

	(void)angles;   /* the text has them */
	struct iovec iov[2] = { { &q, sizeof q }, { (void *)qasm, len } };
	ssize_t k;

	/* One writev: header and text in one system call. */
	do
		k = writev(c->fd, iov, 2);
	while (k < 0 && errno == EINTR);
	if (k != (ssize_t)(sizeof q + len)) {
		bench_errf(err, "unix write: %s", k < 0 ? strerror(errno) :
			   "short");
		return -1;
	}
	if (bench_svc_read_full(c->fd, &h, sizeof h) ||
	    h.len > sizeof c->buf - sizeof h ||
	    bench_svc_read_full(c->fd, c->buf + sizeof h, h.len)) {
		bench_errf(err, "unix read: bad reply");
		return -1;
	}
	memcpy(c->buf, &h, sizeof h);
	return bench_svc_check_reply(c->buf, sizeof h + h.len, r, err);
}

static void bench_svc_unix_close(void *conn)
{
	struct bench_svc_unix_conn *c = conn;

	if (!c)
		return;
	close(c->fd);
	free(c);
}

const struct bench_svc_transport bench_svc_unix = {
	.name = "unix",
	.server = bench_svc_unix_server,
	.open = bench_svc_unix_open,
	.call = bench_svc_unix_call,
	.close = bench_svc_unix_close,
};

/* ---- ZeroMQ REQ/REP ---- */

#ifdef BENCH_HAVE_ZMQ
int bench_svc_have_zmq(void)
{
	return 1;
}

static void bench_svc_zmq_endpoint(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "ipc://@%s", name);
}

static int bench_svc_zmq_server(void *arg, struct bench_ctl *ctl)
{
	char ep[160];
	void *ctx = zmq_ctx_new(), *s = NULL;
	char *out = malloc(BENCH_SVC_MAX_REPLY);
	int rc = 1;

	bench_svc_zmq_endpoint(ep, sizeof ep, arg);
	if (!ctx || !out) {
		bench_errf(ctl->err, "zmq server: out of memory");
		goto out;
	}
	s = zmq_socket(ctx, ZMQ_REP);
	if (!s || zmq_bind(s, ep)) {
		bench_errf(ctl->err, "zmq server: bind %s: %s", ep,
			   zmq_strerror(zmq_errno()));
		goto out;
	}
	bench_ctl_post(&ctl->child_stage, 1);
	for (;;) {
		zmq_msg_t m;
		struct bench_svc_req q;
		size_t n;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) < 0) {
			zmq_msg_close(&m);
			if (zmq_errno() == EINTR)
				continue;
			bench_errf(ctl->err, "zmq server: recv: %s",
				   zmq_strerror(zmq_errno()));
			break;
		}
		if (zmq_msg_size(&m) >= sizeof q) {
			memcpy(&q, zmq_msg_data(&m), sizeof q);
			if (q.len == BENCH_SVC_STOP) {
				zmq_msg_close(&m);
				zmq_send(s, "", 0, 0);
				rc = 0;
				break;
			}
		}
		n = bench_svc_serve_req(zmq_msg_data(&m), zmq_msg_size(&m),
					out);
		zmq_msg_close(&m);
		if (zmq_send(s, out, n, 0) < 0) {
			bench_errf(ctl->err, "zmq server: send: %s",
				   zmq_strerror(zmq_errno()));
			break;
		}
	}
out:
	if (s) {
		int linger = 1000;
		zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
		zmq_close(s);
	}
	if (ctx)
		zmq_ctx_term(ctx);
	free(out);
	return rc;
}

struct bench_svc_zmq_conn {
	void *ctx, *s;
	char buf[sizeof(struct bench_svc_req) + BENCH_SVC_MAX_TEXT];
};

static void bench_svc_zmq_close(void *conn)
{
	struct bench_svc_zmq_conn *c = conn;
	int linger = 0;

	if (!c)
		return;
	if (c->s) {
		zmq_setsockopt(c->s, ZMQ_LINGER, &linger, sizeof linger);
		zmq_close(c->s);
	}
	if (c->ctx)
		zmq_ctx_term(c->ctx);
	free(c);
}

static int bench_svc_zmq_open(void **conn, const char *endpoint, char *err)
{
	struct bench_svc_zmq_conn *c = calloc(1, sizeof *c);
	char ep[160];

	if (!c) {
		bench_errf(err, "out of memory");
		return -1;
	}
	bench_svc_zmq_endpoint(ep, sizeof ep, endpoint);
	c->ctx = zmq_ctx_new();
	c->s = c->ctx ? zmq_socket(c->ctx, ZMQ_REQ) : NULL;
	if (!c->s || zmq_connect(c->s, ep)) {
		bench_errf(err, "zmq connect %s: %s", ep,
			   zmq_strerror(zmq_errno()));
		bench_svc_zmq_close(c);
		return -1;
	}
	*conn = c;
	return 0;
}

static int bench_svc_zmq_call(void *conn, const char *qasm, size_t len,
			      uint64_t shots, uint64_t seed,
			      const double *angles,
			      struct bench_svc_reply *r, char *err)
{
	struct bench_svc_zmq_conn *c = conn;
	struct bench_svc_req q = { .len = (uint32_t)len, .shots = shots,
				   .seed = seed };
	zmq_msg_t m;
	int rc;

	(void)angles;   /* the text has them */
	if (len > BENCH_SVC_MAX_TEXT) {
		bench_errf(err, "text too long");
		return -1;
	}
	/* One message: header and text (a REQ socket takes one per call). */
	memcpy(c->buf, &q, sizeof q);
	memcpy(c->buf + sizeof q, qasm, len);
	if (zmq_send(c->s, c->buf, sizeof q + len, 0) < 0) {
		bench_errf(err, "zmq send: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	zmq_msg_init(&m);
	while ((rc = zmq_msg_recv(&m, c->s, 0)) < 0 && zmq_errno() == EINTR)
		;
	if (rc < 0) {
		bench_errf(err, "zmq recv: %s", zmq_strerror(zmq_errno()));
		zmq_msg_close(&m);
		return -1;
	}
	rc = bench_svc_check_reply(zmq_msg_data(&m), zmq_msg_size(&m), r,
				   err);
	zmq_msg_close(&m);
	return rc;
}

/* Stops the server (it exits 0 after replying), then closes. */
static void bench_svc_zmq_stop_close(void *conn)
{
	struct bench_svc_zmq_conn *c = conn;
	struct bench_svc_req q = { .len = BENCH_SVC_STOP };
	int timeout = 5000;

	if (!c)
		return;
	zmq_setsockopt(c->s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	if (zmq_send(c->s, &q, sizeof q, 0) == (int)sizeof q) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		zmq_msg_recv(&m, c->s, 0);
		zmq_msg_close(&m);
	}
	bench_svc_zmq_close(c);
}

const struct bench_svc_transport bench_svc_zmq = {
	.name = "zmq",
	.server = bench_svc_zmq_server,
	.open = bench_svc_zmq_open,
	.call = bench_svc_zmq_call,
	.close = bench_svc_zmq_stop_close,
};
#else
int bench_svc_have_zmq(void)
{
	return 0;
}

const struct bench_svc_transport bench_svc_zmq = { .name = "zmq" };
#endif
