/**
 * @module
 * Loaded into the load suite's `islet server` with `node --expose-gc --import` (never
 * part of the server itself): on SIGUSR2 it runs full garbage collections, waits for the
 * sweepers, and writes one line `islet-memory-probe <n> {rss, heapUsed, heapTotal,
 * external, arrayBuffers}` to stderr. Between collections a busy process's RSS holds
 * garbage V8 has not yet chosen to collect, and when it collects depends on how fast the
 * machine lets it allocate; after a full collection what is left is what the process
 * keeps, which is what a leak grows. The suite compares that at warm-up and at the end.
 */
import { memoryUsage } from 'node:process';

const collect = (globalThis as { gc?: () => void }).gc;
let probes = 0;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function probe(): Promise<void> {
  const n = ++probes;
  if (!collect) {
    process.stderr.write(`islet-memory-probe ${n} {"noGc":true}\n`);
    return;
  }
  // Two rounds: the first frees objects whose finalizers release external memory (Buffers'
  // backing stores), the second collects what those finalizers let go.
  collect();
  await pause(100);
  collect();
  const m = memoryUsage();
  const line = { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
  process.stderr.write(`islet-memory-probe ${n} ${JSON.stringify(line)}\n`);
}

process.on('SIGUSR2', () => void probe());
