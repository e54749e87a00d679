// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * chcontext - run a command in a new security context, or in an existing
 * one (root in context 0), or as the spectator (context 1).
 *
 * Besides the seed's options it takes the options `vserver NAME start`
 * needs (root directory, IPv4 lock, limits, console, reboot socket,
 * --daemon), listed in --help under "server options".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "chcontext.h"
#include "vctx-version.h"

const char *prog = "chcontext";

static void usage(FILE *out)
{
	fputs(
"Usage: chcontext [OPTION]... [--] CMD [ARG...]\n"
"Run a command in a new or an existing security context.\n"
"\n"
"A security context has its own PID, IPC, UTS, mount, cgroup and time\n"
"namespaces and its own cgroup.  Processes inside see only their context; the\n"
"host (context 0) sees every context.  Without --ctx, CMD starts in a new\n"
"context with an unused dynamic number, printed on stderr.  Runs as root.\n"
"\n"
"Options:\n"
"  --ctx N               enter running context N (root in context 0), or create\n"
"                        it with that number; --ctx 1 is the spectator: CMD sees\n"
"                        every process and can signal none outside itself.\n"
"                        Only on the host: inside a context --ctx is an error\n"
"                        (exit 1)\n"
"  --secure              a server's capability set and its full containment\n"
"                        (/proc and /sys by allowlist, nodev root, private\n"
"                        /dev and only its devices, no user namespaces,\n"
"                        Landlock)\n"
"  --cap CAP             keep CAP (CAP_X or X) on top of the --secure set; !CAP\n"
"                        drops one (repeatable).  With --secure, a capability\n"
"                        refused to servers (" VCTX_CAPS_REFUSED_SOME ", ...)\n"
"                        is an error (exit 2)\n"
"  --hostname H          the context's host name\n"
"  --domainname D        the context's NIS domain name\n"
"  --flag F              " VCTX_FLAG_OR_LIST " (repeatable);\n"
"                        the context reads its flags in /dev/vctx/flags.\n"
"                        lock: no new context or namespace inside (unshare and\n"
"                        setns fail with EPERM, a chcontext inside says\n"
"                        \"locked\").  nproc: the hard RLIMIT_NPROC of the\n"
"                        context (--rlimit nproc=, else chcontext's own) becomes\n"
"                        its process limit, the cgroup's pids.max, instead of a\n"
"                        per-user limit; --pids N wins; unlimited leaves\n"
"                        pids.max at max\n"
"  --silent              do not print \"New security context is N\"\n"
"  --help                display this help and exit\n"
"  --version             output version information and exit\n"
"\n"
"Server options (used by vserver NAME start):\n"
"  --root DIR            pivot into DIR (the old root is detached)\n"
"  --ip IP               lock the context to IP (see chbind)\n"
"  --loopback IP         map 127.0.0.0/8 to IP, a loopback address of its own:\n"
"                        127.0.0.1 inside reaches the server's own listeners\n"
"                        (at IP or at its --ip address) and reads back as\n"
"                        127.0.0.1; other servers' addresses are reached as\n"
"                        they are\n"
"  --ip6 IP6             with --ip: the server's IPv6 address (on an\n"
"                        interface); [::] binds to it\n"
"  --loopback6 IP6       with --ip: the private IPv6 loopback, ::1 inside, in\n"
"                        fd76:6374:7800::/96, added to lo while the context\n"
"                        lives; default: derived from --loopback\n"
"                        (fd76:6374:7800::7f80:33 for 127.128.0.51).  Without\n"
"                        either, IPv6 sockets are refused\n"
"  --nat                 with --ip: connections to addresses off the loopback\n"
"                        leave from the host's address (the kernel's routing\n"
"                        chooses it); without it a loopback --ip cannot\n"
"                        reach them (ENETUNREACH)\n"
"  --name NAME           server name recorded with the context\n"
"  --memory BYTES        memory limit of the context's cgroup\n"
"  --pids N              process limit of the context's cgroup\n"
"  --cpu-weight N        CPU weight of the context's cgroup (1-10000)\n"
"  --cpu-max PCT         CPU limit, a percentage of one CPU\n"
"  --nice N              nice floor\n"
"  --rlimit RES=SOFT:HARD\n"
"                        a resource limit, e.g. nproc=1000:1000 (repeatable)\n"
"  --persist             PID 1 stays while the context has processes (sysv-rc\n"
"                        servers)\n"
"  --accounting          memory/pids/cpu cgroups even without limits\n"
"  --console FILE        the init's stdout/err (and /dev/console): a pipe\n"
"                        (FILE.pipe) this monitor reads into FILE; writers inside\n"
"                        never wait on it (a full pipe drops output; once the\n"
"                        monitor is gone the context drains it)\n"
"  --console-max BYTES   FILE's size limit (default 1048576): at the limit FILE\n"
"                        becomes FILE.1 (the one older part kept) and starts anew\n"
"  --reboot-socket PATH  serve vreboot/vhalt: PATH is bound as /dev/reboot\n"
"                        inside\n"
"  --on-reboot CMD       the host command (sh -c) a vreboot request runs, and\n"
"                        that runs once the context is released when its init\n"
"                        ended by reboot(2) RESTART (killed by SIGHUP)\n"
"  --on-halt CMD         the same for vhalt and for reboot(2) HALT or POWER_OFF\n"
"                        (killed by SIGINT).  SIGUSR1 to the monitor announces a\n"
"                        stop from the host: the init's end then runs neither\n"
"  --daemon              run the monitor in the background; print \"XID PID1\" on\n"
"                        stdout\n"
"  --status-fd N         with --daemon: also write one JSON line to descriptor N,\n"
"                        {\"xid\":X,\"pid1\":P} or {\"error\":{\"kind\":\"VCTX_ERR_...\",\n"
"                        \"errno\":E,\"code\":\"EEXIST\",\"message\":\"...\"}} (kinds:\n"
"                        FAILED, EXEC, RUNNING: a server of that name runs,\n"
"                        BUSY: the context number is in use)\n"
"  --pty                 with --ctx N: run CMD on a new pseudo-terminal of the\n"
"                        context\n"
"  --workdir DIR         working directory of CMD inside\n"
"\n"
"Environment:\n"
"  VCTX_INSTANCE=NAME    work in vctx instance NAME: its cgroup tree, eBPF pins\n"
"                        and XID range (docs/instances.md); unset: the default\n"
"\n"
"Exit status:\n"
"  CMD's status; 1 when the context cannot be made or entered; 2 on a usage\n"
"  error.\n",
	      out);
}

void __attribute__((noreturn)) usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	/* the argument on one line, whatever it holds */
	fprintf(stderr, fmt, vctx_shown(arg));
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(2);
}

static void __attribute__((noreturn)) fail(const vctx_error *e)
{
	fprintf(stderr, "%s: %s\n", prog, e->msg);
	exit(1);
}

static long parse_num(const char *s, const char *what, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		char buf[128];
		snprintf(buf, sizeof(buf), "invalid %s '%%s' (%ld..%ld)", what, lo, hi);
		usage_error(buf, s);
	}
	return v;
}

static uint32_t parse_ip(const char *s, const char *flag)
{
	struct in_addr a;
	uint32_t ip;

	if (inet_pton(AF_INET, s, &a) == 1)
		return a.s_addr;
	/* an interface name: its first IPv4 address (chbind --ip eth0) */
	if (vctx_ipv4_of_iface(s, &ip) == 1)
		return ip;
	char buf[96];
	snprintf(buf, sizeof(buf), "%s: '%%s' is neither an IPv4 address nor an interface with one", flag);
	usage_error(buf, s);
}

static void parse_ip6(const char *s, const char *flag, uint8_t out[16])
{
	char buf[96];

	if (inet_pton(AF_INET6, s, out) == 1)
		return;
	snprintf(buf, sizeof(buf), "%s: '%%s' is not an IPv6 address", flag);
	usage_error(buf, s);
}

static const struct { const char *name; int res; } rlimit_names[] = {
	{ "core", RLIMIT_CORE }, { "data", RLIMIT_DATA }, { "nice", RLIMIT_NICE },
	{ "fsize", RLIMIT_FSIZE }, { "sigpending", RLIMIT_SIGPENDING }, { "memlock", RLIMIT_MEMLOCK },
	{ "rss", RLIMIT_RSS }, { "nofile", RLIMIT_NOFILE }, { "msgqueue", RLIMIT_MSGQUEUE },
	{ "rtprio", RLIMIT_RTPRIO }, { "stack", RLIMIT_STACK }, { "cpu", RLIMIT_CPU },
	{ "nproc", RLIMIT_NPROC }, { "as", RLIMIT_AS }, { "locks", RLIMIT_LOCKS },
};

static rlim_t parse_rlim(const char *s, int *set, const char *arg)
{
	if (!*s || strcmp(s, "-") == 0) {
		*set = 0;
		return 0;
	}
	*set = 1;
	if (strcmp(s, "unlimited") == 0)
		return RLIM_INFINITY;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		usage_error("--rlimit: invalid value in '%s' (a number, unlimited or -)", arg);
	return (rlim_t)v;
}

static void add_rlimit(struct vctx_spec *spec, const char *arg)
{
	char name[32];
	const char *eq = strchr(arg, '='), *colon;
	if (!eq || eq - arg >= (long)sizeof(name))
		usage_error("--rlimit: expected RESOURCE=SOFT:HARD, got '%s'", arg);
	memcpy(name, arg, eq - arg);
	name[eq - arg] = 0;
	if (spec->n_rlimits >= VCTX_MAX_RLIMITS)
		usage_error("--rlimit: too many limits at '%s'", arg);
	struct vctx_rlimit *r = &spec->rlimits[spec->n_rlimits];
	r->resource = -1;
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			r->resource = rlimit_names[i].res;
	if (r->resource < 0)
		usage_error("--rlimit: unknown resource in '%s'", arg);
	char soft[64] = "", hard[64] = "";
	colon = strchr(eq + 1, ':');
	if (colon) {
		snprintf(soft, sizeof(soft), "%.*s", (int)(colon - eq - 1), eq + 1);
		snprintf(hard, sizeof(hard), "%s", colon + 1);
	} else {
		snprintf(soft, sizeof(soft), "%s", eq + 1);
		snprintf(hard, sizeof(hard), "%s", eq + 1);
	}
	r->soft = parse_rlim(soft, &r->set_soft, arg);
	r->hard = parse_rlim(hard, &r->set_hard, arg);
	spec->n_rlimits++;
}

/* ------------------------------------------------------------ main */

enum {
	O_CTX = 256, O_SECURE, O_CAP, O_HOST, O_DOMAIN, O_FLAG, O_SILENT, O_HELP, O_ROOT, O_IP,
	O_LOOP, O_NAME, O_MEM, O_PIDS, O_CPUW, O_CPUMAX, O_NICE, O_RLIM, O_PERSIST, O_ACCT,
	O_CONSOLE, O_REBOOT, O_ONREBOOT, O_ONHALT, O_DAEMON, O_PTY, O_WORKDIR, O_VERSION,
	O_STATUSFD, O_CONSOLEMAX,
	O_IP6, O_LOOP6, O_NAT,
};

static const struct option opts[] = {
	{ "ctx", required_argument, 0, O_CTX }, { "secure", no_argument, 0, O_SECURE },
	{ "cap", required_argument, 0, O_CAP }, { "hostname", required_argument, 0, O_HOST },
	{ "domainname", required_argument, 0, O_DOMAIN }, { "flag", required_argument, 0, O_FLAG },
	{ "silent", no_argument, 0, O_SILENT }, { "help", no_argument, 0, O_HELP },
	{ "root", required_argument, 0, O_ROOT }, { "ip", required_argument, 0, O_IP },
	{ "loopback", required_argument, 0, O_LOOP }, { "name", required_argument, 0, O_NAME },
	{ "memory", required_argument, 0, O_MEM }, { "pids", required_argument, 0, O_PIDS },
	{ "cpu-weight", required_argument, 0, O_CPUW }, { "cpu-max", required_argument, 0, O_CPUMAX },
	{ "nice", required_argument, 0, O_NICE }, { "rlimit", required_argument, 0, O_RLIM },
	{ "persist", no_argument, 0, O_PERSIST }, { "accounting", no_argument, 0, O_ACCT },
	{ "console", required_argument, 0, O_CONSOLE }, { "reboot-socket", required_argument, 0, O_REBOOT },
	{ "console-max", required_argument, 0, O_CONSOLEMAX },
	{ "on-reboot", required_argument, 0, O_ONREBOOT }, { "on-halt", required_argument, 0, O_ONHALT },
	{ "daemon", no_argument, 0, O_DAEMON }, { "pty", no_argument, 0, O_PTY },
	{ "workdir", required_argument, 0, O_WORKDIR }, { "version", no_argument, 0, O_VERSION },
	{ "status-fd", required_argument, 0, O_STATUSFD },
	{ "ip6", required_argument, 0, O_IP6 }, { "loopback6", required_argument, 0, O_LOOP6 },
	{ "nat", no_argument, 0, O_NAT },
	{ 0, 0, 0, 0 },
};

int main(int argc, char **argv)
{
	struct vctx_spec spec;
	vctx_error e = { 0 };
	int silent = 0, have_ctx = 0, daemon = 0, pty = 0, status_fd = -1, need_ip = 0, c;
	uint64_t add = 0, drop = 0;
	const char *reboot_sock = NULL, *on_reboot = NULL, *on_halt = NULL, *refused_arg = NULL;
	long long console_max = 0;
	long ctx = 0;

	if (vctx_instance_check(&e) < 0) {
		fprintf(stderr, "chcontext: %s\n", e.msg);
		return 2;
	}
	vctx_spec_init(&spec);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_CTX:
			ctx = parse_num(optarg, "context number", 0, VCTX_XID_DYN_MAX);
			have_ctx = 1;
			break;
		case O_SECURE:
			spec.secure = 1;
			break;
		case O_CAP:
			if (vctx_cap_arg(optarg, &add, &drop, &refused_arg) < 0)
				usage_error("--cap: unknown capability '%s'", optarg + (optarg[0] == '!'));
			break;
		case O_HOST:
			spec.hostname = optarg;
			break;
		case O_DOMAIN:
			spec.domainname = optarg;
			break;
		case O_FLAG: {
			char tmp[128], *save = NULL;
			snprintf(tmp, sizeof(tmp), "%s", optarg);
			for (char *t = strtok_r(tmp, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
				unsigned f = vctx_flag_from_name(t);
				if (!f)
					usage_error("--flag: unknown flag '%s' (" VCTX_FLAG_WORDS ")", t);
				spec.flags |= f;
			}
			break;
		}
		case O_SILENT:
			silent = 1;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		case O_VERSION:
			puts("chcontext (vctx) " VCTX_VERSION);
			return 0;
		case O_ROOT:
			spec.root = optarg;
			break;
		case O_IP:
			spec.ipv4 = parse_ip(optarg, "--ip");
			if (vctx_ipv4_is_local(spec.ipv4) != 1) {
				fprintf(stderr, "%s: --ip %s is not a local address (it is on no interface)\n", prog, vctx_shown(optarg));
				return 1;
			}
			break;
		case O_LOOP:
			spec.loopback = parse_ip(optarg, "--loopback");
			if ((ntohl(spec.loopback) >> 24) != 127)
				usage_error("--loopback %s: must be in 127.0.0.0/8", optarg);
			break;
		case O_IP6:
			parse_ip6(optarg, "--ip6", spec.ipv6);
			if (IN6_IS_ADDR_LOOPBACK((struct in6_addr *)spec.ipv6) ||
			    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)spec.ipv6) ||
			    IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *)spec.ipv6) ||
			    IN6_IS_ADDR_MULTICAST((struct in6_addr *)spec.ipv6))
				usage_error("--ip6 %s: must be a unicast IPv6 address (not ::1, ::, ::ffff:a.b.c.d)", optarg);
			if (vctx_ipv6_is_local(spec.ipv6) != 1) {
				fprintf(stderr, "%s: --ip6 %s is not a local address (it is on no interface)\n", prog, vctx_shown(optarg));
				return 1;
			}
			need_ip = 1;
			break;
		case O_LOOP6: {
			static const uint8_t pfx[12] = { 0xfd, 0x76, 0x63, 0x74, 0x78 };
			parse_ip6(optarg, "--loopback6", spec.loopback6);
			if (memcmp(spec.loopback6, pfx, sizeof(pfx)) || !memcmp(spec.loopback6 + 12, pfx + 8, 4))
				usage_error("--loopback6 %s: must be in fd76:6374:7800::/96 (and not the prefix itself)", optarg);
			need_ip = 1;
			break;
		}
		case O_NAT:
			spec.nat = 1;
			need_ip = 1;
			break;
		case O_NAME:
			spec.name = optarg;
			break;
		case O_MEM:
			spec.memory_max = parse_num(optarg, "memory limit", 1, 0x7fffffffffffffffL);
			break;
		case O_PIDS:
			spec.pids_max = parse_num(optarg, "process limit", 1, 4194304);
			break;
		case O_CPUW:
			spec.cpu_weight = (int)parse_num(optarg, "CPU weight", 1, 10000);
			break;
		case O_CPUMAX:
			spec.cpu_max_pct = (int)parse_num(optarg, "CPU limit (percent of one CPU)", 1, 100000);
			break;
		case O_NICE:
			spec.nice = (int)parse_num(optarg, "nice", -20, 19);
			spec.has_nice = 1;
			break;
		case O_RLIM:
			add_rlimit(&spec, optarg);
			break;
		case O_PERSIST:
			spec.persist = 1;
			break;
		case O_ACCT:
			spec.accounting = 1;
			break;
		case O_CONSOLE:
			spec.console = optarg;
			break;
		case O_CONSOLEMAX:
			console_max = parse_num(optarg, "console size limit", 4096, 0x7fffffffffffffffL);
			break;
		case O_REBOOT:
			reboot_sock = optarg;
			break;
		case O_ONREBOOT:
			on_reboot = optarg;
			break;
		case O_ONHALT:
			on_halt = optarg;
			break;
		case O_DAEMON:
			daemon = 1;
			break;
		case O_PTY:
			pty = 1;
			break;
		case O_WORKDIR:
			spec.workdir = optarg;
			break;
		case O_STATUSFD:
			status_fd = (int)parse_num(optarg, "--status-fd descriptor", 3, 1023);
			if (fcntl(status_fd, F_GETFD) < 0)
				usage_error("--status-fd %s: no such open descriptor", optarg);
			break;
		default:
			/* getopt's own message would name the binary's path */
			usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("%s", "no command given");
	/* CONTRACT.md "Capabilities of a server": --secure never keeps a refused one */
	if (spec.secure && refused_arg) {
		vctx_caps_check_server(1ULL << vctx_cap_from_name(refused_arg), &e);
		fprintf(stderr, "%s: --cap %s: %s\n", prog, vctx_shown(refused_arg), e.msg);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "%s: must be run as root\n", prog);
		return 1;
	}
	char **cmd = argv + optind;

	/* a number names a context of the whole host: inside a context it would
	   join or claim one outside it (or silently mean the context itself) */
	if (have_ctx) {
		uint32_t me = 0;
		if (vctx_xid_of_pid(0, &me, &e) < 0)
			fail(&e);
		if (me != VCTX_XID_HOST) {
			fprintf(stderr, "%s: --ctx %ld is only for the host (context 0); this process is in context %u\n",
				prog, ctx, me);
			return 1;
		}
	}

	/* the spectator: see everything, signal nothing outside */
	if (have_ctx && ctx == VCTX_XID_SPECTATOR) {
		if (vctx_spectate(0, &e) < 0)
			fail(&e);
		execvp(cmd[0], cmd);
		fprintf(stderr, "%s: cannot execute %s: %s\n", prog, vctx_shown(cmd[0]), strerror(errno));
		return 127;
	}
	if (have_ctx && ctx == VCTX_XID_HOST)
		usage_error("--ctx %s: context 0 is the host; run the command directly", "0");
	/* options that only make sense for a new context: --ctx N then means
	   "create N", and a running N is an error, never entered */
	int creating = spec.root || spec.name || daemon || spec.ipv4 || spec.memory_max || spec.pids_max ||
		       spec.cpu_weight || spec.cpu_max_pct || spec.console || reboot_sock || spec.persist ||
		       spec.accounting || spec.flags || spec.secure || spec.hostname || spec.domainname ||
		       spec.has_nice || spec.n_rlimits || add || drop;
	/* an existing context: enter it */
	if (have_ctx && !creating) {
		struct vctx_info info;
		if (vctx_info_get((uint32_t)ctx, &info, &e) == 0)
			return do_enter((uint32_t)ctx, cmd, pty, spec.workdir);
		if (ctx < VCTX_XID_STATIC_MIN)
			usage_error("--ctx %s: out of range", argv[optind - 1]);
	}
	if (have_ctx) {
		if (ctx < VCTX_XID_STATIC_MIN)
			usage_error("--ctx %s: out of range for a new context (2..65535)", argv[optind - 1]);
		spec.xid = (uint32_t)ctx;
	}
	if (pty)
		usage_error("%s", "--pty needs --ctx N of a running context");
	if (spec.secure || add || drop) {
		spec.keep_caps = 0;
		spec.caps = (spec.secure ? vctx_caps_server_default() : ~0ULL) | add;
		spec.caps &= ~drop;
	}
	if (need_ip && !spec.ipv4)
		usage_error("%s", "--ip6, --loopback6 and --nat need --ip");
	if (spec.ipv4 && !spec.loopback && spec.root)
		spec.loopback = 0; /* set by the caller: vserver passes --loopback */


	if (status_fd >= 0 && !daemon)
		usage_error("%s", "--status-fd needs --daemon");
	if (console_max && !spec.console)
		usage_error("%s", "--console-max needs --console");
	struct create_opts co = { .daemon = daemon, .silent = silent, .status_fd = status_fd, .reboot_sock = reboot_sock,
				  .on_reboot = on_reboot, .on_halt = on_halt,
				  .console_max = console_max ? console_max : CONSOLE_MAX_DEFAULT };
	return create_and_monitor(&spec, cmd, &co);
}
