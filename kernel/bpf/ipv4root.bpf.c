// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ipv4root: the network lock of Linux-VServer's set_ipv4root(), as eBPF
 * cgroup programs, for IPv4 and IPv6.
 *
 * Attached (BPF_F_ALLOW_MULTI) to a cgroup2 directory before its first
 * process runs, these programs run for every socket created in that cgroup
 * or in any cgroup below it.  The lock itself lives in ipv4root_locks,
 * keyed by the id of the locked cgroup; the programs find it by walking the
 * ancestors of the cgroup they run for and take the deepest lock (one-shot
 * locking means there is only one).  No lock found while the programs run
 * means "deny": fail-closed.
 *
 * A lock (l) holds the server's IPv4 address l.ip, its private IPv4
 * loopback l.loopback (127.128.hi.lo / 127.129.x.y), optionally its IPv6
 * address l.ip6 and its private IPv6 loopback l.lo6 (a ULA on lo, derived
 * from l.loopback), and the nat flag.  "own6" is l.ip6 when set, else
 * l.lo6.  ipv4root_addrs registers the addresses of all locks (address ->
 * cgroup id): a loopback destination found there is another server.
 *
 *   sock_create  AF_INET6 sockets are refused (EAFNOSUPPORT) when the lock
 *                has no l.lo6 (chbind); every socket is marked with its
 *                lock's id (socket storage), so a listener found by a
 *                lookup below is known to be the server's own
 *   bind4        0.0.0.0 -> l.ip; l.ip and l.loopback allowed; any other
 *                127/8 -> l.loopback; anything else EPERM
 *   setsockopt   notes IPV6_V6ONLY in the socket storage
 *   bind6        :: -> own6 for IPV6_V6ONLY sockets (nginx's [::]:80), and
 *                -> ::ffff:l.ip for dual-stack ones (they serve IPv4 as they
 *                did when IPv6 was refused); l.ip6 and l.lo6 allowed; ::1
 *                and the private ULA range -> l.lo6; ::ffff:a.b.c.d by the
 *                bind4 rules
 *   connect4/6,  the destination is
 *   sendmsg4/6     - the server's own address: as it is, source that address
 *                  - another server's (registered) address: as it is,
 *                    source the server's address
 *                  - localhost (127/8, 0.0.0.0, ::1, ::, the ULA range):
 *                    the server's own listener at the private loopback,
 *                    else at its address, else ECONNREFUSED (the host's
 *                    127.0.0.1 and ::1 listeners are never reached); the
 *                    source is the private loopback, so the peer can tell
 *                  - anything else: with nat, the kernel's routing chooses
 *                    the source (connected sockets only; sendmsg without
 *                    connect gets ENETUNREACH when the address is not
 *                    routable); without nat the source is the server's
 *                    address, and a loopback address (or no IPv6 address)
 *                    gives ENETUNREACH
 *                ::ffff:a.b.c.d destinations follow the IPv4 rules (the
 *                v4 hooks do not run for them on AF_INET6 sockets)
 *   getsockname/ what programs read back: the private loopbacks read as
 *   getpeername/ 127.0.0.1 / ::1, and so does the server's address on the
 *   recvmsg4/6   other end of a connection from its private loopback; an
 *                unbound listener reads as the server's address.  A peer
 *                on the host's loopback (a 127/8 address that is neither
 *                the server's address nor registered; ::1 or a private
 *                loopback not the server's) reads as 192.0.0.8 / 100::1
 *                (HOST_PEER4/6 below), never as anything a loopback
 *                allowlist (pg_hba's 127.0.0.1/32, ::1/128) matches;
 *                ::ffff:a.b.c.d peers by the IPv4 rule.  Only what is read
 *                back changes: the connection is the host's as before
 *   ingress /    IPv4 and IPv6 packets: the local address must be the
 *   egress       server's address or its private loopback (the latter only
 *                with the server's own addresses on the other end, and at
 *                ingress only from a TCP/UDP socket of the server: the
 *                host picks an IPv6 loopback as its own source); with
 *                nat, also a connected socket's own packets to/from a
 *                destination off the loopback; everything else is dropped.
 *                What passes is counted for the lock's context
 *                (ipv4root_net, ipv4root.h)
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ipv4root.h"

#define AF_INET		2
#define AF_INET6	10
#define ECONNREFUSED	111
#define ENETUNREACH	101
#define EAFNOSUPPORT	97
#define TCP_LISTEN	10
#define IPHDR_SADDR	12	/* offsetof(struct iphdr, saddr) */
#define IPHDR_DADDR	16	/* offsetof(struct iphdr, daddr) */
#define IP6HDR_SADDR	8	/* offsetof(struct ipv6hdr, saddr) */
#define IP6HDR_DADDR	24	/* offsetof(struct ipv6hdr, daddr) */

/*
 * What a server reads back for a peer on the host's loopback (host byte
 * order): never 127.0.0.1 / ::1 or anything a loopback allowlist matches.
 * IPv4: 192.0.0.8, RFC 7600's dummy address ("a host without an address"),
 * not loopback and in no private range.  IPv6: 100::1, in RFC 6666's
 * discard-only block 100::/64: not loopback, link-local, ULA or mapped, and
 * nothing is ever reached there.
 */
#define HOST_PEER4	0xc0000008u	/* 192.0.0.8 */
#define HOST_PEER6_W0	0x01000000u	/* 100:: */
#define HOST_PEER6_W3	0x00000001u	/* ::1 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IPV4ROOT_MAP_ENTRIES);
	__type(key, __u64);
	__type(value, struct ipv4root_lock);
} ipv4root_locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IPV4ROOT_MAP_ENTRIES);
	__type(key, struct ipv4root_addr);
	__type(value, __u64);
} ipv4root_addrs SEC(".maps");

/* bytes and packets per context (ipv4root.h): updated, never created here */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IPV4ROOT_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, struct ipv4root_net);
} ipv4root_net SEC(".maps");

/* what the programs keep per socket */
struct sk_info {
	__u64 id;		/* the lock the socket was created under */
	__u32 v6only;		/* IPV6_V6ONLY as set (else the host's default) */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sk_info);
} ipv4root_owner SEC(".maps");

struct lk {
	struct ipv4root_lock l;
	__u64 id;		/* the locked cgroup */
};

/* the deepest lock among the ancestors of the calling task's cgroup */
static __always_inline int task_lock(struct lk *out)
{
	int found = 0;

	__builtin_memset(out, 0, sizeof(*out));
	for (int level = 1; level < IPV4ROOT_MAX_LEVEL; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);
		struct ipv4root_lock *l;

		if (!id)
			break;
		l = bpf_map_lookup_elem(&ipv4root_locks, &id);
		if (l) {
			__builtin_memcpy(&out->l, l, sizeof(*l));
			out->id = id;
			found = 1;
		}
	}
	return found;
}

/* the deepest lock among the ancestors of the packet's socket's cgroup */
static __always_inline int skb_lock(struct __sk_buff *skb, struct lk *out)
{
	int found = 0;

	__builtin_memset(out, 0, sizeof(*out));
	for (int level = 1; level < IPV4ROOT_MAX_LEVEL; level++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, level);
		struct ipv4root_lock *l;

		if (!id)
			break;
		l = bpf_map_lookup_elem(&ipv4root_locks, &id);
		if (l) {
			__builtin_memcpy(&out->l, l, sizeof(*l));
			out->id = id;
			found = 1;
		}
	}
	return found;
}

/* ------------------------------------------------------------ addresses */

static __always_inline int lo4(__u32 a)
{
	return (bpf_ntohl(a) >> 24) == 127;
}

static __always_inline int zero6(const __u32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static __always_inline int eq6(const __u32 *a, const __u32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int mapped6(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* ::1 or the private loopback range */
static __always_inline int lo6(const __u32 *a)
{
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1))
		return 1;
	return a[0] == bpf_htonl(IPV4ROOT_ULA_W0) && a[1] == bpf_htonl(IPV4ROOT_ULA_W1) &&
	       a[2] == bpf_htonl(IPV4ROOT_ULA_W2);
}

static __always_inline void set6(__u32 *d, const __u32 *s)
{
	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
	d[3] = s[3];
}

static __always_inline const __u32 *own6(const struct ipv4root_lock *l)
{
	return zero6(l->ip6) ? l->lo6 : l->ip6;
}

static __always_inline int registered4(__u32 a)
{
	struct ipv4root_addr k = { .a = { 0, 0, bpf_htonl(0xffff), a } };

	return bpf_map_lookup_elem(&ipv4root_addrs, &k) != 0;
}

static __always_inline int registered6(const __u32 *a)
{
	struct ipv4root_addr k = { .a = { a[0], a[1], a[2], a[3] } };

	return bpf_map_lookup_elem(&ipv4root_addrs, &k) != 0;
}

/* may a socket under lock @l use local address @a? */
static __always_inline int local_ok4(const struct ipv4root_lock *l, __u32 a)
{
	return a == l->ip || (l->loopback && a == l->loopback);
}

static __always_inline int local_ok6(const struct ipv4root_lock *l, const __u32 *a)
{
	return (!zero6(l->ip6) && eq6(a, l->ip6)) || (!zero6(l->lo6) && eq6(a, l->lo6));
}

/* -------------------------------------------------------------- sockets */

/* is a socket of the server bound to @sk's @bound address (or to the
   wildcard, a listener that never called bind) */
static __always_inline int ours(struct bpf_sock *sk, __u64 id)
{
	struct sk_info *o = bpf_sk_storage_get(&ipv4root_owner, sk, 0, 0);

	return o && o->id == id;
}

/* does a socket of the server listen at @a:@port (TCP) / is bound there (UDP)? */
static __always_inline int listener4(struct bpf_sock_addr *ctx, const struct lk *k, __u32 a, __u32 port)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int found = 0;

	t.ipv4.daddr = a;
	t.ipv4.dport = (__u16)port;
	if (ctx->protocol == IPPROTO_UDP)
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		found = (sk->src_ip4 == a || sk->src_ip4 == 0) && ours(sk, k->id);
		bpf_sk_release(sk);
	}
	return found;
}

static __always_inline int listener6(struct bpf_sock_addr *ctx, const struct lk *k, const __u32 *a, __u32 port)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int found = 0;

	set6(t.ipv6.daddr, a);
	t.ipv6.dport = (__u16)port;
	if (ctx->protocol == IPPROTO_UDP)
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		__u32 b[4] = { sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3] };
		found = (eq6(b, a) || zero6(b)) && ours(sk, k->id);
		bpf_sk_release(sk);
	}
	return found;
}

/*
 * Where an IPv4 destination @d goes: *dst and *src (0 = the kernel
 * chooses); 0, or the errno to refuse with.
 */
static __always_inline int route4(struct bpf_sock_addr *ctx, const struct lk *k, __u32 d, __u32 port,
				  __u32 *dst, __u32 *src)
{
	const struct ipv4root_lock *l = &k->l;

	*dst = d;
	*src = l->ip;
	if (d == l->ip)
		return 0;
	if (d == 0 || lo4(d)) {
		if (!l->loopback || (d != 0 && d != l->loopback && registered4(d)))
			return 0;
		*src = l->loopback;
		if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
			*dst = l->loopback;
		else if (listener4(ctx, k, l->loopback, port))
			*dst = l->loopback;
		else if (listener4(ctx, k, l->ip, port))
			*dst = l->ip;
		else
			return ECONNREFUSED;
		return 0;
	}
	if (l->flags & IPV4ROOT_F_NAT)
		*src = 0;
	else if (lo4(l->ip))
		return ENETUNREACH;
	return 0;
}

/* the same for an IPv6 destination (not v4-mapped); *src all zero = the kernel chooses */
static __always_inline int route6(struct bpf_sock_addr *ctx, const struct lk *k, const __u32 *d, __u32 port,
				  __u32 *dst, __u32 *src)
{
	const struct ipv4root_lock *l = &k->l;
	const __u32 *own = own6(l);

	set6(dst, d);
	set6(src, own);
	if (!zero6(l->ip6) && eq6(d, l->ip6))
		return 0;
	if (zero6(d) || lo6(d)) {
		if (!eq6(d, l->lo6) && registered6(d))
			return 0;
		set6(src, l->lo6);
		if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
			set6(dst, l->lo6);
		else if (listener6(ctx, k, l->lo6, port))
			set6(dst, l->lo6);
		else if (!zero6(l->ip6) && listener6(ctx, k, l->ip6, port))
			set6(dst, l->ip6);
		else
			return ECONNREFUSED;
		return 0;
	}
	if (registered6(d) && !zero6(l->ip6))
		return 0;
	if (l->flags & IPV4ROOT_F_NAT) {
		src[0] = src[1] = src[2] = src[3] = 0;
		return 0;
	}
	if (zero6(l->ip6))
		return ENETUNREACH;
	return 0;
}

static __always_inline int refuse(int e)
{
	bpf_set_retval(-e);
	return 0;
}

SEC("cgroup/sock_create")
int ipv4root_sock(struct bpf_sock *sk)
{
	struct lk k;
	struct sk_info *o;

	if (!task_lock(&k)) {
		if (sk->family == AF_INET6)
			return refuse(EAFNOSUPPORT);
		return 1;	/* the address hooks deny */
	}
	if (sk->family == AF_INET6 && zero6(k.l.lo6))
		return refuse(EAFNOSUPPORT);
	o = bpf_sk_storage_get(&ipv4root_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o) {
		o->id = k.id;
		o->v6only = !!(k.l.flags & IPV4ROOT_F_V6ONLY);
	}
	return 1;
}

/* IPV6_V6ONLY as the program sets it, for bind6 (the kernel applies it) */
SEC("cgroup/setsockopt")
int ipv4root_sopt(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct sk_info *o;
	int *v = ctx->optval;

	if (ctx->level != IPPROTO_IPV6 || ctx->optname != IPV6_V6ONLY || !sk)
		return 1;
	if ((void *)(v + 1) > ctx->optval_end)
		return 1;
	o = bpf_sk_storage_get(&ipv4root_owner, sk, 0, 0);
	if (o)
		o->v6only = *v != 0;
	return 1;
}

/* ----------------------------------------------------------------- IPv4 */

/* bind4's rule for @a: the address to bind, or 0 to refuse (EPERM) */
static __always_inline __u32 bind_addr4(const struct ipv4root_lock *l, __u32 a)
{
	if (a == 0)
		return l->ip;
	if (local_ok4(l, a))
		return a;
	if (l->loopback && lo4(a))
		return l->loopback;
	return 0;
}

SEC("cgroup/bind4")
int ipv4root_bind4(struct bpf_sock_addr *ctx)
{
	struct lk k;
	__u32 a;

	if (!task_lock(&k))
		return 0;
	a = bind_addr4(&k.l, ctx->user_ip4);
	if (!a)
		return 0;
	if (a != ctx->user_ip4)
		ctx->user_ip4 = a;
	return 1;
}

SEC("cgroup/connect4")
int ipv4root_conn4(struct bpf_sock_addr *ctx)
{
	struct sockaddr_in sa;
	struct lk k;
	__u32 dst, src;
	int e;

	if (!task_lock(&k))
		return 0;
	e = route4(ctx, &k, ctx->user_ip4, ctx->user_port, &dst, &src);
	if (e)
		return refuse(e);
	if (dst != ctx->user_ip4)
		ctx->user_ip4 = dst;
	if (src) {
		__builtin_memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = src;
		/* fails with EINVAL when the socket is already bound: then its
		   bind went through ipv4root_bind4 (or it autobound, and the
		   packet filters below keep it in) */
		bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa));
	}
	return 1;
}

SEC("cgroup/sendmsg4")
int ipv4root_send4(struct bpf_sock_addr *ctx)
{
	struct lk k;
	__u32 dst, src, s;
	int e;

	if (!task_lock(&k))
		return 0;
	e = route4(ctx, &k, ctx->user_ip4, ctx->user_port, &dst, &src);
	if (e)
		return refuse(e);
	if (!src) {	/* nat: for connected sockets only */
		if (lo4(k.l.ip))
			return refuse(ENETUNREACH);
		src = k.l.ip;
	}
	if (dst != ctx->user_ip4)
		ctx->user_ip4 = dst;
	/* the bound address, or an IP_PKTINFO source */
	s = ctx->msg_src_ip4;
	if (s == 0 || (src == k.l.loopback && s == k.l.ip))
		ctx->msg_src_ip4 = src;	/* localhost traffic leaves from the loopback */
	else if (!local_ok4(&k.l, s))
		return 0;
	return 1;
}

/* what the server reads back for @a, an address of its own side or of the
   peer (@peer); @other is the socket's address on the other end */
static __always_inline __u32 shown4(const struct ipv4root_lock *l, __u32 a, __u32 other, int peer)
{
	if (!l->loopback)
		return a;
	if (a == l->loopback || (a == l->ip && other == l->loopback))
		return bpf_htonl(0x7f000001);
	/* the host's loopback (a server's own sockets leave from its
	   addresses, another server's from its registered one) */
	if (peer && lo4(a) && a != l->ip && !registered4(a))
		return bpf_htonl(HOST_PEER4);
	return a;
}

SEC("cgroup/getsockname4")
int ipv4root_sname4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct lk k;
	__u32 a = ctx->user_ip4, s;

	if (!sk || !task_lock(&k))
		return 1;
	if (a == 0)
		s = k.l.ip;
	else
		s = shown4(&k.l, a, sk->dst_ip4, 0);
	if (s != a)
		ctx->user_ip4 = s;
	return 1;
}

/* the peer address a program reads back (getpeername, accept, recvfrom) */
static __always_inline int peer_shown4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct lk k;
	__u32 a = ctx->user_ip4, s;

	if (!sk || !task_lock(&k))
		return 1;
	s = shown4(&k.l, a, sk->src_ip4, 1);
	if (s != a)
		ctx->user_ip4 = s;
	return 1;
}

SEC("cgroup/getpeername4")
int ipv4root_pname4(struct bpf_sock_addr *ctx)
{
	return peer_shown4(ctx);
}

SEC("cgroup/recvmsg4")
int ipv4root_recv4(struct bpf_sock_addr *ctx)
{
	return peer_shown4(ctx);
}

/* ----------------------------------------------------------------- IPv6 */

static __always_inline void get_user6(struct bpf_sock_addr *ctx, __u32 *a)
{
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
}

static __always_inline void put_user6(struct bpf_sock_addr *ctx, const __u32 *a)
{
	ctx->user_ip6[0] = a[0];
	ctx->user_ip6[1] = a[1];
	ctx->user_ip6[2] = a[2];
	ctx->user_ip6[3] = a[3];
}

SEC("cgroup/bind6")
int ipv4root_bind6(struct bpf_sock_addr *ctx)
{
	struct lk k;
	__u32 a[4], b[4];

	if (!task_lock(&k) || zero6(k.l.lo6))
		return 0;
	get_user6(ctx, a);
	set6(b, a);
	if (mapped6(a)) {
		b[3] = bind_addr4(&k.l, a[3]);
		if (!b[3])
			return 0;
	} else if (zero6(a)) {
		struct bpf_sock *sk = ctx->sk;
		struct sk_info *o = 0;

		if (sk)
			o = bpf_sk_storage_get(&ipv4root_owner, sk, 0, 0);
		if (o && !o->v6only) {
			/* a dual-stack [::]: the IPv4 address, as before IPv6 */
			b[2] = bpf_htonl(0xffff);
			b[3] = k.l.ip;
		} else {
			set6(b, own6(&k.l));
		}
	} else if (local_ok6(&k.l, a)) {
		;
	} else if (lo6(a)) {
		set6(b, k.l.lo6);
	} else {
		return 0;
	}
	if (!eq6(a, b))
		put_user6(ctx, b);
	return 1;
}

SEC("cgroup/connect6")
int ipv4root_conn6(struct bpf_sock_addr *ctx)
{
	struct sockaddr_in6 sa;
	struct lk k;
	__u32 a[4], dst[4], src[4];
	int e;

	if (!task_lock(&k) || zero6(k.l.lo6))
		return 0;
	get_user6(ctx, a);
	if (mapped6(a)) {
		set6(dst, a);
		set6(src, a);
		e = route4(ctx, &k, a[3], ctx->user_port, &dst[3], &src[3]);
		if (!src[3])
			src[0] = src[1] = src[2] = 0;
	} else {
		e = route6(ctx, &k, a, ctx->user_port, dst, src);
	}
	if (e)
		return refuse(e);
	if (!eq6(a, dst))
		put_user6(ctx, dst);
	if (!zero6(src)) {
		__builtin_memset(&sa, 0, sizeof(sa));
		sa.sin6_family = AF_INET6;
		set6(sa.sin6_addr.in6_u.u6_addr32, src);
		bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa));
	}
	return 1;
}

SEC("cgroup/sendmsg6")
int ipv4root_send6(struct bpf_sock_addr *ctx)
{
	struct lk k;
	__u32 a[4], dst[4], src[4], s[4];
	int e;

	if (!task_lock(&k) || zero6(k.l.lo6))
		return 0;
	get_user6(ctx, a);
	if (mapped6(a)) {
		set6(dst, a);
		set6(src, a);
		e = route4(ctx, &k, a[3], ctx->user_port, &dst[3], &src[3]);
		if (!e && !src[3]) {
			if (lo4(k.l.ip))
				e = ENETUNREACH;
			src[3] = k.l.ip;
		}
	} else {
		e = route6(ctx, &k, a, ctx->user_port, dst, src);
		if (!e && zero6(src)) {
			if (zero6(k.l.ip6))
				e = ENETUNREACH;
			set6(src, k.l.ip6);
		}
	}
	if (e)
		return refuse(e);
	if (!eq6(a, dst))
		put_user6(ctx, dst);
	s[0] = ctx->msg_src_ip6[0];
	s[1] = ctx->msg_src_ip6[1];
	s[2] = ctx->msg_src_ip6[2];
	s[3] = ctx->msg_src_ip6[3];
	if (zero6(s) || (mapped6(s) ? src[3] == k.l.loopback && s[3] == k.l.ip
				    : eq6(src, k.l.lo6) && !zero6(k.l.ip6) && eq6(s, k.l.ip6))) {
		ctx->msg_src_ip6[0] = src[0];
		ctx->msg_src_ip6[1] = src[1];
		ctx->msg_src_ip6[2] = src[2];
		ctx->msg_src_ip6[3] = src[3];
	} else if (mapped6(s) ? !local_ok4(&k.l, s[3]) : !local_ok6(&k.l, s)) {
		return 0;
	}
	return 1;
}

/* shown4 for IPv6 addresses: @a is rewritten in place; @other the socket's
   address on the other end */
static __always_inline void shown6(const struct ipv4root_lock *l, __u32 *a, const __u32 *other, int peer)
{
	if (mapped6(a)) {
		a[3] = shown4(l, a[3], mapped6(other) ? other[3] : 0, peer);
		return;
	}
	if (zero6(l->lo6))
		return;
	if (eq6(a, l->lo6) || (!zero6(l->ip6) && eq6(a, l->ip6) && eq6(other, l->lo6))) {
		a[0] = a[1] = a[2] = 0;
		a[3] = bpf_htonl(1);
	} else if (peer && lo6(a) && !local_ok6(l, a) && !registered6(a)) {
		/* the host's ::1 (or another private loopback: not the server's) */
		a[0] = bpf_htonl(HOST_PEER6_W0);
		a[1] = a[2] = 0;
		a[3] = bpf_htonl(HOST_PEER6_W3);
	}
}

static __always_inline int shown6_hook(struct bpf_sock_addr *ctx, int local)
{
	struct bpf_sock *sk = ctx->sk;
	struct lk k;
	__u32 a[4], b[4], o[4];

	if (!sk || !task_lock(&k))
		return 1;
	get_user6(ctx, a);
	set6(b, a);
	if (local) {
		o[0] = sk->dst_ip6[0];
		o[1] = sk->dst_ip6[1];
		o[2] = sk->dst_ip6[2];
		o[3] = sk->dst_ip6[3];
	} else {
		o[0] = sk->src_ip6[0];
		o[1] = sk->src_ip6[1];
		o[2] = sk->src_ip6[2];
		o[3] = sk->src_ip6[3];
	}
	if (local && zero6(a))
		set6(b, own6(&k.l));
	else
		shown6(&k.l, b, o, !local);
	if (!eq6(a, b))
		put_user6(ctx, b);
	return 1;
}

SEC("cgroup/getsockname6")
int ipv4root_sname6(struct bpf_sock_addr *ctx)
{
	return shown6_hook(ctx, 1);
}

SEC("cgroup/getpeername6")
int ipv4root_pname6(struct bpf_sock_addr *ctx)
{
	return shown6_hook(ctx, 0);
}

SEC("cgroup/recvmsg6")
int ipv4root_recv6(struct bpf_sock_addr *ctx)
{
	return shown6_hook(ctx, 0);
}

/* -------------------------------------------------------------- packets */

/* is @skb a packet of a nat socket's own connection, @local/@remote its
   addresses on this host / on the other end (IPv4) */
static __always_inline int nat_conn4(struct __sk_buff *skb, __u32 local, __u32 remote)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk || lo4(remote))
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->state == TCP_LISTEN || sk->dst_ip4 == 0)
		return 0;
	return sk->src_ip4 == local && sk->dst_ip4 == remote;
}

static __always_inline int nat_conn6(struct __sk_buff *skb, const __u32 *local, const __u32 *remote)
{
	struct bpf_sock *sk = skb->sk;
	__u32 s[4], d[4];

	if (!sk || lo6(remote))
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->state == TCP_LISTEN)
		return 0;
	s[0] = sk->src_ip6[0];
	s[1] = sk->src_ip6[1];
	s[2] = sk->src_ip6[2];
	s[3] = sk->src_ip6[3];
	d[0] = sk->dst_ip6[0];
	d[1] = sk->dst_ip6[1];
	d[2] = sk->dst_ip6[2];
	d[3] = sk->dst_ip6[3];
	return !zero6(d) && eq6(s, local) && eq6(d, remote);
}

/*
 * A packet to a private loopback: is its sender a socket of the server (it
 * may be the host's, which picks the destination itself as the source of
 * an IPv6 connection to it)?  @t holds the sender's tuple as a packet to it
 * would: saddr/sport ours, daddr/dport the sender's.  A sender that is no
 * full socket any more (TIME_WAIT) or yet (a request) was one of ours when
 * the connection was accepted.
 */
static __always_inline int sender_ours(struct __sk_buff *skb, struct bpf_sock_tuple *t, __u32 tlen,
				       __u8 proto, __u64 id, const struct ipv4root_lock *l)
{
	struct bpf_sock *sk, *full;
	int r = 0;

	if (proto == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(skb, t, tlen, BPF_F_CURRENT_NETNS, 0);
		if (!sk)
			return 0;
		full = bpf_sk_fullsock(sk);
		r = full ? ours(full, id) : 1;
		bpf_sk_release(sk);
		return r;
	}
	if (proto == IPPROTO_UDP) {
		sk = bpf_sk_lookup_udp(skb, t, tlen, BPF_F_CURRENT_NETNS, 0);
		if (!sk) {
			/* a socket bound to the server's address answering a
			   localhost client leaves from the loopback (sendmsg) */
			if (tlen == sizeof(t->ipv4))
				t->ipv4.daddr = l->ip;
			else
				set6(t->ipv6.daddr, l->ip6);
			sk = bpf_sk_lookup_udp(skb, t, tlen, BPF_F_CURRENT_NETNS, 0);
		}
		if (!sk)
			return 0;
		r = ours(sk, id);
		bpf_sk_release(sk);
		return r;
	}
	return 1;	/* no sockets to tell: the addresses decided */
}

/* @in: ingress (local = the destination) or egress (local = the source);
   *@xid: the context its lock counts for (0 when none) */
static __always_inline int skb_allowed(struct __sk_buff *skb, int in, __u32 *xid)
{
	struct lk k;
	__u8 vihl;

	*xid = 0;
	if (bpf_skb_load_bytes(skb, 0, &vihl, 1))
		return 0;
	if (!skb_lock(skb, &k))
		return 0;
	*xid = k.l.xid;
	if ((vihl >> 4) == 4) {
		__u32 ad[2], local, remote;

		if (bpf_skb_load_bytes(skb, IPHDR_SADDR, ad, sizeof(ad)))
			return 0;
		local = in ? ad[1] : ad[0];
		remote = in ? ad[0] : ad[1];
		if (local == k.l.ip)
			return 1;
		if (k.l.loopback && local == k.l.loopback) {
			struct bpf_sock_tuple t = {};
			__u8 vh, proto;
			__u16 ports[2];

			if (remote != k.l.loopback && remote != k.l.ip)
				return 0;
			if (!in)
				return 1;
			if (bpf_skb_load_bytes(skb, 9, &proto, 1) || bpf_skb_load_bytes(skb, 0, &vh, 1))
				return 0;
			if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
				if (bpf_skb_load_bytes(skb, (vh & 0xf) * 4, ports, sizeof(ports)))
					return 0;
				t.ipv4.saddr = local;
				t.ipv4.sport = ports[1];
				t.ipv4.daddr = remote;
				t.ipv4.dport = ports[0];
			}
			return sender_ours(skb, &t, sizeof(t.ipv4), proto, k.id, &k.l);
		}
		return (k.l.flags & IPV4ROOT_F_NAT) && nat_conn4(skb, local, remote);
	}
	if ((vihl >> 4) == 6) {
		__u32 ad[8], local[4], remote[4];

		if (zero6(k.l.lo6) || bpf_skb_load_bytes(skb, IP6HDR_SADDR, ad, sizeof(ad)))
			return 0;
		if (in) {
			set6(local, ad + 4);
			set6(remote, ad);
		} else {
			set6(local, ad);
			set6(remote, ad + 4);
		}
		if (!zero6(k.l.ip6) && eq6(local, k.l.ip6))
			return 1;
		if (eq6(local, k.l.lo6)) {
			struct bpf_sock_tuple t = {};
			__u8 proto;
			__u16 ports[2];

			if (!eq6(remote, k.l.lo6) && (zero6(k.l.ip6) || !eq6(remote, k.l.ip6)))
				return 0;
			if (!in)
				return 1;
			if (bpf_skb_load_bytes(skb, 6, &proto, 1))
				return 0;
			if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
				if (bpf_skb_load_bytes(skb, 40, ports, sizeof(ports)))
					return 0;
				set6(t.ipv6.saddr, local);
				t.ipv6.sport = ports[1];
				set6(t.ipv6.daddr, remote);
				t.ipv6.dport = ports[0];
			}
			return sender_ours(skb, &t, sizeof(t.ipv6), proto, k.id, &k.l);
		}
		return (k.l.flags & IPV4ROOT_F_NAT) && nat_conn6(skb, local, remote);
	}
	return 0;
}

/* a packet let through, to its context's counters (when it has them) */
static __always_inline void count(struct __sk_buff *skb, __u32 xid, int in)
{
	struct ipv4root_net *n;
	__u64 segs = skb->gso_segs ? skb->gso_segs : 1;

	if (!xid)
		return;
	n = bpf_map_lookup_elem(&ipv4root_net, &xid);
	if (!n)
		return;
	/* per-CPU values: no other CPU writes this one */
	if (in) {
		n->rx_bytes += skb->len;
		n->rx_packets += segs;
	} else {
		n->tx_bytes += skb->len;
		n->tx_packets += segs;
	}
}

SEC("cgroup_skb/ingress")
int ipv4root_ingr(struct __sk_buff *skb)
{
	__u32 xid;
	int ok = skb_allowed(skb, 1, &xid);

	if (ok)
		count(skb, xid, 1);
	return ok;
}

SEC("cgroup_skb/egress")
int ipv4root_egr(struct __sk_buff *skb)
{
	__u32 xid;
	int ok = skb_allowed(skb, 0, &xid);

	if (ok)
		count(skb, xid, 0);
	return ok;
}

char LICENSE[] SEC("license") = "GPL";
