// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Capabilities: the name table, the server allowlist of CONTRACT.md, and
 * lowering the capability ceiling (bounding set) of the calling process.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "vctx.h"
#include "util.h"

/* the tables: kernel/tables/vctx-tables.json, through vctx-tables.h */
#define NAME_ROW(n, name, why) [n] = name,
static const char *const cap_names[] = { VCTX_CAP_ROWS(NAME_ROW) };
#define WHY_ROW(n, name, why) [n] = why,
static const char *const refusals[] = { VCTX_CAP_ROWS(WHY_ROW) };
#define NCAPNAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))
_Static_assert(NCAPNAMES == VCTX_CAPS_KNOWN, "one row per capability");

#define B(c) (1ULL << (c))

VCTX_API int vctx_cap_count(void)
{
	static int count;
	char buf[32];

	if (count)
		return count;
	if (vctx_read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0)
		count = atoi(buf) + 1;
	if (count <= 0 || count > 64)
		count = NCAPNAMES;
	return count;
}

VCTX_API int vctx_cap_from_name(const char *name)
{
	const char *n = name;

	if (!n || !*n)
		return -1;
	if (strncasecmp(n, "CAP_", 4) == 0)
		n += 4;
	for (int i = 0; i < NCAPNAMES; i++)
		if (strcasecmp(cap_names[i] + 4, n) == 0)
			return i;
	/* a bare number is accepted too */
	if (isdigit((unsigned char)*n)) {
		char *end;
		long v = strtol(n, &end, 10);
		if (!*end && v >= 0 && v < 64)
			return (int)v;
	}
	return -1;
}

VCTX_API const char *vctx_cap_name(int cap)
{
	if (cap < 0 || cap >= NCAPNAMES)
		return NULL;
	return cap_names[cap];
}

VCTX_API uint64_t vctx_caps_server_default(void) { return VCTX_CAPS_DEFAULT_MASK; }
VCTX_API uint64_t vctx_caps_addable(void) { return VCTX_CAPS_ADDABLE_MASK; }

VCTX_API const char *vctx_cap_refusal(int cap)
{
	if (cap >= 0 && cap < NCAPNAMES)
		return refusals[cap];
	if (cap >= NCAPNAMES)
		return "it is newer than this tool, which cannot judge what it grants";
	return NULL;
}

VCTX_API int vctx_caps_check_server(uint64_t keep, vctx_error *err)
{
	for (int c = 0; c < 64; c++) {
		const char *why;
		char other[32];
		if (!(keep & B(c)) || !(why = vctx_cap_refusal(c)))
			continue;
		const char *n = vctx_cap_name(c);
		if (!n) {
			snprintf(other, sizeof(other), "capability %d", c);
			n = other;
		}
		return vctx_set_error(err, EPERM, "%s is refused to servers: %s", n, why);
	}
	return 0;
}

VCTX_API int vctx_cap_arg(const char *arg, uint64_t *add, uint64_t *drop, const char **refused)
{
	int neg = arg[0] == '!';
	int cap = vctx_cap_from_name(arg + neg);

	if (cap < 0 || cap >= vctx_cap_count())
		return -1;
	if (neg) {
		*drop |= B(cap);
		return 0;
	}
	*add |= B(cap);
	/* the first refused one is named, if --secure makes it count */
	if (refused && !*refused && vctx_caps_check_server(B(cap), NULL) < 0)
		*refused = arg;
	return 0;
}

VCTX_API int vctx_caps_of_pid(pid_t pid, struct vctx_capsets *out, vctx_error *err)
{
	char path[64], buf[4096];
	struct { const char *key; uint64_t *dst; } keys[] = {
		{ "CapInh:", &out->inh }, { "CapPrm:", &out->prm }, { "CapEff:", &out->eff },
		{ "CapBnd:", &out->bnd }, { "CapAmb:", &out->amb },
	};

	memset(out, 0, sizeof(*out));
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	if (vctx_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return vctx_set_error(err, errno, "cannot read %s: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *p = strstr(buf, keys[i].key);
		if (p)
			*keys[i].dst = strtoull(p + strlen(keys[i].key), NULL, 16);
	}
	return 0;
}

static int capget_self(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	return (int)syscall(SYS_capget, &hdr, data);
}

static int capset_self(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	return (int)syscall(SYS_capset, &hdr, data);
}

VCTX_API int vctx_caps_reduce(uint64_t keep, vctx_error *err)
{
	struct __user_cap_data_struct data[2];
	int n = vctx_cap_count();

	for (int c = 0; c < n; c++) {
		if (keep & B(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return vctx_set_error(err, errno, "cannot drop %s from the bounding set: %s",
					      vctx_cap_name(c) ? vctx_cap_name(c) : "capability", strerror(errno));
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return vctx_set_error(err, errno, "cannot clear ambient capabilities: %s", strerror(errno));
	if (capget_self(data) < 0)
		return vctx_set_error(err, errno, "capget: %s", strerror(errno));
	data[0].inheritable = data[1].inheritable = 0;
	data[0].permitted &= (uint32_t)keep;
	data[1].permitted &= (uint32_t)(keep >> 32);
	data[0].effective &= (uint32_t)keep;
	data[1].effective &= (uint32_t)(keep >> 32);
	if (capset_self(data) < 0)
		return vctx_set_error(err, errno, "capset: %s", strerror(errno));
	return 0;
}

/* ------------------------------------------------------------ flags */

#define FLAG_ROW(bit, name) { name, bit },
static const struct { const char *name; unsigned flag; } flag_names[] = { VCTX_FLAG_ROWS(FLAG_ROW) };

VCTX_API unsigned vctx_flag_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (strcmp(name, flag_names[i].name) == 0)
			return flag_names[i].flag;
	return 0;
}

VCTX_API void vctx_flags_format(unsigned flags, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (!(flags & flag_names[i].flag))
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? " " : "", flag_names[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

unsigned vctx_flags_parse(const char *s)
{
	unsigned flags = 0;

	/* in place: the snapshot parses every context's flags */
	while (s && *s) {
		s += strspn(s, " ,\t\n");
		size_t l = strcspn(s, " ,\t\n");
		for (size_t i = 0; l && i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
			if (!strncmp(s, flag_names[i].name, l) && !flag_names[i].name[l])
				flags |= flag_names[i].flag;
		s += l;
	}
	return flags;
}
