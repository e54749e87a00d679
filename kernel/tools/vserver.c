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
 * And it hands Node what a status asks of the kernel, in the environment
 * variable VCTX_FRONT_KERNEL (libvctx's vctx_front_kernel_json: the cgroup
 * layout and the running contexts, ~0.1 ms here): without it a status
 * loads the native addon and its shared libraries (libbpf, libseccomp,
 * libstdc++: ~5 ms) for those two answers.  Node reads the variable and
 * removes it before anything else (src/kernel-bridge/front.ts), so no
 * command it runs inherits it.
 *
 * The bundle is found from this binary's own path: kernel/out/vserver ->
 * dist/vserver.cjs; node is looked up in PATH, with NODE_EXTRA_CA_CERTS
 * removed (with it Node reads a CA bundle at start, ~40 ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include "vctx.h"

#define FRONT_ENV "VCTX_FRONT_KERNEL"

int main(int argc, char **argv)
{
	char *json = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&json, &len);

	/* what cannot be handed over, Node asks the addon for */
	unsetenv(FRONT_ENV);
	if (f && vctx_instance()) {
		int bad = vctx_front_kernel_json(f) < 0;
		if (fclose(f) == 0 && !bad && json)
			setenv(FRONT_ENV, json, 1);
		free(json);
	}
	return vctx_front_exec_node("vserver", "vserver.cjs", argc, argv);
}
