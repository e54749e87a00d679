// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Signalling without hitting the wrong process.
 *
 * vctx_kill_pid() pins the process with a pidfd first and only then checks
 * that the process now holding the PID started when the caller saw it
 * start: if the start times agree, the pidfd refers to that very process
 * (a PID is never held by A, then B, then A again), and the signal goes
 * through the pidfd, so a PID reused afterwards is never hit either.
 *
 * vctx_kill_context() kills a whole context with cgroup.kill, or, on
 * kernels without it, freezes the cgroup, signals every member and thaws
 * it (crun's cgroup_killall_path).  Other signals go to every member of
 * the context's cgroup subtree by pidfd, each one checked to still be a
 * member after it was pinned, with the context frozen meanwhile (so no
 * member's reaction ends another before it was signalled: signal_frozen).
 * A member that exits meanwhile is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif


static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static int valid_signal(int sig)
{
	return sig >= 0 && sig <= SIGRTMAX;
}

/* the cgroup2 path of @pid ("/vctx/5"), from /proc/PID/cgroup */
static int cgroup2_of(pid_t pid, char *out, size_t len)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	ssize_t n = vctx_read_file_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0)
			errno = ESRCH;
		return -1;
	}
	for (char *l = buf; l && *l;) {
		char *e = strchr(l, '\n');
		if (e)
			*e = 0;
		if (!strncmp(l, "0::", 3)) {
			snprintf(out, len, "%s", l + 3);
			return 0;
		}
		l = e ? e + 1 : NULL;
	}
	errno = ENOENT;
	return -1;
}

/*
 * The XID of the first private context on the cgroup2 path @cg (a context
 * inside a private one is private too); 0 when none is.
 */
static uint32_t private_xid(const char *v2, const char *cg)
{
	char path[1024], comp[256], flags[256];
	const char *p = cg;
	size_t len;
	int below = 0;

	len = (size_t)snprintf(path, sizeof(path), "%s", v2);
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t cl = e ? (size_t)(e - p) : strlen(p);
		if (!cl || cl >= sizeof(comp) || len + 1 + cl >= sizeof(path))
			break;
		memcpy(comp, p, cl);
		comp[cl] = 0;
		path[len++] = '/';
		memcpy(path + len, comp, cl + 1);
		len += cl;
		if (!below) {
			if (strcmp(comp, vctx_cgroup_root()))
				return 0;	/* not below vctx/ */
			below = 1;
		} else if (vctx_all_digits(comp)) {
			ssize_t n = getxattr(path, VCTX_XATTR_FLAGS, flags, sizeof(flags) - 1);
			if (n > 0) {
				flags[n] = 0;
				if (vctx_flags_parse(flags) & VCTX_F_PRIVATE)
					return (uint32_t)strtoul(comp, NULL, 10);
			}
		}
		p += cl;
	}
	return 0;
}

VCTX_API int vctx_kill_pid(pid_t pid, uint64_t starttime, int sig, vctx_error *err)
{
	const struct vctx_cgroup_layout *l;
	char cg[512];
	uint64_t now;
	uint32_t priv = 0;

	if (pid <= 0)
		return vctx_set_error(err, EINVAL, "%d is not a process ID", pid);
	if (!valid_signal(sig))
		return vctx_set_error(err, EINVAL, "%d is not a signal number", sig);
	l = vctx__scan_layout(err);
	if (!l)
		return -1;

	int pidfd cleanup_fd = pidfd_open_(pid);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return vctx_set_error(err, ESRCH, "process %d: no such process", pid);
		return vctx_set_error(err, errno, "process %d: pidfd_open: %s", pid, strerror(errno));
	}
	/* read by number: only trusted once the start time below matches */
	if (cgroup2_of(pid, cg, sizeof(cg)) == 0)
		priv = private_xid(l->v2, cg);
	if (vctx_starttime(pid, &now) < 0)
		return vctx_set_error(err, ESRCH, "process %d: no such process", pid);
	if (starttime && now != starttime)
		return vctx_set_error(err, ESRCH,
				      "process %d: no such process (that PID now names a process with a different start time)",
				      pid);
	if (priv)
		return vctx_set_error(err, EPERM,
				      "process %d belongs to private context %u: its processes cannot be signalled one by one",
				      pid, priv);
	if (pidfd_signal(pidfd, sig) < 0) {
		if (errno == ESRCH)
			return vctx_set_error(err, ESRCH, "process %d: no such process", pid);
		return vctx_set_error(err, errno, "signalling process %d: %s", pid, strerror(errno));
	}
	return 0;
}

/* ------------------------------------------------------------ contexts */

struct pidlist {
	pid_t *v;
	size_t n, cap;
};

static int pidlist_add(struct pidlist *pl, pid_t pid)
{
	if (pl->n == pl->cap) {
		size_t nc = pl->cap ? pl->cap * 2 : 256;
		pid_t *nv = realloc(pl->v, nc * sizeof(pid_t));
		if (!nv)
			return -1;
		pl->v = nv;
		pl->cap = nc;
	}
	pl->v[pl->n++] = pid;
	return 0;
}

/* every pid in the cgroup.procs of @dfd */
static int read_procs(int dfd, struct pidlist *pl)
{
	char *buf = NULL;
	size_t cap = 0, total = 0;
	int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		for (;;) {
			if (total + 1 >= cap) {
				size_t nc = cap ? cap * 2 : 4096;
				char *nb = realloc(buf, nc);
				if (!nb) {
					free(buf);
					close(fd);
					errno = ENOMEM;
					return -1;
				}
				buf = nb;
				cap = nc;
			}
			ssize_t n = read(fd, buf + total, cap - 1 - total);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			total += (size_t)n;
		}
		close(fd);
		if (buf) {
			buf[total] = 0;
			for (char *p = buf, *e; *p; p = e) {
				long v = strtol(p, &e, 10);
				if (e == p) {
					e = p + 1;
					continue;
				}
				if (v > 0 && pidlist_add(pl, (pid_t)v) < 0) {
					free(buf);
					errno = ENOMEM;
					return -1;
				}
			}
		}
		free(buf);
	}
	return 0;
}

static int collect_pre(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent, void *arg)
{
	return read_procs(fd, arg) < 0 ? VCTX_WALK_STOP : VCTX_WALK_GO;
}

/* every pid in the cgroup.procs of @dfd and its descendants */
static int collect(int dfd, struct pidlist *pl)
{
	struct vctx_walk w = { .pre = collect_pre, .arg = pl };

	if (read_procs(dfd, pl) < 0)
		return -1;
	/* stopped only when out of memory */
	return vctx_cg_walk(dfd, "", 0, &w) ? -1 : 0;
}

/* is the cgroup2 path @cg at or below @rel ("/vctx/5")? */
static int is_below(const char *cg, const char *rel)
{
	size_t n = strlen(rel);
	return !strncmp(cg, rel, n) && (cg[n] == 0 || cg[n] == '/');
}

/*
 * Signal every member of the subtree at @dfd (cgroup2 path @rel) by
 * pidfd; each pinned process is checked to still be a member.  Returns
 * the number signalled.
 */
static int signal_members(int dfd, const char *rel, int sig, vctx_error *err)
{
	struct pidlist pl = { 0 };
	int count = 0;

	if (collect(dfd, &pl) < 0) {
		free(pl.v);
		return vctx_set_error(err, ENOMEM, "listing the processes of %s: out of memory", rel);
	}
	for (size_t i = 0; i < pl.n; i++) {
		char cg[512];
		int pidfd cleanup_fd = pidfd_open_(pl.v[i]);
		if (pidfd < 0)
			continue;	/* exited */
		if (cgroup2_of(pl.v[i], cg, sizeof(cg)) < 0 || !is_below(cg, rel))
			continue;	/* exited, and the PID was reused outside */
		/* still alive now, so the cgroup read above was its own */
		if (pidfd_signal(pidfd, 0) < 0)
			continue;
		if (pidfd_signal(pidfd, sig) == 0)
			count++;
	}
	free(pl.v);
	return count;
}

static int count_members(int dfd)
{
	struct pidlist pl = { 0 };
	int n = collect(dfd, &pl) < 0 ? -1 : (int)pl.n;
	free(pl.v);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * Signal every member with the context frozen, then thaw it (runc's
 * signalAllProcesses, crun's cgroup_killall_path): no member runs between
 * the first signal and the last, so none can end the others first.  Without
 * it, the context's PID 1 (vctx-init forwards SIGTERM to the command and
 * exits when it ends) tore the PID namespace down, SIGKILL for every member
 * not yet signalled, while the loop still went through the list: a
 * context's SIGTERM reached 224 of its 302 processes.  A context frozen
 * already stays frozen (except for SIGKILL, the kernels without
 * cgroup.kill).  When the context does not freeze within a second (a
 * process stuck in the kernel), nothing can freeze it or the caller is one
 * of its members, a signal other than SIGKILL goes to the members as they
 * run, one by one, as before.
 */
static int signal_frozen(const struct vctx_cgroup_layout *l, int dfd, const char *rel,
			 uint32_t xid, int sig, vctx_error *err)
{
	int frz cleanup_fd = -1;
	const char *file, *on, *off, *frozen, *state;
	char cur[64], self[512];
	int count;

	/* a caller inside the context would freeze itself for good */
	if (cgroup2_of(getpid(), self, sizeof(self)) == 0 && is_below(self, rel))
		frz = -2;
	else if (l->has_freeze) {
		frz = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
		file = "cgroup.freeze"; on = "1"; off = "0";
		frozen = "frozen 1"; state = "cgroup.events";
	} else if (l->v1path[VCTX_CTL_FREEZER][0]) {
		char path[1024];
		snprintf(path, sizeof(path), "%s%s", l->v1path[VCTX_CTL_FREEZER], rel);
		frz = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		file = "freezer.state"; on = "FROZEN"; off = "THAWED";
		frozen = "FROZEN"; state = file;
	} else {
		frz = -2;
	}
	if (frz == -2 && sig != SIGKILL) {
		return signal_members(dfd, rel, sig, err);
	} else if (frz == -2) {
		/* nothing to freeze with: signal and go on until empty */
		int total = 0;
		for (int round = 0; round < 50; round++) {
			int n = signal_members(dfd, rel, SIGKILL, err);
			if (n < 0)
				return -1;
			total += n;
			if (count_members(dfd) <= 0)
				break;
			sleep_ms(20);
		}
		return total;
	}
	if (frz < 0) {
		if (sig != SIGKILL)
			return signal_members(dfd, rel, sig, err);
		return vctx_set_error(err, errno, "context %u: opening its freezer: %s", xid, strerror(errno));
	}
	/* frozen by someone else: it stays so (the signal is seen once thawed) */
	if (sig != SIGKILL && vctx_read_file_at(frz, file, cur, sizeof(cur)) > 0 && !strncmp(cur, on, strlen(on)))
		return signal_members(dfd, rel, sig, err);
	if (vctx_write_file_at(frz, file, on) < 0) {
		if (sig != SIGKILL)
			return signal_members(dfd, rel, sig, err);
		return vctx_set_error(err, errno, "context %u: freezing it (%s): %s", xid, file, strerror(errno));
	}
	if (vctx_cg_wait_value(frz, state, frozen, sig == SIGKILL ? 5000 : 1000, 10) < 0) {
		int e = errno;
		vctx_write_file_at(frz, file, off);
		if (sig != SIGKILL)
			return signal_members(dfd, rel, sig, err);
		return vctx_set_error(err, e, "context %u: waiting for it to freeze: %s", xid, strerror(e));
	}
	count = signal_members(dfd, rel, sig, err);
	if (vctx_write_file_at(frz, file, off) < 0 && count >= 0)
		return vctx_set_error(err, errno, "context %u: thawing it (%s): %s", xid, file, strerror(errno));
	return count;
}

VCTX_API int vctx_kill_context(uint32_t xid, int sig, vctx_error *err)
{
	const struct vctx_cgroup_layout *l;
	char dir[512];
	const char *rel;

	if (xid == VCTX_XID_HOST)
		return vctx_set_error(err, EINVAL,
				      "refusing to signal context 0 (the host) as a whole");
	if (!valid_signal(sig))
		return vctx_set_error(err, EINVAL, "%d is not a signal number", sig);
	l = vctx__scan_layout(err);
	if (!l || vctx__ctx_dir(xid, dir, sizeof(dir), err) < 0)
		return -1;
	rel = dir + strlen(l->v2);
	int dfd cleanup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return vctx_set_error(err, ESRCH, "context %u: no such context is running", xid);
		return vctx_set_error(err, errno, "context %u: opening %s: %s", xid, dir, strerror(errno));
	}
	/* signal 0 asks only which processes are there */
	if (sig == 0)
		return signal_members(dfd, rel, sig, err);
	if (sig != SIGKILL)
		return signal_frozen(l, dfd, rel, xid, sig, err);

	int count = count_members(dfd);
	if (count < 0)
		return vctx_set_error(err, ENOMEM, "context %u: listing its processes: out of memory", xid);
	if (faccessat(dfd, "cgroup.kill", W_OK, 0) == 0) {
		if (vctx_write_file_at(dfd, "cgroup.kill", "1") < 0)
			return vctx_set_error(err, errno, "context %u: writing cgroup.kill: %s", xid, strerror(errno));
		return count;
	}
	return signal_frozen(l, dfd, rel, xid, SIGKILL, err);
}
