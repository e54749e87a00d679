// SPDX-License-Identifier: GPL-2.0-or-later
/* Local IPv4 addresses: what chbind and chcontext accept as an address to lock to. */
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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
