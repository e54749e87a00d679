// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vctx-probe: one static test program for the kernel-layer integration
 * tests, run inside contexts (also in busybox roots).  Every mode prints
 * one line and exits 0 when the probe itself ran; results such as an
 * errno are in the line, so a test asserts on what a user would see.
 *
 *   caps                      "eff=HEX prm=HEX bnd=HEX uid=N euid=N"
 *   bind ADDR PORT            "bound ADDR:PORT" or "error ENAME"
 *   serve ADDR PORT           bind+listen, print "listening ADDR:PORT",
 *                             answer one client with "hello", print
 *                             "accepted PEER:PORT on LOCAL:PORT", exit
 *   connect ADDR PORT [FROM]  "connected LOCAL:PORT -> REPLY" or "error ENAME"
 *                             (ETIMEDOUT when no answer came in 3 s); with
 *                             FROM, bound to FROM first
 *   names ADDR PORT [FROM]    connect: "local LOCAL peer PEER -> REPLY" (the
 *                             addresses without ports) or "error ENAME"
 *   dserve PORT               serve on a dual-stack [::]:PORT (IPV6_V6ONLY off)
 *   autolisten                listen() without bind(): "listening ADDR:PORT",
 *                             answer one client, exit
 *   userve ADDR PORT          UDP (IPv6: IPV6_V6ONLY): bind, print "bound ADDR:PORT", answer one
 *                             datagram with "hello", print "from PEER:PORT", exit
 *   uconn ADDR PORT           UDP connect + send + recv (what resolvers do):
 *                             "local LOCAL peer PEER -> REPLY" or "error ENAME"
 *   usend ADDR PORT [FROM]    UDP sendto + recvfrom: "reply from PEER:PORT -> REPLY"
 *                             or "error ENAME"; with FROM, bound to FROM first
 *   v6                        socket(AF_INET6): "ok" or "error ENAME"
 *                             (ADDR may be IPv6: bind and serve set IPV6_V6ONLY,
 *                             as nginx does, but for ::ffff:a.b.c.d; IPv6
 *                             addresses print as [A]:PORT)
 *   escape MARKER             double-chroot and fchdir escapes: "escape chroot=inside|OUT fchdir=inside|OUT"
 *   handle FILE               name_to_handle_at + open_by_handle_at: "handle ok|error ENAME"
 *   abstract NAME             connect to the abstract unix socket \0NAME
 *   signal PID SIG            kill(PID, SIG): "ok" or "error ENAME"
 *   fds                       the open descriptors: "fds 0 1 2 ..."
 *   as UID GID PROG [ARG...]  drop to UID/GID (no groups) and exec PROG
 *   projid FILE ID            FS_IOC_FSSETXATTR: give FILE project id ID (what
 *                             `chattr -p ID` does): "ok" or "error ENAME"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stddef.h>
#include <grp.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EADDRINUSE: return "EADDRINUSE";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENETUNREACH: return "ENETUNREACH";
	case EROFS: return "EROFS";
	case EDQUOT: return "EDQUOT";
	case ENOSPC: return "ENOSPC";
	default: return strerror(e);
	}
}

static unsigned long long status_hex(const char *key)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return ~0ULL;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
			v = strtoull(line + strlen(key) + 1, NULL, 16);
	fclose(f);
	return v;
}

/* ADDR PORT as a socket address of its family (IPv6 when ADDR has a ':') */
static socklen_t addr(const char *a, const char *p, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(p));
		inet_pton(AF_INET6, a, &s6->sin6_addr);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((unsigned short)atoi(p));
	inet_pton(AF_INET, a, &s4->sin_addr);
	return sizeof(*s4);
}

/* "A:PORT" / "[A6]:PORT", or without the port */
static const char *fmt(const struct sockaddr_storage *ss, int port)
{
	static char out[4][80];
	static int n;
	char b[64];
	char *o = out[n++ % 4];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, b, sizeof(b));
		if (port)
			snprintf(o, 80, "[%s]:%d", b, ntohs(s6->sin6_port));
		else
			snprintf(o, 80, "%s", b);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, b, sizeof(b));
		if (port)
			snprintf(o, 80, "%s:%d", b, ntohs(s4->sin_port));
		else
			snprintf(o, 80, "%s", b);
	}
	return o;
}

/* IPv6 sockets are IPV6_V6ONLY (as nginx's), but for ::ffff:a.b.c.d or with @dual */
static int tcp_socket(const struct sockaddr_storage *sa, int dual)
{
	int fd = socket(sa->ss_family, SOCK_STREAM, 0);
	int one = 1, v6only = !dual;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->ss_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr))
			v6only = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	return fd;
}

/* bind @fd to @from, port 0 (a client's chosen source) */
static int bind_from(int fd, const char *from)
{
	struct sockaddr_storage ss;
	socklen_t l = addr(from, "0", &ss);

	return bind(fd, (struct sockaddr *)&ss, l);
}

static const char *sockname(int fd, int peer, int port)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (peer)
		getpeername(fd, (struct sockaddr *)&ss, &l);
	else
		getsockname(fd, (struct sockaddr *)&ss, &l);
	return fmt(&ss, port);
}

/* accept one client, answer "hello", print who it was */
static void answer(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	int c = accept(fd, (struct sockaddr *)&ss, &l);

	if (c < 0) {
		printf("error %s\n", ename(errno));
		return;
	}
	if (write(c, "hello\n", 6) < 0)
		exit(1);
	printf("accepted %s on %s\n", fmt(&ss, 1), sockname(c, 0, 1));
	close(c);
}

/* chroot into a new subdirectory, climb with .., chroot there: still inside? */
static const char *escape_chroot(const char *marker)
{
	mkdir("/tmp", 01777);
	mkdir("/tmp/vctx-probe-x", 0755);
	if (chroot("/tmp/vctx-probe-x") < 0)
		return ename(errno);
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0)
		return ename(errno);
	return access(marker, F_OK) == 0 ? "OUT" : "inside";
}

static const char *escape_fchdir(const char *marker)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	mkdir("/tmp/vctx-probe-y", 0755);
	if (fd < 0 || chroot("/tmp/vctx-probe-y") < 0)
		return ename(errno);
	if (fchdir(fd) < 0)
		return ename(errno);
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0)
		return ename(errno);
	return access(marker, F_OK) == 0 ? "OUT" : "inside";
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vctx-probe MODE [ARGS]\n");
		return 2;
	}
	const char *m = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(m, "caps")) {
		printf("eff=%llx prm=%llx bnd=%llx inh=%llx amb=%llx uid=%d euid=%d\n", status_hex("CapEff"),
		       status_hex("CapPrm"), status_hex("CapBnd"), status_hex("CapInh"), status_hex("CapAmb"),
		       getuid(), geteuid());
	} else if (!strcmp(m, "bind") && argc == 4) {
		struct sockaddr_storage sa;
		socklen_t sl = addr(argv[2], argv[3], &sa);
		int fd = tcp_socket(&sa, 0);
		if (bind(fd, (struct sockaddr *)&sa, sl) < 0)
			printf("error %s\n", ename(errno));
		else
			printf("bound %s\n", sockname(fd, 0, 1));
	} else if ((!strcmp(m, "serve") && argc == 4) || (!strcmp(m, "dserve") && argc == 3)) {
		struct sockaddr_storage sa;
		int dual = !strcmp(m, "dserve");
		socklen_t sl = dual ? addr("::", argv[2], &sa) : addr(argv[2], argv[3], &sa);
		int fd = tcp_socket(&sa, dual);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 4) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		printf("listening %s\n", sockname(fd, 0, 1));
		answer(fd);
	} else if (!strcmp(m, "autolisten")) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (listen(fd, 4) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		printf("listening %s\n", sockname(fd, 0, 1));
		answer(fd);
	} else if ((!strcmp(m, "connect") || !strcmp(m, "names")) && (argc == 4 || argc == 5)) {
		struct sockaddr_storage sa;
		socklen_t sl = addr(argv[2], argv[3], &sa);
		int fd = socket(sa.ss_family, SOCK_STREAM, 0);
		struct timeval tv = { 3, 0 };
		char buf[64] = "";
		/* a dropped SYN: ETIMEDOUT after 3 s instead of the kernel's minutes */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (fd < 0 || (argc == 5 && bind_from(fd, argv[4]) < 0) || connect(fd, (struct sockaddr *)&sa, sl) < 0) {
			printf("error %s\n", ename(errno == EINPROGRESS ? ETIMEDOUT : errno));
			return 0;
		}
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		/* one printf: a server in the same shell writes to the same stdout */
		if (!strcmp(m, "names"))
			printf("local %s peer %s -> %s\n", sockname(fd, 0, 0), sockname(fd, 1, 0), buf);
		else
			printf("connected %s -> %s\n", sockname(fd, 0, 1), buf);
	} else if (!strcmp(m, "userve") && argc == 4) {
		struct sockaddr_storage sa, from;
		socklen_t sl = addr(argv[2], argv[3], &sa), fl = sizeof(from);
		int fd = socket(sa.ss_family, SOCK_DGRAM, 0), one = 1;
		char buf[64];
		if (sa.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		printf("bound %s\n", sockname(fd, 0, 1));
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		if (sendto(fd, "hello\n", 6, 0, (struct sockaddr *)&from, fl) < 0)
			printf("reply error %s\n", ename(errno));
		printf("from %s\n", fmt(&from, 1));
	} else if (!strcmp(m, "uconn") && argc == 4) {
		struct sockaddr_storage sa;
		socklen_t sl = addr(argv[2], argv[3], &sa);
		int fd = socket(sa.ss_family, SOCK_DGRAM, 0);
		struct timeval tv = { 2, 0 };
		char buf[64];
		ssize_t n;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sl) < 0 || send(fd, "hi\n", 3, 0) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			printf("error %s\n", ename(errno == EAGAIN ? ETIMEDOUT : errno));
			return 0;
		}
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("local %s peer %s -> %s\n", sockname(fd, 0, 0), sockname(fd, 1, 0), buf);
	} else if (!strcmp(m, "usend") && (argc == 4 || argc == 5)) {
		struct sockaddr_storage sa, from;
		socklen_t sl = addr(argv[2], argv[3], &sa), fl = sizeof(from);
		int fd = socket(sa.ss_family, SOCK_DGRAM, 0);
		struct timeval tv = { 2, 0 };
		char buf[64];
		ssize_t n;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (fd < 0 || (argc == 5 && bind_from(fd, argv[4]) < 0) || sendto(fd, "hi\n", 3, 0, (struct sockaddr *)&sa, sl) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			printf("error %s\n", ename(errno == EAGAIN ? ETIMEDOUT : errno));
			return 0;
		}
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("reply from %s -> %s\n", fmt(&from, 1), buf);
	} else if (!strcmp(m, "v6")) {
		int fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (fd < 0)
			printf("error %s\n", ename(errno));
		else
			printf("ok\n");
	} else if (!strcmp(m, "escape") && argc == 3) {
		pid_t p = fork();
		if (p == 0) {
			printf("escape chroot=%s", escape_chroot(argv[2]));
			_exit(0);
		}
		waitpid(p, NULL, 0);
		printf(" fchdir=%s\n", escape_fchdir(argv[2]));
	} else if (!strcmp(m, "handle") && argc == 3) {
		struct file_handle *fh = malloc(sizeof(*fh) + 128);
		int mid;
		fh->handle_bytes = 128;
		if (name_to_handle_at(AT_FDCWD, argv[2], fh, &mid, 0) < 0) {
			printf("name_to_handle error %s\n", ename(errno));
			return 0;
		}
		int mfd = open("/", O_RDONLY | O_DIRECTORY);
		int fd = open_by_handle_at(mfd, fh, O_RDONLY);
		if (fd < 0)
			printf("handle error %s\n", ename(errno));
		else
			printf("handle ok\n");
	} else if (!strcmp(m, "abstract") && argc == 3) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		size_t l = strlen(argv[2]);
		memcpy(sa.sun_path + 1, argv[2], l);
		if (connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l)) < 0)
			printf("error %s\n", ename(errno));
		else
			printf("connected\n");
	} else if (!strcmp(m, "signal") && argc == 4) {
		if (kill(atoi(argv[2]), atoi(argv[3])) < 0)
			printf("error %s\n", ename(errno));
		else
			printf("ok\n");
	} else if (!strcmp(m, "fds")) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		int own = d ? dirfd(d) : -1;
		printf("fds");
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.' && atoi(e->d_name) != own)
				printf(" %s", e->d_name);
		printf("\n");
	} else if (!strcmp(m, "projid") && argc == 4) {
		struct fsxattr fa;
		int fd = open(argv[2], O_RDONLY | O_NOFOLLOW);
		if (fd < 0 || ioctl(fd, FS_IOC_FSGETXATTR, &fa) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		fa.fsx_projid = (unsigned)strtoul(argv[3], NULL, 10);
		if (ioctl(fd, FS_IOC_FSSETXATTR, &fa) < 0)
			printf("error %s\n", ename(errno));
		else
			printf("ok\n");
		close(fd);
	} else if (!strcmp(m, "as") && argc >= 5) {
		if (setgroups(0, NULL) < 0 || setgid((gid_t)atoi(argv[3])) < 0 || setuid((uid_t)atoi(argv[2])) < 0) {
			printf("error %s\n", ename(errno));
			return 1;
		}
		execv(argv[4], argv + 4);
		fprintf(stderr, "vctx-probe: cannot execute %s: %s\n", argv[4], strerror(errno));
		return 126;
	} else {
		fprintf(stderr, "vctx-probe: unknown mode %s\n", m);
		return 2;
	}
	return 0;
}
