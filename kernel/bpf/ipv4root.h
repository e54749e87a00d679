/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the ipv4root eBPF programs (bpf/ipv4root.bpf.c) and
 * libvctx (lib/ipv4root.c): the lock map's value, the address registry's
 * key and the names the library pins and recognises.
 */
#ifndef VCTX_IPV4ROOT_H
#define VCTX_IPV4ROOT_H

/* one lock, the value of the map keyed by cgroup id (__u64) */
struct ipv4root_lock {
	__u32 ip;		/* the lock address, network byte order */
	__u32 loopback;		/* where 127.0.0.0/8 goes (nbo), 0 = not mapped */
	__u32 flags;		/* IPV4ROOT_F_* */
	__u32 ip6[4];		/* the server's IPv6 address, :: = none */
	__u32 lo6[4];		/* its private IPv6 loopback (a ULA on lo);
				   :: = IPv6 sockets are refused */
	__u32 xid;		/* the context its packets are counted for
				   (ipv4root_net), 0 = not counted */
	__u32 pad;
};

/* connect() to destinations off the host's loopback leaves from the
   address the kernel's routing chooses (the host's), not the lock's */
#define IPV4ROOT_F_NAT		0x1
/* the host's net.ipv6.bindv6only: new IPv6 sockets are IPV6_V6ONLY */
#define IPV4ROOT_F_V6ONLY	0x2
/* the context's own lock: it made xid's counters, forgetting it drops them */
#define IPV4ROOT_F_COUNTER	0x4

/*
 * The network counters, per context: the value of ipv4root_net (a per-CPU
 * hash keyed by XID, __u32), pinned once for every build at
 * vctx_pin_dir()/IPV4ROOT_NET_PIN (per instance: /sys/fs/bpf/vctx[@NAME]).  The packet filters add every packet
 * they let through to the entry of its lock's xid; they never create an
 * entry: libvctx makes it (zero) when it locks a context's cgroup and
 * deletes it when it forgets that lock (the one release path).  Bytes are
 * the IP packets' lengths (headers included) as the cgroup hooks see them;
 * a GSO packet counts as its segments.
 */
struct ipv4root_net {
	__u64 rx_bytes;
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

/*
 * The address registry: every lock address (IPv4 as ::ffff:a.b.c.d, and
 * the IPv6 address) -> the id of the cgroup locked to it.  A 127/8
 * destination found here is another server and is not mapped to the
 * caller's own loopback.
 */
struct ipv4root_addr {
	__u32 a[4];		/* network byte order */
};

/* the private IPv6 loopbacks: IPV4ROOT_ULA_HI:IPV4ROOT_ULA_MID::/96 + the
   32 bits of the IPv4 loopback (fd76:6374:7800::7f80:33 for 127.128.0.51) */
#define IPV4ROOT_ULA_W0		0xfd766374u	/* host byte order */
#define IPV4ROOT_ULA_W1		0x78000000u
#define IPV4ROOT_ULA_W2		0x00000000u

/*
 * The programs look the lock up by walking the ancestors of the socket's
 * (or task's) cgroup, levels 1 .. IPV4ROOT_MAX_LEVEL-1, and use the
 * deepest lock found.  The library refuses to lock a cgroup deeper than
 * that, so a lock is never silently out of reach (and a process whose lock
 * cannot be found is denied everything: fail-closed).
 */
#define IPV4ROOT_MAX_LEVEL	32

#define IPV4ROOT_MAP_NAME	"ipv4root_locks"
#define IPV4ROOT_ADDRS_NAME	"ipv4root_addrs"
#define IPV4ROOT_NET_NAME	"ipv4root_net"
/* the counters' pin: shared by every build, versioned by its layout */
#define IPV4ROOT_NET_PIN	"net-v1"
#define IPV4ROOT_MAP_ENTRIES	65536
/* program names as the kernel reports them (BPF_OBJ_NAME_LEN = 16) */
#define IPV4ROOT_PROG_BIND4	"ipv4root_bind4"

#endif
