#!/usr/bin/env node
// Records real host snapshots (the native addon's snapshot()) as a fixture
// for unit and golden tests: test/fixtures/snapshots/NAME.json holds an
// array of Snapshot objects (src/kernel-bridge/types.ts), taken INTERVAL
// milliseconds apart, which FixtureSnapshotSource replays.
//
//   node scripts/record-fixture.mjs NAME [--count N] [--interval MS] [--out PATH]
//
// Run it as root so every process and the contexts' xattrs are visible.
// VCTX_ADDON=path/to/vctx.node loads another build of the addon.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const usage = 'usage: record-fixture.mjs NAME [--count N] [--interval MS] [--out PATH]';

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: {
      count: { type: 'string', default: '1' },
      interval: { type: 'string', default: '1000' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (e) {
  console.error(`record-fixture: ${e.message}\n${usage}`);
  process.exit(2);
}
if (args.values.help) {
  console.log(usage);
  process.exit(0);
}
const name = args.positionals[0];
const count = Number(args.values.count);
const interval = Number(args.values.interval);
if (!name || args.positionals.length > 1 || !/^[A-Za-z0-9._-]+$/.test(name)) {
  console.error(`record-fixture: give one fixture NAME (letters, digits, . _ -)\n${usage}`);
  process.exit(2);
}
if (!Number.isInteger(count) || count < 1 || count > 1000) {
  console.error(`record-fixture: --count must be an integer from 1 to 1000, not '${args.values.count}'`);
  process.exit(2);
}
if (!Number.isFinite(interval) || interval < 0 || interval > 3_600_000) {
  console.error(`record-fixture: --interval must be milliseconds from 0 to 3600000, not '${args.values.interval}'`);
  process.exit(2);
}

const addonPath = process.env.VCTX_ADDON ?? join(root, 'build', 'Release', 'vctx.node');
let addon;
try {
  addon = createRequire(import.meta.url)(addonPath);
} catch (e) {
  console.error(`record-fixture: cannot load the native addon ${addonPath}: ${e.message} (run npm run build)`);
  process.exit(1);
}

const out = args.values.out ?? join(root, 'test', 'fixtures', 'snapshots', `${name}.json`);
const snaps = [];
for (let i = 0; i < count; i++) {
  if (i > 0) await new Promise((r) => setTimeout(r, interval));
  snaps.push(addon.snapshot());
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(snaps, null, 1) + '\n');
const last = snaps[snaps.length - 1];
console.log(`${out}: ${snaps.length} snapshot(s), ${last.processes.length} processes, ${last.contexts.length} contexts`);
