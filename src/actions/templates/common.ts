/**
 * What every template shares: the description of a build in progress, the
 * hints a template gives the configuration file, and the small filesystem
 * steps (files with modes, the hostname files, vreboot/vhalt).
 *
 * Templates write only below the server's root directory; the caller
 * (actions/build.ts) owns creating and, on failure, removing that root.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { resolveInRoot } from '../../config/index.js';
import { toolsDir } from '../../kernel-bridge/addon.js';

/** One progress event of a build; the CLI turns it into a line on stderr. */
export interface BuildProgress {
  /** the step running: 'busybox', 'copy', 'debootstrap', 'vreboot', ... */
  readonly step: string;
  /** what happens, one short phrase ('copying /usr', 'I: Retrieving Packages') */
  readonly detail: string;
  /** bytes copied so far, when the step counts them */
  readonly bytes?: number;
  /** files (tar members: files, directories, links) copied so far, when counted */
  readonly files?: number;
  /** milliseconds since the step began, with the counts */
  readonly elapsedMs?: number;
  /** true on the step's last event: the counts are the totals */
  readonly final?: boolean;
}

export type ProgressFn = (ev: BuildProgress) => void;

/** Everything a template needs to populate a root directory. */
export interface TemplateContext {
  /** the server's name */
  readonly name: string;
  /** the server's root directory; exists, empty, owned by root */
  readonly root: string;
  /** the server's IPv4 address, when it has one */
  readonly ip?: string;
  /** the server's IPv6 address, when it has one */
  readonly ip6?: string;
  /** the server's host name (defaults to its name) */
  readonly hostname: string;
  /** host directories the copy must never take (config, roots, runtime) */
  readonly hostExcludes: readonly string[];
  readonly progress: ProgressFn;
  /** something the user should know once the build is done (printed as a warning) */
  readonly warn?: (message: string) => void;
}

/** What a template tells the configuration file. */
export interface TemplateResult {
  /** S_FLAGS the server needs (e.g. 'fakeinit' when the template installed an init) */
  readonly flags: readonly string[];
  /**
   * S_INIT: 'init' (the server's /sbin/init is PID 1), 'sysv:N' (the rc
   * scripts of runlevel N, no init process) or an absolute command
   */
  readonly init: string;
}

/** A one-line failure of a template step; `step` names it for the user. */
export class TemplateError extends Error {
  readonly step: string;
  constructor(step: string, message: string) {
    super(message);
    this.name = 'TemplateError';
    this.step = step;
  }
}

/** `p` inside root (p absolute, as seen from inside the server) */
export function inRoot(root: string, p: string): string {
  const full = resolve(root, '.' + (p.startsWith('/') ? p : '/' + p));
  const rel = relative(root, full);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`path '${p}' leaves the root ${root}`);
  return full;
}

/**
 * Where `p` (absolute, as seen inside the server) is on the host: its
 * directory resolved as the server would (symbolic links followed, absolute
 * ones relative to root, never above it: a copied or bootstrapped tree may
 * hold links that point at the host's files), created if missing, and the
 * last component as is (a link there is replaced, not followed).
 */
export async function hostPathInRoot(root: string, p: string): Promise<string> {
  const dir = await resolveInRoot(root, dirname(p));
  await mkdir(dir.host, { recursive: true });
  return join(dir.host, basename(p));
}

/** mkdir -p each of dirs inside root, then set the mode of the last component */
export async function makeDirs(root: string, dirs: ReadonlyArray<readonly [string, number]>): Promise<void> {
  for (const [d, mode] of dirs) {
    const p = await hostPathInRoot(root, d);
    const st = await lstat(p).catch(() => null);
    if (st?.isSymbolicLink()) continue; // e.g. /var/run -> /run: the target has its own entry
    if (!st) await mkdir(p);
    await chmod(p, mode);
  }
}

/** write a file inside root with an exact mode (not subject to the umask) */
export async function writeRootFile(root: string, p: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const full = await hostPathInRoot(root, p);
  await rm(full, { force: true });
  await writeFile(full, content, { mode });
  await chmod(full, mode);
}

/** the lines of /etc/hosts for a server */
export function hostsFile(hostname: string, ip?: string, ip6?: string): string {
  const short = hostname.split('.')[0] ?? hostname;
  const names = short !== hostname ? `${hostname} ${short}` : hostname;
  return [
    '127.0.0.1\tlocalhost',
    // with no address of its own, the name resolves to the server's own loopback
    ip ? `${ip}\t${names}` : `127.0.1.1\t${names}`,
    ...(ip6 ? [`${ip6}\t${names}`] : []),
    '',
  ].join('\n');
}

/** /etc/hostname and /etc/hosts */
export async function writeHostnameFiles(ctx: TemplateContext): Promise<void> {
  await writeRootFile(ctx.root, '/etc/hostname', ctx.hostname + '\n');
  await writeRootFile(ctx.root, '/etc/hosts', hostsFile(ctx.hostname, ctx.ip, ctx.ip6));
}

/* ------------------------------------------------------------ DNS */

/** where the host's resolver configuration is read */
export interface HostResolverFiles {
  /** the host's /etc/resolv.conf (read through any link) */
  readonly resolvConf: string;
  /** systemd-resolved's list of the upstream servers behind its 127.0.0.53 stub */
  readonly upstreamResolvConf: string;
}

export const HOST_RESOLVER_FILES: HostResolverFiles = {
  resolvConf: '/etc/resolv.conf',
  upstreamResolvConf: '/run/systemd/resolve/resolv.conf',
};

/** the /etc/resolv.conf a build writes into a server */
export interface ServerResolvConf {
  readonly text: string;
  /** the name servers the server will ask */
  readonly nameservers: readonly string[];
  /** the host file they came from */
  readonly source: string;
  /** why DNS will not work inside as built, or null */
  readonly warning: string | null;
}

/**
 * A loopback name server (127.0.0.0/8, ::1, 0.0.0.0, ::, or IPv4-mapped
 * 127.x): the host's own stub resolver (systemd-resolved's 127.0.0.53,
 * dnsmasq's 127.0.0.1), which a server cannot reach — its localhost is its
 * own.
 */
export function isLoopbackNameserver(addr: string): boolean {
  const a = addr.replace(/%.*$/, '').toLowerCase();
  if (isIPv4(a)) return a.startsWith('127.') || a === '0.0.0.0';
  if (isIPv6(a)) {
    const c = new URL(`http://[${a}]/`).hostname.slice(1, -1);
    return c === '::1' || c === '::' || /^::ffff:7f[0-9a-f]{2}:/.test(c);
  }
  return false;
}

function nameserversOf(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/**
 * What a server's /etc/resolv.conf should say: the host's resolver
 * configuration (the file's text, not a link into the host), with the
 * name servers a server cannot reach — loopback ones — commented out.
 * When that leaves none (a host behind systemd-resolved's stub), the
 * upstream servers systemd-resolved lists in @files.upstreamResolvConf are
 * used instead; when there are none either, the file says so and
 * `warning` tells the user what to write.
 */
export async function serverResolvConf(files: HostResolverFiles = HOST_RESOLVER_FILES): Promise<ServerResolvConf> {
  const read = (f: string) => readFile(f, 'utf8').catch(() => null);
  const host = await read(files.resolvConf);
  const reachable = (t: string) => nameserversOf(t).filter((n) => !isLoopbackNameserver(n));
  const header = (src: string, extra: string[] = []) => [
    `# The resolver configuration of this virtual server, written by vserver build`,
    `# from the host's ${src}.  A server cannot reach the host's loopback, so`,
    `# loopback name servers (a local stub resolver) are left out.`,
    ...extra,
  ];
  const commentLoopback = (t: string) => t.split('\n').map((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return m?.[1] && isLoopbackNameserver(m[1]) ? `# ${l.trim()}   (the host's loopback: not reachable from a server)` : l;
  }).join('\n').replace(/\n*$/, '\n');
  if (host !== null && reachable(host).length) {
    return { text: [...header(files.resolvConf), commentLoopback(host)].join('\n'), nameservers: reachable(host), source: files.resolvConf, warning: null };
  }
  const upstream = await read(files.upstreamResolvConf);
  if (upstream !== null && reachable(upstream).length) {
    const text = [...header(files.upstreamResolvConf, [
      `# The host's ${files.resolvConf} names only a local stub resolver; these are`,
      `# the upstream servers behind it.`,
    ]), commentLoopback(upstream)].join('\n');
    return { text, nameservers: reachable(upstream), source: files.upstreamResolvConf, warning: null };
  }
  const stubs = host === null ? [] : nameserversOf(host);
  const what = host === null ? `the host has no ${files.resolvConf}`
    : stubs.length ? `the host's ${files.resolvConf} names only ${stubs.join(', ')}, a resolver on the host's loopback that a server cannot reach`
      : `the host's ${files.resolvConf} names no name server`;
  const warning = `${what}, and ${files.upstreamResolvConf} names no upstream server: DNS will not work inside the server ` +
    'until its /etc/resolv.conf names a name server it can reach (e.g. nameserver 192.0.2.53, your network\'s resolver)';
  const text = [...header(files.resolvConf, [`# ${warning}`]), host === null ? '' : commentLoopback(host)].join('\n');
  return { text, nameservers: [], source: files.resolvConf, warning };
}

/** /etc/resolv.conf of the server from the host's (a file, never a link) */
export async function writeResolvConf(ctx: TemplateContext, files: HostResolverFiles = HOST_RESOLVER_FILES): Promise<ServerResolvConf> {
  const r = await serverResolvConf(files);
  await writeRootFile(ctx.root, '/etc/resolv.conf', r.text);
  ctx.progress({ step: 'dns', detail: r.nameservers.length
    ? `/etc/resolv.conf: name servers ${r.nameservers.join(' ')} (from the host's ${r.source})`
    : '/etc/resolv.conf: no name server a server can reach' });
  if (r.warning) ctx.warn?.(r.warning);
  return r;
}

/** a fresh random /etc/machine-id (32 lower-case hex digits) */
export function newMachineId(): string {
  return randomBytes(16).toString('hex') + '\n';
}

const PT_INTERP = 3;

/**
 * The ELF program interpreter of a file ('/lib64/ld-linux-x86-64.so.2'),
 * null for a static executable; throws when the file is not ELF.
 */
export async function elfInterpreter(path: string): Promise<string | null> {
  const fh = await open(path, fsc.O_RDONLY);
  try {
    const hdr = Buffer.alloc(64);
    await fh.read(hdr, 0, 64, 0);
    if (hdr.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF executable`);
    const is64 = hdr[4] === 2;
    const le = hdr[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const phoff = is64 ? u64(hdr, 32) : u32(hdr, 28);
    const phentsize = u16(hdr, is64 ? 54 : 42);
    const phnum = u16(hdr, is64 ? 56 : 44);
    const ph = Buffer.alloc(phentsize);
    for (let i = 0; i < phnum; i++) {
      await fh.read(ph, 0, phentsize, phoff + i * phentsize);
      if (u32(ph, 0) !== PT_INTERP) continue;
      const off = is64 ? u64(ph, 8) : u32(ph, 4);
      const size = is64 ? u64(ph, 32) : u32(ph, 16);
      const s = Buffer.alloc(size);
      await fh.read(s, 0, size, off);
      return s.toString('latin1').replace(/\0.*$/s, '');
    }
    return null;
  } finally {
    await fh.close();
  }
}

/** run a command, collecting stdout; rejects with its stderr's last line (the error's `code`: its exit status) */
export function run(cmd: string, args: readonly string[], opts: { onLine?: (line: string) => void } = {}): Promise<string> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errTail = '';
    let partial = '';
    const onData = (chunk: Buffer, isErr: boolean) => {
      const s = chunk.toString();
      if (isErr) errTail = (errTail + s).slice(-4000);
      else out += s;
      if (opts.onLine) {
        partial += s;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) opts.onLine(l.trimEnd());
      }
    };
    child.stdout.on('data', (c: Buffer) => onData(c, false));
    child.stderr.on('data', (c: Buffer) => onData(c, true));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (opts.onLine && partial.trim()) opts.onLine(partial.trimEnd());
      if (code === 0) return resolveP(out);
      const last = errTail.trim().split('\n').filter(Boolean).pop() ?? '';
      reject(Object.assign(new Error(`${cmd} ${signal ? `killed by ${signal}` : `exited with status ${code}`}${last ? `: ${last}` : ''}`), { code }));
    });
  });
}

/** copy a host file to the same path inside root, following symlinks on the way */
async function copyHostFileAlong(root: string, hostPath: string): Promise<void> {
  // recreate each symlink component so the loader finds the file by the name it was given
  let p = hostPath;
  for (let hops = 0; hops < 16; hops++) {
    const st = await lstat(p);
    const dest = await hostPathInRoot(root, p);
    const exists = await lstat(dest).then(() => true, () => false);
    if (st.isSymbolicLink()) {
      const target = await readlink(p);
      if (!exists) await symlink(target, dest);
      p = resolve(dirname(p), target);
      continue;
    }
    if (!exists) {
      await copyFile(p, dest);
      await chmod(dest, st.mode & 0o7777);
    }
    return;
  }
  throw new Error(`too many symbolic links resolving ${hostPath}`);
}

/** the shared libraries (and loader) a dynamic executable needs, as ldd resolves them */
async function sharedLibraries(exe: string): Promise<string[]> {
  const out = await run('ldd', [exe]);
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** where the vreboot tool is built */
export function vrebootPath(): string {
  return join(toolsDir, 'vreboot');
}

/**
 * Install /sbin/vreboot and /sbin/vhalt (one binary, vhalt a symbolic link to
 * vreboot).  The binary should be static; when the build made it dynamic
 * and the root has no C library of its own (`withLibraries`), the
 * libraries it needs are copied along so that it still runs.
 */
export async function installVreboot(root: string, opts: { withLibraries: boolean }): Promise<void> {
  const src = vrebootPath();
  const exists = await lstat(src).then(() => true, () => false);
  if (!exists) throw new TemplateError('vreboot', `${src} is missing; build the C tools with 'make -C kernel'`);
  const dest = await hostPathInRoot(root, '/sbin/vreboot');
  await rm(dest, { force: true });
  await copyFile(src, dest);
  await chmod(dest, 0o755);
  const halt = await hostPathInRoot(root, '/sbin/vhalt');
  await rm(halt, { force: true });
  await symlink('vreboot', halt);
  if (opts.withLibraries && (await elfInterpreter(src)) !== null) {
    for (const lib of await sharedLibraries(src)) await copyHostFileAlong(root, lib);
  }
}
