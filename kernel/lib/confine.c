// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Confinement that needs no capability to keep: Landlock scoping (signals
 * and abstract unix sockets stay inside the context) and seccomp filters
 * (no user namespaces: they would reset the capability ceiling; with the
 * `lock` flag no namespaces at all).  Both are installed while the setup
 * process still holds CAP_SYS_ADMIN, so no NO_NEW_PRIVS is needed and
 * setuid programs inside keep working.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/netlink.h>
#include <linux/fs.h>
#include <seccomp.h>
#include "internal.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/**
 * vctx_landlock_scope - put the calling thread in a new Landlock domain
 * scoped for signals and abstract unix sockets (ABI 6, Linux 6.12).
 */
int vctx_landlock_scope(vctx_error *err)
{
	struct ll_ruleset_attr attr = {
		.scoped = LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX_SOCKET,
	};
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	int fd;

	if (abi < 0)
		return vctx_set_error(err, errno == ENOSYS || errno == EOPNOTSUPP ? ENOSYS : errno,
				      "Landlock is not available (%s): signal scoping needs Linux 6.12 with Landlock enabled",
				      strerror(errno));
	if (abi < 6)
		return vctx_set_error(err, ENOSYS, "Landlock ABI %ld lacks signal scoping: it needs ABI 6 (Linux 6.12)", abi);
	fd = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return vctx_set_error(err, errno, "cannot create the Landlock ruleset: %s", strerror(errno));
	if (syscall(__NR_landlock_restrict_self, fd, 0) < 0) {
		int e = errno;
		close(fd);
		return vctx_set_error(err, e, "cannot enter the Landlock domain: %s", strerror(e));
	}
	close(fd);
	return 0;
}

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
		  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | 0x80 /* CLONE_NEWTIME */)

static int rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned cnt,
		struct scmp_arg_cmp a, vctx_error *err)
{
	int rc = cnt ? seccomp_rule_add(ctx, action, nr, cnt, a) : seccomp_rule_add(ctx, action, nr, 0);
	if (rc < 0)
		return vctx_set_error(err, -rc, "cannot add a seccomp rule: %s", strerror(-rc));
	return 0;
}

/* a rule on one argument compared with two values (both must hold) */
static int rule2(scmp_filter_ctx ctx, uint32_t action, int nr, struct scmp_arg_cmp a,
		 struct scmp_arg_cmp b, vctx_error *err)
{
	int rc = seccomp_rule_add(ctx, action, nr, 2, a, b);
	if (rc < 0)
		return vctx_set_error(err, -rc, "cannot add a seccomp rule: %s", strerror(-rc));
	return 0;
}

/*
 * Socket families by allowlist: socket() and socketpair() make only
 * AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK sockets, and netlink only for
 * NETLINK_ROUTE (ip, ifupdown, getifaddrs) and NETLINK_KOBJECT_UEVENT
 * (elogind, Debian's logind, will not start without one; PAM's sessions
 * then wait on it).  Every other family (AF_PACKET,
 * AF_VSOCK and the hypervisor transports, AF_KEY, AF_ALG, AF_BLUETOOTH,
 * AF_XDP, AF_RDS, AF_TIPC, AF_NFC, and families newer than this code) fails
 * with EAFNOSUPPORT, as on a kernel built without it.  The comparisons take
 * all 64 bits of the argument: a family above AF_NETLINK is refused
 * whatever its upper bits, so no bits above the int the kernel reads get a
 * refused family through; the type (SOCK_* flags) is never looked at.
 * Other netlink protocols fail with EPROTONOSUPPORT (what PAM's libaudit
 * takes for "no audit in this kernel"), NETLINK_SOCK_DIAG with EPERM
 * (sockets of the whole host; ss and netstat fall back to /proc/net).
 */
static int socket_allowlist(scmp_filter_ctx ctx, vctx_error *err)
{
	const uint32_t noaf = SCMP_ACT_ERRNO(EAFNOSUPPORT), noproto = SCMP_ACT_ERRNO(EPROTONOSUPPORT);
	const int nrs[] = { SCMP_SYS(socket), SCMP_SYS(socketpair) };

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		int nr = nrs[i];
		/* every family number but the four up to AF_NETLINK (16) ... */
		for (uint64_t af = 0; af < AF_NETLINK; af++)
			if (af != AF_UNIX && af != AF_INET && af != AF_INET6 &&
			    rule(ctx, noaf, nr, 1, SCMP_A0(SCMP_CMP_EQ, af), err))
				return -1;
		/* ... and everything above it, upper 32 bits included */
		if (rule(ctx, noaf, nr, 1, SCMP_A0(SCMP_CMP_GT, AF_NETLINK), err))
			return -1;
		/* netlink: routing and uevents only (the kernel has 32 protocols) */
		if (rule2(ctx, SCMP_ACT_ERRNO(EPERM), nr, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
			  SCMP_A2(SCMP_CMP_EQ, NETLINK_SOCK_DIAG), err) ||
		    rule2(ctx, noproto, nr, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_GT, 31), err))
			return -1;
		for (uint64_t p = NETLINK_ROUTE + 1; p <= 31; p++)
			if (p != NETLINK_SOCK_DIAG && p != NETLINK_KOBJECT_UEVENT &&
			    rule2(ctx, noproto, nr, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_EQ, p), err))
				return -1;
	}
	return 0;
}

/*
 * io_uring is closed: its rings create sockets (IORING_OP_SOCKET), open
 * files and do I/O without a system call the filter above could look at.
 * ENOSYS, as on a kernel built without it: liburing users (libuv, QEMU)
 * fall back to plain system calls.  kernel.io_uring_disabled would close
 * it for the host's own programs too.
 */
static int io_uring_closed(scmp_filter_ctx ctx, vctx_error *err)
{
	const int nrs[] = { SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register) };

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		if (rule(ctx, SCMP_ACT_ERRNO(ENOSYS), nrs[i], 0, SCMP_A0(SCMP_CMP_NE, 0), err))
			return -1;
	return 0;
}

/**
 * vctx_seccomp_install - the context's seccomp filter: refuse user
 * namespaces (and, with VCTX_F_LOCK, every new namespace and setns) and
 * kexec_load/kexec_file_load (EPERM: CAP_SYS_BOOT, which servers keep for
 * reboot(2), must not load a kernel); with @secure also the kernel
 * keyring, which is not namespaced, socket families outside the allowlist
 * (socket_allowlist), io_uring, and fanotify_init (its groups count against
 * a per-uid limit shared with the host's root: docs/security.md).
 */
int vctx_seccomp_install(unsigned flags, int secure, vctx_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint64_t mask = (flags & VCTX_F_LOCK) ? NS_FLAGS : CLONE_NEWUSER;
	uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	int rc = -1;

	if (!ctx)
		return vctx_set_error(err, ENOMEM, "cannot create the seccomp filter");
	/* no NO_NEW_PRIVS: setuid programs (su) must keep working; we hold
	   CAP_SYS_ADMIN, which is what the kernel asks for instead */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) {
		seccomp_release(ctx);
		return vctx_set_error(err, EINVAL, "cannot configure the seccomp filter");
	}
	/* clone3 passes flags in memory the filter cannot read: ENOSYS makes
	   libc fall back to clone(), whose flags are checked */
	if (rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, SCMP_A0(SCMP_CMP_NE, 0), err))
		goto out;
	for (int bit = 0; bit < 32; bit++) {
		uint64_t f = 1ULL << bit;
		if (!(mask & f))
			continue;
		/* CLONE_NEWTIME (0x80) overlaps the exit-signal byte of clone(): check it on unshare only */
		if (f != 0x80 && rule(ctx, eperm, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, f, f), err))
			goto out;
		if (rule(ctx, eperm, SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, f, f), err))
			goto out;
	}
	if ((flags & VCTX_F_LOCK) && rule(ctx, eperm, SCMP_SYS(setns), 0, SCMP_A0(SCMP_CMP_NE, 0), err))
		goto out;
	/* kexec: servers hold CAP_SYS_BOOT for reboot(2), which the kernel
	   confines to their PID namespace; loading a kernel is the host's */
	if (rule(ctx, eperm, SCMP_SYS(kexec_load), 0, SCMP_A0(SCMP_CMP_NE, 0), err) ||
	    (SCMP_SYS(kexec_file_load) >= 0 &&
	     rule(ctx, eperm, SCMP_SYS(kexec_file_load), 0, SCMP_A0(SCMP_CMP_NE, 0), err)))
		goto out;
	if (secure && !vctx_weakened("sockets") && socket_allowlist(ctx, err) < 0)
		goto out;
	if (secure && !vctx_weakened("io_uring") && io_uring_closed(ctx, err) < 0)
		goto out;
	if (secure && !vctx_weakened("counters") &&
	    rule(ctx, eperm, SCMP_SYS(fanotify_init), 0, SCMP_A0(SCMP_CMP_NE, 0), err))
		goto out;
	/* DISK_MAX (quota.c): a file's project id is its owner's to change
	   (FS_IOC_FSSETXATTR, or file_setattr(2) since Linux 6.17) for a
	   process in the host's user namespace, which servers share; either
	   would move the server's files out of its quota.  The ioctl is
	   refused, the syscall answers ENOSYS (tools fall back to the ioctl) */
	if (!vctx_weakened("projid")) {
		if (seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint32_t)FS_IOC_FSSETXATTR)) < 0) {
			vctx_set_error(err, EINVAL, "cannot add the seccomp rule for FS_IOC_FSSETXATTR");
			goto out;
		}
#if defined(__x86_64__) || defined(__aarch64__)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), 469 /* file_setattr */, 0) < 0) {
			vctx_set_error(err, EINVAL, "cannot add the seccomp rule for file_setattr");
			goto out;
		}
#endif
	}
	if (secure) {
		int nrs[] = { SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key) };
		for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
			if (rule(ctx, SCMP_ACT_ERRNO(ENOSYS), nrs[i], 0, SCMP_A0(SCMP_CMP_NE, 0), err))
				goto out;
	}
	rc = seccomp_load(ctx);
	if (rc < 0) {
		vctx_set_error(err, -rc, "cannot load the seccomp filter: %s", strerror(-rc));
		rc = -1;
	}
out:
	seccomp_release(ctx);
	return rc;
}

/**
 * vctx_seccomp_spectator - forbid signalling or tracing any other process
 * (context 1).  @tsync applies the filter to every thread of the caller.
 */
int vctx_seccomp_spectator(int tsync, vctx_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	pid_t self = getpid();
	int rc = -1;

	if (!ctx)
		return vctx_set_error(err, ENOMEM, "cannot create the seccomp filter");
	if (tsync && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0)
		goto fail;
	/* keep NO_NEW_PRIVS off when we can (root); others need it to load a filter */
	if (geteuid() == 0 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0)
		goto fail;
	/* kill() and tgkill() only to ourselves */
	if (rule(ctx, eperm, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_NE, (uint64_t)self), err) ||
	    rule(ctx, eperm, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_NE, (uint64_t)self), err) ||
	    rule(ctx, eperm, SCMP_SYS(rt_sigqueueinfo), 1, SCMP_A0(SCMP_CMP_NE, (uint64_t)self), err) ||
	    rule(ctx, eperm, SCMP_SYS(rt_tgsigqueueinfo), 1, SCMP_A0(SCMP_CMP_NE, (uint64_t)self), err))
		goto out;
	int deny[] = { SCMP_SYS(tkill), SCMP_SYS(pidfd_send_signal), SCMP_SYS(ptrace),
		       SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(pidfd_getfd),
		       SCMP_SYS(process_madvise), SCMP_SYS(kcmp) };
	for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		if (rule(ctx, eperm, deny[i], 0, SCMP_A0(SCMP_CMP_NE, 0), err))
			goto out;
	rc = seccomp_load(ctx);
	if (rc < 0) {
		vctx_set_error(err, -rc, "cannot load the spectator's seccomp filter: %s", strerror(-rc));
		rc = -1;
	}
	goto out;
fail:
	vctx_set_error(err, EINVAL, "cannot set up the spectator's seccomp filter");
out:
	seccomp_release(ctx);
	return rc;
}
