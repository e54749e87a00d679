/**
 * The debootstrap template: a real, minimal Debian (`--variant=minbase`)
 * fetched from the Debian mirror the host's APT is configured with, in the
 * host's release unless another suite is named (`debootstrap:SUITE`).
 *
 * A server does not boot systemd (it needs a writable cgroup tree of its
 * own): sysvinit-core and sysv-rc are installed and sysvinit is the
 * server's PID 1 (S_INIT=init): it runs rcS and runlevel 2's scripts, stays
 * and reaps; `vserver NAME stop` runs `init 0`, whose last script (halt)
 * calls reboot(2), which ends the server's PID namespace.  APT is pinned
 * never to install systemd-sysv, the inittab has no getty, and the boot
 * scripts that only make sense on a real machine (hardware clock, kernel
 * modules, udev, console setup, file system checks, mounting local disks
 * and swap, network interfaces, kernel settings) are disabled with the
 * distribution's own tool, `update-rc.d NAME disable`, as util-vserver's
 * Debian builds and LXC's debian template did: their start links become
 * K links, which insserv keeps when a later package installs or upgrades
 * one of them; halt, reboot and the unmount scripts stay: their reboot(2)
 * is how the init's shutdown ends.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, chmod, lstat, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import {
  inRoot, installVreboot, newMachineId, run, writeHostnameFiles, writeRootFile,
  TemplateError, type TemplateContext, type TemplateResult,
} from './common.js';
import { FLAG } from '../../generated/tables.js';
import { bootstrapWithCache, type BootstrapCache } from './debootstrap-cache.js';

/** one `deb` source of APT */
export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  /** the keyring file of Signed-By, when it names one */
  readonly signedBy?: string;
}

/** the `deb` lines of a one-line-style sources.list */
export function parseSourcesList(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue;
    let rest = line.slice(3).trim();
    let signedBy: string | undefined;
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end < 0) continue;
      const m = /signed-by=(\S+)/.exec(rest.slice(1, end));
      if (m?.[1]) signedBy = m[1];
      rest = rest.slice(end + 1).trim();
    }
    const [uri, suite, ...components] = rest.split(/\s+/);
    if (!uri || !suite) continue;
    out.push({ uri, suites: [suite], components, signedBy });
  }
  return out;
}

/** the `Types: deb` stanzas of a deb822-style .sources file */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let key = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && key) {
        fields.set(key, `${fields.get(key) ?? ''}\n${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!m) continue;
      key = m[1]!.toLowerCase();
      fields.set(key, m[2]!.trim());
    }
    const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb')) continue;
    if (/^(no|false)$/i.test(fields.get('enabled') ?? 'yes')) continue;
    const signed = fields.get('signed-by');
    // Signed-By is a file name, or an inline key block (which debootstrap cannot use)
    const signedBy = signed && !signed.includes('\n') && signed.startsWith('/') ? signed : undefined;
    for (const uri of words('uris')) {
      out.push({ uri, suites: words('suites'), components: words('components'), signedBy });
    }
  }
  return out;
}

/** every `deb` source of the host, from /etc/apt/sources.list and sources.list.d */
export async function hostAptSources(etcApt = '/etc/apt'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const main = join(etcApt, 'sources.list');
  if (existsSync(main)) out.push(...parseSourcesList(await readFile(main, 'utf8')));
  const dir = join(etcApt, 'sources.list.d');
  const names = existsSync(dir) ? (await readdir(dir)).sort() : [];
  for (const n of names) {
    if (n.endsWith('.list')) out.push(...parseSourcesList(await readFile(join(dir, n), 'utf8')));
    else if (n.endsWith('.sources')) out.push(...parseDeb822Sources(await readFile(join(dir, n), 'utf8')));
  }
  return out;
}

/**
 * The Debian archive among the sources: the one that carries the host's
 * release itself (not -security or -updates), else the first whose path ends
 * in /debian.
 */
export function pickDebianMirror(sources: readonly AptSource[], codename: string): AptSource | null {
  return sources.find((s) => s.suites.includes(codename) && /^(https?|file|ftp):/.test(s.uri))
    ?? sources.find((s) => /\/debian\/?$/.test(s.uri))
    ?? null;
}

/** VERSION_CODENAME of /etc/os-release */
export async function hostCodename(osRelease = '/etc/os-release'): Promise<string | null> {
  const text = await readFile(osRelease, 'utf8').catch(() => '');
  const m = /^VERSION_CODENAME=["']?([^"'\n]+)["']?$/m.exec(text);
  return m?.[1] ?? null;
}

/** a suite or code name as debootstrap takes it */
export function suiteProblem(suite: string): string | null {
  return /^[a-z][a-z0-9.-]{0,31}$/.test(suite)
    ? null
    : `'${suite}' is not a Debian suite name (such as bookworm, trixie, stable)`;
}

/** the debootstrap program, or null */
export function findDebootstrap(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const d of dirs) if (d && existsSync(join(d, 'debootstrap'))) return join(d, 'debootstrap');
  return null;
}

/**
 * Boot scripts that act on a real machine, not a server, disabled at build
 * (the host owns the clock, the kernel's modules and settings, the devices,
 * the disks, swap and the network interfaces; the server's /proc, /sys and
 * /dev are mounted before its init runs, its host name is set by vctx):
 * hwclock.sh (hardware clock), kmod (kernel modules), udev, keyboard-setup.sh
 * and console-setup.sh (the console), checkroot.sh and checkfs.sh (fsck),
 * mountall.sh (local disks and swap), mountnfs.sh, mountkernfs.sh,
 * mountdevsubfs.sh, mount-configfs, networking (ifupdown's interfaces),
 * brightness, hostname.sh and procps (sysctl).  Those a system lacks are
 * skipped.  `update-rc.d NAME disable` turns their start links into K links
 * (rc does not run K links at boot, and insserv keeps them: a disabled
 * script stays disabled through upgrades); their stop links in runlevels 0
 * and 6 stay (the tool leaves those; hwclock.sh's and brightness's stop
 * find no device and do nothing).  halt, reboot, sendsigs and the unmount
 * scripts are not touched: they are the distribution's shutdown, which
 * ends in halt's reboot(2) (the end of the server's PID namespace).
 */
export const MACHINE_ONLY_SCRIPTS: readonly string[] = [
  'hwclock.sh', 'kmod', 'udev', 'keyboard-setup.sh', 'console-setup.sh', 'checkroot.sh', 'checkfs.sh',
  'mountall.sh', 'mountnfs.sh', 'mountkernfs.sh', 'mountdevsubfs.sh', 'mount-configfs', 'networking',
  'brightness', 'hostname.sh', 'procps',
];

/** the scripts of @names that have a start link among @links (rc?.d file names, `S20foo`) */
export function enabledAmong(names: readonly string[], links: readonly string[]): string[] {
  const started = new Set(links.map((l) => /^S\d\d(.+)$/.exec(l)?.[1]).filter((n): n is string => !!n));
  return names.filter((n) => started.has(n));
}

/**
 * Disables @names' start links in @root with the system's own
 * `update-rc.d NAME disable` (run in a chroot); scripts the system lacks or
 * has disabled already are skipped.  Returns the names disabled.
 */
export async function disableBootScripts(root: string, names: readonly string[] = MACHINE_ONLY_SCRIPTS): Promise<string[]> {
  const links: string[] = [];
  for (const rl of ['S', '2', '3', '4', '5']) {
    const dir = inRoot(root, `/etc/rc${rl}.d`);
    if (existsSync(dir)) links.push(...(await readdir(dir)));
  }
  const todo = enabledAmong(names, links).filter((n) => existsSync(inRoot(root, `/etc/init.d/${n}`)));
  for (const n of todo) {
    await run('chroot', [root, '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C', '/usr/sbin/update-rc.d', n, 'disable'])
      .catch((e: unknown) => {
        throw new TemplateError('debootstrap', `cannot disable the boot script ${n}: ${e instanceof Error ? e.message : String(e)}`);
      });
  }
  return todo;
}

/** what build writes for a debootstrap server: sysvinit as its PID 1 */
export const DEBOOTSTRAP_INIT = { flags: [FLAG.fakeinit], init: 'init' } as const;

/** the inittab of a Debian server: sysvinit is its PID 1 (S_INIT=init) */
export function sysvInittab(name: string): string {
  return `# /etc/inittab of the virtual server ${name}: sysvinit is its PID 1 (S_INIT=init).
# \`vserver ${name} stop\` runs \`init 0\`; the halt script's reboot(2) ends the server.
# \`reboot\` inside restarts it, \`halt\` or \`poweroff\` stops it.
# No getty: the console is the server's log, \`vserver ${name} enter\` gives a shell.
id:2:initdefault:
si::sysinit:/etc/init.d/rcS
l0:0:wait:/etc/init.d/rc 0
l1:1:wait:/etc/init.d/rc 1
l2:2:wait:/etc/init.d/rc 2
l3:3:wait:/etc/init.d/rc 3
l4:4:wait:/etc/init.d/rc 4
l5:5:wait:/etc/init.d/rc 5
l6:6:wait:/etc/init.d/rc 6
# SIGPWR to the server's init halts it; SIGINT (ctrl-alt-del) is ignored
p0::powerfail:/sbin/init 0
`;
}

/** APT pin: systemd-sysv (systemd as /sbin/init) is never installed */
export const noSystemdPin = `# A virtual server cannot boot systemd (it needs a writable cgroup tree of
# its own); vserver build pinned systemd-sysv away.  systemd as a library or
# tool is fine.
Package: systemd-sysv
Pin: release *
Pin-Priority: -1
`;

export interface DebootstrapOptions {
  /** the suite; default the host's code name */
  readonly suite?: string;
  /** the mirror; default the host's Debian mirror */
  readonly mirror?: string;
  /** keep and reuse debootstrap's result there; omitted: debootstrap runs every time */
  readonly cache?: BootstrapCache;
}

/**
 * What Debian's own images drop (apt-get clean and /var/lib/apt/lists/*):
 * the .deb files debootstrap downloaded (~32 MB) and the package lists
 * (~50 MB, a day old at best; `apt-get update` fetches them), which /var
 * would otherwise hold in every server (never shared: unify keeps /var a
 * server's own).  The directories and their lock files stay.
 */
export async function cleanApt(root: string): Promise<void> {
  const drop = async (dir: string, keep: (f: string) => boolean) => {
    const d = inRoot(root, dir);
    const st = await lstat(d).catch(() => null);
    if (!st?.isDirectory()) return; // a symlink is not followed
    for (const f of await readdir(d)) {
      if (keep(f)) continue;
      const fst = await lstat(join(d, f));
      if (fst.isFile() || fst.isSymbolicLink()) await rm(join(d, f), { force: true });
    }
  };
  await drop('/var/cache/apt/archives', (f) => !f.endsWith('.deb'));
  await drop('/var/cache/apt', (f) => !f.endsWith('.bin'));
  await drop('/var/lib/apt/lists', (f) => f === 'lock');
}

/** populate ctx.root with a minimal Debian */
export async function buildDebootstrap(ctx: TemplateContext, opts: DebootstrapOptions = {}): Promise<TemplateResult> {
  const { root } = ctx;
  const program = findDebootstrap();
  if (!program) throw new TemplateError('debootstrap', "debootstrap is not installed; run 'apt-get install debootstrap'");

  const codename = await hostCodename();
  const suite = opts.suite ?? codename;
  if (!suite) throw new TemplateError('debootstrap', 'the host has no VERSION_CODENAME in /etc/os-release; name the suite: --template debootstrap:SUITE');
  const bad = suiteProblem(suite);
  if (bad) throw new TemplateError('debootstrap', bad);

  let mirror = opts.mirror;
  let keyring: string | undefined;
  let components = ['main'];
  if (!mirror) {
    const src = pickDebianMirror(await hostAptSources(), codename ?? suite);
    if (!src) {
      throw new TemplateError('debootstrap',
        'no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/*.list|*.sources; add one (deb http://deb.debian.org/debian ' +
        `${suite} main)`);
    }
    mirror = src.uri;
    if (src.signedBy && existsSync(src.signedBy)) keyring = src.signedBy;
    if (src.components.length) components = [...src.components];
  }

  const args = ['--variant=minbase', '--include=sysvinit-core', `--components=${components.join(',')}`];
  if (keyring) args.push(`--keyring=${keyring}`);
  args.push(suite, root, mirror);
  // the fetch: from the cache when it has this very bootstrap, else debootstrap (debootstrap-cache.ts)
  await bootstrapWithCache(ctx, program, args, opts.cache);

  ctx.progress({ step: 'debootstrap', detail: 'making the system a server' });
  if (existsSync(inRoot(root, '/lib/systemd/systemd')) && existsSync(inRoot(root, '/usr/share/doc/systemd-sysv'))) {
    throw new TemplateError('debootstrap', `the ${suite} system boots systemd, which cannot be a server's init`);
  }
  await writeHostnameFiles(ctx);
  if (existsSync(inRoot(root, '/etc/resolv.conf'))) await chmod(inRoot(root, '/etc/resolv.conf'), 0o644);
  await writeRootFile(root, '/etc/machine-id', newMachineId(), 0o444);
  await writeRootFile(root, '/etc/apt/preferences.d/vserver-no-systemd', noSystemdPin);
  await writeRootFile(root, '/etc/inittab', sysvInittab(ctx.name));
  ctx.progress({ step: 'debootstrap', detail: 'disabling the boot scripts of a real machine (update-rc.d disable)' });
  await disableBootScripts(root);

  ctx.progress({ step: 'vreboot', detail: 'installing /sbin/vreboot and /sbin/vhalt' });
  await installVreboot(root, { withLibraries: false });

  ctx.progress({ step: 'debootstrap', detail: "dropping APT's downloaded packages and lists (apt-get clean; apt-get update fetches the lists)" });
  await cleanApt(root);

  return { flags: [...DEBOOTSTRAP_INIT.flags], init: DEBOOTSTRAP_INIT.init };
}
