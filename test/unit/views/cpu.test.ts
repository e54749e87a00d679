import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuTracker, procKey } from '../../../src/views/cpu.js';
import type { ProcessInfo, Snapshot } from '../../../src/kernel-bridge/types.js';

const HZ = 100;
function proc(pid: number, startTime: number, utime: number, stime = 0, xid = 0): ProcessInfo {
  return { pid, ppid: 1, xid, innerPid: null, state: 'R', comm: 'p', threads: 1, startTime, utime, stime, cutime: 0, cstime: 0,
    vsz: 0, rss: 0, uid: 0, nice: 0, cmdline: 'p' };
}
function snap(takenAt: number, processes: ProcessInfo[]): Snapshot {
  return { takenAt, clockTicks: HZ, bootTime: 0, uptime: 10_000 + takenAt / 1000, pageSize: 4096, processes, contexts: [] };
}

test('a process spinning one core reads ~100% of one core (on any number of cores)', () => {
  const t = new CpuTracker();
  const first = t.update(snap(0, [proc(10, 5, 1000)]));
  assert.equal(first.proc.size, 0, 'no figure from a single sample');
  // 1 s at 100 Hz: 100 ticks = one core
  const s = t.update(snap(1000, [proc(10, 5, 1098, 2)]));
  assert.equal(s.intervalMs, 1000);
  assert.equal(Math.round(s.proc.get(10, 5)!), 100);
  // a two-thread spinner: 200% (top's convention), and the context sums
  const s2 = t.update(snap(2000, [proc(10, 5, 1300, 0)]));
  assert.equal(Math.round(s2.proc.get(10, 5)!), 200);
  assert.equal(Math.round(s2.context.get(0)!), 200);
});

test('a sleeper reads 0 (a figure, not unknown); a process gone and back with the same PID starts afresh', () => {
  const t = new CpuTracker();
  t.update(snap(0, [proc(10, 5, 7), proc(11, 6, 9)]));
  const s = t.update(snap(1000, [proc(10, 5, 7), proc(11, 6, 19)]));
  assert.equal(s.proc.get(10, 5), 0);
  assert.equal(Math.round(s.proc.get(11, 6)!), 10);
  assert.equal(s.proc.size, 2);
  assert.equal(s.proc.get(11, 7), undefined, 'not the process the figure is of');
  t.update(snap(2000, [proc(11, 6, 19)]));
  const back = t.update(snap(3000, [proc(10, 5, 7), proc(11, 6, 19)]));
  assert.equal(back.proc.get(10, 5), undefined, 'PID 10 was not in the snapshot before: no figure');
  assert.equal(back.proc.get(11, 6), 0);
});

test('PID reuse (new startTime) and counter resets never produce garbage', () => {
  const t = new CpuTracker();
  t.update(snap(0, [proc(10, 5, 50_000)]));
  const reused = t.update(snap(1000, [proc(10, 900, 3)]));
  assert.equal(reused.proc.get(10, 900), undefined, 'a new process has no previous sample');
  const back = t.update(snap(2000, [proc(10, 900, 1)]));
  assert.equal(back.proc.get(10, 900), undefined, 'a counter going backwards is a fresh sample');
  const ok = t.update(snap(3000, [proc(10, 900, 51)]));
  assert.equal(Math.round(ok.proc.get(10, 900)!), 50);
  // time going backwards (a replay looping) measures nothing
  const wrap = t.update(snap(500, [proc(10, 900, 60)]));
  assert.equal(wrap.intervalMs, 0);
  assert.equal(wrap.proc.size, 0);
  assert.equal(wrap.context.size, 0);
});

test('hot intervals count consecutively per (pid, startTime) and reset when it cools', () => {
  const t = new CpuTracker({ runawayPercent: 80 });
  let u = 0;
  const step = (i: number, ticks: number) => t.update(snap(i * 1000, [proc(7, 1, (u += ticks))]));
  step(0, 0);
  assert.equal(step(1, 90).hot.get(procKey(7, 1)), 1);
  assert.equal(step(2, 95).hot.get(procKey(7, 1)), 2);
  assert.equal(step(3, 10).hot.get(procKey(7, 1)), undefined);
  assert.equal(step(4, 99).hot.get(procKey(7, 1)), 1);
});

test('context CPU prefers the cgroup counter and keys it by creation time', () => {
  const t = new CpuTracker();
  const ctx = (usec: number, created: number): Snapshot['contexts'][number] => ({
    xid: 5, name: 's', parentXid: 0, cgroup: '', root: '', pid1: 0, ip: null, loopback: null, capBounding: '0x0', flags: [],
    created, nprocs: 0, namespaces: {}, cpuUsec: usec, cpuSource: 'cgroup2', memoryBytes: 0, memorySource: 'cgroup2',
    memoryMax: null, pidsMax: null, pidsEvents: 0, oomKills: 0 });
  t.update({ ...snap(0, []), contexts: [ctx(1_000_000, 1)] });
  const s = t.update({ ...snap(2000, []), contexts: [ctx(2_000_000, 1)] });
  assert.equal(Math.round(s.context.get(5)!), 50);
  const recreated = t.update({ ...snap(4000, []), contexts: [ctx(2_500_000, 2)] });
  assert.equal(recreated.context.get(5), undefined, 'a recreated context starts afresh');
});
