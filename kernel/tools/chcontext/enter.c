// SPDX-License-Identifier: GPL-2.0-or-later
/* chcontext --ctx N: run a command in an existing context. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include "vctx.h"
#include "chcontext.h"

int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

int do_enter(uint32_t xid, char **argv, int pty, const char *workdir)
{
	vctx_error e = { 0 };
	struct vctx_exec ex = { .argv = argv, .envp = NULL, .cwd = workdir, .fds = { 0, 1, 2 }, .pty = pty };
	pid_t pid;
	int conn, master = -1, st = 0;
	char *envp[8];
	int k = 0;
	const char *term = getenv("TERM");
	static char termvar[128];

	/* a clean environment: only TERM comes from the caller */
	if (term) {
		snprintf(termvar, sizeof(termvar), "TERM=%s", term);
		envp[k++] = termvar;
	}
	envp[k++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	envp[k++] = "HOME=/root";
	envp[k++] = "USER=root";
	envp[k++] = "LOGNAME=root";
	envp[k++] = "SHELL=/bin/sh";
	envp[k] = NULL;
	ex.envp = envp;
	if (vctx_enter(xid, &ex, &pid, &conn, &master, &e) < 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		/* the command could not be executed inside: the shell's 127 */
		return e.kind == VCTX_ERR_EXEC ? 127 : 1;
	}
	if (pty && master >= 0) {
		relay_pty(master, conn);
		close(master);
	} else {
		/* the process has our stdio; ignore terminal signals meant for it */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
	}
	if (vctx_enter_wait(conn, &st, &e) < 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return e.err == EPIPE ? 1 : 127;
	}
	return status_code(st);
}

