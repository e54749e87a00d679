// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-uid kernel counters a server shares with the host.  Root inside a
 * server is uid 0 outside: every count the kernel keeps per user (in the
 * initial user namespace) is one count for the host's root and all its
 * servers.  The ones a server could fill so that the host's own root
 * services fail are raised here, at a context's creation, to floors that
 * leave the memory each item costs (charged to the server's memory cgroup)
 * as the bound, as LXD's production settings do; they are only ever
 * raised.  The floors are kernel/tables/vctx-tables.json's
 * hostCounterFloors; setup.sh installs the same as a sysctl.d file.  The
 * others are closed by seccomp (confine.c: fanotify, keyrings, user
 * namespaces) or bounded per server; docs/security.md has the list.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define FLOOR_ROW(path, floor) { path, floor },
static const struct {
	const char *path;
	unsigned long long floor;
} floors[] = { VCTX_COUNTER_FLOORS(FLOOR_ROW) };

/**
 * vctx_counters_raise - raise the host's per-uid counter limits a server
 * shares with the host's root to their floors.  Best effort: inside a
 * context (a nested one) /proc/sys is read-only and the host's values hold.
 */
void vctx_counters_raise(void)
{
	for (size_t i = 0; i < sizeof(floors) / sizeof(floors[0]); i++) {
		char buf[32];
		if (vctx_read_file_at(AT_FDCWD, floors[i].path, buf, sizeof(buf)) <= 0)
			continue;
		if (strtoull(buf, NULL, 10) >= floors[i].floor)
			continue;
		snprintf(buf, sizeof(buf), "%llu", floors[i].floor);
		vctx_write_file_at(AT_FDCWD, floors[i].path, buf);
	}
}
