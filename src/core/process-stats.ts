/**
 * @module
 * What `xe diagnostic-*` reports about one toolstack process: how long each XenAPI call
 * took (count, mean, longest, failures; recorded by the dispatcher), and the JavaScript
 * heap and its garbage collections (counted from the runtime's own `gc` performance
 * entries once `watchGc` has started), and a full collection on demand.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

interface CallFigures { n: number; totalMs: number; maxMs: number; failures: number }

/** Per-message call timings of one toolstack. */
export class CallStats {
  private readonly byMethod = new Map<string, CallFigures>();

  record(method: string, ms: number, ok: boolean): void {
    const f = this.byMethod.get(method) ?? { n: 0, totalMs: 0, maxMs: 0, failures: 0 };
    f.n++;
    f.totalMs += ms;
    f.maxMs = Math.max(f.maxMs, ms);
    if (!ok) f.failures++;
    this.byMethod.set(method, f);
  }

  /** `method` → `n=3 mean=1.250ms max=2.001ms failures=0`, by method name. */
  summary(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of [...this.byMethod.keys()].sort()) {
      const f = this.byMethod.get(m)!;
      out[m] = `n=${f.n} mean=${(f.totalMs / f.n).toFixed(3)}ms max=${f.maxMs.toFixed(3)}ms failures=${f.failures}`;
    }
    return out;
  }
}

const gcCounts = { minor: 0, major: 0, incremental: 0, weakcb: 0, pauseMs: 0 };
let gcObserver: PerformanceObserver | undefined;

/** Starts counting garbage collections (once per process). */
export function watchGc(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcCounts.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcCounts.major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) gcCounts.incremental++;
      else if (kind === constants.NODE_PERFORMANCE_GC_WEAKCB) gcCounts.weakcb++;
      gcCounts.pauseMs += e.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/** Heap figures and collection counts, as strings (xe prints them as a record). */
export function gcStats(): Record<string, string> {
  const h = v8.getHeapStatistics();
  const m = process.memoryUsage();
  return {
    minor_collections: String(gcCounts.minor),
    major_collections: String(gcCounts.major),
    incremental_markings: String(gcCounts.incremental),
    gc_pause_ms: gcCounts.pauseMs.toFixed(3),
    heap_used_bytes: String(h.used_heap_size),
    heap_total_bytes: String(h.total_heap_size),
    heap_limit_bytes: String(h.heap_size_limit),
    external_bytes: String(m.external),
    array_buffers_bytes: String(m.arrayBuffers),
    rss_bytes: String(m.rss),
  };
}

let fullGc: (() => void) | undefined;

/** A full, compacting collection now (xapi's `Gc.compact`); returns the heap used after it. */
export function compactHeap(): number {
  if (!fullGc) {
    // The runtime hides `gc` unless asked at start; the flag can still be turned on here.
    v8.setFlagsFromString('--expose-gc');
    fullGc = runInNewContext('gc') as () => void;
  }
  fullGc();
  return v8.getHeapStatistics().used_heap_size;
}
