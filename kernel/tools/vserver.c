// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vserver - the `vserver` command's front.  `vserver NAME status` and
 * `vserver NAME running` of a server that runs as its last start left it
 * are answered here, in C (status_here below); everything else becomes
 * Node with the vserver bundle (dist/vserver.cjs, src/cli/vserver.ts) and
 * the same arguments.
 *
 * Why in C: Node's start alone (~20 ms) is most of a status; the answer
 * itself is a state file, a cgroup and a few lines.  The lines come from
 * kernel/tables/vctx-tables.json ("render.status"; out/vctx-tables.h),
 * which src/cli/vserver-format.ts prints from too, and
 * test/integration/native-render.test.ts compares both paths byte for
 * byte.  This path answers only where it knows the answer is Node's:
 *
 *  - exactly `NAME status` or `NAME running` as root, the directories
 *    from the environment (VSERVER_CONFDIR, _RUNDIR) as absolute paths
 *    without dots, no status fd (VCTX_STATUS_FD), and not
 *    VCTX_VSERVER_RENDER=node (how the test asks for Node);
 *  - a name of letters, digits and . _ + - that the name rule of the
 *    tables accepts;
 *  - for status: NAME.conf trusted (root's, not writable by others, in
 *    such a directory) and judged valid by Node before: the verdict Node
 *    keeps in RUNDIR/.config-check/NAME.json (src/actions/status.ts) is
 *    "no error" for the same text and the same status bundle
 *    (dist/cjs/vserver-status.js, its size and mtime in ns);
 *  - RUNDIR/NAME/state.json names the server's context, whose cgroup is
 *    the one it recorded (same inode), with processes or a live monitor
 *    (else Node repairs what a crash left).
 *
 * Else it hands Node what a status asks of the kernel, in the environment
 * variable VCTX_FRONT_KERNEL (libvctx's vctx_front_kernel_json: the cgroup
 * layout and the running contexts, ~0.1 ms here): without it a status
 * loads the native addon and its shared libraries (libbpf, libseccomp,
 * libstdc++: ~5 ms) for those two answers.  Node reads the variable and
 * removes it before anything else (src/kernel-bridge/front.ts), so no
 * command it runs inherits it.
 *
 * The bundle is found from this binary's own path: kernel/out/vserver ->
 * dist/vserver.cjs; node is looked up in PATH, with NODE_EXTRA_CA_CERTS
 * removed (with it Node reads a CA bundle at start, ~40 ms) and without
 * env(1), which would set up its locale first (~0.8 ms).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-tables.h"
#include "../lib/escape.h"

#define FRONT_ENV "VCTX_FRONT_KERNEL"
#define NODE_PATH -1		/* status_here: Node answers */

/* a whole file into a NUL-terminated buffer (free it); NULL when unreadable */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (!b)
			break;
		if (n + 1 >= cap) {
			char *q = realloc(b, cap *= 2);
			if (!q) {
				free(b);
				b = NULL;
				break;
			}
			b = q;
		}
		ssize_t r = read(fd, b + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			b = NULL;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (b) {
		b[n] = 0;
		*len = n;
	}
	return b;
}

/* a directory from the environment as resolvePaths gives it, or NULL when
   only Node resolves it the same (relative, dots, double or last slash) */
static const char *dir_of(const char *env, const char *dflt)
{
	const char *c = getenv(env);
	if (!c || !*c)
		return dflt;
	size_t l = strlen(c);
	if (c[0] != '/' || l < 2 || c[l - 1] == '/' || strstr(c, "//") || strstr(c, "/./") || strstr(c, "/../") ||
	    (l >= 2 && !strcmp(c + l - 2, "/.")) || (l >= 3 && !strcmp(c + l - 3, "/..")))
		return NULL;
	return c;
}

/* a name this path takes: the tables' rule, and only letters, digits, . _ + - */
static int name_ok(const char *name)
{
	size_t l = strlen(name);
	for (size_t i = 0; i < l; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return 0;
	}
#define CHECK(test, arg, says) \
	if ((test == VCTX_NAME_EMPTY && l == 0) || (test == VCTX_NAME_LONGER && l > VCTX_NAME_MAX_UNITS) || \
	    (test == VCTX_NAME_CONTAINS && strstr(name, (const char *)(arg) ? (const char *)(arg) : "")) || \
	    (test == VCTX_NAME_STARTS && !strncmp(name, (const char *)(arg) ? (const char *)(arg) : "", \
						   strlen((const char *)(arg) ? (const char *)(arg) : "")))) \
		return 0;
	VCTX_NAME_CHECKS(CHECK)
#undef CHECK
	return 1;
}

/* room for @n more bytes in *@out (grown with realloc); -1 on memory */
static int grow(char **out, size_t *len, size_t *cap, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*len + n + 1) * 2;
		char *q = realloc(*out, c);
		if (!q)
			return -1;
		*out = q;
		*cap = c;
	}
	return 0;
}

static int json_raw(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (grow(out, len, cap, n) < 0)
		return -1;
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = 0;
	return 0;
}

/* JSON.stringify of valid UTF-8 @s appended to *@out; -1 on memory */
static int json_quote(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (grow(out, len, cap, n * 6 + 2) < 0)
		return -1;
	char *o = *out + *len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f" :
				  c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
		if (esc) {
			memcpy(o, esc, 2);
			o += 2;
		} else if (c < 0x20) {
			o += sprintf(o, "\\u%04x", c);
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	*o = 0;
	*len = (size_t)(o - *out);
	return 0;
}

static int valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len((const unsigned char *)s + i, n - i);
		if (!l)
			return 0;
		i += l;
	}
	return 1;
}

/*
 * Is NAME.conf trusted (checkTrustedFile, src/config/checks.ts, for root)
 * and did Node judge this text valid with this status bundle?
 */
static int config_known_good(const char *root, const char *conf, const char *rundir, const char *name)
{
	struct stat st, dst;
	if (stat(conf, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return 0;
	char real[PATH_MAX];
	if (!realpath(conf, real))
		return 0;
	char *slash = strrchr(real, '/');
	if (!slash)
		return 0;
	if (slash == real)
		slash[1] = 0;
	else
		*slash = 0;
	if (stat(real, &dst) < 0 || dst.st_uid != 0 || ((dst.st_mode & 022) && !(dst.st_mode & 01000)))
		return 0;

	char code[PATH_MAX];
	struct stat cs;
	if ((size_t)snprintf(code, sizeof(code), "%s/dist/cjs/vserver-status.js", root) >= sizeof(code) || stat(code, &cs) < 0)
		return 0;
	size_t tl = 0;
	char *text = slurp(conf, &tl);
	if (!text)
		return 0;
	int good = 0;
	char id[64];
	snprintf(id, sizeof(id), "%lld:%lld", (long long)cs.st_size,
		 (long long)cs.st_mtim.tv_sec * 1000000000LL + cs.st_mtim.tv_nsec);
	/* key = JSON.stringify([ID, FILE, TEXT]); the memo {"key":KEY,"error":null} */
	char *key = NULL, *memo = NULL;
	size_t kl = 0, kc = 0, ml = 0, mc = 0;
	if (valid_utf8(text, tl) && valid_utf8(conf, strlen(conf)) &&
	    !json_raw(&key, &kl, &kc, "[", 1) && !json_quote(&key, &kl, &kc, id, strlen(id)) &&
	    !json_raw(&key, &kl, &kc, ",", 1) && !json_quote(&key, &kl, &kc, conf, strlen(conf)) &&
	    !json_raw(&key, &kl, &kc, ",", 1) && !json_quote(&key, &kl, &kc, text, tl) &&
	    !json_raw(&key, &kl, &kc, "]", 1) &&
	    !json_raw(&memo, &ml, &mc, "{\"key\":", 7) && !json_quote(&memo, &ml, &mc, key, kl) &&
	    !json_raw(&memo, &ml, &mc, ",\"error\":null}\n", 15)) {
		char path[PATH_MAX];
		size_t have = 0;
		char *kept = NULL;
		if ((size_t)snprintf(path, sizeof(path), "%s/.config-check/%s.json", rundir, name) < sizeof(path))
			kept = slurp(path, &have);
		good = kept && have == ml && !memcmp(kept, memo, ml);
		free(kept);
	}
	free(key);
	free(memo);
	free(text);
	return good;
}

/* ------------------------------------------------------------ state.json */

struct state {
	int name_ok;		/* "name" is the server's */
	long long xid;		/* -1: null or missing */
	char ino[32];		/* "" null or missing */
	long long monitor;	/* 0: null */
	int started_known;
	double started;		/* unix ms */
	int seen;		/* the keys read: 1 name 2 xid 4 cgroupIno 8 monitor 16 startedAt */
};

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* a JSON string at @p into @out (ASCII escapes only); the end, or NULL */
static const char *jstring(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		char c = *p++;
		if ((unsigned char)c < 0x20)
			return NULL;
		if (c == '\\') {
			char e = *p++;
			if (e == 'u') {
				unsigned v = 0;
				for (int i = 0; i < 4; i++, p++) {
					char h = *p;
					v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
							      h >= 'A' && h <= 'F' ? h - 'A' + 10 : 99);
					if (v > 0xffff)
						return NULL;
				}
				if (v >= 0x80 || v == 0)
					return NULL;	/* Node's business */
				c = (char)v;
			} else {
				const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *k = strchr(from, e);
				if (!e || !k)
					return NULL;
				c = to[k - from];
			}
		}
		if (n + 1 >= cap)
			return NULL;
		out[n++] = c;
	}
	if (*p != '"')
		return NULL;
	out[n] = 0;
	return p + 1;
}

/* skips one JSON value; the end, or NULL */
static const char *jskip(const char *p, int depth)
{
	char tmp[4096];
	p = ws(p);
	if (depth > 32)
		return NULL;
	if (*p == '"')
		return jstring(p, tmp, sizeof(tmp));
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = jstring(ws(p), tmp, sizeof(tmp));
				if (!p || *(p = ws(p)) != ':')
					return NULL;
				p++;
			}
			if (!(p = jskip(p, depth + 1)))
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (!strncmp(p, "null", 4) || !strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	const char *s = p;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return NULL;
	while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')
		p++;
	return p > s ? p : NULL;
}

/* a whole number (digits only) or null at @p: *v, -1 for null */
static const char *jcount(const char *p, long long *v)
{
	if (!strncmp(p, "null", 4)) {
		*v = -1;
		return p + 4;
	}
	const char *s = p;
	long long n = 0;
	while (*p >= '0' && *p <= '9' && p - s < 12)
		n = n * 10 + (*p++ - '0');
	if (p == s || (*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || (s[0] == '0' && p - s > 1))
		return NULL;
	*v = n;
	return p;
}

/* RUNDIR/NAME/state.json as readState reads it; 0, or -1 when Node would read it otherwise */
static int read_state(const char *rundir, const char *name, struct state *st)
{
	char path[PATH_MAX], str[4096];
	size_t len;
	memset(st, 0, sizeof(*st));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/state.json", rundir, name) >= sizeof(path))
		return -1;
	char *text = slurp(path, &len);
	if (!text || strlen(text) != len)
		goto bad;
	const char *p = ws(text);
	if (*p++ != '{')
		goto bad;
	p = ws(p);
	while (*p != '}') {
		char key[32];
		if (!(p = jstring(p, key, sizeof(key))) || *(p = ws(p)) != ':')
			goto bad;
		p = ws(p + 1);
		if (!strcmp(key, "name")) {
			if (!(p = jstring(p, str, sizeof(str))))
				goto bad;
			st->name_ok = !strcmp(str, name);
			st->seen |= 1;
		} else if (!strcmp(key, "xid")) {
			if (!(p = jcount(p, &st->xid)))
				goto bad;
			st->seen |= 2;
		} else if (!strcmp(key, "cgroupIno")) {
			if (!strncmp(p, "null", 4)) {
				st->ino[0] = 0;
				p += 4;
			} else if (!(p = jstring(p, st->ino, sizeof(st->ino))) || !st->ino[0]) {
				goto bad;
			}
			st->seen |= 4;
		} else if (!strcmp(key, "monitor")) {
			long long m;
			if (!(p = jcount(p, &m)))
				goto bad;
			st->monitor = m < 0 ? 0 : m;
			st->seen |= 8;
		} else if (!strcmp(key, "startedAt")) {
			if (!strncmp(p, "null", 4)) {
				st->started_known = 0;
				p += 4;
			} else {
				const char *s = p;
				if (!(p = jskip(p, 0)) || *s == '"' || *s == '[' || *s == '{' || *s == 't' || *s == 'f')
					goto bad;
				char *end;
				st->started = strtod(s, &end);
				if (end != p || !(st->started > -1e300 && st->started < 1e300))
					goto bad;
				st->started_known = 1;
			}
			st->seen |= 16;
		} else if (!(p = jskip(p, 0))) {
			goto bad;
		}
		p = ws(p);
		if (*p == ',')
			p = ws(p + 1);
		else if (*p != '}')
			goto bad;
	}
	if (*ws(p + 1) || st->seen != 31 || !st->name_ok || st->xid < 0 || !st->ino[0])
		goto bad;
	free(text);
	return 0;
bad:
	free(text);
	return -1;
}

/* ------------------------------------------------------------ the kernel */

/* PIDs in the cgroup subtree at @dir, as cgroupPids counts them */
static long cgroup_pids(const char *dir, int depth)
{
	char path[PATH_MAX];
	size_t len;
	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return 0;
	char *t = slurp(path, &len);
	if (!t)
		return 0;
	long n = 0;
	for (size_t i = 0; i < len; i++)
		if (t[i] != '\n' && (i + 1 == len || t[i + 1] == '\n'))
			n++;
	free(t);
	if (depth > 16)
		return n;
	DIR *d = opendir(dir);
	if (!d)
		return n;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path))
			n += cgroup_pids(path, depth + 1);
	}
	closedir(d);
	return n;
}

static int cgroup_populated(const char *dir)
{
	char path[PATH_MAX];
	size_t len;
	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.events", dir) >= sizeof(path))
		return 0;
	char *t = slurp(path, &len);
	int yes = t && (!strncmp(t, "populated 1\n", 12) || strstr(t, "\npopulated 1\n") ||
			(len >= 11 && !strcmp(t + len - 11, "populated 1") && (len == 11 || t[len - 12] == '\n')));
	free(t);
	return yes;
}

/* processAlive: /proc/PID/stat's state is not Z or X */
static int process_alive(long long pid)
{
	if (pid <= 0)
		return 0;
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	char *t = slurp(path, &len);
	char *r = t ? strrchr(t, ')') : NULL;
	int alive = r && r[1] == ' ' && r[2] && r[2] != 'Z' && r[2] != 'X';
	free(t);
	return alive;
}

/* this tree's root: kernel/out/vserver -> ... */
static int tree_root(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	if (n <= 0)
		return -1;
	out[n] = 0;
	for (int i = 0; i < 3; i++) {
		char *s = strrchr(out, '/');
		if (!s || s == out)
			return -1;
		*s = 0;
	}
	return 0;
}

/*
 * `vserver NAME status|running` answered here: the exit status, or
 * NODE_PATH when Node answers (see the top).
 */
static int status_here(int argc, char **argv)
{
	if (argc != 3 || geteuid() != 0 || getenv("VCTX_STATUS_FD"))
		return NODE_PATH;
	const char *r = getenv("VCTX_VSERVER_RENDER");
	if (r && !strcmp(r, "node"))
		return NODE_PATH;
	const char *name = argv[1], *verb = argv[2];
	int status = !strcmp(verb, "status");
	if (!status && strcmp(verb, "running"))
		return NODE_PATH;
	/* the instance's defaults (docs/instances.md) */
	char dconf[PATH_MAX], drun[PATH_MAX];
	const char *confdir = dir_of("VSERVER_CONFDIR", vctx_instance_dir("/etc/vservers", dconf, sizeof(dconf)));
	const char *rundir = dir_of("VSERVER_RUNDIR", vctx_instance_dir("/run/vservers", drun, sizeof(drun)));
	char root[PATH_MAX], conf[PATH_MAX];
	if (!confdir || !rundir || !name_ok(name) || tree_root(root, sizeof(root)) < 0 ||
	    (size_t)snprintf(conf, sizeof(conf), "%s/%s.conf", confdir, name) >= sizeof(conf))
		return NODE_PATH;
	if (status && !config_known_good(root, conf, rundir, name))
		return NODE_PATH;
	struct state st;
	if (read_state(rundir, name, &st) < 0)
		return NODE_PATH;
	vctx_error e = { 0 };
	const struct vctx_cgroup_layout *l = vctx_cgroup_layout(&e);
	char dir[PATH_MAX];
	struct stat ds;
	if (!l || !l->v2[0] ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/%s/%lld", l->v2, vctx_cgroup_root(), st.xid) >= sizeof(dir) ||
	    stat(dir, &ds) < 0)
		return NODE_PATH;
	char ino[32];
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)ds.st_ino);
	if (strcmp(ino, st.ino))
		return NODE_PATH;	/* gone: a crash's leftover, Node repairs */
	long nprocs = cgroup_pids(dir, 0);
	int empty = nprocs == 0 && !cgroup_populated(dir);
	if (!status)
		return empty ? 1 : 0;
	if (empty && !process_alive(st.monitor))
		return NODE_PATH;	/* stale: Node repairs */

	if (empty) {
		printf(VCTX_STATUS_STOPPED_FMT, name);
		return fflush(stdout) && errno != EPIPE ? 1 : 3;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* Math.max(0, Math.floor((Date.now() - startedAt) / 1000)) */
	double now_ms = (double)now.tv_sec * 1000 + (double)(now.tv_nsec / 1000000);
	double started = st.started_known ? st.started : now_ms;
	double up = (now_ms - started) / 1000;
	long long sec = up >= 1 ? (long long)up : 0;
	char uptime[96];
	long long d = sec / 86400, h = sec % 86400 / 3600, m = sec % 3600 / 60, s = sec % 60;
	if (d)
		snprintf(uptime, sizeof(uptime), VCTX_UPTIME_DAYS_FMT, d, h, m);
	else if (h)
		snprintf(uptime, sizeof(uptime), VCTX_UPTIME_HOURS_FMT, h, m, s);
	else if (m)
		snprintf(uptime, sizeof(uptime), VCTX_UPTIME_MINUTES_FMT, m, s);
	else
		snprintf(uptime, sizeof(uptime), VCTX_UPTIME_SECONDS_FMT, s);
	printf(VCTX_STATUS_RUNNING_FMT, name, (unsigned)st.xid, (int)nprocs, uptime);
	/* a reader that has gone away is no error (as writeOut) */
	return fflush(stdout) && errno != EPIPE ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	int code = status_here(argc, argv);
	if (code != NODE_PATH)
		return code;
	signal(SIGPIPE, SIG_DFL);
	unsetenv("VCTX_VSERVER_RENDER");

	char *json = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&json, &len);

	/* what cannot be handed over, Node asks the addon for */
	unsetenv(FRONT_ENV);
	if (f && vctx_instance()) {
		int bad = vctx_front_kernel_json(f) < 0;
		if (fclose(f) == 0 && !bad && json)
			setenv(FRONT_ENV, json, 1);
		free(json);
	}
	return vctx_front_exec_node("vserver", "vserver.cjs", argc, argv);
}
