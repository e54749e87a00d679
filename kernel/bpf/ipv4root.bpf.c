// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ipv4root: the IPv4 lock of Linux-VServer's set_ipv4root(), as eBPF
 * cgroup programs.
 *
 * Attached (BPF_F_ALLOW_MULTI) to a cgroup2 directory before its first
 * process runs, these programs run for every socket created in that cgroup
 * or in any cgroup below it.  The lock itself lives in ipv4root_locks,
 * keyed by the id of the locked cgroup; the programs find it by walking the
 * ancestors of the cgroup they run for and take the deepest lock (one-shot
 * locking means there is only one).  No lock found while the programs run
 * means "deny": fail-closed.
 *
 *   sock_create  AF_INET6 sockets are refused (EAFNOSUPPORT, as on an
 *                IPv4-only host) so dual-stack software falls back to IPv4
 *   bind4        0.0.0.0 -> the lock IP; the lock IP and the loopback
 *                address are allowed; 127/8 -> the loopback address when
 *                mapped; anything else EPERM
 *   connect4     127/8 (and 0.0.0.0) -> the loopback address when mapped;
 *                the socket is bound to the lock IP (or the loopback
 *                address when that is where it goes) before it connects
 *   sendmsg4     unconnected datagrams: same destination mapping, source
 *                forced to the lock IP; a foreign IP_PKTINFO source EPERM
 *   ingress /    packets of sockets that never called bind() (listen()
 *   egress       and sendto() autobind to 0.0.0.0): the local address must
 *                be the lock IP or the loopback address, else dropped
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ipv4root.h"

#define AF_INET		2
#define AF_INET6	10
#define EAFNOSUPPORT	97
#define IPHDR_SADDR	12	/* offsetof(struct iphdr, saddr) */
#define IPHDR_DADDR	16	/* offsetof(struct iphdr, daddr) */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IPV4ROOT_MAP_ENTRIES);
	__type(key, __u64);
	__type(value, struct ipv4root_lock);
} ipv4root_locks SEC(".maps");

/* the deepest lock among the ancestors of the calling task's cgroup */
static __always_inline int task_lock(struct ipv4root_lock *out)
{
	int found = 0;

	for (int level = 1; level < IPV4ROOT_MAX_LEVEL; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);
		struct ipv4root_lock *l;

		if (!id)
			break;
		l = bpf_map_lookup_elem(&ipv4root_locks, &id);
		if (l) {
			out->ip = l->ip;
			out->loopback = l->loopback;
			found = 1;
		}
	}
	return found;
}

/* the deepest lock among the ancestors of the packet's socket's cgroup */
static __always_inline int skb_lock(struct __sk_buff *skb, struct ipv4root_lock *out)
{
	int found = 0;

	for (int level = 1; level < IPV4ROOT_MAX_LEVEL; level++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, level);
		struct ipv4root_lock *l;

		if (!id)
			break;
		l = bpf_map_lookup_elem(&ipv4root_locks, &id);
		if (l) {
			out->ip = l->ip;
			out->loopback = l->loopback;
			found = 1;
		}
	}
	return found;
}

static __always_inline int in_loopback_net(__u32 a)
{
	return (bpf_ntohl(a) >> 24) == 127;
}

/* the address a destination @d (nbo) really goes to under lock @l */
static __always_inline __u32 mapped_dest(const struct ipv4root_lock *l, __u32 d)
{
	if (l->loopback && d != l->ip && (d == 0 || in_loopback_net(d)))
		return l->loopback;
	return d;
}

/* may a socket under lock @l use local address @a? */
static __always_inline int local_ok(const struct ipv4root_lock *l, __u32 a)
{
	return a == l->ip || (l->loopback && a == l->loopback);
}

SEC("cgroup/sock_create")
int ipv4root_sock(struct bpf_sock *sk)
{
	if (sk->family == AF_INET6) {
		bpf_set_retval(-EAFNOSUPPORT);
		return 0;
	}
	return 1;
}

SEC("cgroup/bind4")
int ipv4root_bind4(struct bpf_sock_addr *ctx)
{
	struct ipv4root_lock l;
	__u32 a = ctx->user_ip4;

	if (!task_lock(&l))
		return 0;
	if (a == 0) {
		ctx->user_ip4 = l.ip;
		return 1;
	}
	if (local_ok(&l, a))
		return 1;
	if (l.loopback && in_loopback_net(a)) {
		ctx->user_ip4 = l.loopback;
		return 1;
	}
	return 0;
}

SEC("cgroup/connect4")
int ipv4root_conn4(struct bpf_sock_addr *ctx)
{
	struct ipv4root_lock l;
	struct sockaddr_in src;
	__u32 d;

	if (!task_lock(&l))
		return 0;
	d = mapped_dest(&l, ctx->user_ip4);
	if (d != ctx->user_ip4)
		ctx->user_ip4 = d;
	__builtin_memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = (l.loopback && d == l.loopback) ? l.loopback : l.ip;
	/* fails with EINVAL when the socket is already bound: then its bind
	   went through ipv4root_bind4 (or it autobound, and the packet
	   filters below keep it in) */
	bpf_bind(ctx, (struct sockaddr *)&src, sizeof(src));
	return 1;
}

SEC("cgroup/sendmsg4")
int ipv4root_send4(struct bpf_sock_addr *ctx)
{
	struct ipv4root_lock l;
	__u32 d, s;

	if (!task_lock(&l))
		return 0;
	d = mapped_dest(&l, ctx->user_ip4);
	if (d != ctx->user_ip4)
		ctx->user_ip4 = d;
	s = ctx->msg_src_ip4;
	if (s == 0)
		ctx->msg_src_ip4 = (l.loopback && d == l.loopback) ? l.loopback : l.ip;
	else if (!local_ok(&l, s))
		return 0;
	return 1;
}

static __always_inline int skb_allowed(struct __sk_buff *skb, __u32 off)
{
	struct ipv4root_lock l;
	__u8 vihl;
	__u32 a;

	if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || (vihl >> 4) != 4)
		return 0;
	if (bpf_skb_load_bytes(skb, off, &a, sizeof(a)))
		return 0;
	if (!skb_lock(skb, &l))
		return 0;
	return local_ok(&l, a);
}

SEC("cgroup_skb/ingress")
int ipv4root_ingr(struct __sk_buff *skb)
{
	return skb_allowed(skb, IPHDR_DADDR);
}

SEC("cgroup_skb/egress")
int ipv4root_egr(struct __sk_buff *skb)
{
	return skb_allowed(skb, IPHDR_SADDR);
}

char LICENSE[] SEC("license") = "GPL";
