/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal helpers shared by libvctx files (not part of the API). */
#ifndef VCTX_UTIL_H
#define VCTX_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define VCTX_API __attribute__((visibility("default")))

static inline void vctx_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void vctx_freep(void *p) { extern void free(void *); free(*(void **)p); }
#define cleanup_fd __attribute__((cleanup(vctx_closep)))
#define cleanup_free __attribute__((cleanup(vctx_freep)))

/* read a whole small file at dirfd/path into buf (NUL-terminated); returns length or -1 */
ssize_t vctx_read_file_at(int dirfd, const char *path, char *buf, size_t len);
/* write a string to dirfd/path (O_WRONLY, no create); 0 or -1 with errno */
int vctx_write_file_at(int dirfd, const char *path, const char *s);
/* mkdir -p, mode 0755 */
int vctx_mkdir_p(const char *path, mode_t mode);
/* strip trailing newline/space */
void vctx_chomp(char *s);
/* start time of whoever holds @pid now (0 = self; /proc/PID/stat field
   22, clock ticks after boot); -1 when nobody does */
int vctx_starttime(pid_t pid, uint64_t *st);
/* a 64-bit hash of @n bytes (names the build of an embedded eBPF object) */
uint64_t vctx_hash64(const void *data, size_t n);
/* snprintf for paths: 0, or -1 with ENAMETOOLONG when the path would be
   cut (a cut path names another file: never use it) */
int vctx_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* refuse a directory among the descriptors a process in a context will
   get as its stdio (-1: not passed): fchdir() to it leaves the server's
   root (runc CVE-2024-21626) */
int vctx_check_stdio(const int fds[3], vctx_error *err);

#endif

/* is @s a non-empty run of decimal digits? (a cgroup named so is a context) */
int vctx_all_digits(const char *s);
/*
 * The XID a cgroup directory name stands for: all digits, at most 10 of
 * them, 1 to VCTX_XID_DYN_MAX; 0 for any other name (not a context).
 */
uint32_t vctx_xid_of_name(const char *name);
