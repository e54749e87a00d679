/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The attack suite's switch (test/security/): each case is shown to detect
 * its attack by running it once more against a context with that one
 * mechanism off.  VCTX_TEST_WEAKEN="devices,sockets" in the environment of
 * whoever creates a context (host root: chcontext, vserver start) leaves the
 * named mechanisms out, and says so on stderr.  Only host root creates
 * contexts, and a nested context stays inside its parent's cgroup programs,
 * seccomp filters and capability ceiling, so a server cannot use it to shed
 * what its own context has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int vctx_weakened(const char *mechanism)
{
	const char *list = getenv("VCTX_TEST_WEAKEN");
	size_t n = strlen(mechanism);

	for (const char *p = list; p && *p; ) {
		const char *end = strchrnul(p, ',');
		if ((size_t)(end - p) == n && memcmp(p, mechanism, n) == 0) {
			fprintf(stderr, "vctx: warning: test switch VCTX_TEST_WEAKEN: this context has no '%s' mechanism\n",
				mechanism);
			return 1;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}
