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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include "internal.h"

static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/proc/sysrq-trigger", "/sys/firmware", "/sys/devices/virtual/powercap",
	"/sys/kernel/debug", "/sys/kernel/security",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
};

static int mnt(const char *src, const char *dst, const char *type, unsigned long fl,
	       const char *data, vctx_error *err)
{
	if (mount(src, dst, type, fl, data) < 0)
		return vctx_set_error(err, errno, "cannot mount %s on %s: %s", type ? type : src, dst, strerror(errno));
	return 0;
}

static void path_in(char *out, size_t len, const char *root, const char *p)
{
	snprintf(out, len, "%s%s", root, p);
}

static int bind_ro(const char *path, vctx_error *err)
{
	if (mnt(path, path, NULL, MS_BIND | MS_REC, NULL, err))
		return -1;
	return mnt(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_REC, NULL, err);
}

static int mask_and_protect(const char *root, vctx_error *err)
{
	char p[512], empty[512] = "";
	struct stat st;

	for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++) {
		path_in(p, sizeof(p), root, masked_paths[i]);
		if (stat(p, &st) < 0)
			continue;	/* absent on this kernel: nothing to mask */
		if (!S_ISDIR(st.st_mode)) {
			if (mnt("/dev/null", p, NULL, MS_BIND, NULL, err))
				return -1;
		} else if (empty[0]) {
			/* the other directories show the same empty, read-only tmpfs
			   (a bind is cheaper than a new superblock each) */
			if (mnt(empty, p, NULL, MS_BIND, NULL, err))
				return -1;
		} else {
			if (mnt("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555", err))
				return -1;
			snprintf(empty, sizeof(empty), "%s", p);
		}
	}
	for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++) {
		path_in(p, sizeof(p), root, readonly_paths[i]);
		if (stat(p, &st) < 0)
			continue;
		if (bind_ro(p, err))
			return -1;
	}
	return 0;
}

static int mkfile(const char *p, mode_t mode)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* a read-only file @dir/@name holding @val (what the host tells the context) */
static int write_ro(const char *dir, const char *name, const char *val, vctx_error *err)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0 || write(fd, val, strlen(val)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vctx_set_error(err, e, "cannot write %s: %s", p, strerror(e));
	}
	close(fd);
	/* read-only even for root with CAP_DAC_OVERRIDE */
	return bind_ro(p, err);
}

/* VCTX_XID_FILE and VCTX_FLAGS_FILE in @dir (the context's /dev/vctx) */
static int write_xid(const char *dir, const struct vctx_spec *spec, uint32_t xid, vctx_error *err)
{
	char val[160];

	snprintf(val, sizeof(val), "%u\n", xid);
	if (write_ro(dir, "xid", val, err))
		return -1;
	vctx_flags_format(spec->flags, val, sizeof(val) - 1);
	strcat(val, "\n");
	return write_ro(dir, "flags", val, err);
}

/* a private minimal /dev: device nodes, own devpts, shm, mqueue, xid and flags, reboot socket */
static int setup_dev(const struct vctx_spec *spec, const char *root, uint32_t xid, vctx_error *err)
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
	char dev[480], p[560];

	path_in(dev, sizeof(dev), root, "/dev");
	mkdir(dev, 0755);
	if (mnt("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1024k,nr_inodes=4096", err))
		return -1;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dev, nodes[i].name);
		if (mknod(p, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
			return vctx_set_error(err, errno, "cannot create %s: %s", p, strerror(errno));
		chmod(p, 0666);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dev, links[i].name);
		if (symlink(links[i].target, p) < 0)
			return vctx_set_error(err, errno, "cannot create %s: %s", p, strerror(errno));
	}
	snprintf(p, sizeof(p), "%s/pts", dev);
	mkdir(p, 0755);
	if (mnt("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", err))
		return -1;
	snprintf(p, sizeof(p), "%s/shm", dev);
	mkdir(p, 01777);
	if (mnt("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k", err))
		return -1;
	snprintf(p, sizeof(p), "%s/mqueue", dev);
	mkdir(p, 0755);
	if (mount("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		rmdir(p);	/* POSIX message queues are optional */
	if (spec->console) {
		snprintf(p, sizeof(p), "%s/console", dev);
		if (mkfile(p, 0600) < 0 || mnt(spec->console, p, NULL, MS_BIND, NULL, err))
			return -1;
	}
	if (spec->reboot_socket) {
		snprintf(p, sizeof(p), "%s/reboot", dev);
		if (mkfile(p, 0666) < 0 || mnt(spec->reboot_socket, p, NULL, MS_BIND, NULL, err))
			return -1;
	}
	snprintf(p, sizeof(p), "%s/vctx", dev);
	mkdir(p, 0755);
	return write_xid(p, spec, xid, err);
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
static const char *const lxcfs_files[] = {
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

/* lxcfs's files over the context's (those both sides have) */
static int bind_lxcfs(const char *root, vctx_error *err)
{
	char src[256], dst[512];
	struct stat st;

	for (size_t i = 0; i < sizeof(lxcfs_files) / sizeof(lxcfs_files[0]); i++) {
		snprintf(src, sizeof(src), "%s%s", VCTX_LXCFS_DIR, lxcfs_files[i]);
		path_in(dst, sizeof(dst), root, lxcfs_files[i]);
		/* only what the root has; lxcfs's side is not looked up first
		   (each lookup is a round trip to the daemon): a file it lacks
		   fails the bind with ENOENT and is left out */
		if (stat(dst, &st) < 0)
			continue;
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return vctx_set_error(err, errno, "cannot bind %s over %s: %s", src, dst, strerror(errno));
		}
	}
	return 0;
}

/*
 * vctx-netview's directory at @root/dev/vctx/net, and a symbolic link
 * /proc/net -> /dev/vctx/net mounted over the context's /proc/net (itself
 * a link to self/net: a bind through it would cover one process only).
 */
static int mount_netview(const char *root, vctx_error *err)
{
	char dir[512], lnk[512], p[512];
	int src = -1, dst = -1, rc = -1;

	path_in(dir, sizeof(dir), root, "/dev/vctx/net");
	if (mkdir(dir, 0555) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create %s: %s", dir, strerror(errno));
	if (mnt(VCTX_NETVIEW_DIR, dir, NULL, MS_BIND, NULL, err))
		return -1;
	path_in(lnk, sizeof(lnk), root, "/dev/vctx/.proc-net");
	unlink(lnk);
	if (symlink("/dev/vctx/net", lnk) < 0)
		return vctx_set_error(err, errno, "cannot create %s: %s", lnk, strerror(errno));
	src = (int)syscall(SYS_open_tree, AT_FDCWD, lnk, OPEN_TREE_CLONE | AT_SYMLINK_NOFOLLOW | O_CLOEXEC);
	path_in(p, sizeof(p), root, "/proc/net");
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

static int inside_views(const char *root, vctx_error *err)
{
	unsigned v = vctx_views_available();

	if ((v & VCTX_VIEW_LXCFS) && bind_lxcfs(root, err))
		return -1;
	if ((v & VCTX_VIEW_NETVIEW) && mount_netview(root, err))
		return -1;
	return 0;
}

/**
 * vctx_setup_mounts - build the context's mount namespace (the caller has
 * unshared it) and, when spec->root is set, pivot into it.
 */
int vctx_setup_mounts(const struct vctx_spec *spec, uint32_t xid, vctx_error *err)
{
	const char *root = spec->root ? spec->root : "";
	char p[512];

	/* host mount events still reach us (unmounts release); ours never leave */
	if (mnt(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL, err))
		return -1;
	if (spec->root && mnt(spec->root, spec->root, NULL, MS_BIND | MS_REC, NULL, err))
		return -1;
	path_in(p, sizeof(p), root, "/proc");
	mkdir(p, 0555);
	if (mnt("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err))
		return -1;
	if (spec->secure) {
		path_in(p, sizeof(p), root, "/sys");
		mkdir(p, 0555);
		/* without a root of its own the context sees the host's /sys (and
		   its submounts): detach it, a new sysfs cannot stack on the same one */
		if (!spec->root && umount2("/sys", MNT_DETACH) < 0 && errno != EINVAL)
			return vctx_set_error(err, errno, "cannot detach the host's /sys: %s", strerror(errno));
		if (mnt("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err))
			return -1;
		path_in(p, sizeof(p), root, "/sys/fs/cgroup");
		if (mnt("cgroup2", p, "cgroup2", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err))
			return -1;
		if (!vctx_weakened("procmask") && mask_and_protect(root, err))
			return -1;
	}
	if (spec->secure || spec->root) {
		if (setup_dev(spec, root, xid, err))
			return -1;
		if (spec->secure && inside_views(root, err))
			return -1;
	} else {
		/* bare context: only the XID file, on a tiny tmpfs over the host's /dev/vctx */
		if (mnt("tmpfs", "/dev/vctx", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k", err) ||
		    write_xid("/dev/vctx", spec, xid, err))
			return -1;
	}
	if (spec->root) {
		if (chdir(spec->root) < 0)
			return vctx_set_error(err, errno, "cannot enter %s: %s", spec->root, strerror(errno));
		/* the test switch's plain chroot keeps the host's tree in the
		   namespace: a chroot-breakout then reaches it */
		if (vctx_weakened("pivot_root")) {
			if (chroot(".") < 0)
				return vctx_set_error(err, errno, "chroot %s: %s", spec->root, strerror(errno));
			return chdir("/") < 0 ? vctx_set_error(err, errno, "chdir /: %s", strerror(errno)) : 0;
		}
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return vctx_set_error(err, errno, "pivot_root into %s failed: %s", spec->root, strerror(errno));
		if (umount2(".", MNT_DETACH) < 0)
			return vctx_set_error(err, errno, "cannot detach the old root: %s", strerror(errno));
		if (chdir("/") < 0)
			return vctx_set_error(err, errno, "chdir /: %s", strerror(errno));
	}
	return 0;
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
