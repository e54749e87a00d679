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
import { chmod, copyFile, lstat, mkdir, open, readlink, rm, symlink, writeFile } from 'node:fs/promises';
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
  /** the server's host name (defaults to its name) */
  readonly hostname: string;
  /** host directories the copy must never take (config, roots, runtime) */
  readonly hostExcludes: readonly string[];
  readonly progress: ProgressFn;
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
export function hostsFile(hostname: string, ip?: string): string {
  const short = hostname.split('.')[0] ?? hostname;
  const names = short !== hostname ? `${hostname} ${short}` : hostname;
  return [
    '127.0.0.1\tlocalhost',
    // with no address of its own, the name resolves to the server's own loopback
    ip ? `${ip}\t${names}` : `127.0.1.1\t${names}`,
    '',
  ].join('\n');
}

/** /etc/hostname and /etc/hosts */
export async function writeHostnameFiles(ctx: TemplateContext): Promise<void> {
  await writeRootFile(ctx.root, '/etc/hostname', ctx.hostname + '\n');
  await writeRootFile(ctx.root, '/etc/hosts', hostsFile(ctx.hostname, ctx.ip));
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

/** run a command, collecting stdout; rejects with its stderr's last line */
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
      reject(new Error(`${cmd} ${signal ? `killed by ${signal}` : `exited with status ${code}`}${last ? `: ${last}` : ''}`));
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
