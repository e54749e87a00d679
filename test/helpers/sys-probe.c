// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sys-probe: the attack probes of test/security/ for socket families,
 * io_uring, the per-uid kernel counters and the console, run as root
 * inside a server (static, so a busybox root runs it) or on the host.
 * Every mode prints one line and exits 0 when the probe itself ran; an
 * outcome such as an errno is in the line.
 *
 *   socket FAMILY TYPE PROTO [HIGH]   socket(2) through syscall(2), FAMILY's
 *                                     upper 32 bits set to HIGH (hex, default 0):
 *                                     "ok" or "error ENAME"
 *   socketpair FAMILY TYPE PROTO      the same for socketpair(2)
 *   families CALL                     CALL (socket or socketpair) for every family
 *                                     0..63, also with upper bits set, and for every
 *                                     netlink protocol 0..31: "af F:OUT ... high F:OUT ...
 *                                     nl P:OUT ..." where OUT is "ok" or the errno's name;
 *                                     a family counts as refused (EAFNOSUPPORT) only
 *                                     when every type (stream, dgram, raw, seqpacket,
 *                                     with CLOEXEC|NONBLOCK) says so
 *   uring-setup                       io_uring_setup(2): "ok" or "error ENAME"
 *   uring-socket FAMILY TYPE PROTO    a socket made by an io_uring ring
 *                                     (IORING_OP_SOCKET): "ok" or "error ENAME"
 *                                     (the ring's own error when setup failed)
 *   inotify N                         inotify_init1(2) up to N times, holding them:
 *                                     "made K [error ENAME]", then waits for stdin's end
 *   fanotify                          fanotify_init(FAN_CLASS_NOTIF|FAN_REPORT_FID):
 *                                     "ok" or "error ENAME"
 *   mqueue                            POSIX message queues of 10 x 8 KiB (about 80 KiB
 *                                     charged each), as many as the caller gets, each
 *                                     unlinked at once and held open: "made K [error
 *                                     ENAME]", then waits for stdin's end
 *   sigqueue N                        up to N queued real-time signals to itself
 *                                     (blocked): "queued K [error ENAME]", then waits
 *                                     for stdin's end
 *   add-key                           add_key(2) of a user key: "ok" or "error ENAME"
 *   userns                            unshare(CLONE_NEWUSER): "ok" or "error ENAME"
 *   console BYTES                     write BYTES to /dev/console, opened as programs
 *                                     do (blocking): "wrote N" or "error ENAME"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fanotify.h>
#include <linux/io_uring.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static int result(long rc)
{
	if (rc < 0)
		printf("error %s\n", ename(errno));
	else
		printf("ok\n");
	return 0;
}

static const char *try_family(int pair, uint64_t family, int proto)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };
	const char *out = "EAFNOSUPPORT";

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int sv[2];
		long t = types[i] | SOCK_CLOEXEC | SOCK_NONBLOCK;
		long rc = pair ? syscall(__NR_socketpair, family, t, proto, sv) : syscall(__NR_socket, family, t, proto);
		if (rc >= 0) {
			if (pair) {
				close(sv[0]);
				close(sv[1]);
			} else
				close((int)rc);
			return "ok";
		}
		if (errno != EAFNOSUPPORT)
			out = ename(errno);
	}
	return out;
}

static int families(int pair)
{
	printf("af");
	for (uint64_t f = 0; f < 64; f++)
		printf(" %u:%s", (unsigned)f, try_family(pair, f, 0));
	printf(" high");
	for (uint64_t f = 0; f < 64; f++)
		printf(" %u:%s", (unsigned)f, try_family(pair, f | (1ULL << 32), 0));
	printf(" nl");
	for (int p = 0; p < 32; p++)
		printf(" %d:%s", p, try_family(pair, AF_NETLINK, p));
	printf("\n");
	return 0;
}

/* a socket made by an io_uring ring, or the ring's own failure */
static int uring_socket(int family, int type, int proto)
{
	struct io_uring_params p = { 0 };
	int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		return result(-1);
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	size_t ringsz = sqsz > cqsz ? sqsz : cqsz;
	char *ring = mmap(NULL, ringsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (ring == MAP_FAILED || sqes == MAP_FAILED)
		return result(-1);
	char *cring = (p.features & IORING_FEAT_SINGLE_MMAP) ? ring
		: mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	if (cring == MAP_FAILED)
		return result(-1);
	unsigned *tail = (unsigned *)(ring + p.sq_off.tail), *array = (unsigned *)(ring + p.sq_off.array);
	unsigned mask = *(unsigned *)(ring + p.sq_off.ring_mask);
	struct io_uring_sqe *sqe = &sqes[0];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_SOCKET;
	sqe->fd = family;
	sqe->off = (uint64_t)type;
	sqe->len = (uint32_t)proto;
	array[*tail & mask] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return result(-1);
	unsigned *chead = (unsigned *)(cring + p.cq_off.head);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cring + p.cq_off.cqes);
	unsigned cmask = *(unsigned *)(cring + p.cq_off.ring_mask);
	int res = cqes[*chead & cmask].res;
	if (res < 0) {
		errno = -res;
		return result(-1);
	}
	return result(0);
}

static void hold_stdin(void)
{
	char c;
	while (read(0, &c, 1) > 0)
		;
}

/* N inotify instances (or as many as one process gets) held until stdin ends */
static int inotify_hold(long want)
{
	long made = 0;
	int err = 0;

	while (made < want) {
		if (inotify_init1(IN_CLOEXEC) < 0) {
			err = errno;
			break;
		}
		made++;
	}
	printf("made %ld%s%s\n", made, err ? " error " : "", err ? ename(err) : "");
	hold_stdin();
	return 0;
}

static int mqueues(void)
{
	struct { long flags, maxmsg, msgsize, curmsgs, pad[4]; } attr = { 0, 10, 8192, 0, { 0 } };
	long made = 0;
	int err = 0;

	for (;;) {
		char name[64];
		snprintf(name, sizeof(name), "vctx-sys-probe-%d-%ld", (int)getpid(), made);
		long fd = syscall(__NR_mq_open, name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
		if (fd < 0) {
			err = errno;
			break;
		}
		syscall(__NR_mq_unlink, name);	/* charged while open; gone with us */
		if (++made == 4096)
			break;
	}
	printf("made %ld%s%s\n", made, err ? " error " : "", err ? ename(err) : "");
	hold_stdin();
	return 0;
}

static int sigqueue_hold(long want)
{
	sigset_t set;
	long queued = 0;
	int err = 0;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	while (queued < want) {
		memset(&si, 0, sizeof(si));
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		if (syscall(__NR_rt_sigqueueinfo, getpid(), SIGRTMIN, &si) < 0) {
			err = errno;
			break;
		}
		queued++;
	}
	printf("queued %ld%s%s\n", queued, err ? " error " : "", err ? ename(err) : "");
	hold_stdin();
	return 0;
}

static int console_flood(long bytes)
{
	static char buf[65536];
	long done = 0;
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (fd < 0)
		return result(-1);
	memset(buf, 'x', sizeof(buf));
	for (size_t i = 79; i < sizeof(buf); i += 80)
		buf[i] = '\n';
	while (done < bytes) {
		size_t n = bytes - done < (long)sizeof(buf) ? (size_t)(bytes - done) : sizeof(buf);
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			printf("error %s after %ld\n", ename(errno), done);
			return 0;
		}
		done += w;
	}
	printf("wrote %ld\n", done);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && (strcmp(argv[1], "socket") == 0 || strcmp(argv[1], "socketpair") == 0)) {
		uint64_t family = strtoull(argv[2], NULL, 0), high = argc > 5 ? strtoull(argv[5], NULL, 16) : 0;
		long type = strtol(argv[3], NULL, 0), proto = strtol(argv[4], NULL, 0);
		family |= high << 32;
		if (argv[1][6] == 0)
			return result(syscall(__NR_socket, family, type, proto));
		int sv[2];
		return result(syscall(__NR_socketpair, family, type, proto, sv));
	}
	if (argc == 3 && strcmp(argv[1], "families") == 0)
		return families(strcmp(argv[2], "socketpair") == 0);
	if (argc == 2 && strcmp(argv[1], "uring-setup") == 0) {
		struct io_uring_params p = { 0 };
		return result(syscall(__NR_io_uring_setup, 4, &p));
	}
	if (argc == 5 && strcmp(argv[1], "uring-socket") == 0)
		return uring_socket(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (argc == 3 && strcmp(argv[1], "inotify") == 0)
		return inotify_hold(atol(argv[2]));
	if (argc == 2 && strcmp(argv[1], "fanotify") == 0)
		return result(syscall(__NR_fanotify_init, FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY));
	if (argc == 2 && strcmp(argv[1], "mqueue") == 0)
		return mqueues();
	if (argc == 3 && strcmp(argv[1], "sigqueue") == 0)
		return sigqueue_hold(atol(argv[2]));
	if (argc == 2 && strcmp(argv[1], "add-key") == 0)
		return result(syscall(__NR_add_key, "user", "vctx-probe", "x", 1, -2 /* KEY_SPEC_PROCESS_KEYRING */));
	if (argc == 2 && strcmp(argv[1], "userns") == 0)
		return result(syscall(__NR_unshare, 0x10000000 /* CLONE_NEWUSER */));
	if (argc == 3 && strcmp(argv[1], "console") == 0)
		return console_flood(atol(argv[2]));
	fprintf(stderr, "usage: sys-probe socket|socketpair|families|uring-setup|uring-socket|inotify|fanotify|mqueue|sigqueue|add-key|userns|console ...\n");
	return 2;
}
