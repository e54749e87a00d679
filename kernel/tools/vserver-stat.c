// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vserver-stat - the `vserver-stat` command's front: takes the host
 * snapshot (libvctx's scan, stat only) in a child while this process
 * becomes Node with the vserver-stat bundle (dist/vserver-stat.cjs), which
 * sums and prints it (src/cli/vserver-stat.ts, src/views/vserver-stat.ts).
 *
 * Node takes ~20 ms to start; loading the addon and the first scan ~2-4 ms
 * more, after it.  Here the scan runs while Node starts, and Node loads no
 * addon (bench/results/startup.md).
 *
 *   vserver-stat [--json] [--confdir DIR]
 *
 * The child writes the snapshot to a pipe as JSON, Node's fd 3, named by
 * VCTX_STAT_SCAN=3 in its environment: the object the addon's snapshot()
 * gives, read with one JSON.parse by src/kernel-bridge/scan-pipe.ts.  The
 * child leaves itself out of the snapshot; Node leaves out its own PID (the
 * front's) as before.  With --help or --version first, or not as root, no
 * scan runs: vserver-stat.ts answers (the help, or the refusal).
 *
 * The bundle is found from this binary's own path: kernel/out/vserver-stat
 * -> dist/vserver-stat.cjs; node is looked up in PATH, with
 * NODE_EXTRA_CA_CERTS removed as the commands' #! line does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-scan.h"

static const char prog[] = "vserver-stat";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* the snapshot, less this child, as JSON on @fd (libvctx's vctx_scan_json) */
static int scan_to(int fd)
{
	FILE *f = fdopen(fd, "w");

	if (!f)
		return 1;
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	int r = vctx_scan_json(f, 1, getpid());
	return fclose(f) || r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsetenv("VCTX_STAT_SCAN");
	if (!(argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "--version") == 0)) &&
	    geteuid() == 0 && vctx_instance()) {
		int out[2];
		if (pipe2(out, O_CLOEXEC) < 0)
			die("pipe");
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			/* Node may end without reading (a usage error): no SIGPIPE message */
			signal(SIGPIPE, SIG_IGN);
			close(out[0]);
			_exit(scan_to(out[1]));
		}
		close(out[1]);
		/* fd 3 for Node (dup2 clears close-on-exec) */
		if (out[0] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(out[0], 3) < 0)
			die("dup2");
		setenv("VCTX_STAT_SCAN", "3", 1);
	}
	return vctx_front_exec_node(prog, "vserver-stat.cjs", argc, argv);
}
