// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * chbind - run a command locked to one IPv4 address (Linux-VServer's
 * set_ipv4root), with every process it starts.
 *
 *   chbind --ip IP|IFACE [--loopback IP] [--silent] [--] CMD [ARG...]
 *
 * It makes a cgroup for the command (a child "bind-<pid>" of the caller's
 * cgroup when that is inside vctx/, else <cgroup2>/vctx/bind-<pid>), locks
 * it with vctx_ipv4root_attach() before anything runs in it, and forks: the
 * child joins the cgroup and execs CMD; the parent forwards SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT, waits, removes the cgroup and its lock record, and
 * exits with CMD's status (128+N when killed by signal N).  When CMD left
 * processes behind (a daemon it started), the cgroup is removed by a small
 * detached helper once the last of them exits.
 *
 * Exit status: 2 on usage errors, 1 when the lock cannot be set.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/capability.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "vctx-version.h"

static const char usage_text[] =
"Usage: chbind --ip IP|IFACE [--loopback IP] [--silent] [--] CMD [ARG...]\n"
"Run a command locked to one IPv4 address.\n"
"\n"
"CMD, and every process it starts, is locked to IP:\n"
"  - bind() to 0.0.0.0 binds to IP; binding any other local address fails\n"
"    with EPERM;\n"
"  - outgoing connections and datagrams leave from IP (from a 127.x IP,\n"
"    destinations off the host's loopback are unreachable: ENETUNREACH);\n"
"  - sockets that never call bind() (listen(), sendto()) only see traffic\n"
"    to and from IP;\n"
"  - IPv6 sockets cannot be created (EAFNOSUPPORT, as on an IPv4-only host),\n"
"    so dual-stack programs fall back to IPv4.\n"
"The lock is one-shot: chbind run by a locked process refuses.\n"
"\n"
"Options:\n"
"  --ip IP|IFACE   the address, or the first IPv4 address of interface\n"
"                  IFACE; it must be local (on an interface, or in\n"
"                  127.0.0.0/8)\n"
"  --loopback IP   (extension) map 127.0.0.0/8 to IP, an address in\n"
"                  127.0.0.0/8: binds to \"localhost\" go to IP instead, and\n"
"                  connects and datagrams to it reach CMD's own listeners\n"
"                  only (at IP, else at the --ip address; nothing there:\n"
"                  ECONNREFUSED) and read back as 127.0.0.1, so CMD has a\n"
"                  localhost of its own and the host's loopback services are\n"
"                  out of its reach (what virtual servers get, with\n"
"                  127.128.hi.lo from their XID).  The addresses of virtual\n"
"                  servers and other chbinds stay reachable as they are\n"
"  --silent        do not print \"ipv4root is now IP\"\n"
"  --help          display this help and exit\n"
"  --version       output version information and exit\n"
"\n"
"The lock is eBPF programs attached to a cgroup made for CMD\n"
"(<cgroup2>/vctx/bind-PID, removed when the last locked process exits).\n"
"Nothing without CAP_SYS_ADMIN or CAP_BPF can undo it, and no process of a\n"
"virtual server has either.  Host root outside a server can: by moving a\n"
"process out of that cgroup, or by detaching the programs from it.\n"
"\n"
"Environment:\n"
"  VCTX_INSTANCE=NAME    work in vctx instance NAME: its cgroup tree, eBPF pins\n"
"                        and XID range (docs/instances.md); unset: the default\n"
"\n"
"Exit status:\n"
"  CMD's (128+N when it was killed by signal N); 1 when the lock cannot be set\n"
"  or CMD cannot be started (126/127 when CMD cannot be run); 2 for usage\n"
"  errors.\n";

static __attribute__((format(printf, 1, 2), noreturn)) void usage_error(const char *fmt, ...)
{
	va_list ap;
	char msg[2048];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one line, whatever the arguments in it hold */
	fprintf(stderr, "chbind: %s (see chbind --help)\n", vctx_shown(msg));
	exit(2);
}

static __attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("chbind: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int in_loopback_net(uint32_t a)
{
	return (ntohl(a) >> 24) == 127;
}

/* dotted quad or interface name -> address (nbo); exits on bad input */
static uint32_t resolve_ip(const char *opt, const char *s, int allow_iface)
{
	struct in_addr a;
	uint32_t found = 0;

	if (inet_pton(AF_INET, s, &a) == 1)
		return a.s_addr;
	if (!allow_iface || !*s || strspn(s, "0123456789.") == strlen(s))
		usage_error("%s: malformed IPv4 address '%s'", opt, s);
	if (strlen(s) >= IF_NAMESIZE || if_nametoindex(s) == 0)
		usage_error("%s: '%s' is neither an IPv4 address nor a network interface", opt, s);
	switch (vctx_ipv4_of_iface(s, &found)) {
	case -1:
		fail("cannot list the addresses of %s: %s", s, strerror(errno));
		exit(1);
	case 0:
		fail("interface %s has no IPv4 address", s);
		exit(1);
	}
	return found;
}

/* "populated 0" in the cgroup's cgroup.events? */
static int cgroup_empty(int evfd)
{
	char buf[256];
	ssize_t n = pread(evfd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -1;
	buf[n] = 0;
	return strstr(buf, "populated 0") != NULL;
}

/*
 * Remove an empty cgroup and the (empty) cgroups CMD made below it, and
 * forget their lock records.  0, or -1 with errno (EBUSY: still in use).
 */
static int remove_tree(int dirfd, const char *name, int depth)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t id;
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	id = vctx_cgroup_id(fd);
	if (depth < 64 && (d = fdopendir(dup(fd)))) {
		while ((de = readdir(d)))
			if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_tree(fd, de->d_name, depth + 1);
		closedir(d);
	}
	close(fd);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -1;
	vctx_ipv4root_forget(id, NULL);
	return 0;
}

/* remove the lock's cgroup if nothing runs in it (or below) any more */
static int remove_cgroup(int cgfd, const char *path)
{
	int ev = openat(cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	int empty = ev >= 0 ? cgroup_empty(ev) : -1;

	if (ev >= 0)
		close(ev);
	if (empty == 0) {
		errno = EBUSY;
		return -1;
	}
	return remove_tree(AT_FDCWD, path, 0);
}

/*
 * CMD left processes in the cgroup (a daemon): hand the removal to a
 * detached helper that waits for the cgroup to empty.
 */
static void remove_cgroup_later(int cgfd, const char *path)
{
	pid_t p = fork();

	if (p < 0) {
		fail("processes remain in %s; remove it when they are gone", path);
		return;
	}
	if (p > 0) {
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (chdir("/") < 0)
		_exit(1);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int ev = openat(cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (ev < 0)
		_exit(1);
	for (;;) {
		struct pollfd pfd = { .fd = ev, .events = POLLPRI };
		int e = cgroup_empty(ev);

		if (e < 0)
			_exit(1);
		if (e == 1 && remove_tree(AT_FDCWD, path, 0) == 0)
			_exit(0);
		/* woken when cgroup.events changes; re-check now and then anyway */
		poll(&pfd, 1, 60000);
	}
}

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig, siginfo_t *si, void *uc)
{
	pid_t c = child_pid;

	(void)uc;
	if (c <= 0)
		return;
	/* from the terminal: the child, in our process group, got it too */
	if (si && si->si_code == SI_KERNEL && getpgid(c) == getpgrp())
		return;
	kill(c, sig);
}

struct child_report {
	int stage;			/* 1: joining the cgroup, 2: exec */
	int err;
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip",       required_argument, NULL, 'i' },
		{ "loopback", required_argument, NULL, 'l' },
		{ "silent",   no_argument,       NULL, 's' },
		{ "help",     no_argument,       NULL, 'h' },
		{ "version",  no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	const char *ip_arg = NULL, *lo_arg = NULL;
	uint32_t ip, lo = 0;
	vctx_error ie = { 0 };

	if (vctx_instance_check(&ie) < 0) {
		fprintf(stderr, "chbind: %s\n", ie.msg);
		return 2;
	}
	int silent = 0, c;
	char mnt[PATH_MAX], own[PATH_MAX], parent[PATH_MAX], path[PATH_MAX + 32];
	char ipstr[INET_ADDRSTRLEN];
	struct vctx_capsets caps;
	vctx_error err = { 0 };

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (ip_arg)
				usage_error("--ip given twice (the lock is one address)");
			ip_arg = optarg;
			break;
		case 'l':
			lo_arg = optarg;
			break;
		case 's':
			silent = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			puts("chbind (vctx) " VCTX_VERSION);
			return 0;
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!ip_arg)
		usage_error("--ip IP|IFACE is required");
	if (optind >= argc)
		usage_error("no command given");

	ip = resolve_ip("--ip", ip_arg, 1);
	if (ip == 0 || ip == 0xffffffffu || (ntohl(ip) >> 28) == 0xe)
		usage_error("--ip: %s is not a unicast address", ip_arg);
	if (lo_arg) {
		lo = resolve_ip("--loopback", lo_arg, 0);
		if (!in_loopback_net(lo))
			usage_error("--loopback: %s is not in 127.0.0.0/8", lo_arg);
	}
	inet_ntop(AF_INET, &ip, ipstr, sizeof(ipstr));

	if (geteuid() != 0) {
		fail("must be run as root (it attaches eBPF programs to a cgroup)");
		return 1;
	}
	if (vctx_caps_of_pid(0, &caps, &err) == 0 &&
	    !(caps.eff & (1ull << CAP_SYS_ADMIN)) && !(caps.eff & (1ull << CAP_BPF))) {
		fail("needs CAP_SYS_ADMIN or CAP_BPF to set a lock (processes of a virtual server have neither)");
		return 1;
	}
	switch (vctx_ipv4_is_local(ip)) {
	case -1:
		fail("cannot list the local addresses: %s", strerror(errno));
		return 1;
	case 0:
		fail("%s is not a local address (it is on no interface)", ipstr);
		return 1;
	}

	/* the cgroup: under the caller's when that is a context's (so a lock
	   inside a locked context is refused and the XID stays), else vctx/ */
	const struct vctx_cgroup_layout *layout = vctx_cgroup_layout(&err);
	if (!layout) {
		fail("%s", err.msg);
		return 1;
	}
	snprintf(mnt, sizeof(mnt), "%s", layout->v2);
	if (vctx_cgroup_self(own, sizeof(own), &err) < 0) {
		fail("%s", err.msg);
		return 1;
	}
	{
		char top[PATH_MAX + 320];
		snprintf(top, sizeof(top), "%s/%s/", mnt, vctx_cgroup_root());
		int n = !strncmp(own, top, strlen(top)) ? snprintf(parent, sizeof(parent), "%s", own)
			: snprintf(parent, sizeof(parent), "%s/%s", mnt, vctx_cgroup_root());
		if (n < 0 || (size_t)n >= sizeof(parent)) {	/* a cut path names another cgroup */
			fail("the cgroup path below %s is too long", mnt);
			return 1;
		}
	}
	if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
		fail("cannot create the cgroup %s: %s", parent, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bind-%d", parent, (int)getpid());
	if (mkdir(path, 0755) < 0) {
		int old = -1;
		uint64_t old_id = 0;

		if (errno != EEXIST) {
			fail("cannot create the cgroup %s: %s", path, strerror(errno));
			return 1;
		}
		/* left by a chbind that had our PID and was killed */
		old = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (old >= 0) {
			old_id = vctx_cgroup_id(old);
			close(old);
		}
		if (rmdir(path) < 0) {
			fail("the cgroup %s exists and is in use", path);
			return 1;
		}
		if (old_id)
			vctx_ipv4root_forget(old_id, NULL);
		if (mkdir(path, 0755) < 0) {
			fail("cannot create the cgroup %s: %s", path, strerror(errno));
			return 1;
		}
	}
	int cgfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		fail("cannot open the cgroup %s: %s", path, strerror(errno));
		rmdir(path);
		return 1;
	}

	if (vctx_ipv4root_attach(cgfd, ip, lo, &err) < 0) {
		fail("%s", err.msg);
		rmdir(path);
		return 1;
	}
	if (!silent)
		fprintf(stderr, "ipv4root is now %s\n", ipstr);

	/* signals are handled from before the fork, so none is lost */
	sigset_t fwd, old;
	struct sigaction sa = { .sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&fwd);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&fwd, forwarded[i]);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);

	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		fail("cannot create a pipe: %s", strerror(errno));
		remove_cgroup(cgfd, path);
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fail("cannot fork: %s", strerror(errno));
		remove_cgroup(cgfd, path);
		return 1;
	}
	if (pid == 0) {
		struct child_report r = { 1, 0 };
		int fd = openat(cgfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);

		close(rep[0]);
		if (fd < 0 || write(fd, "0", 1) != 1) {
			r.err = errno;
			if (write(rep[1], &r, sizeof(r)) < 0)
				_exit(1);
			_exit(1);
		}
		close(fd);
		for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
			signal(forwarded[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[optind], argv + optind);
		r.stage = 2;
		r.err = errno;
		if (write(rep[1], &r, sizeof(r)) < 0)
			_exit(127);
		_exit(127);
	}
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(rep[1]);

	struct child_report r;
	ssize_t n;
	while ((n = read(rep[0], &r, sizeof(r))) < 0 && errno == EINTR)
		;
	close(rep[0]);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fail("cannot wait for %s: %s", argv[optind], strerror(errno));
			status = 1 << 8;
			break;
		}
	}
	child_pid = 0;

	int code;
	if (n == (ssize_t)sizeof(r)) {
		if (r.stage == 1) {
			fail("cannot move into the cgroup %s: %s", path, strerror(r.err));
			code = 1;
		} else {
			fail("cannot run %s: %s", argv[optind], strerror(r.err));
			code = r.err == ENOENT ? 127 : 126;
		}
	} else if (WIFSIGNALED(status)) {
		code = 128 + WTERMSIG(status);
	} else {
		code = WEXITSTATUS(status);
	}

	if (remove_cgroup(cgfd, path) < 0) {
		if (errno == EBUSY)	/* CMD left processes: a daemon */
			remove_cgroup_later(cgfd, path);
		else
			fail("cannot remove the cgroup %s: %s", path, strerror(errno));
	}
	close(cgfd);
	return code;
}
