// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vserver-info [PID|-] xid - print the context number of PID (default: self).
 * Inside a server it reads what the host provides read-only (/dev/vctx/xid).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vctx.h"
#include "vctx-version.h"
#include "vctx-scan.h"


static void usage(FILE *out)
{
	fputs("Usage: vserver-info [PID|-] xid\n"
	      "Print the security context number of a process.\n"
	      "\n"
	      "Prints the context number of PID ('-' or none: this process): 0 is the\n"
	      "host, 1 the spectator, 2 and up the servers.  Inside a server it reads what\n"
	      "the host provides read-only there.\n"
	      "\n"
	      "Options:\n"
	      "  --help     display this help and exit\n"
	      "  --version  output version information and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0 success, 1 the process cannot be read, 2 usage error.\n",
	      out);
}

int main(int argc, char **argv)
{
	pid_t pid = 0;
	uint32_t xid;
	vctx_error e = { 0 };
	int i = 1;

	if (vctx_instance_check(&e) < 0) {
		fprintf(stderr, "vserver-info: %s\n", e.msg);
		return 2;
	}

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts("vserver-info (vctx) " VCTX_VERSION);
		return 0;
	}
	if (argc == 3) {
		if (strcmp(argv[1], "-") != 0) {
			char *end;
			long v = strtol(argv[1], &end, 10);
			if (*end || v <= 0) {
				fprintf(stderr, "vserver-info: invalid process id '%s'\nTry 'vserver-info --help' for more information.\n", vctx_shown(argv[1]));
				return 2;
			}
			pid = (pid_t)v;
		}
		i = 2;
	}
	if (argc != i + 1 || strcmp(argv[i], "xid") != 0) {
		fprintf(stderr, "vserver-info: expected 'xid'%s%s\nTry 'vserver-info --help' for more information.\n",
			argc > i ? ", got " : "", argc > i ? vctx_shown(argv[i]) : "");
		return 2;
	}
	if (vctx_xid_of_pid(pid, &xid, &e) < 0) {
		fprintf(stderr, "vserver-info: %s\n", e.msg);
		return 1;
	}
	printf("%u\n", xid);
	return 0;
}
