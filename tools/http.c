/* SPDX-License-Identifier: MIT */
/*
 * http.c - a bounded, single-threaded HTTP/1.x responder (see http.h).
 *
 * Every connection gets HTTP_DEADLINE_MS in all to send its request and
 * take the response; a request line and headers longer than
 * HTTP_MAX_REQUEST are refused. So a slow or hostile client delays the
 * next scrape by at most the deadline, and memory use is fixed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static int64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		const uint8_t *b = a->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return 1;
		/* ::ffff:127.x.y.z */
		return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && b[12] == 127;
	}
	return 0;
}

/* Parses "HOST:PORT" / "[V6]:PORT" into ss. Returns 0 or -1 (err). */
static int parse_addr(const char *spec, struct sockaddr_storage *ss,
		      socklen_t *len, char *err, size_t errlen)
{
	char host[128];
	const char *port_s;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec) >=
		    sizeof(host)) {
			snprintf(err, errlen, "'%s': expected [IPV6]:PORT",
				 spec);
			return -1;
		}
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = '\0';
		port_s = close + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || colon == spec ||
		    (size_t)(colon - spec) >= sizeof(host)) {
			snprintf(err, errlen, "'%s': expected HOST:PORT, e.g. "
				 "127.0.0.1:9477", spec);
			return -1;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port_s = colon + 1;
	}
	char *end;
	errno = 0;
	long port = strtol(port_s, &end, 10);
	if (!*port_s || *end || errno || port < 0 || port > 65535) {
		snprintf(err, errlen, "'%s': bad port '%s'", spec, port_s);
		return -1;
	}
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	} else {
		snprintf(err, errlen, "'%s': '%s' is not an IP address (or "
			 "localhost)", spec, host);
		return -1;
	}
	return 0;
}

int http_listen(const char *spec, int allow_remote, struct http_server *srv,
		char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	memset(srv, 0, sizeof(*srv));
	srv->fd = -1;
	if (parse_addr(spec, &ss, &len, err, errlen))
		return -1;
	if (!allow_remote && !is_loopback(&ss)) {
		snprintf(err, errlen, "'%s' is not a loopback address; "
			 "metrics would be served to the network "
			 "(--allow-remote permits it)", spec);
		return -1;
	}
	srv->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			 SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(srv->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			   sizeof(one));
	if (bind(srv->fd, (struct sockaddr *)&ss, len) < 0) {
		snprintf(err, errlen, "bind %s: %s", spec, strerror(errno));
		goto fail;
	}
	if (listen(srv->fd, 16) < 0) {
		snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
		goto fail;
	}
	len = sizeof(ss);
	if (getsockname(srv->fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		goto fail;
	}
	char host[INET6_ADDRSTRLEN];
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		srv->port = ntohs(a4->sin_port);
		snprintf(srv->url, sizeof(srv->url), "http://%s:%u", host,
			 srv->port);
	} else {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		srv->port = ntohs(a6->sin6_port);
		snprintf(srv->url, sizeof(srv->url), "http://[%s]:%u", host,
			 srv->port);
	}
	return 0;
fail:
	close(srv->fd);
	srv->fd = -1;
	return -1;
}

void http_close(struct http_server *srv)
{
	if (srv->fd >= 0)
		close(srv->fd);
	srv->fd = -1;
}

/* Waits for events on fd until deadline. Returns 1 ready, 0 timeout. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - http_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 0;
	}
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(fd, POLLOUT, deadline))
			continue;
		return -1;
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

static int respond(int fd, int status, const char *ctype, const char *body,
		   size_t blen, int head, int64_t deadline)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Cache-Control: no-store\r\n"
			 "Connection: close\r\n\r\n", status, reason(status),
			 ctype, blen,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (send_all(fd, hdr, (size_t)n, deadline))
		return -1;
	if (!head && blen && send_all(fd, body, blen, deadline))
		return -1;
	return 0;
}

static int respond_error(int fd, int status, int64_t deadline)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status,
			 reason(status));
	return respond(fd, status, "text/plain; charset=utf-8", body,
		       (size_t)n, 0, deadline);
}

/* Parses the request line in buf. Returns 0 and sets method/path (in
 * buf), or an HTTP status to answer with. */
static int parse_request(char *buf, char **method, char **path)
{
	char *eol = strpbrk(buf, "\r\n");
	if (!eol)
		return 400;
	*eol = '\0';
	char *sp1 = strchr(buf, ' ');
	if (!sp1)
		return 400;
	*sp1 = '\0';
	char *target = sp1 + 1;
	char *sp2 = strchr(target, ' ');
	if (!sp2)
		return 400;
	*sp2 = '\0';
	const char *version = sp2 + 1;
	if (strncmp(version, "HTTP/1.", 7) != 0)
		return strncmp(version, "HTTP/", 5) ? 400 : 505;
	if (target[0] != '/')
		return 400;
	char *q = strchr(target, '?');
	if (q)
		*q = '\0';
	*method = buf;
	*path = target;
	return 0;
}

int http_serve_one(struct http_server *srv, http_handler h, void *arg)
{
	char buf[HTTP_MAX_REQUEST + 1];
	size_t got = 0;
	int fd, rc = 0, status;

	fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED || errno == EPROTO)
			return 0;
		return -1;
	}
	int64_t deadline = http_now_ms() + HTTP_DEADLINE_MS;
	for (;;) {
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
		if (got == HTTP_MAX_REQUEST) {
			rc = respond_error(fd, 431, deadline) == 0;
			goto out;
		}
		if (!wait_fd(fd, POLLIN, deadline)) {
			rc = respond_error(fd, 408, deadline) == 0;
			goto out;
		}
		ssize_t n = recv(fd, buf + got, HTTP_MAX_REQUEST - got, 0);
		if (n == 0)
			goto out; /* the client went away */
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			goto out;
		}
		got += (size_t)n;
	}
	char *method, *path;
	status = parse_request(buf, &method, &path);
	if (status) {
		rc = respond_error(fd, status, deadline) == 0;
		goto out;
	}
	int head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		rc = respond_error(fd, 405, deadline) == 0;
		goto out;
	}
	char *body = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&body, &blen);
	if (!f) {
		rc = respond_error(fd, 500, deadline) == 0;
		goto out;
	}
	const char *ctype = "text/plain; charset=utf-8";
	status = h(arg, path, f, &ctype);
	if (fclose(f) != 0)
		status = 500;
	rc = respond(fd, status, ctype, body, blen, head, deadline) == 0;
	free(body);
out:
	/* Half-close, then drain what the client still sends for a moment,
	 * so closing does not reset the connection under the response. */
	shutdown(fd, SHUT_WR);
	int64_t drain = http_now_ms() + 200;
	if (drain > deadline)
		drain = deadline;
	while (wait_fd(fd, POLLIN, drain)) {
		char sink[512];
		if (recv(fd, sink, sizeof(sink), 0) <= 0)
			break;
	}
	close(fd);
	return rc;
}
