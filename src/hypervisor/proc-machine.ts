/**
 * @module
 * The machine port read from Linux's /proc: `cpuinfo` for the CPUs, `meminfo` for memory,
 * `stat` for CPU times, `loadavg` for the load. The parsers are pure so that tests can feed them other machines'
 * files; a field a kernel does not print (an ARM cpuinfo has no "model name") falls back to
 * an empty string or 0 rather than failing the host's start.
 */
import { readFile } from 'node:fs/promises';
import type { CpuFacts, CpuTimes, Machine, MemoryFacts } from '../core/ports/machine.js';

function blocks(text: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    const m = new Map<string, string>();
    for (const line of chunk.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    if (m.has('processor')) out.push(m);
  }
  return out;
}

const int = (s: string | undefined): number => {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isFinite(n) ? n : 0;
};

export function parseCpuinfo(text: string): CpuFacts[] {
  return blocks(text).map((b, i) => ({
    number: b.has('processor') ? int(b.get('processor')) : i,
    vendor: b.get('vendor_id') ?? b.get('CPU implementer') ?? '',
    modelname: b.get('model name') ?? b.get('Processor') ?? '',
    speed: Math.round(Number(b.get('cpu MHz') ?? 0) || 0),
    family: int(b.get('cpu family')),
    model: int(b.get('model')),
    stepping: b.get('stepping') ?? '',
    flags: b.get('flags') ?? b.get('Features') ?? '',
    socket: int(b.get('physical id')),
  }));
}

export function parseMeminfo(text: string): MemoryFacts {
  const kib = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kib('MemTotal') ?? 0;
  return { total, available: kib('MemAvailable') ?? kib('MemFree') ?? 0 };
}

export function parseProcStat(text: string): CpuTimes[] {
  const out: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal …: idle and iowait are the not-busy ones.
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out.filter(Boolean);
}

/** `/proc/net/dev`: per interface, bytes received (1st column) and sent (9th). */
export function parseNetDev(text: string): Map<string, { rxBytes: number; txBytes: number }> {
  const out = new Map<string, { rxBytes: number; txBytes: number }>();
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    if (v.length < 9 || !Number.isFinite(v[0]) || !Number.isFinite(v[8])) continue;
    out.set(m[1]!, { rxBytes: v[0]!, txBytes: v[8]! });
  }
  return out;
}

export function procMachine(root = '/proc'): Machine {
  return {
    cpus: async () => parseCpuinfo(await readFile(`${root}/cpuinfo`, 'utf8')),
    memory: async () => parseMeminfo(await readFile(`${root}/meminfo`, 'utf8')),
    cpuTimes: async () => parseProcStat(await readFile(`${root}/stat`, 'utf8')),
    loadAverage: async () => Number((await readFile(`${root}/loadavg`, 'utf8')).split(/\s+/)[0]) || 0,
    netDevices: async () => parseNetDev(await readFile(`${root}/net/dev`, 'utf8')),
  };
}
