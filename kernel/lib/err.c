// SPDX-License-Identifier: GPL-2.0-or-later
/* Error reporting: errno plus a one-line message.  Never exits. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vctx.h"

__attribute__((visibility("default")))
int vctx_set_error(vctx_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (!err) {
		errno = errnum;
		return -1;
	}
	err->err = errnum;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* keep it one line */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	errno = errnum;
	return -1;
}
