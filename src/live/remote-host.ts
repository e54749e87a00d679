/**
 * One host of `vtop --host`: its `vtop --stream` over one ssh connection
 * (src/actions/ssh.ts: a ControlMaster socket for the host, BatchMode),
 * read line by line into a HostView (src/views/vtop-hosts.ts checks and
 * escapes every field), and its requests written on the same session's
 * stdin, each answered by its reply line.  A host whose session ends is
 * unreachable (with ssh's or vtop's last line as the reason) and is dialled
 * again every few seconds; the other hosts are not held up by it.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SshHost, lastLine } from '../actions/ssh.js';
import type { ActionRequest, ActionResult } from '../actions/vtop-port.js';
import { type HostView, parseRemoteFrame } from '../views/vtop-hosts.js';

/** the longest line taken from a host (a frame of thousands of processes fits) */
const MAX_LINE = 16 * 1024 * 1024;
/** how long a request waits for its reply */
const REPLY_MS = 60_000;

export class RemoteHostLink {
  readonly ssh: SshHost;
  private child: ChildProcess | null = null;
  private view: HostView;
  private nextId = 1;
  private readonly pending = new Map<number, (r: ActionResult) => void>();
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private stderrTail = '';

  constructor(readonly host: string, private readonly opts: { configFile?: string; intervalMs: number; retryMs?: number; onChange: () => void }) {
    this.ssh = new SshHost(host, { configFile: opts.configFile });
    this.view = { host, status: 'connecting', error: null, updatedAt: null, seq: 0, hostname: null, readonly: null, servers: [] };
  }

  get state(): HostView {
    return this.view;
  }

  private set(v: Partial<HostView>): void {
    this.view = { ...this.view, ...v };
    this.opts.onChange();
  }

  /** connects (again) */
  connect(): void {
    if (this.stopped || this.child) return;
    this.stderrTail = '';
    const child = this.ssh.spawn(['vtop', '--stream', '--interval', String(this.opts.intervalMs / 1000)], { stdin: 'pipe' });
    this.child = child;
    child.stdin!.on('error', () => undefined);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderrTail = (this.stderrTail + d).slice(-4000); });
    const rl = createInterface({ input: child.stdout!, crlfDelay: Infinity });
    rl.on('line', (line) => this.onLine(line));
    child.on('error', (e) => this.dropped(`ssh: ${e.message}`));
    child.on('close', (code) => {
      rl.close();
      this.dropped(lastLine(this.stderrTail) || `the connection ended (exit ${code ?? 'signal'})`);
    });
  }

  private onLine(line: string): void {
    if (line.length > MAX_LINE) return;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof doc === 'object' && doc !== null && 'reply' in doc) {
      const r = doc as { reply: unknown; ok: unknown; message: unknown };
      const done = typeof r.reply === 'number' ? this.pending.get(r.reply) : undefined;
      if (done) {
        this.pending.delete(r.reply as number);
        done({ ok: r.ok === true, message: typeof r.message === 'string' ? r.message.slice(0, 500) : '?' });
      }
      return;
    }
    const f = parseRemoteFrame(doc);
    if (f) this.set({ status: 'up', error: null, updatedAt: Date.now(), ...f });
  }

  private dropped(why: string): void {
    if (!this.child) return;
    this.child = null;
    for (const [, done] of this.pending) done({ ok: false, message: `${this.host}: ${why}` });
    this.pending.clear();
    this.set({ status: 'unreachable', error: why });
    if (!this.stopped) this.retry = setTimeout(() => { this.retry = undefined; this.connect(); }, this.opts.retryMs ?? 3000);
  }

  /** sends @req to the host's helper (through its vtop --stream); its one-line answer */
  request(req: ActionRequest): Promise<ActionResult> {
    const child = this.child;
    if (!child || this.view.status !== 'up') return Promise.resolve({ ok: false, message: `${this.host} is unreachable` });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, message: `${this.host}: no answer in ${REPLY_MS / 1000} s` });
      }, REPLY_MS);
      this.pending.set(id, (r) => { clearTimeout(timer); resolve(r); });
      child.stdin!.write(JSON.stringify({ id, request: req }) + '\n');
    });
  }

  /** ends the session and the connection */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.child;
    this.child = null;
    if (c) {
      c.stdin?.end();
      c.kill('SIGTERM');
    }
    await this.ssh.close();
  }
}
