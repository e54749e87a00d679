// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * devices: a server's device allowlist (bpf/devices.bpf.c, embedded in the
 * library), attached to its cgroup2 directory before its first process
 * runs.  Loaded once per build and pinned at
 * vctx_pin_dir()/devices-<hash of the embedded object> (a verifier run
 * and libbpf's set-up cost more than the rest of a context's creation);
 * later contexts open the pin and attach.  The attachment goes with the
 * cgroup (the one release path, vctx_release_cg, removes the cgroup), so
 * a context leaves no pin of its own; a new build's first load removes the
 * pins of older builds (attachments do not need them).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"

extern const unsigned char vctx_bpf_devices[];
extern const unsigned char vctx_bpf_devices_end[];

#define DEV_PREFIX	"devices-"
#define LOAD_FAILED	"cannot load the device allowlist eBPF program"

static char dev_build[32];	/* "devices-<16 hex>" */

static void dev_build_name(void)
{
	if (!dev_build[0])
		snprintf(dev_build, sizeof(dev_build), DEV_PREFIX "%016llx",
			 (unsigned long long)vctx_hash64(vctx_bpf_devices, (size_t)(vctx_bpf_devices_end - vctx_bpf_devices)));
}

static char dev_libbpf_msg[200];

static int dev_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[sizeof(dev_libbpf_msg)];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	vctx_chomp(line);
	if (line[0])
		memcpy(dev_libbpf_msg, line, sizeof(line));
	return 0;
}

/* the pins of other builds and of crashed loaders; under the flock */
static void dev_gc(void)
{
	DIR *d = opendir(vctx_pin_dir());
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, DEV_PREFIX, strlen(DEV_PREFIX)) && strcmp(de->d_name, dev_build))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* load the embedded program and pin it at @path; under the flock */
static int dev_load_and_pin(const char *path, vctx_error *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "devices");
	struct bpf_object *obj;
	struct bpf_program *prog;
	libbpf_print_fn_t old;
	char tmp[256];
	int rc = -1, e;

	dev_libbpf_msg[0] = 0;
	old = libbpf_set_print(dev_libbpf_print);
	obj = bpf_object__open_mem(vctx_bpf_devices, (size_t)(vctx_bpf_devices_end - vctx_bpf_devices), &opts);
	if (!obj) {
		e = errno;
		vctx_set_error(err, e, LOAD_FAILED ": the embedded object is unreadable: %s", strerror(e));
		goto out_print;
	}
	if (bpf_object__load(obj) < 0) {
		e = errno;
		if (e == EPERM || e == EACCES)
			vctx_set_error(err, e, LOAD_FAILED ": permission denied (needs CAP_SYS_ADMIN or CAP_BPF)");
		else if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_DEVICE, NULL) == 0)
			vctx_set_error(err, ENOSYS, LOAD_FAILED ": kernel lacks cgroup device programs (CONFIG_CGROUP_BPF)");
		else
			vctx_set_error(err, e, LOAD_FAILED ": %s%s%s%s", strerror(e), dev_libbpf_msg[0] ? " (libbpf: " : "",
				       dev_libbpf_msg, dev_libbpf_msg[0] ? ")" : "");
		goto out;
	}
	if (vctx_mkdir_p(vctx_pin_dir(), 0700) < 0) {
		vctx_set_error(err, errno, "cannot create %s: %s", vctx_pin_dir(), strerror(errno));
		goto out;
	}
	if (vctx_pathf(tmp, sizeof(tmp), "%s/%s-tmp-%d", vctx_pin_dir(), dev_build, (int)getpid()) < 0) {
		vctx_set_error(err, errno, "cannot pin %s: %s", dev_build, strerror(errno));
		goto out;
	}
	unlink(tmp);
	prog = bpf_object__find_program_by_name(obj, "vctx_devices");
	if (!prog || bpf_program__pin(prog, tmp) < 0) {
		e = prog ? errno : ENOENT;
		vctx_set_error(err, e, "cannot pin the device allowlist program at %s: %s", tmp, strerror(e));
		goto out;
	}
	/* published whole: others see the pin or nothing */
	if (rename(tmp, path) < 0) {
		vctx_set_error(err, errno, "cannot publish the device allowlist program at %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	bpf_object__close(obj);
out_print:
	libbpf_set_print(old);
	return rc;
}

/* an fd of this build's pinned program, loading and pinning it on first use */
static int dev_prog(vctx_error *err)
{
	char path[256];
	int fd, lk;

	dev_build_name();
	if (vctx_pathf(path, sizeof(path), "%s/%s", vctx_pin_dir(), dev_build) < 0)
		return vctx_set_error(err, errno, "cannot name the device allowlist pin: %s", strerror(errno));
	fd = bpf_obj_get(path);
	if (fd >= 0)
		return fd;
	lk = vctx_bpf_flock(err);
	if (lk < 0)
		return -1;
	if (vctx_bpffs_ensure(err) == 0) {
		fd = bpf_obj_get(path);
		if (fd < 0 && dev_load_and_pin(path, err) == 0) {
			fd = bpf_obj_get(path);
			if (fd < 0)
				vctx_set_error(err, errno, "cannot open the device allowlist pin %s: %s", path, strerror(errno));
			else
				dev_gc();
		}
	}
	close(lk);
	return fd;
}

/**
 * vctx_devices_attach - attach the device allowlist to the cgroup2
 * directory @cgfd (BPF_F_ALLOW_MULTI: it stays beside any other program,
 * and cgroups below inherit it).  It goes when the cgroup is removed.
 */
int vctx_devices_attach(int cgfd, vctx_error *err)
{
	int prog = dev_prog(err), rc = 0;

	if (prog < 0)
		return -1;
	if (bpf_prog_attach(prog, cgfd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) < 0)
		rc = vctx_set_error(err, errno, "cannot attach the device allowlist to the context's cgroup: %s", strerror(errno));
	close(prog);
	return rc;
}
