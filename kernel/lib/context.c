// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * new_s_context on a stock kernel: a context is new PID, IPC, UTS, mount,
 * cgroup and time namespaces, its own cgroup named by XID (with limits and
 * the eBPF IPv4 lock attached before its first process runs), its own
 * /proc and /dev, a root it cannot leave, a capability ceiling, rlimits,
 * seccomp and Landlock confinement.  The creating process is the monitor.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct setup_report {
	int err;
	enum vctx_err_kind kind;
	char msg[sizeof(((vctx_error *)0)->msg)];
};

VCTX_API void vctx_spec_init(struct vctx_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->keep_caps = 1;
}

static void report(int fd, const vctx_error *e)
{
	struct setup_report r = { .err = e->err ? e->err : EIO, .kind = e->kind };
	snprintf(r.msg, sizeof(r.msg), "%s", e->msg);
	if (write(fd, &r, sizeof(r)) < 0) {
		/* nobody to tell */
	}
}

static void __attribute__((noreturn)) die_report(int fd, const vctx_error *e)
{
	report(fd, e);
	_exit(127);
}

/* close every descriptor from 3 up except those in keep[] */
static void close_except(const int *keep, int nkeep)
{
	int lo = 3;
	int sorted[8], n = 0;
	for (int i = 0; i < nkeep && n < 8; i++)
		if (keep[i] >= 3)
			sorted[n++] = keep[i];
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (sorted[j] < sorted[i]) {
				int t = sorted[i];
				sorted[i] = sorted[j];
				sorted[j] = t;
			}
	for (int i = 0; i < n; i++) {
		if (sorted[i] > lo)
			syscall(SYS_close_range, lo, sorted[i] - 1, 0);
		lo = sorted[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

static void __attribute__((noreturn)) exec_cmd(int repfd, char *const argv[], char *const envp[])
{
	vctx_error e = { 0 };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(argv[0], argv, envp ? envp : environ);
	vctx_set_error_kind(&e, VCTX_ERR_EXEC, errno, "cannot execute %s: %s", argv[0], strerror(errno));
	die_report(repfd, &e);
}

/*
 * The context's first process, PID 1 of the new PID namespace.  Sets the
 * context up, then becomes the reaper (CMD is its child) or, with
 * fakeinit, execs CMD as PID 1 beside a forked guard.
 */
static void __attribute__((noreturn))
context_child(const struct vctx_spec *spec, uint32_t xid, char *const argv[], char *const envp[],
	      int gofd, int repfd, int lfd, int monfd, const struct vctx_views_prep *views)
{
	vctx_error e = { 0 };
	char go;
	int console = -1, keep = -1;
	struct stat cst;

	/* wait until the monitor has put us in every cgroup */
	if (read(gofd, &go, 1) != 1)
		_exit(127);
	prctl(PR_SET_PDEATHSIG, 0);
	/* PID 1 and the guard run the host's binary and hold what entering
	   host tools pass in (their stdio): not dumpable, so the server's root
	   (no CAP_SYS_PTRACE) cannot open their /proc/PID/exe, fd/, mem or
	   ptrace them (runc CVE-2019-5736).  execve makes CMD dumpable again. */
	if (!vctx_weakened("dumpable"))
		prctl(PR_SET_DUMPABLE, 0);
	if (unshare(CLONE_NEWCGROUP) < 0) {
		vctx_set_error(&e, errno, "cannot create the cgroup namespace: %s", strerror(errno));
		die_report(repfd, &e);
	}
	if (spec->console && stat(spec->console, &cst) == 0 && S_ISFIFO(cst.st_mode)) {
		/*
		 * A pipe the monitor reads (chcontext --console): its end here
		 * never waits - the init's stdout and stderr are non-blocking
		 * (a full pipe drops output, EAGAIN) - and the context's PID 1
		 * keeps a read end it drains once the monitor is gone, so that
		 * neither these nor /dev/console's writers block or get EPIPE
		 * when nobody reads on the host any more.
		 */
		if (!vctx_weakened("console"))
			keep = open(spec->console, O_RDWR | O_NONBLOCK | O_CLOEXEC);	/* a writer too: never POLLHUP */
		console = open(spec->console, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (console < 0) {
			vctx_set_error(&e, errno, "cannot open the console pipe %s: %s", spec->console, strerror(errno));
			die_report(repfd, &e);
		}
	} else if (spec->console) {
		console = open(spec->console, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (console < 0) {
			vctx_set_error(&e, errno, "cannot open the console log %s: %s", spec->console, strerror(errno));
			die_report(repfd, &e);
		}
	}
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
		vctx_set_error(&e, errno, "cannot set hostname %s: %s", spec->hostname, strerror(errno));
		die_report(repfd, &e);
	}
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0) {
		vctx_set_error(&e, errno, "cannot set domainname %s: %s", spec->domainname, strerror(errno));
		die_report(repfd, &e);
	}
	if (vctx_setup_mounts(spec, xid, views, &e) < 0)
		die_report(repfd, &e);
	if (spec->workdir && chdir(spec->workdir) < 0) {
		vctx_set_error(&e, errno, "cannot change to %s: %s", spec->workdir, strerror(errno));
		die_report(repfd, &e);
	}
	if (vctx_apply_rlimits(spec, &e) < 0)
		die_report(repfd, &e);
	/* while CAP_SYS_ADMIN is still ours: Landlock, then seccomp */
	if (spec->secure && !vctx_weakened("landlock") && vctx_landlock_scope(&e) < 0)
		die_report(repfd, &e);
	if ((spec->secure || (spec->flags & VCTX_F_LOCK)) && !vctx_weakened("seccomp") &&
	    vctx_seccomp_install(spec->flags, spec->secure, &e) < 0)
		die_report(repfd, &e);
	if (!spec->keep_caps && !vctx_weakened("caps") && vctx_caps_reduce(spec->caps, &e) < 0)
		die_report(repfd, &e);
	if (console >= 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(console, 1);
		dup2(console, 2);
	}
	/* nothing of the host's leaks in: only 0-2, the pipes, the guard and
	   the console's keeper (with the monitor's pidfd) (runc CVE-2024-21626) */
	if (keep >= 0 && monfd >= 0)
		vctx_console_keeper(keep, monfd);
	else {
		if (keep >= 0)
			close(keep);
		keep = monfd = -1;
	}
	if (!vctx_weakened("closefds")) {
		int fds[5] = { repfd, lfd, gofd, keep, monfd };
		close_except(fds, 5);
	}
	/* the second go: the monitor has attached the IPv4 lock and recorded
	   the context, so the command never runs without them */
	if (read(gofd, &go, 1) != 1)
		_exit(127);
	close(gofd);

	if (spec->flags & VCTX_F_FAKEINIT) {
		pid_t g = fork();
		if (g < 0) {
			vctx_set_error(&e, errno, "cannot fork the guard: %s", strerror(errno));
			die_report(repfd, &e);
		}
		if (g == 0) {
			close(repfd);
			prctl(PR_SET_NAME, "vctx-guard");
			vctx_guard_loop(lfd);
		}
		close(lfd);
		exec_cmd(repfd, argv, envp);
	}
	/* block signals before CMD exists: a CMD that exits at once must not
	   leave its SIGCHLD to the default (discarded) disposition */
	{
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
	}
	pid_t cmd = fork();
	if (cmd < 0) {
		vctx_set_error(&e, errno, "cannot fork the command: %s", strerror(errno));
		die_report(repfd, &e);
	}
	if (cmd == 0) {
		close(lfd);
		exec_cmd(repfd, argv, envp);
	}
	close(repfd);
	prctl(PR_SET_NAME, "vctx-init");
	vctx_reaper_loop(lfd, cmd, spec->persist);
}

static int set_time_offsets(vctx_error *err)
{
	struct timespec mono, boot;
	char buf[128];

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	/* the context's clocks start at (about) zero: uptime counts from its start */
	snprintf(buf, sizeof(buf), "monotonic %ld 0\nboottime %ld 0\n", -(long)mono.tv_sec, -(long)boot.tv_sec);
	if (vctx_write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf) < 0)
		return vctx_set_error(err, errno, "cannot set the time namespace offsets: %s", strerror(errno));
	return 0;
}

static int validate(const struct vctx_spec *spec, vctx_error *err)
{
	struct stat st;
	uint32_t me = 0;

	if (geteuid() != 0)
		return vctx_set_error(err, EPERM, "creating a context needs root");
	/* inside a context: what the host says about it (VCTX_FLAGS_FILE) */
	if (vctx_xid_of_pid(0, &me, NULL) == 0 && me > VCTX_XID_SPECTATOR) {
		char flags[160] = "";
		if (vctx_read_file_at(AT_FDCWD, VCTX_FLAGS_FILE, flags, sizeof(flags)) > 0 &&
		    (vctx_flags_parse(flags) & VCTX_F_LOCK))
			return vctx_set_error(err, EPERM, "context %u is locked (flag lock): no new context "
					      "or namespace can be made inside it", me);
		if (spec->xid)
			return vctx_set_error(err, EPERM, "context number %u can only be chosen on the host "
					      "(context 0); this process is in context %u", spec->xid, me);
	}
	if (spec->xid == VCTX_XID_HOST || spec->xid == VCTX_XID_SPECTATOR) {
		if (spec->xid == VCTX_XID_SPECTATOR)
			return vctx_set_error(err, EINVAL, "context 1 is the spectator: join it, it cannot be created");
	} else if (spec->xid > VCTX_XID_DYN_MAX)
		return vctx_set_error(err, ERANGE, "context number %u out of range (2..%u)", spec->xid, VCTX_XID_DYN_MAX);
	if (spec->root) {
		size_t n = strlen(spec->root);
		if (n > VCTX_ROOT_MAX)
			return vctx_set_error(err, ENAMETOOLONG, "root directory %.40s... is %zu bytes long; "
					      "a server's root path may have at most %d", spec->root, n, VCTX_ROOT_MAX);
		if (lstat(spec->root, &st) < 0)
			return vctx_set_error(err, errno, "root directory %s: %s", spec->root, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return vctx_set_error(err, ENOTDIR, "root directory %s is not a directory", spec->root);
		if (spec->root[0] != '/')
			return vctx_set_error(err, EINVAL, "root directory %s must be an absolute path", spec->root);
	}
	if (spec->hostname && strlen(spec->hostname) > 64)
		return vctx_set_error(err, EINVAL, "hostname %s is longer than 64 characters", spec->hostname);
	if (spec->has_nice && (spec->nice < -20 || spec->nice > 19))
		return vctx_set_error(err, ERANGE, "nice %d out of range (-20..19)", spec->nice);
	/* CMD inherits our stdin (and stdout/stderr without a console log) */
	{
		int fds[3] = { 0, spec->console ? -1 : 1, spec->console ? -1 : 2 };
		if (vctx_check_stdio(fds, err) < 0)
			return -1;
	}
	return 0;
}

static int zero16(const uint8_t *a)
{
	static const uint8_t z[16];

	return memcmp(a, z, 16) == 0;
}

/* the network lock of @spec (the private IPv6 loopback derived from the
   IPv4 one when not given) */
static void spec_netlock(const struct vctx_spec *spec, struct vctx_netlock *nl)
{
	memset(nl, 0, sizeof(*nl));
	nl->ip = spec->ipv4;
	nl->loopback = spec->loopback;
	memcpy(nl->ip6, spec->ipv6, 16);
	memcpy(nl->loopback6, spec->loopback6, 16);
	if (zero16(nl->loopback6) && nl->loopback)
		vctx_loopback6_for(nl->loopback, nl->loopback6);
	nl->nat = spec->nat;
}

static int record_metadata(const struct vctx_spec *spec, struct vctx_cg *cg, vctx_error *err)
{
	char v[64], flags[128];
	struct in_addr a;
	struct vctx_netlock nl;

	vctx_flags_format(spec->flags, flags, sizeof(flags));
	if (spec->name && vctx_cg_setattr(cg->v2fd, VCTX_XATTR_NAME, spec->name, err))
		return -1;
	if (vctx_cg_setattr(cg->v2fd, VCTX_XATTR_FLAGS, flags, err))
		return -1;
	if (spec->root && vctx_cg_setattr(cg->v2fd, VCTX_XATTR_ROOT, spec->root, err))
		return -1;
	if (spec->ipv4) {
		a.s_addr = spec->ipv4;
		if (vctx_cg_setattr(cg->v2fd, VCTX_XATTR_IP, inet_ntop(AF_INET, &a, v, sizeof(v)), err))
			return -1;
	}
	if (spec->loopback) {
		a.s_addr = spec->loopback;
		if (vctx_cg_setattr(cg->v2fd, VCTX_XATTR_LOOPBACK, inet_ntop(AF_INET, &a, v, sizeof(v)), err))
			return -1;
	}
	if (spec->ipv4 && !zero16(spec->ipv6) &&
	    vctx_cg_setattr(cg->v2fd, VCTX_XATTR_IP6, inet_ntop(AF_INET6, spec->ipv6, v, sizeof(v)), err))
		return -1;
	spec_netlock(spec, &nl);
	if (spec->ipv4 && !zero16(nl.loopback6) &&
	    vctx_cg_setattr(cg->v2fd, VCTX_XATTR_LOOPBACK6, inet_ntop(AF_INET6, nl.loopback6, v, sizeof(v)), err))
		return -1;
	if (spec->ipv4 && spec->nat && vctx_cg_setattr(cg->v2fd, VCTX_XATTR_NAT, "1", err))
		return -1;
	snprintf(v, sizeof(v), "%lld", (long long)time(NULL));
	/* the monitor was recorded with the cgroup (vctx_cg_create) */
	return vctx_cg_setattr(cg->v2fd, VCTX_XATTR_CREATED, v, err);
}

/**
 * vctx_create - start CMD in a new security context (see vctx.h).
 */
/*
 * The nproc flag: the context's process limit (pids.max) is the hard
 * RLIMIT_NPROC its processes would get - the spec's rlimit, else the
 * caller's own - instead of a per-user limit (which would count every
 * process of the user on the host).  An explicit pids_max wins.  Unlimited
 * (or beyond the kernel's PID limit) leaves pids.max at "max".
 */
static void nproc_to_pids(struct vctx_spec *s)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (!(s->flags & VCTX_F_NPROC))
		return;
	getrlimit(RLIMIT_NPROC, &rl);
	for (int i = 0; i < s->n_rlimits; i++) {
		struct vctx_rlimit *r = &s->rlimits[i];
		if (r->resource != RLIMIT_NPROC)
			continue;
		if (r->set_hard)
			rl.rlim_max = r->hard;
		else if (r->set_soft)
			rl.rlim_max = r->soft;
		/* consumed: it becomes the context's limit, not a per-user one */
		memmove(r, r + 1, (size_t)(s->n_rlimits - i - 1) * sizeof(*r));
		s->n_rlimits--;
		i--;
	}
	if (!s->pids_max && rl.rlim_max != RLIM_INFINITY && rl.rlim_max > 0 && rl.rlim_max <= 4194304)
		s->pids_max = (int64_t)rl.rlim_max;
}

VCTX_API int vctx_create(const struct vctx_spec *spec_in, char *const argv[], char *const envp[],
			 struct vctx_handle *out, vctx_error *err)
{
	struct vctx_spec local = *spec_in;
	const struct vctx_spec *spec = &local;
	struct vctx_cg cg = { .v2fd = -1 };
	int go[2] = { -1, -1 }, rep[2] = { -1, -1 }, lfd = -1, timefd = -1, pidfd = -1, monfd = -1;
	char guard[108] = "", v[64];
	pid_t pid = -1;
	struct setup_report r;
	struct vctx_views_prep views;
	int have_views = 0;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->pidfd = -1;
	if (!argv || !argv[0])
		return vctx_set_error(err, EINVAL, "no command given");
	if (validate(spec, err) < 0)
		return -1;
	nproc_to_pids(&local);
	if (!spec->secure && !spec->root && vctx_host_xid_file(err) < 0)
		return -1;
	/* a server must not fill a per-uid count the host's root needs too */
	if (spec->secure && !vctx_weakened("counters"))
		vctx_counters_raise();
	/* the inside views get ready (the daemons' round trips) while the cgroup is made */
	if (spec->secure) {
		vctx_views_prepare(&views);
		have_views = 1;
	}
	if (vctx_cg_create(spec, &cg, err) < 0) {
		if (have_views)
			vctx_views_close(&views);
		return -1;
	}
	/* a private /dev: its device allowlist holds before the first process
	   runs (the setup's own mknods included) */
	if ((spec->secure || spec->root) && !vctx_weakened("devices") && vctx_devices_attach(cg.v2fd, err) < 0)
		goto fail;
	lfd = vctx_guard_listen(cg.xid, guard, sizeof(guard), err);
	if (lfd < 0)
		goto fail;
	/* go: a socketpair, so a child that died in its setup gives EPIPE, not SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		vctx_set_error(err, errno, "pipe: %s", strerror(errno));
		goto fail;
	}
	/* a time namespace for our children, with offsets set before anyone is in it */
	timefd = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (timefd < 0 || unshare(CLONE_NEWTIME) < 0) {
		vctx_set_error(err, errno, "cannot create the time namespace: %s (Linux 5.6+)", strerror(errno));
		goto fail;
	}
	if (set_time_offsets(err) < 0)
		goto fail_time;
	/* the context's PID 1 watches us (the monitor) for the console's sake */
	if (spec->console)
		monfd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	struct clone_args ca = {
		.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
			 CLONE_INTO_CGROUP | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cg.v2fd,
	};
	if (have_views)
		vctx_views_ready(&views);	/* no other thread runs at the clone */
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		vctx_set_error(err, errno, "cannot create the context's namespaces: %s", strerror(errno));
		goto fail_time;
	}
	if (pid == 0) {
		close(go[1]);
		close(rep[0]);
		context_child(spec, cg.xid, argv, envp, go[0], rep[1], lfd, monfd, have_views ? &views : NULL);
	}
	/* the child has its own copies of the detached mounts */
	if (have_views) {
		vctx_views_close(&views);
		have_views = 0;
	}
	if (monfd >= 0)
		close(monfd);
	/* back to our own time namespace for anything we fork later */
	setns(timefd, CLONE_NEWTIME);
	close(timefd);
	timefd = -1;
	close(go[0]);
	close(rep[1]);
	go[0] = rep[1] = -1;
	close(lfd);
	lfd = -1;
	/* limits and v1 membership before the child does anything (first go) */
	if (vctx_cg_apply_limits(spec, &cg, err) < 0 || vctx_cg_add_pid_v1(&cg, pid, err) < 0)
		goto fail_child;
	if (send(go[1], "g", 1, MSG_NOSIGNAL) != 1) {
		vctx_set_error(err, errno, "cannot start the context: %s", strerror(errno));
		goto fail_child;
	}
	/* while the child builds its mounts: metadata and the IPv4 lock; the
	   second go lets it run the command */
	if (record_metadata(spec, &cg, err) < 0)
		goto fail_child;
	if (spec->ipv4) {
		struct vctx_netlock nl;
		spec_netlock(spec, &nl);
		nl.xid = cg.xid;	/* its traffic counted from zero */
		nl.new_counter = 1;
		if (vctx_netlock_attach(cg.v2fd, &nl, err) < 0)
			goto fail_child;
	}
	snprintf(v, sizeof(v), "%d", pid);
	if (vctx_cg_setattr(cg.v2fd, VCTX_XATTR_PID1, v, err) < 0)
		goto fail_child;
	if (!spec->keep_caps) {
		snprintf(v, sizeof(v), "0x%016llx", (unsigned long long)spec->caps);
		if (vctx_cg_setattr(cg.v2fd, VCTX_XATTR_CAPS, v, err) < 0)
			goto fail_child;
	}
	/* a child that failed its setup is gone: its report (read below) says why */
	int go2_failed = send(go[1], "g", 1, MSG_NOSIGNAL) != 1;
	close(go[1]);
	go[1] = -1;
	/* EOF: CMD was executed; a report: setup failed at the step it names */
	do
		n = read(rep[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	rep[0] = -1;
	if (n == (ssize_t)sizeof(r)) {
		r.msg[sizeof(r.msg) - 1] = 0;
		vctx_set_error_kind(err, r.kind, r.err, "%s", r.msg);
		goto fail_child;
	}
	if (go2_failed) {
		vctx_set_error(err, EPIPE, "the context's first process died while it was being set up");
		goto fail_child;
	}
	out->xid = cg.xid;
	out->pid1 = pid;
	out->pidfd = pidfd;
	out->cmd_pid = (spec->flags & VCTX_F_FAKEINIT) ? pid : 0;
	/* too long to hold: left empty, vctx_wait then finds the cgroup by XID */
	vctx_pathf(out->cgroup, sizeof(out->cgroup), "%s/%s", vctx_cgroup_layout(NULL)->v2, cg.rel);
	close(cg.v2fd);
	return 0;

fail_child:
	if (pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	else
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (cg.v2fd >= 0)
		vctx_cg_wait_empty(cg.v2fd, 2000);
	goto fail;
fail_time:
	if (timefd >= 0)
		setns(timefd, CLONE_NEWTIME);
fail:
	{
		int e = err ? err->err : errno;
		enum vctx_err_kind kind = err ? err->kind : VCTX_ERR_FAILED;
		char msg[sizeof(err->msg)];
		if (err)
			memcpy(msg, err->msg, sizeof(msg));
		if (have_views)
			vctx_views_close(&views);
		if (go[0] >= 0) close(go[0]);
		if (go[1] >= 0) close(go[1]);
		if (rep[0] >= 0) close(rep[0]);
		if (rep[1] >= 0) close(rep[1]);
		if (lfd >= 0) close(lfd);
		if (timefd >= 0) close(timefd);
		if (pidfd >= 0) close(pidfd);
		if (guard[0])
			unlink(guard);
		if (cg.v2fd >= 0) {
			uint64_t id = vctx_cgroup_id(cg.v2fd);
			if (spec->ipv4)
				vctx_ipv4root_forget(id, NULL);
		}
		vctx_cg_destroy(&cg);
		if (err) {
			err->err = e;
			err->kind = kind;
			memcpy(err->msg, msg, sizeof(msg));
		}
		errno = e;
	}
	return -1;
}


/**
 * vctx_wait - reap PID 1, wait for the cgroup to empty, release it.
 */
VCTX_API int vctx_wait(struct vctx_handle *h, int *status, vctx_error *err)
{
	siginfo_t si;
	int st = 0;

	memset(&si, 0, sizeof(si));
	for (;;) {
		if (waitid(P_PIDFD, (id_t)h->pidfd, &si, WEXITED) == 0)
			break;
		if (errno != EINTR)
			return vctx_set_error(err, errno, "cannot wait for context %u: %s", h->xid, strerror(errno));
	}
	if (si.si_code == CLD_EXITED)
		st = (si.si_status & 0xff) << 8;
	else
		st = si.si_status & 0x7f;
	if (status)
		*status = st;
	close(h->pidfd);
	h->pidfd = -1;
	/* the handle knows the cgroup: no need to search the tree for it */
	const struct vctx_cgroup_layout *l = vctx_cgroup_layout(err);
	size_t n = l ? strlen(l->v2) : 0;
	struct vctx_cg cg;
	if (l && strncmp(h->cgroup, l->v2, n) == 0 && h->cgroup[n] == '/' &&
	    vctx_cg_open_rel(h->xid, h->cgroup + n + 1, &cg, NULL) == 0)
		return vctx_release_cg(&cg, err);
	return vctx_release(h->xid, err);
}

/* the lock records of the cgroups below a released context (chbind's
   bind-N inside it, nested contexts left over) and the guard sockets of
   those nested contexts */
static int forget_pre(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent, void *arg)
{
	char guard[108];
	char *end;
	unsigned long x = strtoul(name, &end, 10);

	vctx_ipv4root_forget(vctx_cgroup_id(fd), NULL);
	if (end != name && !*end && x == xid) {
		vctx_guard_path(xid, guard, sizeof(guard));
		unlink(guard);
	}
	return VCTX_WALK_GO;
}

/**
 * vctx_release_cg - the one release path: remove an empty context's
 * cgroups (v2 and v1, with everything below them), the IPv4 lock records
 * of all of them (the eBPF programs go with the cgroups) and its guard
 * socket.  Waits up to 5 s for the last processes to be reaped.  Closes
 * cg->v2fd.
 */
int vctx_release_cg(struct vctx_cg *cg, vctx_error *err)
{
	char guard[108], ip[32], p[800];
	uint32_t xid = cg->xid;

	if (vctx_cg_wait_empty(cg->v2fd, 5000) < 0) {
		close(cg->v2fd);
		cg->v2fd = -1;
		return vctx_set_error(err, EBUSY, "context %u still has processes", xid);
	}
	vctx_cg_getattr(cg->v2fd, VCTX_XATTR_IP, ip, sizeof(ip));
	if (ip[0])
		vctx_ipv4root_forget(vctx_cgroup_id(cg->v2fd), NULL);
	{
		struct vctx_walk w = { .pre = forget_pre };
		vctx_cg_walk(cg->v2fd, cg->rel, xid, &w);
	}
	vctx_guard_path(xid, guard, sizeof(guard));
	unlink(guard);
	snprintf(p, sizeof(p), "%s/%s", vctx_cgroup_layout(NULL)->v2, cg->rel);
	vctx_cg_destroy(cg);
	if (access(p, F_OK) == 0)
		return vctx_set_error(err, EBUSY, "cannot remove the cgroup of context %u", xid);
	return 0;
}

/**
 * vctx_release - remove an empty context's cgroups, eBPF state and guard
 * socket (vctx_release_cg).
 */
VCTX_API int vctx_release(uint32_t xid, vctx_error *err)
{
	struct vctx_cg cg;

	if (vctx_cg_open(xid, &cg, err) < 0)
		return -1;
	return vctx_release_cg(&cg, err);
}

/*
 * Context 1's cgroup, vctx/1 (made when missing, and named), opened as a
 * directory, its path in @p; -1 with @err.
 */
static int spectator_cgroup(char p[400], vctx_error *err)
{
	const struct vctx_cgroup_layout *l = vctx_cgroup_layout(err);

	if (!l || vctx_instance_check(err) < 0)
		return -1;
	snprintf(p, 400, "%s/%s", l->v2, vctx_cgroup_root());
	mkdir(p, 0755);
	snprintf(p, 400, "%s/%s/1", l->v2, vctx_cgroup_root());
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create %s: %s", p, strerror(errno));
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vctx_set_error(err, errno, "cannot join context 1 (%s): %s", p, strerror(errno));
	vctx_cg_setattr(fd, VCTX_XATTR_NAME, "monitoring server", NULL);
	return fd;
}

/* a member's confinement: no signal or trace outside itself */
static int spectator_confine(int tsync, vctx_error *err)
{
	if (!tsync && vctx_landlock_scope(err) < 0)
		return -1;
	return vctx_seccomp_spectator(tsync, err);
}

/**
 * vctx_spectate - become a member of context 1 (see vctx.h).
 */
VCTX_API int vctx_spectate(int tsync, vctx_error *err)
{
	char p[400], val[32];
	int fd = spectator_cgroup(p, err);

	if (fd < 0)
		return -1;
	snprintf(val, sizeof(val), "%d", getpid());
	if (vctx_write_file_at(fd, "cgroup.procs", val) < 0) {
		int e = errno;
		close(fd);
		return vctx_set_error(err, e, "cannot join context 1 (%s): %s", p, strerror(e));
	}
	close(fd);
	return spectator_confine(tsync, err);
}

/**
 * vctx_spectate_fork - fork a member of context 1 (see vctx.h).
 */
VCTX_API pid_t vctx_spectate_fork(const char *prog, vctx_error *err)
{
	char p[400];
	int fd = spectator_cgroup(p, err);

	if (fd < 0)
		return -1;
	struct clone_args ca = {
		.flags = CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)fd,
	};
	int born_in = 1;
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL)) {
		/* before Linux 5.7: a fork that then moves itself */
		born_in = 0;
		pid = fork();
	}
	if (pid < 0) {
		int e = errno;
		close(fd);
		return vctx_set_error(err, e, "fork: %s", strerror(e));
	}
	if (pid > 0) {
		close(fd);
		return pid;
	}
	vctx_error ce = { 0 };
	int joined = born_in || vctx_write_file_at(fd, "cgroup.procs", "0") == 0;
	if (!joined)
		vctx_set_error(&ce, errno, "cannot join context 1 (%s): %s", p, strerror(errno));
	close(fd);
	if (joined && spectator_confine(0, &ce) == 0)
		return 0;
	fprintf(stderr, "%s: %s\n", prog, ce.msg);
	_exit(1);
}

