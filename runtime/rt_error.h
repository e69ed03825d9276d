/*
 * rt_error.h - error reports of the qshm runtime (front end and simulator).
 *
 * Internal to qshm. Functions of the runtime return 0 or a negative errno
 * value and, when the caller passes a struct rt_error, also leave a message
 * in it. Front-end messages have the form
 *
 *     file:line:col: error: <what was wrong, what was expected>
 *
 * and simulator messages start with "error: ". The library never prints and
 * never exits.
 */
#ifndef QSHM_RT_ERROR_H
#define QSHM_RT_ERROR_H

#include <stddef.h>

#define RT_ERROR_MSG_MAX 1024

struct rt_error {
	int code;                     /* negative errno value, 0 if none */
	char msg[RT_ERROR_MSG_MAX];   /* NUL-terminated, "" if none */
};

/* Clear @err (NULL is allowed). */
void rt_error_clear(struct rt_error *err);

/*
 * Record @code (negative errno) and a printf-style message in @err, unless
 * @err is NULL or already holds an error (the first error wins, as it is the
 * root cause). Returns @code so callers can write `return rt_error_set(...)`.
 */
int rt_error_set(struct rt_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
