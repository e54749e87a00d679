// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vserver - the `vserver` command's front: becomes Node with the vserver
 * bundle (dist/vserver.cjs, src/cli/vserver.ts) and the same arguments.
 *
 * What the bundle's `#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node` line
 * does, without env(1): env sets up its locale (a dozen files read) before
 * it runs Node, ~0.8 ms of a ~25 ms `vserver NAME status`
 * (bench/results/startup.md).
 *
 * The bundle is found from this binary's own path: kernel/out/vserver ->
 * dist/vserver.cjs; node is looked up in PATH, with NODE_EXTRA_CA_CERTS
 * removed (with it Node reads a CA bundle at start, ~40 ms).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char self[PATH_MAX], bundle[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		fprintf(stderr, "vserver: cannot find its own path (/proc/self/exe): %s\n", strerror(errno));
		return 1;
	}
	self[n] = 0;
	*strrchr(self, '/') = 0;			/* .../kernel/out */
	snprintf(bundle, sizeof(bundle), "%s/../../dist/vserver.cjs", self);

	char **node_argv = calloc((size_t)argc + 2, sizeof(char *));
	if (!node_argv) {
		fputs("vserver: out of memory\n", stderr);
		return 1;
	}
	node_argv[0] = "node";
	node_argv[1] = bundle;
	for (int i = 1; i < argc; i++)
		node_argv[i + 1] = argv[i];
	unsetenv("NODE_EXTRA_CA_CERTS");
	execvp("node", node_argv);
	fprintf(stderr, "vserver: cannot run node: %s\n", strerror(errno));
	return 127;
}
