/* SPDX-License-Identifier: MIT */
/*
 * http.h - the smallest HTTP/1.x server `qshm stat --listen` needs to be
 * scraped: one listening socket, one connection at a time (others wait in
 * the backlog), a deadline on every connection, GET and HEAD only,
 * "Connection: close" after each response. No threads, no keep-alive.
 */
#ifndef QSHM_TOOLS_HTTP_H
#define QSHM_TOOLS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HTTP_MAX_REQUEST 8192   /* request line and headers */
#define HTTP_DEADLINE_MS 2000   /* per connection, reading and writing */

struct http_server {
	int fd;
	char url[128];          /* "http://127.0.0.1:9477", actual port */
	uint16_t port;          /* actual port (for PORT 0) */
};

/*
 * Listens on spec, "HOST:PORT" or "[IPV6]:PORT" (PORT 0 picks a free
 * one). HOST must be a loopback address (127.0.0.0/8, ::1, or
 * "localhost") unless allow_remote. Returns 0, or -1 with a message in
 * err.
 */
int http_listen(const char *spec, int allow_remote, struct http_server *srv,
		char *err, size_t errlen);
void http_close(struct http_server *srv);

/*
 * Produces the response to a GET or HEAD of path (the target without its
 * query string): writes the body to body, sets *content_type, returns the
 * status code (200, 404, ...).
 */
typedef int (*http_handler)(void *arg, const char *path, FILE *body,
			    const char **content_type);

/*
 * Accepts and answers one connection if one is waiting (the listening
 * socket is non-blocking). Returns 1 if a response was sent (whatever its
 * status), 0 if none was (no connection waiting, the client went away or
 * took too long to take it), -1 on an accept error worth reporting.
 */
int http_serve_one(struct http_server *srv, http_handler h, void *arg);

#endif
