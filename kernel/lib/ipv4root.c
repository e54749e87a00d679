// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ipv4root: the IPv4 lock (Linux-VServer's set_ipv4root) as eBPF cgroup
 * programs — loading, pinning, attaching, querying.
 *
 * The programs (bpf/ipv4root.bpf.c, embedded in the library) and their
 * lock map are loaded once and pinned under
 * vctx_pin_dir()/ipv4root-<hash of the embedded object>/, so a rebuilt
 * object never mixes with the pins of an older build.  Later callers open
 * the pins (BPF_OBJ_GET) and attaching costs a handful of syscalls instead
 * of a verifier run.  First loads are serialised by an flock on
 * vctx_rundir()/ipv4root.lock and published by renaming a fully populated
 * directory into place.
 *
 * Whether a cgroup is locked is decided by the kernel's effective program
 * list (an ipv4root bind4 program among the cgroup's effective
 * BPF_CGROUP_INET4_BIND programs), whatever build attached it; the map
 * then tells which address.
 *
 * The network counters (ipv4root_net, per context) are one map for every
 * build, pinned at vctx_pin_dir()/IPV4ROOT_NET_PIN: a build's load
 * reuses it when it is there, so the counts of running servers survive
 * readers (vtop, exporters) and new builds alike.  An entry lives from
 * the context's lock (vctx_netlock_attach with new_counter) until that
 * lock is forgotten (vctx_ipv4root_forget, from the one release path).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "../bpf/ipv4root.h"

extern const unsigned char vctx_bpf_ipv4root[];
extern const unsigned char vctx_bpf_ipv4root_end[];

#define BPFFS_MOUNT	"/sys/fs/bpf"
#define V4R_LOCKFILE	v4r_path_of("%s/ipv4root.lock", vctx_rundir())
#define V4R_PREFIX	"ipv4root-"
#define V4R_MAP_PIN	"locks"
#define V4R_ADDRS_PIN	"addrs"
#define V4R_NET_PATH	v4r_path_of("%s/" IPV4ROOT_NET_PIN, vctx_pin_dir())
/* a path of this instance's (a thread-local buffer per call site kind is not
   needed: each use is consumed before the next) */
static const char *v4r_path_of(const char *fmt, const char *dir)
{
	static __thread char buf[4][400];
	static __thread int i;
	char *b = buf[i++ & 3];
	snprintf(b, sizeof(buf[0]), fmt, dir);
	return b;
}
#define LOAD_FAILED	"cannot load the ipv4root eBPF programs"

enum v4r_prog {
	P_SOCK, P_INGR, P_EGR, P_BIND, P_CONN, P_SEND, P_RECV, P_SNAME, P_PNAME,
	P_BIND6, P_CONN6, P_SEND6, P_RECV6, P_SNAME6, P_PNAME6, P_SOPT, P__N
};

/* attach order: the packet filters and the socket marking first */
static const struct {
	const char *name;		/* function name in ipv4root.bpf.c */
	const char *pin;		/* file name in the pin directory */
	const char *what;		/* for messages */
	enum bpf_attach_type type;
} v4r_progs[P__N] = {
	[P_SOCK]   = { "ipv4root_sock",   "sock_create",  "socket-creation", BPF_CGROUP_INET_SOCK_CREATE },
	[P_INGR]   = { "ipv4root_ingr",   "ingress",      "ingress",         BPF_CGROUP_INET_INGRESS },
	[P_EGR]    = { "ipv4root_egr",    "egress",       "egress",          BPF_CGROUP_INET_EGRESS },
	[P_BIND]   = { "ipv4root_bind4",  "bind4",        "bind4",           BPF_CGROUP_INET4_BIND },
	[P_CONN]   = { "ipv4root_conn4",  "connect4",     "connect4",        BPF_CGROUP_INET4_CONNECT },
	[P_SEND]   = { "ipv4root_send4",  "sendmsg4",     "sendmsg4",        BPF_CGROUP_UDP4_SENDMSG },
	[P_RECV]   = { "ipv4root_recv4",  "recvmsg4",     "recvmsg4",        BPF_CGROUP_UDP4_RECVMSG },
	[P_SNAME]  = { "ipv4root_sname4", "getsockname4", "getsockname4",    BPF_CGROUP_INET4_GETSOCKNAME },
	[P_PNAME]  = { "ipv4root_pname4", "getpeername4", "getpeername4",    BPF_CGROUP_INET4_GETPEERNAME },
	[P_BIND6]  = { "ipv4root_bind6",  "bind6",        "bind6",           BPF_CGROUP_INET6_BIND },
	[P_CONN6]  = { "ipv4root_conn6",  "connect6",     "connect6",        BPF_CGROUP_INET6_CONNECT },
	[P_SEND6]  = { "ipv4root_send6",  "sendmsg6",     "sendmsg6",        BPF_CGROUP_UDP6_SENDMSG },
	[P_RECV6]  = { "ipv4root_recv6",  "recvmsg6",     "recvmsg6",        BPF_CGROUP_UDP6_RECVMSG },
	[P_SNAME6] = { "ipv4root_sname6", "getsockname6", "getsockname6",    BPF_CGROUP_INET6_GETSOCKNAME },
	[P_PNAME6] = { "ipv4root_pname6", "getpeername6", "getpeername6",    BPF_CGROUP_INET6_GETPEERNAME },
	[P_SOPT]   = { "ipv4root_sopt",   "setsockopt",   "setsockopt",      BPF_CGROUP_SETSOCKOPT },
};

/* the open pins of this build, cached per process (all fds O_CLOEXEC) */
struct v4r_pins {
	int map;
	int addrs;			/* the address registry */
	int net;			/* the counters (shared pin), -1 when missing */
	int prog[P__N];
	__u32 bind_id;			/* kernel id of our bind4 program */
	ino_t map_ino;			/* to notice pins replaced under us */
};

static pthread_mutex_t v4r_mu = PTHREAD_MUTEX_INITIALIZER;
static struct v4r_pins v4r_cache = { .map = -1, .addrs = -1, .net = -1, .prog = { [0 ... P__N - 1] = -1 } };
static char v4r_build[32];		/* "ipv4root-<16 hex>" */

/* --------------------------------------------------------------- helpers */

/* a 64-bit hash of the embedded object, eight bytes at a time */
static void v4r_build_name(void)
{
	if (v4r_build[0])
		return;
	snprintf(v4r_build, sizeof(v4r_build), V4R_PREFIX "%016llx",
		 (unsigned long long)vctx_hash64(vctx_bpf_ipv4root, (size_t)(vctx_bpf_ipv4root_end - vctx_bpf_ipv4root)));
}

static void v4r_pins_close(struct v4r_pins *p)
{
	if (p->map >= 0)
		close(p->map);
	if (p->addrs >= 0)
		close(p->addrs);
	if (p->net >= 0)
		close(p->net);
	p->map = p->addrs = p->net = -1;
	for (int i = 0; i < P__N; i++) {
		if (p->prog[i] >= 0)
			close(p->prog[i]);
		p->prog[i] = -1;
	}
	p->map_ino = 0;
	p->bind_id = 0;
}

static int v4r_pin_path(char *buf, size_t len, const char *build, const char *file)
{
	int n = snprintf(buf, len, "%s/%s/%s", vctx_pin_dir(), build, file);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* open every pin of @build; -1 with errno when any is missing */
static int v4r_pins_open(const char *build, struct v4r_pins *p)
{
	char path[256];
	struct stat st;
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);

	p->map = p->addrs = p->net = -1;
	for (int i = 0; i < P__N; i++)
		p->prog[i] = -1;
	v4r_pin_path(path, sizeof(path), build, V4R_MAP_PIN);
	if (stat(path, &st) < 0)
		return -1;
	p->map_ino = st.st_ino;
	p->map = bpf_obj_get(path);
	if (p->map < 0)
		goto fail;
	v4r_pin_path(path, sizeof(path), build, V4R_ADDRS_PIN);
	p->addrs = bpf_obj_get(path);
	if (p->addrs < 0)
		goto fail;
	p->net = bpf_obj_get(V4R_NET_PATH);	/* optional: then nothing is counted */
	for (int i = 0; i < P__N; i++) {
		v4r_pin_path(path, sizeof(path), build, v4r_progs[i].pin);
		p->prog[i] = bpf_obj_get(path);
		if (p->prog[i] < 0)
			goto fail;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(p->prog[P_BIND], &info, &ilen) < 0)
		goto fail;
	p->bind_id = info.id;
	return 0;
fail:;
	int e = errno;
	v4r_pins_close(p);
	errno = e;
	return -1;
}

/* serialise loads, garbage collection and attaches across processes
   (the device allowlist's first load too, devices.c) */
int vctx_bpf_flock(vctx_error *err)
{
	int fd;

	if (vctx_instance_check(err) < 0)
		return -1;
	if (mkdir(vctx_rundir(), 0755) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create %s: %s", vctx_rundir(), strerror(errno));
	fd = open(V4R_LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return vctx_set_error(err, errno, "cannot open %s: %s", V4R_LOCKFILE, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return vctx_set_error(err, e, "cannot lock %s: %s", V4R_LOCKFILE, strerror(e));
	}
	return fd;
}

int vctx_bpffs_ensure(vctx_error *err)
{
	struct statfs sf;

	if (statfs(BPFFS_MOUNT, &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(BPFFS_MOUNT, 0700) < 0 && errno != EEXIST)
		return vctx_set_error(err, errno, "cannot create %s for bpffs: %s", BPFFS_MOUNT, strerror(errno));
	if (mount("bpf", BPFFS_MOUNT, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return vctx_set_error(err, errno, "cannot mount bpffs at %s: %s", BPFFS_MOUNT, strerror(errno));
	return 0;
}

/* remove a pin directory and what is pinned in it (bpffs: no subdirs) */
static void v4r_remove_dir(const char *name)
{
	char path[256];
	DIR *d;
	struct dirent *de;

	if (snprintf(path, sizeof(path), "%s/%s", vctx_pin_dir(), name) >= (int)sizeof(path))
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(path);
}

static int v4r_map_empty(int map)
{
	__u64 key;

	return bpf_map_get_next_key(map, NULL, &key) < 0 && errno == ENOENT;
}

/*
 * Under the flock: drop half-made directories of crashed loaders and the
 * pins of other builds whose lock map is empty (their programs may still
 * be attached to live cgroups; attachments do not need the pins).
 */
static void v4r_gc_builds(void)
{
	DIR *d = opendir(vctx_pin_dir());
	struct dirent *de;
	char names[64][64];
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)) && n < 64) {
		if (strncmp(de->d_name, V4R_PREFIX, strlen(V4R_PREFIX)) ||
		    !strcmp(de->d_name, v4r_build) || strlen(de->d_name) >= sizeof(names[0]))
			continue;
		if (strstr(de->d_name, "-tmp-")) {
			strcpy(names[n++], de->d_name);
			continue;
		}
		char path[320 + 256 + 16];	/* any d_name */
		int map = v4r_pin_path(path, sizeof(path), de->d_name, V4R_MAP_PIN) < 0 ? -1 : bpf_obj_get(path);
		if (map < 0 || v4r_map_empty(map))
			strcpy(names[n++], de->d_name);
		if (map >= 0)
			close(map);
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		v4r_remove_dir(names[i]);
}

/* libbpf's messages, kept (last warning line) instead of printed */
static char v4r_libbpf_msg[200];

static int v4r_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[sizeof(v4r_libbpf_msg)];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	vctx_chomp(line);
	if (line[0])
		memcpy(v4r_libbpf_msg, line, sizeof(line));
	return 0;
}

static int v4r_load_error(int e, vctx_error *err)
{
	if (e == EPERM || e == EACCES)
		return vctx_set_error(err, e, LOAD_FAILED ": permission denied (needs CAP_SYS_ADMIN or CAP_BPF)");
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) == 0)
		return vctx_set_error(err, ENOSYS, LOAD_FAILED ": kernel lacks cgroup sock_addr hooks (Linux 4.17+)");
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SKB, NULL) == 0)
		return vctx_set_error(err, ENOSYS, LOAD_FAILED ": kernel lacks cgroup skb programs (CONFIG_CGROUP_BPF)");
	if (v4r_libbpf_msg[0])
		return vctx_set_error(err, e, LOAD_FAILED ": %s (libbpf: %s)", strerror(e), v4r_libbpf_msg);
	return vctx_set_error(err, e, LOAD_FAILED ": %s", strerror(e));
}

/* load the embedded object and pin it as @v4r_build; under the flock */
static int v4r_load_and_pin(vctx_error *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "ipv4root");
	char tmp[64], path[256], final[256];
	struct bpf_object *obj;
	struct bpf_map *map, *net = NULL;
	libbpf_print_fn_t old;
	int rc = -1, e, netfd = -1;

	v4r_libbpf_msg[0] = 0;
	old = libbpf_set_print(v4r_libbpf_print);
	obj = bpf_object__open_mem(vctx_bpf_ipv4root,
				   (size_t)(vctx_bpf_ipv4root_end - vctx_bpf_ipv4root), &opts);
	if (!obj) {
		e = errno;
		vctx_set_error(err, e, LOAD_FAILED ": the embedded object is unreadable: %s", strerror(e));
		goto out_print;
	}
	/* the counters of every build: the pinned map when there is one */
	net = bpf_object__find_map_by_name(obj, IPV4ROOT_NET_NAME);
	if (!net) {
		vctx_set_error(err, ENOENT, LOAD_FAILED ": the object has no %s map", IPV4ROOT_NET_NAME);
		goto out;
	}
	netfd = bpf_obj_get(V4R_NET_PATH);
	if (netfd >= 0 && bpf_map__reuse_fd(net, netfd) < 0) {
		e = errno;
		vctx_set_error(err, e, "cannot use the network counters pinned at %s: %s (remove the pin when no server runs)",
			       V4R_NET_PATH, strerror(e));
		goto out;
	}
	if (bpf_object__load(obj) < 0) {
		v4r_load_error(errno, err);
		goto out;
	}
	if (vctx_mkdir_p(vctx_pin_dir(), 0700) < 0) {
		vctx_set_error(err, errno, "cannot create %s: %s", vctx_pin_dir(), strerror(errno));
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s-tmp-%d", v4r_build, (int)getpid());
	v4r_remove_dir(tmp);
	v4r_pin_path(path, sizeof(path), tmp, "");
	if (mkdir(path, 0700) < 0) {
		vctx_set_error(err, errno, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	map = bpf_object__find_map_by_name(obj, IPV4ROOT_MAP_NAME);
	v4r_pin_path(path, sizeof(path), tmp, V4R_MAP_PIN);
	if (!map || bpf_map__pin(map, path) < 0) {
		vctx_set_error(err, map ? errno : ENOENT, "cannot pin the ipv4root lock map at %s: %s",
			       path, strerror(map ? errno : ENOENT));
		goto out_tmp;
	}
	map = bpf_object__find_map_by_name(obj, IPV4ROOT_ADDRS_NAME);
	v4r_pin_path(path, sizeof(path), tmp, V4R_ADDRS_PIN);
	if (!map || bpf_map__pin(map, path) < 0) {
		vctx_set_error(err, map ? errno : ENOENT, "cannot pin the ipv4root address map at %s: %s",
			       path, strerror(map ? errno : ENOENT));
		goto out_tmp;
	}
	if (netfd < 0 && bpf_map__pin(net, V4R_NET_PATH) < 0) {
		e = errno;
		vctx_set_error(err, e, "cannot pin the network counters at %s: %s", V4R_NET_PATH, strerror(e));
		goto out_tmp;
	}
	for (int i = 0; i < P__N; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, v4r_progs[i].name);

		v4r_pin_path(path, sizeof(path), tmp, v4r_progs[i].pin);
		if (!prog || bpf_program__pin(prog, path) < 0) {
			e = prog ? errno : ENOENT;
			vctx_set_error(err, e, "cannot pin the ipv4root %s program at %s: %s",
				       v4r_progs[i].what, path, strerror(e));
			goto out_tmp;
		}
	}
	v4r_pin_path(path, sizeof(path), tmp, "");
	v4r_pin_path(final, sizeof(final), v4r_build, "");
	path[strlen(path) - 1] = 0;
	final[strlen(final) - 1] = 0;
	if (rename(path, final) < 0) {
		vctx_set_error(err, errno, "cannot publish the ipv4root pins at %s: %s", final, strerror(errno));
		goto out_tmp;
	}
	rc = 0;
	goto out;
out_tmp:
	v4r_remove_dir(tmp);
out:
	bpf_object__close(obj);
	if (netfd >= 0)
		close(netfd);
out_print:
	libbpf_set_print(old);
	return rc;
}

/*
 * The pins of this build, opened from the cache or bpffs; -1 when they are
 * not there.  Called with v4r_mu held; the fds stay valid until the mutex
 * is released.
 */
static int v4r_open_cached(void)
{
	char path[256];
	struct stat st;

	v4r_build_name();
	if (v4r_cache.map >= 0) {
		v4r_pin_path(path, sizeof(path), v4r_build, V4R_MAP_PIN);
		if (stat(path, &st) == 0 && st.st_ino == v4r_cache.map_ino)
			return 0;
		v4r_pins_close(&v4r_cache);
	}
	return v4r_pins_open(v4r_build, &v4r_cache);
}

/* the pins of this build, loading and pinning the programs on first use */
static int v4r_get_pins(vctx_error *err)
{
	int lk, rc;

	if (v4r_open_cached() == 0)
		return 0;
	lk = vctx_bpf_flock(err);
	if (lk < 0)
		return -1;
	rc = vctx_bpffs_ensure(err);
	if (rc == 0 && v4r_pins_open(v4r_build, &v4r_cache) < 0) {
		rc = v4r_load_and_pin(err);
		if (rc == 0 && v4r_pins_open(v4r_build, &v4r_cache) < 0)
			rc = vctx_set_error(err, errno, "cannot open the ipv4root pins under %s/%s: %s",
					    vctx_pin_dir(), v4r_build, strerror(errno));
		if (rc == 0)
			v4r_gc_builds();
	}
	close(lk);
	return rc;
}

static int v4r_is_cgroup2(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/*
 * Ids of @cgfd and its ancestors up to the root of its cgroup2 mount
 * (ids[0] = @cgfd's, ids[n-1] = the mount root's); returns n or -1.
 */
static int v4r_ancestors(int cgfd, uint64_t *ids, int max, vctx_error *err)
{
	struct stat st, pst;
	int fd = -1, n = 0;

	if (fstat(cgfd, &st) < 0)
		return vctx_set_error(err, errno, "cannot stat the cgroup directory: %s", strerror(errno));
	if (!v4r_is_cgroup2(cgfd))
		return vctx_set_error(err, EINVAL, "not a cgroup2 directory");
	ids[n++] = st.st_ino;
	for (int cur = cgfd; n < max; cur = fd) {
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
		fd = up;
		if (fd < 0)
			return vctx_set_error(err, errno, "cannot open a parent of the cgroup: %s", strerror(errno));
		if (fstat(fd, &pst) < 0 || pst.st_dev != st.st_dev || pst.st_ino == st.st_ino)
			break;
		ids[n++] = pst.st_ino;
		st = pst;
	}
	if (fd >= 0)
		close(fd);
	return n;
}

/*
 * Is the cgroup locked by an ipv4root program (of any build)?  The kernel's
 * effective bind4 programs decide.  1 = locked, 0 = not, -1 = error.
 */
static int v4r_locked(int cgfd, __u32 our_bind_id, vctx_error *err)
{
	__u32 ids[64], cnt = 64, flags = 0;

	if (bpf_prog_query(cgfd, BPF_CGROUP_INET4_BIND, BPF_F_QUERY_EFFECTIVE, &flags, ids, &cnt) < 0)
		return vctx_set_error(err, errno, "cannot query the cgroup's eBPF programs: %s", strerror(errno));
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd;

		if (ids[i] == our_bind_id)
			return 1;
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    !strncmp(info.name, IPV4ROOT_PROG_BIND4, sizeof(info.name))) {
			close(fd);
			return 1;
		}
		close(fd);
	}
	return 0;
}

/* maps of the other builds still pinned (for locks they hold) */
static int v4r_other_maps(int *maps, int max)
{
	DIR *d = opendir(vctx_pin_dir());
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char path[320 + 256 + 16];	/* any d_name */

		if (strncmp(de->d_name, V4R_PREFIX, strlen(V4R_PREFIX)) ||
		    strstr(de->d_name, "-tmp-") || !strcmp(de->d_name, v4r_build))
			continue;
		if (v4r_pin_path(path, sizeof(path), de->d_name, V4R_MAP_PIN) < 0)
			continue;
		int fd = bpf_obj_get(path);
		if (fd >= 0)
			maps[n++] = fd;
	}
	closedir(d);
	return n;
}

/*
 * Look @id up in a lock map of any build: older builds' values are shorter
 * (the fields they lack read as zero), newer ones' may be longer.
 */
static int v4r_lookup(int map, uint64_t id, struct ipv4root_lock *out)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	unsigned char buf[256];

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map, &info, &len) < 0 || info.value_size > sizeof(buf))
		return -1;
	if (bpf_map_lookup_elem(map, &id, buf) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	memcpy(out, buf, info.value_size < sizeof(*out) ? info.value_size : sizeof(*out));
	return 0;
}

/* the nearest lock recorded for @cgfd or an ancestor, in any build's map */
static int v4r_find_lock(int cgfd, struct ipv4root_lock *out, vctx_error *err)
{
	uint64_t ids[IPV4ROOT_MAX_LEVEL + 1];
	int maps[16], nmaps, n, found = 0;

	n = v4r_ancestors(cgfd, ids, IPV4ROOT_MAX_LEVEL + 1, err);
	if (n < 0)
		return -1;
	maps[0] = v4r_cache.map;
	nmaps = 1 + v4r_other_maps(maps + 1, 15);
	for (int i = 0; i < n && !found; i++)
		for (int m = 0; m < nmaps && !found; m++)
			found = maps[m] >= 0 && v4r_lookup(maps[m], ids[i], out) == 0;
	for (int m = 1; m < nmaps; m++)
		close(maps[m]);
	return found;
}

static void v4r_key4(struct ipv4root_addr *k, uint32_t ip)
{
	memset(k, 0, sizeof(*k));
	k->a[2] = htonl(0xffff);
	k->a[3] = ip;
}

static int zero16(const void *a)
{
	static const unsigned char z[16];

	return memcmp(a, z, 16) == 0;
}

/* drop @id's entries from the address registry of this build */
static void v4r_unregister(int addrs, const struct ipv4root_lock *l, uint64_t id)
{
	struct ipv4root_addr k;
	uint64_t v;

	if (addrs < 0)
		return;
	v4r_key4(&k, l->ip);
	if (bpf_map_lookup_elem(addrs, &k, &v) == 0 && v == id)
		bpf_map_delete_elem(addrs, &k);
	if (zero16(l->ip6))
		return;
	memcpy(k.a, l->ip6, 16);
	if (bpf_map_lookup_elem(addrs, &k, &v) == 0 && v == id)
		bpf_map_delete_elem(addrs, &k);
}

/* is @lo6 the private IPv6 loopback of a lock in @map other than @id's? */
static int v4r_lo6_used(int map, const __u32 *lo6, uint64_t id)
{
	uint64_t key, next;
	struct ipv4root_lock l;
	void *prev = NULL;

	while (bpf_map_get_next_key(map, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key != id && v4r_lookup(map, key, &l) == 0 && !memcmp(l.lo6, lo6, 16))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------- API */

/**
 * vctx_loopback_for_xid - the loopback address reserved for a context
 * @xid: the context's XID (16 bits are used)
 *
 * Return: 127.128.hi.lo in network byte order, where hi.lo are the high
 * and low bytes of @xid.
 */
VCTX_API uint32_t vctx_loopback_for_xid(uint32_t xid)
{
	return htonl(0x7f800000u | (xid & 0xffffu));
}

/**
 * vctx_loopback6_for - the private IPv6 loopback of a server
 * @loopback: its private IPv4 loopback (nbo)
 * @out: set to fd76:6374:7800::/96 followed by the 32 bits of @loopback
 *       (fd76:6374:7800::7f80:33 for 127.128.0.51)
 */
VCTX_API void vctx_loopback6_for(uint32_t loopback, uint8_t out[16])
{
	uint32_t w[4] = { htonl(IPV4ROOT_ULA_W0), htonl(IPV4ROOT_ULA_W1), htonl(IPV4ROOT_ULA_W2), loopback };

	memcpy(out, w, 16);
}

/**
 * vctx_netlock_attach - lock a cgroup2 directory's network use
 * @cgfd: the cgroup2 directory (O_RDONLY or O_PATH), with no process yet
 * @nl: the addresses (see struct vctx_netlock)
 * @err: filled on failure
 *
 * Records the lock in the pinned lock map, registers its addresses (so
 * other servers reach them), adds the private IPv6 loopback to lo when
 * there is one, and attaches the ipv4root programs with BPF_F_ALLOW_MULTI,
 * loading and pinning them first when this build has never run (mounting
 * bpffs when missing).  Fails with EEXIST when the cgroup or an ancestor
 * is already locked (one-shot).  On failure nothing stays attached,
 * recorded or added.  vctx_ipv4root_forget() undoes it.
 *
 * Return: 0 or -1.
 */
VCTX_API int vctx_netlock_attach(int cgfd, const struct vctx_netlock *nl, vctx_error *err)
{
	struct ipv4root_lock lock;
	struct ipv4root_addr k;
	uint64_t ids[IPV4ROOT_MAX_LEVEL + 1];
	char a[INET6_ADDRSTRLEN];
	int n, lk = -1, rc = -1, i = 0, ula = 0;
	uint32_t ip = nl->ip;

	if (ip == 0 || ip == 0xffffffffu)
		return vctx_set_error(err, EINVAL, "invalid ipv4root address %s",
				      inet_ntop(AF_INET, &ip, a, sizeof(a)));
	if (!zero16(nl->loopback6) && nl->loopback6[0] != 0xfd)
		return vctx_set_error(err, EINVAL, "the private IPv6 loopback %s is not a unique local address (fd00::/8)",
				      inet_ntop(AF_INET6, nl->loopback6, a, sizeof(a)));
	memset(&lock, 0, sizeof(lock));
	lock.ip = ip;
	lock.loopback = nl->loopback;
	lock.flags = nl->nat ? IPV4ROOT_F_NAT : 0;
	{
		char b[8] = "";
		if (vctx_read_file_at(AT_FDCWD, "/proc/sys/net/ipv6/bindv6only", b, sizeof(b)) > 0 && b[0] == '1')
			lock.flags |= IPV4ROOT_F_V6ONLY;
	}
	memcpy(lock.ip6, nl->ip6, 16);
	memcpy(lock.lo6, nl->loopback6, 16);
	lock.xid = nl->xid;
	n = v4r_ancestors(cgfd, ids, IPV4ROOT_MAX_LEVEL + 1, err);
	if (n < 0)
		return -1;
	if (n == 1)
		return vctx_set_error(err, EINVAL, "refusing to lock the root cgroup to one address");
	if (n - 1 > IPV4ROOT_MAX_LEVEL - 1)	/* its level, as the programs count */
		return vctx_set_error(err, E2BIG, "the cgroup is nested too deep for the ipv4root lock (max %d levels)",
				      IPV4ROOT_MAX_LEVEL - 1);

	pthread_mutex_lock(&v4r_mu);
	if (v4r_get_pins(err) < 0)
		goto out;
	lk = vctx_bpf_flock(err);
	if (lk < 0)
		goto out;
	switch (v4r_locked(cgfd, v4r_cache.bind_id, err)) {
	case -1:
		goto out;
	case 1: {
		struct ipv4root_lock old;
		if (v4r_find_lock(cgfd, &old, NULL) == 1)
			vctx_set_error(err, EEXIST, "already locked to %s (the lock is one-shot)",
				       inet_ntop(AF_INET, &old.ip, a, sizeof(a)));
		else
			vctx_set_error(err, EEXIST, "already locked (the lock is one-shot)");
		goto out;
	}
	}
	/* the context's counters, from zero (per-CPU values: one per possible CPU) */
	if (lock.xid && nl->new_counter && v4r_cache.net >= 0) {
		int ncpu = libbpf_num_possible_cpus();
		void *zero = ncpu > 0 ? calloc((size_t)ncpu, sizeof(struct ipv4root_net)) : NULL;

		if (zero && bpf_map_update_elem(v4r_cache.net, &lock.xid, zero, BPF_ANY) == 0)
			lock.flags |= IPV4ROOT_F_COUNTER;
		free(zero);
	}
	if (bpf_map_update_elem(v4r_cache.map, &ids[0], &lock, BPF_ANY) < 0) {
		vctx_set_error(err, errno, "cannot record the ipv4root lock: %s",
			       errno == E2BIG ? "the lock table is full" : strerror(errno));
		goto fail_counter;
	}
	v4r_key4(&k, ip);
	if (bpf_map_update_elem(v4r_cache.addrs, &k, &ids[0], BPF_ANY) < 0)
		goto fail_addr;
	if (!zero16(lock.ip6)) {
		memcpy(k.a, lock.ip6, 16);
		if (bpf_map_update_elem(v4r_cache.addrs, &k, &ids[0], BPF_ANY) < 0)
			goto fail_addr;
	}
	if (!zero16(lock.lo6)) {
		ula = vctx_lo_addr6(lock.lo6, 1, err);
		if (ula < 0)
			goto fail_map;
	}
	for (i = 0; i < P__N; i++)
		if (bpf_prog_attach(v4r_cache.prog[i], cgfd, v4r_progs[i].type, BPF_F_ALLOW_MULTI) < 0)
			break;
	if (i < P__N) {
		int e = errno;
		vctx_set_error(err, e, "cannot attach the ipv4root %s program to the cgroup: %s",
			       v4r_progs[i].what, strerror(e));
		while (i-- > 0)
			bpf_prog_detach2(v4r_cache.prog[i], cgfd, v4r_progs[i].type);
		if (ula == 1)
			vctx_lo_addr6(lock.lo6, 0, NULL);
		goto fail_map;
	}
	rc = 0;
	goto out;
fail_addr:
	vctx_set_error(err, errno, "cannot register the server's address: %s",
		       errno == E2BIG ? "the address table is full" : strerror(errno));
fail_map:
	v4r_unregister(v4r_cache.addrs, &lock, ids[0]);
	bpf_map_delete_elem(v4r_cache.map, &ids[0]);
fail_counter:
	if (lock.flags & IPV4ROOT_F_COUNTER)
		bpf_map_delete_elem(v4r_cache.net, &lock.xid);
out:
	if (lk >= 0)
		close(lk);
	pthread_mutex_unlock(&v4r_mu);
	return rc;
}

/**
 * vctx_ipv4root_attach - lock a cgroup2 directory to one IPv4 address
 * @cgfd: the cgroup2 directory (O_RDONLY or O_PATH), with no process yet
 * @ip: the lock address, network byte order
 * @loopback: where 127.0.0.0/8 is mapped (nbo), 0 for no mapping
 * @err: filled on failure
 *
 * vctx_netlock_attach() without IPv6 (IPv6 sockets are refused) and
 * without nat: chbind's lock.
 *
 * Return: 0 or -1.
 */
VCTX_API int vctx_ipv4root_attach(int cgfd, uint32_t ip, uint32_t loopback, vctx_error *err)
{
	struct vctx_netlock nl;

	memset(&nl, 0, sizeof(nl));
	nl.ip = ip;
	nl.loopback = loopback;
	/* chbind inside a context: its packets count for that context (whose
	   own lock made the counters) */
	if (vctx_xid_of_pid(0, &nl.xid, NULL) < 0 || nl.xid <= VCTX_XID_SPECTATOR)
		nl.xid = 0;
	return vctx_netlock_attach(cgfd, &nl, err);
}

/**
 * vctx_netlock_query - the network lock a cgroup's processes are under
 * @cgfd: a cgroup2 directory
 * @out: set to the lock, all zero when the cgroup is not locked
 * @err: filled on failure
 *
 * The lock of the cgroup itself or of its nearest locked ancestor, as long
 * as the programs are still effective on the cgroup.  Never loads the
 * programs: with nothing pinned and nothing attached the answer is "none".
 *
 * Return: 0 or -1.
 */
VCTX_API int vctx_netlock_query(int cgfd, struct vctx_netlock *out, vctx_error *err)
{
	struct ipv4root_lock lock;
	int rc = -1, r;

	memset(&lock, 0, sizeof(lock));
	pthread_mutex_lock(&v4r_mu);
	v4r_open_cached();	/* may be absent: other builds' pins are searched too */
	r = v4r_locked(cgfd, v4r_cache.bind_id, err);
	if (r < 0)
		goto out;
	if (r == 1 && v4r_find_lock(cgfd, &lock, err) < 0)
		goto out;
	rc = 0;
out:
	pthread_mutex_unlock(&v4r_mu);
	if (rc == 0 && out) {
		memset(out, 0, sizeof(*out));
		out->ip = lock.ip;
		out->loopback = lock.loopback;
		out->nat = !!(lock.flags & IPV4ROOT_F_NAT);
		memcpy(out->ip6, lock.ip6, 16);
		memcpy(out->loopback6, lock.lo6, 16);
	}
	return rc;
}

/**
 * vctx_ipv4root_query - the IPv4 part of vctx_netlock_query()
 * @cgfd: a cgroup2 directory
 * @ip: set to the lock address (nbo), 0 when the cgroup is not locked
 * @loopback: set to the mapped loopback address (nbo), 0 when none
 * @err: filled on failure
 *
 * Return: 0 or -1.
 */
VCTX_API int vctx_ipv4root_query(int cgfd, uint32_t *ip, uint32_t *loopback, vctx_error *err)
{
	struct vctx_netlock nl;

	if (vctx_netlock_query(cgfd, &nl, err) < 0)
		return -1;
	if (ip)
		*ip = nl.ip;
	if (loopback)
		*loopback = nl.loopback;
	return 0;
}

/**
 * vctx_ipv4root_forget - drop the lock of a removed cgroup
 * @cgroup_id: the cgroup's id (vctx_cgroup_id() taken before removal)
 * @err: filled on failure
 *
 * Deletes the entry from every build's lock map (an entry of an unknown
 * id is not an error), the context's network counters when it was the
 * context's own lock, the lock's addresses from the address registry,
 * its private IPv6 loopback from lo (unless another lock still uses it),
 * and removes the pins of older builds left empty.  Never loads anything:
 * with no pins there is nothing to forget.
 *
 * Return: 0 or -1.
 */
VCTX_API int vctx_ipv4root_forget(uint64_t cgroup_id, vctx_error *err)
{
	DIR *d;
	struct dirent *de;
	int lk, rc = 0, stale = 0, maps[16], nmaps = 0, had_lo6 = 0;
	__u32 lo6[4];

	pthread_mutex_lock(&v4r_mu);
	v4r_build_name();
	d = opendir(vctx_pin_dir());
	if (!d) {
		pthread_mutex_unlock(&v4r_mu);
		if (errno == ENOENT)
			return 0;
		return vctx_set_error(err, errno, "cannot open %s: %s", vctx_pin_dir(), strerror(errno));
	}
	while ((de = readdir(d))) {
		char path[320 + 256 + 16];	/* any d_name */
		struct ipv4root_lock l;
		int map;

		if (strncmp(de->d_name, V4R_PREFIX, strlen(V4R_PREFIX)) || strstr(de->d_name, "-tmp-"))
			continue;
		if (v4r_pin_path(path, sizeof(path), de->d_name, V4R_MAP_PIN) < 0)
			continue;
		map = bpf_obj_get(path);
		if (map < 0)
			continue;
		if (v4r_lookup(map, cgroup_id, &l) == 0) {
			int addrs;

			v4r_pin_path(path, sizeof(path), de->d_name, V4R_ADDRS_PIN);
			addrs = bpf_obj_get(path);
			v4r_unregister(addrs, &l, cgroup_id);
			if (addrs >= 0)
				close(addrs);
			if (!zero16(l.lo6)) {
				memcpy(lo6, l.lo6, 16);
				had_lo6 = 1;
			}
			if ((l.flags & IPV4ROOT_F_COUNTER) && l.xid) {
				int net = bpf_obj_get(V4R_NET_PATH);
				if (net >= 0) {
					bpf_map_delete_elem(net, &l.xid);
					close(net);
				}
			}
		}
		if (bpf_map_delete_elem(map, &cgroup_id) < 0 && errno != ENOENT && rc == 0)
			rc = vctx_set_error(err, errno, "cannot forget the ipv4root lock of cgroup %llu: %s",
					    (unsigned long long)cgroup_id, strerror(errno));
		if (strcmp(de->d_name, v4r_build) && v4r_map_empty(map))
			stale = 1;
		if (nmaps < 16)
			maps[nmaps++] = map;
		else
			close(map);
	}
	closedir(d);
	if (had_lo6) {
		int used = 0;
		for (int m = 0; m < nmaps && !used; m++)
			used = v4r_lo6_used(maps[m], lo6, cgroup_id);
		if (!used && vctx_lo_addr6(lo6, 0, NULL) < 0 && rc == 0)
			rc = vctx_set_error(err, errno, "cannot remove the private IPv6 loopback of cgroup %llu from lo: %s",
					    (unsigned long long)cgroup_id, strerror(errno));
	}
	for (int m = 0; m < nmaps; m++)
		close(maps[m]);
	if (stale) {
		lk = vctx_bpf_flock(NULL);
		if (lk >= 0) {
			v4r_gc_builds();
			close(lk);
		}
	}
	pthread_mutex_unlock(&v4r_mu);
	return rc;
}

/* the counters map, opened once per process (the pin is never replaced
   while a server runs); -1 when nothing was ever pinned */
static int v4r_net_fd(void)
{
	static int fd = -1;
	int f;

	if (fd >= 0)
		return fd;
	pthread_mutex_lock(&v4r_mu);
	if (fd < 0 && (f = bpf_obj_get(V4R_NET_PATH)) >= 0) {
		fcntl(f, F_SETFD, FD_CLOEXEC);
		fd = f;
	}
	pthread_mutex_unlock(&v4r_mu);
	return fd;
}

/**
 * vctx_net_counters - a context's network counters (struct
 * vctx_net_counters): the per-CPU values of its entry summed.
 * @xid: the context
 * @out: set to the sums (all zero when not counted)
 * @err: filled on failure
 *
 * Return: 1 found, 0 not counted (no entry: no such context, no network
 * lock, or a lock of a build before the counters), -1 error.
 */
VCTX_API int vctx_net_counters(uint32_t xid, struct vctx_net_counters *out, vctx_error *err)
{
	static int ncpu;
	struct ipv4root_net vals[256], *v = vals;
	int fd = v4r_net_fd(), rc;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return 0;
	if (!ncpu)
		ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return vctx_set_error(err, -ncpu, "cannot count the possible CPUs: %s", strerror(-ncpu));
	if (ncpu > 256 && !(v = calloc((size_t)ncpu, sizeof(*v))))
		return vctx_set_error(err, ENOMEM, "reading the network counters: out of memory");
	if (bpf_map_lookup_elem(fd, &xid, v) < 0) {
		rc = errno == ENOENT ? 0 : vctx_set_error(err, errno, "cannot read the network counters of context %u: %s",
							   xid, strerror(errno));
	} else {
		for (int i = 0; i < ncpu; i++) {
			out->rx_bytes += v[i].rx_bytes;
			out->rx_packets += v[i].rx_packets;
			out->tx_bytes += v[i].tx_bytes;
			out->tx_packets += v[i].tx_packets;
		}
		rc = 1;
	}
	if (v != vals)
		free(v);
	return rc;
}
