// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vps - the `vps` command's front: starts ps(1) as the spectator (context 1)
 * and, while it runs, Node with the vps bundle (dist/vps.cjs), which reads
 * ps's output, maps its PIDs to contexts and prints it (src/cli/vps.ts).
 *
 * Node takes ~20 ms to start; ps ~8 ms on an idle host.  Run one after the
 * other (Node spawning ps) they cost their sum; started together, ps is
 * done before Node has loaded vps's code (bench/results/startup.md).
 *
 *   vps [--json] [PS-OPTIONS...]
 *
 * A helper is forked first: it runs ps as the spectator, its standard
 * output a pipe, waits for it, then takes the host snapshot (libvctx's
 * scan) and writes ps's PID and exit status and the snapshot as JSON to a
 * second pipe; meanwhile this process becomes Node (exec) with the pipes'
 * ends as fds 3 (ps's output) and 4 (the rest) and VCTX_VPS_PS=3,4 in its
 * environment: vps.ts reads both to their end and loads no addon.  ps's
 * arguments are vps's except --json, which vps.ts takes.  With --help
 * first, or not as root, no ps runs: vps.ts answers (the help, or the
 * one-line refusal).  The helper shows in ps's output as `vps ARGS`, on
 * the host.
 *
 * The bundle is found from this binary's own path: kernel/out/vps ->
 * dist/vps.cjs; node is looked up in PATH, with NODE_EXTRA_CA_CERTS
 * removed as the commands' #! line does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-scan.h"

static const char prog[] = "vps";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/*
 * The helper, a child of the front: runs ps as the spectator with its
 * output on @out, waits for it, then takes the snapshot (after ps, as the
 * mapping must: a process ps listed has started by then) and writes
 * "PSPID STATUS\n" and the snapshot as JSON (vctx_scan_json) on @scan.
 * STATUS is ps's exit code, or 128+N for signal N.
 */
static int run_ps_then_scan(char **ps_argv, int out, int scan)
{
	vctx_error e = { 0 };
	/* as `chcontext --ctx 1 -- ps ...`: see every context, signal none;
	   born in context 1's cgroup (a move there waits ~10 ms for RCU) */
	pid_t p = vctx_spectate_fork(prog, &e);
	if (p < 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
	} else if (p == 0) {
		close(scan);
		if (dup2(out, 1) < 0)
			_exit(127);
		execvp(ps_argv[0], ps_argv);
		fprintf(stderr, "%s: cannot run ps: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(out);
	int st = 0;
	pid_t r = -1;
	while (p > 0 && (r = waitpid(p, &st, 0)) < 0 && errno == EINTR)
		;
	/* no ps (the message is out): status 1, as a ps that failed */
	int code = r < 0 ? 1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (p < 0)
		p = 0;
	FILE *f = fdopen(scan, "w");
	if (!f)
		return 1;
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	fprintf(f, "%d %d\n", (int)p, code);
	int w = vctx_scan_json(f, 1, 0);
	return fclose(f) || w < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	char **ps_argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!ps_argv)
		die("out of memory");
	int np = 0;
	ps_argv[np++] = "ps";
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") != 0)
			ps_argv[np++] = argv[i];

	unsetenv("VCTX_VPS_PS");
	if (!(argc > 1 && strcmp(argv[1], "--help") == 0) && geteuid() == 0 && vctx_instance()) {
		int out[2], scan[2];
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(scan, O_CLOEXEC) < 0)
			die("pipe");
		pid_t helper = fork();
		if (helper < 0)
			die("fork");
		if (helper == 0) {
			close(out[0]);
			close(scan[0]);
			signal(SIGPIPE, SIG_IGN);	/* Node may end without reading */
			_exit(run_ps_then_scan(ps_argv, out[1], scan[1]));
		}
		close(out[1]);
		close(scan[1]);
		/* ps's output as fd 3, the scan as fd 4 (dup2 clears close-on-exec) */
		int o = fcntl(out[0], F_DUPFD_CLOEXEC, 10), s = fcntl(scan[0], F_DUPFD_CLOEXEC, 10);
		if (o < 0 || s < 0 || dup2(o, 3) < 0 || dup2(s, 4) < 0)
			die("dup2");
		setenv("VCTX_VPS_PS", "3,4", 1);
	}
	return vctx_front_exec_node(prog, "vps.cjs", argc, argv);
}
