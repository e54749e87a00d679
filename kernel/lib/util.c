// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/limits.h>
#include "vctx.h"
#include "util.h"
#include "internal.h"

ssize_t vctx_read_file_at(int dirfd, const char *path, char *buf, size_t len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		total += n;
	}
	buf[total] = 0;
	close(fd);
	return total;
}

int vctx_write_file_at(int dirfd, const char *path, const char *s)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

int vctx_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

void vctx_chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
}

VCTX_API uint64_t vctx_cgroup_id(int cgfd)
{
	struct stat st;

	if (fstat(cgfd, &st) < 0)
		return 0;
	return st.st_ino;
}

int vctx_starttime(pid_t pid, uint64_t *st)
{
	char path[64], buf[1024];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	ssize_t n = vctx_read_file_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* field 22; p points at the end of field 2 */
	for (int f = 2; f < 22 && p; f++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	*st = strtoull(p + 1, NULL, 10);
	return 0;
}

/*
 * Writes @s to @f as a JSON string: quote and backslash escaped, control
 * characters as \u00XX, valid UTF-8 as it is, and each byte of an invalid
 * UTF-8 sequence as U+FFFD (JSON text is Unicode; a path is bytes).
 */
VCTX_API void vctx_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('"', f);
	while (*p) {
		unsigned char c = *p;
		int n = 0, i;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			p++;
			continue;
		}
		if (c < 0x80) {
			putc(c, f);
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		/* overlong 3/4-byte forms, surrogates and beyond U+10FFFF */
		if (n == 0 || i <= n ||
		    (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
		    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		fwrite(p, 1, (size_t)n + 1, f);
		p += n + 1;
	}
	putc('"', f);
}

int vctx_all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

uint32_t vctx_xid_of_name(const char *name)
{
	if (!vctx_all_digits(name) || strlen(name) > 10)
		return 0;
	unsigned long v = strtoul(name, NULL, 10);
	return v <= VCTX_XID_DYN_MAX ? (uint32_t)v : 0;
}

VCTX_API int vctx_front_exec_node(const char *prog, const char *bundle, int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0 || !(self[n] = 0, slash = strrchr(self, '/'))) {
		fprintf(stderr, "%s: cannot find its own path (/proc/self/exe): %s\n", prog, strerror(errno));
		return 1;
	}
	*slash = 0;				/* .../kernel/out */
	/* .../kernel/out -> .../dist, as the kernel resolved the path: no link or dot */
	char *up = strrchr(self, '/');
	if (up)
		*up = 0;			/* .../kernel */
	if (!up || !(up = strrchr(self, '/'))) {
		fprintf(stderr, "%s: cannot find its bundle from its own path (%s)\n", prog, self);
		return 1;
	}
	*up = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/dist/%s", self, bundle) >= sizeof(path)) {
		fprintf(stderr, "%s: the path of its bundle is too long\n", prog);
		return 1;
	}
	char **node_argv = calloc((size_t)argc + 3, sizeof(char *));
	if (!node_argv) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	int k = 0;
	node_argv[k++] = "node";
	/* the path is free of links and dots already: Node need not resolve it
	   again (fs.realpathSync, ~0.3 ms of each start) */
	node_argv[k++] = "--preserve-symlinks-main";
	node_argv[k++] = path;
	for (int i = 1; i < argc; i++)
		node_argv[k++] = argv[i];
	unsetenv("NODE_EXTRA_CA_CERTS");
	/* a Node shipped beside the tree (the Debian package's /usr/lib/vctx/node)
	   comes first: the one on PATH may be too old (Debian 12's is 18) */
	char own[PATH_MAX + 64];
	if ((size_t)snprintf(own, sizeof(own), "%s/node/bin/node", self) < sizeof(own) && access(own, X_OK) == 0)
		execv(own, node_argv);
	execvp("node", node_argv);
	fprintf(stderr, "%s: cannot run node: %s\n", prog, strerror(errno));
	free(node_argv);
	return 127;
}

uint64_t vctx_hash64(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ n, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; n; n--, p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

int vctx_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = 0;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int vctx_check_stdio(const int fds[3], vctx_error *err)
{
	static const char *const names[3] = { "standard input", "standard output", "standard error" };
	struct stat st;

	if (vctx_weakened("stdio"))
		return 0;
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && fstat(fds[i], &st) == 0 && S_ISDIR(st.st_mode))
			return vctx_set_error(err, EISDIR, "%s is a directory: a process inside the context "
					      "could leave its root through it (give a file, a pipe or a terminal)",
					      names[i]);
	return 0;
}
