/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vdu - disk use of a unified virtual server: the allocated blocks of the
 * regular files with a single link under each PATH, in KiB, one
 * "PATH<TAB>NNNK" line per PATH.
 *
 * Directories, symbolic links, devices and files with more than one link
 * (unified with other servers) are not counted; symbolic links are never
 * followed; the walk stays on PATH's filesystem.  The walk uses openat /
 * fstatat relative to an open directory (no path lookups from /) and the
 * directory entry type to skip stat() of what cannot count.
 *
 * Called by `vdu` (src/cli/vdu.ts), which checks the arguments; it is also
 * usable on its own.  Exit status: 0, or 1 when some PATH or directory
 * could not be read (its line is still printed with what was counted,
 * after a message on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-version.h"
#include "vctx-scan.h"

struct walk {
	dev_t dev;		/* the filesystem of the starting PATH */
	uint64_t blocks;	/* 512-byte blocks counted */
	int failed;		/* some directory could not be read */
	char *path;		/* the current directory, for messages */
	size_t len, cap;
};


static int path_push(struct walk *w, const char *name, size_t *saved)
{
	size_t n = strlen(name);

	*saved = w->len;
	if (w->len + n + 2 > w->cap) {
		size_t cap = (w->cap ? w->cap * 2 : 4096);
		char *p;

		while (cap < w->len + n + 2)
			cap *= 2;
		p = realloc(w->path, cap);
		if (!p)
			return -1;
		w->path = p;
		w->cap = cap;
	}
	if (w->len > 0 && w->path[w->len - 1] != '/')
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	return 0;
}

static void path_pop(struct walk *w, size_t saved)
{
	w->len = saved;
	w->path[saved] = '\0';
}

static void report(struct walk *w, const char *name, int err)
{
	size_t saved;

	if (name && path_push(w, name, &saved) == 0) {
		fprintf(stderr, "vdu: %s: %s\n", vctx_shown(w->path), strerror(err));
		path_pop(w, saved);
	} else {
		fprintf(stderr, "vdu: %s: %s\n", vctx_shown(w->path), strerror(err));
	}
	w->failed = 1;
}

static void walk_dir(int dfd, struct walk *w);

/* descend into subdirectory @name of @dfd when it is on the same filesystem */
static void enter_dir(int dfd, const char *name, struct walk *w)
{
	struct stat st;
	size_t saved;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* gone since readdir, or replaced by a symlink: nothing to count */
		if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
			report(w, name, errno);
		return;
	}
	if (fstat(fd, &st) < 0 || st.st_dev != w->dev) {
		close(fd);
		return;
	}
	if (path_push(w, name, &saved) < 0) {
		close(fd);
		report(w, name, ENOMEM);
		return;
	}
	walk_dir(fd, w);
	path_pop(w, saved);
}

/* count the entries of the open directory @dfd (closed on return) */
static void walk_dir(int dfd, struct walk *w)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		report(w, NULL, errno);
		close(dfd);
		return;
	}
	for (;;) {
		struct stat st;
		const char *n;

		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				report(w, NULL, errno);
			break;
		}
		n = e->d_name;
		if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0')))
			continue;
		switch (e->d_type) {
		case DT_DIR:
			enter_dir(dirfd(d), n, w);
			continue;
		case DT_REG:
		case DT_UNKNOWN:
			break;
		default:	/* symlinks, devices, fifos, sockets */
			continue;
		}
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				report(w, n, errno);
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			if (st.st_nlink == 1)
				w->blocks += (uint64_t)st.st_blocks;
		} else if (S_ISDIR(st.st_mode)) {
			enter_dir(dirfd(d), n, w);
		}
	}
	closedir(d);
}

/*
 * A unified server's root ROOTDIR/NAME (an overlay: vserver NAME unify) is
 * measured by its own layers ROOTDIR/.vctx-unified/NAME/upper (and its
 * image own.erofs, add_own_image): the files of
 * the shared layer have more than one link and never count, so the figure
 * is the same, without walking the shared layer, and right when the
 * overlay is not mounted (after a reboot, before the server's start).
 * Returns @path itself for any other PATH.
 */
static const char *own_layer(const char *path, char *buf, size_t size)
{
	size_t n = strlen(path);
	const char *slash, *name;
	struct stat st;

	while (n > 1 && path[n - 1] == '/')
		n--;
	for (slash = path + n; slash > path && slash[-1] != '/'; slash--)
		;
	name = slash;
	if (name == path + n || (int)(path + n - name) > 255)
		return path;
	if (snprintf(buf, size, "%.*s.vctx-unified/%.*s/upper", (int)(name - path), path, (int)(path + n - name), name) >= (int)size)
		return path;
	if (lstat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
		return path;
	return buf;
}

/*
 * A unified server's own layer is its upper (what it wrote) and the image
 * ROOTDIR/.vctx-unified/NAME/own.erofs next to it (what is never shared,
 * packed at unify): @upper ends in "/upper"; the image's blocks are added.
 */
static void add_own_image(const char *upper, struct walk *w)
{
	char img[8192];
	size_t n = strlen(upper);
	struct stat st;

	if (n < 6 || n - 5 + sizeof "own.erofs" > sizeof img)
		return;
	memcpy(img, upper, n - 5);
	strcpy(img + n - 5, "own.erofs");
	if (lstat(img, &st) == 0 && S_ISREG(st.st_mode))
		w->blocks += (uint64_t)st.st_blocks;
}

/* count one PATH into w->blocks: 0, -1 when some directory under it
   could not be read, -2 when PATH itself cannot be read */
static int du_path(const char *path, struct walk *w)
{
	struct stat st;
	int fd;
	static char own[8192];

	path = own_layer(path, own, sizeof own);

	w->blocks = 0;
	w->failed = 0;
	w->len = 0;
	if (w->path)
		w->path[0] = '\0';
	if (lstat(path, &st) < 0) {
		fprintf(stderr, "vdu: %s: %s\n", vctx_shown(path), strerror(errno));
		return -2;
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_nlink == 1)
			w->blocks = (uint64_t)st.st_blocks;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;	/* a symlink (not followed), a device, ... */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vdu: %s: %s\n", vctx_shown(path), strerror(errno));
		return -2;
	}
	w->dev = st.st_dev;
	{
		size_t saved;

		if (path_push(w, path, &saved) < 0) {
			close(fd);
			fprintf(stderr, "vdu: %s: %s\n", vctx_shown(path), strerror(ENOMEM));
			return -2;
		}
	}
	walk_dir(fd, w);
	if (path == own)
		add_own_image(own, w);
	return w->failed ? -1 : 0;
}

static void usage(FILE *out)
{
	fputs("Usage: vdu [--json] [--] PATH...\n"
	      "Show the disk use of each PATH that is the server's own.\n"
	      "\n"
	      "The figure is the allocated blocks of the regular files with a single link\n"
	      "under PATH, in KiB, one \"PATH<TAB>NNNK\" line each.  Directories, symbolic\n"
	      "links (never followed) and files with more than one link (unified with other\n"
	      "servers) are not counted, and the walk stays on PATH's filesystem: what a\n"
	      "unified server really uses on its own.  A unified server's root\n"
	      "(ROOTDIR/NAME, an overlay) is measured by its own layers: what it wrote,\n"
	      "ROOTDIR/.vctx-unified/NAME/upper, and what is never shared, packed in\n"
	      "ROOTDIR/.vctx-unified/NAME/own.erofs: the same figure, mounted or not.\n"
	      "\n"
	      "Options:\n"
	      "  --json     the figures as JSON: {\"paths\": [{\"path\": PATH, \"kib\": N}, ...]}\n"
	      "             (a PATH that cannot be read is left out and named on stderr)\n"
	      "  --help     display this help and exit\n"
	      "  --version  output version information and exit\n"
	      "\n"
	      "Exit status: 0 success, 1 some PATH or directory could not be read (or not\n"
	      "run as root), 2 usage error.\n",
	      out);
}

int main(int argc, char **argv)
{
	struct walk w = { 0 };
	struct rlimit rl;
	int i = 1, status = 0, json = 0, listed = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			puts("vdu (vctx) " VCTX_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		fprintf(stderr, "vdu: unknown option '%s'; try 'vdu --help'\n", vctx_shown(argv[i]));
		return 2;
	}
	if (i >= argc) {
		fprintf(stderr, "vdu: no PATH given; try 'vdu --help'\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "vdu: must be run as root\n");
		return 1;
	}
	/* one descriptor per directory level: allow deep trees */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (json)
		fputs("{\n  \"paths\": [", stdout);
	for (; i < argc; i++) {
		int r = du_path(argv[i], &w);
		unsigned long long kib = (unsigned long long)(w.blocks * 512 / 1024);

		if (r < 0)
			status = 1;
		/* a PATH that cannot be read at all prints no line */
		if (r == -2)
			continue;
		if (json) {
			fputs(listed++ ? ",\n    {\n      \"path\": " : "\n    {\n      \"path\": ", stdout);
			vctx_json_string(stdout, argv[i]);
			printf(",\n      \"kib\": %llu\n    }", kib);
		} else {
			printf("%s\t%lluK\n", argv[i], kib);
		}
	}
	if (json)
		fputs(listed ? "\n  ]\n}\n" : "]\n}\n", stdout);
	free(w.path);
	if (fflush(stdout) != 0)
		return 1;
	return status;
}
