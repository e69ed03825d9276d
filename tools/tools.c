/* SPDX-License-Identifier: MIT */
/* tools.c - argument parsing, clocks and attaching, for the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "tools.h"

int tools_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qshm %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'qshm %s --help'.\n", cmd);
	return 2;
}

int tools_parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return (errno || end == s || *end) ? -EINVAL : 0;
}

/* Reads the digits of a whole number at s (decimal, or hex with 0x);
 * *end: what follows. Nothing before the digits: no sign, no space. */
static int parse_digits(const char *s, uint64_t *out, char **end)
{
	unsigned long long v;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, end, 0);
	if (errno || *end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

int tools_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v;
	char *end;

	if (parse_digits(s, &v, &end) || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int tools_parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	unsigned shift = 0;
	char *end;

	if (parse_digits(s, &v, &end))
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	}
	if (shift) {
		end++;
		if (end[0] == 'i' && end[1] == 'B')     /* 4MiB */
			end += 2;
		else if (end[0] == 'B')                 /* 4MB, as 4M */
			end++;
	}
	if (*end || v > UINT64_MAX >> shift)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

uint64_t tools_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int tools_attach(const char *cmd, const char *name, unsigned flags,
		 double wait_s, qshm_consumer **out)
{
	uint64_t deadline = tools_now_ns() + (uint64_t)(wait_s * 1e9);
	int err, said = 0;

	for (;;) {
		err = qshm_consumer_attach(name, flags, out);
		if (err != -ENOENT && err != -QSHM_ECREATING)
			break;
		if (tools_now_ns() >= deadline)
			break;
		if (!said++) {
			char q[256];
			fprintf(stderr, "qshm %s: ring '%s' %s; waiting up to "
				"%g s for it (--wait)\n", cmd,
				qshm_quote(name, q, sizeof(q)),
				err == -ENOENT ? "does not exist yet" :
				"is being created", wait_s);
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (err) {
		char q[256];

		fprintf(stderr, "qshm %s: attach '%s': %s\n", cmd,
			qshm_quote(name, q, sizeof(q)),
			qshm_last_error()[0] ? qshm_last_error() :
			qshm_strerror(err));
	}
	return err;
}

void tools_guard_sigbus(void)
{
	/* libqshm's guard: a ring cut under us fails the next call on its
	 * handle with -QSHM_ETRUNCATED, which each command reports. */
	if (qshm_install_sigbus_guard())
		fprintf(stderr, "qshm: %s\n", qshm_last_error());
}

int tools_allow_owner(const char *cmd, const char *user)
{
	struct passwd *pw = getpwnam(user);
	uint64_t uid;

	if (pw) {
		uid = pw->pw_uid;
	} else if (tools_parse_u64(user, &uid) || uid >= UINT32_MAX) {
		char q[128];

		return tools_usage_error(cmd, "--owner: no user '%s'",
					 qshm_quote(user, q, sizeof(q)));
	}
	qshm_allow_owner((long)uid);
	return 0;
}
