#!/usr/bin/env node
// Regenerates screenshots/*.svg: real captures of vtop on demo servers.
//
// Builds three busybox servers (web, mail, db) in a temporary
// VSERVER_CONFDIR / VSERVER_ROOTDIR / VSERVER_RUNDIR with the vserver CLI,
// starts them, sets one process spinning in `mail`, writes a line to web's
// console, runs vtop (the installed bundle, dist/vtop.mjs) in a tmux
// session of 160x45 (wide: a meter per core, sparklines), drives it with
// keys, captures each view with
// `tmux capture-pane -e -p` and renders the ANSI capture to SVG (the small
// renderer below: SGR colours and attributes on a monospace grid).  Every
// server, process and tmux session it makes is removed before it exits.
//
//   sudo node scripts/screenshots.mjs [--out screenshots]
//
// Needs root, tmux and the build (npm run build: the C tools, the addon, vtop's bundle).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'screenshots') } } });
if (process.getuid?.() !== 0) {
  console.error('scripts/screenshots.mjs: run as root (vtop and the demo servers need it)');
  process.exit(1);
}
const COLS = 160;
const ROWS = 45;
const base = mkdtempSync(join(tmpdir(), 'vctx-screenshots-'));
const env = {
  ...process.env, VSERVER_CONFDIR: join(base, 'etc'), VSERVER_ROOTDIR: join(base, 'vservers'), VSERVER_RUNDIR: join(base, 'run'),
};
const servers = [['web', '127.0.90.11'], ['mail', '127.0.90.12'], ['db', '127.0.90.13']];
const sock = `vctx-shots-${process.pid}`;
const tsx = [process.execPath, '--import', 'tsx'];
const started = [];
const spinners = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function vserver(...args) {
  const r = spawnSync(tsx[0], [...tsx.slice(1), join(root, 'src', 'cli', 'vserver.ts'), ...args], { cwd: root, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vserver ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}
function tmux(...args) {
  const r = spawnSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
function cleanup() {
  spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore' });
  rmSync(join(process.env.TMUX_TMPDIR || '/tmp', 'tmux-0', sock), { force: true });
  for (const c of spinners) if (c.exitCode === null) c.kill('SIGKILL');
  for (const name of started.splice(0)) {
    try { vserver(name, 'stop', '--timeout', '3'); } catch (e) { console.error(String(e)); }
  }
  rmSync(base, { recursive: true, force: true });
}
process.on('SIGINT', () => { cleanup(); process.exit(130); });

// ---------------------------------------------------------------- ANSI -> SVG
const PALETTE = [
  '#1e1e1e', '#cd3131', '#0dbc79', '#e5e510', '#2472c8', '#bc3fbc', '#11a8cd', '#e5e5e5',
  '#666666', '#f14c4c', '#23d18b', '#f5f543', '#3b8eea', '#d670d6', '#29b8db', '#ffffff',
];
function xterm256(n) {
  if (n < 16) return PALETTE[n];
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (x) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
}
const FG = '#d4d4d4';
const BG = '#1e1e1e';

/** a capture (lines with SGR escapes) as rows of cells {ch, fg, bg, bold, dim, italic, underline} */
function parseAnsi(text, cols, rows) {
  const grid = [];
  const lines = text.replace(/\n$/, '').split('\n').slice(0, rows);
  let st = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, reverse: false };
  for (const line of lines) {
    const row = [];
    const re = /\x1b\[([0-9;:]*)m|\x1b\[[0-9;?]*[A-Za-z]|([\s\S])/gu;
    let m;
    while ((m = re.exec(line)) && row.length < cols) {
      if (m[2] !== undefined) {
        row.push({ ch: m[2], ...st });
        continue;
      }
      if (m[1] === undefined) continue;
      const p = m[1] === '' ? [0] : m[1].split(/[;:]/).map(Number);
      for (let i = 0; i < p.length; i++) {
        const c = p[i];
        if (c === 0) st = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, reverse: false };
        else if (c === 1) st = { ...st, bold: true };
        else if (c === 2) st = { ...st, dim: true };
        else if (c === 3) st = { ...st, italic: true };
        else if (c === 4) st = { ...st, underline: true };
        else if (c === 7) st = { ...st, reverse: true };
        else if (c === 22) st = { ...st, bold: false, dim: false };
        else if (c === 23) st = { ...st, italic: false };
        else if (c === 24) st = { ...st, underline: false };
        else if (c === 27) st = { ...st, reverse: false };
        else if (c >= 30 && c <= 37) st = { ...st, fg: PALETTE[c - 30] };
        else if (c >= 90 && c <= 97) st = { ...st, fg: PALETTE[c - 90 + 8] };
        else if (c >= 40 && c <= 47) st = { ...st, bg: PALETTE[c - 40] };
        else if (c >= 100 && c <= 107) st = { ...st, bg: PALETTE[c - 100 + 8] };
        else if (c === 39) st = { ...st, fg: null };
        else if (c === 49) st = { ...st, bg: null };
        else if ((c === 38 || c === 48) && p[i + 1] === 5) {
          st = { ...st, [c === 38 ? 'fg' : 'bg']: xterm256(p[i + 2]) };
          i += 2;
        } else if ((c === 38 || c === 48) && p[i + 1] === 2) {
          st = { ...st, [c === 38 ? 'fg' : 'bg']: `rgb(${p[i + 2]},${p[i + 3]},${p[i + 4]})` };
          i += 4;
        }
      }
    }
    grid.push(row);
  }
  return grid;
}

const xml = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** renders cells as an SVG terminal: one rect per background run, one text per style run */
function toSvg(grid, cols, rows, title) {
  const cw = 8.4;
  const lh = 17;
  const pad = 12;
  const w = Math.ceil(cols * cw + 2 * pad);
  const h = rows * lh + 2 * pad;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${xml(title)}">`,
    `<title>${xml(title)}</title>`,
    `<rect width="100%" height="100%" rx="6" fill="${BG}"/>`,
    `<g font-family="'DejaVu Sans Mono','Menlo','Consolas',monospace" font-size="14" xml:space="preserve">`,
  ];
  grid.forEach((row, y) => {
    const colours = row.map((c) => {
      let fg = c.fg ?? FG;
      let bg = c.bg;
      if (c.reverse) [fg, bg] = [bg ?? BG, fg];
      return { ...c, fg, bg };
    });
    for (let x = 0; x < colours.length;) {
      let e = x;
      while (e < colours.length && colours[e].bg === colours[x].bg) e++;
      if (colours[x].bg) out.push(`<rect x="${(pad + x * cw).toFixed(1)}" y="${pad + y * lh}" width="${((e - x) * cw).toFixed(1)}" height="${lh}" fill="${colours[x].bg}"/>`);
      x = e;
    }
    const key = (c) => `${c.fg}|${c.bold}|${c.dim}|${c.italic}|${c.underline}`;
    for (let x = 0; x < colours.length;) {
      let e = x;
      while (e < colours.length && key(colours[e]) === key(colours[x])) e++;
      const text = colours.slice(x, e).map((c) => c.ch).join('');
      if (text.trim()) {
        const c = colours[x];
        const attrs = [`x="${(pad + x * cw).toFixed(1)}"`, `y="${pad + y * lh + 13}"`, `fill="${c.fg}"`, `textLength="${((e - x) * cw).toFixed(1)}"`, 'lengthAdjust="spacingAndGlyphs"'];
        if (c.bold) attrs.push('font-weight="bold"');
        if (c.dim) attrs.push('opacity="0.6"');
        if (c.italic) attrs.push('font-style="italic"');
        if (c.underline) attrs.push('text-decoration="underline"');
        out.push(`<text ${attrs.join(' ')}>${xml(text)}</text>`);
      }
      x = e;
    }
  });
  out.push('</g>', '</svg>', '');
  return out.join('\n');
}

// ---------------------------------------------------------------- the demo and the captures
try {
  for (const d of ['etc', 'vservers', 'run']) mkdirSync(join(base, d));
  for (const [name, ip] of servers) {
    vserver(name, 'build', '--template', 'busybox', '--ip', ip, '--hostname', `${name}.demo`);
    vserver(name, 'start');
    started.push(name);
  }
  // something to find: a runaway in mail
  spinners.push(spawn(tsx[0], [...tsx.slice(1), join(root, 'src', 'cli', 'vserver.ts'), 'mail', 'exec', 'sh', '-c', 'yes > /dev/null'],
    { cwd: root, env, stdio: 'ignore' }));
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'vtop', '-x', String(COLS), '-y', String(ROWS),
    'sh', '-c', `cd ${root} && exec env TERM=xterm-256color COLORTERM=truecolor VSERVER_CONFDIR=${env.VSERVER_CONFDIR} ` +
    `VSERVER_ROOTDIR=${env.VSERVER_ROOTDIR} VSERVER_RUNDIR=${env.VSERVER_RUNDIR} dist/vtop.mjs --interval 1`);
  const plain = () => tmux('capture-pane', '-p', '-t', 'vtop');
  const keys = async (...ks) => { for (const k of ks) { tmux('send-keys', '-t', 'vtop', k); await sleep(150); } };
  const waitFor = async (re, what) => {
    for (let i = 0; i < 300; i++) {
      if (re.test(plain())) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}:\n${plain()}`);
  };
  const title = () => /^(\S+)(?: \(xid \d+\))?: \d+ process/m.exec(plain())?.[1];
  const select = async (name) => {
    await keys('Left', 'Home');
    for (let i = 0; i < 60 && title() !== name; i++) {
      const before = title();
      await keys('Down');
      for (let t = 0; t < 30 && title() === before; t++) await sleep(50);
    }
    if (title() !== name) throw new Error(`cannot select ${name}`);
  };
  const shot = async (file, what) => {
    await sleep(1200); // one more refresh, so CPU% is settled
    const svg = toSvg(parseAnsi(tmux('capture-pane', '-e', '-p', '-t', 'vtop'), COLS, ROWS), COLS, ROWS, what);
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, file), svg);
    console.log(`wrote ${join(values.out, file)}`);
  };

  await waitFor(/^(?=[\s\S]*\bweb\s+running)(?=[\s\S]*\bmail\s+running)(?=[\s\S]*\bdb\s+running)/, 'the demo servers');
  await sleep(4000); // CPU% over a few intervals: mail's runaway is marked
  await select('web');
  await keys('Right');
  await shot('vtop-main.svg', 'vtop: the servers and the process tree of the selected one');
  await keys('d');
  await waitFor(/^\s*IP lock\s/m, 'the detail pane');
  await shot('vtop-detail.svg', 'vtop: details of a server (capabilities, limits, namespaces)');
  await keys('Escape', '?');
  await waitFor(/signal process\(es\): choose/, 'the help overlay');
  await shot('vtop-help.svg', 'vtop: the help overlay (the key table)');
  await keys('Escape');
  // the logs pane: web's console, with a line written inside just now
  vserver('web', 'exec', 'sh', '-c', 'echo "web: hello from inside the server" > /dev/console');
  await keys('l');
  await waitFor(/web: hello from inside the server/, 'the logs pane');
  await shot('vtop-logs.svg', 'vtop: l shows the selected server\'s console log, live');
  await keys('Escape');
  await select('mail');
  await keys('Right', 't', 'P');
  await waitFor(/list, by CPU%/, 'the CPU-sorted list');
  await sleep(1500);
  await keys('k');
  await waitFor(/Send a signal to process/, 'the signal chooser');
  await shot('vtop-signal.svg', 'vtop: k on a runaway process opens the signal chooser; SIGTERM is preselected');
  await keys('Escape', 'q');
} finally {
  cleanup();
}
