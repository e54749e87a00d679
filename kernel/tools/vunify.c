/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vunify - the walk and the hashing of unification (vserver NAME unify,
 * src/actions/unify.ts); usable on its own, as root.
 *
 *   vunify convert STORE LOWER UPPER [--keep PATH]...
 *       LOWER is a stopped server's tree (moved there by the caller), UPPER
 *       an empty directory on the same file system.  Every PATH (relative,
 *       e.g. "etc", "var", "home"), and every conffile dpkg lists in
 *       LOWER/var/lib/dpkg/info/\*.conffiles, is moved (renamed) into UPPER,
 *       its parent directories made there with the same owner, mode, xattrs
 *       and times.  Every other non-empty regular file with one link is
 *       replaced by a hard link to STORE/objects/XX/HASH, the object of the
 *       same content AND the same inode metadata a hard link shares (type
 *       and mode, owner, group, every xattr: file capabilities, ACLs,
 *       SELinux labels): HASH is SHA-256 over all of it.  A new object is
 *       the file's own inode (linked into the store, no copy).  A file
 *       with more than one link is one object when all its names are in
 *       the shared part (else it stays); a second file of the same object
 *       in one tree stays as it is, so that the server's own hard links
 *       are exactly what they were (deunify restores them with rsync -H).
 *       LOWER merged under UPPER (overlayfs) shows the tree as it was.
 *   vunify gc STORE
 *       removes the objects no tree links any more (link count 1).
 *   vunify mount-image IMAGE DIR
 *       mounts the erofs image IMAGE (a server's own layer, packed by
 *       mkfs.erofs) read-only, nosuid, nodev on the directory DIR, backed
 *       by the file itself (no loop device; Linux 6.12 and later).  Exit 3
 *       when the kernel cannot mount an erofs image from a file (ENOTBLK):
 *       the caller falls back to a loop device.
 *
 * Servers' trees are hostile: the walk is openat/fstatat relative to open
 * directories with O_NOFOLLOW and AT_SYMLINK_NOFOLLOW, never follows a
 * symbolic link, refuses a mount point inside LOWER, and opens every file
 * it hashes with O_NOFOLLOW, checking it is the inode it stat'ed.
 * Prints one JSON line of counts; exit 0, 1 on failure (one line on stderr:
 * the path and the error; what was done so far is consistent: LOWER under
 * UPPER still shows the whole tree), 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <openssl/evp.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "vctx-version.h"

#define MAX_DEPTH 256

struct stats {
	uint64_t files, new_objects, linked, new_bytes, shared_bytes, moved, kept_links, dupes, empty;
};

struct level {
	struct level *parent;
	const char *name;	/* in the parent */
	int lower;		/* open directory in LOWER */
	int upper;		/* the same directory in UPPER, -1 until needed */
	struct stat st;		/* the lower directory as found */
};

static struct stats S;
static dev_t root_dev;
static int objects_fd = -1;
static char **keeps;
static size_t nkeeps, capkeeps;
/* the objects this tree links already (sorted at insert: a small open-address set) */
static unsigned char (*seen)[32];
static size_t nseen, capseen;
static char path[PATH_MAX * 2];
static unsigned char *buf;
#define BUFSZ (1 << 20)

static void die_at(const char *what, int err)
{
	fprintf(stderr, "vunify: %s: %s\n", vctx_shown(what), strerror(err));
	exit(1);
}

static void add_keep(const char *p)
{
	while (*p == '/')
		p++;
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (!n)
		return;
	if (nkeeps == capkeeps) {
		capkeeps = capkeeps ? capkeeps * 2 : 64;
		keeps = realloc(keeps, capkeeps * sizeof *keeps);
		if (!keeps)
			die_at("memory", ENOMEM);
	}
	keeps[nkeeps] = strndup(p, n);
	if (!keeps[nkeeps])
		die_at("memory", ENOMEM);
	nkeeps++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_kept(const char *rel)
{
	return nkeeps && bsearch(&rel, keeps, nkeeps, sizeof *keeps, cmp_str) != NULL;
}

/* records object @h as linked by this tree; 0 when it already was */
static int seen_insert(const unsigned char h[32])
{
	size_t i;

	if (nseen * 2 >= capseen) {
		size_t cap = capseen ? capseen * 2 : 4096;
		unsigned char (*n)[32] = calloc(cap, 32);
		if (!n)
			die_at("memory", ENOMEM);
		for (i = 0; i < capseen; i++) {
			static const unsigned char zero[32];
			if (memcmp(seen[i], zero, 32)) {
				size_t j;
				memcpy(&j, seen[i], sizeof j);
				for (j %= cap; memcmp(n[j], zero, 32); j = (j + 1) % cap)
					;
				memcpy(n[j], seen[i], 32);
			}
		}
		free(seen);
		seen = n;
		capseen = cap;
	}
	size_t j;
	static const unsigned char zero[32];
	memcpy(&j, h, sizeof j);
	for (j %= capseen; memcmp(seen[j], zero, 32); j = (j + 1) % capseen)
		if (!memcmp(seen[j], h, 32))
			return 0;
	memcpy(seen[j], h, 32);
	nseen++;
	return 1;
}

/* dpkg's conffiles of the tree (LOWER/var/lib/dpkg/info/\*.conffiles), never followed through a symlink */
static void read_conffiles(int lower)
{
	static const char *const comp[] = { "var", "lib", "dpkg", "info" };
	int fd = dup(lower), nfd;
	size_t i;

	for (i = 0; i < 4 && fd >= 0; i++) {
		nfd = openat(fd, comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	struct dirent *e;
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 10 || strcmp(e->d_name + n - 10, ".conffiles"))
			continue;
		int f = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		if (f < 0)
			continue;
		if (fstat(f, &st) || !S_ISREG(st.st_mode) || st.st_size > (1 << 22)) {
			close(f);
			continue;
		}
		FILE *fp = fdopen(f, "r");
		char line[PATH_MAX + 64];
		if (!fp) {
			close(f);
			continue;
		}
		while (fgets(line, sizeof line, fp)) {
			char *p = strchr(line, '/'), *end;
			if (!p)
				continue;
			end = p + strcspn(p, " \t\n");
			*end = '\0';
			add_keep(p);
		}
		fclose(fp);
	}
	closedir(d);
}

/* copies the xattrs of @from to @to (both open fds) */
static int copy_xattrs(int from, int to)
{
	char names[65536], val[65536];
	ssize_t n = flistxattr(from, names, sizeof names), v;
	char *p;

	if (n < 0)
		return errno == ENOTSUP ? 0 : -1;
	for (p = names; p < names + n; p += strlen(p) + 1) {
		v = fgetxattr(from, p, val, sizeof val);
		if (v < 0 || fsetxattr(to, p, val, v, 0) < 0)
			return -1;
	}
	return 0;
}

/* makes @lv's directory in UPPER (and its parents), as the lower one is */
static void ensure_upper(struct level *lv)
{
	if (lv->upper >= 0)
		return;
	ensure_upper(lv->parent);
	if (mkdirat(lv->parent->upper, lv->name, 0700) < 0 && errno != EEXIST)
		die_at(lv->name, errno);
	lv->upper = openat(lv->parent->upper, lv->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lv->upper < 0)
		die_at(lv->name, errno);
	if (fchown(lv->upper, lv->st.st_uid, lv->st.st_gid) < 0 || fchmod(lv->upper, lv->st.st_mode & 07777) < 0 ||
	    copy_xattrs(lv->lower, lv->upper) < 0)
		die_at(lv->name, errno);
}

/* SHA-256 over what a hard link shares: type and mode, owner, xattrs, content */
static int hash_file(int fd, const struct stat *st, unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char names[65536], val[65536], hdr[128];
	char *sorted[1024];
	size_t ns = 0, i;
	ssize_t n, v;
	unsigned int len = 32;
	int rc = -1;

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	n = snprintf(hdr, sizeof hdr, "vctx-unify-1 %o %u %u %" PRIu64, (unsigned)st->st_mode, (unsigned)st->st_uid,
		     (unsigned)st->st_gid, (uint64_t)st->st_size);
	EVP_DigestUpdate(c, hdr, n + 1);
	n = flistxattr(fd, names, sizeof names);
	if (n < 0 && errno != ENOTSUP)
		goto out;
	for (char *p = names; n > 0 && p < names + n && ns < 1024; p += strlen(p) + 1)
		sorted[ns++] = p;
	qsort(sorted, ns, sizeof *sorted, cmp_str);
	for (i = 0; i < ns; i++) {
		uint32_t l;
		v = fgetxattr(fd, sorted[i], val, sizeof val);
		if (v < 0)
			goto out;
		l = (uint32_t)v;
		EVP_DigestUpdate(c, sorted[i], strlen(sorted[i]) + 1);
		EVP_DigestUpdate(c, &l, sizeof l);
		EVP_DigestUpdate(c, val, v);
	}
	EVP_DigestUpdate(c, "\n", 1);
	uint64_t total = 0;
	for (;;) {
		ssize_t r = read(fd, buf, BUFSZ);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(c, buf, r);
		total += r;
	}
	if (total != (uint64_t)st->st_size) {
		errno = EAGAIN; /* changed while read */
		goto out;
	}
	if (EVP_DigestFinal_ex(c, out, &len))
		rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

/*
 * A file with more than one link: its names are gathered during the walk;
 * when all of them are in the shared part of the tree (none moved to the
 * server's own layer), the inode becomes one object all of them link, so
 * the server's hard link stays one (perl and perl5.36.0).  Else they stay.
 */
struct group {
	ino_t ino;
	nlink_t nlink;
	size_t n;
	char **paths;
};
static struct group *groups;
static size_t ngroups, capgroups;
static int lower_root = -1;
static int unshareable;
static int keeps_only;	/* the layer exists: move what is never shared, link nothing */
static uint64_t t_files, t_bytes;	/* the regular files tree_hash met, and their blocks */
static void memo_put(uint64_t ino, const unsigned char h[32]);
static const unsigned char *memo_get(uint64_t ino);

static void remember_link(const struct stat *st)
{
	size_t i;
	struct group *g = NULL;

	for (i = ngroups; i-- > 0;)
		if (groups[i].ino == st->st_ino) {
			g = &groups[i];
			break;
		}
	if (!g) {
		if (ngroups == capgroups) {
			capgroups = capgroups ? capgroups * 2 : 64;
			groups = realloc(groups, capgroups * sizeof *groups);
			if (!groups)
				die_at("memory", ENOMEM);
		}
		g = &groups[ngroups++];
		*g = (struct group){ .ino = st->st_ino, .nlink = st->st_nlink };
	}
	g->paths = realloc(g->paths, (g->n + 1) * sizeof *g->paths);
	if (!g->paths || !(g->paths[g->n] = strdup(path)))
		die_at("memory", ENOMEM);
	g->n++;
}

/* @rel's directory, opened beneath LOWER without following a symlink; @name set to its last component */
static int open_parent(const char *rel, const char **name)
{
	char dir[PATH_MAX * 2];
	const char *slash = strrchr(rel, '/');
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS };

	if (!slash) {
		*name = rel;
		return dup(lower_root);
	}
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - rel), rel);
	*name = slash + 1;
	return (int)syscall(SYS_openat2, lower_root, dir, &how, sizeof how);
}

static int object_dir(const char *hex);

static void link_groups(void)
{
	size_t i, j;

	for (i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];
		const char *name;
		struct stat st, dst;
		unsigned char h[32];
		char hex[65], tmp[64];
		int dfd, fd, sfd, k;

		S.files += g->n;
		if ((nlink_t)g->n != g->nlink) {
			S.kept_links += g->n;
			unshareable = 1; /* linked with a file of the server's own layer */
			continue;
		}
		snprintf(path, sizeof path, "%s", g->paths[0]);
		dfd = open_parent(g->paths[0], &name);
		if (dfd < 0)
			die_at(path, errno);
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			die_at(path, errno);
		if (st.st_ino != g->ino || st.st_nlink != g->nlink)
			die_at(path, ESTALE);
		const unsigned char *m = memo_get(st.st_ino);
		if (m)
			memcpy(h, m, 32);
		else if (hash_file(fd, &st, h) < 0)
			die_at(path, errno);
		close(fd);
		if (!seen_insert(h)) {
			S.dupes += g->n;
			close(dfd);
			continue;
		}
		for (k = 0; k < 32; k++)
			sprintf(hex + 2 * k, "%02x", h[k]);
		sfd = object_dir(hex);
		if (linkat(dfd, name, sfd, hex + 2, 0) == 0) {
			/* a new object: this inode, which all the names link already */
			memo_put(st.st_ino, h);
			S.new_objects++;
			S.new_bytes += (uint64_t)st.st_blocks * 512;
			close(dfd);
			close(sfd);
			continue;
		}
		if (errno != EEXIST)
			die_at(path, errno);
		close(dfd);
		struct stat ost;
		if (fstatat(sfd, hex + 2, &ost, AT_SYMLINK_NOFOLLOW) < 0)
			die_at(path, errno);
		memo_put(ost.st_ino, h);
		snprintf(tmp, sizeof tmp, ".vunify.%d", (int)getpid());
		for (j = 0; j < g->n; j++) {
			snprintf(path, sizeof path, "%s", g->paths[j]);
			dfd = open_parent(g->paths[j], &name);
			if (dfd < 0 || fstat(dfd, &dst) < 0)
				die_at(path, errno);
			if (linkat(sfd, hex + 2, dfd, tmp, 0) < 0 || renameat(dfd, tmp, dfd, name) < 0)
				die_at(path, errno);
			struct timespec ts[2] = { dst.st_atim, dst.st_mtim };
			futimens(dfd, ts);
			close(dfd);
			S.linked++;
		}
		S.shared_bytes += (uint64_t)st.st_blocks * 512;
		close(sfd);
	}
}

/* the store's directory for object @hex, made when missing */
static int object_dir(const char *hex)
{
	char sub[3] = { hex[0], hex[1], '\0' };
	int sfd = openat(objects_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (sfd < 0 && errno == ENOENT) {
		if (mkdirat(objects_fd, sub, 0700) < 0 && errno != EEXIST)
			die_at("store", errno);
		sfd = openat(objects_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (sfd < 0)
		die_at("store", errno);
	return sfd;
}

/* the content hash of each inode linked or made an object in this run (ino -> hash), for the tree hash */
struct memo { uint64_t ino; unsigned char h[32]; };
static struct memo *memo;
static size_t nmemo, capmemo;

static void memo_put(uint64_t ino, const unsigned char h[32])
{
	size_t i, j;

	if (nmemo * 2 >= capmemo) {
		size_t cap = capmemo ? capmemo * 2 : 8192;
		struct memo *n = calloc(cap, sizeof *n);
		if (!n)
			die_at("memory", ENOMEM);
		for (i = 0; i < capmemo; i++)
			if (memo[i].ino) {
				for (j = memo[i].ino % cap; n[j].ino; j = (j + 1) % cap)
					;
				n[j] = memo[i];
			}
		free(memo);
		memo = n;
		capmemo = cap;
	}
	for (j = ino % capmemo; memo[j].ino && memo[j].ino != ino; j = (j + 1) % capmemo)
		;
	if (!memo[j].ino)
		nmemo++;
	memo[j].ino = ino;
	memcpy(memo[j].h, h, 32);
}

static const unsigned char *memo_get(uint64_t ino)
{
	size_t j;

	if (!capmemo)
		return NULL;
	for (j = ino % capmemo; memo[j].ino; j = (j + 1) % capmemo)
		if (memo[j].ino == ino)
			return memo[j].h;
	return NULL;
}

static void link_file(struct level *lv, const char *name, const struct stat *st)
{
	unsigned char h[32];
	char hex[65], tmp[64];
	int fd, i;
	struct stat fst;

	if (st->st_size == 0) {
		S.files++;
		S.empty++;
		return;
	}
	if (st->st_nlink > 1) {
		remember_link(st);
		return;
	}
	S.files++;
	fd = openat(lv->lower, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		die_at(path, errno);
	if (fstat(fd, &fst) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev)
		die_at(path, errno ? errno : ESTALE);
	const unsigned char *m = memo_get(fst.st_ino);
	if (m)
		memcpy(h, m, 32);	/* hashed by the tree hash already */
	else if (hash_file(fd, &fst, h) < 0)
		die_at(path, errno);
	close(fd);
	if (!seen_insert(h)) {
		S.dupes++;
		memo_put(st->st_ino, h);
		return;
	}
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	int sfd = object_dir(hex);
	snprintf(tmp, sizeof tmp, ".vunify.%d", (int)getpid());
	for (;;) {
		if (linkat(sfd, hex + 2, lv->lower, tmp, 0) == 0) {
			/* the object exists: this name becomes a link to it */
			struct stat ost;
			if (fstatat(lv->lower, tmp, &ost, AT_SYMLINK_NOFOLLOW) < 0)
				die_at(path, errno);
			memo_put(ost.st_ino, h);
			if (renameat(lv->lower, tmp, lv->lower, name) < 0)
				die_at(path, errno);
			S.linked++;
			S.shared_bytes += (uint64_t)st->st_blocks * 512;
			break;
		}
		if (errno != ENOENT)
			die_at(path, errno);
		/* a new object: this very inode */
		if (linkat(lv->lower, name, sfd, hex + 2, 0) == 0) {
			memo_put(st->st_ino, h);
			S.new_objects++;
			S.new_bytes += (uint64_t)st->st_blocks * 512;
			break;
		}
		if (errno != EEXIST)
			die_at(path, errno);
	}
	close(sfd);
}

/*
 * The names in the directory @dfd (not . and ..), sorted, in a new array
 * of @*n strings (free each, then the array).  A dup of @dfd is read: it
 * shares the offset, which another pass may have left at the end.  @what
 * names the directory in a fatal error.
 */
static char **list_names(int dfd, size_t *n, const char *what)
{
	char **names = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *d;
	int fd = dup(dfd);

	*n = 0;
	if (fd < 0 || !(d = fdopendir(fd)))
		die_at(what, errno);
	rewinddir(d);
	while ((errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				die_at("memory", ENOMEM);
		}
		if (!(names[*n] = strdup(e->d_name)))
			die_at("memory", ENOMEM);
		(*n)++;
	}
	if (errno)
		die_at(what, errno);
	closedir(d);
	qsort(names, *n, sizeof *names, cmp_str);
	return names;
}

static void walk(struct level *lv, size_t plen, int depth)
{
	char **names;
	size_t n, i;

	if (depth > MAX_DEPTH)
		die_at(path, ELOOP);
	/* by name: of two equal files in one tree, every server links the same one (the other stays its own) */
	names = list_names(lv->lower, &n, path);

	for (i = 0; i < n; i++) {
		const char *name = names[i];
		size_t nl = strlen(name);
		struct stat st;

		if (plen + nl + 2 > sizeof path)
			die_at(path, ENAMETOOLONG);
		if (plen)
			path[plen] = '/';
		memcpy(path + plen + (plen ? 1 : 0), name, nl + 1);
		size_t clen = plen + (plen ? 1 : 0) + nl;

		if (fstatat(lv->lower, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die_at(path, errno);
		if (is_kept(path)) {
			ensure_upper(lv);
			if (renameat(lv->lower, name, lv->upper, name) < 0)
				die_at(path, errno);
			S.moved++;
		} else if (S_ISDIR(st.st_mode)) {
			struct level child = { .parent = lv, .name = name, .upper = -1, .st = st };
			if (st.st_dev != root_dev)
				die_at(path, EXDEV);
			child.lower = openat(lv->lower, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (child.lower < 0)
				die_at(path, errno);
			struct stat cst;
			if (fstat(child.lower, &cst) || cst.st_ino != st.st_ino)
				die_at(path, ESTALE);
			walk(&child, clen, depth + 1);
			close(child.lower);
		} else if (S_ISREG(st.st_mode) && !keeps_only) {
			link_file(lv, name, &st);
		}
		path[plen] = '\0';
		free(names[i]);
	}
	free(names);
	/* renames changed the directories' times: the tree's as they were */
	struct timespec ts[2] = { lv->st.st_atim, lv->st.st_mtim };
	futimens(lv->lower, ts);
	if (lv->upper >= 0) {
		futimens(lv->upper, ts);
		if (lv->parent)
			close(lv->upper);
	}
}

/*
 * The tree hash of a converted lower layer: SHA-256 over every entry, by
 * name, of its type, mode, owner, group, device number, symlink target,
 * xattrs (directories) and content hash (files: the object's); times are
 * left out.  Two servers' layers with one tree hash show the same files:
 * the caller keeps one of them (ROOTDIR/.vctx-layers/TREEHASH).
 */
/* the hard-linked inodes met by tree_hash: their names there, and their order (the link structure is part of the tree) */
struct hl { uint64_t ino; nlink_t nlink; size_t count, ordinal; };
static struct hl *hls;
static size_t nhls;

static size_t hl_note(const struct stat *st)
{
	size_t i;

	for (i = 0; i < nhls; i++)
		if (hls[i].ino == st->st_ino) {
			hls[i].count++;
			return hls[i].ordinal;
		}
	hls = realloc(hls, (nhls + 1) * sizeof *hls);
	if (!hls)
		die_at("memory", ENOMEM);
	hls[nhls] = (struct hl){ .ino = st->st_ino, .nlink = st->st_nlink, .count = 1, .ordinal = nhls };
	return nhls++;
}

static void tree_hash(int dfd, const struct stat *dst, unsigned char out[32], int depth, size_t plen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char **names, hdr[160], target[PATH_MAX + 1];
	size_t n, i;
	unsigned int len = 32;

	if (!c || depth > MAX_DEPTH || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		die_at("tree hash", ENOMEM);
	/* the directory's own metadata and xattrs (its files hash theirs) */
	int hl = snprintf(hdr, sizeof hdr, "d %o %u %u", (unsigned)dst->st_mode, (unsigned)dst->st_uid, (unsigned)dst->st_gid);
	EVP_DigestUpdate(c, hdr, hl + 1);
	{
		char xn[65536], xv[65536], *sorted[1024];
		ssize_t xl = flistxattr(dfd, xn, sizeof xn), v;
		size_t ns = 0;
		for (char *p = xn; xl > 0 && p < xn + xl && ns < 1024; p += strlen(p) + 1)
			sorted[ns++] = p;
		qsort(sorted, ns, sizeof *sorted, cmp_str);
		for (i = 0; i < ns; i++) {
			v = fgetxattr(dfd, sorted[i], xv, sizeof xv);
			if (v < 0)
				continue;
			EVP_DigestUpdate(c, sorted[i], strlen(sorted[i]) + 1);
			EVP_DigestUpdate(c, xv, v);
		}
	}
	names = list_names(dfd, &n, "tree hash");
	for (i = 0; i < n; i++) {
		struct stat st;
		unsigned char h[32];
		size_t nl = strlen(names[i]);
		if (plen + nl + 2 > sizeof path)
			die_at(path, ENAMETOOLONG);
		if (plen)
			path[plen] = '/';
		memcpy(path + plen + (plen ? 1 : 0), names[i], nl + 1);
		size_t clen = plen + (plen ? 1 : 0) + nl;
		if (is_kept(path)) {	/* the server's own layer: not in the lower one */
			path[plen] = '\0';
			free(names[i]);
			continue;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			die_at(path, errno);
		EVP_DigestUpdate(c, names[i], strlen(names[i]) + 1);
		hl = snprintf(hdr, sizeof hdr, "%o %u %u %lu", (unsigned)st.st_mode, (unsigned)st.st_uid, (unsigned)st.st_gid,
			      (unsigned long)st.st_rdev);
		EVP_DigestUpdate(c, hdr, hl + 1);
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0)
				die_at(path, errno);
			if (st.st_dev != root_dev)
				die_at(path, EXDEV);
			tree_hash(cfd, &st, h, depth + 1, clen);
			close(cfd);
			EVP_DigestUpdate(c, h, 32);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t tl = readlinkat(dfd, names[i], target, sizeof target - 1);
			if (tl < 0)
				die_at(names[i], errno);
			EVP_DigestUpdate(c, target, tl);
		} else if (S_ISREG(st.st_mode)) {
			const unsigned char *m = memo_get(st.st_ino);
			if (!m) {
				int ffd = openat(dfd, names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
				struct stat fst;
				if (ffd < 0 || fstat(ffd, &fst) < 0 || fst.st_ino != st.st_ino || hash_file(ffd, &fst, h) < 0)
					die_at(path, errno ? errno : ESTALE);
				close(ffd);
				memo_put(st.st_ino, h);
				m = h;
			}
			EVP_DigestUpdate(c, m, 32);
			t_files++;
			t_bytes += (uint64_t)st.st_blocks * 512;
			if (st.st_nlink > 1) {
				size_t ord = hl_note(&st);
				EVP_DigestUpdate(c, &ord, sizeof ord);
			}
		}
		path[plen] = '\0';
		free(names[i]);
	}
	free(names);
	if (!EVP_DigestFinal_ex(c, out, &len))
		die_at("tree hash", EIO);
	EVP_MD_CTX_free(c);
}

/* removes everything in directory @dfd (the tree's file system only, no symlink followed) */
static void remove_all(int dfd, int depth)
{
	char **names;
	size_t n, i;

	if (depth > MAX_DEPTH)
		die_at("remove", ELOOP);
	names = list_names(dfd, &n, "remove");
	for (i = 0; i < n; i++) {
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0 || st.st_dev != root_dev)
				die_at(names[i], cfd < 0 ? errno : EXDEV);
			remove_all(cfd, depth + 1);
			close(cfd);
			if (unlinkat(dfd, names[i], AT_REMOVEDIR) < 0)
				die_at(names[i], errno);
		} else if (unlinkat(dfd, names[i], 0) < 0) {
			die_at(names[i], errno);
		}
		free(names[i]);
	}
	free(names);
}

static int open_dir(const char *p)
{
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		die_at(p, errno);
	return fd;
}

static int cmd_convert(int argc, char **argv)
{
	struct level top = { .name = "", .upper = -1 };
	struct stat st, ust, sst;
	int store, i;

	if (argc < 5)
		return -1;
	const char *layers = NULL;
	for (i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--keep") && i + 1 < argc)
			add_keep(argv[++i]);
		else if (!strcmp(argv[i], "--layers") && i + 1 < argc)
			layers = argv[++i];
		else
			return -1;
	}
	store = open_dir(argv[2]);
	top.lower = open_dir(argv[3]);
	top.upper = open_dir(argv[4]);
	if (fstat(top.lower, &st) || fstat(top.upper, &ust) || fstat(store, &sst))
		die_at(argv[3], errno);
	if (st.st_dev != sst.st_dev || st.st_dev != ust.st_dev) {
		fprintf(stderr, "vunify: the store %s", vctx_shown(argv[2]));
		fprintf(stderr, " and the tree %s are not on one file system (hard links need one)\n", vctx_shown(argv[3]));
		return 1;
	}
	top.st = st;
	root_dev = st.st_dev;
	if (mkdirat(store, "objects", 0700) < 0 && errno != EEXIST)
		die_at(argv[2], errno);
	objects_fd = openat(store, "objects", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (objects_fd < 0)
		die_at(argv[2], errno);
	buf = malloc(BUFSZ);
	if (!buf)
		die_at("memory", ENOMEM);
	read_conffiles(top.lower);
	qsort(keeps, nkeeps, sizeof *keeps, cmp_str);
	path[0] = '\0';
	lower_root = top.lower;
	/* pass 1, reading only: every file hashed, and the layer's tree hash */
	char tree[65] = "";
	int exists = 0;
	{
		unsigned char th[32];
		size_t k;
		tree_hash(top.lower, &st, th, 0, 0);
		for (k = 0; k < nhls; k++)
			if (hls[k].count != (size_t)hls[k].nlink)
				unshareable = 1; /* hard-linked with a file of the server's own layer */
		if (!unshareable)
			for (i = 0; i < 32; i++)
				sprintf(tree + 2 * i, "%02x", th[i]);
	}
	if (tree[0] && layers) {
		int lfd = open(layers, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat lst;
		exists = lfd >= 0 && fstatat(lfd, tree, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(lst.st_mode);
		if (lfd >= 0)
			close(lfd);
	}
	path[0] = '\0';
	if (exists) {
		/* the same layer is there: what is never shared moves, the rest goes */
		keeps_only = 1;
		walk(&top, 0, 0);
		remove_all(top.lower, 0);
		S.files = S.linked = t_files;
		S.shared_bytes = t_bytes;
	} else {
		walk(&top, 0, 0);
		link_groups();
		/* the group links changed directories' times: the root's as it was */
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		futimens(top.lower, ts);
	}
	printf("{\"treeHash\":%s%s%s,\"layerExists\":%s,\"files\":%" PRIu64 ",\"newObjects\":%" PRIu64 ",\"linked\":%" PRIu64 ",\"newBytes\":%" PRIu64
	       ",\"sharedBytes\":%" PRIu64 ",\"moved\":%" PRIu64 ",\"keptLinks\":%" PRIu64 ",\"dupes\":%" PRIu64
	       ",\"empty\":%" PRIu64 "}\n",
	       tree[0] ? "\"" : "", tree[0] ? tree : "null", tree[0] ? "\"" : "", exists ? "true" : "false",
	       S.files, S.new_objects, S.linked, S.new_bytes, S.shared_bytes, S.moved, S.kept_links, S.dupes, S.empty);
	return 0;
}

static int cmd_gc(int argc, char **argv)
{
	uint64_t removed = 0, bytes = 0, kept = 0;
	int store, objs;
	DIR *d;
	struct dirent *e;

	if (argc != 3)
		return -1;
	store = open_dir(argv[2]);
	objs = openat(store, "objects", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (objs < 0) {
		if (errno != ENOENT)
			die_at(argv[2], errno);
	} else if (!(d = fdopendir(objs))) {
		die_at(argv[2], errno);
	} else {
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			DIR *sd;
			struct dirent *f;
			if (sub < 0 || !(sd = fdopendir(sub)))
				continue;
			while ((f = readdir(sd))) {
				struct stat st;
				if (f->d_name[0] == '.' && (!f->d_name[1] || !strcmp(f->d_name, "..")))
					continue;
				if (fstatat(sub, f->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					continue;
				if (st.st_nlink == 1) {
					if (unlinkat(sub, f->d_name, 0) == 0) {
						removed++;
						bytes += (uint64_t)st.st_blocks * 512;
					}
				} else {
					kept++;
				}
			}
			closedir(sd);
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR); /* when empty */
		}
		closedir(d);
	}
	printf("{\"removed\":%" PRIu64 ",\"removedBytes\":%" PRIu64 ",\"objects\":%" PRIu64 "}\n", removed, bytes, kept);
	return 0;
}

static int cmd_mount_image(int argc, char **argv)
{
	int fs, m, dir, err;

	if (argc != 4)
		return -1;
	dir = open(argv[3], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		die_at(argv[3], errno);
	fs = fsopen("erofs", FSOPEN_CLOEXEC);
	if (fs < 0)
		die_at("erofs", errno);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", argv[2], 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		err = errno;
		if (err == ENOTBLK) {
			fprintf(stderr, "vunify: %s: this kernel mounts erofs from block devices only\n", argv[2]);
			return 3;
		}
		die_at(argv[2], err);
	}
	m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (m < 0)
		die_at(argv[2], errno);
	if (move_mount(m, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die_at(argv[3], errno);
	close(m);
	close(fs);
	close(dir);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = -1;

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("vunify (vctx) %s\n", VCTX_VERSION);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "convert"))
		rc = cmd_convert(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "gc"))
		rc = cmd_gc(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "mount-image"))
		rc = cmd_mount_image(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "usage: vunify convert STORE LOWER UPPER [--keep PATH]... [--layers DIR] | vunify gc STORE | vunify mount-image IMAGE DIR\n");
		return 2;
	}
	return rc;
}
