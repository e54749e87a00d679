// SPDX-License-Identifier: GPL-2.0-or-later
/* chcontext: a new context and its monitor. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "vctx.h"
#include "chcontext.h"

/*
 * A new context running @cmd, and this process its monitor: it forwards
 * termination signals, serves the reboot socket and reaps.  Returns the
 * exit code of chcontext.
 */
int create_and_monitor(struct vctx_spec *spec, char **cmd, const struct create_opts *o)
{
	const int daemon = o->daemon, silent = o->silent;
	const char *reboot_sock = o->reboot_sock, *on_reboot = o->on_reboot, *on_halt = o->on_halt;
	vctx_error e = { 0 };

	int lfd = -1;
	if (reboot_sock) {
		lfd = reboot_listen(reboot_sock);
		spec->reboot_socket = reboot_sock;
	}
	int report[2] = { -1, -1 };
	if (daemon) {
		/* the monitor goes to the background; we report XID and PID 1 */
		if (pipe2(report, O_CLOEXEC) < 0) {
			perror("pipe");
			return 1;
		}
		pid_t p = fork();
		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p > 0) {
			char buf[600];
			close(report[1]);
			ssize_t n = read(report[0], buf, sizeof(buf) - 1);
			buf[n > 0 ? n : 0] = 0;
			waitpid(p, NULL, WNOHANG);
			if (n <= 0) {
				fprintf(stderr, "%s: the context monitor died while starting\n", prog);
				return 1;
			}
			if (buf[0] == 'E') {
				fprintf(stderr, "%s: %s", prog, buf + 2);
				return 1;
			}
			fputs(buf + 2, stdout);
			return 0;
		}
		close(report[0]);
		setsid();
		signal(SIGHUP, SIG_IGN);
		/* the monitor and the context keep none of the caller's stdio */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		close(nul);
	}
	struct vctx_handle h;
	signal(SIGPIPE, SIG_IGN);
	if (vctx_create(spec, cmd, NULL, &h, &e) < 0) {
		if (lfd >= 0)
			unlink(reboot_sock);
		if (daemon) {
			dprintf(report[1], "E %s\n", e.msg);
			_exit(1);
		}
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		/* CMD itself could not be executed: the shell's 127 / 126 */
		if (e.kind == VCTX_ERR_EXEC)
			return e.err == ENOENT ? 127 : 126;
		return 1;
	}
	if (daemon) {
		dprintf(report[1], "O %u %d\n", h.xid, h.pid1);
		close(report[1]);
	} else if (!silent)
		fprintf(stderr, "New security context is %u\n", h.xid);

	/* the monitor: forward termination signals, serve vreboot, reap */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (!daemon) {
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGQUIT);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	time_t last = 0;
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = h.pidfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = lfd, .events = POLLIN },
		};
		if (poll(pfd, 3, -1) < 0)
			continue;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGINT && si.ssi_signo != SIGQUIT)
				syscall(SYS_pidfd_send_signal, h.pidfd, si.ssi_signo, NULL, 0);
		}
		if (lfd >= 0 && pfd[2].revents)
			reboot_serve(lfd, on_reboot, on_halt, &last);
	}
	int st = 0;
	if (lfd >= 0) {
		close(lfd);
		unlink(reboot_sock);
	}
	if (vctx_wait(&h, &st, &e) < 0 && !daemon)
		fprintf(stderr, "%s: %s\n", prog, e.msg);
	return status_code(st);
}
