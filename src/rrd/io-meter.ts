/**
 * @module
 * Counts the data path's I/O where it happens: every block device an SR hands out on this
 * host (disk import and export, NBD, copies, VM disks) is wrapped so its reads and writes
 * add to per-SR and per-VDI counters (bytes, requests, time spent). The metrics collector
 * turns the counters' growth over each 5 s step into rates, as xcp-rrdd's iostat plugin does
 * with the kernel's block statistics.
 */
import type { BlockDevice } from '../core/ports/block-device.js';
import type { AttachedSr } from '../core/ports/sr-driver.js';
import type { StorageHost } from '../core/ports/storage-host.js';

export interface IoCounters {
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
  /** Microseconds spent in completed requests. */
  readMicros: number;
  writeMicros: number;
  inflight: number;
}

const fresh = (): IoCounters => ({ readBytes: 0, writeBytes: 0, reads: 0, writes: 0, readMicros: 0, writeMicros: 0, inflight: 0 });

export class IoMeter {
  readonly bySr = new Map<string, IoCounters>();
  readonly byVdi = new Map<string, IoCounters>();

  private counters(map: Map<string, IoCounters>, key: string): IoCounters {
    let c = map.get(key);
    if (!c) { c = fresh(); map.set(key, c); }
    return c;
  }

  /** A device whose I/O counts towards `srUuid` and `vdiUuid`. */
  wrap(dev: BlockDevice, srUuid: string, vdiUuid: string): BlockDevice {
    const sr = this.counters(this.bySr, srUuid);
    const vdi = this.counters(this.byVdi, vdiUuid);
    const timed = async <T>(kind: 'read' | 'write', bytes: number, op: () => Promise<T>): Promise<T> => {
      const t0 = process.hrtime.bigint();
      sr.inflight++; vdi.inflight++;
      try {
        return await op();
      } finally {
        sr.inflight--; vdi.inflight--;
        const us = Number(process.hrtime.bigint() - t0) / 1000;
        for (const c of [sr, vdi]) {
          if (kind === 'read') { c.reads++; c.readBytes += bytes; c.readMicros += us; } else { c.writes++; c.writeBytes += bytes; c.writeMicros += us; }
        }
      }
    };
    return new Proxy(dev, {
      get(target, prop, receiver) {
        if (prop === 'read') return (offset: number, length: number, into?: Buffer) => timed('read', length, () => target.read(offset, length, into));
        if (prop === 'write') return (offset: number, data: Buffer, opts?: { fua?: boolean }) => timed('write', data.length, () => target.write(offset, data, opts));
        if (prop === 'writeZeroes') return (offset: number, length: number, opts?: { mayTrim?: boolean; fua?: boolean }) => timed('write', length, () => target.writeZeroes(offset, length, opts));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  private meterSr(sr: AttachedSr): AttachedSr {
    const meter = this;
    return new Proxy(sr, {
      get(target, prop, receiver) {
        if (prop === 'activate') {
          return async (uuid: string, opts: { readOnly: boolean }) => meter.wrap(await target.activate(uuid, opts), target.srUuid, uuid);
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  /** The storage host with every attached SR's devices metered. */
  meterStorage<H extends StorageHost>(host: H): H {
    const meter = this;
    const wrapped = new WeakMap<AttachedSr, AttachedSr>();
    const metered = (sr: AttachedSr | undefined) => {
      if (!sr) return sr;
      let w = wrapped.get(sr);
      if (!w) { w = meter.meterSr(sr); wrapped.set(sr, w); }
      return w;
    };
    return new Proxy(host, {
      get(target, prop, receiver) {
        if (prop === 'attached') return (srUuid: string) => metered(target.attached(srUuid));
        if (prop === 'plug') return async (srUuid: string, type: string, cfg: Readonly<Record<string, string>>, sm?: Readonly<Record<string, string>>) => metered(await target.plug(srUuid, type, cfg, sm));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }
}
