/**
 * @module
 * The host's own figures, as xcp-rrdd's cpu and memory plugins read them from Xen: per-CPU
 * busy fractions from the growth of the CPU time counters between two reads, memory and the
 * 1-minute load average, all through the machine port (the OS's /proc on a real host).
 */
import { cpuUtilisation } from '../core/cpu-utilisation.js';
import type { CpuTimes, Machine } from '../core/ports/machine.js';

export interface HostSample {
  /** Busy fraction (0–1) per CPU since the previous sample; empty on the first. */
  cpus: number[];
  memoryTotalKib: number;
  memoryFreeKib: number;
  loadavg: number;
}

export class HostSampler {
  private last: CpuTimes[] = [];

  constructor(private readonly machine: Machine) {}

  async sample(): Promise<HostSample> {
    const [now, mem, loadavg] = await Promise.all([this.machine.cpuTimes(), this.machine.memory(), this.machine.loadAverage()]);
    const cpus = this.last.length ? cpuUtilisation(this.last, now).map((u) => u ?? NaN) : [];
    this.last = now;
    return { cpus, memoryTotalKib: mem.total / 1024, memoryFreeKib: mem.available / 1024, loadavg };
  }
}
