// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-server disk limits (DISK_MAX): ext4 and XFS project quotas.
 *
 * A server's tree carries one project id (FS_IOC_FSSETXATTR: fsx_projid
 * and FS_XFLAG_PROJINHERIT on every directory, so that what the server
 * creates inherits it), and the file system's quota for that project
 * (quotactl_fd PRJQUOTA) is the limit.  The id is recorded where the
 * kernel keeps it, on the server's root directory; a tree without one of
 * ours (below VCTX_PROJID_BASE) gets the lowest id from the base up that
 * the file system has no quota entry for (Q_GETNEXTQUOTA), chosen under
 * an flock of the directory holding the root, so two starts never pick
 * the same one.
 *
 * The walk is fd-based and never follows a symlink or leaves the file
 * system: a running server may rename and replace its files meanwhile.
 * Each directory is opened by name relative to its parent's fd with
 * O_NOFOLLOW|O_DIRECTORY, each regular file with O_PATH|O_NOFOLLOW and
 * reopened through /proc/self/fd after fstat said it is a regular file,
 * so no device node, FIFO or symlink is ever opened; other inodes (their
 * blocks are few) keep the id they were created with.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/quota.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/dqblk_xfs.h>
#include "internal.h"

#ifndef PRJQUOTA
#define PRJQUOTA 2
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif
#ifndef Q_GETNEXTQUOTA
#define Q_GETNEXTQUOTA 0x800009
struct if_nextdqblk {
	uint64_t dqb_bhardlimit, dqb_bsoftlimit, dqb_curspace, dqb_ihardlimit, dqb_isoftlimit, dqb_curinodes;
	uint64_t dqb_btime, dqb_itime;
	uint32_t dqb_valid, dqb_id;
};
#endif

/* a directory tree deeper than this is refused (each level holds an fd) */
#define VCTX_QUOTA_MAX_DEPTH 512

static long qctl(int fd, int cmd, uint32_t id, void *addr)
{
	return syscall(SYS_quotactl_fd, fd, QCMD(cmd, PRJQUOTA), id, addr);
}

static int open_root(const char *root, vctx_error *err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		vctx_set_error(err, errno, "cannot open %s: %s", root, strerror(errno));
	return fd;
}

/**
 * vctx_quota_probe - what the file system holding @path offers: its
 * statfs type, whether it accounts and enforces project quotas, and
 * whether an inode there can carry a project id.  Never fails for a file
 * system without quotas: that is what out says.
 */
int vctx_quota_probe(const char *path, struct vctx_quota_fs *out, vctx_error *err)
{
	memset(out, 0, sizeof(*out));
	int fd = open_root(path, err);
	if (fd < 0)
		return -1;
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0)
		out->fs_type = (unsigned long)sf.f_type;
	struct stat st;
	if (fstat(fd, &st) == 0) {
		out->dev_major = major(st.st_dev);
		out->dev_minor = minor(st.st_dev);
	}
	struct fs_quota_stat qs;
	memset(&qs, 0, sizeof(qs));
	if (qctl(fd, Q_XGETQSTAT, 0, &qs) == 0) {
		out->accounting = !!(qs.qs_flags & FS_QUOTA_PDQ_ACCT);
		out->enforced = !!(qs.qs_flags & FS_QUOTA_PDQ_ENFD);
	} else {
		out->quota_errno = errno;
		/* no Q_XGETQSTAT (or not for this type): a quota that answers Q_GETINFO is on */
		struct if_dqinfo di;
		if (qctl(fd, Q_GETINFO, 0, &di) == 0) {
			out->accounting = out->enforced = 1;
			out->quota_errno = 0;
		}
	}
	struct fsxattr fa;
	out->projid_ok = ioctl(fd, FS_IOC_FSGETXATTR, &fa) == 0;
	close(fd);
	return 0;
}

/** vctx_quota_project_of - the project id of directory @root (0: none) */
int vctx_quota_project_of(const char *root, uint32_t *projid, int *inherit, vctx_error *err)
{
	int fd = open_root(root, err);
	if (fd < 0)
		return -1;
	struct fsxattr fa;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa) < 0) {
		int e = errno;
		close(fd);
		return vctx_set_error(err, e, "cannot read the project id of %s: %s", root, strerror(e));
	}
	close(fd);
	*projid = fa.fsx_projid;
	if (inherit)
		*inherit = !!(fa.fsx_xflags & FS_XFLAG_PROJINHERIT);
	return 0;
}

/* the lowest id >= base the file system of fd has no quota entry for */
static int free_project_id(int fd, uint32_t base, uint32_t *out, vctx_error *err)
{
	uint32_t id = base;
	for (int guard = 0; guard < 1 << 20; guard++) {
		struct if_nextdqblk nq;
		memset(&nq, 0, sizeof(nq));
		if (qctl(fd, Q_GETNEXTQUOTA, id, &nq) < 0) {
			if (errno == ENOENT) {	/* no entry from id up */
				*out = id;
				return 0;
			}
			if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
				return vctx_set_error(err, errno, "cannot list the project quotas: %s", strerror(errno));
			/* no Q_GETNEXTQUOTA: look at each id */
			struct if_dqblk q;
			if (qctl(fd, Q_GETQUOTA, id, &q) < 0)
				return vctx_set_error(err, errno, "cannot read project quota %u: %s", id, strerror(errno));
			if (!q.dqb_curspace && !q.dqb_curinodes && !q.dqb_bhardlimit && !q.dqb_ihardlimit &&
			    !q.dqb_bsoftlimit && !q.dqb_isoftlimit) {
				*out = id;
				return 0;
			}
			id++;
			continue;
		}
		if (nq.dqb_id != id) {
			*out = id;
			return 0;
		}
		if (id == UINT32_MAX - 1)
			break;
		id++;
	}
	return vctx_set_error(err, ENOSPC, "no free project id from %u up", base);
}

struct walk {
	uint32_t projid;
	dev_t dev;
	int own_layers;	/* the root is a unified server's ROOTDIR/.vctx-unified/NAME */
	struct vctx_quota_tag_stats *st;
	vctx_error *err;
};

/*
 * @root (resolved) is a unified server's own layers, ROOTDIR/.vctx-unified/NAME:
 * its "lower" (the shared layer, or a directory of links into the store
 * when the layer could not be shared) never carries the server's id.
 */
static int is_own_layers(const char *root)
{
	char real[PATH_MAX];
	if (!realpath(root, real))
		return 0;
	const char *slash = strrchr(real, '/');
	size_t dl = slash ? (size_t)(slash - real) : 0;
	return dl >= 14 && !memcmp(real + dl - 14, "/.vctx-unified", 14);
}

/* an entry of the own layers' top the walk leaves alone: the shared lower layer */
static int shared_top(const struct walk *w, int depth, const char *n)
{
	return w->own_layers && depth == 0 && !strncmp(n, "lower", 5) && (!n[5] || n[5] == '.');
}

/* gives the file or directory open at fd the project id (and directories PROJINHERIT); id 0 takes both away */
static int tag_fd(struct walk *w, int fd, int is_dir, const char *what)
{
	struct fsxattr fa;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa) < 0)
		return vctx_set_error(w->err, errno, "cannot read the attributes of %s: %s", what, strerror(errno));
	/* HASATTR is the kernel's to report (XFS: the inode has xattrs), never to set */
	unsigned have = fa.fsx_xflags & ~FS_XFLAG_HASATTR;
	unsigned want = w->projid ? have | (is_dir ? FS_XFLAG_PROJINHERIT : 0) : have & ~FS_XFLAG_PROJINHERIT;
	if (fa.fsx_projid == w->projid && have == want)
		return 0;
	fa.fsx_projid = w->projid;
	fa.fsx_xflags = want;
	if (ioctl(fd, FS_IOC_FSSETXATTR, &fa) < 0)
		return vctx_set_error(w->err, errno, "cannot set project %u on %s: %s%s", w->projid, what, strerror(errno),
				      errno == EDQUOT ? " (the server is over its limit already)" : "");
	w->st->tagged++;
	return 0;
}

/* tags directory @dfd (already open) and everything below it */
static int tag_dir(struct walk *w, int dfd, const char *path, int depth)
{
	if (tag_fd(w, dfd, 1, path) < 0) {
		close(dfd);
		return -1;
	}
	if (depth >= VCTX_QUOTA_MAX_DEPTH) {
		close(dfd);
		return vctx_set_error(w->err, ELOOP, "%s: the tree is deeper than %d directories", path,
				      VCTX_QUOTA_MAX_DEPTH);
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return vctx_set_error(w->err, e, "cannot read %s: %s", path, strerror(e));
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		if (shared_top(w, depth, n)) {
			w->st->skipped++;
			continue;
		}
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, n);
		struct stat st;
		if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)	/* removed meanwhile */
				continue;
			rc = vctx_set_error(w->err, errno, "cannot stat %s: %s", sub, strerror(errno));
			break;
		}
		if (st.st_dev != w->dev) {	/* a mount point: another file system */
			w->st->skipped++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)	/* replaced meanwhile */
					continue;
				rc = vctx_set_error(w->err, errno, "cannot open %s: %s", sub, strerror(errno));
				break;
			}
			struct stat cst;
			if (fstat(cfd, &cst) < 0 || cst.st_dev != w->dev) {
				close(cfd);
				w->st->skipped++;
				continue;
			}
			rc = tag_dir(w, cfd, sub, depth + 1);	/* closes cfd */
		} else if (S_ISREG(st.st_mode)) {
			int pfd = openat(dfd, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (pfd < 0)
				continue;	/* gone or replaced by a symlink meanwhile */
			struct stat pst;
			if (fstat(pfd, &pst) < 0 || !S_ISREG(pst.st_mode) || pst.st_dev != w->dev) {
				close(pfd);
				w->st->skipped++;
				continue;
			}
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
			int ffd = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOATIME);
			if (ffd < 0 && errno == EPERM)
				ffd = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
			close(pfd);
			if (ffd < 0) {
				rc = vctx_set_error(w->err, errno, "cannot open %s: %s", sub, strerror(errno));
				break;
			}
			rc = tag_fd(w, ffd, 0, sub);
			close(ffd);
		} else {
			w->st->skipped++;	/* symlink, device node, FIFO, socket: never opened */
		}
	}
	if (rc == 0 && errno)
		rc = vctx_set_error(w->err, errno, "cannot read %s: %s", path, strerror(errno));
	closedir(d);
	return rc;
}

/**
 * vctx_quota_tag_tree - project id @projid on @root and everything below
 * it on the same file system (directories with PROJINHERIT).  Files that
 * carry it already are left alone, so a second run costs reads only.
 * @projid 0 untags: the file system's default id, no PROJINHERIT (unify
 * does it to a tree before its files become objects several servers share).
 * Symbolic links, device nodes, FIFOs and sockets are never opened, so
 * never tagged nor untagged.  In a unified server's own layers
 * (ROOTDIR/.vctx-unified/NAME) the shared lower layer is left alone.
 */
int vctx_quota_tag_tree(const char *root, uint32_t projid, struct vctx_quota_tag_stats *st, vctx_error *err)
{
	struct vctx_quota_tag_stats dummy;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	int fd = open_root(root, err);
	if (fd < 0)
		return -1;
	struct stat rst;
	if (fstat(fd, &rst) < 0) {
		int e = errno;
		close(fd);
		return vctx_set_error(err, e, "cannot stat %s: %s", root, strerror(e));
	}
	struct walk w = {.projid = projid, .dev = rst.st_dev, .own_layers = is_own_layers(root), .st = st, .err = err};
	return tag_dir(&w, fd, root, 0);
}

/**
 * vctx_quota_set - the block limit of project @projid on the file system
 * of @path: @bytes (rounded up to 1 KiB blocks), 0 = none.
 */
int vctx_quota_set(const char *path, uint32_t projid, uint64_t bytes, vctx_error *err)
{
	int fd = open_root(path, err);
	if (fd < 0)
		return -1;
	struct if_dqblk q;
	memset(&q, 0, sizeof(q));
	q.dqb_bhardlimit = q.dqb_bsoftlimit = (bytes + 1023) / 1024;
	q.dqb_valid = QIF_BLIMITS;
	long rc = qctl(fd, Q_SETQUOTA, projid, &q);
	int e = errno;
	close(fd);
	if (rc < 0)
		return vctx_set_error(err, e, "cannot set the quota of project %u: %s", projid, strerror(e));
	return 0;
}

/** vctx_quota_get - use and block limit of project @projid on the file system of @path */
int vctx_quota_get(const char *path, uint32_t projid, struct vctx_quota_use *out, vctx_error *err)
{
	int fd = open_root(path, err);
	if (fd < 0)
		return -1;
	struct if_dqblk q;
	memset(&q, 0, sizeof(q));
	long rc = qctl(fd, Q_GETQUOTA, projid, &q);
	int e = errno;
	close(fd);
	if (rc < 0)
		return vctx_set_error(err, e, "cannot read the quota of project %u: %s", projid, strerror(e));
	out->used_bytes = q.dqb_curspace;
	out->limit_bytes = q.dqb_bhardlimit * 1024;
	out->inodes = q.dqb_curinodes;
	return 0;
}

/**
 * vctx_quota_apply - DISK_MAX for the server tree @root: give the tree a
 * project id of its own if it has none of ours (under an flock of the
 * roots directory holding it), tag every file, then set the limit to @bytes
 * (0 = none).  The file system must account and enforce project quotas
 * (vctx_quota_probe; the caller words the refusal).  *projid is the id.
 */
int vctx_quota_apply(const char *root, uint64_t bytes, uint32_t *projid, struct vctx_quota_tag_stats *st,
		     vctx_error *err)
{
	uint32_t id = 0;
	if (vctx_quota_project_of(root, &id, NULL, err) < 0)
		return -1;
	if (id < VCTX_PROJID_BASE) {
		/* the roots directory: ROOTDIR/NAME's parent, or for a unified server's own
		   layers ROOTDIR/.vctx-unified/NAME its grandparent, so that both kinds of
		   server take their ids under one lock */
		char parent[4096];
		snprintf(parent, sizeof(parent), is_own_layers(root) ? "%s/../.." : "%s/..", root);
		int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			return vctx_set_error(err, errno, "cannot open %s: %s", parent, strerror(errno));
		if (flock(pfd, LOCK_EX) < 0) {
			int e = errno;
			close(pfd);
			return vctx_set_error(err, e, "cannot lock %s: %s", parent, strerror(e));
		}
		/* the ids of the root's own file system (it may be a mount of its own) */
		int rfd = open_root(root, err);
		int rc = rfd < 0 ? -1 : free_project_id(rfd, VCTX_PROJID_BASE, &id, err);
		if (rfd >= 0)
			close(rfd);
		if (rc == 0)
			rc = vctx_quota_tag_tree(root, id, st, err);
		close(pfd);	/* the lock goes with it: the root now holds the id */
		if (rc < 0)
			return -1;
	} else if (vctx_quota_tag_tree(root, id, st, err) < 0) {
		return -1;
	}
	*projid = id;
	return vctx_quota_set(root, id, bytes, err);
}
