/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vctx-netview - the host's /proc/net as each virtual server may see it.
 *
 * Servers share the host's network stack, so the kernel's /proc/net socket
 * tables list every socket of the host and of every other server (and a
 * distribution's installer reads them: nginx's postinst refuses to start
 * nginx when anything on the host listens on port 80).  This FUSE daemon
 * mirrors /proc/net at MOUNTPOINT (/run/vctx-netview); each read is
 * answered for the process that makes it (the FUSE request's PID):
 *
 *  - a process of a context (XID 2 and up) gets the socket tables (tcp,
 *    tcp6, udp, udp6, udplite, udplite6, raw, raw6, icmp, icmp6, unix,
 *    packet, netlink) with only the rows whose socket inode is held open by
 *    a process of its context (its cgroup, nested contexts included);
 *    every other file is the host's, unchanged;
 *  - the host (and the spectator context) gets every file unchanged.
 *
 * libvctx binds MOUNTPOINT as /dev/vctx/net in a --secure context and
 * mounts a symbolic link /proc/net -> /dev/vctx/net over the context's
 * /proc/net, when this daemon answers there (kernel/lib/mounts.c).
 *
 * Why our own daemon: lxcfs virtualizes /proc/meminfo & co. per cgroup
 * but leaves /proc/net alone (it belongs to network namespaces, which
 * servers here deliberately share with the host), and no maintained tool
 * filters the shared socket tables per process group.
 *
 * It runs in the foreground until SIGTERM/SIGINT (setup.sh starts it
 * detached, with its log); it unmounts MOUNTPOINT when it ends.
 */
#define FUSE_USE_VERSION 312
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-version.h"

#define DEFAULT_MOUNTPOINT VCTX_NETVIEW_DIR
#define PROC_NET "/proc/self/net"

/* the socket tables and the column (0-based, split on blanks) of their inode */
static const struct { const char *name; int col; } tables[] = {
	{ "tcp", 9 }, { "tcp6", 9 }, { "udp", 9 }, { "udp6", 9 },
	{ "udplite", 9 }, { "udplite6", 9 }, { "raw", 9 }, { "raw6", 9 },
	{ "icmp", 9 }, { "icmp6", 9 }, { "unix", 6 }, { "packet", 8 },
	{ "netlink", 9 },
};

static int table_col(const char *path)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (path[0] == '/' && strcmp(path + 1, tables[i].name) == 0)
			return tables[i].col;
	return -1;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

/* the whole of a /proc file */
static int slurp(const char *path, struct buf *b)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n) < 0) {
			close(fd);
			return -ENOMEM;
		}
	close(fd);
	if (n < 0)
		return -EIO;
	if (!b->p && buf_add(b, "", 0) < 0)
		return -ENOMEM;
	return 0;
}

struct inodes {
	uint64_t *v;
	size_t n, cap;
};

static void ino_add(struct inodes *s, uint64_t ino)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ino;
}

static int ino_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* the socket inodes process @pid holds open */
static void sockets_of(const char *pid, struct inodes *s)
{
	char dir[64], link[PATH_MAX], target[64];
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		ssize_t n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 9 || strncmp(target, "socket:[", 8) != 0)
			continue;
		target[n] = 0;
		ino_add(s, strtoull(target + 8, NULL, 10));
	}
	closedir(d);
}

/* every process of cgroup directory @dir and the ones below it */
static void walk_cgroup(const char *dir, struct inodes *s, int depth)
{
	char p[PATH_MAX], line[32];
	FILE *f;
	DIR *d;
	struct dirent *e;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	if ((f = fopen(p, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (line[0])
				sockets_of(line, s);
		}
		fclose(f);
	}
	if (depth > 16 || !(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			walk_cgroup(p, s, depth + 1);
		}
	closedir(d);
}

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * The cgroup2 directory of @pid's context (the path up to its innermost
 * /vctx/.../XID component) in @out; 0 when @pid is on the host or in the
 * spectator context (nothing to filter), 1 when found, -1 when @pid is gone.
 */
static int context_dir(pid_t pid, char *out, size_t len)
{
	char p[64], buf[4096], *cg = NULL, *line, *save = NULL;
	const struct vctx_cgroup_layout *lay = vctx_cgroup_layout(NULL);
	size_t end = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
	if (!(f = fopen(p, "re")))
		return -1;
	buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "0::", 3) == 0)
			cg = line + 3;
	/* every instance's contexts: /vctx/... or /vctx@NAME/... (one daemon
	   serves them all: it cuts by the reader's own cgroup, docs/instances.md) */
	const size_t rl = strlen(VCTX_DEFAULT_CGROUP_ROOT);
	if (!cg || !lay || strncmp(cg + 1, VCTX_DEFAULT_CGROUP_ROOT, rl) != 0 ||
	    (cg[rl + 1] != '/' && (cg[rl + 1] != '@' || !strchr(cg + rl + 2, '/'))))
		return 0;
	for (size_t i = 1, start = 1; ; i++) {
		if (cg[i] == '/' || cg[i] == 0) {
			if (all_digits(cg + start, i - start))
				end = i;
			if (cg[i] == 0)
				break;
			start = i + 1;
		}
	}
	if (!end)
		return 0;
	cg[end] = 0;
	/* the spectator (1) watches the host: it reads what the host reads */
	if (strtoul(strrchr(cg, '/') + 1, NULL, 10) < VCTX_XID_STATIC_MIN)
		return 0;
	snprintf(out, len, "%s%s", lay->v2, cg);
	return 1;
}

/* @b (a socket table with its inode in column @col) cut to @keep's rows; the header stays */
static void filter_rows(struct buf *b, int col, const struct inodes *keep)
{
	char *r = b->p, *w = b->p, *nl;
	int first = 1;

	for (; *r; r = nl) {
		nl = strchr(r, '\n');
		nl = nl ? nl + 1 : r + strlen(r);
		int ok = first;
		first = 0;
		if (!ok) {
			const char *q = r;
			for (int c = 0; c < col && q < nl; c++) {
				while (q < nl && (*q == ' ' || *q == '\t'))
					q++;
				while (q < nl && *q != ' ' && *q != '\t' && *q != '\n')
					q++;
			}
			while (q < nl && (*q == ' ' || *q == '\t'))
				q++;
			uint64_t ino = strtoull(q, NULL, 10);
			ok = ino && bsearch(&ino, keep->v, keep->n, sizeof(uint64_t), ino_cmp);
		}
		if (ok) {
			memmove(w, r, (size_t)(nl - r));
			w += nl - r;
		}
	}
	*w = 0;
	b->len = (size_t)(w - b->p);
}

static void real_path(const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s%s", PROC_NET, strcmp(path, "/") ? path : "");
}

static int nv_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	char p[PATH_MAX];
	struct stat real;

	real_path(path, p, sizeof(p));
	if (lstat(p, &real) < 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	st->st_ino = real.st_ino;
	st->st_uid = real.st_uid;
	st->st_gid = real.st_gid;
	st->st_atim = st->st_mtim = st->st_ctim = real.st_mtim;
	if (S_ISDIR(real.st_mode)) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else {
		struct buf b = { 0 };
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		/* /proc reports 0, but readers that splice (busybox cat's
		   sendfile) stop at the size: the host's length, a bound on
		   what a server reads (a shorter read ends the file there) */
		if (slurp(p, &b) == 0)
			st->st_size = (off_t)b.len;
		free(b.p);
	}
	return 0;
}

static int nv_readdir(const char *path, void *out, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *e;

	real_path(path, p, sizeof(p));
	if (!(d = opendir(p)))
		return -errno;
	while ((e = readdir(d))) {
		struct stat st = { .st_ino = e->d_ino, .st_mode = (e->d_type == DT_DIR ? S_IFDIR : S_IFREG) };
		if (fill(out, e->d_name, &st, 0, 0))
			break;
	}
	closedir(d);
	return 0;
}

static int nv_open(const char *path, struct fuse_file_info *fi)
{
	char p[PATH_MAX], dir[PATH_MAX];
	struct buf *b;
	int col, rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	real_path(path, p, sizeof(p));
	if (!(b = calloc(1, sizeof(*b))))
		return -ENOMEM;
	if ((rc = slurp(p, b)) < 0) {
		free(b->p);
		free(b);
		return rc;
	}
	col = table_col(path);
	if (col >= 0) {
		rc = context_dir(fuse_get_context()->pid, dir, sizeof(dir));
		if (rc != 0) {
			/* a caller gone already (rc < 0) sees no socket */
			struct inodes keep = { 0 };
			if (rc > 0)
				walk_cgroup(dir, &keep, 0);
			qsort(keep.v, keep.n, sizeof(uint64_t), ino_cmp);
			filter_rows(b, col, &keep);
			free(keep.v);
		}
	}
	fi->fh = (uint64_t)(uintptr_t)b;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

static int nv_read(const char *path, char *out, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct buf *b = (struct buf *)(uintptr_t)fi->fh;

	if (off < 0 || (size_t)off >= b->len)
		return 0;
	if (size > b->len - (size_t)off)
		size = b->len - (size_t)off;
	memcpy(out, b->p + off, size);
	return (int)size;
}

static int nv_release(const char *path, struct fuse_file_info *fi)
{
	struct buf *b = (struct buf *)(uintptr_t)fi->fh;

	free(b->p);
	free(b);
	return 0;
}

static void *nv_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* nothing cached: every lookup and read asks again */
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->use_ino = 1;
	return NULL;
}

static const struct fuse_operations ops = {
	.init = nv_init,
	.getattr = nv_getattr,
	.readdir = nv_readdir,
	.open = nv_open,
	.read = nv_read,
	.release = nv_release,
};

static const char usage[] =
"Usage: vctx-netview [MOUNTPOINT]\n"
"Serve the host's /proc/net at MOUNTPOINT (default " DEFAULT_MOUNTPOINT "), with\n"
"each virtual server's reads of the socket tables (tcp, tcp6, udp, udp6,\n"
"udplite, udplite6, raw, raw6, icmp, icmp6, unix, packet, netlink) cut to the\n"
"sockets its own processes hold; the host reads every socket.  vserver NAME\n"
"start shows it to the server as its /proc/net while it answers.\n"
"Runs in the foreground (a FUSE daemon, as root) until SIGTERM or SIGINT,\n"
"then unmounts MOUNTPOINT; setup.sh starts it detached.\n"
"\n"
"Options:\n"
"  --help                display this help and exit\n"
"  --version             output version information and exit\n";

int main(int argc, char **argv)
{
	const char *mnt = DEFAULT_MOUNTPOINT;
	vctx_error err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("vctx-netview (vctx) %s\n", VCTX_VERSION);
			return 0;
		}
		if (argv[i][0] == '-' || i != argc - 1) {
			fprintf(stderr, "vctx-netview: unexpected argument '%s'\nTry 'vctx-netview --help'.\n", argv[i]);
			return 2;
		}
		mnt = argv[i];
	}
	if (geteuid() != 0) {
		fprintf(stderr, "vctx-netview: run as root (it reads every process's open files)\n");
		return 1;
	}
	if (!vctx_cgroup_layout(&err)) {
		fprintf(stderr, "vctx-netview: %s\n", err.msg);
		return 1;
	}
	if (mkdir(mnt, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "vctx-netview: cannot create %s: %s\n", mnt, strerror(errno));
		return 1;
	}
	char *fargv[] = { argv[0], "-o", "allow_other,ro,fsname=vctx-netview,subtype=vctx-netview", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse *f = fuse_new(&args, &ops, sizeof(ops), NULL);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int rc = 1;

	if (!f || !cfg)
		return 1;	/* libfuse said why */
	fuse_loop_cfg_set_max_threads(cfg, 16);
	if (fuse_mount(f, mnt) == 0) {
		if (fuse_set_signal_handlers(fuse_get_session(f)) == 0) {
			rc = fuse_loop_mt(f, cfg) ? 1 : 0;
			fuse_remove_signal_handlers(fuse_get_session(f));
		}
		fuse_unmount(f);
	}
	fuse_loop_cfg_destroy(cfg);
	fuse_destroy(f);
	return rc;
}
