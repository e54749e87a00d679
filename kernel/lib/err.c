// SPDX-License-Identifier: GPL-2.0-or-later
/* Error reporting: errno plus a one-line message.  Never exits. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vctx.h"

static int set_error(vctx_error *err, enum vctx_err_kind kind, int errnum, const char *fmt, va_list ap)
{
	if (!err) {
		errno = errnum;
		return -1;
	}
	err->err = errnum;
	err->kind = kind;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	/* keep it one line */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	errno = errnum;
	return -1;
}

__attribute__((visibility("default")))
int vctx_set_error(vctx_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(err, VCTX_ERR_FAILED, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((visibility("default")))
int vctx_set_error_kind(vctx_error *err, enum vctx_err_kind kind, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(err, kind, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((visibility("default")))
const char *vctx_err_kind_name(enum vctx_err_kind kind)
{
	switch (kind) {
#define KIND(k, name) case k: return name;
	VCTX_ERR_KIND_ROWS(KIND)
#undef KIND
	}
	return "failed";
}
