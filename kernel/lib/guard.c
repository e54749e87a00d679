// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The guard: a service inside every context (its PID 1 reaper, or a small
 * process beside a fake init) that forks processes entering the context.
 * Forked from inside, they share everything the context has - namespaces,
 * cgroup, root, capability ceiling, rlimits, seccomp filter, the very
 * Landlock domain and the IPv4 lock - which joining from outside cannot
 * give (a Landlock domain cannot be joined).
 *
 * Protocol on a SOCK_SEQPACKET unix socket, /run/vctx/guard/XID.sock
 * (root-only, bound on the host before the context pivots away):
 *   host -> guard: struct guard_req + strings (cwd, argv..., envp...)
 *                  with stdin/out/err in SCM_RIGHTS (none for a pty)
 *   child -> host: GUARD_CREDS with SCM_CREDENTIALS (the kernel turns its
 *                  PID into the host's PID) just before exec
 *   guard -> host: GUARD_STARTED (+ pty master in SCM_RIGHTS), then
 *                  GUARD_EXITED with the wait status; GUARD_ERROR on failure
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include "internal.h"

#define GUARD_MAGIC	0x76637478u
#define GUARD_MAXREQ	65536
#define GUARD_PTY	1u

enum { GUARD_STARTED = 1, GUARD_EXITED = 2, GUARD_ERROR = 3, GUARD_CREDS = 4 };

struct guard_req {
	uint32_t magic, flags, uid, gid, argc, envc, len;
};

struct guard_msg {
	int32_t kind;
	int32_t value;		/* inner pid, wait status or errno */
	char text[240];
};

#define MAXCONN 64
static struct { int conn; pid_t pid; } slots[MAXCONN];
static int nslots;

/* the console pipe's read end and the monitor's pidfd (context.c) */
static int console_keep = -1, console_monitor = -1;

void vctx_console_keeper(int keep, int monfd)
{
	console_keep = keep;
	console_monitor = monfd;
}

void vctx_guard_path(uint32_t xid, char *path, size_t len)
{
	snprintf(path, len, "%s/guard/%u.sock", vctx_rundir(), xid);
}

/**
 * vctx_guard_listen - bind the context's guard socket on the host.
 */
int vctx_guard_listen(uint32_t xid, char *path, size_t len, vctx_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	char dir[320];
	if (vctx_instance_check(err) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/guard", vctx_rundir());
	if (vctx_mkdir_p(dir, 0700) < 0)
		return vctx_set_error(err, errno, "cannot create %s: %s", dir, strerror(errno));
	vctx_guard_path(xid, path, len);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vctx_set_error(err, errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return vctx_set_error(err, e, "cannot listen on %s: %s", path, strerror(e));
	}
	return fd;
}

/* attach @n descriptors to @mh (SCM_RIGHTS), in @cbuf of CMSG_SPACE(n ints) */
static void attach_fds(struct msghdr *mh, char *cbuf, size_t cbuf_len, const int *fds, int n)
{
	memset(cbuf, 0, cbuf_len);
	mh->msg_control = cbuf;
	mh->msg_controllen = cbuf_len;
	struct cmsghdr *c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
}

static void send_msg(int conn, int kind, int value, const char *text, int fd)
{
	struct guard_msg m = { .kind = kind, .value = value };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	if (fd >= 0)
		attach_fds(&mh, cbuf, sizeof(cbuf), &fd, 1);
	sendmsg(conn, &mh, MSG_NOSIGNAL);
}

int vctx_guard_accept(int lfd)
{
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return -1;
	if (nslots >= MAXCONN) {
		send_msg(conn, GUARD_ERROR, EAGAIN, "too many processes entering at once", -1);
		close(conn);
		return -1;
	}
	slots[nslots].conn = conn;
	slots[nslots].pid = 0;
	nslots++;
	return conn;
}

void vctx_guard_forget_conn(int conn)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].conn == conn) {
			close(conn);
			slots[i] = slots[--nslots];
			return;
		}
}

static void child_fail(int conn, const char *what, int e)
{
	char t[200];
	snprintf(t, sizeof(t), "%s: %s", what, strerror(e));
	send_msg(conn, GUARD_ERROR, e, t, -1);
	_exit(127);
}

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "TERM=xterm", "SHELL=/bin/sh", "USER=root", "LOGNAME=root", NULL,
};

/* the child between fork and exec: set up stdio, identity, report, exec */
static void __attribute__((noreturn))
exec_child(int conn, const struct guard_req *rq, char *cwd, char **argv, char **envp,
	   int fds[3], int pty_slave_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (pty_slave_fd >= 0) {
		if (setsid() < 0)
			child_fail(conn, "setsid", errno);
		if (ioctl(pty_slave_fd, TIOCSCTTY, 0) < 0)
			child_fail(conn, "cannot take the pty as controlling terminal", errno);
		for (int i = 0; i < 3; i++)
			dup2(pty_slave_fd, i);
		if (pty_slave_fd > 2)
			close(pty_slave_fd);
	} else {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int i = 0; i < 3; i++) {
			int src = fds[i] >= 0 ? fds[i] : nul;
			if (src >= 0 && dup2(src, i) < 0)
				child_fail(conn, "dup2", errno);
		}
	}
	if (rq->gid && (setgroups(0, NULL) < 0 || setgid(rq->gid) < 0))
		child_fail(conn, "setgid", errno);
	if (rq->uid && setuid(rq->uid) < 0)
		child_fail(conn, "setuid", errno);
	if (chdir(cwd[0] ? cwd : "/") < 0 && chdir("/") < 0)
		child_fail(conn, "chdir", errno);
	/* tell the host our PID: the kernel translates it into the host's view */
	{
		struct guard_msg m = { .kind = GUARD_CREDS };
		struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
		char cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct ucred cr = { .pid = getpid(), .uid = getuid(), .gid = getgid() };
		memset(cbuf, 0, sizeof(cbuf));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(cr));
		memcpy(CMSG_DATA(c), &cr, sizeof(cr));
		m.value = getpid();
		sendmsg(conn, &mh, MSG_NOSIGNAL);
	}
	execvpe(argv[0], argv, envp[0] ? envp : (char **)default_env);
	child_fail(conn, argv[0], errno);
	_exit(127);
}

static void close3(int (*fds)[3])
{
	for (int i = 0; i < 3; i++)
		if ((*fds)[i] >= 0)
			close((*fds)[i]);
}

/**
 * vctx_guard_serve - read one request on @conn and fork its process.
 * Returns 0 when the connection stays (process running), -1 when closed.
 * The descriptors passed with the request (stdin/out/err of the process)
 * and the pty are the child's: this side closes them on every path.
 */
int vctx_guard_serve(int conn)
{
	char *buf cleanup_free = malloc(GUARD_MAXREQ);
	char **argv cleanup_free = NULL, **envp cleanup_free = NULL;
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = GUARD_MAXREQ };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fds[3] __attribute__((cleanup(close3))) = { -1, -1, -1 };
	int master cleanup_fd = -1, slave cleanup_fd = -1;
	struct guard_req rq;
	ssize_t n;
	pid_t pid;

	if (!buf)
		goto close_conn;
	n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0, slot = 0; i < k; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			while (slot < 3 && fds[slot] >= 0)
				slot++;
			if (slot < 3)
				fds[slot++] = got;
			else
				close(got);
		}
	}
	if (n < (ssize_t)sizeof(rq))
		goto close_conn;
	memcpy(&rq, buf, sizeof(rq));
	if (rq.magic != GUARD_MAGIC || rq.len != n - sizeof(rq) || rq.argc < 1 || rq.argc > 4096 || rq.envc > 4096) {
		send_msg(conn, GUARD_ERROR, EINVAL, "malformed request", -1);
		goto close_conn;
	}
	/* strings: cwd, argv[argc], envp[envc], each NUL-terminated */
	char *p = buf + sizeof(rq), *end = buf + n, *cwd = p;
	unsigned k = 0;
	argv = calloc(rq.argc + 1, sizeof(char *));
	envp = calloc(rq.envc + 1, sizeof(char *));
	if (!argv || !envp)
		goto close_conn;
	for (p += strnlen(p, end - p) + 1; p < end && k < rq.argc + rq.envc; k++) {
		if (k < rq.argc)
			argv[k] = p;
		else
			envp[k - rq.argc] = p;
		p += strnlen(p, end - p) + 1;
	}
	if (k != rq.argc + rq.envc || end[-1] != 0) {
		send_msg(conn, GUARD_ERROR, EINVAL, "malformed request", -1);
		goto close_conn;
	}
	if (rq.flags & GUARD_PTY) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
			send_msg(conn, GUARD_ERROR, errno, "cannot allocate a pseudo-terminal in the context", -1);
			goto close_conn;
		}
		slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0) {
			send_msg(conn, GUARD_ERROR, errno, "cannot open the pseudo-terminal", -1);
			goto close_conn;
		}
	}
	pid = fork();
	if (pid == 0) {
		if (master >= 0)
			close(master);
		exec_child(conn, &rq, cwd, argv, envp, fds, slave);
	}
	if (pid < 0) {
		send_msg(conn, GUARD_ERROR, errno, "fork failed", -1);
		goto close_conn;
	}
	for (int i = 0; i < nslots; i++)
		if (slots[i].conn == conn)
			slots[i].pid = pid;
	/* the child has them now: close ours before the host hears it started */
	close3(&fds);
	fds[0] = fds[1] = fds[2] = -1;
	if (slave >= 0)
		close(slave);
	slave = -1;
	send_msg(conn, GUARD_STARTED, pid, NULL, master);
	return 0;
close_conn:
	vctx_guard_forget_conn(conn);
	return -1;
}

void vctx_guard_child_exited(pid_t pid, int status)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid == pid) {
			send_msg(slots[i].conn, GUARD_EXITED, status, NULL, -1);
			vctx_guard_forget_conn(slots[i].conn);
			return;
		}
}

/* the pollfd set of the guard: listen fd + connections */
static int guard_pollfds(int lfd, struct pollfd *pfd, int extra)
{
	int n = extra;
	/* while the monitor lives it reads the console; then we drain it */
	if (console_monitor >= 0)
		pfd[n++] = (struct pollfd){ .fd = console_monitor, .events = POLLIN };
	else if (console_keep >= 0)
		pfd[n++] = (struct pollfd){ .fd = console_keep, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (int i = 0; i < nslots; i++)
		pfd[n++] = (struct pollfd){ .fd = slots[i].conn, .events = POLLIN };
	return n;
}

static void guard_events(int lfd, struct pollfd *pfd, int from, int n)
{
	int conns[MAXCONN + 1], ncon = 0;
	for (int i = from; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == console_monitor) {
			/* the monitor is gone: nobody on the host reads the console now */
			close(console_monitor);
			console_monitor = -1;
			continue;
		}
		if (pfd[i].fd == console_keep) {
			char sink[4096];
			while (read(console_keep, sink, sizeof(sink)) > 0)
				;
			continue;
		}
		if (pfd[i].fd == lfd)
			vctx_guard_accept(lfd);
		else
			conns[ncon++] = pfd[i].fd;
	}
	for (int i = 0; i < ncon; i++) {
		int waiting = 0;
		for (int s = 0; s < nslots; s++)
			if (slots[s].conn == conns[i] && slots[s].pid == 0)
				waiting = 1;
		if (waiting)
			vctx_guard_serve(conns[i]);
		else {
			/* a running process's connection: the host went away (HUP) */
			char b[8];
			if (recv(conns[i], b, sizeof(b), MSG_DONTWAIT) == 0)
				for (int s = 0; s < nslots; s++)
					if (slots[s].conn == conns[i]) {
						close(slots[s].conn);
						slots[s].conn = -1;
						slots[s] = slots[--nslots];
						break;
					}
		}
	}
}

/**
 * vctx_reaper_loop - PID 1 of a context whose command is not an init:
 * reaps every orphan, serves the guard, forwards termination signals to
 * CMD and exits with CMD's status (or, with @persist, when the context has
 * no process left).
 */
/* show PID 1 as "vctx-init" in ps: overwrite our argv area in place */
static void set_title(const char *title)
{
	char buf[1024], *p;
	unsigned long start = 0, end = 0;

	if (vctx_read_file_at(AT_FDCWD, "/proc/self/stat", buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return;
	/* fields after comm: 3 is state; arg_start and arg_end are fields 48 and 49 */
	int field = 2;
	for (char *t = p + 1; *t && field < 49; t++)
		if (*t == ' ') {
			field++;
			if (field == 48)
				start = strtoul(t + 1, NULL, 10);
			else if (field == 49)
				end = strtoul(t + 1, NULL, 10);
		}
	if (!start || end <= start)
		return;
	size_t len = end - start;
	memset((void *)start, 0, len);
	memcpy((void *)start, title, strlen(title) < len - 1 ? strlen(title) : len - 1);
}

void __attribute__((noreturn)) vctx_reaper_loop(int lfd, pid_t cmd, int persist)
{
	sigset_t set;
	int sfd, cmd_status = 0, cmd_done = 0;
	struct pollfd pfd[MAXCONN + 3];

	sigemptyset(&set);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s < SIGRTMIN)
			sigaddset(&set, s);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	set_title("vctx-init");
	for (int first = 1;; first = 0) {
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN, .revents = 0 };
		int n = lfd >= 0 ? guard_pollfds(lfd, pfd, 1) : 1;
		/* the first round reaps without waiting: CMD may be gone already */
		if (!first && poll(pfd, n, -1) < 0 && errno != EINTR)
			continue;
		if (first || pfd[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				if (!cmd_done)
					kill(cmd, (int)si.ssi_signo);
				else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP)
					_exit(WIFEXITED(cmd_status) ? WEXITSTATUS(cmd_status) : 128 + WTERMSIG(cmd_status));
			}
			for (;;) {
				int st;
				pid_t p = waitpid(-1, &st, WNOHANG);
				if (p == 0)
					break;
				if (p < 0) {
					if (errno == ECHILD && cmd_done)
						_exit(WIFEXITED(cmd_status) ? WEXITSTATUS(cmd_status)
									    : 128 + WTERMSIG(cmd_status));
					break;
				}
				if (p == cmd) {
					cmd_done = 1;
					cmd_status = st;
				} else
					vctx_guard_child_exited(p, st);
			}
		}
		if (lfd >= 0 && !first)
			guard_events(lfd, pfd, 1, n);
		if (cmd_done && !persist)
			break;
	}
	/* CMD is gone: the context ends with it.  Entered processes that are
	   ending too (the one that killed CMD, say) get a moment to be reaped
	   and reported, so their callers see their status, not a broken pipe. */
	for (int i = 0; i < 30 && nslots > 0; i++) {
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			vctx_guard_child_exited(p, st);
		if (nslots > 0) {
			struct pollfd w = { .fd = sfd, .events = POLLIN };
			poll(&w, 1, 10);
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
		}
	}
	_exit(WIFEXITED(cmd_status) ? WEXITSTATUS(cmd_status) : 128 + WTERMSIG(cmd_status));
}

/**
 * vctx_guard_loop - the guard beside a fake init: serve and reap its own
 * children forever (it ends with the context).
 */
void __attribute__((noreturn)) vctx_guard_loop(int lfd)
{
	sigset_t set;
	int sfd;
	struct pollfd pfd[MAXCONN + 3];

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	set_title("vctx-guard");
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		int n = guard_pollfds(lfd, pfd, 1);
		if (poll(pfd, n, -1) < 0)
			continue;
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			int st;
			pid_t p;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0)
				vctx_guard_child_exited(p, st);
		}
		guard_events(lfd, pfd, 1, n);
	}
}

/* ------------------------------------------------------------ host side */

/*
 * One message; its descriptor (the pty master of GUARD_STARTED) into *@fd
 * when @fd is given and still -1; any other descriptor that came along is
 * closed here, so that none is left open in a long-lived caller.
 */
static int read_msg(int conn, struct guard_msg *m, int *fd, pid_t *cred_pid)
{
	char cbuf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	do
		n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int got;
				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fd && *fd < 0)
					*fd = got;
				else
					close(got);
			}
		} else if (c->cmsg_type == SCM_CREDENTIALS && cred_pid) {
			struct ucred cr;
			memcpy(&cr, CMSG_DATA(c), sizeof(cr));
			*cred_pid = cr.pid;
		}
	}
	return 1;
}

VCTX_API int vctx_enter(uint32_t xid, const struct vctx_exec *ex, pid_t *pid, int *conn_out,
			int *pty_master, vctx_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[108], flags[128];
	struct vctx_cg cg;
	size_t len = 0;
	int conn cleanup_fd = -1, master cleanup_fd = -1;
	int one = 1, started = 0;
	pid_t host_pid = 0;

	if (xid <= VCTX_XID_SPECTATOR)
		return vctx_set_error(err, EINVAL, "context %u cannot be entered this way%s", xid,
				      xid == 1 ? " (the spectator is joined, not entered)" : "");
	if (vctx_cg_open(xid, &cg, err) < 0)
		return -1;
	vctx_cg_getattr(cg.v2fd, VCTX_XATTR_FLAGS, flags, sizeof(flags));
	close(cg.v2fd);
	if (vctx_flags_parse(flags) & VCTX_F_PRIVATE)
		return vctx_set_error(err, EPERM, "context %u is private: nobody may enter it", xid);

	if (!ex->pty && vctx_check_stdio(ex->fds, err) < 0)
		return -1;
	/* the request */
	const char *cwd = ex->cwd ? ex->cwd : "/";
	unsigned argc = 0, envc = 0;
	len = strlen(cwd) + 1;
	for (; ex->argv && ex->argv[argc]; argc++)
		len += strlen(ex->argv[argc]) + 1;
	for (; ex->envp && ex->envp[envc]; envc++)
		len += strlen(ex->envp[envc]) + 1;
	if (!argc)
		return vctx_set_error(err, EINVAL, "no command to run");
	if (len + sizeof(struct guard_req) > GUARD_MAXREQ)
		return vctx_set_error(err, E2BIG, "command line and environment too long");
	char *buf cleanup_free = malloc(sizeof(struct guard_req) + len);
	if (!buf)
		return vctx_set_error(err, ENOMEM, "out of memory");
	struct guard_req rq = { .magic = GUARD_MAGIC, .flags = ex->pty ? GUARD_PTY : 0, .uid = ex->uid,
				.gid = ex->gid, .argc = argc, .envc = envc, .len = (uint32_t)len };
	memcpy(buf, &rq, sizeof(rq));
	char *p = buf + sizeof(rq);
	p = stpcpy(p, cwd) + 1;
	for (unsigned i = 0; i < argc; i++)
		p = stpcpy(p, ex->argv[i]) + 1;
	for (unsigned i = 0; i < envc; i++)
		p = stpcpy(p, ex->envp[i]) + 1;

	vctx_guard_path(xid, path, sizeof(path));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (conn < 0 || setsockopt(conn, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    connect(conn, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		return vctx_set_error(err, e, "cannot reach the guard of context %u (%s): %s", xid, path,
				      e == ENOENT || e == ECONNREFUSED ? "its guard process is gone" : strerror(e));
	}
	{
		char cbuf[CMSG_SPACE(3 * sizeof(int))];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(rq) + len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (!ex->pty) {
			int fds[3];
			for (int i = 0; i < 3; i++)
				fds[i] = ex->fds[i];
			int nul cleanup_fd = -1;
			for (int i = 0; i < 3; i++)
				if (fds[i] < 0) {
					if (nul < 0)
						nul = open("/dev/null", O_RDWR | O_CLOEXEC);
					fds[i] = nul;
				}
			attach_fds(&mh, cbuf, sizeof(cbuf), fds, 3);
			if (sendmsg(conn, &mh, MSG_NOSIGNAL) < 0)
				return vctx_set_error(err, errno, "cannot send the request to context %u: %s", xid, strerror(errno));
		} else if (sendmsg(conn, &mh, MSG_NOSIGNAL) < 0) {
			return vctx_set_error(err, errno, "cannot send the request to context %u: %s", xid, strerror(errno));
		}
	}
	if (pty_master)
		*pty_master = -1;
	/* wait for both GUARD_STARTED and GUARD_CREDS (either order); the pty
	   master is the caller's only on success */
	while (!started || !host_pid) {
		struct guard_msg m;
		int fd cleanup_fd = -1;
		pid_t cp = 0;
		int r = read_msg(conn, &m, &fd, &cp);
		if (r <= 0)
			return vctx_set_error(err, EPIPE, "the guard of context %u closed the connection", xid);
		if (m.kind == GUARD_ERROR) {
			m.text[sizeof(m.text) - 1] = 0;
			/* the guard could not start the command inside */
			return vctx_set_error_kind(err, VCTX_ERR_EXEC, m.value ? m.value : EIO,
						   "in context %u: %s", xid, m.text);
		}
		if (m.kind == GUARD_STARTED) {
			started = 1;
			if (fd >= 0 && pty_master && master < 0) {
				master = fd;
				fd = -1;
			}
		} else if (m.kind == GUARD_CREDS) {
			host_pid = cp;
		} else if (m.kind == GUARD_EXITED) {
			/* exited before we saw its credentials: it did start */
			started = 1;
			if (!host_pid)
				host_pid = -1;
		}
	}
	/* exec may still fail after CREDS: the next message says so (error, or exited 127) */
	*pid = host_pid;
	*conn_out = conn;
	conn = -1;
	if (pty_master) {
		*pty_master = master;
		master = -1;
	}
	return 0;
}

VCTX_API int vctx_enter_wait(int conn, int *status, vctx_error *err)
{
	for (;;) {
		struct guard_msg m;
		int r = read_msg(conn, &m, NULL, NULL);
		if (r <= 0) {
			close(conn);
			return vctx_set_error(err, EPIPE, "the context's guard went away before the process ended");
		}
		if (m.kind == GUARD_ERROR) {
			m.text[sizeof(m.text) - 1] = 0;
			close(conn);
			*status = 127 << 8;
			return vctx_set_error(err, m.value ? m.value : EIO, "%s", m.text);
		}
		if (m.kind == GUARD_EXITED) {
			*status = m.value;
			close(conn);
			return 0;
		}
	}
}
