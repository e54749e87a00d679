/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvctx - Linux-VServer security contexts on a stock kernel.
 *
 * A security context is a group of processes with its own PID, IPC, UTS,
 * mount, cgroup and time namespaces, its own cgroup (named by its XID, in
 * the cgroup2 hierarchy under "vctx/"), a root directory, a capability
 * ceiling, rlimits and cgroup limits, and optionally a network lock (eBPF
 * cgroup programs): its IPv4 address, an IPv6 address and the private
 * loopbacks it is locked to (struct vctx_netlock).
 *
 * Conventions:
 *  - every fallible function returns 0 (or a count) on success and -1 on
 *    failure, filling *err with an errno and a one-line message naming what
 *    failed.  The library never exits the process and never prints.
 *  - creating and entering contexts needs a single-threaded caller.
 *  - per-context metadata lives in trusted.vctx.* xattrs on the context's
 *    cgroup2 directory, so it is derived from the kernel and vanishes with
 *    the context.
 */
#ifndef VCTX_H
#define VCTX_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/resource.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VCTX_XID_HOST		0u
#define VCTX_XID_SPECTATOR	1u
#define VCTX_XID_STATIC_MIN	2u
#define VCTX_XID_STATIC_MAX	49151u
#define VCTX_XID_DYN_MIN	49152u
#define VCTX_XID_DYN_MAX	65535u
#define VCTX_XID_NONE		0xffffffffu

/*
 * Instances (docs/instances.md): VCTX_INSTANCE=NAME selects a named
 * instance; unset or empty, the default one with the paths below.  A named
 * instance's paths are the default's with "@NAME" appended.
 */
/* cgroup2 subtree holding every context of the default instance: <cgroup2 mount>/vctx */
#define VCTX_DEFAULT_CGROUP_ROOT	"vctx"
/* runtime directory of the kernel layer (guard sockets, locks) */
#define VCTX_DEFAULT_RUNDIR		"/run/vctx"
/* bpffs directory for the pinned ipv4root programs and maps */
#define VCTX_DEFAULT_BPF_PIN_DIR	"/sys/fs/bpf/vctx"
/* one NAME.conf per named instance (XID_RANGE=LO-HI) */
#define VCTX_INSTANCES_DIR		"/etc/vctx/instances"
/* a named instance without XID_RANGE gets VCTX_INSTANCE_SLOT_XIDS XIDs from
   VCTX_INSTANCE_BAND_MIN up, slot FNV-1a(name) % VCTX_INSTANCE_SLOTS */
#define VCTX_INSTANCE_BAND_MIN		40960u
#define VCTX_INSTANCE_SLOT_XIDS		256u
#define VCTX_INSTANCE_SLOTS		32u

/* the longest root directory a context takes (vctx_info's root[] holds it) */
#define VCTX_ROOT_MAX		255
/* bpffs directory for the pinned ipv4root programs and map */
#define VCTX_BPF_PIN_DIR	"/sys/fs/bpf/vctx"
/* inside every context: a read-only file holding the context's XID */
#define VCTX_XID_FILE		"/dev/vctx/xid"
/* inside every context: a read-only file holding its flags ("lock nproc") */
#define VCTX_FLAGS_FILE		"/dev/vctx/flags"
/* where lxcfs serves its per-cgroup /proc files (Debian's lxcfs.service) */
#define VCTX_LXCFS_DIR		"/var/lib/lxcfs"
/* where vctx-netview serves /proc/net cut to each server's sockets */
#define VCTX_NETVIEW_DIR	"/run/vctx-netview"

/* ---------------------------------------------------------------- errors */

/* enum vctx_err_kind (VCTX_ERR_FAILED, VCTX_ERR_EXEC ...), enum vctx_flag
   (VCTX_F_LOCK ...) and the capability and server-name tables: generated
   from kernel/tables/vctx-tables.json */
#include "vctx-tables.h"

typedef struct vctx_error {
	int err;		/* errno value, 0 when none */
	enum vctx_err_kind kind;
	char msg[512];		/* one line, no trailing newline */
} vctx_error;

/* set err->err, kind VCTX_ERR_FAILED and a printf-style message; always
   returns -1 */
int vctx_set_error(vctx_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* the same with another kind */
int vctx_set_error_kind(vctx_error *err, enum vctx_err_kind kind, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* the name of error kind @kind ("failed", "exec": kernel/tables/vctx-tables.json) */
const char *vctx_err_kind_name(enum vctx_err_kind kind);

/* ------------------------------------------------------------- instances */

/* the instance's name: "" for the default, NULL when VCTX_INSTANCE is not a valid name */
const char *vctx_instance(void);
/* -1 with a one-line error when VCTX_INSTANCE is set to an invalid name */
int vctx_instance_check(vctx_error *err);
/* "vctx" or "vctx@NAME": the cgroup2 subtree of this instance's contexts */
const char *vctx_cgroup_root(void);
/* "/run/vctx" or "/run/vctx@NAME" */
const char *vctx_rundir(void);
/* "/sys/fs/bpf/vctx" or "/sys/fs/bpf/vctx@NAME" */
const char *vctx_pin_dir(void);
/*
 * @base ("/etc/vservers", "/run/vservers", "/vservers") as this instance's
 * default (base@NAME for a named one, docs/instances.md) in @buf; NULL when
 * VCTX_INSTANCE is invalid or @buf too small
 */
const char *vctx_instance_dir(const char *base, char *buf, size_t len);
struct vctx_xid_range {
	uint32_t lo, hi;
	char source[300];	/* the file that set it, or "derived from the name" */
};
/* the XID range of named instance @name (from VCTX_INSTANCES_DIR/NAME.conf or derived) */
int vctx_instance_range(const char *name, struct vctx_xid_range *r, vctx_error *err);
/* why @name cannot name a server or an instance (the tables' rule), or NULL */
const char *vctx_name_problem(const char *name, char *buf, size_t len);

/* ---------------------------------------------------------------- flags */

/* "lock" -> VCTX_F_LOCK; returns 0 when unknown */
unsigned vctx_flag_from_name(const char *name);
/* space-separated names of set flags into buf */
void vctx_flags_format(unsigned flags, char *buf, size_t len);
/* the flags named in a blank- or comma-separated list (unknown names ignored) */
unsigned vctx_flags_parse(const char *s);

/* ---------------------------------------------------------- capabilities */

/* number of capabilities the running kernel knows (cap_last_cap + 1) */
int vctx_cap_count(void);
/* "CAP_NET_RAW" or "net_raw" (any case) -> 13; -1 if unknown */
int vctx_cap_from_name(const char *name);
/* 13 -> "CAP_NET_RAW"; NULL if unknown to this tool */
const char *vctx_cap_name(int cap);
/* the server default allowlist (CONTRACT.md) */
uint64_t vctx_caps_server_default(void);
/* capabilities that may be added with S_CAPS / --cap */
uint64_t vctx_caps_addable(void);
/* why a refused capability is refused; NULL if it is not refused */
const char *vctx_cap_refusal(int cap);
/*
 * The check of CONTRACT.md "Capabilities of a server": -1 with EPERM and
 * "CAP_X is refused to servers: WHY" for the first refused capability in
 * @keep (a mask of capabilities asked to be kept on top of the server
 * default set), 0 when none is refused.
 */
int vctx_caps_check_server(uint64_t keep, vctx_error *err);
/*
 * One --cap argument (chcontext, reducecap): "X" or "CAP_X" (any case, or
 * a number) is added to *add, "!X" to *drop; the first argument adding a
 * capability refused to servers is kept in *refused.  -1 when the
 * capability is unknown to this tool or the kernel.
 */
int vctx_cap_arg(const char *arg, uint64_t *add, uint64_t *drop, const char **refused);
/* read Cap{Inh,Prm,Eff,Bnd,Amb} of pid (0 = self) */
struct vctx_capsets { uint64_t inh, prm, eff, bnd, amb; };
int vctx_caps_of_pid(pid_t pid, struct vctx_capsets *out, vctx_error *err);
/*
 * Lower the calling process's bounding set to @keep, clear ambient and
 * inheritable, and set effective/permitted to (current & keep).
 */
int vctx_caps_reduce(uint64_t keep, vctx_error *err);

/* ---------------------------------------------------------- cgroups */

enum vctx_ctl {
	VCTX_CTL_PIDS, VCTX_CTL_MEMORY, VCTX_CTL_CPU, VCTX_CTL_CPUACCT,
	VCTX_CTL_FREEZER, VCTX_CTL__COUNT
};

struct vctx_cgroup_layout {
	char v2[256];			/* cgroup2 mount point */
	int hybrid;			/* 1 when controllers sit on v1 */
	/* where each controller lives: 2 = cgroup2, 1 = v1 at v1path, 0 = absent */
	int where[VCTX_CTL__COUNT];
	char v1path[VCTX_CTL__COUNT][256];
	int has_kill;			/* cgroup.kill present (5.14+) */
	int has_freeze;			/* cgroup.freeze present (5.2+) */
};

/* detect (once, cached) how cgroups are mounted on this host */
const struct vctx_cgroup_layout *vctx_cgroup_layout(vctx_error *err);

/* ------------------------------------------------------- context spec */

struct vctx_rlimit {
	int resource;		/* RLIMIT_* */
	rlim_t soft, hard;
	int set_soft, set_hard;
};

#define VCTX_MAX_RLIMITS 16

struct vctx_spec {
	uint32_t xid;		/* 0: allocate a dynamic XID */
	const char *name;	/* server name (metadata), may be NULL */
	const char *root;	/* root directory to pivot into; NULL keeps / */
	const char *hostname;	/* NULL keeps the parent's */
	const char *domainname;
	int keep_caps;		/* 1: leave capabilities alone (bare chcontext) */
	uint64_t caps;		/* bounding set when !keep_caps */
	int secure;		/* full containment of a server */
	unsigned flags;		/* VCTX_F_* */
	uint32_t ipv4;		/* IPv4 lock, network byte order; 0 = none */
	uint32_t loopback;	/* 127/8 maps to this (nbo); 0 = no mapping */
	uint8_t ipv6[16];	/* the server's IPv6 address; all zero = none */
	uint8_t loopback6[16];	/* its private IPv6 loopback (a ULA added to
				   lo); all zero with a loopback: derived
				   from it (vctx_loopback6_for) */
	int nat;		/* connections off the loopback leave from the
				   host's address (see vctx_netlock) */
	int has_nice;		/* S_NICE: nice floor */
	int nice;
	struct vctx_rlimit rlimits[VCTX_MAX_RLIMITS];
	int n_rlimits;
	int64_t memory_max;	/* bytes, 0 = none */
	int64_t pids_max;	/* 0 = none */
	int cpu_weight;		/* 1..10000, 0 = default */
	int cpu_max_pct;	/* % of one CPU, 0 = none */
	int persist;		/* reaper stays after CMD exits, while the
				   context has processes (sysv-rc servers) */
	const char *console;	/* file for the init's stdin/out/err, NULL = inherit */
	const char *reboot_socket; /* host path bound into the root as /dev/reboot */
	const char *workdir;	/* cwd for CMD inside, default / (or kept) */
	int accounting;		/* make memory/pids/cpuacct cgroups even
				   without limits, for per-context figures */
};

void vctx_spec_init(struct vctx_spec *spec);

/* a created context, as seen from the creating (monitor) process */
struct vctx_handle {
	uint32_t xid;
	pid_t pid1;		/* host PID of the context's PID 1 */
	int pidfd;		/* pidfd of pid1 */
	pid_t cmd_pid;		/* host PID of CMD (== pid1 with fakeinit) */
	char cgroup[512];	/* cgroup2 directory */
};

/*
 * vctx_create - start CMD in a new security context.
 * Must be called from a single-threaded process running as root.  On
 * success the caller is the context's monitor: call vctx_wait() to reap
 * it and release its cgroups.  On failure nothing is left behind.
 */
int vctx_create(const struct vctx_spec *spec, char *const argv[],
		char *const envp[], struct vctx_handle *out, vctx_error *err);

/*
 * vctx_wait - wait for the context's PID 1 to exit, then for the cgroup
 * to empty, then remove it.  Returns the PID 1 exit status as from
 * waitpid() in *status.
 */
int vctx_wait(struct vctx_handle *h, int *status, vctx_error *err);

/* remove the cgroups (v2 + v1) and eBPF state of an empty context */
int vctx_release(uint32_t xid, vctx_error *err);


/* ------------------------------------------------- limits of a running context */

#define VCTX_LIM_MEMORY		0x1
#define VCTX_LIM_PIDS		0x2
#define VCTX_LIM_CPU_WEIGHT	0x4
#define VCTX_LIM_CPU_MAX	0x8

struct vctx_limits {
	unsigned set;		/* VCTX_LIM_* to change; the others stay */
	int64_t memory_max;	/* bytes, 0 = no limit */
	int64_t pids_max;	/* 0 = no limit */
	int cpu_weight;		/* 1..10000, 0 = the default (100) */
	int64_t cpu_quota_us;	/* per 100000 us period, 0 = no cap */
};

/*
 * Change the limits of running context @xid, where its controllers are:
 * cgroup2, or cgroup v1 on hybrid hosts.  A v1 directory the context does
 * not have yet (started without that limit) is made and its processes are
 * moved in.  All or nothing: on failure the values already changed are
 * put back, and the error names the file and value the kernel refused.
 */
int vctx_set_limits(uint32_t xid, const struct vctx_limits *l, vctx_error *err);

/* ------------------------------------------------------------- disk limits */

/* project ids vctx gives servers' trees start here (lower ones are the admin's) */
#define VCTX_PROJID_BASE 100000u

struct vctx_quota_fs {
	unsigned long fs_type;	/* statfs f_type (EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC ...) */
	unsigned dev_major, dev_minor;	/* st_dev of the path (for mountinfo) */
	int accounting;		/* the file system counts project use */
	int enforced;		/* ... and enforces project limits */
	int quota_errno;	/* errno of the quotactl probe when neither */
	int projid_ok;		/* an inode there answers FS_IOC_FSGETXATTR */
};

struct vctx_quota_use {
	uint64_t used_bytes;
	uint64_t limit_bytes;	/* 0 = none */
	uint64_t inodes;
};

struct vctx_quota_tag_stats {
	uint64_t tagged;	/* inodes given the project id */
	uint64_t skipped;	/* symlinks, device nodes, FIFOs, sockets, other mounts */
};

/* kernel/lib/quota.c: ext4/XFS project quotas for DISK_MAX (quotactl_fd) */
int vctx_quota_probe(const char *path, struct vctx_quota_fs *out, vctx_error *err);
int vctx_quota_project_of(const char *root, uint32_t *projid, int *inherit, vctx_error *err);
int vctx_quota_tag_tree(const char *root, uint32_t projid, struct vctx_quota_tag_stats *st, vctx_error *err);
int vctx_quota_set(const char *path, uint32_t projid, uint64_t bytes, vctx_error *err);
int vctx_quota_get(const char *path, uint32_t projid, struct vctx_quota_use *out, vctx_error *err);
int vctx_quota_apply(const char *root, uint64_t bytes, uint32_t *projid, struct vctx_quota_tag_stats *st,
		     vctx_error *err);

/* ------------------------------------------------------------- enter */

struct vctx_exec {
	char *const *argv;
	char *const *envp;	/* NULL: a clean default environment */
	const char *cwd;	/* NULL: "/" */
	int fds[3];		/* stdin/out/err to hand over; -1 = /dev/null */
	int pty;		/* 1: run on a fresh pty of the context; the
				   master is returned in *pty_master */
	uid_t uid;		/* 0 = root */
	gid_t gid;
};

/*
 * vctx_enter - run a process inside running context @xid.  It joins every
 * namespace, the cgroup, root, capability ceiling, rlimits, seccomp and
 * Landlock domain and the IPv4 lock (it is forked by the context's guard).
 * On success *pid is its host PID and *conn a descriptor that becomes
 * readable when it exits: pass it to vctx_enter_wait().  XID 1 is the
 * spectator and is joined by the calling process itself: use
 * vctx_spectate() instead.
 */
int vctx_enter(uint32_t xid, const struct vctx_exec *ex, pid_t *pid,
	       int *conn, int *pty_master, vctx_error *err);
int vctx_enter_wait(int conn, int *status, vctx_error *err);

/*
 * vctx_spectate - turn the calling process into a member of context 1: it
 * keeps the host's view of every process and cannot signal or trace any
 * process outside itself (Landlock scoping).  @tsync applies to every
 * thread (seccomp) for multithreaded callers such as Node.
 */
int vctx_spectate(int tsync, vctx_error *err);

/*
 * vctx_spectate_fork - fork() whose child is born a member of context 1
 * (clone3 with CLONE_INTO_CGROUP) and confined as vctx_spectate() confines
 * a single-threaded caller: what fork() then vctx_spectate() in the child
 * do, without moving a process between cgroups, which waits for an RCU
 * grace period (~10 ms here; before Linux 5.7, which has no
 * CLONE_INTO_CGROUP, the child moves itself).  Returns the child's PID in
 * the parent, 0 in the child; -1 with @err when no child was made.  A child
 * that cannot join or confine itself writes "PROG: why" to stderr and
 * exits 1: it never runs unconfined.
 */
pid_t vctx_spectate_fork(const char *prog, vctx_error *err);

/* ------------------------------------------------------------ kill */

/* signal every process of context @xid (SIGKILL: cgroup.kill or
   freeze-kill-thaw; another signal: with the context frozen meanwhile, so
   none of its processes can end the others before they are signalled);
   returns the number of processes signalled */
int vctx_kill_context(uint32_t xid, int sig, vctx_error *err);

/*
 * vctx_kill_pid - signal exactly the process the caller saw: @pid with
 * start time @starttime (clock ticks after boot, /proc/PID/stat field 22;
 * 0 = do not check).  Refuses processes of private contexts.
 */
int vctx_kill_pid(pid_t pid, uint64_t starttime, int sig, vctx_error *err);

/* ------------------------------------------------------------ info */

/* the inside views the host serves now (a --secure context gets them at
   creation): lxcfs at VCTX_LXCFS_DIR, vctx-netview at VCTX_NETVIEW_DIR */
#define VCTX_VIEW_LXCFS		1u
#define VCTX_VIEW_NETVIEW	2u
unsigned vctx_views_available(void);

/* XID of @pid (0 = self); from /proc/PID/cgroup, or VCTX_XID_FILE inside */
int vctx_xid_of_pid(pid_t pid, uint32_t *xid, vctx_error *err);

struct vctx_info {
	uint32_t xid;
	uint32_t parent_xid;	/* 0 for top-level contexts */
	char name[64];		/* server name or "" */
	char cgroup[512];	/* cgroup2 directory */
	char root[VCTX_ROOT_MAX + 1];	/* root directory or "" */
	pid_t pid1;		/* host PID of PID 1, 0 if unknown */
	uint32_t ipv4, loopback;/* nbo, 0 = none */
	uint8_t ipv6[16], loopback6[16];	/* all zero = none */
	int nat;
	uint64_t caps;		/* bounding set of PID 1 */
	unsigned flags;
	int64_t created;	/* unix seconds */
	int nprocs;		/* processes in the cgroup subtree */
	uint64_t ns[7];		/* inode of pid, mnt, ipc, uts, cgroup, time, net */
};

/* info about one running context */
int vctx_info_get(uint32_t xid, struct vctx_info *out, vctx_error *err);
/* all running contexts (except 0); *out is malloc'd, free() it */
int vctx_list(struct vctx_info **out, size_t *n, vctx_error *err);

/* --------------------------------------------------------- ipv4root */

/*
 * The network lock of a context (the ipv4root eBPF programs; the rules are
 * in kernel/bpf/ipv4root.bpf.c's header and docs/CONTRACT.md):
 *  - @ip: bind to 0.0.0.0 yields it, other local addresses give EPERM,
 *    connect/sendmsg leave from it;
 *  - @loopback (0 = none): 127.0.0.0/8 except the addresses of other
 *    servers is the context's own localhost: its listeners at @loopback or
 *    @ip, read back as 127.0.0.1;
 *  - @ip6 (all zero = none): the server's IPv6 address, `::` binds to it;
 *  - @loopback6 (all zero = IPv6 sockets are refused): its private IPv6
 *    loopback, ::1 inside, added to lo while the lock lasts;
 *  - @nat: connect() to destinations off the loopback leaves from the
 *    address the kernel's routing chooses instead of @ip (without it a
 *    loopback @ip gives ENETUNREACH there).
 */
struct vctx_netlock {
	uint32_t ip, loopback;		/* nbo */
	uint8_t ip6[16], loopback6[16];
	int nat;
	uint32_t xid;			/* the context its packets are counted
					   for (vctx_net_counters), 0 = none */
	int new_counter;		/* the context's own lock: its counters
					   start at zero now and go when the
					   lock is forgotten */
};

/*
 * Lock every process of the cgroup2 directory @cgfd (see struct
 * vctx_netlock).  Loads and pins the programs on first use (mounting bpffs
 * when missing).  One-shot: fails with EEXIST when the cgroup or an
 * ancestor is already locked.  vctx_ipv4root_forget() undoes it.
 */
int vctx_netlock_attach(int cgfd, const struct vctx_netlock *nl, vctx_error *err);
/* the lock of the cgroup (or nearest locked ancestor); all zero = none */
int vctx_netlock_query(int cgfd, struct vctx_netlock *out, vctx_error *err);
/* vctx_netlock_attach with @ip and @loopback only (IPv6 refused, no nat) */
int vctx_ipv4root_attach(int cgfd, uint32_t ip, uint32_t loopback,
			 vctx_error *err);
/* the lock of the cgroup (or nearest locked ancestor); 0 ip = none */
int vctx_ipv4root_query(int cgfd, uint32_t *ip, uint32_t *loopback,
			vctx_error *err);
/* forget the lock of a removed cgroup (by cgroup id): its map entry, its
   registered addresses, its private IPv6 loopback on lo, and the network
   counters of its context when it was the context's own lock */
int vctx_ipv4root_forget(uint64_t cgroup_id, vctx_error *err);
/*
 * A context's network traffic as its lock's packet filters let it through
 * (kernel/bpf/ipv4root.h): IP packets with their headers, a GSO packet as
 * its segments.  Both ends of loopback traffic are counted: a server
 * talking to itself counts its packets out and in, one server talking to
 * another counts out at the sender and in at the receiver.
 */
struct vctx_net_counters {
	uint64_t rx_bytes, rx_packets;	/* in: received by the context */
	uint64_t tx_bytes, tx_packets;	/* out: sent by the context */
};
/* the counters of context @xid: 1 found, 0 not counted (no lock of this
   build or later, or no such context), -1 error */
int vctx_net_counters(uint32_t xid, struct vctx_net_counters *out, vctx_error *err);
/* the loopback address reserved for a server's context: 127.128.hi.lo */
uint32_t vctx_loopback_for_xid(uint32_t xid);
/* the private IPv6 loopback of a server whose IPv4 loopback is @loopback
   (nbo): fd76:6374:7800::/96 + its 32 bits, fd76:6374:7800::7f80:33 for
   127.128.0.51 */
void vctx_loopback6_for(uint32_t loopback, uint8_t out[16]);

/*
 * Context metadata: trusted.* xattrs on the context's cgroup2 directory
 * (values are text).  Written once by vctx_create before the first process
 * of the context runs.
 */
#define VCTX_XATTR_NAME		"trusted.vctx.name"	/* server name */
#define VCTX_XATTR_FLAGS	"trusted.vctx.flags"	/* "lock private ..." */
#define VCTX_XATTR_IP		"trusted.vctx.ip"	/* dotted IPv4 lock */
#define VCTX_XATTR_LOOPBACK	"trusted.vctx.loopback"	/* dotted */
#define VCTX_XATTR_IP6		"trusted.vctx.ip6"	/* IPv6 address */
#define VCTX_XATTR_LOOPBACK6	"trusted.vctx.loopback6"	/* IPv6 */
#define VCTX_XATTR_NAT		"trusted.vctx.nat"	/* "1" with nat */
#define VCTX_XATTR_ROOT		"trusted.vctx.root"	/* root directory */
#define VCTX_XATTR_PID1		"trusted.vctx.pid1"	/* host PID of PID 1 */
#define VCTX_XATTR_CAPS		"trusted.vctx.caps"	/* bounding set, 0x hex */
#define VCTX_XATTR_CREATED	"trusted.vctx.created"	/* unix seconds */
#define VCTX_XATTR_MONITOR	"trusted.vctx.monitor"	/* "PID STARTTIME" of the monitor
							   (PID and start time as the monitor
							   sees them: host ones for top-level
							   contexts, the parent's for nested) */

/*
 * Context cgroups: <cgroup2>/vctx/<xid> for top-level contexts and
 * <parent's cgroup>/<xid> for contexts created inside a context.  A path
 * component that is all digits is an XID; other components (such as
 * "bind-<pid>" made by chbind) are not contexts.  The XID of a process is
 * the last all-digit component of its cgroup2 path below vctx/.
 */

/* ------------------------------------------------------------- util */

/*
 * The caller's cgroup2 directory (full path).  Inside a context, whose
 * cgroup namespace hides the path, it is resolved through the context's XID.
 */
int vctx_cgroup_self(char *path, size_t len, vctx_error *err);

/* the first IPv4 address (nbo) of interface @name: 1 found, 0 none, -1 errno */
int vctx_ipv4_of_iface(const char *name, uint32_t *ip);
/* is @ip (nbo) on an interface, or in 127/8?  1 yes, 0 no, -1 errno */
int vctx_ipv4_is_local(uint32_t ip);
/* is @ip6 on an interface, or ::1?  1 yes, 0 no, -1 errno */
int vctx_ipv6_is_local(const uint8_t ip6[16]);

/* cgroup id (inode number) of a cgroup2 directory fd */
uint64_t vctx_cgroup_id(int cgfd);

/*
 * vctx_json_string - @s to @f as a JSON string: quote and backslash
 * escaped, control characters as \u00XX, valid UTF-8 as it is, each byte
 * of an invalid UTF-8 sequence as U+FFFD.
 */
void vctx_json_string(FILE *f, const char *s);

/**
 * vctx_front_exec_node - the commands' C fronts (vserver, vps, vserver-stat):
 * become Node running the bundle dist/@bundle, found from this binary's own
 * path (kernel/out/NAME -> dist/@bundle; Node is told, with
 * --preserve-symlinks-main, not to resolve that path again), with
 * @argv[1..] as its arguments and NODE_EXTRA_CA_CERTS removed (with it Node
 * reads a CA bundle at start).
 * The Node is the tree's own node/bin/node when there is one (the Debian
 * package ships it), else the first on PATH.
 * Returns only on failure, after printing "@prog: ..." on stderr: 127 when
 * node cannot be run, 1 otherwise.
 */
int vctx_front_exec_node(const char *prog, const char *bundle, int argc, char **argv);

/*
 * vctx_front_kernel_json - what `vserver`'s front hands Node so that a
 * status needs no addon: {"cgroupLayout": {v2, contexts, hybrid} (the
 * addon's cgroupLayout()), "contexts": [...] (its listContexts(), the flags
 * as a list)}, each one libvctx's error object ({"error", "errno", "code",
 * "kind"}) when it failed (src/kernel-bridge/front.ts reads it).  Returns
 * -1 when @f reports a write error, else 0.
 */
int vctx_front_kernel_json(FILE *f);

#ifdef __cplusplus
}
#endif
#endif /* VCTX_H */
