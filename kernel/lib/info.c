// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Information about contexts: the XID of a process, one context, the list
 * of running contexts, and garbage collection of contexts whose monitor
 * died (a crashed tool leaves nothing the next command cannot repair).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "internal.h"

/* the last all-digit component of a path below /vctx/ (0 when none) */
static uint32_t xid_from_cgpath(const char *path)
{
	uint32_t xid = 0;
	char tmp[1024], *save = NULL;

	size_t rl = strlen(vctx_cgroup_root());

	if (path[0] != '/' || !vctx_below_root(path + 1))
		return 0;
	snprintf(tmp, sizeof(tmp), "%s", path + rl + 2);
	for (char *t = strtok_r(tmp, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (vctx_all_digits(t))
			xid = (uint32_t)strtoul(t, NULL, 10);
	return xid;
}

/**
 * vctx_xid_of_pid - context number of @pid (0 = the caller).
 */
VCTX_API int vctx_xid_of_pid(pid_t pid, uint32_t *xid, vctx_error *err)
{
	char path[64], buf[4096], *line, *save = NULL, *cg = NULL;

	if (pid == 0 || pid == getpid()) {
		/* inside a context, the host provides the XID read-only */
		if (vctx_read_file_at(AT_FDCWD, VCTX_XID_FILE, buf, sizeof(buf)) > 0 &&
		    strtoul(buf, NULL, 10) > 0) {
			*xid = (uint32_t)strtoul(buf, NULL, 10);
			return 0;
		}
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	} else
		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (vctx_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return vctx_set_error(err, errno == ENOENT ? ESRCH : errno, "process %d: %s", pid,
				      errno == ENOENT ? "no such process" : strerror(errno));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "0::", 3) == 0)
			cg = line + 3;
	*xid = cg ? xid_from_cgpath(cg) : 0;
	return 0;
}

static int procs_in(int fd)
{
	char buf[65536];
	int n = 0;
	ssize_t len = vctx_read_file_at(fd, "cgroup.procs", buf, sizeof(buf));
	for (ssize_t i = 0; i < len; i++)
		if (buf[i] == '\n')
			n++;
	return n;
}

static int count_pre(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent, void *arg)
{
	*(int *)arg += procs_in(fd);
	return VCTX_WALK_GO;
}

/* processes in the cgroup and every cgroup below it */
static int count_procs(int dirfd)
{
	int n = procs_in(dirfd);
	struct vctx_walk w = { .pre = count_pre, .arg = &n };
	vctx_cg_walk(dirfd, "", 0, &w);
	return n;
}

static const char *const ns_names[7] = { "pid", "mnt", "ipc", "uts", "cgroup", "time", "net" };

static void fill_info(int v2fd, const char *rel, uint32_t xid, uint32_t parent, struct vctx_info *out)
{
	char v[512];

	memset(out, 0, sizeof(*out));
	out->xid = xid;
	out->parent_xid = parent;
	snprintf(out->cgroup, sizeof(out->cgroup), "%s/%s", vctx_cgroup_layout(NULL)->v2, rel);
	vctx_cg_getattr(v2fd, VCTX_XATTR_NAME, out->name, sizeof(out->name));
	vctx_cg_getattr(v2fd, VCTX_XATTR_ROOT, out->root, sizeof(out->root));
	vctx_cg_getattr(v2fd, VCTX_XATTR_PID1, v, sizeof(v));
	out->pid1 = (pid_t)atoi(v);
	vctx_cg_getattr(v2fd, VCTX_XATTR_IP, v, sizeof(v));
	if (v[0])
		inet_pton(AF_INET, v, &out->ipv4);
	vctx_cg_getattr(v2fd, VCTX_XATTR_LOOPBACK, v, sizeof(v));
	if (v[0])
		inet_pton(AF_INET, v, &out->loopback);
	vctx_cg_getattr(v2fd, VCTX_XATTR_IP6, v, sizeof(v));
	if (v[0])
		inet_pton(AF_INET6, v, out->ipv6);
	vctx_cg_getattr(v2fd, VCTX_XATTR_LOOPBACK6, v, sizeof(v));
	if (v[0])
		inet_pton(AF_INET6, v, out->loopback6);
	vctx_cg_getattr(v2fd, VCTX_XATTR_NAT, v, sizeof(v));
	out->nat = v[0] == '1';
	vctx_cg_getattr(v2fd, VCTX_XATTR_FLAGS, v, sizeof(v));
	out->flags = vctx_flags_parse(v);
	vctx_cg_getattr(v2fd, VCTX_XATTR_CREATED, v, sizeof(v));
	out->created = atoll(v);
	out->nprocs = count_procs(v2fd);
	/* the bounding set and namespaces of PID 1, if it is still the same process */
	if (out->pid1 > 0) {
		struct vctx_capsets cs;
		char want[32];
		uint32_t got = 0;
		vctx_xid_of_pid(out->pid1, &got, NULL);
		snprintf(want, sizeof(want), "%u", xid);
		if (got == xid) {
			if (vctx_caps_of_pid(out->pid1, &cs, NULL) == 0)
				out->caps = cs.bnd;
			for (int i = 0; i < 7; i++) {
				char p[64];
				struct stat st;
				snprintf(p, sizeof(p), "/proc/%d/ns/%s", out->pid1, ns_names[i]);
				if (stat(p, &st) == 0)
					out->ns[i] = st.st_ino;
			}
		} else
			out->pid1 = 0;
	}
	if (!out->caps) {
		vctx_cg_getattr(v2fd, VCTX_XATTR_CAPS, v, sizeof(v));
		out->caps = v[0] ? strtoull(v, NULL, 16) : 0;
	}
}

/* a process that exists and is not a zombie (a dead monitor whose parent
   has not reaped it yet must count as dead) */
static int alive(pid_t pid)
{
	char p[64], buf[512], *rp;

	if (pid <= 0)
		return 0;
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	if (vctx_read_file_at(AT_FDCWD, p, buf, sizeof(buf)) <= 0 || !(rp = strrchr(buf, ')')))
		return 0;
	return rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* the PID of host process @pid in its own (innermost) PID namespace */
static pid_t inner_pid(pid_t pid)
{
	char p[64], buf[2048], *l;
	long v = 0;

	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	if (vctx_read_file_at(AT_FDCWD, p, buf, sizeof(buf)) <= 0 || !(l = strstr(buf, "\nNSpid:")))
		return 0;
	for (char *t = l + 7, *end; *t && *t != '\n'; t = end) {
		long x = strtol(t, &end, 10);
		if (end == t)
			break;
		v = x;
	}
	return (pid_t)v;
}

/* a live process in the cgroup @fd whose PID in its own namespace is @inner */
static int has_inner_pid(int fd, pid_t inner)
{
	char buf[65536], *save = NULL;

	if (vctx_read_file_at(fd, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return 0;
	for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		pid_t p = (pid_t)atoi(t);
		if (inner_pid(p) == inner && alive(p))
			return 1;
	}
	return 0;
}

static int monitor_pre(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent, void *arg)
{
	if (vctx_all_digits(name))
		return VCTX_WALK_SKIP;	/* another context: another PID namespace */
	return has_inner_pid(fd, *(pid_t *)arg) ? VCTX_WALK_STOP : VCTX_WALK_GO;
}

/*
 * Is the monitor recorded on the context's cgroup ("PID STARTTIME") alive?
 * A top-level context's monitor is a host process (same start time: not a
 * reused PID); a nested one's is a process of the parent context, and PID
 * is what it is there.
 */
static int monitor_alive(int v2fd, uint32_t parent_xid)
{
	char mon[64];
	unsigned long long start = 0;
	int pid = 0;

	vctx_cg_getattr(v2fd, VCTX_XATTR_MONITOR, mon, sizeof(mon));
	if (sscanf(mon, "%d %llu", &pid, &start) < 1 || pid <= 0)
		return 0;
	if (parent_xid <= VCTX_XID_SPECTATOR) {
		uint64_t now = 0;
		if (!alive(pid))
			return 0;
		return !start || (vctx_starttime(pid, &now) == 0 && now == start);
	}
	int pfd = openat(v2fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return 0;
	pid_t inner = (pid_t)pid;
	struct vctx_walk w = { .pre = monitor_pre, .arg = &inner };
	int found = has_inner_pid(pfd, inner) || vctx_cg_walk(pfd, "", parent_xid, &w);
	close(pfd);
	return found;
}

int vctx_cg_orphaned(int v2fd, uint32_t xid, uint32_t parent_xid)
{
	char ev[256];

	if (xid <= VCTX_XID_SPECTATOR)
		return 0;
	if (vctx_read_file_at(v2fd, "cgroup.events", ev, sizeof(ev)) <= 0 || !strstr(ev, "populated 0"))
		return 0;
	return !monitor_alive(v2fd, parent_xid);
}

int vctx_release_orphan(uint32_t xid, const char *rel, uint32_t parent_xid)
{
	const struct vctx_cgroup_layout *l = vctx_cgroup_layout(NULL);
	struct vctx_cg cg;
	char p[300];
	int rc = 0;

	if (!l)
		return -1;
	/* under the allocation lock: a context being made is empty until its
	   first process, but its monitor is recorded with its cgroup */
	snprintf(p, sizeof(p), "%s/%s", l->v2, vctx_cgroup_root());
	int lockfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd < 0)
		return -1;
	flock(lockfd, LOCK_EX);
	if (vctx_cg_open_rel(xid, rel, &cg, NULL) == 0) {
		if (vctx_cg_orphaned(cg.v2fd, xid, parent_xid))
			rc = vctx_release_cg(&cg, NULL) == 0 ? 1 : -1;
		else
			close(cg.v2fd);
	}
	close(lockfd);
	return rc;
}

VCTX_API int vctx_info_get(uint32_t xid, struct vctx_info *out, vctx_error *err)
{
	struct vctx_cg cg;
	uint32_t parent;

	if (vctx_cg_open(xid, &cg, err) < 0)
		return -1;
	char tmp[sizeof(cg.rel) + 1];
	snprintf(tmp, sizeof(tmp), "/%s", cg.rel);
	char *slash = strrchr(tmp, '/');
	*slash = 0;
	parent = xid_from_cgpath(tmp);
	fill_info(cg.v2fd, cg.rel, xid, parent, out);
	/* a leftover of a killed monitor is not running: release it */
	if (out->nprocs == 0 && vctx_cg_orphaned(cg.v2fd, xid, parent)) {
		close(cg.v2fd);
		vctx_release_orphan(xid, cg.rel, parent);
		return vctx_set_error(err, ESRCH, "context %u is not running", xid);
	}
	close(cg.v2fd);
	return 0;
}

struct orphan {
	uint32_t xid, parent;
	char rel[480];
};

struct list_acc {
	struct vctx_info *v;
	size_t n, cap;
	struct orphan *o;	/* leftovers of killed monitors, in walk order */
	size_t no, ocap;
};

static int list_pre(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent, void *arg)
{
	struct list_acc *acc = arg;

	if (!vctx_all_digits(name))
		return VCTX_WALK_GO;
	if (acc->n == acc->cap) {
		size_t nc = acc->cap ? acc->cap * 2 : 16;
		void *nv = realloc(acc->v, nc * sizeof(*acc->v));
		if (!nv)
			return VCTX_WALK_STOP;
		acc->v = nv;
		acc->cap = nc;
	}
	fill_info(fd, rel, xid, parent, &acc->v[acc->n]);
	if (acc->v[acc->n].nprocs == 0 && vctx_cg_orphaned(fd, xid, parent)) {
		/* not running: never listed, released after the walk */
		if (acc->no == acc->ocap) {
			size_t nc = acc->ocap ? acc->ocap * 2 : 4;
			void *nv = realloc(acc->o, nc * sizeof(*acc->o));
			if (!nv)
				return VCTX_WALK_GO;
			acc->o = nv;
			acc->ocap = nc;
		}
		struct orphan *o = &acc->o[acc->no++];
		o->xid = xid;
		o->parent = parent;
		snprintf(o->rel, sizeof(o->rel), "%s", rel);
		return VCTX_WALK_GO;
	}
	acc->n++;
	return VCTX_WALK_GO;
}

/*
 * After its subtree: a host chbind's bind-<pid> cgroup whose chbind died
 * (SIGKILL).  Those inside a context are named by PIDs of its namespace and
 * go with the context.
 */
static void sweep_post(int dirfd, int fd, const char *name, uint32_t parent_xid, void *arg)
{
	char ev[128];

	(void)arg;
	if (parent_xid || strncmp(name, "bind-", 5) != 0 || alive(atoi(name + 5)))
		return;
	if (vctx_read_file_at(fd, "cgroup.events", ev, sizeof(ev)) > 0 && strstr(ev, "populated 0")) {
		vctx_ipv4root_forget(vctx_cgroup_id(fd), NULL);
		unlinkat(dirfd, name, AT_REMOVEDIR);
	}
}

/* guard sockets of contexts that are gone (a release cut short), but never a listed one's */
static void sweep_guards(const struct vctx_info *v, size_t n)
{
	char gd[320];
	snprintf(gd, sizeof(gd), "%s/guard", vctx_rundir());
	DIR *d = opendir(gd);
	struct dirent *e;
	char rel[480];

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		unsigned long x = strtoul(e->d_name, &end, 10);
		size_t i;
		if (end == e->d_name || strcmp(end, ".sock") != 0)
			continue;
		for (i = 0; i < n && v[i].xid != x; i++)
			;
		/* not listed: looked up again (a context made since the walk has its cgroup before its socket) */
		if (i == n && !vctx_cg_find((uint32_t)x, rel, sizeof(rel)))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/*
 * The contexts, and libvctx's one sweep of what crashed tools left: an
 * empty context whose monitor is gone is released (not listed), a killed
 * chbind's cgroup removed, a gone context's guard socket unlinked.
 */
static int list_contexts(struct vctx_info **out, size_t *n, vctx_error *err)
{
	struct list_acc acc = { 0 };
	struct vctx_walk w = { .pre = list_pre, .post = sweep_post, .arg = &acc };

	*out = NULL;
	*n = 0;
	if (!vctx_cgroup_layout(err))
		return -1;
	vctx_cg_walk_all(&w);
	/* children first: the walk sees parents before children */
	for (size_t i = acc.no; i-- > 0;)
		vctx_release_orphan(acc.o[i].xid, acc.o[i].rel, acc.o[i].parent);
	free(acc.o);
	sweep_guards(acc.v, acc.n);
	*out = acc.v;
	*n = acc.n;
	return 0;
}

/**
 * vctx_list - every running context (the spectator's included).  What
 * crashed tools left is swept on the way (list_contexts): libvctx's one
 * release path for leftovers, run by every listing.
 */
VCTX_API int vctx_list(struct vctx_info **out, size_t *n, vctx_error *err)
{
	return list_contexts(out, n, err);
}
