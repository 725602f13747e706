/**
 * @module
 * The `iso` SR, as XenServer's ISO library: a directory of install media (local, or a path
 * on storage every host mounts) whose VDIs are the `.iso` files found in it. Nothing is
 * ever written: the disks are read-only, their size is the file's, and they are neither
 * made, resized, snapshotted nor destroyed through the API; a scan finds files added and
 * forgets files removed. A file's VDI uuid is derived from the SR's uuid and the file's
 * name, so it stays the same across scans and restarts without writing anything into a
 * directory that may well be read-only.
 */
import { createHash } from 'node:crypto';
import { open, readdir, stat, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockDevice, Extent } from '../../core/ports/block-device.js';
import type { AttachedSr, ProbeResult, SmDescription, SrDriver, SrStat, VdiInfo } from '../../core/ports/sr-driver.js';
import { confineExistingSrPath } from './sr-path.js';
import { backendError } from './sr-errors.js';
import { SrOperationUnsupportedError, VdiMissingError, VdiReadOnlyError } from '../../core/ports/storage-errors.js';
import { ISLET_DRIVER } from '../islet-sm.js';

const ISO_NAME = /\.iso$/i;

/** A name-based uuid (RFC 4122 version 5 layout) for `name` within `namespace`. */
export function isoVdiUuid(srUuid: string, fileName: string): string {
  const h = createHash('sha1').update(`islet-iso:${srUuid}:${fileName}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The ISO directory `device_config:location` names: confined like a file SR's path, and existing. */
async function isoDirectory(deviceConfig: Readonly<Record<string, string>>): Promise<string> {
  const location = deviceConfig.location;
  if (location === undefined || location === '') throw backendError('ConfigLocationMissing');
  const real = await confineExistingSrPath(location, 'location');
  const st = await stat(real).catch(() => undefined);
  if (!st?.isDirectory()) throw backendError('SRUnavailable', `device_config:location=${JSON.stringify(location.slice(0, 200))} is not an existing directory`);
  return real;
}

function notSupported(what: string): never {
  throw new SrOperationUnsupportedError(`${what} on an ISO SR`);
}

/** An ISO file opened read-only as a disk. */
class IsoFileDevice implements BlockDevice {
  readonly readOnly = true;
  constructor(private readonly fh: FileHandle, readonly size: number) {}

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    const buf = into ?? Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < length) buf.fill(0, done, length);
    return buf.subarray(0, length);
  }
  write(): Promise<void> { return Promise.reject(new VdiReadOnlyError('')); }
  writeZeroes(): Promise<void> { return Promise.reject(new VdiReadOnlyError('')); }
  trim(): Promise<void> { return Promise.reject(new VdiReadOnlyError('')); }
  async flush(): Promise<void> {}
  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    return [{ offset, length, hole: false, zero: false }];
  }
  async close(): Promise<void> { await this.fh.close(); }
}

class AttachedIsoSr implements AttachedSr {
  private readonly open = new Map<string, IsoFileDevice>();
  constructor(readonly srUuid: string, private readonly dir: string) {}

  /** The `.iso` files in the directory, by VDI uuid. */
  private async files(): Promise<Map<string, { name: string; size: number }>> {
    const out = new Map<string, { name: string; size: number }>();
    const names = await readdir(this.dir).catch((e: unknown) => {
      throw backendError('SRUnavailable', `cannot list ${this.dir}: ${(e as Error).message}`);
    });
    for (const name of names.sort()) {
      if (!ISO_NAME.test(name)) continue;
      const st = await stat(join(this.dir, name)).catch(() => undefined);
      if (st?.isFile()) out.set(isoVdiUuid(this.srUuid, name), { name, size: st.size });
    }
    return out;
  }

  private info(uuid: string, f: { name: string; size: number }): VdiInfo {
    return {
      uuid, virtualSize: f.size, physicalUtilisation: f.size, hidden: false, readOnly: true,
      allocation: 'thick', smConfig: {}, nameLabel: f.name, location: f.name,
    };
  }

  async stat(): Promise<SrStat> {
    const fs = await statfs(this.dir);
    const files = [...(await this.files()).values()];
    const used = files.reduce((n, f) => n + f.size, 0);
    return { identity: this.srUuid, physicalSize: fs.blocks * fs.bsize, physicalUtilisation: used, virtualAllocation: used };
  }
  async scan(): Promise<VdiInfo[]> {
    return [...(await this.files())].map(([uuid, f]) => this.info(uuid, f));
  }
  async vdiStat(uuid: string): Promise<VdiInfo> {
    const f = (await this.files()).get(uuid);
    if (!f) throw new VdiMissingError(this.srUuid, uuid);
    return this.info(uuid, f);
  }
  vdiCreate(): Promise<VdiInfo> { return notSupported('VDI.create'); }
  vdiDestroy(): Promise<void> { return notSupported('VDI.destroy'); }
  vdiResize(): Promise<VdiInfo> { return notSupported('VDI.resize'); }
  vdiSnapshot(): Promise<never> { return notSupported('VDI.snapshot'); }
  vdiClone(): Promise<never> { return notSupported('VDI.clone'); }
  async activate(uuid: string): Promise<BlockDevice> {
    const f = (await this.files()).get(uuid);
    if (!f) throw new VdiMissingError(this.srUuid, uuid);
    const dev = new IsoFileDevice(await open(join(this.dir, f.name), 'r'), f.size);
    await this.open.get(uuid)?.close().catch(() => undefined);
    this.open.set(uuid, dev);
    return dev;
  }
  async deactivate(uuid: string): Promise<void> {
    const dev = this.open.get(uuid);
    this.open.delete(uuid);
    await dev?.close().catch(() => undefined);
  }
  async gc(): Promise<{ removed: string[]; coalesced: string[]; split: string[] }> {
    return { removed: [], coalesced: [], split: [] };
  }
  async detach(): Promise<void> {
    for (const uuid of [...this.open.keys()]) await this.deactivate(uuid);
  }
  exportVhd(): Promise<never> { return notSupported('VHD export'); }
  openVhd(): Promise<never> { return notSupported('VHD import'); }
  readVhdStream(): AsyncIterable<never> { return notSupported('VHD import'); }
}

export class IsoSrDriver implements SrDriver {
  readonly type = 'iso';
  readonly sm: SmDescription = {
    nameLabel: 'ISO library',
    nameDescription: 'SR driver offering the .iso files of a directory as read-only CDs',
    ...ISLET_DRIVER,
    configuration: { location: 'The directory holding the ISO images (an absolute path)' },
    // Disks are the directory's files: found by a scan, never made or removed through the SR.
    features: Object.fromEntries(['SR_ATTACH', 'SR_DETACH', 'SR_SCAN', 'SR_PROBE', 'VDI_ATTACH', 'VDI_DETACH'].map((f) => [f, 1])),
  };

  async probe(deviceConfig: Readonly<Record<string, string>>): Promise<ProbeResult[]> {
    await isoDirectory(deviceConfig);
    return [];
  }
  async create(srUuid: string, deviceConfig: Readonly<Record<string, string>>): Promise<SrStat> {
    const dir = await isoDirectory(deviceConfig);
    return new AttachedIsoSr(srUuid, dir).stat();
  }
  async attach(srUuid: string, deviceConfig: Readonly<Record<string, string>>): Promise<AttachedSr> {
    return new AttachedIsoSr(srUuid, await isoDirectory(deviceConfig));
  }
  /** The directory and its media belong to the administrator: destroying the SR leaves them. */
  async destroy(): Promise<void> {}
}
