/**
 * @module
 * Fills this host's RRDs every 5 s, as xcp-rrdd does: the host RRD (CPU, memory and load
 * from the OS; per-SR I/O from the data path's counters, suffixed with the SR uuid's first
 * 8 characters; the toolstack's own memory and task count) and one RRD per VM running here
 * (CPU and memory from the hypervisor driver, per-VBD I/O from the data path). Network
 * throughput as xcp-rrdd names it: `pif_<device>_rx/_tx` from the OS counters of the
 * interface that holds the PIF's address, `vif_<device>_rx/_tx` from the hypervisor
 * driver's per-card counters (modelled, and labelled so, under the simulator). A VM that
 * leaves this host keeps its RRD (unknown from then on) until the archive forgets it.
 */
import { networkInterfaces } from 'node:os';
import type { Hypervisor } from '../core/ports/hypervisor.js';
import type { Machine } from '../core/ports/machine.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { HostSampler } from './host-sampler.js';
import type { IoCounters, IoMeter } from './io-meter.js';
import type { DataSources, DataSourceView, MetricsOwner, MetricsSource } from '../core/ports/metrics.js';
import { BASE_STEP, Rrd, type DataSourceInfo } from '../core/rrd/rrd.js';

const ds = (name: string, units: string, description: string, min = 0, max = Infinity): DataSourceInfo => ({ name, units, description, min, max });

export interface CollectorOptions {
  readonly db: PoolDb;
  readonly hostRef: () => Ref<'host'>;
  readonly hypervisor: Pick<Hypervisor, 'stats'>;
  /** The machine the host runs on (CPU, memory, load). */
  readonly machine: Machine;
  readonly meter: IoMeter;
  readonly log?: (m: string) => void;
}

/** The growth of a counter set over `dt` seconds, as rates. */
const ZERO: IoCounters = { readBytes: 0, writeBytes: 0, reads: 0, writes: 0, readMicros: 0, writeMicros: 0, inflight: 0 };

/** Counters start at zero when a device is first metered, so a new one counts from zero. */
function rates(now: IoCounters, before: IoCounters | undefined, dt: number) {
  const b = before ?? ZERO;
  const reads = now.reads - b.reads;
  const writes = now.writes - b.writes;
  return {
    read: (now.readBytes - b.readBytes) / dt,
    write: (now.writeBytes - b.writeBytes) / dt,
    iopsRead: reads / dt,
    iopsWrite: writes / dt,
    readLatency: reads ? (now.readMicros - b.readMicros) / reads : 0,
    writeLatency: writes ? (now.writeMicros - b.writeMicros) / writes : 0,
    inflight: now.inflight,
  };
}

const snap = (m: Map<string, IoCounters>) => new Map([...m].map(([k, v]) => [k, { ...v }]));

export function vbdDeviceName(vbd: Record<string, unknown>): string {
  const dev = String(vbd.device ?? '');
  if (/^xvd[a-z]+$/.test(dev)) return dev;
  const n = Number(vbd.userdevice);
  return Number.isInteger(n) && n >= 0 && n < 26 ? `xvd${String.fromCharCode(97 + n)}` : `xvd${dev || 'x'}`;
}

export class RrdCollector implements MetricsSource, DataSources {
  readonly rrds = new Map<string, Rrd>();
  private readonly sampler: HostSampler;
  private lastSr = new Map<string, IoCounters>();
  private lastVdi = new Map<string, IoCounters>();
  private lastCpu = new Map<string, { bootCpu: number[]; at: number }>();
  private lastAt = 0;
  /** Network byte counters at the last sample, by `pif:<device>` or `vif:<vm uuid>:<device>`. */
  private lastNet = new Map<string, { rx: number; tx: number; at: number }>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: CollectorOptions) {
    this.sampler = new HostSampler(o.machine);
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      const now = Date.now();
      const next = (Math.floor(now / 1000 / BASE_STEP) + 1) * BASE_STEP * 1000;
      this.timer = setTimeout(() => { void this.collect().catch((e) => this.o.log?.(`rrd: ${e instanceof Error ? e.message : String(e)}`)).finally(tick); }, next - now + 20);
      this.timer.unref();
    };
    void this.collect().catch(() => {}).finally(tick);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  rrd(kind: 'host' | 'vm', uuid: string): Rrd {
    const key = `${kind}:${uuid}`;
    let r = this.rrds.get(key);
    if (!r) { r = new Rrd(kind, uuid); this.rrds.set(key, r); }
    return r;
  }

  /** Rates from byte counters; the first reading of a counter (or one that went back) gives NaN. */
  private netRates(key: string, rx: number, tx: number, now: number): { rx: number; tx: number } {
    const before = this.lastNet.get(key);
    this.lastNet.set(key, { rx, tx, at: now });
    if (!before || now <= before.at || rx < before.rx || tx < before.tx) return { rx: NaN, tx: NaN };
    return { rx: (rx - before.rx) / (now - before.at), tx: (tx - before.tx) / (now - before.at) };
  }

  /** The host's PIFs, each with the OS interface that carries its address. */
  private pifInterfaces(hostRef: Ref): Array<{ device: string; iface: string }> {
    const byAddress = new Map<string, string>();
    for (const [name, addrs] of Object.entries(networkInterfaces())) for (const a of addrs ?? []) byAddress.set(a.address, name);
    const out: Array<{ device: string; iface: string }> = [];
    for (const [, pif] of this.o.db.all('PIF')) {
      if (pif.host !== hostRef || !pif.device) continue;
      const iface = byAddress.get(String(pif.IP ?? '')) ?? byAddress.get(String((pif.IPv6 as string[] | undefined)?.[0] ?? '').replace(/\/\d+$/, ''));
      if (iface) out.push({ device: String(pif.device), iface });
    }
    return out;
  }

  /** One sample of everything; public so tests and the first request need not wait 5 s. */
  async collect(): Promise<void> {
    const { db } = this.o;
    const nowMs = Date.now();
    const now = nowMs / 1000;
    const dt = this.lastAt ? now - this.lastAt : 0;
    const hostRef = this.o.hostRef();
    const host = db.get('host', hostRef);
    if (!host) return;
    const h = await this.sampler.sample();
    const samples: Array<readonly [DataSourceInfo, number]> = [];
    h.cpus.forEach((v, i) => samples.push([ds(`cpu${i}`, '(fraction)', `Physical CPU ${i} busy fraction`, 0, 1), v]));
    if (h.cpus.length) samples.push([ds('cpu_avg', '(fraction)', 'Average busy fraction of the physical CPUs', 0, 1), h.cpus.reduce((a, b) => a + b, 0) / h.cpus.length]);
    samples.push([ds('memory_total_kib', 'KiB', 'Total memory of the host'), h.memoryTotalKib]);
    samples.push([ds('memory_free_kib', 'KiB', 'Memory available on the host'), h.memoryFreeKib]);
    samples.push([ds('loadavg', '(fraction)', 'One-minute load average'), h.loadavg]);
    samples.push([ds('xapi_memory_usage_kib', 'KiB', 'Resident memory of the toolstack process'), process.memoryUsage().rss / 1024]);
    samples.push([ds('pool_task_count', 'tasks', 'Tasks known to the pool'), db.count('task')]);
    const devices = this.o.machine.netDevices ? await this.o.machine.netDevices().catch(() => undefined) : undefined;
    if (devices) {
      for (const { device, iface } of this.pifInterfaces(hostRef)) {
        const c = devices.get(iface);
        if (!c) continue;
        const r = this.netRates(`pif:${device}`, c.rxBytes, c.txBytes, now);
        samples.push([ds(`pif_${device}_rx`, 'B/s', `Bytes per second received on ${device} (OS interface ${iface})`), r.rx]);
        samples.push([ds(`pif_${device}_tx`, 'B/s', `Bytes per second sent on ${device} (OS interface ${iface})`), r.tx]);
      }
    }

    const sr = snap(this.o.meter.bySr);
    const vdi = snap(this.o.meter.byVdi);
    if (dt > 0) {
      const plugged = new Set<string>();
      for (const [, pbd] of db.all('PBD')) {
        if (pbd.host !== hostRef) continue;
        const row = db.get('SR', pbd.SR);
        if (row?.uuid) plugged.add(String(row.uuid));
      }
      for (const uuid of new Set([...plugged, ...sr.keys()])) {
        const r = rates(sr.get(uuid) ?? ZERO, this.lastSr.get(uuid), dt);
        const s8 = uuid.slice(0, 8);
        samples.push([ds(`read_${s8}`, 'B/s', `Bytes read from SR ${s8}`), r.read]);
        samples.push([ds(`write_${s8}`, 'B/s', `Bytes written to SR ${s8}`), r.write]);
        samples.push([ds(`io_throughput_read_${s8}`, 'MiB/s', `Read throughput of SR ${s8}`), r.read / 2 ** 20]);
        samples.push([ds(`io_throughput_write_${s8}`, 'MiB/s', `Write throughput of SR ${s8}`), r.write / 2 ** 20]);
        samples.push([ds(`io_throughput_total_${s8}`, 'MiB/s', `Total throughput of SR ${s8}`), (r.read + r.write) / 2 ** 20]);
        samples.push([ds(`iops_read_${s8}`, 'requests/s', `Read requests to SR ${s8}`), r.iopsRead]);
        samples.push([ds(`iops_write_${s8}`, 'requests/s', `Write requests to SR ${s8}`), r.iopsWrite]);
        samples.push([ds(`iops_total_${s8}`, 'requests/s', `Requests to SR ${s8}`), r.iopsRead + r.iopsWrite]);
        samples.push([ds(`read_latency_${s8}`, 'μs', `Mean read latency of SR ${s8}`), r.readLatency]);
        samples.push([ds(`write_latency_${s8}`, 'μs', `Mean write latency of SR ${s8}`), r.writeLatency]);
        samples.push([ds(`inflight_${s8}`, 'requests', `Requests in flight to SR ${s8}`), r.inflight]);
      }
    }
    this.rrd('host', String(host.uuid)).update(now, samples);

    const stats = this.o.hypervisor.stats ? await this.o.hypervisor.stats().catch(() => []) : [];
    for (const d of stats) {
      const vmRef = db.refByUuid('VM', d.vmUuid);
      const vm = vmRef ? db.get('VM', vmRef) : undefined;
      if (!vmRef || !vm) continue;
      const label = d.simulated ? ' (simulated by the hypervisor simulator)' : '';
      const vs: Array<readonly [DataSourceInfo, number]> = [];
      const prev = this.lastCpu.get(d.vmUuid);
      if (d.state === 'running' || d.state === 'paused') {
        d.cpuSeconds.forEach((sec, i) => {
          const before = prev?.bootCpu[i];
          const v = prev && before !== undefined && sec >= before && now > prev.at ? (sec - before) / (now - prev.at) : NaN;
          vs.push([ds(`cpu${i}`, '(fraction)', `vCPU ${i} busy fraction${label}`, 0, 1), Math.min(1, v)]);
        });
        vs.push([ds('memory', 'B', `Memory of the domain${label}`), d.memory]);
        vs.push([ds('memory_target', 'B', `Memory target of the domain${label}`), d.memory]);
        for (const n of d.nics ?? []) {
          const r = this.netRates(`vif:${d.vmUuid}:${n.device}`, n.rxBytes, n.txBytes, now);
          vs.push([ds(`vif_${n.device}_rx`, 'B/s', `Bytes per second received on VIF ${n.device}${label}`), r.rx]);
          vs.push([ds(`vif_${n.device}_tx`, 'B/s', `Bytes per second sent on VIF ${n.device}${label}`), r.tx]);
        }
      }
      this.lastCpu.set(d.vmUuid, { bootCpu: [...d.cpuSeconds], at: now });
      if (dt > 0) {
        for (const vbdRef of (vm.VBDs) ?? []) {
          const vbd = db.get('VBD', vbdRef);
          const vdiRow = vbd && vbd.VDI ? db.get('VDI', vbd.VDI) : undefined;
          if (!vbd || !vdiRow) continue;
          const c = vdi.get(String(vdiRow.uuid));
          const r = rates(c ?? ZERO, this.lastVdi.get(String(vdiRow.uuid)), dt);
          const dev = vbdDeviceName(vbd);
          vs.push([ds(`vbd_${dev}_read`, 'B/s', `Bytes read through ${dev}`), r.read]);
          vs.push([ds(`vbd_${dev}_write`, 'B/s', `Bytes written through ${dev}`), r.write]);
          vs.push([ds(`vbd_${dev}_iops_read`, 'requests/s', `Read requests through ${dev}`), r.iopsRead]);
          vs.push([ds(`vbd_${dev}_iops_write`, 'requests/s', `Write requests through ${dev}`), r.iopsWrite]);
        }
      }
      this.rrd('vm', d.vmUuid).update(now, vs);
    }
    const running = new Set(stats.map((d) => d.vmUuid));
    for (const k of this.lastNet.keys()) if (k.startsWith('vif:') && !running.has(k.split(':')[1]!)) this.lastNet.delete(k);
    this.lastSr = sr;
    this.lastVdi = vdi;
    this.lastAt = now;
  }

  archives(): Rrd[] {
    return [this.hostRrd(), ...[...this.residentVmUuids()].map((u) => this.vmRrd(u))].filter((r): r is Rrd => r !== undefined);
  }

  hostRrd(): Rrd | undefined {
    const host = this.o.db.get('host', this.o.hostRef());
    return host ? this.rrds.get(`host:${String(host.uuid)}`) : undefined;
  }

  vmRrd(vmUuid: string): Rrd | undefined {
    return this.rrds.get(`vm:${vmUuid}`);
  }

  /** The RRD whose data sources `owner` has: a VM's only while it runs here. */
  private ownerRrd(owner: MetricsOwner): Rrd | undefined {
    if (owner.kind === 'host') return this.hostRrd();
    return this.residentVmUuids().has(owner.uuid) ? this.vmRrd(owner.uuid) : undefined;
  }

  dataSources(owner: MetricsOwner): DataSourceView[] {
    const rrd = this.ownerRrd(owner);
    if (!rrd) return [];
    return [...rrd.latest.values()].map(({ info, value }) => ({
      name: info.name, description: info.description, units: info.units, min: info.min, max: info.max,
      // Every figure sampled here is recorded unless asked otherwise, as xcp-rrdd's default ones.
      enabled: rrd.records(info.name), standard: true, value,
    }));
  }

  query(owner: MetricsOwner, name: string): number | undefined {
    return this.ownerRrd(owner)?.latest.get(name)?.value;
  }

  record(owner: MetricsOwner, name: string): boolean {
    return this.ownerRrd(owner)?.record(name) ?? false;
  }

  forget(owner: MetricsOwner, name: string): boolean {
    return this.ownerRrd(owner)?.forget(name) ?? false;
  }

  /** The RRDs a host answers for: its own, and those of VMs resident on it now. */
  residentVmUuids(): Set<string> {
    const hostRef = this.o.hostRef();
    const out = new Set<string>();
    for (const [, vm] of this.o.db.all('VM')) if (vm.resident_on === hostRef && vm.power_state !== 'Halted') out.add(String(vm.uuid));
    return out;
  }
}
