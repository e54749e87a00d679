// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * devices: the device allowlist of a server, as a BPF_PROG_TYPE_CGROUP_DEVICE
 * program attached (BPF_F_ALLOW_MULTI) to the context's cgroup2 directory
 * before its first process runs.  It decides every open(2) and mknod(2) of
 * a device node by a process of the context (or of a cgroup below it).
 *
 * Allowed: the character devices of the private /dev (kernel/lib/mounts.c)
 *   1:3 null  1:5 zero  1:7 full  1:8 random  1:9 urandom  5:0 tty
 *   5:2 ptmx (the devpts instance's pts/ptmx)  136-143:* the pts slaves
 * Everything else, every block device included, is refused with EPERM,
 * whatever node names it and wherever that node is.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define UNIX98_PTY_SLAVE_MAJOR	136
#define UNIX98_PTY_MAJOR_COUNT	8

SEC("cgroup/dev")
int vctx_devices(struct bpf_cgroup_dev_ctx *ctx)
{
	__u32 type = ctx->access_type & 0xffff;
	__u32 major = ctx->major, minor = ctx->minor;

	if (type != BPF_DEVCG_DEV_CHAR)
		return 0;
	if (major == 1)
		return minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9;
	if (major == 5)
		return minor == 0 || minor == 2;
	return major >= UNIX98_PTY_SLAVE_MAJOR && major < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT;
}

char LICENSE[] SEC("license") = "GPL";
