/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the ipv4root eBPF programs (bpf/ipv4root.bpf.c) and
 * libvctx (lib/ipv4root.c): the lock map's value and the names the
 * library pins and recognises.
 */
#ifndef VCTX_IPV4ROOT_H
#define VCTX_IPV4ROOT_H

/* one lock, the value of the map keyed by cgroup id (__u64) */
struct ipv4root_lock {
	__u32 ip;		/* the lock address, network byte order */
	__u32 loopback;		/* where 127.0.0.0/8 goes (nbo), 0 = not mapped */
};

/*
 * The programs look the lock up by walking the ancestors of the socket's
 * (or task's) cgroup, levels 1 .. IPV4ROOT_MAX_LEVEL-1, and use the
 * deepest lock found.  The library refuses to lock a cgroup deeper than
 * that, so a lock is never silently out of reach (and a process whose lock
 * cannot be found is denied everything: fail-closed).
 */
#define IPV4ROOT_MAX_LEVEL	32

#define IPV4ROOT_MAP_NAME	"ipv4root_locks"
#define IPV4ROOT_MAP_ENTRIES	65536
/* program names as the kernel reports them (BPF_OBJ_NAME_LEN = 16) */
#define IPV4ROOT_PROG_BIND4	"ipv4root_bind4"

#endif
