// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vserver-stat - the `vserver-stat` command's front: takes the host
 * snapshot (libvctx's scan, stat only) in a child while this process
 * becomes Node with the vserver-stat bundle (dist/vserver-stat.cjs), which
 * sums and prints it (src/cli/vserver-stat.ts, src/views/vserver-stat.ts).
 *
 * Node takes ~20 ms to start; loading the addon and the first scan ~2-4 ms
 * more, after it.  Here the scan runs while Node starts, and Node loads no
 * addon (bench/results/startup.md).
 *
 *   vserver-stat [--json] [--confdir DIR]
 *
 * The child writes the snapshot to a pipe as JSON, Node's fd 3, named by
 * VCTX_STAT_SCAN=3 in its environment: the object the addon's snapshot()
 * gives, read with one JSON.parse by src/kernel-bridge/scan-pipe.ts.  The
 * child leaves itself out of the snapshot; Node leaves out its own PID (the
 * front's) as before.  With --help or --version first, or not as root, no
 * scan runs: vserver-stat.ts answers (the help, or the refusal).
 *
 * The bundle is found from this binary's own path: kernel/out/vserver-stat
 * -> dist/vserver-stat.cjs; node is looked up in PATH, with
 * NODE_EXTRA_CA_CERTS removed as the commands' #! line does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vctx.h"
#include "vctx-scan.h"

static const char prog[] = "vserver-stat";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* a JSON string, or null when @s is empty */
static void str_or_null(FILE *f, const char *s)
{
	if (*s)
		vctx_json_string(f, s);
	else
		fputs("null", f);
}

/*
 * The snapshot as JSON, the very object the addon's snapshot({ lite: true })
 * gives (binding/observe.cc; src/kernel-bridge/types.ts Snapshot), less
 * this process; on failure {"error": MESSAGE, "errno": N, "code": NAME}.
 * Node reads it with one JSON.parse (src/kernel-bridge/scan-pipe.ts).
 */
static int scan_to(int fd)
{
	vctx_error e = { 0 };
	const struct vctx_snapshot *s;
	struct vctx_scanner *sc = vctx_scanner_new(&e);
	FILE *f = fdopen(fd, "w");

	if (!f)
		return 1;
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	if (sc) {
		vctx_scanner_set_lite(sc, 1);
		if (vctx_scan(sc, &s, &e) < 0)
			sc = NULL;
	}
	if (!sc) {
		const char *code = e.err ? strerrorname_np(e.err) : NULL;
		fputs("{\"error\":", f);
		vctx_json_string(f, e.msg);
		fprintf(f, ",\"errno\":%d,\"code\":", e.err);
		vctx_json_string(f, code ? code : "");
		fputs("}", f);
		return fclose(f) ? 1 : 0;
	}

	pid_t self = getpid();
	fprintf(f, "{\"takenAt\":%.17g,\"clockTicks\":%ld,\"bootTime\":%lld,\"uptime\":%.17g,\"pageSize\":%ld,\"processes\":[",
		s->taken_at_ms, s->clock_ticks, (long long)s->boot_time, s->uptime, s->page_size);
	int first = 1;
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct vctx_proc *p = &s->procs[i];
		char state[2] = { (unsigned char)p->state < 128 && p->state > ' ' ? p->state : '?', 0 };
		if (p->pid == self)
			continue;
		fprintf(f, "%s{\"pid\":%d,\"ppid\":%d,\"xid\":%u,\"innerPid\":", first ? "" : ",", (int)p->pid, (int)p->ppid, p->xid);
		first = 0;
		if (p->inner_pid > 0)
			fprintf(f, "%d", (int)p->inner_pid);
		else
			fputs("null", f);
		fputs(",\"state\":", f);
		vctx_json_string(f, state);
		fputs(",\"comm\":", f);
		vctx_json_string(f, p->comm);
		fprintf(f, ",\"threads\":%d,\"startTime\":%llu,\"utime\":%llu,\"stime\":%llu,\"cutime\":%llu,\"cstime\":%llu,"
			"\"vsz\":%llu,\"rss\":%llu,\"uid\":%u,\"nice\":%d,\"cmdline\":",
			p->threads, (unsigned long long)p->starttime, (unsigned long long)p->utime,
			(unsigned long long)p->stime, (unsigned long long)p->cutime, (unsigned long long)p->cstime,
			(unsigned long long)p->vsz, (unsigned long long)p->rss, (unsigned)p->uid, p->nice);
		vctx_json_string(f, p->cmdline);
		fputc('}', f);
	}
	fputs("],\"contexts\":[", f);
	for (size_t i = 0; i < s->nctxs; i++) {
		const struct vctx_ctx *c = &s->ctxs[i];
		char caps[24], flags[128];
		snprintf(caps, sizeof(caps), "0x%llx", (unsigned long long)c->caps);
		vctx_flags_format(c->flags, flags, sizeof(flags));
		fprintf(f, "%s{\"xid\":%u,\"name\":", i ? "," : "", c->xid);
		vctx_json_string(f, c->name);
		fprintf(f, ",\"parentXid\":%u,\"cgroup\":", c->parent_xid);
		vctx_json_string(f, c->cgroup);
		fputs(",\"root\":", f);
		vctx_json_string(f, c->root);
		fprintf(f, ",\"pid1\":%d,\"ip\":", (int)c->pid1);
		str_or_null(f, c->ip);
		fputs(",\"loopback\":", f);
		str_or_null(f, c->loopback);
		fputs(",\"capBounding\":", f);
		vctx_json_string(f, caps);
		fputs(",\"flags\":[", f);
		/* vctx_flags_format's names, space-separated, as a list */
		for (char *tok, *save = NULL, *q = flags; (tok = strtok_r(q, " ", &save)); q = NULL) {
			if (q == NULL)
				fputc(',', f);
			vctx_json_string(f, tok);
		}
		fprintf(f, "],\"created\":%lld,\"nprocs\":%d,\"namespaces\":{", (long long)c->created, c->nprocs);
		for (int k = 0, n = 0; k < VCTX_NS__COUNT; k++) {
			if (!c->ns[k])
				continue;
			fprintf(f, "%s\"%s\":%llu", n++ ? "," : "", vctx_ns_name((enum vctx_ns_kind)k), (unsigned long long)c->ns[k]);
		}
		fprintf(f, "},\"cpuUsec\":%llu,\"cpuSource\":\"%s\",\"memoryBytes\":%llu,\"memorySource\":\"%s\",\"memoryMax\":",
			(unsigned long long)c->cpu_usec, vctx_source_name(c->cpu_source),
			(unsigned long long)c->mem_bytes, vctx_source_name(c->mem_source));
		if (c->mem_max >= 0)
			fprintf(f, "%lld", (long long)c->mem_max);
		else
			fputs("null", f);
		fputs(",\"pidsMax\":", f);
		if (c->pids_max >= 0)
			fprintf(f, "%lld", (long long)c->pids_max);
		else
			fputs("null", f);
		fprintf(f, ",\"pidsEvents\":%llu,\"oomKills\":%llu}", (unsigned long long)c->pids_events,
			(unsigned long long)c->oom_kills);
	}
	fputs("]}", f);
	return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], bundle[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		die("cannot find its own path (/proc/self/exe)");
	self[n] = 0;
	*strrchr(self, '/') = 0;			/* .../kernel/out */
	snprintf(bundle, sizeof(bundle), "%s/../../dist/vserver-stat.cjs", self);

	char **node_argv = calloc((size_t)argc + 2, sizeof(char *));
	if (!node_argv)
		die("out of memory");
	node_argv[0] = "node";
	node_argv[1] = bundle;
	for (int i = 1; i < argc; i++)
		node_argv[i + 1] = argv[i];

	unsetenv("NODE_EXTRA_CA_CERTS");
	unsetenv("VCTX_STAT_SCAN");
	if (!(argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "--version") == 0)) &&
	    geteuid() == 0) {
		int out[2];
		if (pipe2(out, O_CLOEXEC) < 0)
			die("pipe");
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			/* Node may end without reading (a usage error): no SIGPIPE message */
			signal(SIGPIPE, SIG_IGN);
			close(out[0]);
			_exit(scan_to(out[1]));
		}
		close(out[1]);
		/* fd 3 for Node (dup2 clears close-on-exec) */
		if (out[0] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(out[0], 3) < 0)
			die("dup2");
		setenv("VCTX_STAT_SCAN", "3", 1);
	}
	execvp("node", node_argv);
	fprintf(stderr, "%s: cannot run node: %s\n", prog, strerror(errno));
	return 127;
}
