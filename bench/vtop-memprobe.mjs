// Loaded into vtop by bench/vtop.mjs (node --import): every 2 s, V8's figures of
// this process (heap spaces, external memory: yoga's WebAssembly memory among
// it) as one JSON line to the file $VTOP_MEMPROBE.  Nothing else.
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';

const out = process.env.VTOP_MEMPROBE;
if (out) {
  setInterval(() => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), s.physical_space_size]));
    appendFileSync(out, `${JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces })}\n`);
  }, 2000).unref();
}
