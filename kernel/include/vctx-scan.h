/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vctx-scan.h - the host snapshot: every process with its context, and
 * every context with its cgroup's own figures.
 *
 * A scanner is made once and refreshed many times.  Each refresh reads
 * /proc (getdents64 on one directory fd), one /proc/PID/stat per process,
 * and the cgroup.procs of each context (the contexts are few, the
 * processes many: membership never costs a file per process).  What does
 * not change for a given (pid, start time) - the PID inside its context,
 * the uid and the command line - is read once and cached; an exec (a new
 * comm or code segment in /proc/PID/stat) refreshes it.  /proc/PID/io is
 * read for the processes of a context whose disk I/O is summed (no io
 * controller) only when the context used CPU time since the last refresh
 * (nothing does I/O without running) or the process is new.  In steady
 * state a refresh allocates nothing.
 *
 * A process that vanishes during a refresh is left out, never an error.
 * Every string that comes from a process (comm, cmdline) is escaped for a
 * terminal: see vctx_escape().
 */
#ifndef VCTX_SCAN_H
#define VCTX_SCAN_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "vctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* raw bytes of the command line kept per process (before escaping) */
#define VCTX_CMDLINE_MAX	512

/* where a per-context figure came from */
enum vctx_source {
	VCTX_SRC_SUM = 0,	/* summed over the context's processes */
	VCTX_SRC_CGROUP1,	/* a cgroup v1 controller file */
	VCTX_SRC_CGROUP2,	/* a cgroup2 file */
};

/* "sum", "cgroup1", "cgroup2" */
const char *vctx_source_name(enum vctx_source src);

/* one process, as the refresh saw it; strings belong to the scanner */
struct vctx_proc {
	pid_t pid;
	pid_t ppid;
	uint32_t xid;		/* 0 host, 1 spectator, 2.. contexts */
	pid_t inner_pid;	/* PID in its context's PID namespace; -1 unknown */
	char state;		/* R S D Z T t X I */
	int threads;
	int nice;
	uid_t uid;		/* effective uid */
	uint64_t starttime;	/* clock ticks after boot */
	uint64_t utime, stime, cutime, cstime;	/* clock ticks */
	uint64_t vsz, rss;	/* bytes */
	const char *comm;	/* escaped */
	const char *cmdline;	/* NULs as spaces, escaped; "" for kernel threads */
	uint64_t gen;		/* new whenever comm or cmdline was (re)read:
				   callers may cache what they made of them */
};

/* namespaces reported per context, in this order */
enum vctx_ns_kind {
	VCTX_NS_PID, VCTX_NS_MNT, VCTX_NS_IPC, VCTX_NS_UTS, VCTX_NS_CGROUP,
	VCTX_NS_TIME, VCTX_NS__COUNT
};
/* "pid", "mnt", ... as in /proc/PID/ns */
const char *vctx_ns_name(enum vctx_ns_kind kind);

/* one running context (xid >= 1) */
struct vctx_ctx {
	uint32_t xid;
	uint32_t parent_xid;	/* 0 for top-level contexts */
	char name[64];		/* trusted.vctx.name, "" when none (escaped) */
	char cgroup[512];	/* cgroup2 directory */
	char root[256];		/* trusted.vctx.root, "" when / (escaped) */
	pid_t pid1;		/* trusted.vctx.pid1, 0 when unknown */
	char ip[16];		/* dotted, "" when none */
	char loopback[16];	/* dotted, "" when none */
	char ip6[46];		/* IPv6 address, "" when none */
	char loopback6[46];	/* private IPv6 loopback, "" when none */
	int nat;		/* trusted.vctx.nat: 1 with --nat */
	uint64_t caps;		/* bounding set (xattr, else PID 1's CapBnd) */
	int caps_known;		/* 0: neither said it */
	unsigned flags;		/* VCTX_F_* */
	int64_t created;	/* unix seconds, 0 when unknown */
	int nprocs;		/* processes in the cgroup subtree */
	uint64_t ns[VCTX_NS__COUNT];	/* inode numbers of PID 1's namespaces, 0 unknown */
	uint64_t cpu_usec;
	enum vctx_source cpu_source;
	uint64_t mem_bytes;
	enum vctx_source mem_source;
	int64_t mem_max;	/* bytes, -1 = none */
	int64_t pids_max;	/* -1 = none */
	uint64_t pids_events;	/* forks refused by the pids limit */
	uint64_t oom_kills;
	/* network: its lock's counters (vctx_net_counters), nested contexts'
	   included; net_counted 0 = not counted (no network lock) */
	int net_counted;
	uint64_t net_rx_bytes, net_rx_packets, net_tx_bytes, net_tx_packets;
	/* disk I/O in bytes: the cgroup's io.stat (rbytes, wbytes over every
	   device; CGROUP2) where the io controller is, else (SUM) the
	   read_bytes and write_bytes of /proc/PID/io summed over its live
	   processes (each with what the children it reaped did; what went
	   with a process that exited unreaped is not counted); io_known 0 =
	   not read (a stat-only scan, or /proc/PID/io unreadable) */
	int io_known;
	enum vctx_source io_source;
	uint64_t io_read_bytes, io_write_bytes;
};

/* the result of one refresh; valid until the next refresh or free */
struct vctx_snapshot {
	double taken_at_ms;	/* CLOCK_MONOTONIC */
	long clock_ticks;	/* sysconf(_SC_CLK_TCK) */
	int64_t boot_time;	/* unix seconds (btime) */
	double uptime;		/* seconds since boot (CLOCK_BOOTTIME) */
	long page_size;
	const struct vctx_proc *procs;	/* sorted by pid */
	size_t nprocs;
	const struct vctx_ctx *ctxs;	/* sorted by cgroup path (parents first) */
	size_t nctxs;
};

struct vctx_scanner;

/* a new scanner (opens /proc, detects the cgroup layout); NULL on failure */
struct vctx_scanner *vctx_scanner_new(vctx_error *err);
void vctx_scanner_free(struct vctx_scanner *s);
/* stat-only scans for one-shot summaries: innerPid unknown, uid 0, cmdline "" */
void vctx_scanner_set_lite(struct vctx_scanner *s, int on);

/*
 * vctx_scan - refresh the snapshot held by @s and point *@out at it.
 * Returns the number of processes, or -1 when /proc itself cannot be read.
 */
int vctx_scan(struct vctx_scanner *s, const struct vctx_snapshot **out,
	      vctx_error *err);

/*
 * vctx_scan_json - scan once (stat only when @lite) and write the snapshot
 * to @f as JSON, the object the addon's snapshot() gives
 * (src/kernel-bridge/types.ts Snapshot), leaving out process @leave_out
 * (0: none); when the scan fails, {"error": MESSAGE, "errno": N, "code":
 * NAME} instead.  Returns -1 when @f reports a write error, else 0.
 */
int vctx_scan_json(FILE *f, int lite, pid_t leave_out);

/*
 * vctx_escape - copy @len bytes of @in to @out (size @outlen, always
 * NUL-terminated) so that a terminal shows them and obeys none of them:
 * valid UTF-8 stays, backslash becomes "\\", \n \r \t become "\n" "\r"
 * "\t", other C0 controls, DEL and invalid UTF-8 bytes become "\xHH" per
 * byte, C1 controls (U+0080..U+009F), bidi controls and the line and
 * paragraph separators "\u{HH}" (their code point, as JavaScript writes
 * it).  escapeText in src/kernel-bridge/escape.ts is its twin.  An escape
 * that does not fit is dropped whole.  Returns the output length.
 */
size_t vctx_escape(const char *in, size_t len, char *out, size_t outlen);

/**
 * vctx_shown - @s (a command-line argument) for a one-line message: control
 * characters escaped as vctx_escape() does, cut at 1 KiB.  The result lives
 * in one of two static buffers (two arguments per message at most).
 */
const char *vctx_shown(const char *s);
/*
 * vctx_escape_hex - the same, but \n \r \t are "\x0a" "\x0d" "\x09" and a
 * backslash stays: for one-line records read by people (the system
 * log, vtop-helper's replies) where "\\" would only be noise.
 */
size_t vctx_escape_hex(const char *in, size_t len, char *out, size_t outlen);

/* ------------------------------------------------ internal (not exported) */

/* the cgroup layout (vctx_cgroup_layout()) */
const struct vctx_cgroup_layout *vctx__scan_layout(vctx_error *err);

/*
 * vctx__ctx_dir - the cgroup2 directory of context @xid (top-level or
 * nested) into @buf; -1 with ESRCH when no such context runs.
 */
int vctx__ctx_dir(uint32_t xid, char *buf, size_t len, vctx_error *err);

#ifdef __cplusplus
}
#endif
#endif /* VCTX_SCAN_H */
