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
 * ps is forked first, as the spectator, its standard output a pipe; then
 * this process becomes Node (exec) with the pipe's end as fd 3 and
 * VCTX_VPS_PS=3,PID in its environment: vps.ts reads ps's output to its
 * end and reaps ps (the addon's waitChild) for its exit status.  ps's
 * arguments are vps's except --json, which vps.ts takes.  With --help
 * first, or not as root, no ps runs: vps.ts answers (the help, or the
 * one-line refusal).
 *
 * The bundle is found from this binary's own path: kernel/out/vps ->
 * dist/vps.cjs; node is looked up in PATH, with NODE_EXTRA_CA_CERTS
 * removed as the commands' #! line does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vctx.h"

static const char prog[] = "vps";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], bundle[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		die("cannot find its own path (/proc/self/exe)");
	self[n] = 0;
	*strrchr(self, '/') = 0;			/* .../kernel/out */
	snprintf(bundle, sizeof(bundle), "%s/../../dist/vps.cjs", self);

	char **node_argv = calloc((size_t)argc + 2, sizeof(char *));
	char **ps_argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!node_argv || !ps_argv)
		die("out of memory");
	node_argv[0] = "node";
	node_argv[1] = bundle;
	for (int i = 1; i < argc; i++)
		node_argv[i + 1] = argv[i];
	int np = 0;
	ps_argv[np++] = "ps";
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") != 0)
			ps_argv[np++] = argv[i];

	unsetenv("NODE_EXTRA_CA_CERTS");
	unsetenv("VCTX_VPS_PS");
	if (!(argc > 1 && strcmp(argv[1], "--help") == 0) && geteuid() == 0) {
		int out[2];
		if (pipe2(out, O_CLOEXEC) < 0)
			die("pipe");
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			vctx_error e = { 0 };
			close(out[0]);
			if (dup2(out[1], 1) < 0)
				_exit(127);
			/* as `chcontext --ctx 1 -- ps ...`: see every context, signal none */
			if (vctx_spectate(0, &e) < 0) {
				fprintf(stderr, "%s: %s\n", prog, e.msg);
				_exit(1);
			}
			execvp(ps_argv[0], ps_argv);
			fprintf(stderr, "%s: cannot run ps: %s\n", prog, strerror(errno));
			_exit(127);
		}
		close(out[1]);
		/* fd 3 for Node (dup2 clears close-on-exec) */
		if (out[0] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(out[0], 3) < 0)
			die("dup2");
		char env[64];
		snprintf(env, sizeof(env), "3,%d", (int)p);
		setenv("VCTX_VPS_PS", env, 1);
	}
	execvp("node", node_argv);
	fprintf(stderr, "%s: cannot run node: %s\n", prog, strerror(errno));
	return 127;
}
