// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vps - the `vps` command: runs ps(1) as the spectator (context 1) and
 * inserts a CONTEXT column (XID and server name) after its PID column,
 * mapping each row's PID through a snapshot (libvctx's scan) taken right
 * after ps ends.
 *
 *   vps [--json] [PS-OPTIONS...]
 *
 * Two paths print the same text:
 *
 *  - the common case (plain ps options, as root) is printed here, in C:
 *    Node's start alone (~20 ms) costs more than ps and the scan together
 *    (bench/results/startup.md).  The column's header, widths, the word
 *    for an unknown context and the names of contexts 0 and 1 come from
 *    kernel/tables/vctx-tables.json ("render"; out/vctx-tables.h), which
 *    src/views/vps.ts reads too; the names are escaped by libvctx's
 *    vctx_escape, escapeText's twin.
 *  - Node with the vps bundle (dist/vps.cjs, src/cli/vps.ts and
 *    src/views/vps.ts) prints the rest: --json, --help and --version
 *    first, not root, a status fd (VCTX_STATUS_FD), a ps output or a
 *    server name that is not plain ASCII / valid UTF-8 (Node decodes
 *    them; their widths are counted as JavaScript counts), a scan that
 *    fails, and VCTX_VPS_RENDER=node (how
 *    test/integration/native-render.test.ts compares both paths byte for
 *    byte on one host state).
 *
 * For Node, ps runs as before: when Node is known to print from the
 * start, a helper is forked first: it runs ps as the spectator, waits for
 * it, takes the snapshot and writes ps's PID and exit status and the
 * snapshot as JSON to a second pipe, while this process becomes Node
 * (exec) with the pipes' ends as fds 3 (ps's output) and 4 (the rest) and
 * VCTX_VPS_PS=3,4 in its environment.  When that is known only once ps
 * has ended (its output), the same two are handed over in memory files.
 *
 * The bundle is found from this binary's own path: kernel/out/vps ->
 * dist/vps.cjs; node is looked up in PATH, with NODE_EXTRA_CA_CERTS
 * removed as the commands' #! line does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "vctx-tables.h"
#include "../lib/escape.h"

static const char prog[] = "vps";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* ps's exit code from a wait status: its own, or 128+N for signal N */
static int exit_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * The helper of the Node path, a child of the front: runs ps as the
 * spectator with its output on @out, waits for it, then takes the snapshot
 * (after ps, as the mapping must: a process ps listed has started by then)
 * and writes "PSPID STATUS\n" and the snapshot as JSON (vctx_scan_json) on
 * @scan.
 */
static int run_ps_then_scan(char **ps_argv, int out, int scan)
{
	vctx_error e = { 0 };
	/* as `chcontext --ctx 1 -- ps ...`: see every context, signal none;
	   born in context 1's cgroup (a move there waits ~10 ms for RCU) */
	pid_t p = vctx_spectate_fork(prog, &e);
	if (p < 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
	} else if (p == 0) {
		close(scan);
		if (dup2(out, 1) < 0)
			_exit(127);
		execvp(ps_argv[0], ps_argv);
		fprintf(stderr, "%s: cannot run ps: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(out);
	int st = 0;
	pid_t r = -1;
	while (p > 0 && (r = waitpid(p, &st, 0)) < 0 && errno == EINTR)
		;
	/* no ps (the message is out): status 1, as a ps that failed */
	int code = r < 0 ? 1 : exit_code(st);
	if (p < 0)
		p = 0;
	FILE *f = fdopen(scan, "w");
	if (!f)
		return 1;
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	fprintf(f, "%d %d\n", (int)p, code);
	int w = vctx_scan_json(f, 1, 0);
	return fclose(f) || w < 0 ? 1 : 0;
}

/* Node prints everything: ps starts in the helper while Node starts */
static int node_from_start(char **ps_argv, int argc, char **argv)
{
	int out[2], scan[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(scan, O_CLOEXEC) < 0)
		die("pipe");
	pid_t helper = fork();
	if (helper < 0)
		die("fork");
	if (helper == 0) {
		close(out[0]);
		close(scan[0]);
		signal(SIGPIPE, SIG_IGN);	/* Node may end without reading */
		_exit(run_ps_then_scan(ps_argv, out[1], scan[1]));
	}
	close(out[1]);
	close(scan[1]);
	/* ps's output as fd 3, the scan as fd 4 (dup2 clears close-on-exec) */
	int o = fcntl(out[0], F_DUPFD_CLOEXEC, 10), s = fcntl(scan[0], F_DUPFD_CLOEXEC, 10);
	if (o < 0 || s < 0 || dup2(o, 3) < 0 || dup2(s, 4) < 0)
		die("dup2");
	setenv("VCTX_VPS_PS", "3,4", 1);
	return vctx_front_exec_node(prog, "vps.cjs", argc, argv);
}

/* ------------------------------------------------------------ ps, here */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 1 << 16;
		while (b->len + n + 1 > c)
			c *= 2;
		char *q = realloc(b->p, c);
		if (!q)
			die("out of memory");
		b->p = q;
		b->cap = c;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void pad(struct buf *b, size_t n)
{
	static const char sp[] = "                                                                ";
	while (n) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
		put(b, sp, k);
		n -= k;
	}
}

/* runs ps as the spectator, its output into @out; ps's PID (0 when none
   could be started) in *@pspid; returns its exit code */
static int run_ps(char **ps_argv, struct buf *out, pid_t *pspid)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC) < 0)
		die("pipe");
	vctx_error e = { 0 };
	pid_t p = vctx_spectate_fork(prog, &e);
	if (p < 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
	} else if (p == 0) {
		if (dup2(fd[1], 1) < 0)
			_exit(127);
		execvp(ps_argv[0], ps_argv);
		fprintf(stderr, "%s: cannot run ps: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	char chunk[1 << 16];
	for (;;) {
		ssize_t n = read(fd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		put(out, chunk, (size_t)n);
	}
	close(fd[0]);
	int st = 0;
	pid_t r = -1;
	while (p > 0 && (r = waitpid(p, &st, 0)) < 0 && errno == EINTR)
		;
	*pspid = p > 0 ? p : 0;
	return r < 0 ? 1 : exit_code(st);
}

/* Node prints what ps wrote (a rare case, see the top): ps's output and
   "PSPID STATUS\n" + a snapshot in memory files, as fds 3 and 4 */
static int node_after_ps(const struct buf *ps, pid_t pspid, int code, int argc, char **argv)
{
	int o = memfd_create("vps-ps", MFD_CLOEXEC), s = memfd_create("vps-scan", MFD_CLOEXEC);
	if (o < 0 || s < 0)
		die("memfd_create");
	for (size_t at = 0; at < ps->len;) {
		ssize_t n = write(o, ps->p + at, ps->len - at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		at += (size_t)n;
	}
	FILE *f = fdopen(dup(s), "w");
	if (!f)
		die("fdopen");
	fprintf(f, "%d %d\n", (int)pspid, code);
	if (vctx_scan_json(f, 1, 0) < 0 || fclose(f))
		die("write");
	/* above 4 first: a memory file may be fd 3 or 4 itself, and dup2 onto
	   itself would keep close-on-exec */
	o = fcntl(o, F_DUPFD_CLOEXEC, 10);
	s = fcntl(s, F_DUPFD_CLOEXEC, 10);
	if (o < 0 || s < 0 || lseek(o, 0, SEEK_SET) < 0 || lseek(s, 0, SEEK_SET) < 0 || dup2(o, 3) < 0 || dup2(s, 4) < 0)
		die("dup2");
	setenv("VCTX_VPS_PS", "3,4", 1);
	return vctx_front_exec_node(prog, "vps.cjs", argc, argv);
}

/* the length of valid UTF-8 @s in UTF-16 units (String.length), or -1
   when it is not valid UTF-8 (Node would decode it otherwise) */
static long js_length(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	long units = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(u + i, n - i);
		if (!l)
			return -1;
		units += l == 4 ? 2 : 1;
		i += l;
	}
	return units;
}

/* the names of the contexts ps's rows are in: XID -> raw name */
struct names {
	struct name {
		uint32_t xid;
		char *raw;
	} *v;
	size_t n, cap;
};

static const char *name_of(const struct names *ns, uint32_t xid)
{
	if (xid == 0)
		return VCTX_CTXNAME_HOST_VPS;
	if (xid == 1)
		return VCTX_CTXNAME_SPECTATOR_VPS;
	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].xid == xid)
			return ns->v[i].raw;
	return "";
}

static struct name *name_slot(struct names *ns, uint32_t xid)
{
	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].xid == xid)
			return &ns->v[i];
	return NULL;
}

static void name_set(struct names *ns, uint32_t xid, const char *raw, size_t len)
{
	struct name *slot = name_slot(ns, xid);
	if (!slot) {
		if (ns->n == ns->cap) {
			ns->cap = ns->cap ? ns->cap * 2 : 16;
			ns->v = realloc(ns->v, ns->cap * sizeof(*ns->v));
			if (!ns->v)
				die("out of memory");
		}
		slot = &ns->v[ns->n++];
		slot->xid = xid;
	} else {
		free(slot->raw);
	}
	slot->raw = strndup(raw, len);
	if (!slot->raw)
		die("out of memory");
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The S_CONTEXT of one NAME.conf as src/cli/common.ts's
 * configuredContextNames reads it: the first line that is
 * `[ \t]*S_CONTEXT[ \t]*=[ \t]*["']?DIGITS["']?[ \t]*(#...)?`.  Returns -1
 * when none, -2 when Node would read the file otherwise (a CR or a line or
 * paragraph separator in it: the rare path).
 */
static long long conf_context(const char *t, size_t n)
{
	/* JavaScript's ^ and $ also end a line at CR, LS and PS: Node reads it */
	for (size_t k = 0; k < n; k++)
		if (t[k] == '\r' || (k + 2 < n && (unsigned char)t[k] == 0xe2 && (unsigned char)t[k + 1] == 0x80 &&
				     ((unsigned char)t[k + 2] == 0xa8 || (unsigned char)t[k + 2] == 0xa9)))
			return -2;
	for (size_t at = 0; at <= n;) {
		const char *l = t + at, *end = memchr(l, '\n', n - at);
		size_t len = end ? (size_t)(end - l) : n - at;
		at += len + 1;
		size_t i = 0;
		while (i < len && is_blank(l[i]))
			i++;
		if (len - i < 9 || memcmp(l + i, "S_CONTEXT", 9))
			continue;
		i += 9;
		while (i < len && is_blank(l[i]))
			i++;
		if (i >= len || l[i] != '=')
			continue;
		i++;
		while (i < len && is_blank(l[i]))
			i++;
		if (i < len && (l[i] == '"' || l[i] == '\''))
			i++;
		size_t d = i;
		unsigned long long v = 0;
		while (i < len && l[i] >= '0' && l[i] <= '9') {
			v = v > (1ULL << 40) ? v : v * 10 + (unsigned)(l[i] - '0');
			i++;
		}
		if (i == d)
			continue;
		if (i < len && (l[i] == '"' || l[i] == '\''))
			i++;
		while (i < len && is_blank(l[i]))
			i++;
		if (i < len && l[i] != '#')
			continue;
		return v > UINT32_MAX ? -1 : (long long)v;
	}
	return -1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);	/* libuv's readdir order */
}

/* adds S_CONTEXT -> NAME of confdir's NAME.conf files for the XIDs the
   snapshot names not; 0, or -1 for the rare path */
static int add_configured_names(struct names *ns, const char *confdir)
{
	struct dirent **de;
	int n = scandir(confdir, &de, NULL, by_name);
	if (n < 0)
		return 0;
	struct names conf = { 0 };
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *f = de[i]->d_name;
		size_t fl = strlen(f);
		if (rc == 0 && fl > 5 && !strcmp(f + fl - 5, ".conf")) {
			if (js_length(f, fl) < 0) {
				rc = -1;	/* Node reads the name as U+FFFD */
			} else {
				char path[PATH_MAX];
				int fd = -1;
				if ((size_t)snprintf(path, sizeof(path), "%s/%s", confdir, f) < sizeof(path))
					fd = open(path, O_RDONLY | O_CLOEXEC);
				struct buf t = { 0 };
				char chunk[8192];
				ssize_t r = 0;
				while (fd >= 0 && ((r = read(fd, chunk, sizeof(chunk))) > 0 || (r < 0 && errno == EINTR)))
					if (r > 0)
						put(&t, chunk, (size_t)r);
				if (fd >= 0 && r == 0) {
					long long x = conf_context(t.p ? t.p : "", t.len);
					if (x == -2)
						rc = -1;
					else if (x >= 0)
						name_set(&conf, (uint32_t)x, f, fl - 5);
				}
				if (fd >= 0)
					close(fd);
				free(t.p);
			}
		}
		free(de[i]);
	}
	free(de);
	for (size_t i = 0; i < conf.n; i++) {
		if (!name_slot(ns, conf.v[i].xid))
			name_set(ns, conf.v[i].xid, conf.v[i].raw, strlen(conf.v[i].raw));
		free(conf.v[i].raw);
	}
	free(conf.v);
	return rc;
}

static uint32_t xid_known(uint32_t x)
{
	return x >= 2 && x < 49152;
}

/* the XID of host PID @pid, -1 when the snapshot has none */
static long long xid_of(const struct vctx_snapshot *s, long long pid, pid_t pspid)
{
	size_t lo = 0, hi = s->nprocs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->procs[mid].pid == pid)
			return s->procs[mid].xid;
		if (s->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return pid == pspid ? 1 : -1;	/* ps itself, gone before the scan */
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* src/views/vps.ts findPidColumn: after the `PID ` of the header */
static int find_pid_column(const char *h, size_t n, size_t *end, size_t *token)
{
	size_t tok = 0;
	for (size_t i = 0; i < n;) {
		while (i < n && (is_blank(h[i]) || h[i] == '\r' || h[i] == '\v' || h[i] == '\f'))
			i++;
		if (i >= n)
			break;
		size_t st = i;
		while (i < n && !(is_blank(h[i]) || h[i] == '\r' || h[i] == '\v' || h[i] == '\f'))
			i++;
		if (i - st == 3 && !memcmp(h + st, "PID", 3)) {
			*end = st + 4;
			*token = tok;
			return 1;
		}
		tok++;
	}
	return 0;
}

static int is_space(char c)
{
	return is_blank(c) || c == '\r' || c == '\v' || c == '\f';
}

/* src/views/vps.ts splitRow: the row's PID and where its field goes */
static int split_row(const char *l, size_t n, size_t pid_end, size_t token, long long *pid, size_t *at)
{
	long long last = (long long)pid_end - 2;
	size_t first, stop;
	if (last >= 0 && (size_t)last < n && is_digit(l[last])) {
		size_t e = (size_t)last;
		while (e + 1 < n && is_digit(l[e + 1]))
			e++;
		first = e;
		while (first > 0 && is_digit(l[first - 1]))
			first--;
		stop = e + 1;
		*at = pid_end > e + 2 ? pid_end : e + 2;
	} else {
		size_t i = 0, tok = 0;
		for (;;) {
			while (i < n && is_space(l[i]))
				i++;
			if (i >= n)
				return 0;
			size_t st = i;
			while (i < n && !is_space(l[i]))
				i++;
			if (tok++ == token) {
				for (size_t k = st; k < i; k++)
					if (!is_digit(l[k]))
						return 0;
				first = st;
				stop = i;
				*at = i + 1;
				break;
			}
		}
	}
	/* Number(digits): longer than any PID is no PID the snapshot has */
	while (first + 1 < stop && l[first] == '0')
		first++;
	long long v = 0;
	if (stop - first > 12)
		v = -1;
	else
		for (size_t k = first; k < stop; k++)
			v = v * 10 + (l[k] - '0');
	*pid = v;
	return 1;
}

/* the escaped names, kept per XID (as vps.ts's nameCache) */
struct shown {
	uint32_t xid;
	char *text;
	long units;
};

/*
 * ps's output with the CONTEXT column, as src/views/vps.ts
 * insertContextColumn makes it, into @out.  Returns 0, 1 when the output
 * has no PID column, -1 for the rare path (a name Node would count or
 * decode otherwise).
 */
static int render(const struct buf *ps, const struct vctx_snapshot *s, pid_t pspid,
		  const struct names *ns, struct buf *out)
{
	const char *p = ps->p;
	size_t n = ps->len;
	const char *nl = memchr(p, '\n', n);
	size_t hl = nl ? (size_t)(nl - p) : n;
	size_t pid_end, token;
	if (!find_pid_column(p, hl, &pid_end, &token))
		return 1;
	put(out, p, hl < pid_end ? hl : pid_end);
	if (hl < pid_end)
		pad(out, pid_end - hl);
	put(out, VCTX_VPS_CONTEXT_HEADER, strlen(VCTX_VPS_CONTEXT_HEADER));
	if (strlen(VCTX_VPS_CONTEXT_HEADER) < VCTX_VPS_CONTEXT_WIDTH)
		pad(out, VCTX_VPS_CONTEXT_WIDTH - strlen(VCTX_VPS_CONTEXT_HEADER));
	if (hl > pid_end)
		put(out, p + pid_end, hl - pid_end);

	struct shown *cache = NULL;
	size_t ncache = 0;
	/* the lines after the header; a last '\n' ends the last line */
	for (size_t at = nl ? hl + 1 : n; at < n;) {
		const char *l = p + at, *e = memchr(l, '\n', n - at);
		size_t len = e ? (size_t)(e - l) : n - at;
		at += len + 1;
		put(out, "\n", 1);
		long long pid;
		size_t col;
		if (!split_row(l, len, pid_end, token, &pid, &col)) {
			put(out, l, len);
			continue;
		}
		long long xid = pid < 0 ? -1 : xid_of(s, pid, pspid);
		char num[24];
		const char *shown = "";
		long units = 0;
		if (xid >= 0) {
			snprintf(num, sizeof(num), "%lld", xid);
			size_t c = 0;
			while (c < ncache && cache[c].xid != (uint32_t)xid)
				c++;
			if (c == ncache) {
				const char *raw = name_of(ns, (uint32_t)xid);
				size_t rl = strlen(raw), cap = rl * 10 + 1;
				char *t = malloc(cap);
				cache = realloc(cache, (ncache + 1) * sizeof(*cache));
				if (!t || !cache)
					die("out of memory");
				if (js_length(raw, rl) < 0)
					return -1;
				vctx_escape(raw, rl, t, cap);
				cache[ncache++] = (struct shown){ (uint32_t)xid, t, js_length(t, strlen(t)) };
			}
			shown = cache[c].text;
			units = cache[c].units;
		} else {
			snprintf(num, sizeof(num), "%s", VCTX_VPS_UNKNOWN_XID);
		}
		put(out, l, len < col ? len : col);
		if (len < col)
			pad(out, col - len);
		size_t nl2 = strlen(num);
		if (nl2 < VCTX_VPS_XID_WIDTH)
			pad(out, VCTX_VPS_XID_WIDTH - nl2);
		put(out, num, nl2);
		put(out, " ", 1);
		put(out, shown, strlen(shown));
		long field = (long)(nl2 > VCTX_VPS_XID_WIDTH ? nl2 : VCTX_VPS_XID_WIDTH) + 1 + units;
		if (field < VCTX_VPS_CONTEXT_WIDTH)
			pad(out, (size_t)(VCTX_VPS_CONTEXT_WIDTH - field));
		else
			put(out, " ", 1);
		if (len > col)
			put(out, l + col, len - col);
	}
	if (n && p[n - 1] == '\n')
		put(out, "\n", 1);
	for (size_t c = 0; c < ncache; c++)
		free(cache[c].text);
	free(cache);
	return 0;
}

/* the configuration directory as resolvePaths gives it, or NULL when only
   Node would resolve it the same (a relative path, or dots in it) */
static const char *confdir_of(void)
{
	static char dflt[PATH_MAX];
	const char *c = getenv("VSERVER_CONFDIR");
	if (!c || !*c)	/* the instance's default (docs/instances.md) */
		return vctx_instance_dir("/etc/vservers", dflt, sizeof(dflt));
	if (c[0] != '/' || strstr(c, "/./") || strstr(c, "/../") || strstr(c, "//"))
		return NULL;
	size_t l = strlen(c);
	if ((l >= 2 && !strcmp(c + l - 2, "/.")) || (l >= 3 && !strcmp(c + l - 3, "/..")) || (l > 1 && c[l - 1] == '/'))
		return NULL;
	return c;
}

int main(int argc, char **argv)
{
	char **ps_argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!ps_argv)
		die("out of memory");
	int np = 0, json = 0;
	ps_argv[np++] = "ps";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			ps_argv[np++] = argv[i];
		else
			json = 1;
	}

	unsetenv("VCTX_VPS_PS");
	const char *render_env = getenv("VCTX_VPS_RENDER");
	int node = render_env && !strcmp(render_env, "node");
	unsetenv("VCTX_VPS_RENDER");
	/* Node answers --help and --version first, refuses non-root and a bad VCTX_INSTANCE */
	if ((argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "--version"))) || geteuid() != 0 ||
	    !vctx_instance())
		return vctx_front_exec_node(prog, "vps.cjs", argc, argv);
	const char *confdir = confdir_of();
	if (node || json || !confdir || getenv("VCTX_STATUS_FD"))
		return node_from_start(ps_argv, argc, argv);

	struct buf ps = { 0 };
	pid_t pspid = 0;
	int code = run_ps(ps_argv, &ps, &pspid);
	if (ps.len == 0)
		return code;
	/* Node decodes what is not ASCII (and counts it in UTF-16 units) */
	for (size_t i = 0; i < ps.len; i++)
		if ((unsigned char)ps.p[i] >= 0x80)
			return node_after_ps(&ps, pspid, code, argc, argv);

	vctx_error e = { 0 };
	struct vctx_scanner *sc = vctx_scanner_new(&e);
	const struct vctx_snapshot *snap = NULL;
	if (!sc)
		return node_after_ps(&ps, pspid, code, argc, argv);
	vctx_scanner_set_lite(sc, 1);
	if (vctx_scan(sc, &snap, &e) < 0)
		return node_after_ps(&ps, pspid, code, argc, argv);

	/* names: the snapshot's; the configuration's when one is missing
	   (src/cli/common.ts namesForSnapshot) */
	struct names ns = { 0 };
	int missing = 0;
	for (size_t i = 0; i < snap->nctxs; i++) {
		const struct vctx_ctx *c = &snap->ctxs[i];
		if (c->name[0])
			name_set(&ns, c->xid, c->name, strlen(c->name));
		else if (xid_known(c->xid))
			missing = 1;
	}
	for (size_t i = 0; !missing && i < snap->nprocs; i++)
		if (xid_known(snap->procs[i].xid) && !name_slot(&ns, snap->procs[i].xid))
			missing = 1;
	if (missing && add_configured_names(&ns, confdir) < 0)
		return node_after_ps(&ps, pspid, code, argc, argv);

	struct buf out = { 0 };
	int r = render(&ps, snap, pspid, &ns, &out);
	if (r < 0)
		return node_after_ps(&ps, pspid, code, argc, argv);
	if (r > 0) {
		fprintf(stderr, "%s: %s\n", prog, VCTX_VPS_NO_PID_COLUMN);
		return 1;
	}
	/* a reader that has gone away is no error (as writeOut) */
	signal(SIGPIPE, SIG_IGN);
	for (size_t at = 0; at < out.len;) {
		ssize_t w = write(1, out.p + at, out.len - at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (errno == EPIPE)
				break;
			fprintf(stderr, "%s: cannot write: %s\n", prog, strerror(errno));
			return 1;
		}
		at += (size_t)w;
	}
	return code;
}
