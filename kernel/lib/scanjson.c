// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scanjson.c - one host snapshot as JSON, for the C fronts of the
 * commands (kernel/tools/vserver-stat.c, vps.c) that scan while Node
 * starts and hand the snapshot over: the very object the addon's
 * snapshot() gives (binding/observe.cc; src/kernel-bridge/types.ts
 * Snapshot: the same keys in the same order), read on the Node side with
 * one JSON.parse (src/kernel-bridge/scan-pipe.ts).  And what `vserver`'s
 * front hands Node (vctx_front_kernel_json): the cgroup layout and the
 * contexts, read by src/kernel-bridge/front.ts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "vctx.h"
#include "vctx-scan.h"
#include "util.h"

/* a JSON string, or null when @s is empty */
static void str_or_null(FILE *f, const char *s)
{
	if (*s)
		vctx_json_string(f, s);
	else
		fputs("null", f);
}

/* libvctx's error as the addon throws it: {"error":MESSAGE,"errno":N,"code":NAME,"kind":KIND} */
static void error_json(FILE *f, const vctx_error *e)
{
	const char *code = e->err ? strerrorname_np(e->err) : NULL;

	fputs("{\"error\":", f);
	vctx_json_string(f, e->msg);
	fprintf(f, ",\"errno\":%d,\"code\":", e->err);
	vctx_json_string(f, code ? code : "");
	fputs(",\"kind\":", f);
	vctx_json_string(f, vctx_err_kind_name(e->kind));
	fputc('}', f);
}

/* the fields a context record has in both (src/kernel-bridge/context.ts ContextRecord) */
struct ctx_record {
	uint32_t xid, parent_xid;
	const char *name, *cgroup, *root, *ip, *loopback, *ip6, *loopback6;
	int nat;
	pid_t pid1;
	uint64_t caps;
	unsigned flags;
	int64_t created;
	int nprocs;
};

/* a context record's fields, without the braces around them */
static void ctx_record(FILE *f, const struct ctx_record *c)
{
	char caps[24], flags[128];

	snprintf(caps, sizeof(caps), "0x%llx", (unsigned long long)c->caps);
	vctx_flags_format(c->flags, flags, sizeof(flags));
	fprintf(f, "\"xid\":%u,\"name\":", c->xid);
	vctx_json_string(f, c->name);
	fprintf(f, ",\"parentXid\":%u,\"cgroup\":", c->parent_xid);
	vctx_json_string(f, c->cgroup);
	fputs(",\"root\":", f);
	vctx_json_string(f, c->root);
	fprintf(f, ",\"pid1\":%d,\"ip\":", (int)c->pid1);
	str_or_null(f, c->ip);
	fputs(",\"loopback\":", f);
	str_or_null(f, c->loopback);
	fputs(",\"ip6\":", f);
	str_or_null(f, c->ip6);
	fputs(",\"loopback6\":", f);
	str_or_null(f, c->loopback6);
	fprintf(f, ",\"nat\":%s", c->nat ? "true" : "false");
	fputs(",\"capBounding\":", f);
	vctx_json_string(f, caps);
	fputs(",\"flags\":[", f);
	/* vctx_flags_format's names, space-separated, as a list */
	for (char *tok, *save = NULL, *q = flags; (tok = strtok_r(q, " ", &save)); q = NULL) {
		if (q == NULL)
			fputc(',', f);
		vctx_json_string(f, tok);
	}
	fprintf(f, "],\"created\":%lld,\"nprocs\":%d", (long long)c->created, c->nprocs);
}

VCTX_API int vctx_scan_json(FILE *f, int lite, pid_t leave_out)
{
	vctx_error e = { 0 };
	const struct vctx_snapshot *s;
	struct vctx_scanner *sc = vctx_scanner_new(&e);

	if (sc) {
		vctx_scanner_set_lite(sc, lite);
		if (vctx_scan(sc, &s, &e) < 0) {
			vctx_scanner_free(sc);
			sc = NULL;
		}
	}
	if (!sc) {
		error_json(f, &e);
		return ferror(f) ? -1 : 0;
	}

	fprintf(f, "{\"takenAt\":%.17g,\"clockTicks\":%ld,\"bootTime\":%lld,\"uptime\":%.17g,\"pageSize\":%ld,\"processes\":[",
		s->taken_at_ms, s->clock_ticks, (long long)s->boot_time, s->uptime, s->page_size);
	int first = 1;
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct vctx_proc *p = &s->procs[i];
		char state[2] = { (unsigned char)p->state < 128 && p->state > ' ' ? p->state : '?', 0 };
		if (p->pid == leave_out)
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
		const struct ctx_record r = {
			.xid = c->xid, .parent_xid = c->parent_xid, .name = c->name, .cgroup = c->cgroup,
			.root = c->root, .ip = c->ip, .loopback = c->loopback, .ip6 = c->ip6,
			.loopback6 = c->loopback6, .nat = c->nat, .pid1 = c->pid1,
			.caps = c->caps, .flags = c->flags, .created = c->created, .nprocs = c->nprocs,
		};
		fputs(i ? ",{" : "{", f);
		ctx_record(f, &r);
		fputs(",\"namespaces\":{", f);
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
		fprintf(f, ",\"pidsEvents\":%llu,\"oomKills\":%llu", (unsigned long long)c->pids_events,
			(unsigned long long)c->oom_kills);
		if (c->net_counted)
			fprintf(f, ",\"netRxBytes\":%llu,\"netRxPackets\":%llu,\"netTxBytes\":%llu,\"netTxPackets\":%llu",
				(unsigned long long)c->net_rx_bytes, (unsigned long long)c->net_rx_packets,
				(unsigned long long)c->net_tx_bytes, (unsigned long long)c->net_tx_packets);
		else
			fputs(",\"netRxBytes\":null,\"netRxPackets\":null,\"netTxBytes\":null,\"netTxPackets\":null", f);
		if (c->io_known)
			fprintf(f, ",\"ioReadBytes\":%llu,\"ioWriteBytes\":%llu", (unsigned long long)c->io_read_bytes,
				(unsigned long long)c->io_write_bytes);
		else
			fputs(",\"ioReadBytes\":null,\"ioWriteBytes\":null", f);
		fprintf(f, ",\"ioSource\":\"%s\"}", vctx_source_name(c->io_source));
	}
	fputs("]}", f);
	vctx_scanner_free(sc);
	return ferror(f) ? -1 : 0;
}

VCTX_API int vctx_front_kernel_json(FILE *f)
{
	vctx_error e = { 0 };
	const struct vctx_cgroup_layout *l = vctx_cgroup_layout(&e);
	struct vctx_info *v = NULL;
	size_t n = 0;

	fputs("{\"cgroupLayout\":", f);
	if (!l) {
		error_json(f, &e);
	} else {
		fputs("{\"v2\":", f);
		vctx_json_string(f, l->v2);
		fputs(",\"contexts\":", f);
		/* the directory below it that holds the contexts, as the addon's cgroupLayout() */
		char dir[sizeof(l->v2) + 320];
		snprintf(dir, sizeof(dir), "%s/%s", l->v2, vctx_cgroup_root());
		vctx_json_string(f, dir);
		fprintf(f, ",\"hybrid\":%s}", l->hybrid ? "true" : "false");
	}
	fputs(",\"contexts\":", f);
	if (vctx_list(&v, &n, &e) < 0) {
		error_json(f, &e);
	} else {
		fputc('[', f);
		for (size_t i = 0; i < n; i++) {
			char ip[INET_ADDRSTRLEN] = "", lb[INET_ADDRSTRLEN] = "";
			if (v[i].ipv4)
				inet_ntop(AF_INET, &v[i].ipv4, ip, sizeof(ip));
			if (v[i].loopback)
				inet_ntop(AF_INET, &v[i].loopback, lb, sizeof(lb));
			static const uint8_t none6[16];
			char ip6[INET6_ADDRSTRLEN] = "", lb6[INET6_ADDRSTRLEN] = "";
			if (memcmp(v[i].ipv6, none6, 16))
				inet_ntop(AF_INET6, v[i].ipv6, ip6, sizeof(ip6));
			if (memcmp(v[i].loopback6, none6, 16))
				inet_ntop(AF_INET6, v[i].loopback6, lb6, sizeof(lb6));
			const struct ctx_record r = {
				.xid = v[i].xid, .parent_xid = v[i].parent_xid, .name = v[i].name,
				.cgroup = v[i].cgroup, .root = v[i].root, .ip = ip, .loopback = lb,
				.ip6 = ip6, .loopback6 = lb6, .nat = v[i].nat,
				.pid1 = v[i].pid1, .caps = v[i].caps, .flags = v[i].flags,
				.created = v[i].created, .nprocs = v[i].nprocs,
			};
			fputs(i ? ",{" : "{", f);
			ctx_record(f, &r);
			fputc('}', f);
		}
		fputc(']', f);
		free(v);
	}
	fputc('}', f);
	return ferror(f) ? -1 : 0;
}
