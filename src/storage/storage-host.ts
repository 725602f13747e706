/**
 * @module
 * This host's `StorageHost`: the SR drivers it was built with, by type, and the SRs it has
 * attached. Plug and unplug are idempotent and safe to call concurrently for one SR: a
 * second plug while the first is attaching waits for it rather than attaching twice.
 */
import type { StorageHost } from '../core/ports/storage-host.js';
import type { AttachedSr, SrDriver } from '../core/ports/sr-driver.js';
import { FileSrDriver } from './file/file-sr-driver.js';
import { IsoSrDriver } from './file/iso-sr-driver.js';
import { UnknownSrDriverError } from '../core/ports/storage-errors.js';

export class LocalStorageHost implements StorageHost {
  private readonly drivers = new Map<string, SrDriver>();
  private readonly srs = new Map<string, AttachedSr>();
  private readonly pending = new Map<string, Promise<AttachedSr>>();

  constructor(drivers: readonly SrDriver[]) {
    for (const d of drivers) this.drivers.set(d.type, d);
  }

  driver(type: string): SrDriver | undefined {
    return this.drivers.get(type);
  }

  types(): string[] {
    return [...this.drivers.keys()];
  }

  attached(srUuid: string): AttachedSr | undefined {
    return this.srs.get(srUuid);
  }

  plug(srUuid: string, type: string, deviceConfig: Readonly<Record<string, string>>, smConfig: Readonly<Record<string, string>> = {}): Promise<AttachedSr> {
    const have = this.srs.get(srUuid);
    if (have) return Promise.resolve(have);
    const inFlight = this.pending.get(srUuid);
    if (inFlight) return inFlight;
    const driver = this.drivers.get(type);
    if (!driver) return Promise.reject(new UnknownSrDriverError(type));
    const p = driver
      .attach(srUuid, deviceConfig, smConfig)
      .then((sr) => {
        this.srs.set(srUuid, sr);
        return sr;
      })
      .finally(() => this.pending.delete(srUuid));
    this.pending.set(srUuid, p);
    return p;
  }

  async unplug(srUuid: string): Promise<void> {
    await this.pending.get(srUuid)?.catch(() => undefined);
    const sr = this.srs.get(srUuid);
    if (!sr) return;
    this.srs.delete(srUuid);
    await sr.detach();
  }

  /** Detaches every SR (toolstack shutdown). */
  async unplugAll(): Promise<void> {
    for (const uuid of [...this.srs.keys()]) await this.unplug(uuid);
  }
}

/** The storage host with the drivers Islet ships that need nothing but a path (`file`, `iso`). */
export function createStorageHost(extra: readonly SrDriver[] = []): LocalStorageHost {
  return new LocalStorageHost([new FileSrDriver(), new IsoSrDriver(), ...extra]);
}
