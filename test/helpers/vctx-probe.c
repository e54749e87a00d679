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
 *                             answer one client with "hello", exit
 *   connect ADDR PORT         "connected LOCAL:PORT -> REPLY" or "error ENAME"
 *   v6                        socket(AF_INET6): "ok" or "error ENAME"
 *   escape MARKER             double-chroot and fchdir escapes: "escape chroot=inside|OUT fchdir=inside|OUT"
 *   handle FILE               name_to_handle_at + open_by_handle_at: "handle ok|error ENAME"
 *   abstract NAME             connect to the abstract unix socket \0NAME
 *   signal PID SIG            kill(PID, SIG): "ok" or "error ENAME"
 *   fds                       the open descriptors: "fds 0 1 2 ..."
 *   as UID GID PROG [ARG...]  drop to UID/GID (no groups) and exec PROG
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
#include <sys/socket.h>
#include <sys/stat.h>
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

static struct sockaddr_in addr(const char *a, const char *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(p)) };
	inet_pton(AF_INET, a, &sa.sin_addr);
	return sa;
}

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return fd;
}

static void print_sock(const char *what, int fd)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);
	char b[32];
	getsockname(fd, (struct sockaddr *)&sa, &l);
	printf("%s %s:%d", what, inet_ntop(AF_INET, &sa.sin_addr, b, sizeof(b)), ntohs(sa.sin_port));
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
		struct sockaddr_in sa = addr(argv[2], argv[3]);
		int fd = tcp_socket();
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			printf("error %s\n", ename(errno));
		else {
			print_sock("bound", fd);
			printf("\n");
		}
	} else if (!strcmp(m, "serve") && argc == 4) {
		struct sockaddr_in sa = addr(argv[2], argv[3]);
		int fd = tcp_socket();
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		print_sock("listening", fd);
		printf("\n");
		int c = accept(fd, NULL, NULL);
		if (c >= 0 && write(c, "hello\n", 6) < 0)
			return 1;
		close(c);
	} else if (!strcmp(m, "connect") && argc == 4) {
		struct sockaddr_in sa = addr(argv[2], argv[3]);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char buf[64] = "";
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			printf("error %s\n", ename(errno));
			return 0;
		}
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		print_sock("connected", fd);
		printf(" -> %s\n", buf);
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
