/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvctx internals shared between the lib/ files (not part of the API). */
#ifndef VCTX_INTERNAL_H
#define VCTX_INTERNAL_H
#include "vctx.h"
#include "util.h"

/* a context's cgroups: cgroup2 dir + the v1 controller dirs we made */
struct vctx_cg {
	uint32_t xid;
	char rel[480];			/* relative to the cgroup2 mount: "vctx/N" */
	int v2fd;			/* O_PATH|O_DIRECTORY of the cgroup2 dir */
	int v1made[VCTX_CTL__COUNT];	/* v1 dirs created (same rel path) */
};

/* cgroup.c */
enum { VCTX_WALK_GO, VCTX_WALK_SKIP, VCTX_WALK_STOP };
#define VCTX_WALK_DEPTH 16	/* levels below the start a walk visits */
struct vctx_walk {
	int (*pre)(int fd, const char *name, const char *rel, uint32_t xid, uint32_t parent_xid, void *arg);
	void (*post)(int dirfd, int fd, const char *name, uint32_t parent_xid, void *arg);
	void *arg;
};
int vctx_cg_walk(int dirfd, const char *rel, uint32_t xid, const struct vctx_walk *w);
int vctx_cg_walk_all(const struct vctx_walk *w);
int vctx_cg_own_rel(char *rel, size_t len, vctx_error *err);
int vctx_cg_find(uint32_t xid, char *rel, size_t len);
/* may this instance use @xid (0: dynamic)? *dyn: where a dynamic one is picked (instance.c) */
int vctx_xid_allowed(uint32_t xid, struct vctx_xid_range *dyn, vctx_error *err);
/* is cgroup path @rel (no leading slash) below this instance's tree ("vctx/...") */
int vctx_below_root(const char *rel);
int vctx_cg_create(const struct vctx_spec *spec, struct vctx_cg *cg, vctx_error *err);
int vctx_cg_apply_limits(const struct vctx_spec *spec, struct vctx_cg *cg, vctx_error *err);
int vctx_cg_add_pid_v1(const struct vctx_cg *cg, pid_t pid, vctx_error *err);
void vctx_cg_destroy(struct vctx_cg *cg);
int vctx_cg_open(uint32_t xid, struct vctx_cg *cg, vctx_error *err);
int vctx_cg_open_rel(uint32_t xid, const char *rel, struct vctx_cg *cg, vctx_error *err);
int vctx_cg_wait_value(int dfd, const char *file, const char *want, int timeout_ms, int poll_ms);
int vctx_cg_wait_empty(int v2fd, int timeout_ms);
int vctx_cg_join(const struct vctx_cg *cg, pid_t pid, vctx_error *err);
/* read an xattr of the cgroup2 dir as a string; "" when absent */
void vctx_cg_getattr(int v2fd, const char *name, char *buf, size_t len);
int vctx_cg_setattr(int v2fd, const char *name, const char *value, vctx_error *err);

/* netaddr.c: add (1) / remove (0) @a (16 bytes) /128 on lo, nodad; 1 added,
   0 already there (add) or done (remove), -1 */
int vctx_lo_addr6(const void *a, int add, vctx_error *err);

/* dev.c / mounts */
/*
 * The inside views, made ready by the creating process while it sets up
 * the cgroup (a thread: the daemons' round trips overlap that work):
 * which daemons answer, and detached clones (open_tree) of lxcfs's files
 * and of vctx-netview's directory, which the context's first process
 * moves into its mount namespace (move_mount): no path through a FUSE
 * daemon is looked up in the context's setup.
 */
#define VCTX_LXCFS_NFILES 6
struct vctx_views_prep {
	unsigned mask;			/* VCTX_VIEW_*: the daemons that answered */
	int lxcfs[VCTX_LXCFS_NFILES];	/* a detached mount, or -errno */
	int netview;			/* a detached mount, or -errno */
	int thread;			/* 1 while the thread may run */
	unsigned long tid;
};
void vctx_views_prepare(struct vctx_views_prep *p);
void vctx_views_ready(struct vctx_views_prep *p);
void vctx_views_close(struct vctx_views_prep *p);
int vctx_setup_mounts(const struct vctx_spec *spec, uint32_t xid, const struct vctx_views_prep *views,
		      vctx_error *err);
int vctx_host_xid_file(vctx_error *err);

/* testswitch.c: 1 when VCTX_TEST_WEAKEN names @mechanism (the attack
   suite's proof that a case detects its attack; warns on stderr) */
int vctx_weakened(const char *mechanism);

/* confine.c */
int vctx_landlock_scope(vctx_error *err);
int vctx_seccomp_install(unsigned flags, int secure, vctx_error *err);
int vctx_seccomp_spectator(int tsync, vctx_error *err);

/* guard.c: the in-context service that forks entered processes */
int vctx_guard_listen(uint32_t xid, char *path, size_t len, vctx_error *err);
void vctx_guard_path(uint32_t xid, char *path, size_t len);
/* handle one readable event on the guard listen fd / connection; the
   reaper calls these from its loop */
int vctx_guard_accept(int lfd);
int vctx_guard_serve(int conn);
void vctx_guard_child_exited(pid_t pid, int status);
void vctx_guard_loop(int lfd) __attribute__((noreturn));
/* PID 1's (or the guard's) read end of the console pipe, drained once the
   monitor (@monfd, a pidfd) has exited */
void vctx_console_keeper(int keep, int monfd);
/* counters.c: the host's per-uid counter limits raised to their floors */
void vctx_counters_raise(void);
void vctx_reaper_loop(int lfd, pid_t cmd, int persist) __attribute__((noreturn));
void vctx_guard_forget_conn(int conn);

/* context.c: the one release path (cgroups, lock records, guard socket) */
int vctx_release_cg(struct vctx_cg *cg, vctx_error *err);

/* info.c: a context left over by a killed monitor - its cgroup is empty
   and its monitor is gone (never the spectator's) */
int vctx_cg_orphaned(int v2fd, uint32_t xid, uint32_t parent_xid);
/* release such a context (re-checked under the allocation lock): 1 when
   released, 0 when it is not (or no longer) a leftover, -1 on failure */
int vctx_release_orphan(uint32_t xid, const char *rel, uint32_t parent_xid);

/* ipv4root.c: the flock that serialises eBPF loads (an fd), and bpffs
   mounted at /sys/fs/bpf */
int vctx_bpf_flock(vctx_error *err);
int vctx_bpffs_ensure(vctx_error *err);

/* devices.c: the device allowlist on a context's cgroup2 directory */
int vctx_devices_attach(int cgfd, vctx_error *err);

/* limits.c */
int vctx_apply_rlimits(const struct vctx_spec *spec, vctx_error *err);
#endif
