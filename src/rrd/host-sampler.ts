/**
 * @module
 * The host's own figures, read from the operating system as xcp-rrdd's cpu and memory
 * plugins read them from Xen: per-CPU busy fractions from the growth of `/proc/stat`'s
 * counters between two reads, memory from `/proc/meminfo`, and the 1-minute load average.
 */
import { readFile } from 'node:fs/promises';

export interface HostSample {
  /** Busy fraction (0–1) per CPU since the previous sample; empty on the first. */
  cpus: number[];
  memoryTotalKib: number;
  memoryFreeKib: number;
  loadavg: number;
}

interface CpuTimes { busy: number; total: number }

function parseStat(text: string): CpuTimes[] {
  const out: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

export function parseMeminfo(text: string): { totalKib: number; freeKib: number } {
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const avail = field('MemAvailable');
  return { totalKib: field('MemTotal'), freeKib: Number.isFinite(avail) ? avail : field('MemFree') };
}

export class HostSampler {
  private last: CpuTimes[] = [];

  async sample(): Promise<HostSample> {
    const [stat, mem, load] = await Promise.all([
      readFile('/proc/stat', 'utf8'), readFile('/proc/meminfo', 'utf8'), readFile('/proc/loadavg', 'utf8'),
    ]);
    const now = parseStat(stat);
    const cpus = this.last.length
      ? now.map((c, i) => {
        const p = this.last[i];
        const dt = p ? c.total - p.total : 0;
        return dt > 0 ? Math.min(1, Math.max(0, (c.busy - p!.busy) / dt)) : NaN;
      })
      : [];
    this.last = now;
    const m = parseMeminfo(mem);
    return { cpus, memoryTotalKib: m.totalKib, memoryFreeKib: m.freeKib, loadavg: Number(load.split(/\s+/)[0]) };
  }
}
