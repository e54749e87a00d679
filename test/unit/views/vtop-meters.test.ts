/**
 * The header's meters and the server list's sparklines (issue 13), pure:
 * the figures of the demo recording's host and of made-up minutes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { perCpuTimes } from '../../../src/kernel-bridge/host.js';
import { hostCpuPercent } from '../../../src/live/host-probe.js';
import { cpuTotalMeter, memMeter, meter, meterLines, sparkline, spansText, swapMeter, WIDE_COLUMNS } from '../../../src/views/vtop-meters.js';
import type { HostInfo } from '../../../src/views/vtop-model.js';
import { DEMO } from '../ui/harness.js';

const G = 1024 ** 3;
/** the demo's host (2 cores, 115 % of one core busy, 4G with 1.5G used) with its cores, cache and swap */
const HOST: HostInfo = {
  ...(new FixtureSnapshotSource(DEMO).extras.host as HostInfo),
  cpuPercents: [80, 35], memFree: 1 * G, swapTotal: 2 * G, swapFree: 1.5 * G,
};

test('meter: the bar as long as the share, the figure over its right end, exactly as wide as asked', () => {
  const m = meter('CPU', [{ share: 0.5, tone: 'cpu', mono: '|' }], '50.0%', 25, false);
  assert.equal(spansText(m), 'CPU[||||||||||     50.0%]');
  assert.equal([...spansText(m)].length, 25);
  assert.deepEqual(m.map((s) => s.tone), ['label', 'bracket', 'cpu', 'plain', 'figure', 'bracket']);
  // a share over 1 or under 0 is clamped; a figure that does not fit is left out rather than cut
  assert.equal(spansText(meter('X', [{ share: 3, tone: 'cpu', mono: '|' }], '', 8, false)), 'X[|||||]');
  assert.equal(spansText(meter('X', [{ share: -1, tone: 'cpu', mono: '|' }], 'too long', 8, false)), 'X[     ]');
});

test('meters in 16 colours: one character, each part its own tone; without colour: each part its own character', () => {
  const colour = memMeter(HOST, 40, false);
  const mono = memMeter(HOST, 40, true);
  // 1.5G used of 4G (37.5 %), cache 1.5G (available 2.5G - free 1G)
  assert.equal(spansText(colour), 'Mem[||||||||||||||||||||||||||  1.5G/4G]');
  assert.equal(spansText(mono), 'Mem[|||||||||||||:::::::::::::  1.5G/4G]');
  assert.deepEqual(colour.filter((s) => s.tone === 'used' || s.tone === 'cache').map((s) => [s.tone, s.text.length]), [['used', 13], ['cache', 13]]);
  assert.equal(spansText(swapMeter(HOST, 30, true)), 'Swp[||||||            512M/2G]');
  assert.equal(spansText(swapMeter({ ...HOST, swapTotal: 0, swapFree: 0 }, 20, true)), 'Swp[            0/0]', 'no swap: an empty meter');
  // the total is % of one core, as every CPU figure of vtop: 115 of 200
  assert.equal(spansText(cpuTotalMeter(HOST, 30, true)), 'CPU[|||||||||||115.0% of 200%]');
  assert.equal(spansText(cpuTotalMeter({ ...HOST, cpuPercent: undefined }, 20, true)), 'CPU[      - of 200%]');
});

test('header meters: a total at 80 columns, one per core on a wide terminal, memory and swap after', () => {
  const narrow = meterLines(HOST, 80, false).map(spansText);
  assert.equal(narrow.length, 1);
  // the figure is written over the bar's end, as htop does
  assert.equal(narrow[0], 'CPU[|||||||115.0% of 200%] Mem[||||||||||||||1.5G/4G] Swp[|||||         512M/2G]');
  assert.equal([...narrow[0]!].length, 80);
  const wide = meterLines(HOST, 200, false).map(spansText);
  assert.equal(wide.length, 2, wide.join('\n'));
  assert.match(wide[0]!, /^0\[\|+ +80\.0%\] 1\[\|+ +35\.0%\]$/);
  assert.match(wide[1]!, /^Mem\[\|+ +1\.5G\/4G\] Swp\[\|+ +512M\/2G\]$/);
  for (const l of wide) assert.equal([...l].length, 200);
  // 48 cores on 200 columns: 4 lines of 12, every core shown
  const many = meterLines({ ...HOST, cpus: 48, cpuPercents: Array.from({ length: 48 }, (_, i) => i) }, 200, true).map(spansText);
  assert.equal(many.length, 5);
  assert.match(many[3]!, /^36\[.* 47\[.*47\.0%\]$/);
  assert.ok(many.every((l) => [...l].length === 200));
  // 64 do not fit 4 lines of the narrowest meters: the total, never some of the cores
  const more = meterLines({ ...HOST, cpus: 64, cpuPercents: Array.from({ length: 64 }, (_, i) => i) }, 200, true).map(spansText);
  assert.equal(more.length, 1);
  assert.match(more[0]!, /^CPU\[/);
  assert.equal(meterLines(HOST, WIDE_COLUMNS - 1, false).length, 1, 'under the wide width: the total');
  assert.equal(meterLines({ ...HOST, cpuPercents: undefined }, 200, false).length, 1, 'no per-core figures (a recording): the total');
});

test('per-core figures from /proc/stat: each core % of that core', () => {
  const a = perCpuTimes('cpu  0 0 0 0\ncpu0 100 0 0 900 0 0 0 0\ncpu1 0 0 0 1000 0 0 0 0\n');
  const b = perCpuTimes('cpu  0 0 0 0\ncpu0 150 0 0 950 0 0 0 0\ncpu1 100 0 0 1000 0 0 0 0\n');
  assert.equal(a.length, 2);
  assert.equal(hostCpuPercent(a[0]!, b[0]!, 1), 50);
  assert.equal(hostCpuPercent(a[1]!, b[1]!, 1), 100);
});

test('sparkline: the last minute in blocks of 8 heights on one scale, oldest left, gaps blank', () => {
  const now = 1_000_000;
  const pts = [0, 25, 50, 100, 200].map((cpu, i) => ({ t: now - (4 - i) * 1000 - 1, cpu }));
  // 60 columns: one per second; scale 200 (two cores)
  const s = sparkline(pts, now, 60, 200);
  assert.equal([...s].length, 60);
  assert.equal(s.slice(-5), '▁▁▂▄█');
  assert.equal(s.slice(0, 55).trim(), '', 'no sample: blank');
  // 30 columns: each the highest of its two seconds
  assert.equal(sparkline(pts, now, 30, 200).slice(-3), '▁▂█');
  assert.equal(sparkline([{ t: now - 61_000, cpu: 100 }], now, 10, 100), ' '.repeat(10), 'older than a minute: gone');
  assert.equal(sparkline([{ t: now - 1, cpu: 400 }], now, 4, 200), '   █', 'over the scale: the full block');
});
