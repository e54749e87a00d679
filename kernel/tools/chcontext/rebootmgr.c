// SPDX-License-Identifier: GPL-2.0-or-later
/* chcontext --reboot-socket: the reboot manager of a server (vreboot, vhalt). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "chcontext.h"

int reboot_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	/* a cut path would bind another socket than the one we name */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: the reboot socket path %s is longer than %zu bytes (a run directory that "
			"short is needed)\n", prog, path, sizeof(sa.sun_path) - 1);
		exit(1);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 4) < 0) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* run a host command detached (it may stop us: we don't wait for it) */
void run_detached(const char *cmd)
{
	pid_t p = fork();
	if (p == 0) {
		setsid();
		if (fork() == 0) {
			int nul = open("/dev/null", O_RDWR);
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

/*
 * One request at a time, answered at once; a request within 10 s of the
 * last accepted one is refused, so a flood from a server cannot make the
 * host restart it in a loop or stall anything.
 */
void reboot_serve(int lfd, const char *on_reboot, const char *on_halt, time_t *last)
{
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	char buf[32] = "";
	const char *reply;

	if (c < 0)
		return;
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n = recv(c, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	time_t now = time(NULL);
	const char *cmd = NULL;
	if (strcmp(buf, "reboot\n") == 0 || strcmp(buf, "reboot") == 0)
		cmd = on_reboot;
	else if (strcmp(buf, "halt\n") == 0 || strcmp(buf, "halt") == 0)
		cmd = on_halt;
	if (!cmd)
		reply = n > 0 && (strncmp(buf, "reboot", 6) == 0 || strncmp(buf, "halt", 4) == 0)
				? "error: this server has no reboot manager\n"
				: "error: unknown request (reboot or halt)\n";
	else if (*last && now - *last < 10)
		reply = "error: a request is already being carried out\n";
	else {
		*last = now;
		run_detached(cmd);
		reply = "ok\n";
	}
	send(c, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(c);
}

