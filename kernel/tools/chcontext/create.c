// SPDX-License-Identifier: GPL-2.0-or-later
/* chcontext: a new context and its monitor. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "vctx.h"
#include "chcontext.h"

/* what the monitor tells the --daemon caller: the context, or why not */
struct start_report {
	int ok;
	int kind;	/* enum vctx_err_kind */
	int err;
	uint32_t xid;
	pid_t pid1;
	char msg[sizeof(((vctx_error *)0)->msg)];
};

static const char *kind_name(int kind)
{
	switch (kind) {
	case VCTX_ERR_EXEC:
		return "VCTX_ERR_EXEC";
	case VCTX_ERR_RUNNING:
		return "VCTX_ERR_RUNNING";
	case VCTX_ERR_BUSY:
		return "VCTX_ERR_BUSY";
	default:
		return "VCTX_ERR_FAILED";
	}
}

/*
 * --status-fd: one JSON line, {"xid":N,"pid1":P} or {"error":{"kind":
 * "VCTX_ERR_...","errno":E,"code":"EEXIST","message":"..."}}, so that the
 * caller decides by the kind, never by the words of a message.
 */
static void write_status(int fd, const struct start_report *r)
{
	if (fd < 0)
		return;
	int dupfd = dup(fd);
	FILE *f = dupfd >= 0 ? fdopen(dupfd, "w") : NULL;
	if (!f) {
		if (dupfd >= 0)
			close(dupfd);
		return;
	}
	if (r->ok)
		fprintf(f, "{\"xid\":%u,\"pid1\":%d}\n", r->xid, (int)r->pid1);
	else {
		const char *code = r->err ? strerrorname_np(r->err) : NULL;
		fprintf(f, "{\"error\":{\"kind\":\"%s\",\"errno\":%d,\"code\":", kind_name(r->kind), r->err);
		vctx_json_string(f, code ? code : "");
		fputs(",\"message\":", f);
		vctx_json_string(f, r->msg);
		fputs("}}\n", f);
	}
	fclose(f);
}

/*
 * How the init ended, from its wait status: the kernel ends a PID
 * namespace's init with SIGHUP when a process in it calls reboot(2) with
 * RESTART/RESTART2, with SIGINT for HALT/POWER_OFF (reboot_pid_ns).
 */
static const char *init_end(int st)
{
	if (!WIFSIGNALED(st))
		return NULL;
	if (WTERMSIG(st) == SIGHUP)
		return "reboot";
	if (WTERMSIG(st) == SIGINT)
		return "halt";
	return NULL;
}

/*
 * The console (--console FILE): the context writes into a pipe, FILE.pipe,
 * and this monitor copies it into FILE, which never grows past @max bytes:
 * at the limit FILE becomes FILE.1 (replacing the older part) and starts
 * anew, so the server's console takes at most twice @max on the host.  The
 * pipe is opened read-write here: never an EOF while the context's writers
 * come and go.
 */
struct console_log {
	const char *path;
	char pipe[4096], old[4096];
	int rfd, fd, capped;
	long long size, max;
};

static int console_open(struct console_log *c, const char *path, long long max)
{
	struct stat st;

	c->path = path;
	c->max = max;
	c->rfd = c->fd = -1;
	c->capped = !vctx_weakened("console");
	if ((size_t)snprintf(c->pipe, sizeof(c->pipe), "%s.pipe", path) >= sizeof(c->pipe) ||
	    (size_t)snprintf(c->old, sizeof(c->old), "%s.1", path) >= sizeof(c->old)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(c->pipe) < 0 && errno != ENOENT)
		return -1;
	if (mkfifo(c->pipe, 0600) < 0)
		return -1;
	c->rfd = open(c->pipe, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	c->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (c->rfd < 0 || c->fd < 0 || fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = c->fd >= 0 && errno == 0 ? EINVAL : errno;
		if (c->rfd >= 0)
			close(c->rfd);
		if (c->fd >= 0)
			close(c->fd);
		unlink(c->pipe);
		errno = e ? e : EINVAL;
		return -1;
	}
	/* F_SETPIPE_SZ left alone: the kernel's 64 KiB, charged to no one's limit */
	c->size = st.st_size;
	return 0;
}

/* copy what the pipe holds into the log */
static void console_pump(struct console_log *c)
{
	static char buf[65536];
	size_t chunk = sizeof(buf);

	if (c->capped && (long long)chunk > c->max)
		chunk = (size_t)c->max;
	for (;;) {
		ssize_t n = read(c->rfd, buf, chunk);
		if (n <= 0)
			return;
		if (c->capped && c->size > 0 && c->size + n > c->max) {
			/* rotated once: the older part replaces FILE.1 */
			int fd = -1;
			if (rename(c->path, c->old) == 0)
				fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
			if (fd >= 0) {
				close(c->fd);
				c->fd = fd;
				c->size = 0;
			} else {
				continue;	/* cannot rotate: drop rather than grow */
			}
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c->fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				break;	/* a full /run: the output is lost, the server goes on */
			off += w;
			c->size += w;
		}
	}
}

static void console_close(struct console_log *c)
{
	console_pump(c);
	close(c->rfd);
	close(c->fd);
	unlink(c->pipe);
}

/*
 * A new context running @cmd, and this process its monitor: it forwards
 * termination signals, serves the reboot socket and reaps.  When the init
 * ends by reboot(2) (and no stop from the host announced itself with
 * SIGUSR1), the context is released and the on-reboot / on-halt command
 * runs.  Returns the exit code of chcontext.
 */
int create_and_monitor(struct vctx_spec *spec, char **cmd, const struct create_opts *o)
{
	const int daemon = o->daemon, silent = o->silent;
	const char *reboot_sock = o->reboot_sock, *on_reboot = o->on_reboot, *on_halt = o->on_halt;
	vctx_error e = { 0 };
	struct start_report rep = { 0 };

	int lfd = -1;
	if (reboot_sock) {
		lfd = reboot_listen(reboot_sock);
		spec->reboot_socket = reboot_sock;
	}
	int report[2] = { -1, -1 };
	if (daemon) {
		/* the monitor goes to the background; we report XID and PID 1 */
		if (pipe2(report, O_CLOEXEC) < 0) {
			perror("pipe");
			return 1;
		}
		pid_t p = fork();
		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p > 0) {
			close(report[1]);
			ssize_t n;
			do
				n = read(report[0], &rep, sizeof(rep));
			while (n < 0 && errno == EINTR);
			waitpid(p, NULL, WNOHANG);
			if (n != (ssize_t)sizeof(rep)) {
				memset(&rep, 0, sizeof(rep));
				rep.err = EPIPE;
				snprintf(rep.msg, sizeof(rep.msg), "the context monitor died while starting");
			}
			rep.msg[sizeof(rep.msg) - 1] = 0;
			write_status(o->status_fd, &rep);
			if (!rep.ok) {
				fprintf(stderr, "%s: %s\n", prog, rep.msg);
				return 1;
			}
			printf("%u %d\n", rep.xid, (int)rep.pid1);
			return 0;
		}
		close(report[0]);
		if (o->status_fd >= 0)
			close(o->status_fd);
		setsid();
		signal(SIGHUP, SIG_IGN);
		/* the monitor and the context keep none of the caller's stdio */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		close(nul);
	}
	struct vctx_handle h;
	struct console_log con = { .rfd = -1, .fd = -1 };
	signal(SIGPIPE, SIG_IGN);
	int created = -1;
	if (spec->console && console_open(&con, spec->console, o->console_max) < 0) {
		vctx_set_error(&e, errno, "cannot set up the console %s: %s", spec->console, strerror(errno));
	} else {
		if (spec->console)
			spec->console = con.pipe;
		created = vctx_create(spec, cmd, NULL, &h, &e);
		if (created < 0 && con.rfd >= 0)
			console_close(&con);
	}
	if (created < 0) {
		if (lfd >= 0)
			unlink(reboot_sock);
		if (daemon) {
			rep.kind = e.kind;
			rep.err = e.err;
			snprintf(rep.msg, sizeof(rep.msg), "%s", e.msg);
			if (write(report[1], &rep, sizeof(rep)) < 0) {
				/* the caller is gone */
			}
			_exit(1);
		}
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		/* CMD itself could not be executed: the shell's 127 / 126 */
		if (e.kind == VCTX_ERR_EXEC)
			return e.err == ENOENT ? 127 : 126;
		return 1;
	}
	if (daemon) {
		rep.ok = 1;
		rep.xid = h.xid;
		rep.pid1 = h.pid1;
		if (write(report[1], &rep, sizeof(rep)) < 0) {
			/* the caller is gone; the context runs on */
		}
		close(report[1]);
	} else if (!silent)
		fprintf(stderr, "New security context is %u\n", h.xid);

	/* the monitor: forward termination signals, serve vreboot, reap */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* SIGUSR1: a stop from the host is under way (vserver NAME stop): the
	   init's end is then its doing, not the server's request */
	sigaddset(&set, SIGUSR1);
	if (!daemon) {
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGQUIT);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int host_stop = 0;
	time_t last = 0;
	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = h.pidfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = lfd, .events = POLLIN },
			{ .fd = con.rfd, .events = POLLIN },
		};
		if (poll(pfd, 4, -1) < 0)
			continue;
		if (pfd[3].revents)
			console_pump(&con);
		/* signals first: a SIGUSR1 sent before the init ended counts */
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGUSR1)
				host_stop = 1;
			else if (si.ssi_signo != SIGINT && si.ssi_signo != SIGQUIT)
				syscall(SYS_pidfd_send_signal, h.pidfd, si.ssi_signo, NULL, 0);
		}
		if (pfd[0].revents)
			break;
		if (lfd >= 0 && pfd[2].revents)
			reboot_serve(lfd, on_reboot, on_halt, &last);
	}
	int st = 0;
	if (lfd >= 0) {
		close(lfd);
		unlink(reboot_sock);
	}
	if (con.rfd >= 0)
		console_close(&con);
	int released = vctx_wait(&h, &st, &e) == 0;
	if (!released && !daemon)
		fprintf(stderr, "%s: %s\n", prog, e.msg);
	/* the server rebooted or halted itself: the host restarts or stops it
	   (its address and records) once the context is gone */
	const char *end = init_end(st);
	if (end && released && !host_stop) {
		const char *what = strcmp(end, "reboot") == 0 ? on_reboot : on_halt;
		if (what)
			run_detached(what);
	}
	return status_code(st);
}
