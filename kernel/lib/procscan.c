// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host snapshot: every process (one /proc/PID/stat read each, opened
 * and closed again; none for a known process of a context that did not
 * run since the last scan: scan_procs),
 * its context (from the few contexts' cgroup.procs, read after the listing
 * of /proc and before the stat reads), and every context with its cgroup's
 * own figures and the trusted.vctx.* metadata.
 *
 * Races tolerated on purpose: a process that exits between getdents64 and
 * the read of its stat is skipped (ENOENT, ESRCH or an empty read); one
 * that moves into a context after its cgroup.procs was read shows as a
 * host process in that one snapshot; a cgroup removed during the walk is
 * skipped.  None of them is an error.
 *
 * Memory: the scanner owns every buffer and grows them geometrically; in
 * steady state (the same processes, or a churn no larger than before) a
 * refresh allocates nothing.  The per-process cache is an array sorted by
 * PID, merged with the sorted PID list of each refresh (procfs lists PIDs
 * in ascending order; anything else is sorted first).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "internal.h"
#include "escape.h"

/* escaped text is at most 4 bytes per raw byte */
#define COMM_RAW_MAX	128
#define ESC_MAX(n)	((n) * 4 + 1)
#define CTX_DEPTH_MAX	16

/* ------------------------------------------------------------ layout */

VCTX_API const char *vctx_source_name(enum vctx_source src)
{
	switch (src) {
	case VCTX_SRC_CGROUP2: return "cgroup2";
	case VCTX_SRC_CGROUP1: return "cgroup1";
	default: return "sum";
	}
}

static const char *const ns_names[VCTX_NS__COUNT] = {
	[VCTX_NS_PID] = "pid", [VCTX_NS_MNT] = "mnt", [VCTX_NS_IPC] = "ipc",
	[VCTX_NS_UTS] = "uts", [VCTX_NS_CGROUP] = "cgroup", [VCTX_NS_TIME] = "time",
};

VCTX_API const char *vctx_ns_name(enum vctx_ns_kind kind)
{
	return (unsigned)kind < VCTX_NS__COUNT ? ns_names[kind] : "";
}

const struct vctx_cgroup_layout *vctx__scan_layout(vctx_error *err)
{
	return vctx_cgroup_layout(err);
}

/* ------------------------------------------------------------ helpers */

/* write the decimal of v at p, return the end */
static char *put_u(char *p, unsigned long v)
{
	char t[24];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static const char *parse_u64(const char *p, uint64_t *v)
{
	uint64_t x = 0;

	while (*p == ' ')
		p++;
	while (*p >= '0' && *p <= '9')
		x = x * 10 + (uint64_t)(*p++ - '0');
	*v = x;
	return p;
}

static const char *parse_i64(const char *p, int64_t *v)
{
	uint64_t x;
	int neg = 0;

	while (*p == ' ')
		p++;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	p = parse_u64(p, &x);
	*v = neg ? -(int64_t)x : (int64_t)x;
	return p;
}

static const char *skip_fields(const char *p, int n)
{
	while (n-- > 0) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	return p;
}

/* read a whole file at dirfd/path into a growable buffer; length or -1 */
static ssize_t read_grow(int dirfd, const char *path, char **buf, size_t *cap)
{
	int fd cleanup_fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	size_t total = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		if (total + 1 >= *cap) {
			size_t nc = *cap ? *cap * 2 : 4096;
			char *nb = realloc(*buf, nc);
			if (!nb) {
				errno = ENOMEM;
				return -1;
			}
			*buf = nb;
			*cap = nc;
		}
		ssize_t n = read(fd, *buf + total, *cap - 1 - total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	(*buf)[total] = 0;
	return (ssize_t)total;
}

/* value after "key " in a flat keyed file (cpu.stat, memory.events); -1 if absent */
static int64_t keyed_value(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p;) {
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			uint64_t v;
			parse_u64(p + kl + 1, &v);
			return (int64_t)v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *n = realloc(*arr, nc * elem);
	if (!n)
		return -1;
	*arr = n;
	*cap = nc;
	return 0;
}

/* ------------------------------------------------------------ scanner */

struct statline {
	const char *comm;
	size_t comm_len;
	char state;
	int64_t ppid, utime, stime, cutime, cstime, nice, threads;
	uint64_t starttime, vsz, rss, startcode, endcode;
};

/* the figures of a statline that scan_procs may reuse (48 bytes less than one) */
struct laststat {
	uint64_t utime, stime, cutime, cstime, vsz, rss;
	int32_t ppid, threads, nice;
	char state;
};

/* what is cached per (pid, start time) */
struct pent {
	pid_t pid;
	pid_t inner_pid;	/* last NSpid field, -1 unknown */
	uid_t uid;
	uint64_t starttime;
	uint64_t startcode, endcode;	/* change on exec */
	uint64_t comm_sig;		/* hash of the raw comm */
	uint64_t gen;			/* when str was filled */
	char *str;		/* escaped comm NUL escaped cmdline NUL */
	size_t cap;
	size_t cmd_off;
	int lite;		/* filled without status/cmdline */
	int io_valid;		/* io_read/io_write were read */
	uint64_t io_read, io_write;	/* /proc/PID/io read_bytes, write_bytes */
	struct laststat last;	/* its stat when last read */
};

/* a context's CPU time at the last refresh: did it run since? */
struct prevcpu {
	uint32_t xid;
	int exact;		/* cgroup2 cpu.stat (else a sum of ticks: never trusted) */
	uint64_t usec;
};

/* a pid found in a context's cgroup.procs */
struct member {
	pid_t pid;
	uint32_t xid;
};

struct vctx_scanner {
	int procfd;
	long page_size;
	long clock_ticks;
	int64_t boot_time;
	const struct vctx_cgroup_layout *layout;

	char *dents;			/* getdents64 buffer */
	size_t dents_cap;
	pid_t *pids;
	size_t npids, pids_cap;

	struct pent *cache, *next;	/* double buffer, sorted by pid */
	size_t ncache, cache_cap, next_cap;
	char **spare;			/* string buffers of exited processes */
	size_t *spare_cap;
	size_t nspare, spare_slots;

	struct vctx_proc *procs;
	size_t nprocs, procs_cap;

	struct vctx_ctx *ctxs;
	size_t nctxs, ctxs_cap;
	struct member *members;
	size_t nmembers, members_cap;

	char *big;			/* cgroup.procs, status */
	size_t big_cap;
	char scratch[ESC_MAX(VCTX_CMDLINE_MAX) + ESC_MAX(COMM_RAW_MAX) + 64];

	uint64_t gen;			/* fills so far */
	int lite;			/* stat only: no inner PID, uid, cmdline */
	struct prevcpu *prev, *cur;	/* contexts' CPU time, last and this refresh */
	size_t nprev, prev_cap, cur_cap;
	unsigned char *ran;		/* per s->ctxs: ran since the last refresh */
	size_t ran_cap;
	uint32_t *order;		/* s->ctxs' indices by xid */
	size_t order_cap;
	unsigned round;			/* full scans so far */
	struct vctx_snapshot snap;
};

static int64_t read_btime(void)
{
	char *buf = NULL;
	size_t cap = 0;
	int64_t v = 0;

	if (read_grow(AT_FDCWD, "/proc/stat", &buf, &cap) >= 0) {
		char *p = strstr(buf, "\nbtime ");
		if (p)
			parse_i64(p + 7, &v);
	}
	free(buf);
	return v;
}

VCTX_API struct vctx_scanner *vctx_scanner_new(vctx_error *err)
{
	struct vctx_scanner *s = calloc(1, sizeof(*s));

	if (!s) {
		vctx_set_error(err, ENOMEM, "creating the process scanner: out of memory");
		return NULL;
	}
	s->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->procfd < 0) {
		vctx_set_error(err, errno, "opening /proc: %s", strerror(errno));
		free(s);
		return NULL;
	}
	s->layout = vctx__scan_layout(err);
	if (!s->layout) {
		close(s->procfd);
		free(s);
		return NULL;
	}
	s->page_size = sysconf(_SC_PAGESIZE);
	s->clock_ticks = sysconf(_SC_CLK_TCK);
	s->boot_time = read_btime();
	s->dents_cap = 1 << 16;
	s->dents = malloc(s->dents_cap);
	if (!s->dents) {
		vctx_scanner_free(s);
		vctx_set_error(err, ENOMEM, "creating the process scanner: out of memory");
		return NULL;
	}
	return s;
}

VCTX_API void vctx_scanner_free(struct vctx_scanner *s)
{
	if (!s)
		return;
	if (s->procfd >= 0)
		close(s->procfd);
	for (size_t i = 0; i < s->ncache; i++)
		free(s->cache[i].str);
	for (size_t i = 0; i < s->nspare; i++)
		free(s->spare[i]);
	free(s->spare);
	free(s->spare_cap);
	free(s->cache);
	free(s->next);
	free(s->dents);
	free(s->pids);
	free(s->procs);
	free(s->ctxs);
	free(s->members);
	free(s->big);
	free(s->prev);
	free(s->cur);
	free(s->ran);
	free(s->order);
	free(s);
}

static void release_entry(struct vctx_scanner *s, struct pent *e)
{
	if (!e->str)
		return;
	if (s->nspare < s->spare_slots) {
		s->spare[s->nspare] = e->str;
		s->spare_cap[s->nspare++] = e->cap;
	} else {
		free(e->str);
	}
	e->str = NULL;
	e->cap = 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

static int cmp_member(const void *a, const void *b)
{
	pid_t x = ((const struct member *)a)->pid, y = ((const struct member *)b)->pid;
	return (x > y) - (x < y);
}

/* every numeric directory of /proc, sorted */
static int list_pids(struct vctx_scanner *s, vctx_error *err)
{
	int sorted = 1;

	s->npids = 0;
	if (lseek(s->procfd, 0, SEEK_SET) < 0)
		return vctx_set_error(err, errno, "rewinding /proc: %s", strerror(errno));
	for (;;) {
		long n = syscall(SYS_getdents64, s->procfd, s->dents, s->dents_cap);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vctx_set_error(err, errno, "listing /proc: %s", strerror(errno));
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(s->dents + off);
			const char *nm = d->d_name;
			off += d->d_reclen;
			if (nm[0] < '1' || nm[0] > '9')
				continue;
			unsigned long v = 0;
			for (; *nm >= '0' && *nm <= '9'; nm++)
				v = v * 10 + (unsigned long)(*nm - '0');
			if (*nm)
				continue;
			if (grow((void **)&s->pids, &s->pids_cap, s->npids + 1, sizeof(pid_t)) < 0)
				return vctx_set_error(err, ENOMEM, "listing /proc: out of memory");
			if (s->npids && s->pids[s->npids - 1] >= (pid_t)v)
				sorted = 0;
			s->pids[s->npids++] = (pid_t)v;
		}
	}
	if (!sorted)
		qsort(s->pids, s->npids, sizeof(pid_t), cmp_pid);
	return 0;
}


/* parse /proc/PID/stat (NUL-terminated); 0 or -1 when malformed */
static int parse_stat(const char *buf, struct statline *st)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')'), *p;
	int64_t dummy;

	if (!open || !close || close < open || close[1] != ' ')
		return -1;
	st->comm = open + 1;
	st->comm_len = (size_t)(close - open - 1);
	p = close + 2;
	st->state = *p++;			/* 3 */
	p = parse_i64(p, &st->ppid);		/* 4 */
	p = skip_fields(p, 9);			/* 5..13 */
	p = parse_i64(p, &st->utime);		/* 14 */
	p = parse_i64(p, &st->stime);		/* 15 */
	p = parse_i64(p, &st->cutime);		/* 16 */
	p = parse_i64(p, &st->cstime);		/* 17 */
	p = parse_i64(p, &dummy);		/* 18 priority */
	p = parse_i64(p, &st->nice);		/* 19 */
	p = parse_i64(p, &st->threads);		/* 20 */
	p = skip_fields(p, 1);			/* 21 */
	p = parse_u64(p, &st->starttime);	/* 22 */
	p = parse_u64(p, &st->vsz);		/* 23 */
	p = parse_u64(p, &st->rss);		/* 24 pages */
	p = skip_fields(p, 1);			/* 25 rsslim */
	p = parse_u64(p, &st->startcode);	/* 26 */
	p = parse_u64(p, &st->endcode);		/* 27 */
	return *p == ' ' || *p == '\n' || *p == 0 ? 0 : -1;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ n;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* fill the cached fields of a process seen for the first time (or after exec) */
static int fill_entry(struct vctx_scanner *s, struct pent *e, char *path, char *tail,
		      const struct statline *st)
{
	char *esc = s->scratch;
	size_t cl, ml;
	ssize_t n;

	/* uid and PID inside: /proc/PID/status */
	e->inner_pid = -1;
	e->uid = 0;
	e->lite = s->lite;
	if (s->lite) {
		/* one-shot summaries (vserver-stat) need none of it */
		cl = vctx__escape(st->comm, st->comm_len < COMM_RAW_MAX ? st->comm_len : COMM_RAW_MAX,
				 esc, ESC_MAX(COMM_RAW_MAX), 1);
		ml = 0;
		esc[cl + 1] = 0;
		goto store;
	}
	memcpy(tail, "/status", 8);
	n = read_grow(s->procfd, path, &s->big, &s->big_cap);
	if (n <= 0)
		return -1;
	{
		char *u = strstr(s->big, "\nUid:");
		if (u) {
			uint64_t r, eu;
			const char *q = parse_u64(u + 5 + strspn(u + 5, "\t "), &r);
			parse_u64(q + strspn(q, "\t "), &eu);
			e->uid = (uid_t)eu;
		}
		char *ns = strstr(s->big, "\nNSpid:");
		if (ns) {
			char *end = strchr(ns + 1, '\n');
			if (end)
				*end = 0;
			char *last = strrchr(ns, '\t');
			if (!last)
				last = strrchr(ns, ' ');
			if (last) {
				uint64_t v;
				parse_u64(last + 1, &v);
				e->inner_pid = (pid_t)v;
			}
		}
	}

	/* comm (already in hand) and the command line, both escaped */
	cl = vctx__escape(st->comm, st->comm_len < COMM_RAW_MAX ? st->comm_len : COMM_RAW_MAX,
			 esc, ESC_MAX(COMM_RAW_MAX), 1);
	char raw[VCTX_CMDLINE_MAX];
	memcpy(tail, "/cmdline", 9);
	{
		int fd cleanup_fd = openat(s->procfd, path, O_RDONLY | O_CLOEXEC);
		n = 0;
		if (fd >= 0) {
			while ((size_t)n < sizeof(raw)) {
				ssize_t r = read(fd, raw + n, sizeof(raw) - (size_t)n);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break;
				n += r;
			}
		}
	}
	while (n > 0 && raw[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (raw[i] == 0)
			raw[i] = ' ';
	ml = vctx__escape(raw, (size_t)n, esc + cl + 1, ESC_MAX(VCTX_CMDLINE_MAX), 1);

store:;
	size_t need = cl + 1 + ml + 1;
	if (e->cap < need) {
		/* reuse a spare buffer that fits, else allocate */
		char *buf = NULL;
		size_t bcap = 0;
		for (size_t i = s->nspare, tries = 0; i-- > 0 && tries++ < 16;) {
			if (s->spare_cap[i] >= need) {
				buf = s->spare[i];
				bcap = s->spare_cap[i];
				s->spare[i] = s->spare[--s->nspare];
				s->spare_cap[i] = s->spare_cap[s->nspare];
				break;
			}
		}
		if (!buf) {
			bcap = need < 64 ? 64 : need;
			buf = malloc(bcap);
			if (!buf) {
				errno = ENOMEM;
				return -1;
			}
		}
		free(e->str);
		e->str = buf;
		e->cap = bcap;
	}
	memcpy(e->str, esc, cl + 1 + ml + 1);
	e->cmd_off = cl + 1;
	e->gen = ++s->gen;
	return 0;
}

static long ctx_index(struct vctx_scanner *s, const uint32_t *order, uint32_t xid);

/*
 * A process whose stat was not read again because its context did not run
 * (scan_procs) is read anyway on every STALE_ROUNDS-th full scan (by pid,
 * a tenth of them each time): what can change while a process does not
 * run, another process renicing it or reclaim shrinking its RSS, shows
 * within that many refreshes.
 */
#define STALE_ROUNDS	10

/* @pid is in this refresh's listing */
static int pid_listed(const struct vctx_scanner *s, pid_t pid)
{
	return bsearch(&pid, s->pids, s->npids, sizeof(pid_t), cmp_pid) != NULL;
}

/*
 * One /proc/PID/stat per process, merged with the cache; none for a known
 * process of a context whose cgroup's CPU time has not moved since the
 * last full scan: it has not run, so its figures stand (see STALE_ROUNDS;
 * and one whose parent is gone is read: it was reparented).
 */
static int scan_procs(struct vctx_scanner *s, vctx_error *err)
{
	char path[64], buf[1024];
	size_t j = 0, k = 0;

	if (grow((void **)&s->next, &s->next_cap, s->npids, sizeof(struct pent)) < 0 ||
	    grow((void **)&s->procs, &s->procs_cap, s->npids, sizeof(struct vctx_proc)) < 0)
		return vctx_set_error(err, ENOMEM, "scanning /proc: out of memory");
	/* room for every buffer that may be released this round */
	if (s->spare_slots < s->ncache + 64) {
		size_t ns = s->ncache + 64;
		char **a = realloc(s->spare, ns * sizeof(char *));
		if (a)
			s->spare = a;
		size_t *b = realloc(s->spare_cap, ns * sizeof(size_t));
		if (b)
			s->spare_cap = b;
		if (a && b)
			s->spare_slots = ns;
	}

	size_t nn = 0;
	s->nprocs = 0;
	for (size_t i = 0; i < s->npids; i++) {
		pid_t pid = s->pids[i];
		char *tail = put_u(path, (unsigned long)pid);
		struct statline st;
		ssize_t n;

		/* exited processes left in the cache before this pid */
		while (j < s->ncache && s->cache[j].pid < pid)
			release_entry(s, &s->cache[j++]);
		struct pent *o = j < s->ncache && s->cache[j].pid == pid ? &s->cache[j++] : NULL;
		int skipped = 0;

		while (k < s->nmembers && s->members[k].pid < pid)
			k++;
		if (o && !s->lite && !o->lite && k < s->nmembers && s->members[k].pid == pid &&
		    ((unsigned)pid + s->round) % STALE_ROUNDS != 0) {
			long c = ctx_index(s, s->order, s->members[k].xid);
			if (c >= 0 && !s->ran[c] && (o->last.ppid == 0 || pid_listed(s, (pid_t)o->last.ppid))) {
				st = (struct statline){
					.state = o->last.state, .ppid = o->last.ppid, .utime = (int64_t)o->last.utime,
					.stime = (int64_t)o->last.stime, .cutime = (int64_t)o->last.cutime,
					.cstime = (int64_t)o->last.cstime, .nice = o->last.nice,
					.threads = o->last.threads, .starttime = o->starttime, .vsz = o->last.vsz,
					.rss = o->last.rss, .startcode = o->startcode, .endcode = o->endcode,
				};
				skipped = 1;
				goto parsed;
			}
		}

		/*
		 * Opened and closed each time: keeping the files open between
		 * refreshes saved little once idle contexts' processes are not
		 * read (vtop at 5,000 processes: 3.5 % of a core with them kept,
		 * 3.7 % without) and cost the kernel a seq_file buffer each
		 * (about 4-5 KiB: some 22 MiB at 5,000 processes, bench/results/vtop.md).
		 */
		memcpy(tail, "/stat", 6);
		n = -1;
		{
			int fd cleanup_fd = openat(s->procfd, path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				do
					n = read(fd, buf, sizeof(buf) - 1);
				while (n < 0 && errno == EINTR);
			}
		}
		if (n > 0) {
			buf[n] = 0;
			if (parse_stat(buf, &st) == 0)
				goto parsed;
		}
		/* gone (ENOENT/ESRCH, an empty read) or malformed */
		if (o)
			release_entry(s, o);
		continue;
parsed:;
		uint64_t sig = skipped ? o->comm_sig : hash_bytes(st.comm, st.comm_len);
		struct pent *e = &s->next[nn];
		int known = 0;
		if (o) {
			*e = *o;
			o->str = NULL;
			known = e->starttime == st.starttime && e->comm_sig == sig &&
				e->startcode == st.startcode && e->endcode == st.endcode &&
				!(e->lite && !s->lite);
		} else {
			memset(e, 0, sizeof(*e));
		}
		if (e->starttime != st.starttime)
			e->io_valid = 0;	/* another process with this pid */
		if (!known) {
			e->pid = pid;
			e->starttime = st.starttime;
			e->startcode = st.startcode;
			e->endcode = st.endcode;
			e->comm_sig = sig;
			if (fill_entry(s, e, path, tail, &st) < 0) {
				if (errno == ENOMEM) {
					/* keep the cache consistent, then fail */
					release_entry(s, e);
					while (j < s->ncache)
						release_entry(s, &s->cache[j++]);
					for (size_t k = 0; k < nn; k++)
						release_entry(s, &s->next[k]);
					s->ncache = 0;
					return vctx_set_error(err, ENOMEM, "scanning /proc: out of memory");
				}
				release_entry(s, e);
				continue;	/* vanished meanwhile */
			}
		}
		e->last = (struct laststat){
			.utime = (uint64_t)st.utime, .stime = (uint64_t)st.stime, .cutime = (uint64_t)st.cutime,
			.cstime = (uint64_t)st.cstime, .vsz = st.vsz, .rss = st.rss, .ppid = (int32_t)st.ppid,
			.threads = (int32_t)st.threads, .nice = (int32_t)st.nice, .state = st.state,
		};
		nn++;

		struct vctx_proc *p = &s->procs[s->nprocs++];
		p->pid = pid;
		p->ppid = (pid_t)st.ppid;
		p->xid = 0;
		p->inner_pid = e->inner_pid;
		p->state = st.state;
		p->threads = (int)st.threads;
		p->nice = (int)st.nice;
		p->uid = e->uid;
		p->starttime = st.starttime;
		p->utime = (uint64_t)st.utime;
		p->stime = (uint64_t)st.stime;
		p->cutime = (uint64_t)st.cutime;
		p->cstime = (uint64_t)st.cstime;
		p->vsz = st.vsz;
		p->rss = st.rss * (uint64_t)s->page_size;
		p->comm = e->str;
		p->cmdline = e->str + e->cmd_off;
		p->gen = e->gen;
	}
	while (j < s->ncache)
		release_entry(s, &s->cache[j++]);

	/* swap the double buffer */
	struct pent *t = s->cache;
	size_t tc = s->cache_cap;
	s->cache = s->next;
	s->cache_cap = s->next_cap;
	s->ncache = nn;
	s->next = t;
	s->next_cap = tc;
	/* the output strings point into the cache: refresh after the swap */
	return 0;
}

/* ------------------------------------------------------------ contexts */

static void get_xattr(int fd, const char *name, char *out, size_t len)
{
	ssize_t n = fgetxattr(fd, name, out, len - 1);

	if (n < 0)
		n = 0;
	out[n] = 0;
	vctx_chomp(out);
}


static void dotted_or_empty(const char *in, char out[16])
{
	struct in_addr a;

	out[0] = 0;
	if (in[0] && inet_pton(AF_INET, in, &a) == 1 && a.s_addr)
		inet_ntop(AF_INET, &a, out, 16);
}

static void ip6_or_empty(const char *in, char out[46])
{
	struct in6_addr a;

	out[0] = 0;
	if (in[0] && inet_pton(AF_INET6, in, &a) == 1 && !IN6_IS_ADDR_UNSPECIFIED(&a))
		inet_ntop(AF_INET6, &a, out, 46);
}

/* the v1 directory of controller @c for the context at cgroup2 @rel ("vctx/5") */
static int v1_dir(const struct vctx_cgroup_layout *l, int c, const char *rel,
		  uint32_t xid, char *out, size_t len)
{
	struct stat st;

	if (l->where[c] != 1)
		return -1;
	snprintf(out, len, "%s/%s", l->v1path[c], rel);
	if (stat(out, &st) == 0)
		return 0;
	snprintf(out, len, "%s/%s/%u", l->v1path[c], vctx_cgroup_root(), xid);
	return stat(out, &st) == 0 ? 0 : -1;
}

static int64_t limit_value(const char *txt)
{
	uint64_t v;

	if (!strncmp(txt, "max", 3))
		return -1;
	parse_u64(txt, &v);
	/* v1 reports "no limit" as a huge page-aligned number */
	return v >= (1ULL << 62) ? -1 : (int64_t)v;
}

/* the cgroup's own figures and the xattr metadata of one context */
static void ctx_figures(struct vctx_scanner *s, struct vctx_ctx *c, int dfd,
			const char *rel)
{
	const struct vctx_cgroup_layout *l = s->layout;
	char txt[1024], dir[512], path[600], meta[128];
	ssize_t n;

	get_xattr(dfd, VCTX_XATTR_NAME, meta, sizeof(meta));
	vctx__escape(meta, strlen(meta), c->name, sizeof(c->name), 1);
	{
		char root[256];
		get_xattr(dfd, VCTX_XATTR_ROOT, root, sizeof(root));
		vctx__escape(root, strlen(root), c->root, sizeof(c->root), 1);
	}
	get_xattr(dfd, VCTX_XATTR_FLAGS, meta, sizeof(meta));
	c->flags = vctx_flags_parse(meta);
	get_xattr(dfd, VCTX_XATTR_IP, meta, sizeof(meta));
	dotted_or_empty(meta, c->ip);
	get_xattr(dfd, VCTX_XATTR_LOOPBACK, meta, sizeof(meta));
	dotted_or_empty(meta, c->loopback);
	get_xattr(dfd, VCTX_XATTR_IP6, meta, sizeof(meta));
	ip6_or_empty(meta, c->ip6);
	get_xattr(dfd, VCTX_XATTR_LOOPBACK6, meta, sizeof(meta));
	ip6_or_empty(meta, c->loopback6);
	get_xattr(dfd, VCTX_XATTR_NAT, meta, sizeof(meta));
	c->nat = meta[0] == '1';
	get_xattr(dfd, VCTX_XATTR_PID1, meta, sizeof(meta));
	{
		int64_t v = 0;
		parse_i64(meta, &v);
		c->pid1 = v > 0 ? (pid_t)v : 0;
	}
	get_xattr(dfd, VCTX_XATTR_CAPS, meta, sizeof(meta));
	c->caps = meta[0] ? strtoull(meta, NULL, 16) : 0;
	c->caps_known = meta[0] != 0;
	get_xattr(dfd, VCTX_XATTR_CREATED, meta, sizeof(meta));
	parse_i64(meta, &c->created);

	/* CPU: cgroup2 cpu.stat is a core file; else v1 cpuacct */
	c->cpu_source = VCTX_SRC_SUM;
	c->cpu_usec = 0;
	if (vctx_read_file_at(dfd, "cpu.stat", txt, sizeof(txt)) > 0 &&
	    (n = keyed_value(txt, "usage_usec")) >= 0) {
		c->cpu_usec = (uint64_t)n;
		c->cpu_source = VCTX_SRC_CGROUP2;
	} else if (v1_dir(l, VCTX_CTL_CPUACCT, rel, c->xid, dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/cpuacct.usage", dir);
		if (vctx_read_file_at(AT_FDCWD, path, txt, sizeof(txt)) > 0) {
			uint64_t ns;
			parse_u64(txt, &ns);
			c->cpu_usec = ns / 1000;
			c->cpu_source = VCTX_SRC_CGROUP1;
		}
	}

	/* memory where the memory controller is */
	c->mem_source = VCTX_SRC_SUM;
	c->mem_bytes = 0;
	c->mem_max = -1;
	c->oom_kills = 0;
	if (vctx_read_file_at(dfd, "memory.current", txt, sizeof(txt)) > 0) {
		parse_u64(txt, &c->mem_bytes);
		c->mem_source = VCTX_SRC_CGROUP2;
		if (vctx_read_file_at(dfd, "memory.max", txt, sizeof(txt)) > 0)
			c->mem_max = limit_value(txt);
		if (vctx_read_file_at(dfd, "memory.events", txt, sizeof(txt)) > 0 &&
		    (n = keyed_value(txt, "oom_kill")) >= 0)
			c->oom_kills = (uint64_t)n;
	} else if (v1_dir(l, VCTX_CTL_MEMORY, rel, c->xid, dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", dir);
		if (vctx_read_file_at(AT_FDCWD, path, txt, sizeof(txt)) > 0) {
			parse_u64(txt, &c->mem_bytes);
			c->mem_source = VCTX_SRC_CGROUP1;
		}
		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", dir);
		if (vctx_read_file_at(AT_FDCWD, path, txt, sizeof(txt)) > 0)
			c->mem_max = limit_value(txt);
		snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
		if (vctx_read_file_at(AT_FDCWD, path, txt, sizeof(txt)) > 0 &&
		    (n = keyed_value(txt, "oom_kill")) >= 0)
			c->oom_kills = (uint64_t)n;
	}

	/* disk I/O: io.stat where the io controller is, else summed later */
	c->io_source = VCTX_SRC_SUM;
	c->io_known = !s->lite;
	c->io_read_bytes = c->io_write_bytes = 0;
	if (read_grow(dfd, "io.stat", &s->big, &s->big_cap) >= 0) {
		/* "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device */
		for (const char *q = s->big; (q = strstr(q, "bytes=")); q += 6) {
			uint64_t v = 0;
			parse_u64(q + 6, &v);
			if (q > s->big && q[-1] == 'r')
				c->io_read_bytes += v;
			else if (q > s->big && q[-1] == 'w')
				c->io_write_bytes += v;
		}
		c->io_source = VCTX_SRC_CGROUP2;
		c->io_known = 1;
	}

	/* pids */
	c->pids_max = -1;
	c->pids_events = 0;
	if (vctx_read_file_at(dfd, "pids.max", txt, sizeof(txt)) > 0) {
		c->pids_max = limit_value(txt);
		if (vctx_read_file_at(dfd, "pids.events", txt, sizeof(txt)) > 0 &&
		    (n = keyed_value(txt, "max")) >= 0)
			c->pids_events = (uint64_t)n;
	} else if (v1_dir(l, VCTX_CTL_PIDS, rel, c->xid, dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/pids.max", dir);
		if (vctx_read_file_at(AT_FDCWD, path, txt, sizeof(txt)) > 0)
			c->pids_max = limit_value(txt);
		snprintf(path, sizeof(path), "%s/pids.events", dir);
		if (vctx_read_file_at(AT_FDCWD, path, txt, sizeof(txt)) > 0 &&
		    (n = keyed_value(txt, "max")) >= 0)
			c->pids_events = (uint64_t)n;
	}
}

/* add the pids of dfd/cgroup.procs as members of @xid */
static int read_members(struct vctx_scanner *s, int dfd, uint32_t xid, int *count)
{
	ssize_t n = read_grow(dfd, "cgroup.procs", &s->big, &s->big_cap);

	if (n < 0)
		return errno == ENOMEM ? -1 : 0;	/* removed meanwhile */
	for (const char *p = s->big; *p;) {
		uint64_t v;
		const char *q = parse_u64(p, &v);
		if (q == p) {
			p++;
			continue;
		}
		p = q;
		if (v == 0)
			continue;
		(*count)++;
		if (!xid)
			continue;	/* non-context dirs outside any context */
		if (grow((void **)&s->members, &s->members_cap, s->nmembers + 1,
			 sizeof(struct member)) < 0)
			return -1;
		s->members[s->nmembers].pid = (pid_t)v;
		s->members[s->nmembers++].xid = xid;
	}
	return 0;
}

/*
 * One cgroup directory below vctx/ in the walk (vctx_cg_walk): @xid is the
 * context it belongs to (its own number when its name is one, else the
 * nearest enclosing context's, 0 above every context); when its name is
 * a context's, it is that context's own directory, whose parent context
 * is @parent_xid.
 */
static int scan_pre(int dfd, const char *name, const char *rel, uint32_t xid, uint32_t parent_xid, void *arg)
{
	struct vctx_scanner *s = arg;
	int count = 0;

	if (vctx_xid_of_name(name)) {
		if (grow((void **)&s->ctxs, &s->ctxs_cap, s->nctxs + 1, sizeof(struct vctx_ctx)) < 0)
			return VCTX_WALK_STOP;
		struct vctx_ctx *c = &s->ctxs[s->nctxs++];
		memset(c, 0, sizeof(*c));
		c->xid = xid;
		c->parent_xid = parent_xid;
		snprintf(c->cgroup, sizeof(c->cgroup), "%s/%s", s->layout->v2, rel);
		ctx_figures(s, c, dfd, rel);
	}
	return read_members(s, dfd, xid, &count) < 0 ? VCTX_WALK_STOP : VCTX_WALK_GO;
}

/* index of the context with @xid in s->ctxs (sorted by xid in idx), or -1 */
static long ctx_index(struct vctx_scanner *s, const uint32_t *order, uint32_t xid)
{
	size_t lo = 0, hi = s->nctxs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t x = s->ctxs[order[mid]].xid;
		if (x == xid)
			return order[mid];
		if (x < xid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static const struct vctx_ctx *sort_base;
static int cmp_order(const void *a, const void *b)
{
	uint32_t x = sort_base[*(const uint32_t *)a].xid, y = sort_base[*(const uint32_t *)b].xid;
	return (x > y) - (x < y);
}

static int scan_contexts(struct vctx_scanner *s, vctx_error *err)
{
	char rel[512];

	s->nctxs = 0;
	s->nmembers = 0;
	snprintf(rel, sizeof(rel), "%s/%s", s->layout->v2, vctx_cgroup_root());
	int top cleanup_fd = open(rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return 0;	/* no context runs */
	struct vctx_walk w = { .pre = scan_pre, .arg = s };
	/* stopped only when out of memory */
	if (vctx_cg_walk(top, vctx_cgroup_root(), 0, &w))
		return vctx_set_error(err, ENOMEM, "scanning contexts: out of memory");
	return 0;
}

/* read_bytes and write_bytes of /proc/PID/io into @e; -1 when unreadable */
static int read_proc_io(struct vctx_scanner *s, pid_t pid, struct pent *e)
{
	char path[32], buf[512];
	ssize_t n;

	memcpy(put_u(path, (unsigned long)pid), "/io", 4);
	{
		int fd cleanup_fd = openat(s->procfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		do
			n = read(fd, buf, sizeof(buf) - 1);
		while (n < 0 && errno == EINTR);
	}
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *r = strstr(buf, "\nread_bytes: "), *w = strstr(buf, "\nwrite_bytes: ");
	if (!r || !w)
		return -1;
	parse_u64(r + 13, &e->io_read);
	parse_u64(w + 14, &e->io_write);
	e->io_valid = 1;
	return 0;
}

static int cmp_prevcpu(const void *a, const void *b)
{
	uint32_t x = ((const struct prevcpu *)a)->xid, y = ((const struct prevcpu *)b)->xid;
	return (x > y) - (x < y);
}

/*
 * Which contexts ran since the last refresh (s->ran, per s->ctxs): their
 * cgroup2 CPU time moved, or it cannot tell (no cpu.stat, not seen
 * before).  Remembers this refresh's times for the next.
 */
static int contexts_ran(struct vctx_scanner *s)
{
	if (grow((void **)&s->ran, &s->ran_cap, s->nctxs + 1, 1) < 0 ||
	    grow((void **)&s->cur, &s->cur_cap, s->nctxs + 1, sizeof(struct prevcpu)) < 0)
		return -1;
	for (size_t i = 0; i < s->nctxs; i++) {
		const struct vctx_ctx *c = &s->ctxs[i];
		struct prevcpu key = { .xid = c->xid }, *o;
		int exact = c->cpu_source == VCTX_SRC_CGROUP2;

		o = s->nprev ? bsearch(&key, s->prev, s->nprev, sizeof(key), cmp_prevcpu) : NULL;
		s->ran[i] = !(exact && o && o->exact && o->usec == c->cpu_usec);
		s->cur[i] = (struct prevcpu){ .xid = c->xid, .exact = exact, .usec = c->cpu_usec };
	}
	if (s->nctxs > 1)
		qsort(s->cur, s->nctxs, sizeof(struct prevcpu), cmp_prevcpu);
	struct prevcpu *t = s->prev;
	size_t tc = s->prev_cap;
	s->prev = s->cur;
	s->prev_cap = s->cur_cap;
	s->nprev = s->nctxs;
	s->cur = t;
	s->cur_cap = tc;
	return 0;
}

/*
 * Before the stat reads: the members sorted by pid, s->order (the contexts
 * by xid, for ctx_index) and, for a full scan, which contexts ran since
 * the last one (s->ran).
 */
static int prepare_contexts(struct vctx_scanner *s, vctx_error *err)
{
	if (s->nmembers > 1)
		qsort(s->members, s->nmembers, sizeof(struct member), cmp_member);
	if (grow((void **)&s->order, &s->order_cap, s->nctxs + 1, sizeof(uint32_t)) < 0)
		return vctx_set_error(err, ENOMEM, "scanning contexts: out of memory");
	for (size_t i = 0; i < s->nctxs; i++)
		s->order[i] = (uint32_t)i;
	sort_base = s->ctxs;
	qsort(s->order, s->nctxs, sizeof(uint32_t), cmp_order);

	/* CPU time is per cgroup (s->ctxs, before assign's sums) */
	if (!s->lite && contexts_ran(s) < 0)
		return vctx_set_error(err, ENOMEM, "scanning contexts: out of memory");
	return 0;
}

/* xid of every process, counts and sums per context */
static int assign(struct vctx_scanner *s, vctx_error *err)
{
	size_t i = 0, k = 0;
	const uint32_t *order = s->order;

	(void)err;
	for (; i < s->nprocs; i++) {
		struct vctx_proc *p = &s->procs[i];
		while (k < s->nmembers && s->members[k].pid < p->pid)
			k++;
		if (k < s->nmembers && s->members[k].pid == p->pid)
			p->xid = s->members[k].xid;
	}

	uint64_t ticks_usec = s->clock_ticks > 0 ? 1000000ULL / (uint64_t)s->clock_ticks : 10000;
	for (i = 0; i < s->nprocs; i++) {
		struct vctx_proc *p = &s->procs[i];
		if (p->xid < VCTX_XID_STATIC_MIN)
			p->inner_pid = -1;
		if (!p->xid)
			continue;
		long c = ctx_index(s, order, p->xid);
		struct vctx_ctx *own = c >= 0 ? &s->ctxs[c] : NULL;
		if (own && !own->pid1 && p->inner_pid == 1)
			own->pid1 = p->pid;
		/* disk I/O of a summed context: re-read when it ran, or new
		   (s->cache[i] is p's entry: both follow the pid order) */
		struct pent *e = &s->cache[i];
		if (own && own->io_source == VCTX_SRC_SUM && !s->lite &&
		    (s->ran[c] || !e->io_valid) && read_proc_io(s, p->pid, e) < 0 && errno == EACCES)
			own->io_known = 0;
		/* count in the context and every ancestor */
		for (int depth = 0; c >= 0 && depth <= CTX_DEPTH_MAX; depth++) {
			struct vctx_ctx *x = &s->ctxs[c];
			x->nprocs++;
			if (x->mem_source == VCTX_SRC_SUM)
				x->mem_bytes += p->rss;
			if (x->cpu_source == VCTX_SRC_SUM)
				x->cpu_usec += (p->utime + p->stime) * ticks_usec;
			if (x->io_source == VCTX_SRC_SUM && e->io_valid) {
				x->io_read_bytes += e->io_read;
				x->io_write_bytes += e->io_write;
			}
			if (!x->parent_xid)
				break;
			c = ctx_index(s, order, x->parent_xid);
		}
	}
	return 0;
}

/*
 * A context with no process whose monitor is gone (killed with its
 * processes) is not running: it is released through libvctx's one release
 * path and left out of the snapshot.  Children come after their parents in
 * s->ctxs, so they are looked at first.
 */
static void drop_orphans(struct vctx_scanner *s)
{
	size_t v2len = strlen(s->layout->v2);

	for (size_t i = s->nctxs; i-- > 0;) {
		struct vctx_ctx *c = &s->ctxs[i];
		if (c->nprocs || c->xid <= VCTX_XID_SPECTATOR || strncmp(c->cgroup, s->layout->v2, v2len) ||
		    c->cgroup[v2len] != '/')
			continue;
		int fd cleanup_fd = open(c->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && !vctx_cg_orphaned(fd, c->xid, c->parent_xid))
			continue;
		vctx_release_orphan(c->xid, c->cgroup + v2len + 1, c->parent_xid);
		memmove(c, c + 1, (s->nctxs - i - 1) * sizeof(*c));
		s->nctxs--;
	}
}

/* the network counters of each context, nested contexts' added to their
   ancestors' (children come after their parents in s->ctxs) */
static void ctx_net(struct vctx_scanner *s)
{
	for (size_t i = 0; i < s->nctxs; i++) {
		struct vctx_ctx *c = &s->ctxs[i];
		struct vctx_net_counters n;

		c->net_counted = c->xid > VCTX_XID_SPECTATOR && vctx_net_counters(c->xid, &n, NULL) == 1;
		c->net_rx_bytes = c->net_counted ? n.rx_bytes : 0;
		c->net_rx_packets = c->net_counted ? n.rx_packets : 0;
		c->net_tx_bytes = c->net_counted ? n.tx_bytes : 0;
		c->net_tx_packets = c->net_counted ? n.tx_packets : 0;
	}
	for (size_t i = s->nctxs; i-- > 0;) {
		const struct vctx_ctx *c = &s->ctxs[i];
		if (!c->parent_xid || !c->net_counted)
			continue;
		for (size_t k = i; k-- > 0;) {
			struct vctx_ctx *x = &s->ctxs[k];
			if (x->xid != c->parent_xid)
				continue;
			if (x->net_counted) {
				x->net_rx_bytes += c->net_rx_bytes;
				x->net_rx_packets += c->net_rx_packets;
				x->net_tx_bytes += c->net_tx_bytes;
				x->net_tx_packets += c->net_tx_packets;
			}
			break;
		}
	}
}

/* namespaces and (when no xattr said) the bounding set of each PID 1 */
static void ctx_pid1(struct vctx_scanner *s)
{
	char path[64];

	for (size_t i = 0; i < s->nctxs; i++) {
		struct vctx_ctx *c = &s->ctxs[i];
		if (!c->pid1)
			continue;
		char *tail = put_u(path, (unsigned long)c->pid1);
		for (int k = 0; k < VCTX_NS__COUNT; k++) {
			struct stat st;
			snprintf(tail, sizeof(path) - (size_t)(tail - path), "/ns/%s", ns_names[k]);
			c->ns[k] = fstatat(s->procfd, path, &st, 0) == 0 ? (uint64_t)st.st_ino : 0;
		}
		if (!c->caps_known) {
			memcpy(tail, "/status", 8);
			if (read_grow(s->procfd, path, &s->big, &s->big_cap) > 0) {
				char *b = strstr(s->big, "\nCapBnd:");
				if (b)
					c->caps = strtoull(b + 8, NULL, 16);
			}
		}
	}
}

VCTX_API int vctx_scan(struct vctx_scanner *s, const struct vctx_snapshot **out,
		       vctx_error *err)
{
	struct timespec ts;

	if (!s)
		return vctx_set_error(err, EINVAL, "vctx_scan: no scanner");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->snap.taken_at_ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	s->snap.uptime = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	s->snap.clock_ticks = s->clock_ticks;
	s->snap.boot_time = s->boot_time;
	s->snap.page_size = s->page_size;

	/* membership after the listing: a process listed and inside a
	   context is in its cgroup.procs by now (one created later is not
	   listed); the contexts before the stat reads, which skip the
	   processes of contexts that did not run (scan_procs) */
	if (list_pids(s, err) < 0 || scan_contexts(s, err) < 0 || prepare_contexts(s, err) < 0 ||
	    scan_procs(s, err) < 0 || assign(s, err) < 0)
		return -1;
	if (!s->lite)
		s->round++;
	drop_orphans(s);
	ctx_pid1(s);
	ctx_net(s);

	s->snap.procs = s->procs;
	s->snap.nprocs = s->nprocs;
	s->snap.ctxs = s->ctxs;
	s->snap.nctxs = s->nctxs;
	if (out)
		*out = &s->snap;
	return (int)s->nprocs;
}

/* ------------------------------------------------------------ lookup */

int vctx__ctx_dir(uint32_t xid, char *buf, size_t len, vctx_error *err)
{
	const struct vctx_cgroup_layout *l = vctx__scan_layout(err);
	char rel[480];

	if (!l)
		return -1;
	if (xid == VCTX_XID_HOST || !vctx_cg_find(xid, rel, sizeof(rel)))
		return vctx_set_error(err, ESRCH, "context %u: no such context is running", xid);
	snprintf(buf, len, "%s/%s", l->v2, rel);
	return 0;
}

/**
 * vctx_scanner_set_lite - stat-only scans: no inner PID, uid or command
 * line (one /proc/PID/stat read per process, nothing else).
 */
VCTX_API void vctx_scanner_set_lite(struct vctx_scanner *s, int on)
{
	s->lite = on ? 1 : 0;
}
