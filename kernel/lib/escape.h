/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The escaper of server-sourced text (vctx_escape, vctx_escape_hex in
 * vctx-scan.h) as a static inline function: escape.c exports it, and
 * procscan.c, which runs it on every process name and command line of a
 * snapshot, compiles it in (no call through the exported symbol).  Its
 * TypeScript twin is escapeText in src/kernel-bridge/escape.ts;
 * test/unit/escape.test.ts runs one table of inputs
 * (test/fixtures/escape-golden.json) through both.
 */
#ifndef VCTX_ESCAPE_H
#define VCTX_ESCAPE_H
#include <stddef.h>
#include <string.h>

static const char vctx__hexdig[] = "0123456789abcdef";

/* length of a valid UTF-8 sequence at s (n bytes left), 0 when invalid */
static inline size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;	/* overlong */
		if (c == 0xed && s[1] > 0x9f)
			return 0;	/* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;	/* overlong */
		if (c == 0xf4 && s[1] > 0x8f)
			return 0;	/* above U+10FFFF */
		return 4;
	}
	return 0;
}

/* valid sequences a terminal still acts on: C1, bidi controls, separators */
static inline int utf8_is_control(const unsigned char *s, size_t l)
{
	if (l == 2)
		return (s[0] == 0xc2 && s[1] <= 0x9f) ||	/* C1 */
		       (s[0] == 0xd8 && s[1] == 0x9c);		/* U+061C ALM */
	if (l == 3 && s[0] == 0xe2 && s[1] == 0x80)
		return s[2] == 0x8e || s[2] == 0x8f ||		/* LRM RLM */
		       (s[2] >= 0xa8 && s[2] <= 0xae);		/* LS PS LRE..RLO */
	if (l == 3 && s[0] == 0xe2 && s[1] == 0x81)
		return s[2] >= 0xa6 && s[2] <= 0xa9;		/* LRI..PDI */
	return 0;
}

static inline size_t vctx__escape(const char *in, size_t len, char *out, size_t outlen,
								  int short_forms)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, i = 0;

	if (!outlen)
		return 0;
	while (i < len) {
		char tmp[16];
		size_t t = 0, l = utf8_len(s + i, len - i);

		if (l == 1) {
			unsigned char c = s[i];
			if (c == '\\' && short_forms) {
				tmp[t++] = '\\'; tmp[t++] = '\\';
			} else if (short_forms && (c == '\n' || c == '\r' || c == '\t')) {
				tmp[t++] = '\\';
				tmp[t++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			} else if (c < 0x20 || c == 0x7f) {
				tmp[t++] = '\\'; tmp[t++] = 'x';
				tmp[t++] = vctx__hexdig[c >> 4]; tmp[t++] = vctx__hexdig[c & 15];
			} else {
				tmp[t++] = c;
			}
		} else if (l > 1 && !utf8_is_control(s + i, l)) {
			memcpy(tmp, s + i, l);
			t = l;
		} else if (l > 1) {
			/* a valid control: its code point, \u{85} (as JavaScript writes it) */
			unsigned cp = l == 2 ? (s[i] & 0x1fu) << 6 | (s[i + 1] & 0x3fu)
					     : (s[i] & 0x0fu) << 12 | (s[i + 1] & 0x3fu) << 6 | (s[i + 2] & 0x3fu);
			tmp[t++] = '\\'; tmp[t++] = 'u'; tmp[t++] = '{';
			for (int sh = cp > 0xfff ? 12 : cp > 0xff ? 8 : 4; sh >= 0; sh -= 4)
				tmp[t++] = vctx__hexdig[(cp >> sh) & 15];
			tmp[t++] = '}';
		} else {
			l = 1;		/* invalid: escape one byte, resync */
			for (size_t k = 0; k < l; k++) {
				tmp[t++] = '\\'; tmp[t++] = 'x';
				tmp[t++] = vctx__hexdig[s[i + k] >> 4];
				tmp[t++] = vctx__hexdig[s[i + k] & 15];
			}
		}
		if (o + t >= outlen)
			break;
		memcpy(out + o, tmp, t);
		o += t;
		i += l;
	}
	out[o] = 0;
	return o;
}

#endif
