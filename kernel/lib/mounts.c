// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The context's mount namespace: its own /proc, a private minimal /dev
 * with its own devpts, read-only /sys and cgroupfs, the OCI runtime
 * spec's masked and read-only /proc paths, the XID and flags files, and pivot_root
 * into the server root with the old root detached.
 *
 * Inside views (--secure contexts): when lxcfs answers at /var/lib/lxcfs,
 * its per-cgroup /proc files (meminfo, cpuinfo, loadavg, diskstats, swaps)
 * and /sys/devices/system/cpu/online are bound over the context's,
 * so free, top and uptime show the server (uptime itself comes from the
 * context's time namespace, context.c); when vctx-netview answers at
 * /run/vctx-netview, it is bound at /dev/vctx/net and /proc/net becomes a
 * symbolic link to it (the socket tables list the context's sockets only).
 * The creating process probes the daemons and clones their files as
 * detached mounts (open_tree) in a thread while it makes the cgroup; the
 * context's first process only moves them in (move_mount): no FUSE round
 * trip is on the setup's path (it was ~0.45 ms of every --secure context).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>
#include "internal.h"

/*
 * /proc by allowlist: the top-level entries a server sees besides the
 * per-process directories.  What ps, top, free, apt, dpkg and package
 * scripts read; every other entry (allocator and page-state statistics,
 * kallsyms, kcore, keys, sysrq-trigger, and whatever a newer kernel adds)
 * is covered, a file by /dev/null and a directory by an empty read-only
 * tmpfs.  docs/security.md gives the reasons, entry by entry.
 */
static const char *const proc_allowed[] = {
	"self", "thread-self", "cgroups", "cmdline", "cpuinfo", "diskstats", "filesystems",
	"loadavg", "meminfo", "mounts", "net", "stat", "swaps", "sys", "sysvipc", "tty",
	"uptime", "version",
};
/* allowed, but read-only even for the server's root */
static const char *const proc_readonly[] = { "sys", "tty" };

static int in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return 1;
	return 0;
}
#define IN_LIST(name, list) in_list(name, list, sizeof(list) / sizeof(list[0]))

static int mnt(const char *src, const char *dst, const char *type, unsigned long fl,
	       const char *data, vctx_error *err)
{
	if (mount(src, dst, type, fl, data) < 0)
		return vctx_set_error(err, errno, "cannot mount %s on %s: %s", type ? type : src, dst, strerror(errno));
	return 0;
}

/* @root then @p: a path the caller sized; 0, or -1 (ENAMETOOLONG) when it would be cut */
static int path_in(char *out, size_t len, const char *root, const char *p, vctx_error *err)
{
	int n = snprintf(out, len, "%s%s", root, p);

	if (n < 0 || (size_t)n >= len)
		return vctx_set_error(err, ENAMETOOLONG, "path %s%s is too long (more than %zu bytes)", root, p, len - 1);
	return 0;
}

/*
 * A new file system of @type as a detached mount (an fd), through the
 * mount API: nothing is looked up by path.  @opts: key, value pairs, NULL
 * ended.  @attrs: MOUNT_ATTR_*.
 */
static int fs_new(const char *type, const char *const *opts, unsigned attrs, vctx_error *err)
{
	int fs = fsopen(type, FSOPEN_CLOEXEC), m = -1;

	if (fs < 0)
		return vctx_set_error(err, errno, "cannot create a %s file system: %s", type, strerror(errno));
	for (; opts && opts[0]; opts += 2)
		if (fsconfig(fs, FSCONFIG_SET_STRING, opts[0], opts[1], 0) < 0) {
			vctx_set_error(err, errno, "cannot create a %s file system (%s=%s): %s",
				       type, opts[0], opts[1], strerror(errno));
			goto out;
		}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		vctx_set_error(err, errno, "cannot create a %s file system: %s", type, strerror(errno));
		goto out;
	}
	m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (m < 0)
		vctx_set_error(err, errno, "cannot mount a %s file system: %s", type, strerror(errno));
out:
	close(fs);
	return m;
}

/* move the detached mount @m onto @name below @dirfd ("" = @dirfd itself); closes @m */
static int attach(int m, int dirfd, const char *name, const char *what, vctx_error *err)
{
	unsigned fl = MOVE_MOUNT_F_EMPTY_PATH | (name[0] ? 0 : MOVE_MOUNT_T_EMPTY_PATH);
	int rc = 0;

	if (move_mount(m, "", dirfd, name, fl) < 0)
		rc = vctx_set_error(err, errno, "cannot mount %s: %s", what, strerror(errno));
	close(m);
	return rc;
}

/*
 * The directory @name right below the server's root (@rootfd), made when
 * missing and opened without following any symbolic link: the server
 * controls its tree, and a /proc, /sys or /dev it replaced by a link (to
 * the host's /etc, say) or by a FIFO must never have the host mount or
 * look through it.  An O_PATH descriptor: a FIFO is never opened.
 */
static int root_dir(int rootfd, const char *root, const char *name, vctx_error *err)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (mkdirat(rootfd, name, 0555) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create %s/%s: %s", root, name, strerror(errno));
	if (vctx_weakened("fd-setup"))	/* the attack suite's control: links followed */
		fd = openat(rootfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	else
		fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
		return vctx_set_error(err, errno, "%s/%s is not a directory (a symbolic link or another file where "
				      "the server's /%s is mounted); the host does not follow it: make it a directory",
				      root, name, name);
	return vctx_set_error(err, errno, "cannot open %s/%s: %s", root, name, strerror(errno));
}

/*
 * Cover @name of the mount @at: a directory with a clone of the empty
 * read-only tmpfs (@empty: its first mount, found through @emptyat; made
 * on first use), anything else with /dev/null.
 */
struct empty_dir { int at; char name[64]; };

static int cover(int at, const char *name, int isdir, struct empty_dir *e, vctx_error *err)
{
	static const char *const ro_opts[] = { "mode", "0555", "size", "4k", "nr_inodes", "1", NULL };
	int src;

	if (isdir && e->at < 0) {
		src = fs_new("tmpfs", ro_opts, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			     MOUNT_ATTR_NOEXEC, err);
		if (src < 0 || attach(src, at, name, name, err))
			return -1;
		e->at = at;
		snprintf(e->name, sizeof(e->name), "%s", name);
		return 0;
	}
	src = isdir ? open_tree(e->at, e->name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
		    : open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (src < 0)
		return vctx_set_error(err, errno, "cannot cover %s: %s", name, strerror(errno));
	return attach(src, at, name, name, err);
}

/* make @name below the mount @at read-only (a read-only clone over it) */
static int readonly_at(int at, const char *name, vctx_error *err)
{
	struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	int src = open_tree(at, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (src < 0 || mount_setattr(src, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma, sizeof(ma)) < 0) {
		int e = errno;
		if (src >= 0)
			close(src);
		return vctx_set_error(err, e, "cannot make /proc/%s read-only: %s", name, strerror(e));
	}
	return attach(src, at, name, name, err);
}

/* /proc of the context's PID namespace at @dirfd; a --secure context's by allowlist */
static int setup_proc(int dirfd, int allowlist, vctx_error *err)
{
	struct empty_dir empty = { .at = -1 };
	struct dirent *de;
	DIR *d;
	int pm = fs_new("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err), rc = 0;

	if (pm < 0)
		return -1;
	if (move_mount(pm, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		rc = vctx_set_error(err, errno, "cannot mount proc: %s", strerror(errno));
		goto out;
	}
	if (!allowlist || vctx_weakened("proc-allowlist"))
		goto out;
	d = fdopendir(openat(pm, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!d) {
		rc = vctx_set_error(err, errno, "cannot list the context's /proc: %s", strerror(errno));
		goto out;
	}
	while (rc == 0 && (de = readdir(d))) {
		const char *n = de->d_name;
		if ((n[0] >= '0' && n[0] <= '9') || !strcmp(n, ".") || !strcmp(n, "..") || IN_LIST(n, proc_allowed))
			continue;
		rc = cover(pm, n, de->d_type == DT_DIR, &empty, err);
	}
	closedir(d);
	for (size_t i = 0; rc == 0 && i < sizeof(proc_readonly) / sizeof(proc_readonly[0]); i++)
		if (faccessat(pm, proc_readonly[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			rc = readonly_at(pm, proc_readonly[i], err);
out:
	close(pm);
	return rc;
}

/*
 * /sys by allowlist: a read-only tmpfs holding what a server reads of
 * sysfs - devices/system/cpu (glibc's CPU count, lscpu; lxcfs's online
 * file goes over it), its own cgroup2 tree at fs/cgroup - and kernel/security,
 * an empty read-only mount point (Debian's mountkernfs then mounts no
 * securityfs).  sysfs itself is mounted only long enough to clone the
 * CPU directory out of it.
 */
static int setup_sys(int dirfd, vctx_error *err)
{
	static const char *const dirs[] = {
		"devices", "devices/system", "devices/system/cpu", "fs", "fs/cgroup", "kernel", "kernel/security",
	};
	static const char *const opts[] = { "mode", "0555", "size", "16k", NULL };
	const unsigned ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY };
	struct empty_dir empty = { .at = -1 };
	char mp[64];
	int sfs, cpu, t, cg;

	if (vctx_weakened("sys-allowlist")) {	/* the attack suite's control: all of sysfs */
		int rc = -1;
		sfs = fs_new("sysfs", NULL, ro, err);
		if (sfs < 0)
			return -1;
		if (move_mount(sfs, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			vctx_set_error(err, errno, "cannot mount sysfs: %s", strerror(errno));
		else if ((cg = fs_new("cgroup2", NULL, ro, err)) >= 0)
			rc = attach(cg, sfs, "fs/cgroup", "cgroup2", err);
		close(sfs);
		return rc;
	}
	/* a clone needs a mount of this namespace: sysfs at @dirfd for a moment */
	sfs = fs_new("sysfs", NULL, ro, err);
	if (sfs < 0)
		return -1;
	if (move_mount(sfs, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		close(sfs);
		return vctx_set_error(err, errno, "cannot mount sysfs: %s", strerror(errno));
	}
	cpu = open_tree(sfs, "devices/system/cpu", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	snprintf(mp, sizeof(mp), "/proc/self/fd/%d", sfs);
	if (umount2(mp, MNT_DETACH) < 0 && cpu >= 0) {
		close(cpu);
		cpu = -1;
	}
	close(sfs);
	if (cpu < 0)
		return vctx_set_error(err, errno, "cannot take /sys/devices/system/cpu: %s", strerror(errno));
	t = fs_new("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
	if (t < 0)
		goto fail;
	if (move_mount(t, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		vctx_set_error(err, errno, "cannot mount /sys: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdirat(t, dirs[i], 0555) < 0) {
			vctx_set_error(err, errno, "cannot create /sys/%s: %s", dirs[i], strerror(errno));
			goto fail;
		}
	if (attach(cpu, t, "devices/system/cpu", "/sys/devices/system/cpu", err))
		goto fail_t;
	cg = fs_new("cgroup2", NULL, ro, err);
	if (cg < 0 || attach(cg, t, "fs/cgroup", "cgroup2 on /sys/fs/cgroup", err))
		goto fail_t;
	if (cover(t, "kernel/security", 1, &empty, err))
		goto fail_t;
	if (mount_setattr(t, "", AT_EMPTY_PATH, &ma, sizeof(ma)) < 0) {
		vctx_set_error(err, errno, "cannot make /sys read-only: %s", strerror(errno));
		goto fail_t;
	}
	close(t);
	return 0;
fail:
	close(cpu);
fail_t:
	if (t >= 0)
		close(t);
	return -1;
}

/* an empty file @name below @dirfd (a bind mount point), never through a link */
static int mkfile_at(int dirfd, const char *name, mode_t mode, vctx_error *err)
{
	int fd = openat(dirfd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return vctx_set_error(err, errno, "cannot create /dev/%s: %s", name, strerror(errno));
	close(fd);
	return 0;
}

/* bind the host's @src (a file vctx made in its run directory) on @name below @dirfd */
static int bind_at(const char *src, int dirfd, const char *name, vctx_error *err)
{
	int m = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (m < 0)
		return vctx_set_error(err, errno, "cannot bind %s as /dev/%s: %s", src, name, strerror(errno));
	return attach(m, dirfd, name, src, err);
}

/* a read-only file @name below @dirfd holding @val (what the host tells the context) */
static int write_ro(int dirfd, const char *name, const char *val, vctx_error *err)
{
	struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	int fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444), m;

	if (fd < 0 || write(fd, val, strlen(val)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vctx_set_error(err, e, "cannot write /dev/vctx/%s: %s", name, strerror(e));
	}
	close(fd);
	/* read-only even for root with CAP_DAC_OVERRIDE: a read-only bind over itself */
	m = open_tree(dirfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (m < 0 || mount_setattr(m, "", AT_EMPTY_PATH, &ma, sizeof(ma)) < 0) {
		int e = errno;
		if (m >= 0)
			close(m);
		return vctx_set_error(err, e, "cannot make /dev/vctx/%s read-only: %s", name, strerror(e));
	}
	return attach(m, dirfd, name, name, err);
}

/* VCTX_XID_FILE and VCTX_FLAGS_FILE below @dirfd (the context's /dev/vctx) */
static int write_xid(int dirfd, const struct vctx_spec *spec, uint32_t xid, vctx_error *err)
{
	char val[160];

	snprintf(val, sizeof(val), "%u\n", xid);
	if (write_ro(dirfd, "xid", val, err))
		return -1;
	vctx_flags_format(spec->flags, val, sizeof(val) - 1);
	strcat(val, "\n");
	return write_ro(dirfd, "flags", val, err);
}

/* a new @type file system on @name below @dirfd (made, mode @mode) */
static int fs_at(int dirfd, const char *name, mode_t mode, const char *type, const char *const *opts,
		 unsigned attrs, vctx_error *err)
{
	int m;

	if (mkdirat(dirfd, name, mode) < 0)
		return vctx_set_error(err, errno, "cannot create /dev/%s: %s", name, strerror(errno));
	m = fs_new(type, opts, attrs, err);
	return m < 0 ? -1 : attach(m, dirfd, name, type, err);
}

/* a private minimal /dev at @dirfd: device nodes, own devpts, shm, mqueue, xid and flags, reboot socket */
static int setup_dev(const struct vctx_spec *spec, int dirfd, uint32_t xid, vctx_error *err)
{
	static const struct { const char *name; unsigned maj, min; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const struct { const char *name, *target; } links[] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },
	};
	static const char *const dev_opts[] = { "mode", "0755", "size", "1024k", "nr_inodes", "4096", NULL };
	static const char *const pts_opts[] = { "ptmxmode", "0666", "mode", "0620", "gid", "5", NULL };
	static const char *const shm_opts[] = { "mode", "1777", "size", "65536k", NULL };
	const unsigned plain = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	int dev, rc = -1, v;

	dev = fs_new("tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (dev < 0)
		return -1;
	if (move_mount(dev, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		vctx_set_error(err, errno, "cannot mount /dev: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0) {
			vctx_set_error(err, errno, "cannot create /dev/%s: %s", nodes[i].name, strerror(errno));
			goto out;
		}
		if (fchmodat(dev, nodes[i].name, 0666, 0) < 0) {	/* whatever the umask */
			vctx_set_error(err, errno, "cannot chmod /dev/%s: %s", nodes[i].name, strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0) {
			vctx_set_error(err, errno, "cannot create /dev/%s: %s", links[i].name, strerror(errno));
			goto out;
		}
	if (fs_at(dev, "pts", 0755, "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err) ||
	    fs_at(dev, "shm", 01777, "tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err))
		goto out;
	if (fs_at(dev, "mqueue", 0755, "mqueue", NULL, plain, NULL) < 0)
		unlinkat(dev, "mqueue", AT_REMOVEDIR);	/* POSIX message queues are optional */
	if (spec->console && (mkfile_at(dev, "console", 0600, err) || bind_at(spec->console, dev, "console", err)))
		goto out;
	if (spec->reboot_socket && (mkfile_at(dev, "reboot", 0666, err) || bind_at(spec->reboot_socket, dev, "reboot", err)))
		goto out;
	if (mkdirat(dev, "vctx", 0755) < 0 || (v = openat(dev, "vctx", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		vctx_set_error(err, errno, "cannot create /dev/vctx: %s", strerror(errno));
		goto out;
	}
	rc = write_xid(v, spec, xid, err);
	close(v);
out:
	close(dev);
	return rc;
}

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/*
 * The files of lxcfs (at VCTX_LXCFS_DIR) bound over the context's own.
 * Not /proc/uptime nor /proc/stat: the context's time namespace already
 * makes the kernel's uptime, btime and process start times count from the
 * context's start, and lxcfs's copies (the host's btime) would contradict
 * them (ps would date every process hours back).
 */
static const char *const lxcfs_files[VCTX_LXCFS_NFILES] = {
	"/proc/meminfo", "/proc/cpuinfo", "/proc/loadavg", "/proc/diskstats",
	"/proc/swaps", "/sys/devices/system/cpu/online",
};

/*
 * a FUSE file system answers at @dir: statfs(2) reaches the daemon
 * (FUSE_STATFS; ENOTCONN when it died) and names the file system type.
 * No file in it is looked up: vctx-netview computes a table's size on
 * getattr (milliseconds), and this runs at every context creation.
 */
static int fuse_answers(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == FUSE_SUPER_MAGIC;
}

/**
 * vctx_views_available - which inside views the host serves now: a mask
 * of VCTX_VIEW_LXCFS (lxcfs at VCTX_LXCFS_DIR) and VCTX_VIEW_NETVIEW
 * (vctx-netview at VCTX_NETVIEW_DIR).
 */
VCTX_API unsigned vctx_views_available(void)
{
	return (fuse_answers(VCTX_LXCFS_DIR) ? VCTX_VIEW_LXCFS : 0) |
	       (fuse_answers(VCTX_NETVIEW_DIR) ? VCTX_VIEW_NETVIEW : 0);
}

/* a detached clone of @path (open_tree), or -errno */
static int clone_tree(const char *path)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * The probes and clones (the creating process's thread): statfs(2) of
 * each daemon (one round trip), then, of those that answer, lxcfs's files
 * and vctx-netview's directory as detached mounts.  A file lxcfs lacks
 * stays -ENOENT and is left out.
 */
static void *views_thread(void *arg)
{
	struct vctx_views_prep *p = arg;
	char src[256];

	if (fuse_answers(VCTX_LXCFS_DIR)) {
		p->mask |= VCTX_VIEW_LXCFS;
		for (int i = 0; i < VCTX_LXCFS_NFILES; i++) {
			snprintf(src, sizeof(src), "%s%s", VCTX_LXCFS_DIR, lxcfs_files[i]);
			p->lxcfs[i] = clone_tree(src);
		}
	}
	if (fuse_answers(VCTX_NETVIEW_DIR)) {
		p->mask |= VCTX_VIEW_NETVIEW;
		p->netview = clone_tree(VCTX_NETVIEW_DIR);
	}
	return NULL;
}

/**
 * vctx_views_prepare - start making the inside views ready (a thread);
 * vctx_views_ready() waits for it, and must be called before the context's
 * first process is cloned (a raw clone copies no other thread, and one
 * that is still running could hold a lock of the C library).
 */
void vctx_views_prepare(struct vctx_views_prep *p)
{
	pthread_t t;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < VCTX_LXCFS_NFILES; i++)
		p->lxcfs[i] = -ENOENT;
	p->netview = -ENOENT;
	if (pthread_create(&t, NULL, views_thread, p) == 0) {
		p->thread = 1;
		p->tid = (unsigned long)t;
	} else {
		views_thread(p);	/* no thread: the same, in line */
	}
}

void vctx_views_ready(struct vctx_views_prep *p)
{
	if (p->thread) {
		pthread_join((pthread_t)p->tid, NULL);
		p->thread = 0;
	}
}

/* closes the detached mounts (unused ones go with their last reference) */
void vctx_views_close(struct vctx_views_prep *p)
{
	vctx_views_ready(p);
	for (int i = 0; i < VCTX_LXCFS_NFILES; i++) {
		if (p->lxcfs[i] >= 0)
			close(p->lxcfs[i]);
		p->lxcfs[i] = -ENOENT;
	}
	if (p->netview >= 0)
		close(p->netview);
	p->netview = -ENOENT;
}

/* moves the detached mount @fd onto @dst */
static int move_onto(int fd, const char *dst)
{
	return (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH);
}

/* lxcfs's files over the context's (those both sides have) */
static int bind_lxcfs(const char *root, const struct vctx_views_prep *v, vctx_error *err)
{
	char dst[512];
	struct stat st;

	for (int i = 0; i < VCTX_LXCFS_NFILES; i++) {
		if (path_in(dst, sizeof(dst), root, lxcfs_files[i], err))
			return -1;
		/* only what the root has, and what lxcfs has */
		if (stat(dst, &st) < 0 || v->lxcfs[i] == -ENOENT)
			continue;
		if (v->lxcfs[i] < 0 || move_onto(v->lxcfs[i], dst) < 0) {
			int e = v->lxcfs[i] < 0 ? -v->lxcfs[i] : errno;
			return vctx_set_error(err, e, "cannot bind %s%s over %s: %s", VCTX_LXCFS_DIR, lxcfs_files[i], dst,
					      strerror(e));
		}
	}
	return 0;
}

/*
 * vctx-netview's directory at @root/dev/vctx/net, and a symbolic link
 * /proc/net -> /dev/vctx/net mounted over the context's /proc/net (itself
 * a link to self/net: a bind through it would cover one process only).
 */
static int mount_netview(const char *root, const struct vctx_views_prep *v, vctx_error *err)
{
	char dir[512], lnk[512], p[512];
	int src = -1, dst = -1, rc = -1;

	if (path_in(dir, sizeof(dir), root, "/dev/vctx/net", err) ||
	    path_in(lnk, sizeof(lnk), root, "/dev/vctx/.proc-net", err) ||
	    path_in(p, sizeof(p), root, "/proc/net", err))
		return -1;
	if (mkdir(dir, 0555) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create %s: %s", dir, strerror(errno));
	if (v->netview < 0 || move_onto(v->netview, dir) < 0) {
		int e = v->netview < 0 ? -v->netview : errno;
		return vctx_set_error(err, e, "cannot bind %s on %s: %s", VCTX_NETVIEW_DIR, dir, strerror(e));
	}
	unlink(lnk);
	if (symlink("/dev/vctx/net", lnk) < 0)
		return vctx_set_error(err, errno, "cannot create %s: %s", lnk, strerror(errno));
	src = (int)syscall(SYS_open_tree, AT_FDCWD, lnk, OPEN_TREE_CLONE | AT_SYMLINK_NOFOLLOW | O_CLOEXEC);
	dst = open(p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 || dst < 0)
		vctx_set_error(err, errno, "cannot mount /dev/vctx/net as %s: %s", p, strerror(errno));
	else if (syscall(SYS_move_mount, src, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		vctx_set_error(err, errno, "cannot mount /dev/vctx/net as %s: %s", p, strerror(errno));
	else
		rc = 0;
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
	unlink(lnk);	/* the mount holds it */
	return rc;
}

static int inside_views(const char *root, const struct vctx_views_prep *v, vctx_error *err)
{
	if ((v->mask & VCTX_VIEW_LXCFS) && bind_lxcfs(root, v, err))
		return -1;
	if ((v->mask & VCTX_VIEW_NETVIEW) && mount_netview(root, v, err))
		return -1;
	return 0;
}

/**
 * vctx_setup_mounts - build the context's mount namespace (the caller has
 * unshared it) and, when spec->root is set, pivot into it.
 */
int vctx_setup_mounts(const struct vctx_spec *spec, uint32_t xid, const struct vctx_views_prep *views,
		      vctx_error *err)
{
	const char *root = spec->root ? spec->root : "";
	int rootfd = -1, fd = -1, rc = -1;

	/* host mount events still reach us (unmounts release); ours never leave */
	if (mnt(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL, err))
		return -1;
	if (spec->root) {
		struct mount_attr ma = { .attr_set = MOUNT_ATTR_NODEV };
		if (mnt(spec->root, spec->root, NULL, MS_BIND | MS_REC, NULL, err))
			return -1;
		/* device nodes in the root and in every mount below it (an admin's
		   copy, a template's, a copy build's) open nothing: only the
		   private /dev below has devices */
		if (!vctx_weakened("nodev") &&
		    mount_setattr(AT_FDCWD, spec->root, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &ma, sizeof(ma)) < 0)
			return vctx_set_error(err, errno, "cannot make %s nodev: %s", spec->root, strerror(errno));
	}
	/* from here on every mount point in the root is reached through
	   descriptors that never follow the server's links */
	rootfd = open(spec->root ? spec->root : "/", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return vctx_set_error(err, errno, "cannot open %s: %s", spec->root ? spec->root : "/", strerror(errno));
	if ((fd = root_dir(rootfd, root, "proc", err)) < 0 || setup_proc(fd, spec->secure, err))
		goto out;
	close(fd);
	fd = -1;
	if (spec->secure) {
		/* without a root of its own the context sees the host's /sys (and
		   its submounts): detach it, a new sysfs cannot stack on the same one */
		if (!spec->root && umount2("/sys", MNT_DETACH) < 0 && errno != EINVAL) {
			vctx_set_error(err, errno, "cannot detach the host's /sys: %s", strerror(errno));
			goto out;
		}
		if ((fd = root_dir(rootfd, root, "sys", err)) < 0 || setup_sys(fd, err))
			goto out;
		close(fd);
		fd = -1;
	}
	if (spec->secure || spec->root) {
		if ((fd = root_dir(rootfd, root, "dev", err)) < 0 || setup_dev(spec, fd, xid, err))
			goto out;
		if (spec->secure && views && inside_views(root, views, err))
			goto out;
	} else {
		/* bare context: only the XID file, on a tiny tmpfs over the host's /dev/vctx */
		static const char *const opts[] = { "mode", "0755", "size", "16k", NULL };
		int m = fs_new("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
		if (m < 0 || move_mount(m, "", AT_FDCWD, "/dev/vctx", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
			if (m >= 0) {
				vctx_set_error(err, errno, "cannot mount tmpfs on /dev/vctx: %s", strerror(errno));
				close(m);
			}
			goto out;
		}
		rc = write_xid(m, spec, xid, err);
		close(m);
		if (rc)
			goto out;
		rc = -1;
	}
	if (spec->root) {
		if (fchdir(rootfd) < 0) {
			vctx_set_error(err, errno, "cannot enter %s: %s", spec->root, strerror(errno));
			goto out;
		}
		/* the test switch's plain chroot keeps the host's tree in the
		   namespace: a chroot-breakout then reaches it */
		if (vctx_weakened("pivot_root")) {
			if (chroot(".") < 0 || chdir("/") < 0) {
				vctx_set_error(err, errno, "chroot %s: %s", spec->root, strerror(errno));
				goto out;
			}
			rc = 0;
			goto out;
		}
		if (syscall(SYS_pivot_root, ".", ".") < 0) {
			vctx_set_error(err, errno, "pivot_root into %s failed: %s", spec->root, strerror(errno));
			goto out;
		}
		if (umount2(".", MNT_DETACH) < 0) {
			vctx_set_error(err, errno, "cannot detach the old root: %s", strerror(errno));
			goto out;
		}
		if (chdir("/") < 0) {
			vctx_set_error(err, errno, "chdir /: %s", strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	close(rootfd);
	return rc;
}

/* the host's /dev/vctx/xid ("0"), so bare contexts have a mount point */
int vctx_host_xid_file(vctx_error *err)
{
	struct stat st;
	if (stat(VCTX_XID_FILE, &st) == 0)
		return 0;
	if (mkdir("/dev/vctx", 0755) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create /dev/vctx: %s", strerror(errno));
	int fd = open(VCTX_XID_FILE, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0)
		return vctx_set_error(err, errno, "cannot create %s: %s", VCTX_XID_FILE, strerror(errno));
	if (write(fd, "0\n", 2) != 2) {
		close(fd);
		return vctx_set_error(err, errno, "cannot write %s", VCTX_XID_FILE);
	}
	close(fd);
	return 0;
}
