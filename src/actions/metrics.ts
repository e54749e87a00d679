/**
 * What vctx-exporter samples at each scrape: every running server's figures
 * (one host snapshot through the bridge, as vtop takes it, plus the cgroup
 * figures the snapshot lacks and the tree's project quota) and the
 * configured servers with their ONBOOT.  Returns data (src/views/metrics.ts
 * writes the page).
 *
 * Names come from the cgroup tree's listing (listContexts: the names as
 * set), not from the snapshot, whose names are escaped for a terminal.
 *
 * One Sampler lives as long as the exporter: its snapshot source keeps the
 * addon's scanner (every scrape after the first reads only /proc/PID/stat
 * and io per known process), and ONBOOT is parsed again only for a
 * configuration file whose mtime or size changed.
 */
import { readdirSync, statSync } from 'node:fs';
import { cgroupExtra } from '../kernel-bridge/cgroup-extra.js';
import { listContexts } from '../kernel-bridge/context.js';
import { diskQuotaOf } from '../kernel-bridge/quota.js';
import type { ContextInfo, SnapshotSource } from '../kernel-bridge/types.js';
import { configPath, readBootSettings } from '../config/load.js';
import { serverNameProblem } from '../config/name.js';
import type { ConfiguredSample, MetricsSample, ServerSample } from '../views/metrics.js';

export class Sampler {
  /** ONBOOT per configured name, with the stat it was read at */
  private boot = new Map<string, { key: string; onBoot: boolean | null }>();
  /** raw names by context (rawNames) */
  private names = new Map<string, string>();

  constructor(private readonly source: SnapshotSource, private readonly confdir: string) {}

  async sample(): Promise<MetricsSample> {
    const snap = this.source.snapshot();
    const names = this.rawNames(snap.contexts);
    const servers: ServerSample[] = [];
    for (const c of snap.contexts) {
      // servers: named top-level contexts (anonymous chcontext contexts and the spectator are not servers)
      const name = names.get(c.xid);
      if (!name || c.xid < 2 || c.parentXid !== 0) continue;
      const x = cgroupExtra(c.cgroup, c.xid);
      const disk = c.root ? diskQuotaOf(c.root) : null;
      servers.push({
        name,
        xid: c.xid,
        startTime: c.created,
        processes: c.nprocs,
        cpuUserSeconds: x.cpuUserUsec === null ? null : x.cpuUserUsec / 1e6,
        cpuSystemSeconds: x.cpuSystemUsec === null ? null : x.cpuSystemUsec / 1e6,
        memoryBytes: c.memoryBytes,
        memoryPeakBytes: x.memoryPeak,
        memoryLimitBytes: c.memoryMax,
        pids: x.pidsCurrent,
        pidsLimit: c.pidsMax,
        oomKills: c.oomKills,
        netRxBytes: c.netRxBytes ?? null,
        netRxPackets: c.netRxPackets ?? null,
        netTxBytes: c.netTxBytes ?? null,
        netTxPackets: c.netTxPackets ?? null,
        diskUsedBytes: disk ? disk.usedBytes : null,
        diskLimitBytes: disk ? disk.limitBytes : null,
        ioReadBytes: c.ioReadBytes ?? null,
        ioWriteBytes: c.ioWriteBytes ?? null,
      });
    }
    return { servers, configured: await this.configured() };
  }

  /**
   * Each context's name as it is (the snapshot's are escaped for a
   * terminal: a backslash doubled), from the cgroup tree's listing, kept
   * for a context (XID, creation time and PID 1) seen before: the listing
   * (~0.15 ms a context: every context's attributes) runs only when a
   * context came or went.
   */
  private rawNames(contexts: readonly ContextInfo[]): Map<number, string> {
    const key = (c: Pick<ContextInfo, 'xid' | 'created' | 'pid1'>) => `${c.xid} ${c.created} ${c.pid1}`;
    const wanted = contexts.filter((c) => c.name && c.xid >= 2 && c.parentXid === 0);
    if (wanted.some((c) => !this.names.has(key(c)))) {
      this.names = new Map(listContexts().filter((c) => c.name).map((c) => [key(c), c.name]));
    }
    const out = new Map<number, string>();
    for (const c of wanted) {
      const n = this.names.get(key(c));
      if (n !== undefined) out.set(c.xid, n);
    }
    return out;
  }

  /** the configured servers and their ONBOOT (a file that cannot be read or parsed: null) */
  private async configured(): Promise<ConfiguredSample[]> {
    let files: string[];
    try {
      files = readdirSync(this.confdir);
    } catch {
      this.boot.clear();
      return [];
    }
    const out: ConfiguredSample[] = [];
    const seen = new Set<string>();
    for (const f of files) {
      if (!f.endsWith('.conf')) continue;
      const name = f.slice(0, -5);
      if (serverNameProblem(name)) continue;
      seen.add(name);
      let key: string;
      try {
        const st = statSync(configPath(this.confdir, name));
        key = `${st.mtimeMs} ${st.size} ${st.ino}`;
      } catch {
        continue;
      }
      let b = this.boot.get(name);
      if (b?.key !== key) {
        const onBoot = await readBootSettings(this.confdir, name).then((s) => s.onBoot, () => null);
        b = { key, onBoot };
        this.boot.set(name, b);
      }
      out.push({ name, onBoot: b.onBoot });
    }
    for (const n of this.boot.keys()) if (!seen.has(n)) this.boot.delete(n);
    return out;
  }
}
