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

static const char *const cap_names[] = {
	[0] = "CAP_CHOWN", [1] = "CAP_DAC_OVERRIDE", [2] = "CAP_DAC_READ_SEARCH",
	[3] = "CAP_FOWNER", [4] = "CAP_FSETID", [5] = "CAP_KILL", [6] = "CAP_SETGID",
	[7] = "CAP_SETUID", [8] = "CAP_SETPCAP", [9] = "CAP_LINUX_IMMUTABLE",
	[10] = "CAP_NET_BIND_SERVICE", [11] = "CAP_NET_BROADCAST", [12] = "CAP_NET_ADMIN",
	[13] = "CAP_NET_RAW", [14] = "CAP_IPC_LOCK", [15] = "CAP_IPC_OWNER",
	[16] = "CAP_SYS_MODULE", [17] = "CAP_SYS_RAWIO", [18] = "CAP_SYS_CHROOT",
	[19] = "CAP_SYS_PTRACE", [20] = "CAP_SYS_PACCT", [21] = "CAP_SYS_ADMIN",
	[22] = "CAP_SYS_BOOT", [23] = "CAP_SYS_NICE", [24] = "CAP_SYS_RESOURCE",
	[25] = "CAP_SYS_TIME", [26] = "CAP_SYS_TTY_CONFIG", [27] = "CAP_MKNOD",
	[28] = "CAP_LEASE", [29] = "CAP_AUDIT_WRITE", [30] = "CAP_AUDIT_CONTROL",
	[31] = "CAP_SETFCAP", [32] = "CAP_MAC_OVERRIDE", [33] = "CAP_MAC_ADMIN",
	[34] = "CAP_SYSLOG", [35] = "CAP_WAKE_ALARM", [36] = "CAP_BLOCK_SUSPEND",
	[37] = "CAP_AUDIT_READ", [38] = "CAP_PERFMON", [39] = "CAP_BPF",
	[40] = "CAP_CHECKPOINT_RESTORE",
};
#define NCAPNAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

#define B(c) (1ULL << (c))

static const uint64_t server_default =
	B(CAP_CHOWN) | B(CAP_DAC_OVERRIDE) | B(CAP_FOWNER) | B(CAP_FSETID) |
	B(CAP_KILL) | B(CAP_SETGID) | B(CAP_SETUID) | B(CAP_SETPCAP) |
	B(CAP_NET_BIND_SERVICE) | B(CAP_SYS_CHROOT) | B(CAP_AUDIT_WRITE);

static const uint64_t addable =
	B(CAP_IPC_LOCK) | B(CAP_IPC_OWNER) | B(CAP_LEASE) | B(CAP_MKNOD) |
	B(CAP_SYS_TTY_CONFIG) | B(CAP_NET_BROADCAST) | B(CAP_LINUX_IMMUTABLE) |
	B(CAP_SYS_RESOURCE);

static const struct { int cap; const char *why; } refusals[] = {
	{ CAP_SYS_ADMIN, "it reaches the shared kernel (mounts, namespaces, quotas, many ioctls)" },
	{ CAP_NET_ADMIN, "network configuration is the host's job on a shared stack (set IPROOTDEV for the alias)" },
	{ CAP_NET_RAW, "raw sockets bypass the IPv4 lock; ping works through ICMP datagram sockets where the host's net.ipv4.ping_group_range allows them" },
	{ CAP_SYS_MODULE, "kernel modules are shared by every server" },
	{ CAP_SYS_RAWIO, "raw I/O reaches host devices and memory" },
	{ CAP_SYS_PTRACE, "tracing could reach processes outside the server" },
	{ CAP_SYS_BOOT, "it reboots the host; use vreboot/vhalt inside a server" },
	{ CAP_SYS_TIME, "the clock is shared by every server" },
	{ CAP_SYS_NICE, "it would lift the S_NICE floor and real-time limits" },
	{ CAP_DAC_READ_SEARCH, "open_by_handle_at escapes the root directory" },
	{ CAP_SETFCAP, "file capabilities would outlive the ceiling on shared files" },
	{ CAP_BPF, "eBPF could undo the IPv4 lock" },
	{ CAP_PERFMON, "performance monitoring observes the whole host" },
	{ CAP_SYSLOG, "the kernel log is the host's" },
	{ CAP_MAC_ADMIN, "security policy is the host's" },
	{ CAP_MAC_OVERRIDE, "security policy is the host's" },
	{ CAP_AUDIT_CONTROL, "the audit system is the host's" },
	{ CAP_AUDIT_READ, "the audit log is the host's" },
	{ CAP_WAKE_ALARM, "alarms wake the whole host" },
	{ CAP_BLOCK_SUSPEND, "it blocks the host's suspend" },
	{ CAP_CHECKPOINT_RESTORE, "it sets PIDs and reads other processes' state" },
	{ CAP_SYS_PACCT, "process accounting is the host's" },
};

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

VCTX_API uint64_t vctx_caps_server_default(void) { return server_default; }
VCTX_API uint64_t vctx_caps_addable(void) { return addable; }

VCTX_API const char *vctx_cap_refusal(int cap)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (refusals[i].cap == cap)
			return refusals[i].why;
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

static const struct { const char *name; unsigned flag; } flag_names[] = {
	{ "lock", VCTX_F_LOCK }, { "sched", VCTX_F_SCHED }, { "nproc", VCTX_F_NPROC },
	{ "private", VCTX_F_PRIVATE }, { "fakeinit", VCTX_F_FAKEINIT },
};

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
	char tmp[256], *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", s ? s : "");
	for (char *t = strtok_r(tmp, " ,\t\n", &save); t; t = strtok_r(NULL, " ,\t\n", &save))
		flags |= vctx_flag_from_name(t);
	return flags;
}
