/**
 * vctx-exporter's page: a sample of the servers in the Prometheus text
 * exposition format (version 0.0.4).  Pure: no I/O.
 *
 * The names follow Prometheus's conventions: the `vctx_` prefix, the unit
 * in the name (seconds, bytes), `_total` on counters, one HELP and one TYPE
 * line per family.  Every server series carries `name` and `xid`; a
 * configured server that is stopped has only `vctx_server_up` (0, xid "")
 * and `vctx_server_onboot`.  A figure the kernel does not give (no limit,
 * no counters, no project quota) is left out rather than written as 0.
 * docs/metrics.md compares the set with cAdvisor, node_exporter and Incus.
 */

/** one running server as the exporter samples it */
export interface ServerSample {
  name: string;
  xid: number;
  /** unix seconds */
  startTime: number;
  processes: number;
  cpuUserSeconds: number | null;
  cpuSystemSeconds: number | null;
  memoryBytes: number;
  memoryPeakBytes: number | null;
  memoryLimitBytes: number | null;
  pids: number | null;
  pidsLimit: number | null;
  oomKills: number;
  netRxBytes: number | null;
  netRxPackets: number | null;
  netTxBytes: number | null;
  netTxPackets: number | null;
  diskUsedBytes: number | null;
  diskLimitBytes: number | null;
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
}

/** a configured server (NAME.conf): whether it should start at boot */
export interface ConfiguredSample {
  name: string;
  /** ONBOOT; null when the configuration cannot say */
  onBoot: boolean | null;
}

export interface MetricsSample {
  servers: ServerSample[];
  configured: ConfiguredSample[];
}

export interface ExporterInfo {
  version: string;
  nodeVersion: string;
  /** seconds the sample took */
  scrapeSeconds: number;
  /** scrapes answered before this one */
  scrapes: number;
  /** scrapes that failed (the sample could not be taken) */
  scrapeErrors: number;
}

/**
 * A label value as the text format wants it: backslash, double quote and
 * line feed escaped (the format's only three escapes).  Anything else, a
 * carriage return or an escape sequence, stays as it is inside the quotes:
 * the format reads to the closing quote, and a consumer that shows the
 * value escapes it for its own medium.
 */
export function labelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** a sample value: integers as they are, +Inf, NaN */
export function sampleValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

type Labels = ReadonlyArray<readonly [string, string]>;

class Page {
  private out: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string, rows: ReadonlyArray<readonly [Labels, number | null]>): void {
    const present = rows.filter((r): r is readonly [Labels, number] => r[1] !== null);
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of present) {
      const l = labels.map(([k, val]) => `${k}="${labelValue(val)}"`).join(',');
      this.out.push(`${name}${l ? `{${l}}` : ''} ${sampleValue(v)}`);
    }
  }
  text(): string {
    return this.out.join('\n') + '\n';
  }
}

/** the page for @sample and the exporter's own figures */
export function formatMetrics(sample: MetricsSample, info: ExporterInfo): string {
  const p = new Page();
  const servers = [...sample.servers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.xid - b.xid));
  const id = (s: ServerSample): Labels => [['name', s.name], ['xid', String(s.xid)]];
  const each = (f: (s: ServerSample) => number | null): [Labels, number | null][] => servers.map((s) => [id(s), f(s)]);
  const running = new Set(servers.map((s) => s.name));
  const configured = [...sample.configured].sort((a, b) => (a.name < b.name ? -1 : 1));

  p.family('vctx_server_up', 'gauge', 'Whether the server runs (1) or is configured and stopped (0, xid "").', [
    ...each(() => 1),
    ...configured.filter((c) => !running.has(c.name)).map((c): [Labels, number] => [[['name', c.name], ['xid', '']], 0]),
  ]);
  p.family('vctx_server_onboot', 'gauge', 'Whether the configured server has ONBOOT=yes (1) or not (0).',
    configured.filter((c) => c.onBoot !== null).map((c): [Labels, number] => [[['name', c.name]], c.onBoot ? 1 : 0]));
  p.family('vctx_server_start_time_seconds', 'gauge', 'When the server was started, in seconds since the epoch.', each((s) => s.startTime));
  p.family('vctx_server_cpu_seconds_total', 'counter', 'CPU time the server used, by mode (user, system), in seconds.', servers.flatMap((s) => [
    [[...id(s), ['mode', 'user']], s.cpuUserSeconds] as const,
    [[...id(s), ['mode', 'system']], s.cpuSystemSeconds] as const,
  ]));
  p.family('vctx_server_memory_bytes', 'gauge', 'Memory charged to the server now (memory.current), in bytes.', each((s) => s.memoryBytes));
  p.family('vctx_server_memory_peak_bytes', 'gauge', 'Most memory charged to the server since it started (memory.peak), in bytes.', each((s) => s.memoryPeakBytes));
  p.family('vctx_server_memory_limit_bytes', 'gauge', 'The server\'s memory limit (memory.max), in bytes; absent when unlimited.', each((s) => s.memoryLimitBytes));
  p.family('vctx_server_pids', 'gauge', 'Tasks (processes and threads) counted against the server\'s pids limit.', each((s) => s.pids));
  p.family('vctx_server_pids_limit', 'gauge', 'The server\'s pids limit (pids.max); absent when unlimited.', each((s) => s.pidsLimit));
  p.family('vctx_server_processes', 'gauge', 'Processes in the server.', each((s) => s.processes));
  p.family('vctx_server_oom_kills_total', 'counter', 'Processes of the server killed by the OOM killer.', each((s) => s.oomKills));
  p.family('vctx_server_network_receive_bytes_total', 'counter', 'Bytes of IP packets the server received (headers included).', each((s) => s.netRxBytes));
  p.family('vctx_server_network_receive_packets_total', 'counter', 'IP packets the server received.', each((s) => s.netRxPackets));
  p.family('vctx_server_network_transmit_bytes_total', 'counter', 'Bytes of IP packets the server sent (headers included).', each((s) => s.netTxBytes));
  p.family('vctx_server_network_transmit_packets_total', 'counter', 'IP packets the server sent.', each((s) => s.netTxPackets));
  p.family('vctx_server_disk_used_bytes', 'gauge', 'Disk space the server\'s tree uses (its project quota), in bytes.', each((s) => s.diskUsedBytes));
  p.family('vctx_server_disk_limit_bytes', 'gauge', 'The server\'s disk limit (DISK_MAX), in bytes; absent when unlimited.', each((s) => s.diskLimitBytes));
  p.family('vctx_server_io_read_bytes_total', 'counter', 'Bytes the server read from block devices.', each((s) => s.ioReadBytes));
  p.family('vctx_server_io_written_bytes_total', 'counter', 'Bytes the server wrote to block devices.', each((s) => s.ioWriteBytes));

  p.family('vctx_exporter_build_info', 'gauge', 'The exporter\'s version and Node.js version (always 1).', [[[['version', info.version], ['nodejs', info.nodeVersion]], 1]]);
  p.family('vctx_exporter_scrape_duration_seconds', 'gauge', 'How long this scrape took to sample the servers, in seconds.', [[[], info.scrapeSeconds]]);
  p.family('vctx_exporter_scrapes_total', 'counter', 'Scrapes answered since the exporter started.', [[[], info.scrapes]]);
  p.family('vctx_exporter_scrape_errors_total', 'counter', 'Scrapes that could not sample the servers since the exporter started.', [[[], info.scrapeErrors]]);
  return p.text();
}
