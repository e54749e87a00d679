// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cgroups: layout detection (pure cgroup2, or the hybrid of a cgroup2
 * mount beside v1 controllers), the context's cgroup named by XID, and
 * its limits.  Contexts live under <cgroup2>/vctx; where a controller
 * sits on v1, a directory with the same relative path is made there.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include "internal.h"

static const char *const ctl_names[VCTX_CTL__COUNT] = {
	[VCTX_CTL_PIDS] = "pids", [VCTX_CTL_MEMORY] = "memory", [VCTX_CTL_CPU] = "cpu",
	[VCTX_CTL_CPUACCT] = "cpuacct", [VCTX_CTL_FREEZER] = "freezer",
};

static struct vctx_cgroup_layout layout;
static int layout_done;

static int has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += wl) {
		int start = p == list || p[-1] == ',' || p[-1] == ' ';
		int end = p[wl] == 0 || p[wl] == ',' || p[wl] == ' ' || p[wl] == '\n';
		if (start && end)
			return 1;
	}
	return 0;
}

/**
 * vctx_cgroup_layout - detect where cgroup2 and each controller live.
 * Cached after the first successful call.
 */
VCTX_API const struct vctx_cgroup_layout *vctx_cgroup_layout(vctx_error *err)
{
	FILE *f;
	char line[4096], ctls[512] = "";

	if (layout_done)
		return &layout;
	memset(&layout, 0, sizeof(layout));
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		vctx_set_error(err, errno, "cannot read /proc/self/mountinfo: %s", strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char root[256], mnt[256], *dash = strstr(line, " - ");
		char fstype[64], source[256], super[1024];
		if (!dash || sscanf(line, "%*d %*d %*s %255s %255s", root, mnt) != 2)
			continue;
		if (sscanf(dash + 3, "%63s %255s %1023s", fstype, source, super) < 2)
			continue;
		/* inside a cgroup namespace the host's mounts show a root such as
		   "/../.."; they still show the whole hierarchy */
		if (strcmp(fstype, "cgroup2") == 0 && !layout.v2[0])
			snprintf(layout.v2, sizeof(layout.v2), "%s", mnt);
		else if (strcmp(fstype, "cgroup") == 0) {
			for (int c = 0; c < VCTX_CTL__COUNT; c++)
				if (has_word(super, ctl_names[c]) && !layout.v1path[c][0])
					snprintf(layout.v1path[c], sizeof(layout.v1path[c]), "%s", mnt);
		}
	}
	fclose(f);
	if (!layout.v2[0]) {
		vctx_set_error(err, ENOENT, "no cgroup2 mount found: vctx needs the unified hierarchy (Linux 4.5+, mounted e.g. at /sys/fs/cgroup or /sys/fs/cgroup/unified)");
		return NULL;
	}
	{
		int fd = open(layout.v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			vctx_read_file_at(fd, "cgroup.controllers", ctls, sizeof(ctls));
			close(fd);
		}
	}
	for (int c = 0; c < VCTX_CTL__COUNT; c++) {
		if (c == VCTX_CTL_CPUACCT)
			layout.where[c] = 2;	/* cpu.stat is core in cgroup2 */
		else if (c == VCTX_CTL_FREEZER)
			layout.where[c] = 0;	/* decided below */
		else if (has_word(ctls, ctl_names[c]))
			layout.where[c] = 2;
		else if (layout.v1path[c][0])
			layout.where[c] = 1;
		if (layout.where[c] == 1)
			layout.hybrid = 1;
	}
	/* cgroup.kill (5.14) and cgroup.freeze (5.2) exist in non-root cgroup2 dirs only:
	   probe with the kernel version instead of a scratch cgroup */
	{
		int maj = 0, min = 0;
		char rel[128];
		if (vctx_read_file_at(AT_FDCWD, "/proc/sys/kernel/osrelease", rel, sizeof(rel)) > 0)
			sscanf(rel, "%d.%d", &maj, &min);
		layout.has_kill = maj > 5 || (maj == 5 && min >= 14);
		layout.has_freeze = maj > 5 || (maj == 5 && min >= 2);
	}
	if (layout.has_freeze)
		layout.where[VCTX_CTL_FREEZER] = 2;
	else if (layout.v1path[VCTX_CTL_FREEZER][0])
		layout.where[VCTX_CTL_FREEZER] = 1;
	layout_done = 1;
	return &layout;
}

/**
 * vctx_cg_walk - visit every cgroup directory below @dirfd (relative path
 * @rel), parents before children, at most VCTX_WALK_DEPTH levels deep: the
 * one walk of a cgroup subtree (release, gc, find, the snapshot, kill).
 * @w->pre gets the child's fd, name and relative path, its XID (the
 * nearest component that names a context, vctx_xid_of_name, itself
 * included) and its parent context's XID; it returns
 * VCTX_WALK_GO, VCTX_WALK_SKIP or VCTX_WALK_STOP.  @w->post, when set,
 * runs after a child's subtree (for removals).  Returns 1 when stopped.
 */
static int walk_rec(int dirfd, const char *rel, uint32_t xid, const struct vctx_walk *w, int depth)
{
	DIR *d;
	struct dirent *e;
	int stop = 0;

	if (depth >= VCTX_WALK_DEPTH)
		return 0;
	/* a duplicate shares the offset of @dirfd: start from the top */
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);
	while (!stop && (e = readdir(d))) {
		char sub[512];
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name) >= (int)sizeof(sub))
			continue;
		int sfd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0)
			continue;
		uint32_t own = vctx_xid_of_name(e->d_name), me = own ? own : xid;
		int r = w->pre ? w->pre(sfd, e->d_name, sub, me, xid, w->arg) : VCTX_WALK_GO;
		if (r == VCTX_WALK_STOP)
			stop = 1;
		else if (r == VCTX_WALK_GO)
			stop = walk_rec(sfd, sub, me, w, depth + 1);
		if (!stop && w->post)
			w->post(dirfd, sfd, e->d_name, xid, w->arg);
		close(sfd);
	}
	closedir(d);
	return stop;
}

int vctx_cg_walk(int dirfd, const char *rel, uint32_t xid, const struct vctx_walk *w)
{
	return walk_rec(dirfd, rel, xid, w, 0);
}

/* walk everything below <cgroup2>/vctx; 0 when there is no such directory */
int vctx_cg_walk_all(const struct vctx_walk *w)
{
	const struct vctx_cgroup_layout *l = vctx_cgroup_layout(NULL);
	char root[300];
	int fd, r;

	if (!l)
		return 0;
	snprintf(root, sizeof(root), "%s/%s", l->v2, vctx_cgroup_root());
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = vctx_cg_walk(fd, vctx_cgroup_root(), 0, w);
	close(fd);
	return r;
}

struct find_arg {
	uint32_t xid;
	char *out;
	size_t len;
};

static int find_pre(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent, void *arg)
{
	struct find_arg *a = arg;
	if (vctx_all_digits(name) && xid == a->xid) {
		snprintf(a->out, a->len, "%s", rel);
		return VCTX_WALK_STOP;
	}
	return VCTX_WALK_GO;
}

int vctx_cg_find(uint32_t xid, char *rel, size_t len)
{
	struct find_arg a = { .xid = xid, .out = rel, .len = len };
	struct vctx_walk w = { .pre = find_pre, .arg = &a };
	return vctx_cg_walk_all(&w);
}

static uint32_t read_xid_file(void)
{
	char buf[32];
	if (vctx_read_file_at(AT_FDCWD, VCTX_XID_FILE, buf, sizeof(buf)) <= 0)
		return 0;
	return (uint32_t)strtoul(buf, NULL, 10);
}

/**
 * vctx_cg_own_rel - the caller's cgroup2 directory relative to the mount.
 * Inside a context (own cgroup namespace) /proc/self/cgroup is relative to
 * the context's cgroup, so it is resolved through the context's XID.
 */
int vctx_cg_own_rel(char *rel, size_t len, vctx_error *err)
{
	char buf[4096], *p, *path = NULL;
	uint32_t xid;

	if (vctx_read_file_at(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return vctx_set_error(err, errno, "cannot read /proc/self/cgroup: %s", strerror(errno));
	for (p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
		if (strncmp(p, "0::", 3) == 0)
			path = p + 3;
	if (!path)
		return vctx_set_error(err, ENOENT, "this process has no cgroup2 membership");
	xid = read_xid_file();
	if (xid > VCTX_XID_SPECTATOR && !vctx_below_root(path + 1)) {
		char base[480];
		if (!vctx_cg_find(xid, base, sizeof(base)))
			return vctx_set_error(err, ENOENT, "cannot find the cgroup of context %u", xid);
		snprintf(rel, len, "%s%s", base, strcmp(path, "/") == 0 ? "" : path);
		return 0;
	}
	snprintf(rel, len, "%s", path[0] == '/' ? path + 1 : path);
	return 0;
}

static int write_at(int dirfd, const char *file, const char *val, vctx_error *err, const char *what)
{
	if (vctx_write_file_at(dirfd, file, val) < 0)
		return vctx_set_error(err, errno, "cannot set %s (%s = %s): %s", what, file, val, strerror(errno));
	return 0;
}

static int v1_dirfd(int c, const char *rel)
{
	char p[800];
	snprintf(p, sizeof(p), "%s/%s", layout.v1path[c], rel);
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* on cgroup2, enable the controllers we need in vctx/ (pure v2 hosts) */
static void enable_v2_controllers(const char *rel_parent)
{
	char p[800], want[128] = "";
	for (int c = 0; c < VCTX_CTL__COUNT; c++)
		if (layout.where[c] == 2 && (c == VCTX_CTL_PIDS || c == VCTX_CTL_MEMORY || c == VCTX_CTL_CPU)) {
			strcat(want, want[0] ? " +" : "+");
			strcat(want, ctl_names[c]);
		}
	if (!want[0])
		return;
	/* enable from the mount root down to the parent, best effort */
	snprintf(p, sizeof(p), "%s", layout.v2);
	char tmp[480];
	snprintf(tmp, sizeof(tmp), "%s", rel_parent);
	char *save = NULL;
	for (char *t = strtok_r(tmp, "/", &save); ; t = strtok_r(NULL, "/", &save)) {
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			vctx_write_file_at(fd, "cgroup.subtree_control", want);
			close(fd);
		}
		if (!t)
			break;
		strncat(p, "/", sizeof(p) - strlen(p) - 1);
		strncat(p, t, sizeof(p) - strlen(p) - 1);
	}
}

/* is a context with this server name running? (walks vctx/, reads xattrs) */
static int name_pre(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent, void *arg)
{
	char v[128];
	if (!vctx_all_digits(name))
		return VCTX_WALK_GO;
	vctx_cg_getattr(fd, VCTX_XATTR_NAME, v, sizeof(v));
	return strcmp(v, (const char *)arg) == 0 ? VCTX_WALK_STOP : VCTX_WALK_GO;
}

static int name_used(int vctx_dirfd, const char *name)
{
	struct vctx_walk w = { .pre = name_pre, .arg = (void *)name };
	return vctx_cg_walk(vctx_dirfd, vctx_cgroup_root(), 0, &w);
}

static int used_xid(uint32_t xid)
{
	char rel[480];
	return vctx_cg_find(xid, rel, sizeof(rel));
}

int vctx_cg_apply_limits(const struct vctx_spec *spec, struct vctx_cg *cg, vctx_error *err)
{
	char val[64];
	int need[VCTX_CTL__COUNT] = { 0 };

	need[VCTX_CTL_PIDS] = spec->pids_max > 0 || spec->accounting || (spec->flags & VCTX_F_NPROC);
	need[VCTX_CTL_MEMORY] = spec->memory_max > 0 || spec->accounting;
	/* with accounting too: lxcfs's /proc/loadavg counts the tasks of the
	   context's cpu cgroup (on v1, the root's without a directory) */
	need[VCTX_CTL_CPU] = spec->cpu_weight > 0 || spec->cpu_max_pct > 0 || (spec->flags & VCTX_F_SCHED) ||
			     spec->accounting;
	need[VCTX_CTL_CPUACCT] = spec->accounting;
	need[VCTX_CTL_FREEZER] = !layout.has_kill;

	for (int c = 0; c < VCTX_CTL__COUNT; c++) {
		int fd;
		if (!need[c] || layout.where[c] != 1)
			continue;
		char p[800];
		snprintf(p, sizeof(p), "%s/%s", layout.v1path[c], cg->rel);
		if (vctx_mkdir_p(p, 0755) < 0)
			return vctx_set_error(err, errno, "cannot create cgroup %s: %s", p, strerror(errno));
		cg->v1made[c] = 1;
		fd = v1_dirfd(c, cg->rel);
		if (fd < 0)
			return vctx_set_error(err, errno, "cannot open cgroup %s: %s", p, strerror(errno));
		int rc = 0;
		if (c == VCTX_CTL_PIDS && spec->pids_max > 0) {
			snprintf(val, sizeof(val), "%lld", (long long)spec->pids_max);
			rc = write_at(fd, "pids.max", val, err, "the process limit");
		} else if (c == VCTX_CTL_MEMORY && spec->memory_max > 0) {
			snprintf(val, sizeof(val), "%lld", (long long)spec->memory_max);
			rc = write_at(fd, "memory.limit_in_bytes", val, err, "the memory limit");
		} else if (c == VCTX_CTL_CPU) {
			if (spec->cpu_weight > 0) {
				snprintf(val, sizeof(val), "%d", spec->cpu_weight * 1024 / 100 < 2 ? 2 : spec->cpu_weight * 1024 / 100);
				rc = write_at(fd, "cpu.shares", val, err, "the CPU weight");
			}
			if (!rc && spec->cpu_max_pct > 0) {
				rc = write_at(fd, "cpu.cfs_period_us", "100000", err, "the CPU period");
				snprintf(val, sizeof(val), "%d", spec->cpu_max_pct * 1000);
				if (!rc)
					rc = write_at(fd, "cpu.cfs_quota_us", val, err, "the CPU limit");
			}
		}
		close(fd);
		if (rc)
			return -1;
	}
	/* cgroup2 controllers */
	if (layout.where[VCTX_CTL_PIDS] == 2 && spec->pids_max > 0) {
		snprintf(val, sizeof(val), "%lld", (long long)spec->pids_max);
		if (write_at(cg->v2fd, "pids.max", val, err, "the process limit"))
			return -1;
	}
	if (layout.where[VCTX_CTL_MEMORY] == 2 && spec->memory_max > 0) {
		snprintf(val, sizeof(val), "%lld", (long long)spec->memory_max);
		if (write_at(cg->v2fd, "memory.max", val, err, "the memory limit"))
			return -1;
	}
	if (layout.where[VCTX_CTL_CPU] == 2) {
		if (spec->cpu_weight > 0) {
			snprintf(val, sizeof(val), "%d", spec->cpu_weight);
			if (write_at(cg->v2fd, "cpu.weight", val, err, "the CPU weight"))
				return -1;
		}
		if (spec->cpu_max_pct > 0) {
			snprintf(val, sizeof(val), "%d 100000", spec->cpu_max_pct * 1000);
			if (write_at(cg->v2fd, "cpu.max", val, err, "the CPU limit"))
				return -1;
		}
	}
	return 0;
}

/**
 * vctx_cg_create - allocate the XID and create the context's cgroup2
 * directory (claiming the server name).  Allocation is serialised by
 * flock on the vctx/ directory.  vctx_cg_apply_limits() makes the v1
 * directories and sets the limits.
 */
int vctx_cg_create(const struct vctx_spec *spec, struct vctx_cg *cg, vctx_error *err)
{
	char parent[480], p[800];
	int lockfd = -1, rc = -1;
	uint32_t xid = spec->xid;

	memset(cg, 0, sizeof(*cg));
	cg->v2fd = -1;
	if (!vctx_cgroup_layout(err))
		return -1;
	if (vctx_instance_check(err) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/%s", layout.v2, vctx_cgroup_root());
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create %s: %s", p, strerror(errno));
	lockfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		vctx_set_error(err, errno, "cannot lock %s: %s", p, strerror(errno));
		goto out;
	}
	if (vctx_cg_own_rel(parent, sizeof(parent), err) < 0)
		goto out;
	/* a context made inside a context is a child of it; otherwise under vctx/ */
	if (!vctx_below_root(parent))
		snprintf(parent, sizeof(parent), "%s", vctx_cgroup_root());
	else {
		/* strip non-context components (chbind's bind-N) */
		char *last;
		while ((last = strrchr(parent, '/')) && !vctx_all_digits(last + 1) && strcmp(parent, vctx_cgroup_root()))
			*last = 0;
	}
	if (spec->name && spec->name[0] && name_used(lockfd, spec->name)) {
		vctx_set_error_kind(err, VCTX_ERR_RUNNING, EEXIST, "server %s is already running", spec->name);
		goto out;
	}
	struct vctx_xid_range dyn;
	if (vctx_xid_allowed(xid, &dyn, err) < 0)
		goto out;
	if (xid) {
		if (used_xid(xid)) {
			vctx_set_error_kind(err, VCTX_ERR_BUSY, EBUSY, "context %u is already in use", xid);
			goto out;
		}
	} else {
		/* dynamic: start at a time-derived point so quick reuse is unlikely
		   (a named instance: anywhere in its range, docs/instances.md) */
		uint32_t span = dyn.hi - dyn.lo + 1;
		uint32_t start = (uint32_t)(time(NULL) ^ getpid()) % span;
		for (uint32_t i = 0; i < span; i++) {
			uint32_t cand = dyn.lo + (start + i) % span;
			if (!used_xid(cand)) {
				xid = cand;
				break;
			}
		}
		if (!xid) {
			vctx_set_error(err, EAGAIN, "no free dynamic context number (%u..%u all in use)", dyn.lo, dyn.hi);
			goto out;
		}
	}
	cg->xid = xid;
	if (vctx_pathf(cg->rel, sizeof(cg->rel), "%s/%u", parent, xid) < 0 ||
	    vctx_pathf(p, sizeof(p), "%s/%s", layout.v2, cg->rel) < 0) {
		vctx_set_error(err, ENAMETOOLONG, "the cgroup path of context %u below %s is too long", xid, parent);
		cg->rel[0] = 0;
		goto out;
	}
	enable_v2_controllers(parent);
	if (mkdir(p, 0755) < 0) {
		if (errno == EEXIST)
			vctx_set_error_kind(err, VCTX_ERR_BUSY, EBUSY, "context %u is already in use", xid);
		else
			vctx_set_error(err, errno, "cannot create cgroup %s: %s", p, strerror(errno));
		cg->rel[0] = 0;
		goto out;
	}
	cg->v2fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->v2fd < 0) {
		vctx_set_error(err, errno, "cannot open cgroup %s: %s", p, strerror(errno));
		goto out;
	}
	/* the name is claimed under the lock, so two starts cannot both win */
	if (spec->name && spec->name[0] && vctx_cg_setattr(cg->v2fd, VCTX_XATTR_NAME, spec->name, err) < 0)
		goto out;
	/* and the monitor too: an empty context whose monitor is gone is a
	   leftover (released by the next vctx_list), one whose monitor lives
	   is being started */
	{
		char mon[64];
		uint64_t start = 0;
		vctx_starttime(0, &start);
		snprintf(mon, sizeof(mon), "%d %llu", getpid(), (unsigned long long)start);
		if (vctx_cg_setattr(cg->v2fd, VCTX_XATTR_MONITOR, mon, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (lockfd >= 0)
		close(lockfd);	/* releases the flock */
	if (rc < 0)
		vctx_cg_destroy(cg);
	return rc;
}

int vctx_cg_add_pid_v1(const struct vctx_cg *cg, pid_t pid, vctx_error *err)
{
	char val[32];

	snprintf(val, sizeof(val), "%d", pid);
	for (int c = 0; c < VCTX_CTL__COUNT; c++) {
		if (!cg->v1made[c])
			continue;
		int fd = v1_dirfd(c, cg->rel);
		if (fd < 0 || vctx_write_file_at(fd, "cgroup.procs", val) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return vctx_set_error(err, e, "cannot move %d into the %s cgroup %s: %s", pid,
					      ctl_names[c], cg->rel, strerror(e));
		}
		close(fd);
	}
	return 0;
}

/* join every cgroup (v2 + v1) of the context */
int vctx_cg_join(const struct vctx_cg *cg, pid_t pid, vctx_error *err)
{
	char val[32];
	snprintf(val, sizeof(val), "%d", pid);
	if (vctx_write_file_at(cg->v2fd, "cgroup.procs", val) < 0)
		return vctx_set_error(err, errno, "cannot join cgroup %s: %s", cg->rel, strerror(errno));
	return vctx_cg_add_pid_v1(cg, pid, err);
}

static void rmdir_tree(const char *base, const char *rel)
{
	char p[800];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	/* remove child cgroups first (chbind's bind-N, nested leftovers) */
	DIR *d = opendir(p);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_type == DT_DIR && e->d_name[0] != '.') {
				char sub[600];
				snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
				rmdir_tree(base, sub);
			}
		closedir(d);
	}
	rmdir(p);
}

void vctx_cg_destroy(struct vctx_cg *cg)
{
	if (cg->v2fd >= 0) {
		close(cg->v2fd);
		cg->v2fd = -1;
	}
	if (!cg->rel[0])
		return;
	for (int c = 0; c < VCTX_CTL__COUNT; c++) {
		/* v1 dirs: made by us, or found to exist (release after a crash) */
		if (layout.v1path[c][0])
			rmdir_tree(layout.v1path[c], cg->rel);
	}
	rmdir_tree(layout.v2, cg->rel);
}

int vctx_cg_open(uint32_t xid, struct vctx_cg *cg, vctx_error *err)
{
	char rel[480];

	memset(cg, 0, sizeof(*cg));
	cg->v2fd = -1;
	if (!vctx_cgroup_layout(err))
		return -1;
	if (!vctx_cg_find(xid, rel, sizeof(rel)))
		return vctx_set_error(err, ESRCH, "context %u is not running", xid);
	return vctx_cg_open_rel(xid, rel, cg, err);
}

/* open the cgroups of context @xid whose cgroup2 path (relative) is known */
int vctx_cg_open_rel(uint32_t xid, const char *rel, struct vctx_cg *cg, vctx_error *err)
{
	char p[800];

	memset(cg, 0, sizeof(*cg));
	cg->v2fd = -1;
	if (!vctx_cgroup_layout(err))
		return -1;
	snprintf(cg->rel, sizeof(cg->rel), "%s", rel);
	cg->xid = xid;
	snprintf(p, sizeof(p), "%s/%s", layout.v2, cg->rel);
	cg->v2fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->v2fd < 0)
		return vctx_set_error(err, errno, "cannot open cgroup %s: %s", p, strerror(errno));
	for (int c = 0; c < VCTX_CTL__COUNT; c++) {
		if (layout.where[c] != 1)
			continue;
		int fd = v1_dirfd(c, cg->rel);
		if (fd >= 0) {
			cg->v1made[c] = 1;
			close(fd);
		}
	}
	return 0;
}

/*
 * wait until the file @file below @dfd reads @want (a line or a keyed
 * value): woken by the cgroup's notification (POLLPRI: cgroup.events,
 * cgroup.freeze), else every @poll_ms at most; @timeout_ms < 0 waits for
 * ever.  0 once it does, -1 on timeout (ETIMEDOUT) or a read error.
 */
int vctx_cg_wait_value(int dfd, const char *file, const char *want, int timeout_ms, int poll_ms)
{
	char buf[512];
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	struct timespec start, now;

	if (fd < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n >= 0) {
			buf[n] = 0;
			if (strstr(buf, want)) {
				close(fd);
				return 0;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long el = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (timeout_ms >= 0 && el >= timeout_ms)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		poll(&pfd, 1, timeout_ms < 0 || timeout_ms - el > poll_ms ? poll_ms : (int)(timeout_ms - el));
	}
	close(fd);
	errno = ETIMEDOUT;
	return -1;
}

/* wait until cgroup.events says populated 0; 0 on empty, -1 on timeout */
int vctx_cg_wait_empty(int v2fd, int timeout_ms)
{
	return vctx_cg_wait_value(v2fd, "cgroup.events", "populated 0", timeout_ms, timeout_ms < 0 ? 1000 : 200);
}

void vctx_cg_getattr(int v2fd, const char *name, char *buf, size_t len)
{
	char p[64];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", v2fd);
	n = getxattr(p, name, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
}

int vctx_cg_setattr(int v2fd, const char *name, const char *value, vctx_error *err)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", v2fd);
	if (setxattr(p, name, value, strlen(value), 0) < 0)
		return vctx_set_error(err, errno, "cannot record %s on the context's cgroup: %s", name, strerror(errno));
	return 0;
}

VCTX_API int vctx_cgroup_self(char *path, size_t len, vctx_error *err)
{
	char rel[480];

	if (!vctx_cgroup_layout(err) || vctx_cg_own_rel(rel, sizeof(rel), err) < 0)
		return -1;
	snprintf(path, len, "%s%s%s", layout.v2, rel[0] ? "/" : "", rel);
	return 0;
}

/* ------------------------------------------------ limits of a running context */

#define SET_MAX_UNDO 8

struct set_undo {
	int fd;			/* the cgroup directory, owned */
	char file[32];
	char old[64];
};

/* write @val to @file of @fd, remembering the old value in @u[*n] */
static int set_write(int fd, const char *file, const char *val, struct set_undo *u, int *n,
		     vctx_error *err, const char *what)
{
	char old[64] = "";
	if (*n >= SET_MAX_UNDO)
		return vctx_set_error(err, E2BIG, "too many limits at once");
	if (vctx_read_file_at(fd, file, old, sizeof(old)) < 0)
		return vctx_set_error(err, errno, "cannot read %s (%s): %s", what, file, strerror(errno));
	vctx_chomp(old);
	if (write_at(fd, file, val, err, what))
		return -1;
	u[*n].fd = dup(fd);
	snprintf(u[*n].file, sizeof(u[*n].file), "%s", file);
	snprintf(u[*n].old, sizeof(u[*n].old), "%s", old);
	(*n)++;
	return 0;
}

/*
 * every process of the context's cgroup2 directory @v2fd into the v1
 * directory @v1fd (writing a member again is harmless), until a pass
 * finds the same processes as the one before (none forked meanwhile)
 */
static int move_procs_v1(int v2fd, int v1fd, const char *ctl, const char *rel, vctx_error *err)
{
	enum { CAP = 1 << 16 };
	cleanup_free char *cur = malloc(CAP);
	cleanup_free char *prev = calloc(1, CAP);
	if (!cur || !prev)
		return vctx_set_error(err, ENOMEM, "out of memory");
	for (int pass = 0; pass < 16; pass++) {
		if (vctx_read_file_at(v2fd, "cgroup.procs", cur, CAP) < 0)
			return vctx_set_error(err, errno, "cannot read the processes of %s: %s", rel, strerror(errno));
		if (pass > 0 && strcmp(cur, prev) == 0)
			return 0;
		memcpy(prev, cur, strlen(cur) + 1);
		for (char *l = cur, *e; *l; l = e) {
			e = strchr(l, '\n');
			if (e)
				*e++ = 0;
			else
				e = l + strlen(l);
			if (*l && vctx_write_file_at(v1fd, "cgroup.procs", l) < 0 && errno != ESRCH)
				return vctx_set_error(err, errno, "cannot move %s into the %s cgroup %s: %s", l, ctl, rel,
						      strerror(errno));
		}
	}
	return vctx_set_error(err, EAGAIN, "the processes of %s kept forking while being moved into the %s cgroup", rel, ctl);
}

VCTX_API int vctx_set_limits(uint32_t xid, const struct vctx_limits *l, vctx_error *err)
{
	struct vctx_cg cg;
	struct set_undo u[SET_MAX_UNDO];
	int n = 0, rc = -1, made[VCTX_CTL__COUNT] = { 0 }, fds[VCTX_CTL__COUNT];
	char val[64];
	const unsigned want[VCTX_CTL__COUNT] = {
		[VCTX_CTL_MEMORY] = VCTX_LIM_MEMORY, [VCTX_CTL_PIDS] = VCTX_LIM_PIDS,
		[VCTX_CTL_CPU] = VCTX_LIM_CPU_WEIGHT | VCTX_LIM_CPU_MAX,
	};

	for (int c = 0; c < VCTX_CTL__COUNT; c++)
		fds[c] = -1;
	if (vctx_cg_open(xid, &cg, err) < 0)
		return -1;
	for (int c = 0; c < VCTX_CTL__COUNT; c++) {
		if (!(l->set & want[c]))
			continue;
		if (layout.where[c] == 2) {
			fds[c] = dup(cg.v2fd);
			continue;
		}
		if (layout.where[c] != 1) {
			vctx_set_error(err, ENOTSUP, "the %s controller is not available on this host (neither cgroup2 nor v1)",
				       ctl_names[c]);
			goto out;
		}
		if (!cg.v1made[c]) {
			char p[800];
			snprintf(p, sizeof(p), "%s/%s", layout.v1path[c], cg.rel);
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				vctx_set_error(err, errno, "cannot create cgroup %s: %s", p, strerror(errno));
				goto out;
			}
			made[c] = 1;
		}
		fds[c] = v1_dirfd(c, cg.rel);
		if (fds[c] < 0) {
			vctx_set_error(err, errno, "cannot open the %s cgroup of %s: %s", ctl_names[c], cg.rel, strerror(errno));
			goto out;
		}
	}

	if (l->set & VCTX_LIM_MEMORY) {
		int v1 = layout.where[VCTX_CTL_MEMORY] == 1;
		if (l->memory_max > 0)
			snprintf(val, sizeof(val), "%lld", (long long)l->memory_max);
		else
			snprintf(val, sizeof(val), "%s", v1 ? "-1" : "max");
		if (set_write(fds[VCTX_CTL_MEMORY], v1 ? "memory.limit_in_bytes" : "memory.max", val, u, &n, err, "the memory limit"))
			goto out;
	}
	if (l->set & VCTX_LIM_PIDS) {
		if (l->pids_max > 0)
			snprintf(val, sizeof(val), "%lld", (long long)l->pids_max);
		else
			snprintf(val, sizeof(val), "max");
		if (set_write(fds[VCTX_CTL_PIDS], "pids.max", val, u, &n, err, "the process limit"))
			goto out;
	}
	if (l->set & VCTX_LIM_CPU_WEIGHT) {
		int w = l->cpu_weight > 0 ? l->cpu_weight : 100;
		if (layout.where[VCTX_CTL_CPU] == 1) {
			snprintf(val, sizeof(val), "%d", w * 1024 / 100 < 2 ? 2 : w * 1024 / 100);
			if (set_write(fds[VCTX_CTL_CPU], "cpu.shares", val, u, &n, err, "the CPU weight"))
				goto out;
		} else {
			snprintf(val, sizeof(val), "%d", w);
			if (set_write(fds[VCTX_CTL_CPU], "cpu.weight", val, u, &n, err, "the CPU weight"))
				goto out;
		}
	}
	if (l->set & VCTX_LIM_CPU_MAX) {
		if (layout.where[VCTX_CTL_CPU] == 1) {
			if (set_write(fds[VCTX_CTL_CPU], "cpu.cfs_period_us", "100000", u, &n, err, "the CPU period"))
				goto out;
			snprintf(val, sizeof(val), "%lld", l->cpu_quota_us > 0 ? (long long)l->cpu_quota_us : -1LL);
			if (set_write(fds[VCTX_CTL_CPU], "cpu.cfs_quota_us", val, u, &n, err, "the CPU limit"))
				goto out;
		} else {
			if (l->cpu_quota_us > 0)
				snprintf(val, sizeof(val), "%lld 100000", (long long)l->cpu_quota_us);
			else
				snprintf(val, sizeof(val), "max 100000");
			if (set_write(fds[VCTX_CTL_CPU], "cpu.max", val, u, &n, err, "the CPU limit"))
				goto out;
		}
	}
	/* a v1 directory made now gets the context's processes, limits already in place */
	for (int c = 0; c < VCTX_CTL__COUNT; c++)
		if (made[c] && move_procs_v1(cg.v2fd, fds[c], ctl_names[c], cg.rel, err) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0) {
		/* put back what was changed, newest first; a made directory goes */
		for (int i = n - 1; i >= 0; i--)
			vctx_write_file_at(u[i].fd, u[i].file, u[i].old);
		for (int c = 0; c < VCTX_CTL__COUNT; c++)
			if (made[c]) {
				char p[800];
				snprintf(p, sizeof(p), "%s/%s", layout.v1path[c], cg.rel);
				rmdir(p);
			}
	}
	for (int i = 0; i < n; i++)
		close(u[i].fd);
	for (int c = 0; c < VCTX_CTL__COUNT; c++)
		if (fds[c] >= 0)
			close(fds[c]);
	if (cg.v2fd >= 0)
		close(cg.v2fd);
	return rc;
}
