#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vctx-exporter [--listen ADDR:PORT]: the servers' figures for Prometheus,
 * at http://ADDR:PORT/metrics (src/actions/metrics.ts samples them at each
 * scrape, src/views/metrics.ts writes the page).  docs/metrics.md has the
 * series, the privilege it runs with and the comparison with cAdvisor,
 * node_exporter and Incus.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  EXIT_FAIL,
  fail,
  handleHelp,
  optString,
  parseArgs,
  PATH_OPTIONS,
  requireRoot,
  resolvePaths,
  runMain,
  usageError,
  versionLine,
} from './common.js';
import { DEFAULT_LISTEN, parseListen } from './vctx-exporter-args.js';

const HELP = `Usage: vctx-exporter [--listen ADDR:PORT] [--confdir DIR]
Serve the virtual servers' figures for Prometheus at /metrics.

One set of series per running server, labelled name and xid: state and
start time, CPU seconds (user, system), memory (current, peak, limit), pids
and their limit, OOM kills, processes, network bytes and packets in and out
(the kernel's per-server counters), disk use and limit (DISK_MAX's project
quota) and disk I/O; configured servers that are stopped show as
vctx_server_up 0 with their ONBOOT; and the exporter's own scrape duration
and build.  Each scrape samples the kernel afresh.  It runs as root and
confines itself to the spectator context 1 (it sees every process but can
signal none); the systemd unit vctx-exporter.service narrows it further.

Options:
  --listen ADDR:PORT  where to serve (default ${DEFAULT_LISTEN}); ADDR is an
                      IPv4 address, an IPv6 address in brackets, or empty
                      (:PORT) for every address
  --confdir DIR       configuration, for the configured servers and their
                      ONBOOT (default $VSERVER_CONFDIR or /etc/vservers)
  --help              display this help and exit
  --version           output version information and exit

Exit status:
  1 failure (not root, no kernel layer, the address cannot be listened on),
  2 usage error; it serves until SIGTERM or SIGINT, then exits 0.`;

runMain('vctx-exporter', async (argv) => {
  const args = parseArgs(argv, [{ long: 'listen', value: true }, PATH_OPTIONS[0]!]);
  if (handleHelp(args, HELP)) return 0;
  if (args.positionals.length > 0) usageError(`unexpected argument '${args.positionals[0]}'`);
  const listen = parseListen(optString(args, 'listen') ?? DEFAULT_LISTEN);
  if (typeof listen === 'string') usageError(listen);
  requireRoot();
  const { confdir } = resolvePaths(args);

  const { NativeSnapshotSource } = await import('../kernel-bridge/snapshot.js');
  const { Sampler } = await import('../actions/metrics.js');
  const { formatMetrics } = await import('../views/metrics.js');
  let sampler: InstanceType<typeof Sampler>;
  try {
    sampler = new Sampler(new NativeSnapshotSource(), confdir);
    await sampler.sample(); // the first scan (every process's status and cmdline) before the first scrape
  } catch (e) {
    return fail(e instanceof Error ? e.message.split('\n')[0]! : String(e), EXIT_FAIL);
  }
  const version = /\(vctx\) (\S+)/.exec(versionLine())?.[1] ?? 'unknown';
  let scrapes = 0;
  let errors = 0;
  // one sample at a time: a scrape that arrives meanwhile waits for the one before
  let queue: Promise<unknown> = Promise.resolve();

  const page = async (): Promise<{ status: number; body: string }> => {
    const t0 = process.hrtime.bigint();
    try {
      const s = await sampler.sample();
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const body = formatMetrics(s, { version, nodeVersion: process.versions.node, scrapeSeconds: secs, scrapes, scrapeErrors: errors });
      scrapes++;
      return { status: 200, body };
    } catch (e) {
      errors++;
      return { status: 500, body: `vctx-exporter: cannot sample the servers: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n` };
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('only GET and HEAD\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
        .end('<html><head><title>vctx exporter</title></head><body><h1>vctx exporter</h1><p><a href="/metrics">Metrics</a></p></body></html>\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: the figures are at /metrics\n');
      return;
    }
    const p = queue.then(page);
    queue = p;
    void p.then(({ status, body }) => {
      const type = status === 200 ? 'text/plain; version=0.0.4; charset=utf-8' : 'text/plain; charset=utf-8';
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 65_000;
  const shown = listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.code === 'EADDRNOTAVAIL' ? 'no such local address'
        : e.code === 'EACCES' ? 'permission denied' : e.message;
      reject(new Error(why));
    });
    server.listen({ host: listen.host || undefined, port: listen.port }, () => resolve());
  }).catch((e: Error) => fail(`cannot listen on ${shown}: ${e.message}`, EXIT_FAIL));

  // from here on this process sees every process but can signal or trace none (context 1)
  try {
    const { spectate } = await import('../kernel-bridge/context.js');
    spectate();
  } catch (e) {
    server.close();
    return fail(`cannot confine the exporter to the spectator context 1: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`, EXIT_FAIL);
  }
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stderr.write(`vctx-exporter: serving http://${shown}/metrics\n`);
  return 0;
});
