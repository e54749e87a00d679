// SPDX-License-Identifier: GPL-2.0-or-later
/* The exported escaper; its code is escape.h (one copy, also compiled into procscan.c). */
#include <string.h>
#include "vctx-scan.h"
#include "util.h"
#include "escape.h"

VCTX_API size_t vctx_escape(const char *in, size_t len, char *out, size_t outlen)
{
	return vctx__escape(in, len, out, outlen, 1);
}

VCTX_API size_t vctx_escape_hex(const char *in, size_t len, char *out, size_t outlen)
{
	return vctx__escape(in, len, out, outlen, 0);
}

VCTX_API const char *vctx_shown(const char *s)
{
	static char buf[2][1024];
	static int i;
	char *b = buf[i++ & 1];

	vctx_escape(s, strlen(s), b, sizeof(buf[0]));
	return b;
}
