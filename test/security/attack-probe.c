// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * attack-probe: the attack suite's probes (test/security/), one static
 * program run as root inside a real server.  Each mode tries one attack
 * and prints one line:
 *
 *   SAFE: <what stopped it>       exit 0
 *   ESCAPE: <what got through>    exit 3
 *   PROBE ERROR: <why>            exit 2 (the probe could not run its attack)
 *
 * Modes (ARG as named):
 *   exe                 CVE-2019-5736: open the host binary PID 1 (vctx-init)
 *                       and the guard run (/proc/1/exe, /proc/PID/exe), ptrace them
 *   fds                 CVE-2024-21626: a descriptor (fd 0-1023 or the cwd)
 *                       that leads out of the server's root
 *   cgroup-v1           CVE-2022-0492: mount a cgroup v1 hierarchy, write release_agent
 *   tiocsti             CVE-2017-5226: push input into the terminal on fd 0
 *   mount               mount a tmpfs and a fresh proc, unmount the /proc/acpi mask, pivot_root
 *   chroot MARKER       double chroot and fchdir breakouts: the host file MARKER
 *                       (an absolute host path) must stay out of reach
 *   handle              open_by_handle_at ("shocker"): the file system's root
 *   keyring             add a key to root's user keyring (shared with the host's root)
 *   perf                perf_event_open for the whole machine (pid -1, cpu 0)
 *   bpf                 bpf(BPF_PROG_GET_NEXT_ID): list the host's eBPF programs
 *   userfaultfd         userfaultfd() able to catch kernel faults
 *   kexec               kexec_file_load / kexec_load past their permission check
 *   setns               setns() into a mount namespace
 *   sysctl              write /proc/sys/kernel/printk_ratelimit (its own value back)
 *   sysrq               open the real /proc/sysrq-trigger for writing (nothing written)
 *   mknod               create the block device node of '/' (and read it)
 *   raw                 raw IP and packet sockets
 *   abstract NAME       connect to the host's abstract unix socket \0NAME
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <stddef.h>
#include <netinet/in.h>
#include <termios.h>
#include <unistd.h>

#define PROC_SUPER_MAGIC 0x9fa0

static int safe(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int escape(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#include <stdarg.h>
static int say(const char *tag, int code, const char *fmt, va_list ap)
{
	printf("%s: ", tag);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return code;
}
static int safe(const char *fmt, ...) { va_list ap; va_start(ap, fmt); int r = say("SAFE", 0, fmt, ap); va_end(ap); return r; }
static int escape(const char *fmt, ...) { va_list ap; va_start(ap, fmt); int r = say("ESCAPE", 3, fmt, ap); va_end(ap); return r; }
static int perror2(const char *fmt, ...) { va_list ap; va_start(ap, fmt); int r = say("PROBE ERROR", 2, fmt, ap); va_end(ap); return r; }

static const char *en(int e)
{
	static char b[64];
	const char *n = strerrorname_np(e);
	snprintf(b, sizeof(b), "%s", n ? n : "E?");
	return b;
}

/* ---------------------------------------------------------------- exe */

/* the host binaries in the server's PID namespace: processes whose exe
   cannot be resolved inside the root, or resolves to a file outside it */
static int mode_exe(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char got[2048] = "";
	int checked = 0;

	if (!d)
		return perror2("cannot list /proc: %s", en(errno));
	while ((de = readdir(d))) {
		char p[64], lnk[512];
		int pid = atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		char comm[64] = "";
		snprintf(p, sizeof(p), "/proc/%d/comm", pid);
		FILE *f = fopen(p, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		/* vctx-init (PID 1 of a plain server), vctx-guard (beside an init) */
		if (strncmp(comm, "vctx-", 5) != 0)
			continue;
		checked++;
		snprintf(p, sizeof(p), "/proc/%d/exe", pid);
		ssize_t n = readlink(p, lnk, sizeof(lnk) - 1);
		int fd = open(p, O_PATH | O_CLOEXEC);
		int e = errno;
		if (fd >= 0) {
			lnk[n > 0 ? n : 0] = 0;
			/* the overwrite itself: through the descriptor we hold */
			char fdp[64];
			snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", fd);
			int w = open(fdp, O_WRONLY | O_CLOEXEC);
			int we = errno;
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s (pid %d) exe %s opened, write %s",
				 got[0] ? "; " : "", comm, pid, lnk, w >= 0 ? "OPEN" : en(we));
			if (w >= 0)
				close(w);
			close(fd);
			continue;
		}
		long pt = ptrace(PTRACE_ATTACH, pid, 0, 0);
		int pe = errno;
		if (pt == 0) {
			waitpid(pid, NULL, __WALL);
			ptrace(PTRACE_DETACH, pid, 0, 0);
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%sptrace of %s (pid %d) attached",
				 got[0] ? "; " : "", comm, pid);
			continue;
		}
		(void)e;
		(void)pe;
	}
	closedir(d);
	if (!checked)
		return perror2("no vctx-init or vctx-guard process found in /proc");
	if (got[0])
		return escape("the host's runtime binary is reachable: %s", got);
	return safe("/proc/PID/exe of vctx-init/vctx-guard: %s, ptrace: refused (%d processes)", en(EACCES), checked);
}

/* ---------------------------------------------------------------- fds */

/* does walking up from @fd (a directory) reach a '/' other than ours? */
static int leads_out(int fd, char *why, size_t len)
{
	struct stat root, st, prev;
	int cur = dup(fd);

	if (stat("/", &root) < 0)
		return 0;
	if (fstat(cur, &st) < 0) {
		close(cur);
		return 0;
	}
	for (int i = 0; i < 64; i++) {
		if (st.st_dev == root.st_dev && st.st_ino == root.st_ino) {
			close(cur);
			return 0;	/* reached our own root: inside */
		}
		int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(cur);
		if (up < 0)
			return 0;
		cur = up;
		prev = st;
		if (fstat(cur, &st) < 0)
			break;
		if (st.st_dev == prev.st_dev && st.st_ino == prev.st_ino) {
			/* a top that is not our root: the host's */
			snprintf(why, len, "its '..' chain ends at a root that is not the server's");
			close(cur);
			return 1;
		}
	}
	close(cur);
	return 0;
}

static int mode_fds(void)
{
	char out[1024] = "", why[200];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			continue;
		n++;
		if (!S_ISDIR(st.st_mode))
			continue;
		if (leads_out(fd, why, sizeof(why))) {
			char p[64], l[256] = "?";
			snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
			ssize_t k = readlink(p, l, sizeof(l) - 1);
			l[k > 0 ? k : 1] = 0;
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%sfd %d (%s): %s", out[0] ? "; " : "", fd, l, why);
		}
	}
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd >= 0) {
		if (leads_out(cwd, why, sizeof(why)))
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%scwd: %s", out[0] ? "; " : "", why);
		close(cwd);
	}
	if (out[0]) {
		/* prove it: fchdir there and name what is outside */
		return escape("a descriptor leads out of the root: %s", out);
	}
	return safe("%d open descriptors, none (nor the cwd) leads out of the root", n);
}

/* ---------------------------------------------------------------- cgroup v1 */

static int mode_cgroup_v1(void)
{
	const char *dir = "/tmp/.attack-cg";
	const char *opts[] = { "rdma", "memory", "none,name=systemd", "none,name=attack", "pids", NULL };
	char got[256] = "";

	mkdir("/tmp", 01777);
	mkdir(dir, 0700);
	for (int i = 0; opts[i]; i++) {
		if (mount("cgroup", dir, "cgroup", 0, opts[i]) < 0)
			continue;
		char p[128];
		snprintf(p, sizeof(p), "%s/release_agent", dir);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		int e = errno;
		snprintf(got, sizeof(got), "mounted cgroup v1 (%s); release_agent: %s", opts[i],
			 fd >= 0 ? "open for writing" : en(e));
		if (fd >= 0)
			close(fd);	/* nothing written */
		umount2(dir, MNT_DETACH);
		break;
	}
	int e = errno;
	rmdir(dir);
	if (got[0])
		return escape("%s", got);
	return safe("mount -t cgroup: %s", en(e));
}

/* ---------------------------------------------------------------- tty */

static int mode_tiocsti(void)
{
	char c = '#';
	if (!isatty(0))
		return perror2("stdin is not a terminal");
	int r = ioctl(0, TIOCSTI, &c);
	int e = errno;
	char sel[2] = { 2 /* TIOCL_SETSEL */, 0 };
	int l = ioctl(0, TIOCLINUX, sel);
	int le = errno;
	if (r == 0)
		return escape("TIOCSTI pushed a byte into the caller's terminal (TIOCLINUX: %s)", l == 0 ? "ok" : en(le));
	if (l == 0)
		return escape("TIOCLINUX accepted on the caller's terminal");
	return safe("TIOCSTI: %s, TIOCLINUX: %s", en(e), en(le));
}

/* ---------------------------------------------------------------- mounts */

static int mode_mount(void)
{
	char got[300] = "";
	mkdir("/tmp", 01777);
	mkdir("/tmp/.attack-mnt", 0700);
	int m = mount("tmpfs", "/tmp/.attack-mnt", "tmpfs", 0, "size=16k");
	int me = errno;
	if (m == 0) {
		strcat(got, "mount tmpfs ok");
		umount2("/tmp/.attack-mnt", MNT_DETACH);
	}
	/* a fresh proc instance has none of the masks */
	int p = mount("proc", "/tmp/.attack-mnt", "proc", 0, NULL);
	int pe = errno;
	if (p == 0) {
		strcat(got, got[0] ? "; " : "");
		strcat(got, "mount proc ok");
		umount2("/tmp/.attack-mnt", MNT_DETACH);
	}
	/* unmask: /proc/acpi is a mask no other probe needs (a detached /proc would be) */
	int u = umount2("/proc/acpi", MNT_DETACH | UMOUNT_NOFOLLOW);
	int ue = errno;
	if (u == 0) {
		strcat(got, got[0] ? "; " : "");
		strcat(got, "umount of the /proc/acpi mask ok");
	}
	int pr = (int)syscall(SYS_pivot_root, "/tmp/.attack-mnt", "/tmp/.attack-mnt");
	int pre = errno;
	if (pr == 0) {
		strcat(got, got[0] ? "; " : "");
		strcat(got, "pivot_root ok");
	}
	rmdir("/tmp/.attack-mnt");
	if (got[0])
		return escape("%s", got);
	return safe("mount: %s, mount proc: %s, umount /proc/acpi: %s, pivot_root: %s", en(me), en(pe), en(ue), en(pre));
}

/* ---------------------------------------------------------------- chroot */

static int mode_chroot(const char *marker)
{
	struct stat st;
	int out = 0;
	char what[200] = "";

	if (!marker || marker[0] != '/')
		return perror2("chroot needs the absolute host path of a marker file");
	/* fchdir: hold a descriptor of '/', chroot into a subdirectory, climb from the descriptor */
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/", O_RDONLY | O_DIRECTORY);
		mkdir("/tmp", 01777);
		mkdir("/tmp/.attack-jail", 0700);
		if (chroot("/tmp/.attack-jail") < 0)
			_exit(10);
		if (fchdir(fd) < 0)
			_exit(11);
		for (int i = 0; i < 64; i++)
			if (chdir("..") < 0)
				_exit(12);
		if (chroot(".") < 0)
			_exit(13);
		_exit(stat(marker, &st) == 0 ? 0 : 14);
	}
	int ws = 0;
	waitpid(pid, &ws, 0);
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
		out = 1;
		strcat(what, "fchdir+chroot reached the host file");
	}
	int code1 = WIFEXITED(ws) ? WEXITSTATUS(ws) : 99;
	/* the classic double chroot: chroot deeper without chdir, climb with chdir("..") */
	pid = fork();
	if (pid == 0) {
		mkdir("/tmp", 01777);
		mkdir("/tmp/.attack-jail2", 0700);
		if (chroot("/tmp/.attack-jail2") < 0)
			_exit(10);
		for (int i = 0; i < 64; i++)
			if (chdir("..") < 0)
				_exit(12);
		if (chroot(".") < 0)
			_exit(13);
		_exit(stat(marker, &st) == 0 ? 0 : 14);
	}
	waitpid(pid, &ws, 0);
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
		out = 1;
		strcat(what, what[0] ? "; " : "");
		strcat(what, "double chroot reached the host file");
	}
	int code2 = WIFEXITED(ws) ? WEXITSTATUS(ws) : 99;
	rmdir("/tmp/.attack-jail");
	rmdir("/tmp/.attack-jail2");
	if (out)
		return escape("%s %s", what, marker);
	if (stat(marker, &st) == 0)
		return escape("the host file %s is visible inside without any trick", marker);
	return safe("both breakouts stay inside the root (fchdir: step %d, double chroot: step %d; 14 = climbed to the server's own '/')",
		    code1, code2);
}

/* ---------------------------------------------------------------- handles */

static int mode_handle(void)
{
	struct { struct file_handle h; unsigned char b[128]; } fh = { .h.handle_bytes = 128 };
	int mid;
	struct stat root;

	if (name_to_handle_at(AT_FDCWD, "/etc", &fh.h, &mid, 0) < 0)
		return perror2("name_to_handle_at /etc: %s", en(errno));
	int fd = open_by_handle_at(AT_FDCWD, &fh.h, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return safe("open_by_handle_at: %s", en(errno));
	close(fd);
	/* shocker: the file system's root inode (ext4: 2, generation 0) */
	stat("/", &root);
	struct { struct file_handle h; uint32_t ino, gen; } sh = { .h.handle_bytes = 8, .h.handle_type = 1, .ino = 2, .gen = 0 };
	int rfd = open_by_handle_at(AT_FDCWD, &sh.h, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (rfd >= 0 && fstat(rfd, &st) == 0 && !(st.st_dev == root.st_dev && st.st_ino == root.st_ino))
		return escape("open_by_handle_at opened files by handle, and the file system's root inode 2 (outside the server's root)");
	return escape("open_by_handle_at opened /etc by handle (any inode of the file system can be guessed)");
}

/* ---------------------------------------------------------------- syscalls */

static int mode_keyring(void)
{
	long k = syscall(SYS_add_key, "user", "vctx-attack-suite", "x", 1, -4 /* KEY_SPEC_USER_KEYRING */);
	int e = errno;
	if (k >= 0) {
		syscall(SYS_keyctl, 21 /* KEYCTL_INVALIDATE */, k);
		return escape("add_key put a key into uid 0's user keyring, which the host's root shares (removed again)");
	}
	long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4, 0);
	int re = errno;
	if (r >= 0)
		return escape("keyctl reached uid 0's user keyring (id %ld)", r);
	return safe("add_key: %s, keyctl: %s", en(e), en(re));
}

static int mode_perf(void)
{
	struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(a), .config = PERF_COUNT_SW_CPU_CLOCK, .disabled = 1 };
	long fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);
	if (fd >= 0) {
		close((int)fd);
		return escape("perf_event_open watches the whole CPU 0 (every process on the host)");
	}
	return safe("perf_event_open(pid -1, cpu 0): %s", en(errno));
}

static int mode_bpf(void)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	long r = syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &a, sizeof(a));
	int e = errno;
	if (r == 0 || e == ENOENT)
		return escape("bpf(BPF_PROG_GET_NEXT_ID) lists the host's eBPF programs (first id %u): the address lock's can be fetched and detached",
			      a.next_id);
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	long m = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	int me = errno;
	if (m >= 0) {
		close((int)m);
		return escape("bpf(BPF_MAP_CREATE) works");
	}
	return safe("bpf GET_NEXT_ID: %s, MAP_CREATE: %s", en(e), en(me));
}

static int mode_userfaultfd(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	int e = errno;
	if (fd >= 0) {
		close((int)fd);
		return escape("userfaultfd() that catches kernel faults (a kernel race can be held open)");
	}
	int dfd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dfd >= 0) {
		close(dfd);
		return escape("/dev/userfaultfd opens");
	}
	return safe("userfaultfd: %s", en(e));
}

static int mode_kexec(void)
{
	long r = syscall(SYS_kexec_file_load, -1, -1, 0, "", 0);
	int e = errno;
	/* with nr_segments 1 and no segments the permission check comes first, then EFAULT */
	long r2 = syscall(SYS_kexec_load, 0, 1, NULL, 0);
	int e2 = errno;
	if ((r < 0 && e != EPERM && e != ENOSYS) || (r2 < 0 && e2 != EPERM && e2 != ENOSYS) || r == 0 || r2 == 0)
		return escape("kexec passed its permission check (kexec_file_load: %s, kexec_load: %s): the server could load a kernel",
			      r == 0 ? "ok" : en(e), r2 == 0 ? "ok" : en(e2));
	return safe("kexec_file_load: %s, kexec_load: %s", en(e), en(e2));
}

static int mode_setns(void)
{
	static const struct { const char *f; int t; } ns[] = {
		{ "/proc/self/ns/uts", CLONE_NEWUTS }, { "/proc/self/ns/ipc", CLONE_NEWIPC }, { "/proc/self/ns/mnt", CLONE_NEWNS },
	};
	char out[256] = "";
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		int fd = open(ns[i].f, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return perror2("open %s: %s", ns[i].f, en(errno));
		int r = setns(fd, ns[i].t);
		int e = errno;
		close(fd);
		if (r == 0)
			return escape("setns(%s) is allowed: a namespace descriptor from the host would let the server join it", ns[i].f);
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s %s", out[0] ? ", " : "", ns[i].f + 14, en(e));
	}
	return safe("setns: %s", out);
}

static int mode_sysctl(void)
{
	const char *p = "/proc/sys/kernel/printk_ratelimit";
	char v[64] = "";
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return perror2("cannot read %s: %s", p, en(errno));
	ssize_t n = read(fd, v, sizeof(v) - 1);
	close(fd);
	if (n <= 0)
		return perror2("cannot read %s", p);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return safe("open %s for writing: %s", p, en(errno));
	ssize_t w = write(fd, v, (size_t)n);	/* the same value back: no change */
	int e = errno;
	close(fd);
	if (w == n)
		return escape("wrote the host's kernel.printk_ratelimit (its own value back)");
	return safe("write %s: %s", p, en(e));
}

static int mode_sysrq(void)
{
	struct statfs sf;
	struct stat st;
	const char *p = "/proc/sysrq-trigger";
	if (stat(p, &st) < 0)
		return safe("%s: %s", p, en(errno));
	if (statfs(p, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC || !S_ISREG(st.st_mode))
		return safe("%s is masked (not the proc file: mode %o)", p, st.st_mode & S_IFMT);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return safe("open %s for writing: %s", p, en(errno));
	close(fd);	/* nothing written */
	return escape("the host's %s is open for writing (one byte reboots the machine)", p);
}

static int mode_mknod(void)
{
	struct stat root;
	if (stat("/", &root) < 0)
		return perror2("stat /");
	dev_t dev = root.st_dev;
	if (major(dev) == 0)
		return perror2("the server's root is on an anonymous device (%u:%u)", major(dev), minor(dev));
	mkdir("/tmp", 01777);
	const char *p = "/tmp/.attack-disk";
	unlink(p);
	if (mknod(p, S_IFBLK | 0600, dev) < 0)
		return safe("mknod b %u %u: %s", major(dev), minor(dev), en(errno));
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	int e = errno;
	char buf[512];
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	unlink(p);
	/* the node itself is the escape: only the device allowlist would stand
	   between it and the disk (some machines refuse the open to everyone) */
	return escape("mknod made the node of the host's disk %u:%u (open: %s%s)", major(dev), minor(dev),
		      fd >= 0 ? "ok" : en(e), n > 0 ? ", a sector read" : "");
}

static int mode_raw(void)
{
	int r = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	int e = errno;
	int p = socket(AF_PACKET, SOCK_RAW, 0);
	int pe = errno;
	if (r >= 0)
		close(r);
	if (p >= 0)
		close(p);
	if (r >= 0 || p >= 0)
		return escape("%s%s%s: packets with any source address", r >= 0 ? "raw IP socket" : "",
			      r >= 0 && p >= 0 ? " and " : "", p >= 0 ? "packet socket" : "");
	return safe("SOCK_RAW: %s, AF_PACKET: %s", en(e), en(pe));
}

static int mode_abstract(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!name)
		return perror2("abstract needs a NAME");
	size_t n = strlen(name);
	memcpy(sa.sun_path + 1, name, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return perror2("socket: %s", en(errno));
	if (connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0) {
		close(fd);
		return escape("connected to the host's abstract unix socket @%s", name);
	}
	int e = errno;
	close(fd);
	if (e == ECONNREFUSED)
		return perror2("no listener on @%s", name);
	return safe("connect @%s: %s", name, en(e));
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	const char *a = argc > 2 ? argv[2] : NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* never on the host: these modes unmount /proc and the like */
	{
		char x[32] = "";
		int fd = open("/dev/vctx/xid", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, x, sizeof(x) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0 || atoi(x) < 2)
			return perror2("refusing to run outside a server's context (/dev/vctx/xid is not 2 or more)");
	}
	if (!strcmp(m, "exe")) return mode_exe();
	if (!strcmp(m, "fds")) return mode_fds();
	if (!strcmp(m, "cgroup-v1")) return mode_cgroup_v1();
	if (!strcmp(m, "tiocsti")) return mode_tiocsti();
	if (!strcmp(m, "mount")) return mode_mount();
	if (!strcmp(m, "chroot")) return mode_chroot(a);
	if (!strcmp(m, "handle")) return mode_handle();
	if (!strcmp(m, "keyring")) return mode_keyring();
	if (!strcmp(m, "perf")) return mode_perf();
	if (!strcmp(m, "bpf")) return mode_bpf();
	if (!strcmp(m, "userfaultfd")) return mode_userfaultfd();
	if (!strcmp(m, "kexec")) return mode_kexec();
	if (!strcmp(m, "setns")) return mode_setns();
	if (!strcmp(m, "sysctl")) return mode_sysctl();
	if (!strcmp(m, "sysrq")) return mode_sysrq();
	if (!strcmp(m, "mknod")) return mode_mknod();
	if (!strcmp(m, "raw")) return mode_raw();
	if (!strcmp(m, "abstract")) return mode_abstract(a);
	return perror2("unknown mode '%s'", m);
}
