// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lock-keys: print the keys (cgroup ids, one per line, decimal) of every
 * pinned ipv4root lock map, /sys/fs/bpf/vctx/ipv4root-<build>/locks.  The
 * tests use it to see that a released context left no lock record behind
 * (bpftool is not always installed).  Raw bpf(2), no libbpf.
 *
 * lock-keys addrs: the addresses of the address registries instead
 * (.../addrs, one per line: dotted IPv4 for ::ffff:a.b.c.d, else IPv6).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <linux/bpf.h>

static int obj_get(const char *path)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.pathname = (uint64_t)(uintptr_t)path;
	return (int)syscall(__NR_bpf, BPF_OBJ_GET, &a, sizeof(a));
}

static int next_key(int map, const void *key, void *next)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)map;
	a.key = (uint64_t)(uintptr_t)key;
	a.next_key = (uint64_t)(uintptr_t)next;
	return (int)syscall(__NR_bpf, BPF_MAP_GET_NEXT_KEY, &a, sizeof(a));
}

static void addrs(int map)
{
	unsigned char key[16], next[16], v4[12] = { [10] = 0xff, [11] = 0xff };
	char b[64];
	int first = 1;

	while (next_key(map, first ? NULL : key, next) == 0) {
		if (!memcmp(next, v4, 12))
			inet_ntop(AF_INET, next + 12, b, sizeof(b));
		else
			inet_ntop(AF_INET6, next, b, sizeof(b));
		printf("%s\n", b);
		memcpy(key, next, 16);
		first = 0;
	}
}

int main(int argc, char **argv)
{
	int want_addrs = argc > 1 && !strcmp(argv[1], "addrs");

	DIR *d = opendir("/sys/fs/bpf/vctx");
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : 1;
	while ((e = readdir(d))) {
		char path[512];
		uint64_t key, next;
		int map, first = 1;

		if (strncmp(e->d_name, "ipv4root-", 9) || strstr(e->d_name, "-tmp-"))
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/vctx/%s/%s", e->d_name, want_addrs ? "addrs" : "locks");
		map = obj_get(path);
		if (map < 0)
			continue;
		if (want_addrs) {
			addrs(map);
			close(map);
			continue;
		}
		while (next_key(map, first ? NULL : &key, &next) == 0) {
			printf("%llu\n", (unsigned long long)next);
			key = next;
			first = 0;
		}
		close(map);
	}
	closedir(d);
	return 0;
}
