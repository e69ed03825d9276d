/* SPDX-License-Identifier: MIT */
/* error.c - the library's version and its per-thread error messages. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local char qres__msg[512];

int qres__fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(qres__msg, sizeof(qres__msg), fmt, ap);
	va_end(ap);
	return -err;
}

void qres__clear(void)
{
	qres__msg[0] = '\0';
}

const char *qshm_results_last_error(void)
{
	return qres__msg;
}

int qshm_results_version(int *major, int *minor, int *patch, int *format)
{
	if (major)
		*major = QSHM_RESULTS_LIB_MAJOR;
	if (minor)
		*minor = QSHM_RESULTS_LIB_MINOR;
	if (patch)
		*patch = QSHM_RESULTS_LIB_PATCH;
	if (format)
		*format = QSHM_RESULTS_VERSION;
	return 0;
}
