/**
 * @module
 * CPU utilisation from two readings of cumulative CPU times (the machine port's
 * `cpuTimes()`): the busy share of the time that passed on each CPU, 0..1. Shared by the
 * host's `host_cpu.utilisation` and its RRD.
 */
import type { CpuTimes } from './ports/machine.js';

/** One figure per CPU of `after`; `undefined` where no earlier reading or no time passed. */
export function cpuUtilisation(before: readonly CpuTimes[], after: readonly CpuTimes[]): Array<number | undefined> {
  return after.map((a, i) => {
    const b = before[i];
    const total = b ? a.total - b.total : 0;
    return total > 0 ? Math.min(1, Math.max(0, (a.busy - b!.busy) / total)) : undefined;
  });
}
