#!/usr/bin/env node
// The tables C and TypeScript share (libvctx's error kinds, context flags,
// capabilities and their three server sets, the rule of server names), from their one hand-written
// source, kernel/tables/vctx-tables.json, into:
//
//   kernel/out/vctx-tables.h   C: libvctx, the tools, the addon
//   src/generated/tables.ts    TypeScript: config, CLI, views, vtop's bundle
//
// Why generated at build time rather than read from the addon at run time:
// src/config/caps.ts and the name rule are pure code that the unit tests
// and vtop's bundle run without root and without the addon; a constant
// module keeps them so.  Both outputs are rewritten only when they change
// (no rebuild for nothing), and neither is committed (.gitignore).
// Run by kernel/Makefile (for the header) and scripts/build.mjs (before tsc).
//
//   node scripts/gen-tables.mjs [--c FILE] [--ts FILE]
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'kernel', 'tables', 'vctx-tables.json');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const cOut = arg('--c', join(root, 'kernel', 'out', 'vctx-tables.h'));
const tsOut = arg('--ts', join(root, 'src', 'generated', 'tables.ts'));

function fail(msg) {
  console.error(`gen-tables: ${relative(root, source)}: ${msg}`);
  process.exit(1);
}

let t;
try {
  t = JSON.parse(readFileSync(source, 'utf8'));
} catch (e) {
  fail(String(e.message));
}

// ---------------------------------------------------------------- checks
const SETS = ['default', 'addable', 'refused'];
const TESTS = ['empty', 'longer', 'contains', 'blank', 'control', 'starts'];
const ascii = (s, where) => {
  if (typeof s !== 'string' || !/^[\x20-\x7e]*$/.test(s)) fail(`${where}: a string of printable ASCII`);
  return s;
};
if (!Array.isArray(t.errorKinds) || t.errorKinds[0]?.name !== 'failed') fail('"errorKinds": a list, "failed" first (0: what an error is unless set)');
t.errorKinds.forEach((k, i) => {
  if (!/^[a-z]+$/.test(ascii(k.name, `errorKinds[${i}].name`))) fail(`errorKinds[${i}].name '${k.name}': lower-case letters`);
  ascii(k.what, `errorKinds[${i}].what`);
});
if (!Array.isArray(t.flags) || !t.flags.length) fail('"flags": a list');
t.flags.forEach((f, i) => {
  ascii(f.name, `flags[${i}].name`);
  if (!/^[a-z]+$/.test(f.name)) fail(`flags[${i}].name '${f.name}': lower-case letters`);
  if (!Number.isInteger(f.bit) || f.bit < 0 || f.bit > 31) fail(`flags[${i}].bit: 0 to 31`);
  ascii(f.what, `flags[${i}].what`);
});
if (!Array.isArray(t.capabilities)) fail('"capabilities": a list');
t.capabilities.forEach((c, i) => {
  if (c.number !== i) fail(`capabilities[${i}].number: ${i} (the list is by number, with no gap)`);
  if (!/^[A-Z][A-Z_]*$/.test(ascii(c.name, `capabilities[${i}].name`))) fail(`capabilities[${i}].name: upper case, no CAP_`);
  if (!SETS.includes(c.set)) fail(`capabilities[${i}].set: one of ${SETS.join(' ')}`);
  ascii(c.description, `capabilities[${i}].description`);
  if ((c.set === 'refused') !== (c.refusal !== undefined)) fail(`capabilities[${i}]: a refusal exactly when refused`);
  if (c.refusal !== undefined) ascii(c.refusal, `capabilities[${i}].refusal`);
  if (c.helpExample !== undefined && (c.helpExample !== true || c.set !== 'refused')) fail(`capabilities[${i}].helpExample: true, on a refused one`);
});
if (t.capabilities.length > 64) fail('at most 64 capabilities');
const sn = t.serverName;
if (!sn || !Number.isInteger(sn.maxUnits) || sn.maxUnits < 1) fail('"serverName.maxUnits": a whole number');
const rule = ascii(sn.rule, 'serverName.rule').replace('{maxUnits}', String(sn.maxUnits));
sn.checks.forEach((k, i) => {
  if (!TESTS.includes(k.test)) fail(`serverName.checks[${i}].test: one of ${TESTS.join(' ')}`);
  if ((k.test === 'contains' || k.test === 'starts') !== (typeof k.arg === 'string')) fail(`serverName.checks[${i}].arg`);
  ascii(k.says, `serverName.checks[${i}].says`);
});
if (!Array.isArray(t.vtopSignals) || !t.vtopSignals.some((x) => x.name === 'SIGTERM')) fail('"vtopSignals": a list with SIGTERM');
t.vtopSignals.forEach((x, i) => {
  if (!/^SIG[A-Z0-9]+$/.test(ascii(x.name, `vtopSignals[${i}].name`))) fail(`vtopSignals[${i}].name '${x.name}': SIGNAME`);
  ascii(x.what, `vtopSignals[${i}].what`);
});

const rd = t.render;
if (!rd || !rd.vps || !rd.contextNames) fail('"render": { contextNames, vps }');
for (const who of ['host', 'spectator']) for (const st of ['vps', 'stat']) ascii(rd.contextNames[who]?.[st], `render.contextNames.${who}.${st}`);
for (const k of ['contextHeader', 'unknownXid', 'noPidColumn']) ascii(rd.vps[k], `render.vps.${k}`);
for (const k of ['contextWidth', 'xidWidth']) if (!Number.isInteger(rd.vps[k]) || rd.vps[k] < 1 || rd.vps[k] > 64) fail(`render.vps.${k}: 1 to 64`);
/* a template with {PLACEHOLDERS} as a printf format: each placeholder once, in
   the order the C code passes them (@order: [placeholder, conversion]) */
function printfOf(tpl, order, where) {
  ascii(tpl.replaceAll('\n', ''), where);
  if (tpl.includes('%')) fail(`${where}: no '%' (the C side is a printf format)`);
  const seen = [...tpl.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]);
  if (seen.join(',') !== order.map((o) => o[0]).join(',')) fail(`${where}: the placeholders ${order.map((o) => `{${o[0]}}`).join(' ')}, each once, in this order`);
  let out = tpl;
  for (const [name, conv] of order) out = out.replace(`{${name}}`, conv);
  return out;
}
const st = rd.status;
if (!st || !Array.isArray(st.running) || !st.uptime) fail('"render.status": { running: [lines], stopped, uptime }');
const statusC = {
  running: printfOf(st.running.join('\n') + '\n', [['name', '%s'], ['xid', '%u'], ['nprocs', '%d'], ['uptime', '%s']], 'render.status.running'),
  stopped: printfOf(st.stopped + '\n', [['name', '%s']], 'render.status.stopped'),
  days: printfOf(st.uptime.days, [['d', '%lld'], ['hh', '%02lld'], ['mm', '%02lld']], 'render.status.uptime.days'),
  hours: printfOf(st.uptime.hours, [['h', '%lld'], ['mm', '%02lld'], ['ss', '%02lld']], 'render.status.uptime.hours'),
  minutes: printfOf(st.uptime.minutes, [['m', '%lld'], ['ss', '%02lld']], 'render.status.uptime.minutes'),
  seconds: printfOf(st.uptime.seconds, [['s', '%lld']], 'render.status.uptime.seconds'),
};

// ---------------------------------------------------------------- helpers
const cstr = (s) => JSON.stringify(s); // printable ASCII: a JSON string is a C string
const flags = [...t.flags].sort((a, b) => a.bit - b.bit);
const flagWords = flags.map((f) => f.name);
const orList = (w) => (w.length > 1 ? `${w.slice(0, -1).join(', ')} or ${w.at(-1)}` : w[0]);
const caps = t.capabilities;
const inSet = (s) => caps.filter((c) => c.set === s);
const mask = (s) => inSet(s).reduce((m, c) => m | (1n << BigInt(c.number)), 0n);
const hex = (m) => `0x${m.toString(16).padStart(16, '0')}`;
/* words wrapped for a --help column: the first line continues after
   @first columns, the others start at @indent; width 79 */
function wrap(words, first, indent) {
  const lines = [];
  let line = '';
  let col = first;
  for (const w of words) {
    const add = line ? ` ${w}` : w;
    if (line && col + add.length > 79) {
      lines.push(line);
      line = w;
      col = indent + w.length;
    } else {
      line += add;
      col += add.length;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}
const header = (c) => `${c} Generated by scripts/gen-tables.mjs from kernel/tables/vctx-tables.json: do not edit. `;

// ---------------------------------------------------------------- C
const C = [];
C.push(`/*${header('')}*/`, '#ifndef VCTX_TABLES_H', '#define VCTX_TABLES_H', '');
C.push('/* what kind of failure an error is (vctx_error.kind), for callers that answer', '   differently (a tool\'s exit code, the addon\'s KernelError.kind): never read', '   from the message\'s words */', 'enum vctx_err_kind {');
t.errorKinds.forEach((k, i) => C.push(`\tVCTX_ERR_${k.name.toUpperCase()} = ${i},\t/* ${k.what} */`));
C.push('};');
C.push('/* X(kind, name) for every error kind */');
C.push(`#define VCTX_ERR_KIND_ROWS(X) ${t.errorKinds.map((k) => `X(VCTX_ERR_${k.name.toUpperCase()}, ${cstr(k.name)})`).join(' ')}`);
C.push('');
C.push('/* context flags (S_FLAGS, --flag, the trusted.vctx.flags xattr) */', 'enum vctx_flag {');
for (const f of flags) C.push(`\tVCTX_F_${f.name.toUpperCase()} = 1u << ${f.bit},\t/* ${f.what} */`);
C.push('};');
C.push('/* X(bit, name) for every flag, by bit */');
C.push(`#define VCTX_FLAG_ROWS(X) ${flags.map((f) => `X(VCTX_F_${f.name.toUpperCase()}, ${cstr(f.name)})`).join(' ')}`);
C.push(`#define VCTX_FLAG_WORDS ${cstr(flagWords.join(' '))}`);
C.push(`#define VCTX_FLAG_OR_LIST ${cstr(orList(flagWords))}`);
C.push('');
C.push('/* capabilities this tool knows, by number; the three sets of a server */');
C.push(`#define VCTX_CAPS_KNOWN ${caps.length}`);
C.push('/* X(number, "CAP_NAME", refusal or NULL) */');
C.push('#define VCTX_CAP_ROWS(X) \\');
caps.forEach((c, i) => C.push(`\tX(${c.number}, ${cstr(`CAP_${c.name}`)}, ${c.refusal ? cstr(c.refusal) : 'NULL'})${i < caps.length - 1 ? ' \\' : ''}`));
C.push(`#define VCTX_CAPS_DEFAULT_MASK ${hex(mask('default'))}ULL`);
C.push(`#define VCTX_CAPS_ADDABLE_MASK ${hex(mask('addable'))}ULL`);
C.push(`#define VCTX_CAPS_REFUSED_MASK ${hex(mask('refused'))}ULL`);
C.push('/* for --help texts: the default set wrapped after "  --secure     keep only a server\'s set: " */');
C.push(`#define VCTX_CAPS_DEFAULT_HELP ${cstr(wrap(inSet('default').map((c) => c.name), 41, 15))}`);
C.push('/* the refused capabilities marked "helpExample", for --help texts */');
C.push(`#define VCTX_CAPS_REFUSED_SOME ${cstr(inSet('refused').filter((c) => c.helpExample).map((c) => c.name).join(', '))}`);
C.push('');
C.push('/* server names: the checks in order, X(test, arg, message) */');
C.push(`#define VCTX_NAME_MAX_UNITS ${sn.maxUnits}`);
C.push(`#define VCTX_NAME_RULE ${cstr(rule)}`);
C.push('enum vctx_name_test { ' + TESTS.map((x) => `VCTX_NAME_${x.toUpperCase()}`).join(', ') + ' };');
C.push('#define VCTX_NAME_CHECKS(X) \\');
sn.checks.forEach((k, i) => C.push(`\tX(VCTX_NAME_${k.test.toUpperCase()}, ${k.arg !== undefined ? cstr(k.arg) : 'NULL'}, ${cstr(k.says.replace('%d', '%zu'))})${i < sn.checks.length - 1 ? ' \\' : ''}`));
C.push('');
C.push('/* per-uid counter limits a server shares with the host\'s root: X("/proc/sys/...", floor); */');
C.push('/* raised to the floor (never lowered) at a --secure context\'s creation and by setup.sh */');
C.push('#define VCTX_COUNTER_FLOORS(X) \\');
t.hostCounterFloors.forEach((f, i) => {
  if (!/^[a-z0-9_.]+$/.test(f.sysctl) || !Number.isSafeInteger(f.floor) || f.floor < 1) fail(`hostCounterFloors[${i}]: bad sysctl or floor`);
  C.push(`\tX(${cstr(`/proc/sys/${f.sysctl.replaceAll('.', '/')}`)}, ${f.floor}ULL)${i < t.hostCounterFloors.length - 1 ? ' \\' : ''}`);
});
C.push('/* the signals vtop may send a process: X(SIGNAL, "SIGNAL"), in the chooser\'s order */');
C.push(`#define VCTX_VTOP_SIGNAL_ROWS(X) ${t.vtopSignals.map((x) => `X(${x.name}, ${cstr(x.name)})`).join(' ')}`);
C.push(`#define VCTX_VTOP_SIGNAL_LIST ${cstr(t.vtopSignals.map((x) => x.name).join(' '))}`);
C.push('');
C.push('/* how vps and vserver NAME status print (their C paths; the TypeScript ones read the same) */');
C.push(`#define VCTX_CTXNAME_HOST_VPS ${cstr(rd.contextNames.host.vps)}`);
C.push(`#define VCTX_CTXNAME_HOST_STAT ${cstr(rd.contextNames.host.stat)}`);
C.push(`#define VCTX_CTXNAME_SPECTATOR_VPS ${cstr(rd.contextNames.spectator.vps)}`);
C.push(`#define VCTX_CTXNAME_SPECTATOR_STAT ${cstr(rd.contextNames.spectator.stat)}`);
C.push(`#define VCTX_VPS_CONTEXT_HEADER ${cstr(rd.vps.contextHeader)}`);
C.push(`#define VCTX_VPS_CONTEXT_WIDTH ${rd.vps.contextWidth}`);
C.push(`#define VCTX_VPS_XID_WIDTH ${rd.vps.xidWidth}`);
C.push(`#define VCTX_VPS_UNKNOWN_XID ${cstr(rd.vps.unknownXid)}`);
C.push(`#define VCTX_VPS_NO_PID_COLUMN ${cstr(rd.vps.noPidColumn)}`);
C.push('/* vserver NAME status: printf formats (name, xid, nprocs, uptime), (name); the uptime by its largest unit */');
C.push(`#define VCTX_STATUS_RUNNING_FMT ${cstr(statusC.running)}`);
C.push(`#define VCTX_STATUS_STOPPED_FMT ${cstr(statusC.stopped)}`);
C.push(`#define VCTX_UPTIME_DAYS_FMT ${cstr(statusC.days)}`);
C.push(`#define VCTX_UPTIME_HOURS_FMT ${cstr(statusC.hours)}`);
C.push(`#define VCTX_UPTIME_MINUTES_FMT ${cstr(statusC.minutes)}`);
C.push(`#define VCTX_UPTIME_SECONDS_FMT ${cstr(statusC.seconds)}`);
C.push('', '#endif', '');

// ---------------------------------------------------------------- TS
const T = [];
T.push(`//${header('')}`, '// The data only; the code around it is in src/config (caps.ts, types.ts, validate.ts).', '');
T.push("/** libvctx's error kinds (KernelError.kind), by value: what callers decide on, never the message. */");
T.push(`export const ERROR_KINDS = ${JSON.stringify(t.errorKinds.map((k) => k.name))} as const;`);
T.push('export type ErrorKind = (typeof ERROR_KINDS)[number];');
T.push('');
T.push('/** Context flags, by bit. */');
T.push(`export const FLAG_NAMES = ${JSON.stringify(flagWords)} as const;`);
T.push('/** Each flag by its name, for code that means one flag: FLAG.fakeinit, never a literal. */');
T.push(`export const FLAG = { ${flagWords.map((w) => `${w}: ${JSON.stringify(w)}`).join(', ')} } as const;`);
T.push('');
T.push("export type CapSetName = 'default' | 'addable' | 'refused';");
T.push('/** [number, name, set, description, refusal?], by number */');
T.push('export const CAP_ROWS: readonly (readonly [number, string, CapSetName, string, string?])[] = [');
for (const c of caps) T.push(`  ${JSON.stringify([c.number, c.name, c.set, c.description, ...(c.refusal ? [c.refusal] : [])])},`);
T.push('];');
T.push('');
T.push('/** Server names: the longest (UTF-16 units), the rule, the checks in order. */');
T.push(`export const NAME_MAX_UNITS = ${sn.maxUnits};`);
T.push(`export const NAME_RULE = ${JSON.stringify(rule)};`);
T.push(`export type NameTest = ${TESTS.map((x) => `'${x}'`).join(' | ')};`);
T.push('export const NAME_CHECKS: readonly { readonly test: NameTest; readonly arg?: string; readonly says: string }[] = [');
for (const k of sn.checks) T.push(`  ${JSON.stringify(k)},`);
T.push('];', '');
T.push("/** The signals vtop may send a process (its chooser's order; its helper accepts these only): [name, what]. */");
T.push(`export const VTOP_SIGNALS = ${JSON.stringify(t.vtopSignals.map((x) => [x.name, x.what]))} as const;`);
T.push('export type VtopSignal = (typeof VTOP_SIGNALS)[number][0];', '');

T.push('/** How vps and vserver NAME status print; their C paths (kernel/tools) print from the same. */');
T.push(`export const CONTEXT_NAMES = ${JSON.stringify(rd.contextNames)} as const;`);
T.push(`export const VPS_RENDER = ${JSON.stringify(rd.vps)} as const;`);
T.push('/** vserver NAME status: templates with {placeholders} (src/cli/vserver-format.ts fills them) */');
T.push(`export const STATUS_RENDER = ${JSON.stringify(st)} as const;`, '');

function put(file, text) {
  mkdirSync(dirname(file), { recursive: true });
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
put(cOut, C.join('\n'));
put(tsOut, T.join('\n'));
