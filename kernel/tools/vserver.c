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
#include <stdio.h>
#include "vctx.h"

int main(int argc, char **argv)
{
	return vctx_front_exec_node("vserver", "vserver.cjs", argc, argv);
}
