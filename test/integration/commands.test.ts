/**
 * The commands as installed (package.json's bin, the files setup.sh links):
 * each one runs through its #! line or is vps's front, and its output
 * survives a reader that goes away early.  Root: they refuse other users.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { commandPath, ensureBundles } from '../helpers/commands.js';

const isRoot = process.getuid?.() === 0;
const bins = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;

describe('installed commands', { skip: !isRoot && 'needs root' }, () => {
  test("package.json's bin: every file is built, executable, and answers --help", () => {
    ensureBundles();
    for (const [name, file] of Object.entries(bins)) {
      const path = join(projectRoot, file);
      accessSync(path, constants.X_OK);
      const r = spawnSync(path, ['--help'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `${name} (${file}): ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: ${name} `), `${name} (${file})`);
    }
  });

  test('the tests run what bin names (bundles, and vps through its front)', () => {
    for (const name of ['vserver', 'vserver-all', 'vserver-stat', 'vps', 'vpstree', 'vkill', 'vdu', 'vtop'] as const) {
      assert.equal(commandPath(name), join(projectRoot, bins[name]!), name);
    }
  });

  test("vserver NAME status|running (the status bundle, dist/cjs/vserver-status.js) answers as the whole bundle does", () => {
    // `--confdir D NAME status` is the whole bundle's (dist/vserver.cjs picks the status
    // bundle only for NAME status [--json] and NAME running): both must say the same
    const d = mkdtempSync(join(tmpdir(), 'vctx-status-bundle-'));
    try {
      const env = { ...process.env, VSERVER_CONFDIR: join(d, 'etc'), VSERVER_ROOTDIR: join(d, 'vs'), VSERVER_RUNDIR: join(d, 'run') };
      spawnSync('mkdir', ['-p', join(d, 'etc')]);
      writeFileSync(join(d, 'etc', 'bad.conf'), 'S_NICE="abc"\n', { mode: 0o644 });
      for (const args of [['nosuch', 'status'], ['bad', 'status'], ['bad', 'status', '--json'], ['bad', 'running'], ['nosuch', 'running']]) {
        const [name, ...rest] = args;
        const viaStatus = spawnSync(commandPath('vserver'), args, { encoding: 'utf8', env, timeout: 30_000 });
        const viaWhole = spawnSync(commandPath('vserver'), ['--confdir', join(d, 'etc'), name!, ...rest], { encoding: 'utf8', env, timeout: 30_000 });
        assert.equal(viaStatus.stdout, viaWhole.stdout, args.join(' '));
        assert.equal(viaStatus.stderr, viaWhole.stderr, args.join(' '));
        assert.equal(viaStatus.status, viaWhole.status, args.join(' '));
        assert.doesNotMatch(viaStatus.stderr, /internal error|status bundle has no/, args.join(' '));
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('a reader that has gone away is no error: no message, exit 0', () => {
    // `| true`: the reader exits before the command writes (vserver-stat and vps write straight to fd 1)
    for (const cmd of [commandPath('vserver-stat'), `${commandPath('vps')} -e`, `${commandPath('vps')} -e --json`]) {
      const r = spawnSync('bash', ['-c', `${cmd} | true; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.stderr, '', cmd);
      assert.equal(r.stdout, '0\n', cmd);
    }
  });
});
