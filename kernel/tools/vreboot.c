/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vreboot / vhalt - ask the host to restart or stop this virtual server.
 *
 * One binary, two names (argv[0]'s basename picks the request), installed
 * as /sbin/vreboot and /sbin/vhalt in every server built by
 * `vserver NAME build`.  It connects to the per-server unix socket
 * /dev/reboot (the seed's rebootmgr), sends one request line, "reboot\n" or
 * "halt\n", prints the one reply line ("ok" or "error: ...") and exits 0 on
 * "ok", 1 otherwise.
 *
 * It runs inside servers that may have no C library at all (the busybox
 * template), so it must be linked statically: it uses nothing but a few
 * system calls and no libvctx, and the build links it with -static.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "vctx-version.h"

#define REBOOT_SOCKET	"/dev/reboot"
#define REPLY_TIMEOUT_S	60

static const char *progname = "vreboot";

static void usage(FILE *out, const char *request)
{
	int halt = request && strcmp(request, "halt") == 0;

	fprintf(out,
		"Usage: %s [--socket PATH]\n"
		"Ask the host to %s this virtual server.\n"
		"\n"
		"Run inside a server: the request goes to the host's reboot manager for\n"
		"this server (the seed's rebootmgr), which runs vserver NAME %s there:\n"
		"the server's own shutdown from the host.  The server's reboot, halt and\n"
		"poweroff work too: with CAP_SYS_BOOT, which servers keep, their\n"
		"reboot(2) ends only this server (its PID namespace), and the host then\n"
		"restarts or stops it.  Loading a kernel (kexec) stays refused.\n"
		"\n"
		"Options:\n"
		"  --socket PATH  the reboot manager's socket (default " REBOOT_SOCKET ")\n"
		"  --help         display this help and exit\n"
		"  --version      output version information and exit\n"
		"\n"
		"Exit status:\n"
		"  0 when the host answered ok, 1 otherwise, 2 on a usage error.\n",
		progname, halt ? "stop" : "restart", halt ? "stop" : "restart");
}

/* write all of buf, retrying on EINTR and short writes */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* read one line (without its newline) into buf; 0 on success, -1 on error/EOF */
static int read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			if (len == 0) {
				errno = ECONNRESET;
				return -1;
			}
			break;
		}
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	const char *socket_path = REBOOT_SOCKET;
	const char *request;
	struct sockaddr_un addr;
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S, .tv_usec = 0 };
	char reply[512];
	char line[16];
	const char *base;
	int fd;
	int i;

	if (argc > 0 && argv[0] && argv[0][0]) {
		base = strrchr(argv[0], '/');
		progname = base ? base + 1 : argv[0];
	}
	if (strncmp(progname, "vhalt", 5) == 0) {
		request = "halt";
	} else if (strncmp(progname, "vreboot", 7) == 0) {
		request = "reboot";
	} else {
		fprintf(stderr, "%s: invoke me as vreboot or vhalt\n", progname);
		return 2;
	}

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, request);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s (vctx) %s\n", progname, VCTX_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			socket_path = argv[++i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			socket_path = argv[i] + 9;
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\nTry '%s --help'.\n",
				progname, argv[i], progname);
			return 2;
		}
	}

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: socket path '%s' is too long\n", progname, socket_path);
		return 2;
	}
	strcpy(addr.sun_path, socket_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", progname, strerror(errno));
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "%s: cannot reach the reboot manager at %s: %s\n",
			progname, socket_path, strerror(errno));
		close(fd);
		return 1;
	}
	/* the host answers before it acts; do not hang forever if it never does */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	snprintf(line, sizeof(line), "%s\n", request);
	if (write_all(fd, line, strlen(line)) < 0) {
		fprintf(stderr, "%s: sending '%s' to %s: %s\n",
			progname, request, socket_path, strerror(errno));
		close(fd);
		return 1;
	}

	if (read_line(fd, reply, sizeof(reply)) < 0) {
		fprintf(stderr, "%s: no reply from the reboot manager at %s: %s\n", progname,
			socket_path,
			errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);

	if (strcmp(reply, "ok") == 0) {
		printf("%s\n", reply);
		return 0;
	}
	fprintf(stderr, "%s: %s\n", progname, reply[0] ? reply : "error: empty reply");
	return 1;
}
