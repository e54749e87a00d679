/**
 * Another "host" for the tests of vserver-copy HOST:NAME and vtop --host:
 * an sshd of the test's own (openssh-server, installed by setup.sh, never
 * started as a service) on a loopback address and port, with its own
 * sshd_config, host key and authorized key, made in a temporary directory.
 * Each session it opens gets the environment that makes it that host's
 * vctx (SetEnv): VCTX_INSTANCE and/or the directories, and a PATH whose
 * first entry holds the commands under test.  The client side is an
 * ssh_config naming the host by an alias, for `--ssh-config FILE`.
 *
 *     const h = await startSshd({ alias: 'hostb', env: { VSERVER_ROOTDIR: ... } });
 *     try { ... vserver-copy SRC hostb:NAME --ssh-config h.sshConfig } finally { await h.stop(); }
 *
 * Started and stopped by its PID.  Root only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUNDLED, commandPath, type Command } from './commands.js';

export interface Sshd {
  alias: string;
  address: string;
  port: number;
  pid: number;
  /** the client's ssh_config (Host ALIAS: address, port, key, known host) */
  sshConfig: string;
  /** what sshd logged so far (-e) */
  log(): string;
  /** stops this sshd (by PID) and removes its directory; connections it serves end */
  stop(): Promise<void>;
}

/** the commands under test, by name, in one directory (the remote side's PATH) */
function commandDir(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const c of [...BUNDLED, 'vtop', 'vdu'] as Command[]) symlinkSync(commandPath(c), join(bin, c));
  return bin;
}

let madePrivsep = 0;

function listening(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/**
 * @opts.alias the host's name in the ssh_config
 * @opts.address a loopback address (default a random 127.0.0.N)
 * @opts.env what each session gets (SetEnv), besides PATH
 */
export async function startSshd(opts: { alias: string; address?: string; env?: Record<string, string> }): Promise<Sshd> {
  const sshd = '/usr/sbin/sshd';
  if (!existsSync(sshd)) throw new Error(`${sshd} is missing: setup.sh installs openssh-server`);
  const dir = mkdtempSync(join(tmpdir(), 'vctx-sshd-'));
  const address = opts.address ?? `127.0.0.${10 + Math.floor(Math.random() * 80)}`;
  const keygen = (file: string) => {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `vctx-test-${opts.alias}`, '-f', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  };
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), { mode: 0o600 });
  // sshd's privilege separation directory (the packaged service makes it when it starts)
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    madePrivsep++;
  } else if (madePrivsep) madePrivsep++;
  const env = { PATH: `${commandDir(dir)}:${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...opts.env };
  let child: ChildProcess | null = null;
  let port = 0;
  let log = '';
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = 20000 + Math.floor(Math.random() * 40000);
    writeFileSync(join(dir, 'sshd_config'), [
      `ListenAddress ${address}:${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // the keys live under /tmp (world-writable): no ownership walk up to /
      'StrictModes no',
      'PidFile none',
      'PrintMotd no',
      'MaxSessions 64',
      'MaxStartups 64',
      `SetEnv ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`,
      '',
    ].join('\n'), { mode: 0o600 });
    const c = spawn(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.setEncoding('utf8').on('data', (d: string) => { log = (log + d).slice(-20000); });
    let exited = false;
    c.on('exit', () => { exited = true; });
    const end = Date.now() + 5000;
    while (!exited && Date.now() < end && !(await listening(address, port))) await new Promise((r) => setTimeout(r, 50));
    if (!exited && (await listening(address, port))) child = c;
    else if (!exited) c.kill('SIGKILL');
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`sshd did not start on ${address}: ${log}`);
  }
  const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), `[${address}]:${port} ${hostPub}\n`);
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, [
    `Host ${opts.alias}`,
    `  HostName ${address}`,
    `  Port ${port}`,
    '  User root',
    `  IdentityFile ${join(dir, 'client_key')}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
    '  StrictHostKeyChecking yes',
    '  LogLevel ERROR',
    '',
  ].join('\n'));
  const c = child;
  const pid = c.pid!;
  return {
    alias: opts.alias, address, port, pid, sshConfig,
    log: () => log,
    async stop() {
      if (c.exitCode === null && c.signalCode === null) {
        // its sessions first (each a child of the listener: they outlive its SIGTERM), then it
        const kids = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' }).stdout.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
        for (const k of kids) {
          try { process.kill(k, 'SIGTERM'); } catch { /* gone */ }
        }
        const gone = new Promise((r) => c.once('exit', r));
        process.kill(pid, 'SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
      if (madePrivsep && --madePrivsep === 0) {
        try { rmdirSync('/run/sshd'); } catch { /* in use */ }
      }
    },
  };
}
