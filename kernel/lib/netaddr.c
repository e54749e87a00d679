// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Local addresses: what chbind and chcontext accept as an address to lock
 * to, and the private IPv6 loopbacks of servers on lo (rtnetlink).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include "internal.h"

/* walk the IPv4 addresses; @match returns nonzero to stop with that address */
static int find_addr(int (*match)(const struct ifaddrs *i, const void *arg), const void *arg, uint32_t *out)
{
	struct ifaddrs *ifs, *i;
	int found = 0;

	if (getifaddrs(&ifs) < 0)
		return -1;
	for (i = ifs; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && match(i, arg)) {
			found = 1;
			if (out)
				*out = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		}
	freeifaddrs(ifs);
	return found;
}

static int by_name(const struct ifaddrs *i, const void *name)
{
	return strcmp(i->ifa_name, name) == 0;
}

static int by_addr(const struct ifaddrs *i, const void *ip)
{
	return ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == *(const uint32_t *)ip;
}

VCTX_API int vctx_ipv4_of_iface(const char *name, uint32_t *ip)
{
	return find_addr(by_name, name, ip);
}

VCTX_API int vctx_ipv4_is_local(uint32_t ip)
{
	if ((ntohl(ip) >> 24) == 127)
		return 1;	/* lo answers all of 127/8 */
	return find_addr(by_addr, &ip, NULL);
}

/* ------------------------------------------------------ the IPv6 loopbacks */

/*
 * Add (@add = 1) or remove (0) the address @a/128 on lo, without duplicate
 * address detection, over rtnetlink.  Adding returns 1 when the address
 * was added, 0 when it was there already; removing an address that is not
 * there is not an error.  -1 with errno (and @err) on failure.
 */
int vctx_lo_addr6(const void *a, int add, vctx_error *err)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		char attrs[64];
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr e;
	} ack;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct rtattr *rta;
	char s[INET6_ADDRSTRLEN];
	uint32_t flags = IFA_F_NODAD;
	int fd, e = 0;
	ssize_t n;

	inet_ntop(AF_INET6, a, s, sizeof(s));
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = AF_INET6;
	req.ifa.ifa_prefixlen = 128;
	req.ifa.ifa_flags = IFA_F_NODAD;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = if_nametoindex("lo");
	if (!req.ifa.ifa_index)
		return vctx_set_error(err, errno, "cannot find the loopback interface lo: %s", strerror(errno));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = IFA_LOCAL;
	rta->rta_len = RTA_LENGTH(16);
	memcpy(RTA_DATA(rta), a, 16);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	rta = (struct rtattr *)((char *)&req + req.nh.nlmsg_len);
	rta->rta_type = IFA_FLAGS;
	rta->rta_len = RTA_LENGTH(sizeof(flags));
	memcpy(RTA_DATA(rta), &flags, sizeof(flags));
	req.nh.nlmsg_len += RTA_ALIGN(rta->rta_len);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return vctx_set_error(err, errno, "cannot open rtnetlink: %s", strerror(errno));
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		goto out;
	}
	do
		n = recv(fd, &ack, sizeof(ack), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		e = errno;
	else if (n < (ssize_t)sizeof(ack) || ack.nh.nlmsg_type != NLMSG_ERROR)
		e = EPROTO;
	else
		e = -ack.e.error;
out:
	close(fd);
	if (add && e == EEXIST)
		return 0;
	if (!add && (e == EADDRNOTAVAIL || e == ENOENT || e == ENODEV))
		return 0;
	if (e) {
		errno = e;
		return vctx_set_error(err, e, "cannot %s %s %s lo: %s", add ? "add" : "remove", s,
				      add ? "to" : "from", strerror(e));
	}
	return add ? 1 : 0;
}

/* is @ip6 (16 bytes) on an interface, or ::1?  1 yes, 0 no, -1 errno */
VCTX_API int vctx_ipv6_is_local(const uint8_t ip6[16])
{
	struct ifaddrs *ifs, *i;
	int found = 0;

	if (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)ip6))
		return 1;
	if (getifaddrs(&ifs) < 0)
		return -1;
	for (i = ifs; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
			!memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip6, 16);
	freeifaddrs(ifs);
	return found;
}
