/* rt_error.c - recording error messages for the caller. */
#include "rt_error.h"

#include <stdarg.h>
#include <stdio.h>

void rt_error_clear(struct rt_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

int rt_error_set(struct rt_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != 0)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
