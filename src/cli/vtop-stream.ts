/**
 * `vtop --stream`: this host's vtop for another host's `vtop --host`, over
 * ssh.  One JSON line per refresh on stdout, the document `vtop --once
 * --json` prints plus `seq` and `readonly` (null, or why no action is
 * taken); request lines on stdin, each answered by one reply line:
 *
 *     → {"id": N, "request": {"type": "start", "name": "web1"}}
 *     ← {"reply": N, "ok": true, "message": "..."}
 *
 * A request goes to this host's own privileged helper
 * (kernel/tools/vtop-helper.c, started as for the dashboard), which
 * re-validates it like every request of the local screen: the same fixed
 * set, each value checked there.  `enter` needs a terminal and is not
 * taken here (the other side runs `ssh -t HOST vserver NAME enter`).  It
 * ends when stdin ends (the connection closed).
 */
import { createInterface } from 'node:readline';
import type { Actions, ActionRequest, ActionResult } from '../actions/vtop-port.js';
import { dispatchAction } from '../actions/vtop-port.js';
import type { VtopFeed } from '../live/vtop-feed.js';
import { onceJson } from '../ui/once.js';

/** the longest request line taken (a request is a few dozen bytes) */
const MAX_LINE = 4096;

/** a request line's request when it is one of the port's shapes (values are the helper's to check), else null */
export function parseStreamRequest(line: string): { id: number; request: ActionRequest } | null {
  if (line.length > MAX_LINE) return null;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { id, request: r } = v as { id?: unknown; request?: Record<string, unknown> };
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || typeof r !== 'object' || r === null) return null;
  const int = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  switch (r['type']) {
    case 'kill':
      return int(r['pid']) && int(r['startTime']) && typeof r['signal'] === 'string'
        ? { id, request: { type: 'kill', pid: r['pid'] as number, startTime: r['startTime'] as number, signal: r['signal'] as never } } : null;
    case 'killContext':
      return int(r['xid']) && (r['signal'] === 'SIGTERM' || r['signal'] === 'SIGKILL')
        ? { id, request: { type: 'killContext', xid: r['xid'] as number, signal: r['signal'] } } : null;
    case 'start': case 'stop': case 'restart': case 'enter':
      return typeof r['name'] === 'string' ? { id, request: { type: r['type'], name: r['name'] } } : null;
    default:
      return null;
  }
}

export async function streamFrames(feed: VtopFeed, actions: Actions | null, readonlyReason: string | null): Promise<void> {
  const out = (o: unknown) => new Promise<void>((resolve) => {
    if (!process.stdout.write(JSON.stringify(o) + '\n')) process.stdout.once('drain', resolve);
    else resolve();
  });
  let open = true;
  process.stdout.on('error', () => { open = false; });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const ended = new Promise<void>((resolve) => rl.once('close', resolve));
  void ended.then(() => { open = false; });
  rl.on('line', (line) => {
    const p = parseStreamRequest(line);
    if (!p) {
      void out({ reply: null, ok: false, message: 'not a request line' });
      return;
    }
    const answer = (r: ActionResult) => out({ reply: p.id, ok: r.ok, message: r.message });
    if (!actions) {
      void answer({ ok: false, message: `read-only (${readonlyReason ?? 'no privileged helper'})` });
    } else if (p.request.type === 'enter') {
      void answer({ ok: false, message: 'enter needs a terminal: ssh -t HOST vserver NAME enter' });
    } else {
      dispatchAction(actions, p.request).then(answer, (e: unknown) => answer({ ok: false, message: e instanceof Error ? e.message : String(e) }));
    }
  });
  let seq = 0;
  while (open) {
    const frame = await feed.refresh();
    await out({ seq: ++seq, readonly: actions ? null : readonlyReason ?? 'no privileged helper', ...onceJson(frame) });
    await Promise.race([ended, new Promise((r) => setTimeout(r, feed.intervalMs))]);
  }
  rl.close();
}
