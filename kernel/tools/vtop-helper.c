// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vtop-helper - the privileged side of vtop.
 *
 * vtop starts it (as root, in context 0) before confining itself to the
 * spectator context, with a socket as fd 3 and the vserver command line
 * after "--".  Every change vtop can make is one line on that socket, from
 * a fixed set, re-validated here:
 *
 *   ID kill PID STARTTIME SIGNAL            exactly the process vtop showed, a
 *                                           server's (context >= 2) unless vtop
 *                                           started this helper with --allow-host-kill;
 *                                           SIGNAL one of vtopSignals in
 *                                           kernel/tables/vctx-tables.json
 *   ID killctx XID SIGTERM|SIGKILL          every process of a context
 *   ID start|stop|restart|enter NAME        a configured server
 *
 * and answered with one line, "ID ok MESSAGE" or "ID err MESSAGE" (control
 * characters escaped); "ready" is the first line written.  Kills are done
 * here with libvctx (pidfd + start time: never a reused PID) and logged;
 * the server verbs run `vserver NAME VERB` (the CLI itself, which logs
 * them), which reports its outcome as one JSON line on a status pipe
 * (VCTX_STATUS_FD, src/cli/common.ts runMain), never as words on stderr;
 * a refused request is logged too.  Requests run side by side: a
 * kill is answered while a stop is still under way.  `enter` hands the
 * terminal (fds 0 and 1) to the shell and is answered when it exits.
 *
 * It exits when the socket closes (vtop is gone), after the actions under
 * way have finished, and on SIGHUP; it ignores SIGINT (the terminal's ^C
 * is vtop's, or the entered shell's).  It never signals a server on its
 * own.  Single-threaded; a static PIE of about 1.6 MiB resident.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "vctx.h"
#include "vctx-scan.h"

static const char *prog = "vtop-helper";

#define REQ_FD		3
#define REQ_MAX		512		/* bytes of one request line, newline excluded */
#define ID_MAX		15		/* digits of a request ID (a safe JS integer) */
#define MAX_JOBS	32		/* requests under way at once */
#define MSG_MAX		1024
#define STATUS_MAX	4096		/* the vserver command's status line, at most */
#define STATUS_FD	3		/* where the vserver command writes it (VCTX_STATUS_FD) */
#define LOG_TIMEOUT_MS	2000		/* logger gets this long; the action never waits longer */

/* the ranges a request may name (those of vtop and src/config/validate.ts) */
#define PID_MAX_LINUX	4194304ULL	/* PID_MAX_LIMIT on 64-bit */
#define START_TIME_MAX	9007199254740991ULL /* Number.MAX_SAFE_INTEGER: the most vtop can name */

static void usage(FILE *out)
{
	fprintf(out,
"Usage: vtop-helper [--allow-host-kill] -- VSERVER-COMMAND...\n"
"vtop's privileged helper: started by vtop only, with a socket as fd 3 on which it\n"
"takes one request a line (kill PID+start time, kill a context, start, stop,\n"
"restart, enter a server), checks it again and carries it out; server verbs run\n"
"VSERVER-COMMAND NAME VERB.  Every change goes to the system log.\n"
"A kill reaches only processes of a server (context 2 and up), checked here;\n"
"--allow-host-kill (given when vtop was started with it) lets it reach the host's\n"
"processes (contexts 0 and 1) too.\n"
"Exit status: 0 when vtop went away; 1 not root; 2 not started by vtop.\n");
}

/* ------------------------------------------------------------ jobs */

enum job_kind {
	JOB_LOG,	/* the reply is known; waiting for logger to write the line */
	JOB_VSERVER,	/* waiting for `vserver NAME VERB` */
};

struct job {
	int used;
	enum job_kind kind;
	char id[ID_MAX + 1];
	pid_t pid;		/* the child (logger or vserver) until reaped; 0 after */
	/* JOB_LOG */
	int ok;
	char msg[MSG_MAX];
	long long deadline;	/* monotonic ms after which logger is given up */
	/* JOB_VSERVER */
	const char *verb;
	char name[REQ_MAX];
	long xid_before;	/* stop: the server's context before, -1 unknown */
	int st_fd;		/* read end of the command's status pipe, -1 */
	size_t st_len;
	char st[STATUS_MAX + 1];	/* last member: job_new() clears what is before it */
};

static struct job jobs[MAX_JOBS];
static int allow_host_kill;		/* --allow-host-kill: contexts 0 and 1 too */
static int req_fd = REQ_FD;		/* -1 once vtop is gone */
static char who[256];
static const char *confdir;
static char **vserver_argv;		/* the CLI: argv[0..n-1], then NAME VERB */
static int vserver_argc;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int jobs_running(void)
{
	for (int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used)
			return 1;
	return 0;
}

static struct job *job_new(const char *id)
{
	for (int i = 0; i < MAX_JOBS; i++) {
		if (!jobs[i].used) {
			struct job *j = &jobs[i];
			memset(j, 0, offsetof(struct job, st));
			j->used = 1;
			j->st_fd = -1;
			j->xid_before = -1;
			snprintf(j->id, sizeof(j->id), "%s", id);
			return j;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ output */

/* @s as one line: libvctx's escaper, every escape \xNN (as auditLine in
   src/actions/syslog.ts escapes) */
static void escape(char *out, size_t len, const char *s)
{
	vctx_escape_hex(s, strlen(s), out, len);
}

static void vsnappend(char *buf, size_t len, const char *fmt, va_list ap)
{
	size_t n = strlen(buf);

	if (n + 1 < len)
		vsnprintf(buf + n, len - n, fmt, ap);
}

static void __attribute__((format(printf, 3, 4))) snappend(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnappend(buf, len, fmt, ap);
	va_end(ap);
}

static void vtop_gone(void)
{
	if (req_fd >= 0)
		close(req_fd);
	req_fd = -1;
}

/* one answer line to vtop; nothing when it is gone */
static void reply(const char *id, int ok, const char *msg)
{
	char line[MSG_MAX * 4 + 64], esc[MSG_MAX * 4];
	size_t n, off = 0;

	if (req_fd < 0)
		return;
	escape(esc, sizeof(esc), msg);
	n = (size_t)snprintf(line, sizeof(line), "%s %s %s\n", id, ok ? "ok" : "err", esc);
	if (n >= sizeof(line))
		n = sizeof(line) - 1, line[n - 1] = '\n';
	while (off < n) {
		ssize_t w = write(req_fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			vtop_gone();
			return;
		}
		off += (size_t)w;
	}
}

/* ------------------------------------------------------------ children */

/*
 * Fork and exec @argv (PATH searched) with stdin/stdout/stderr @fd0..@fd2,
 * every other descriptor closed and the signal state of a fresh process;
 * @own_group puts it in a process group of its own (out of reach of the
 * terminal's signals).  Returns the PID, or -1.
 */
/* @fd0..@fd2 become 0..2; @status (or -1) becomes STATUS_FD, named in VCTX_STATUS_FD */
static pid_t spawn(char *const argv[], int fd0, int fd1, int fd2, int status, int own_group)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (own_group)
		setpgid(0, 0);
	int fds[4] = { fd0, fd1, fd2, status }, nfds = status >= 0 ? 4 : 3;
	/* above STATUS_FD first, so that dup2 below never overwrites one still needed */
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0 && fds[i] <= STATUS_FD && fds[i] != i)
			fds[i] = fcntl(fds[i], F_DUPFD, STATUS_FD + 1);
	for (int i = 0; i < nfds; i++) {
		if (fds[i] == i)
			continue;
		if (fds[i] < 0 || dup2(fds[i], i) < 0)
			_exit(127);
	}
	close_range((unsigned)nfds, ~0U, 0);
	if (status >= 0)
		setenv("VCTX_STATUS_FD", "3", 1);
	else
		unsetenv("VCTX_STATUS_FD");
	execvp(argv[0], argv);
	_exit(127);
}

static int devnull(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	return fd;
}

/*
 * Write one line to the system log, as src/actions/syslog.ts does:
 * `logger -t vserver -p authpriv.notice -- WHO: ACTION SERVER: RESULT`,
 * and answer @j once logger is done (at most LOG_TIMEOUT_MS).
 */
static void log_then_reply(struct job *j, const char *action, const char *server, int ok, const char *result)
{
	char w[sizeof(who) * 4], s[MSG_MAX], r[MSG_MAX * 4], line[MSG_MAX * 6];

	j->kind = JOB_LOG;
	j->ok = ok;
	snprintf(j->msg, sizeof(j->msg), "%s", result);
	escape(w, sizeof(w), who);
	escape(s, sizeof(s), server);
	escape(r, sizeof(r), result);
	/* a long line is cut, and stays one line */
	if (snprintf(line, sizeof(line), "%s: %s %s: %s%s", w, action, s,
		     ok < 0 ? "" : ok ? "ok: " : "failed: ", r) >= (int)sizeof(line))
		line[sizeof(line) - 2] = '~';
	char *argv[] = { "logger", "-t", "vserver", "-p", "authpriv.notice", "--", line, NULL };
	j->pid = spawn(argv, devnull(), devnull(), devnull(), -1, 1);
	if (j->pid < 0) {
		reply(j->id, ok > 0, j->msg);
		j->used = 0;
		return;
	}
	j->deadline = now_ms() + LOG_TIMEOUT_MS;
}

static void log_done(struct job *j)
{
	reply(j->id, j->ok > 0, j->msg);
	j->used = 0;
}

/* ------------------------------------------------------------ validation */

/* decimal digits only, at most @max; -1 otherwise */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s || strlen(s) > 20)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* a whole context: SIGTERM or SIGKILL only */
static int parse_signal(const char *s)
{
	if (!strcmp(s, "SIGTERM"))
		return SIGTERM;
	if (!strcmp(s, "SIGKILL"))
		return SIGKILL;
	return -1;
}

/* one process: a signal of vtop's chooser (the table's vtopSignals) */
static int parse_process_signal(const char *s)
{
#define SIGROW(sig, name) if (!strcmp(s, name)) return sig;
	VCTX_VTOP_SIGNAL_ROWS(SIGROW)
#undef SIGROW
	return -1;
}

/* ------------------------------------------------------------ the actions */

static const char *errname(int err)
{
	const char *n = err ? strerrorname_np(err) : NULL;
	return n ? n : "";
}

/* "CODE: message", or the message alone when there is no errno */
static void error_text(char *out, size_t len, const vctx_error *e)
{
	if (*errname(e->err))
		snprintf(out, len, "%s: %s", errname(e->err), e->msg);
	else
		snprintf(out, len, "%s", e->msg);
}

/* /proc/PID/stat field 22 (clock ticks after boot); -1 when nobody holds @pid */
static int start_time(pid_t pid, uint64_t *st)
{
	char path[32], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* the fields after comm, which may hold anything but ends at the last ')' */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	*st = strtoull(p + 1, NULL, 10);
	return 0;
}

static void do_kill(struct job *j, pid_t pid, unsigned long long start, const char *signame, int sig)
{
	vctx_error e = { 0 };
	uint32_t xid;
	char where[32] = "", server[32] = "context ?", action[128], msg[MSG_MAX];
	int ok;

	/* the context, for the check, the message and the log, read between two
	   reads of the start time, both the one asked for: then it is that very
	   process's (a PID and its start time name one process; vctx_kill_pid
	   pins it and checks the start time once more) */
	uint64_t st = 0;
	if (start_time(pid, &st) < 0 || st != start) {
		ok = 0;
		vctx_set_error(&e, ESRCH, "process %d: no such process", pid);
	} else if (vctx_xid_of_pid(pid, &xid, &e) < 0) {
		ok = 0;
		if (e.err != ESRCH)
			vctx_set_error(&e, EPERM, "cannot tell which context process %d is in (%s): not signalled", pid, e.msg);
	} else if (start_time(pid, &st) < 0 || st != start) {
		ok = 0;
		vctx_set_error(&e, ESRCH, "process %d: no such process", pid);
	} else {
		snprintf(where, sizeof(where), " (context %u)", xid);
		snprintf(server, sizeof(server), "context %u", xid);
		if (xid < VCTX_XID_STATIC_MIN && !allow_host_kill) {
			ok = 0;
			vctx_set_error(&e, EPERM, "process %d is the host's (context %u), not a server's: vtop signals "
				       "servers only unless started with --allow-host-kill", pid, xid);
		} else {
			ok = vctx_kill_pid(pid, start, sig, &e) == 0;
		}
	}
	if (ok)
		snprintf(msg, sizeof(msg), "sent %s to PID %d%s", signame, pid, where);
	else if (e.err == ESRCH)
		snprintf(msg, sizeof(msg), "PID %d is already gone: nothing sent", pid);
	else if (e.err == EPERM)
		snprintf(msg, sizeof(msg), "EPERM: PID %d%s: %s", pid, where, e.msg);
	else
		error_text(msg, sizeof(msg), &e);
	snprintf(action, sizeof(action), "kill %s pid %d (start time %llu) in", signame, pid, start);
	log_then_reply(j, action, server, ok, msg);
}

static void do_kill_context(struct job *j, uint32_t xid, const char *signame, int sig)
{
	vctx_error e = { 0 };
	char server[32], action[64], msg[MSG_MAX];
	int n = vctx_kill_context(xid, sig, &e);

	if (n >= 0)
		snprintf(msg, sizeof(msg), "sent %s to %d process%s of context %u", signame, n, n == 1 ? "" : "es", xid);
	else if (e.err == ESRCH)
		snprintf(msg, sizeof(msg), "context %u is already gone: nothing sent", xid);
	else
		error_text(msg, sizeof(msg), &e);
	snprintf(action, sizeof(action), "kill %s every process of", signame);
	snprintf(server, sizeof(server), "context %u", xid);
	log_then_reply(j, action, server, n >= 0, msg);
}

/* the running context of server @name (the newest, by the kernel's record), or -1 */
static long context_of(const char *name)
{
	struct vctx_info *v = NULL;
	size_t n = 0;
	vctx_error e = { 0 };
	long xid = -1;
	int64_t newest = -1;

	if (vctx_list(&v, &n, &e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].name, name) && v[i].created > newest) {
			newest = v[i].created;
			xid = v[i].xid;
		}
	}
	free(v);
	return xid;
}

/* `vserver NAME VERB`: answered when it exits (vserver_done) */
static void do_vserver(struct job *j, const char *verb, const char *name)
{
	char *argv[vserver_argc + 3];
	int p[2];

	j->kind = JOB_VSERVER;
	j->verb = verb;
	snprintf(j->name, sizeof(j->name), "%s", name);
	if (!strcmp(verb, "stop"))
		j->xid_before = context_of(name);
	memcpy(argv, vserver_argv, sizeof(char *) * (size_t)vserver_argc);
	argv[vserver_argc] = j->name;
	argv[vserver_argc + 1] = (char *)verb;
	argv[vserver_argc + 2] = NULL;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s %s: pipe: %s", verb, name, strerror(errno));
		reply(j->id, 0, msg);
		j->used = 0;
		return;
	}
	/* enter gets the terminal and stays in its foreground group; the others run apart */
	if (!strcmp(verb, "enter"))
		j->pid = spawn(argv, 0, 1, devnull(), p[1], 0);
	else
		j->pid = spawn(argv, devnull(), devnull(), devnull(), p[1], 1);
	close(p[1]);
	if (j->pid < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s %s: fork: %s", verb, name, strerror(errno));
		close(p[0]);
		reply(j->id, 0, msg);
		j->used = 0;
		return;
	}
	j->st_fd = p[0];
}

/* keeps the first STATUS_MAX bytes of the command's status pipe */
static void vserver_read(struct job *j)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(j->st_fd, buf, sizeof(buf))) > 0) {
		size_t room = STATUS_MAX - j->st_len;
		size_t take = (size_t)n < room ? (size_t)n : room;
		memcpy(j->st + j->st_len, buf, take);
		j->st_len += take;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(j->st_fd);
		j->st_fd = -1;
	}
}

/* ------------------------------------------------- the status line's JSON */

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static int hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return -1;
		*out = *out << 4 | (unsigned)v;
	}
	return 0;
}

/* appends code point @cp to @out as UTF-8 (when it fits) */
static void put_utf8(char *out, size_t len, size_t *o, unsigned cp)
{
	char b[4];
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

	if (n == 1)
		b[0] = (char)cp;
	else {
		for (size_t i = n - 1; i > 0; i--, cp >>= 6)
			b[i] = (char)(0x80 | (cp & 0x3f));
		b[0] = (char)((n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) | cp);
	}
	if (*o + n < len) {
		memcpy(out + *o, b, n);
		*o += n;
	}
}

/*
 * The JSON string at @p (its opening quote) into @out, cut to fit; returns
 * what follows its closing quote, or NULL when it is not a JSON string.
 */
static const char *json_string(const char *p, char *out, size_t len)
{
	size_t o = 0;

	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		unsigned cp;
		if (!*p || (unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\') {
			if (o + 1 < len)
				out[o++] = *p;
			continue;
		}
		switch (*++p) {
		case '"': case '\\': case '/': cp = (unsigned char)*p; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u': {
			unsigned lo;
			if (hex4(p + 1, &cp) < 0)
				return NULL;
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;	/* a lone surrogate */
			}
			break;
		}
		default:
			return NULL;
		}
		put_utf8(out, len, &o, cp);
	}
	out[o] = 0;
	return p + 1;
}

/* what the vserver command said of itself (src/cli/common.ts writeStatus) */
struct vserver_status {
	long exit;
	char error[MSG_MAX];	/* "" when none */
	char warning[MSG_MAX];	/* the first warning, "" when none */
};

/*
 * Parses {"exit": N, "error": STRING|null, "warnings": [STRING...]}, those
 * keys only, on one line.  Returns 0, or -1 when the line is anything else.
 */
static int parse_status(const char *p, struct vserver_status *st)
{
	int have_exit = 0;

	memset(st, 0, sizeof(*st));
	p = json_ws(p);
	if (*p++ != '{')
		return -1;
	for (p = json_ws(p); *p != '}';) {
		char key[16];
		if (!(p = json_string(p, key, sizeof(key))) || *(p = json_ws(p)) != ':')
			return -1;
		p = json_ws(p + 1);
		if (!strcmp(key, "exit")) {
			char *e;
			st->exit = strtol(p, &e, 10);
			if (e == p)
				return -1;
			p = e;
			have_exit = 1;
		} else if (!strcmp(key, "error")) {
			if (!strncmp(p, "null", 4))
				p += 4;
			else if (!(p = json_string(p, st->error, sizeof(st->error))))
				return -1;
		} else if (!strcmp(key, "warnings")) {
			if (*p++ != '[')
				return -1;
			for (p = json_ws(p); *p != ']';) {
				char w[MSG_MAX];
				if (!(p = json_string(p, w, sizeof(w))))
					return -1;
				if (!st->warning[0])
					snprintf(st->warning, sizeof(st->warning), "%s", w);
				p = json_ws(p);
				if (*p == ',')
					p = json_ws(p + 1);
				else if (*p != ']')
					return -1;
			}
			p++;
		} else {
			return -1;
		}
		p = json_ws(p);
		if (*p == ',')
			p = json_ws(p + 1);
		else if (*p != '}')
			return -1;
	}
	return have_exit && *json_ws(p + 1) == 0 ? 0 : -1;
}

/*
 * The command exited: the answer from its exit status (the truth) and its
 * status line (the words: its error, its first warning).  A command that
 * wrote no status line (it could not start, or was killed) is answered
 * from its exit status alone.
 */
static void vserver_done(struct job *j, int status)
{
	char msg[MSG_MAX] = "";
	const char *error = "", *warning = "";
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	const char *name = j->name;
	struct vserver_status st;

	if (j->st_fd >= 0) {
		vserver_read(j);
		if (j->st_fd >= 0)
			close(j->st_fd);
		j->st_fd = -1;
	}
	j->st[j->st_len] = 0;
	if (parse_status(j->st, &st) == 0) {
		error = st.error;
		warning = st.warning;
	}

	if (!strcmp(j->verb, "enter")) {
		if (code == 0)
			snprintf(msg, sizeof(msg), "back from %s", name);
		else if (*error) {
			/* a long error is cut: the reply is one line */
			if (snprintf(msg, sizeof(msg), "enter %s: %s", name, error) >= (int)sizeof(msg))
				msg[sizeof(msg) - 2] = '~';
		}
		else
			snprintf(msg, sizeof(msg), "back from %s (the shell exited with %d)", name, code);
		reply(j->id, code == 0, msg);
		j->used = 0;
		return;
	}
	if (code != 0) {
		if (*error)
			snprintf(msg, sizeof(msg), "%s", error);
		else if (WIFEXITED(status))
			snprintf(msg, sizeof(msg), "vserver %s %s exited with status %d", name, j->verb, code);
		else
			snprintf(msg, sizeof(msg), "vserver %s %s was killed by signal %d", name, j->verb, WTERMSIG(status));
		reply(j->id, 0, msg);
		j->used = 0;
		return;
	}
	if (!strcmp(j->verb, "stop")) {
		snprintf(msg, sizeof(msg), "stopped %s", name);
		if (j->xid_before >= 0)
			snappend(msg, sizeof(msg), " (context %ld)", j->xid_before);
	} else {
		long xid = context_of(name);
		snprintf(msg, sizeof(msg), "%s %s", !strcmp(j->verb, "start") ? "started" : "restarted", name);
		if (xid >= 0)
			snappend(msg, sizeof(msg), " at context %ld", xid);
	}
	if (*warning)
		snappend(msg, sizeof(msg), " (%s)", warning);
	reply(j->id, 1, msg);
	j->used = 0;
}

/* ------------------------------------------------------------ requests */

/* refused: logged, then answered */
static void __attribute__((format(printf, 2, 3))) refuse(struct job *j, const char *fmt, ...)
{
	char msg[MSG_MAX] = "refused: ";
	va_list ap;

	va_start(ap, fmt);
	vsnappend(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the drawing side asked for something it may not have: worth a line */
	log_then_reply(j, "request", "from vtop", -1, msg);
}

/* the fields of @s separated by single spaces, at most @max (the rest in the last) */
static int split(char *s, char **f, int max)
{
	int n = 0;

	if (!*s)
		return 0;
	while (n < max) {
		f[n++] = s;
		char *sp = strchr(s, ' ');
		if (!sp)
			break;
		*sp = 0;
		s = sp + 1;
	}
	return n;
}

static void handle(char *line, size_t len)
{
	char id[ID_MAX + 1] = "0", *rest, *verb, *f[4], buf[512];
	size_t idlen = strspn(line, "0123456789");
	struct job *j;
#define REFUSE(...) do { refuse(j, __VA_ARGS__); return; } while (0)

	/* the ID: a positive integer (vtop numbers from 1); 0 answers what has none */
	if (idlen >= 1 && idlen <= ID_MAX && line[0] != '0' && line[idlen] == ' ') {
		memcpy(id, line, idlen);
		id[idlen] = 0;
		rest = line + idlen + 1;
	} else {
		rest = NULL;
	}
	j = job_new(id);
	if (!j) {
		reply(id, 0, "busy: too many requests under way; try again");
		return;
	}
	if (!rest || memchr(line, 0, len))
		REFUSE("not a request");
	verb = rest;
	rest = strchr(rest, ' ');
	if (rest)
		*rest++ = 0;

	if (!strcmp(verb, "kill")) {
		unsigned long long pid, start;
		int n = rest ? split(rest, f, 4) : 0, sig = n >= 3 ? parse_process_signal(f[2]) : -1;
		if (n > 3)
			REFUSE("unexpected field in a kill request");
		if (n < 1 || parse_uint(f[0], PID_MAX_LINUX, &pid) < 0 || pid < 1)
			REFUSE("not a process ID");
		if (n < 2 || parse_uint(f[1], START_TIME_MAX, &start) < 0 || start < 1)
			REFUSE("not a start time");
		if (sig < 0)
			REFUSE("only these signals may be sent: %s", VCTX_VTOP_SIGNAL_LIST);
		do_kill(j, (pid_t)pid, start, f[2], sig);
		return;
	}
	if (!strcmp(verb, "killctx")) {
		unsigned long long xid;
		int n = rest ? split(rest, f, 3) : 0, sig = n >= 2 ? parse_signal(f[1]) : -1;
		if (n > 2)
			REFUSE("unexpected field in a killctx request");
		if (n < 1 || parse_uint(f[0], VCTX_XID_DYN_MAX, &xid) < 0)
			REFUSE("not a context number");
		if (xid < VCTX_XID_STATIC_MIN)
			REFUSE("context %llu cannot be signalled as a whole", xid);
		if (sig < 0)
			REFUSE("only SIGTERM and SIGKILL may be sent");
		do_kill_context(j, (uint32_t)xid, f[1], sig);
		return;
	}
	static const char *const verbs[] = { "start", "stop", "restart", "enter" };
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verb, verbs[i]))
			continue;
		struct stat st;
		char path[4096];
		if (!rest)
			REFUSE("no server name");
		if (vctx_name_problem(rest, buf, sizeof(buf)))
			REFUSE("%s", buf);
		snprintf(path, sizeof(path), "%s/%s.conf", confdir, rest);
		if (stat(path, &st) < 0)
			REFUSE("no server '%s' in %s", rest, confdir);
		do_vserver(j, verbs[i], rest);
		return;
	}
	REFUSE("unknown request type");
#undef REFUSE
}

/* reads what vtop sent; one handle() per complete line */
static void read_requests(void)
{
	static char in[REQ_MAX + 1];
	static size_t have;
	static int overlong;	/* discarding the rest of a line that was too long */
	static char overlong_id[ID_MAX + 1];
	ssize_t n = read(req_fd, in + have, sizeof(in) - have);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		vtop_gone();
		return;
	}
	have += (size_t)n;
	for (;;) {
		char *nl = memchr(in, '\n', have);
		if (!nl) {
			if (have < sizeof(in))
				return;
			/* no end in sight: refuse it once its end comes, keep its ID */
			if (!overlong) {
				in[REQ_MAX] = 0;
				size_t d = strspn(in, "0123456789");
				if (d >= 1 && d <= ID_MAX && in[0] != '0' && in[d] == ' ')
					snprintf(overlong_id, sizeof(overlong_id), "%.*s", (int)d, in);
				else
					strcpy(overlong_id, "0");
			}
			overlong = 1;
			have = 0;
			return;
		}
		size_t len = (size_t)(nl - in);
		*nl = 0;
		if (overlong) {
			overlong = 0;
			struct job *j = job_new(overlong_id);
			if (j)
				refuse(j, "request too long (at most %d bytes)", REQ_MAX);
			else
				reply(overlong_id, 0, "busy: too many requests under way; try again");
		} else {
			handle(in, len);
		}
		have -= len + 1;
		memmove(in, nl + 1, have);
	}
}

/* ------------------------------------------------------------ main */

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < MAX_JOBS; i++) {
			struct job *j = &jobs[i];
			if (!j->used || j->pid != pid)
				continue;
			j->pid = 0;
			if (j->kind == JOB_LOG)
				log_done(j);
			else
				vserver_done(j, status);
		}
	}
}

/* loggers past their time: killed (reaped later), their answers given */
static int expire(void)
{
	long long now = now_ms(), next = -1;

	for (int i = 0; i < MAX_JOBS; i++) {
		struct job *j = &jobs[i];
		if (!j->used || j->kind != JOB_LOG)
			continue;
		if (j->deadline <= now) {
			kill(j->pid, SIGKILL);
			log_done(j);
		} else if (next < 0 || j->deadline < next) {
			next = j->deadline;
		}
	}
	return next < 0 ? -1 : (int)(next - now);
}

static void set_who(void)
{
	const char *by = getenv("VSERVER_REQUESTED_BY"), *sudo = getenv("SUDO_USER"), *logname = getenv("LOGNAME");
	uid_t uid = getuid();

	if (by && *by)
		snprintf(who, sizeof(who), "%s", by);
	else if (sudo && *sudo)
		snprintf(who, sizeof(who), "%s (sudo, uid %u)", sudo, uid);
	else if (logname && *logname)
		snprintf(who, sizeof(who), "%s (uid %u)", logname, uid);
	else	/* vtop always says who; no NSS lookup here (a static binary) */
		snprintf(who, sizeof(who), "uid %u", uid);
}

int main(int argc, char **argv)
{
	struct stat st;
	sigset_t set;
	int sfd;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "%s: must be run as root\n", prog);
		return 1;
	}
	{
		vctx_error ie = { 0 };
		if (vctx_instance_check(&ie) < 0) {
			fprintf(stderr, "%s: %s\n", prog, ie.msg);
			return 2;
		}
	}
	if (fstat(REQ_FD, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "%s: started by vtop only (fd %d is not its socket)\n", prog, REQ_FD);
		return 2;
	}
	int a = 1;
	if (argc > a && !strcmp(argv[a], "--allow-host-kill")) {
		allow_host_kill = 1;
		a++;
	}
	if (argc < a + 2 || strcmp(argv[a], "--")) {
		fprintf(stderr, "%s: no vserver command given (vtop-helper [--allow-host-kill] -- NODE VSERVER.JS)\n", prog);
		return 2;
	}
	vserver_argv = argv + a + 1;
	vserver_argc = argc - a - 1;
	confdir = getenv("VSERVER_CONFDIR");
	if (!confdir || !*confdir) {
		/* the instance's default (docs/instances.md): /etc/vservers[@NAME] */
		static char dflt[300];
		snprintf(dflt, sizeof(dflt), "/etc/vservers%s%s", *vctx_instance() ? "@" : "", vctx_instance());
		confdir = dflt;
	}
	set_who();

	/* nothing of vtop's but the terminal, stderr and the socket */
	close_range(REQ_FD + 1, ~0U, 0);
	fcntl(REQ_FD, F_SETFD, FD_CLOEXEC);
	fcntl(REQ_FD, F_SETFL, fcntl(REQ_FD, F_GETFL) & ~O_NONBLOCK);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
		return 1;
	}

	static const char ready[] = "ready\n";
	if (write(REQ_FD, ready, sizeof(ready) - 1) != (ssize_t)(sizeof(ready) - 1))
		vtop_gone();

	/* until vtop is gone and every action under way has finished */
	while (req_fd >= 0 || jobs_running()) {
		struct pollfd pfd[2 + MAX_JOBS];
		struct job *owner[2 + MAX_JOBS];
		nfds_t n = 0;

		pfd[n].fd = sfd, pfd[n].events = POLLIN, owner[n++] = NULL;
		if (req_fd >= 0)
			pfd[n].fd = req_fd, pfd[n].events = POLLIN, owner[n++] = NULL;
		for (int i = 0; i < MAX_JOBS; i++)
			if (jobs[i].used && jobs[i].st_fd >= 0)
				pfd[n].fd = jobs[i].st_fd, pfd[n].events = POLLIN, owner[n++] = &jobs[i];
		if (poll(pfd, n, expire()) < 0 && errno != EINTR) {
			fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
			return 1;
		}
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (owner[i]) {
				if (owner[i]->used && owner[i]->st_fd == pfd[i].fd)
					vserver_read(owner[i]);
			} else if (pfd[i].fd == sfd) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						return 0;
				}
				reap();
			} else if (pfd[i].fd == req_fd) {
				read_requests();
			}
		}
	}
	return 0;
}
