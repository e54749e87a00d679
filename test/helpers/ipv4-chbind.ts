/**
 * Helpers for the chbind / ipv4root integration tests: run chbind around
 * small socket probes, watch host-side listeners, find and clean up the
 * `bind-<pid>` cgroups and the bpffs pins the lock uses.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync, statfsSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const projectRoot = join(here, '..', '..');
export const CHBIND = join(projectRoot, 'kernel', 'out', 'chbind');
export const BPF_PIN_DIR = '/sys/fs/bpf/vctx';
const BPFFS = '/sys/fs/bpf';
const BPF_FS_MAGIC = 0xcafe4a11;

/** the cgroup2 mount point, from /proc/self/mountinfo */
export function cgroup2Mount(): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post || !post.startsWith('cgroup2 ')) continue;
    const f = pre.split(' ');
    if (f[3] === '/' && f[4]) return f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  throw new Error('no cgroup2 hierarchy mounted');
}

/** every `bind-*` cgroup under <cgroup2>/vctx (they may nest under contexts) */
export function bindCgroups(): string[] {
  const root = join(cgroup2Mount(), 'vctx');
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (!isDir) continue;
      if (n.startsWith('bind-')) out.push(p);
      walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** the ids (inode numbers) of a cgroup and every cgroup below it */
export function cgroupIds(dir: string, depth = 0): bigint[] {
  const out: bigint[] = [];
  try {
    out.push(statSync(dir, { bigint: true }).ino);
    if (depth < 16)
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        if (statSync(p).isDirectory()) out.push(...cgroupIds(p, depth + 1));
      }
  } catch {
    /* removed while we looked */
  }
  return out;
}

/** kill what is left in a cgroup, remove it and its lock record (cleanup after a failure) */
export function forceRemoveCgroup(dir: string): void {
  let children: string[] = [];
  try {
    children = readdirSync(dir).map((n) => join(dir, n)).filter((p) => statSync(p).isDirectory());
  } catch {
    return;
  }
  for (const c of children) forceRemoveCgroup(c);
  let ino: bigint | undefined;
  try {
    ino = statSync(dir, { bigint: true }).ino;
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    /* gone already, or no cgroup.kill (< 5.14): rmdir below reports */
  }
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
      spawnSync('sleep', ['0.1']);
    }
  }
  if (ino !== undefined) forgetLock(ino);
}

/** delete a cgroup id from every pinned ipv4root lock map (bpftool) */
export function forgetLock(id: bigint): void {
  const key: string[] = [];
  for (let i = 0n; i < 8n; i++) key.push(((id >> (8n * i)) & 0xffn).toString(16).padStart(2, '0'));
  for (const d of pinDirs()) {
    spawnSync('bpftool', ['map', 'delete', 'pinned', join(BPF_PIN_DIR, d, 'locks'), 'key', 'hex', ...key], {
      stdio: 'ignore',
    });
  }
}

/** the ipv4root pin directories (one per build of the eBPF object) */
export function pinDirs(): string[] {
  try {
    return readdirSync(BPF_PIN_DIR).filter((n) => n.startsWith('ipv4root-'));
  } catch {
    return [];
  }
}

export function bpffsMounted(): boolean {
  try {
    return statfsSync(BPFFS).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** what bpffs state existed before the tests, to put it back afterwards */
export interface BpfState {
  mounted: boolean;
  pinDirExisted: boolean;
  pins: string[];
}

export function bpfState(): BpfState {
  return { mounted: bpffsMounted(), pinDirExisted: existsSync(BPF_PIN_DIR), pins: pinDirs() };
}

/** remove the pins (and the bpffs mount) the tests made, leaving what was there before */
export function restoreBpfState(before: BpfState): void {
  for (const d of pinDirs()) {
    if (before.pins.includes(d)) continue;
    const dir = join(BPF_PIN_DIR, d);
    const r = spawnSync('bpftool', ['map', 'dump', 'pinned', join(dir, 'locks'), '-j'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '[]') continue; // locks still recorded: someone uses it
    spawnSync('rm', ['-rf', dir]);
  }
  if (!before.pinDirExisted && pinDirs().length === 0) spawnSync('rmdir', [BPF_PIN_DIR]);
  if (!before.mounted && bpffsMounted()) {
    try {
      // the kernel's own preloaded iterators (maps.debug, progs.debug) do not count
      if (readdirSync(BPFFS).every((n) => n.endsWith('.debug'))) spawnSync('umount', [BPFFS]);
    } catch {
      /* leave it */
    }
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** the processes the tests started (chbind PIDs), for cleanup */
export const started = new Set<number>();

/** run chbind to completion */
export function runChbind(args: string[], timeoutMs = 15000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(CHBIND, args, { env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    if (child.pid) started.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** run a node probe locked to @ip; returns its last stdout line parsed as JSON */
export async function probe(ip: string, script: string, extra: string[] = []): Promise<unknown> {
  const r = await runChbind(['--silent', '--ip', ip, ...extra, '--', process.execPath, '-e', script]);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last) throw new Error(`probe exited ${r.code}/${r.signal}: ${r.stderr.trim()} ${r.stdout.trim()}`);
  return JSON.parse(last);
}

/**
 * A long-running probe: it prints one JSON line when ready, keeps running
 * until its stdin is closed, then prints one more JSON line and exits.
 */
export class LiveProbe {
  readonly child: ChildProcessWithoutNullStreams;
  private lines: string[] = [];
  private waiters: Array<() => void> = [];
  private stderrText = '';
  private closed: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(CHBIND, args, { env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    if (this.child.pid) started.add(this.child.pid);
    let buf = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        this.waiters.splice(0).forEach((w) => w());
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderrText += d.toString()));
    this.closed = new Promise((resolve) => this.child.on('close', (code) => {
      this.waiters.splice(0).forEach((w) => w());
      resolve(code);
    }));
  }

  /** the next JSON line (waits up to @ms) */
  async next(ms = 10000): Promise<unknown> {
    const deadline = Date.now() + ms;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`probe gave no output (exit ${this.child.exitCode}): ${this.stderrText.trim()}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return JSON.parse(this.lines.shift() as string);
  }

  /** close stdin, wait for the exit; returns the exit code */
  async finish(): Promise<number | null> {
    this.child.stdin.end();
    return this.closed;
  }

  get stderr(): string {
    return this.stderrText;
  }
}

/** a TCP listener on the host that records where connections come from */
export async function hostTcpListener(host: string, banner = 'host\n'): Promise<{ server: Server; port: number; peers: string[] }> {
  const peers: string[] = [];
  const server = createServer((s) => {
    peers.push(s.remoteAddress ?? '?');
    s.end(banner);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { server, port: addr.port, peers };
}

/** a UDP socket on the host that records where datagrams come from */
export async function hostUdp(host: string): Promise<{ sock: UdpSocket; port: number; got: Array<{ from: string; port: number; data: string }> }> {
  const got: Array<{ from: string; port: number; data: string }> = [];
  const sock = createSocket('udp4');
  sock.on('message', (m, r) => got.push({ from: r.address, port: r.port, data: m.toString() }));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, host, () => resolve());
  });
  return { sock, port: sock.address().port, got };
}

/** connect from the host; 'connected:<data>' | 'timeout' | error code */
export function hostConnect(host: string, port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const s: Socket = connect({ host, port });
    const finish = (r: string): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => finish(data ? `connected:${data}` : s.readyState === 'open' ? 'connected:' : 'timeout'), timeoutMs);
    s.on('data', (d) => {
      data += d.toString();
      if (data.endsWith('\n')) finish(`connected:${data.trim()}`);
    });
    s.on('end', () => finish(`connected:${data.trim()}`));
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'error'));
  });
}

/** a random port block for this run, away from the ephemeral range */
export function portBase(): number {
  return 20000 + Math.floor(Math.random() * 900) * 10;
}
