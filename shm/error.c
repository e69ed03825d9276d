/* SPDX-License-Identifier: MIT */
/* error.c - error codes, their strings, and per-thread error context. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "object.h"

static _Thread_local char qshm__errbuf[512];

static const char *const qshm__errstr[] = {
	[QSHM_ENOTQSHM - QSHM_ERR_FIRST] =
		"QSHM_ENOTQSHM: not a qshm ring",
	[QSHM_EVERSION - QSHM_ERR_FIRST] =
		"QSHM_EVERSION: segment format version not supported",
	[QSHM_ELAYOUT - QSHM_ERR_FIRST] =
		"QSHM_ELAYOUT: segment made for another word or cache-line size",
	[QSHM_ECORRUPT - QSHM_ERR_FIRST] =
		"QSHM_ECORRUPT: segment fails validation",
	[QSHM_ECREATING - QSHM_ERR_FIRST] =
		"QSHM_ECREATING: ring is still being created",
	[QSHM_ESTALE - QSHM_ERR_FIRST] =
		"QSHM_ESTALE: ring's creator is dead or closed it",
	[QSHM_ECLOSED - QSHM_ERR_FIRST] =
		"QSHM_ECLOSED: producer closed the ring; all records read",
	[QSHM_EPRODUCERDEAD - QSHM_ERR_FIRST] =
		"QSHM_EPRODUCERDEAD: producer gone; all complete records read",
	[QSHM_EOVERRUN - QSHM_ERR_FIRST] =
		"QSHM_EOVERRUN: record overwritten while in use",
	[QSHM_EEVICTED - QSHM_ERR_FIRST] =
		"QSHM_EEVICTED: consumer was evicted by the producer",
	[QSHM_ENOSLOT - QSHM_ERR_FIRST] =
		"QSHM_ENOSLOT: consumer table is full",
	[QSHM_ETOOBIG - QSHM_ERR_FIRST] =
		"QSHM_ETOOBIG: record longer than the ring's maximum",
	[QSHM_ETRUNCATED - QSHM_ERR_FIRST] =
		"QSHM_ETRUNCATED: truncated under its mapping",
};

QSHM_EXPORT const char *qshm_strerror(int err)
{
	/* A few rotating buffers, so that two calls in one expression (or
	 * one printf) do not overwrite each other. */
	static _Thread_local char bufs[4][128];
	static _Thread_local unsigned next;
	char *buf = bufs[next++ % 4];

	if (err == INT_MIN)
		return "EINVAL: not an error code";
	if (err < 0)
		err = -err;
	if (err == 0)
		return "0: success";
	if (err >= QSHM_ERR_FIRST && err < QSHM_ERR_LAST)
		return qshm__errstr[err - QSHM_ERR_FIRST];
	/* strerrorname_np() is glibc >= 2.32; Debian 12 has 2.36. */
	const char *name = strerrorname_np(err);
	snprintf(buf, sizeof(bufs[0]), "%s: %s", name ? name : "E?",
		 strerror(err));
	return buf;
}

QSHM_EXPORT const char *qshm_last_error(void)
{
	return qshm__errbuf;
}

void qshm__clear_error(void)
{
	qshm__errbuf[0] = '\0';
}

/* Records a message for qshm_last_error() and returns -err. err > 0. */
int qshm__fail(int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(qshm__errbuf, sizeof(qshm__errbuf), "%s: ",
		     qshm_strerror(err));
	if (n < 0 || (size_t)n >= sizeof(qshm__errbuf))
		return -err;
	va_start(ap, fmt);
	vsnprintf(qshm__errbuf + n, sizeof(qshm__errbuf) - (size_t)n, fmt, ap);
	va_end(ap);
	return -err;
}

QSHM_EXPORT int qshm_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = QSHM_VERSION_MAJOR;
	if (minor)
		*minor = QSHM_VERSION_MINOR;
	if (patch)
		*patch = QSHM_VERSION_PATCH;
	return 0;
}

QSHM_EXPORT int qshm_name_check(const char *name)
{
	size_t n;

	if (!name)
		return qshm__fail(EINVAL, "ring name is NULL");
	n = strlen(name);
	if (n == 0)
		return qshm__fail(EINVAL, "ring name is empty");
	if (n > QSHM_NAME_MAX)
		return qshm__fail(EINVAL, "ring name is %zu bytes, at most %d",
				  n, QSHM_NAME_MAX);
	/* Names are quoted in messages: a terminal must never see the
	 * raw bytes of an invalid one (escape sequences). */
	char q[4 * 64 + 8];
	if (name[0] == '.')
		return qshm__fail(EINVAL, "ring name '%s' starts with '.'",
				  qshm__quote(name, q, sizeof(q)));
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-')
			continue;
		return qshm__fail(EINVAL,
				  "ring name '%s': character 0x%02x at %zu; "
				  "allowed: A-Z a-z 0-9 . _ -",
				  qshm__quote(name, q, sizeof(q)), ch, i);
	}
	return 0;
}
