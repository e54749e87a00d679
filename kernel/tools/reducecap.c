// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reducecap - lower the capability ceiling (bounding set) of a command and
 * all its children; setuid programs cannot regain what was dropped.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-version.h"
#include "vctx-scan.h"


static void usage(FILE *out)
{
	fputs(
"Usage: reducecap [--secure] [--cap CAP]... [--] CMD [ARG...]\n"
"  or:  reducecap --show [--pid PID]\n"
"Run a command under a lowered capability ceiling.\n"
"\n"
"Lowers the capability bounding set of CMD and all its children: even setuid\n"
"programs cannot get back what was dropped.  Ambient and inheritable sets are\n"
"cleared.  NO_NEW_PRIVS is not set, so setuid programs such as su still work,\n"
"within the ceiling.\n"
"\n"
"Options:\n"
"  --secure     keep only a server's set: " VCTX_CAPS_DEFAULT_HELP "\n"
"  --cap CAP    with --secure: keep CAP too; without: drop CAP (CAP_X or X);\n"
"               !CAP always drops CAP.  With --secure, a capability refused to\n"
"               servers (" VCTX_CAPS_REFUSED_SOME ", ... see vctx's CONTRACT.md)\n"
"               is an error (exit 2)\n"
"  --show       print the capability table of PID (default: this process)\n"
"  --pid PID    with --show: the process to show\n"
"  --help       display this help and exit\n"
"  --version    output version information and exit\n"
"\n"
"Exit status:\n"
"  CMD's; 1 when the ceiling cannot be lowered; 2 on a usage error.\n",
	      out);
}

static void __attribute__((noreturn)) usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "reducecap: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nTry 'reducecap --help' for more information.\n");
	exit(2);
}

static int show(pid_t pid)
{
	struct vctx_capsets cs;
	vctx_error e = { 0 };

	if (vctx_caps_of_pid(pid, &cs, &e) < 0) {
		fprintf(stderr, "reducecap: %s\n", e.msg);
		return 1;
	}
	/* the header of the original tool, then one row per capability */
	printf("Capability Effective  Permitted  Inheritable  Bounding\n");
	for (int c = 0; c < vctx_cap_count(); c++) {
		const char *n = vctx_cap_name(c);
		char other[32];
		if (!n) {
			snprintf(other, sizeof(other), "CAP_%d", c);
			n = other;
		}
		uint64_t b = 1ULL << c;
		printf("%-22s %-10s %-10s %-12s %s\n", n, cs.eff & b ? "X" : "", cs.prm & b ? "X" : "",
		       cs.inh & b ? "X" : "", cs.bnd & b ? "X" : "");
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secure", no_argument, 0, 's' }, { "cap", required_argument, 0, 'c' },
		{ "show", no_argument, 0, 'S' }, { "pid", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	int secure = 0, do_show = 0, c;
	pid_t pid = 0;
	uint64_t named = 0, drop = 0;
	const char *refused_arg = NULL;
	vctx_error e = { 0 };

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			secure = 1;
			break;
		case 'c':
			if (vctx_cap_arg(optarg, &named, &drop, &refused_arg) < 0)
				usage_error("--cap: unknown capability '%s'", vctx_shown(optarg + (optarg[0] == '!')));
			break;
		case 'S':
			do_show = 1;
			break;
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0)
				usage_error("--pid: invalid process id '%s'", vctx_shown(optarg));
			pid = (pid_t)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("reducecap (vctx) " VCTX_VERSION);
			return 0;
		default:
			usage_error("unknown or incomplete option '%s'", vctx_shown(argv[optind - 1]));
		}
	}
	if (do_show)
		return show(pid);
	if (optind >= argc)
		usage_error("%s", "no command given");
	/* CONTRACT.md "Capabilities of a server": --secure never keeps a refused one */
	if (secure && refused_arg) {
		vctx_caps_check_server(1ULL << vctx_cap_from_name(refused_arg), &e);
		fprintf(stderr, "reducecap: --cap %s: %s\n", refused_arg, e.msg);
		return 2;
	}
	uint64_t keep;
	if (secure)
		keep = (vctx_caps_server_default() | named) & ~drop;
	else
		keep = ~(named | drop);
	if (vctx_caps_reduce(keep, &e) < 0) {
		fprintf(stderr, "reducecap: %s%s\n", e.msg,
			e.err == EPERM ? " (lowering the ceiling needs CAP_SETPCAP: run as root)" : "");
		return 1;
	}
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "reducecap: cannot execute %s: %s\n", vctx_shown(argv[optind]), strerror(errno));
	return 127;
}
