/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Instances (docs/instances.md): VCTX_INSTANCE=NAME in the environment
 * selects a second, independent vctx on the same kernel.  Unset or empty is
 * the default instance, whose paths are the ones vctx always had.  A named
 * instance has its own cgroup tree (<cgroup2>/vctx@NAME), eBPF pins
 * (/sys/fs/bpf/vctx@NAME), run directory (/run/vctx@NAME) and XID range:
 * XID_RANGE=LO-HI in /etc/vctx/instances/NAME.conf, else 256 XIDs derived
 * from the name in 40960..49151.  The default instance owns every XID no
 * named instance reserves.  The name follows the server-name rule of
 * kernel/tables/vctx-tables.json.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "util.h"
#include "internal.h"

/* the next code point of UTF-8 @s, advancing it; -1 when malformed */
static long utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	long c;
	int n;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0)
		c = p[0] & 0x1f, n = 1;
	else if ((p[0] & 0xf0) == 0xe0)
		c = p[0] & 0x0f, n = 2;
	else if ((p[0] & 0xf8) == 0xf0)
		c = p[0] & 0x07, n = 3;
	else
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3f);
	}
	static const long least[] = { 0, 0x80, 0x800, 0x10000 };
	if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*s = p + n + 1;
	return c;
}

/* JavaScript's \s */
static int js_blank(long c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000 || c == 0xfeff;
}

/*
 * Why @name cannot name a server (or an instance): the checks of
 * kernel/tables/vctx-tables.json in their order, as serverNameProblem in
 * src/config does, or NULL.
 */
VCTX_API const char *vctx_name_problem(const char *name, char *buf, size_t len)
{
	static const struct { enum vctx_name_test test; const char *arg, *says; } checks[] = {
#define CHECK(test, arg, says) { test, arg, says },
		VCTX_NAME_CHECKS(CHECK)
#undef CHECK
	};
	const unsigned char *p = (const unsigned char *)name;
	size_t units = 0;
	int blank = 0, control = 0;

	while (*p) {
		long c = utf8_next(&p);
		if (c < 0) {
			snprintf(buf, len, "the name is not valid UTF-8; %s", VCTX_NAME_RULE);
			return buf;
		}
		units += c > 0xffff ? 2 : 1;
		blank |= js_blank(c);
		control |= c < 0x20 || c == 0x7f;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const char *arg = checks[i].arg;
		int hit = 0;
		switch (checks[i].test) {
		case VCTX_NAME_EMPTY: hit = !*name; break;
		case VCTX_NAME_LONGER: hit = units > VCTX_NAME_MAX_UNITS; break;
		case VCTX_NAME_CONTAINS: hit = strstr(name, arg) != NULL; break;
		case VCTX_NAME_BLANK: hit = blank; break;
		case VCTX_NAME_CONTROL: hit = control; break;
		case VCTX_NAME_STARTS: hit = !strncmp(name, arg, strlen(arg)); break;
		}
		if (!hit)
			continue;
		int n = snprintf(buf, len, checks[i].says, units);
		if (n >= 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, "; %s", VCTX_NAME_RULE);
		return buf;
	}
	return NULL;
}

/* ------------------------------------------------------------ the instance */

static int inst_state;			/* 0 unresolved, 1 good, -1 a bad name */
static char inst_name[256];
static char inst_problem[480];
static char inst_cgroot[300] = VCTX_DEFAULT_CGROUP_ROOT;
static char inst_rundir[300] = VCTX_DEFAULT_RUNDIR;
static char inst_pindir[300] = VCTX_DEFAULT_BPF_PIN_DIR;

static void resolve(void)
{
	const char *e = getenv("VCTX_INSTANCE");
	char why[400];

	if (inst_state)
		return;
	inst_state = 1;
	if (!e || !*e)
		return;
	if (strlen(e) >= 200 || vctx_name_problem(e, why, sizeof(why))) {
		if (strlen(e) >= 200)
			snprintf(why, sizeof(why), "the name has more than %d characters; %s", VCTX_NAME_MAX_UNITS, VCTX_NAME_RULE);
		snprintf(inst_problem, sizeof(inst_problem), "VCTX_INSTANCE='%s': %s (an instance name follows the server-name rule)",
			 vctx_shown(e), why);
		inst_state = -1;
		/* nothing of an instance by this name can exist: a tool that did
		   not check finds an empty tree and creates nothing usable */
		e = "\x01invalid";
	}
	snprintf(inst_name, sizeof(inst_name), "%s", e);
	snprintf(inst_cgroot, sizeof(inst_cgroot), VCTX_DEFAULT_CGROUP_ROOT "@%s", e);
	snprintf(inst_rundir, sizeof(inst_rundir), VCTX_DEFAULT_RUNDIR "@%s", e);
	snprintf(inst_pindir, sizeof(inst_pindir), VCTX_DEFAULT_BPF_PIN_DIR "@%s", e);
}

VCTX_API const char *vctx_instance(void)
{
	resolve();
	return inst_state < 0 ? NULL : inst_name;
}

VCTX_API int vctx_instance_check(vctx_error *err)
{
	resolve();
	if (inst_state < 0)
		return vctx_set_error(err, EINVAL, "%s", inst_problem);
	return 0;
}

VCTX_API const char *vctx_cgroup_root(void)
{
	resolve();
	return inst_cgroot;
}

VCTX_API const char *vctx_rundir(void)
{
	resolve();
	return inst_rundir;
}

VCTX_API const char *vctx_pin_dir(void)
{
	resolve();
	return inst_pindir;
}

VCTX_API const char *vctx_instance_dir(const char *base, char *buf, size_t len)
{
	const char *i = vctx_instance();
	int n;

	if (!i)
		return NULL;
	n = snprintf(buf, len, "%s%s%s", base, *i ? "@" : "", i);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

/* -------------------------------------------------------------- XID ranges */

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int parse_u32(const char *s, const char *end, uint32_t *out)
{
	uint32_t v = 0;
	if (s == end || end - s > 5)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/**
 * vctx_instance_range - the XID range of named instance @name: XID_RANGE=LO-HI
 * in VCTX_INSTANCES_DIR/NAME.conf, else derived from the name.
 */
VCTX_API int vctx_instance_range(const char *name, struct vctx_xid_range *r, vctx_error *err)
{
	char path[290], buf[4096], *line;
	int lineno = 0;

	memset(r, 0, sizeof(*r));
	if (!name || !*name)
		return vctx_set_error(err, EINVAL, "the default instance has no XID range of its own: it owns every XID no named instance reserves");
	uint32_t slot = fnv1a(name) % VCTX_INSTANCE_SLOTS;
	r->lo = VCTX_INSTANCE_BAND_MIN + slot * VCTX_INSTANCE_SLOT_XIDS;
	r->hi = r->lo + VCTX_INSTANCE_SLOT_XIDS - 1;
	snprintf(r->source, sizeof(r->source), "derived from the name");
	if (vctx_pathf(path, sizeof(path), "%s/%s.conf", VCTX_INSTANCES_DIR, name) < 0)
		return vctx_set_error(err, ENAMETOOLONG, "the instance name '%s' is too long", vctx_shown(name));
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return vctx_set_error(err, errno, "cannot read %s: %s", path, strerror(errno));
	}
	/* root decides the ranges: a file others could write is not taken */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return vctx_set_error(err, EPERM, "%s: must be a regular file owned by root and writable by root only (chown root %s; chmod go-w %s)",
				      path, path, path);
	}
	ssize_t n = 0, got;
	while ((size_t)n < sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			close(fd);
			return vctx_set_error(err, e, "cannot read %s: %s", path, strerror(e));
		}
		n += got;
	}
	close(fd);
	buf[n] = 0;
	for (char *next = buf; next; ) {
		line = next;
		if ((next = strchr(next, '\n')))
			*next++ = 0;
		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq || strncmp(line, "XID_RANGE", (size_t)(eq - line)) || eq - line != 9)
			return vctx_set_error(err, EINVAL, "%s:%d: '%s': the file holds only XID_RANGE=LO-HI", path, lineno, vctx_shown(line));
		char *v = eq + 1, *vend = v + strlen(v);
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
			vend--;
		if (vend - v >= 2 && (*v == '"' || *v == '\'') && vend[-1] == *v)
			v++, vend--;
		char *dash = memchr(v, '-', (size_t)(vend - v));
		uint32_t lo, hi;
		if (!dash || parse_u32(v, dash, &lo) || parse_u32(dash + 1, vend, &hi) ||
		    lo < VCTX_XID_STATIC_MIN || hi > VCTX_XID_STATIC_MAX || lo > hi) {
			*vend = 0;
			return vctx_set_error(err, EINVAL, "%s:%d: XID_RANGE='%s': must be LO-HI with %u <= LO <= HI <= %u",
					      path, lineno, vctx_shown(v), VCTX_XID_STATIC_MIN, VCTX_XID_STATIC_MAX);
		}
		r->lo = lo;
		r->hi = hi;
		snprintf(r->source, sizeof(r->source), "%s", path);
	}
	return 0;
}

/* a named instance seen: NAME.conf in VCTX_INSTANCES_DIR or a vctx@NAME tree */
struct seen {
	char names[64][256];
	int n;
};

static void seen_add(struct seen *s, const char *name)
{
	char why[400];
	if (s->n >= 64 || vctx_name_problem(name, why, sizeof(why)))
		return;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return;
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name);
}

/* every named instance this host knows: configured, or with a cgroup tree */
static void known_instances(struct seen *s)
{
	const struct vctx_cgroup_layout *l = vctx_cgroup_layout(NULL);
	DIR *d;
	struct dirent *e;

	s->n = 0;
	if ((d = opendir(VCTX_INSTANCES_DIR))) {
		while ((e = readdir(d))) {
			size_t len = strlen(e->d_name);
			if (len > 5 && len < 250 && !strcmp(e->d_name + len - 5, ".conf")) {
				char nm[256];
				snprintf(nm, sizeof(nm), "%.*s", (int)(len - 5), e->d_name);
				seen_add(s, nm);
			}
		}
		closedir(d);
	}
	if (l && (d = opendir(l->v2))) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, VCTX_DEFAULT_CGROUP_ROOT "@", sizeof(VCTX_DEFAULT_CGROUP_ROOT)))
				seen_add(s, e->d_name + sizeof(VCTX_DEFAULT_CGROUP_ROOT));
		closedir(d);
	}
}

/**
 * vctx_xid_allowed - may this instance use @xid (0: pick a dynamic one)?
 * Fills *dyn with where a dynamic XID is looked for (a named instance:
 * its range; the default: 49152..65535, which no named range reaches).  A named instance
 * whose range overlaps another named instance's is refused.
 */
int vctx_xid_allowed(uint32_t xid, struct vctx_xid_range *dyn, vctx_error *err)
{
	struct seen s;
	struct vctx_xid_range mine, other;
	const char *me;

	if (vctx_instance_check(err) < 0)
		return -1;
	me = vctx_instance();
	if (*me) {
		if (vctx_instance_range(me, &mine, err) < 0)
			return -1;
		known_instances(&s);
		for (int i = 0; i < s.n; i++) {
			if (!strcmp(s.names[i], me))
				continue;
			if (vctx_instance_range(s.names[i], &other, err) < 0)
				return -1;
			if (mine.lo <= other.hi && other.lo <= mine.hi)
				return vctx_set_error(err, EBUSY,
					"instance %s's XIDs %u..%u (%s) overlap instance %s's %u..%u: give it another XID_RANGE=LO-HI in %s/%s.conf",
					me, mine.lo, mine.hi, mine.source, s.names[i], other.lo, other.hi, VCTX_INSTANCES_DIR, me);
		}
		if (xid && (xid < mine.lo || xid > mine.hi))
			return vctx_set_error(err, ERANGE, "context %u is outside instance %s's XIDs %u..%u (%s)",
					      xid, me, mine.lo, mine.hi, mine.source);
		*dyn = mine;
		return 0;
	}
	dyn->lo = VCTX_XID_DYN_MIN;
	dyn->hi = VCTX_XID_DYN_MAX;
	snprintf(dyn->source, sizeof(dyn->source), "the default instance");
	if (!xid)
		return 0;	/* no directory read: the default's dynamic band is no named range's */
	known_instances(&s);
	for (int i = 0; i < s.n; i++) {
		if (vctx_instance_range(s.names[i], &other, err) < 0)
			return -1;
		if (xid >= other.lo && xid <= other.hi)
			return vctx_set_error(err, ERANGE, "context %u belongs to instance %s's XIDs %u..%u (%s): the default instance may not use it",
					      xid, s.names[i], other.lo, other.hi, other.source);
	}
	return 0;
}

/* is cgroup path @rel (no leading '/') below this instance's tree: "vctx/..." */
int vctx_below_root(const char *rel)
{
	const char *root = vctx_cgroup_root();
	size_t n = strlen(root);
	return !strncmp(rel, root, n) && rel[n] == '/';
}
