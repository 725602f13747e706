/**
 * @module
 * A NetApp SR attached on one host. Every VDI is a LUN named by its uuid in the SR's
 * FlexVol; a snapshot or clone is a FlexClone LUN of it in the same FlexVol (sharing its
 * blocks, costing nothing until written), explicitly unreserved on a thin SR, and nothing
 * depends on a volume Snapshot copy, so deleting any one VDI never takes another with it.
 * Snapshots are marked read-only in the LUN's comment; reverting is cloning a snapshot,
 * so the uuids users hold stay valid. Space figures come from the array: the volume's
 * footprint and the aggregate's free space for the SR, each LUN's used space for a VDI.
 *
 * Activation maps the LUN to this host's igroup and opens it through the host's iSCSI
 * initiator, checking the LUN serial the target reports against the array's; closing the
 * last activation unmaps it.
 */
import type { BlockDevice, Extent } from '../../core/ports/block-device.js';
import type { IscsiInitiator, IscsiLunDevice } from '../../core/ports/iscsi-initiator.js';
import type { AttachedSr, GcReport, SnapshotResult, SrStat, VdiCreateSpec, VdiInfo, VhdImage, VhdBody, VhdSource, VhdStreamEvent } from '../../core/ports/sr-driver.js';
import { openVhdSource, vhdImageOf, vhdStreamEvents } from '../vhd/vhd-image.js';
import { legacyLunName, legacyVdiUuid, parseLegacyLunName, parseLegacyRecord } from '../array/legacy-storagelink.js';
import type { LunRec, NetappVolume } from './netapp-array.js';
import { netappError, onArray } from './netapp-errors.js';
import { NetappSan } from './netapp-san.js';
import type { OntapRestClient } from './ontap-rest-client.js';
import { StorageError, StorageValueError, VdiInUseError, VdiMissingError, VdiReadOnlyError } from '../../core/ports/storage-errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RO = 'islet:ro';
const RW = 'islet:rw';

export interface NetappAttachedOptions {
  readonly srUuid: string;
  readonly client: OntapRestClient;
  readonly id: { readonly storageSystemId: string; readonly svm: string; readonly warning?: string };
  readonly volume: NetappVolume;
  readonly chap: { readonly user: string; readonly secret: string } | undefined;
  readonly initiator: IscsiInitiator | undefined;
  readonly initiatorIqn: () => string;
  readonly log?: (m: string) => void;
}

export class NetappAttachedSr implements AttachedSr {
  readonly srUuid: string;
  private readonly san: NetappSan;
  private readonly active = new Map<string, Set<ActiveLun>>();
  /** VDI uuid ↔ LUN name for LUNs not named by their uuid (an SR the StorageLink Gateway made). */
  private readonly lunNames = new Map<string, string>();
  private readonly lunUuids = new Map<string, string>();

  constructor(private readonly o: NetappAttachedOptions) {
    this.srUuid = o.srUuid;
    this.san = new NetappSan(o.client, o.id.svm);
  }

  private get vol(): NetappVolume {
    return this.o.volume;
  }

  private svid(l: LunRec): string {
    return `${this.o.id.storageSystemId}__${Buffer.from(l.serial_number, 'latin1').toString('hex').toUpperCase()}`;
  }

  /** The VDI uuid of a LUN: its name, or for the gateway's layout what it stored (see legacy-storagelink). */
  private uuidOf(l: LunRec): string | undefined {
    const name = l.location.logical_unit;
    if (UUID.test(name)) return name;
    const legacy = parseLegacyLunName(name);
    if (!legacy) return undefined;
    const uuid = legacyVdiUuid(legacy, parseLegacyRecord(l.comment), this.svid(l));
    this.lunNames.set(uuid, name);
    this.lunUuids.set(name, uuid);
    return uuid;
  }

  private readOnly(l: LunRec): boolean {
    return l.comment === RO || parseLegacyLunName(l.location.logical_unit)?.kind === 'snapshot';
  }

  private info(l: LunRec): VdiInfo {
    const uuid = this.uuidOf(l) ?? l.location.logical_unit;
    const legacy = parseLegacyLunName(l.location.logical_unit);
    return {
      uuid,
      virtualSize: l.space.size,
      physicalUtilisation: l.space.used,
      hidden: false,
      readOnly: this.readOnly(l),
      allocation: l.space.guarantee.reserved ? 'thick' : 'thin',
      smConfig: {
        SVID: this.svid(l),
        'storage-system-id': this.o.id.storageSystemId,
        'netapp-volume': this.vol.name,
        'netapp-lun': l.name,
        'netapp-lun-serial': l.serial_number,
        allocation: l.space.guarantee.reserved ? 'thick' : 'thin',
        'space-reservation': l.space.guarantee.requested ? 'requested' : 'none',
      },
      ...(legacy ? this.legacyFacts(l, legacy) : {}),
    };
  }

  /** Names and the snapshot relation of a LUN the gateway made, as it stored them. */
  private legacyFacts(l: LunRec, legacy: NonNullable<ReturnType<typeof parseLegacyLunName>>): Partial<VdiInfo> {
    const rec = parseLegacyRecord(l.comment);
    const base = legacyLunName(legacy.baseUuid);
    const time = rec.snapshotTime ?? (l.create_time ? xapiTime(l.create_time) : undefined);
    return {
      nameLabel: rec.nameLabel ?? l.name,
      ...(rec.nameDescription !== undefined ? { nameDescription: rec.nameDescription } : {}),
      ...(legacy.kind === 'snapshot' ? { snapshotOf: this.lunUuids.get(base) ?? legacy.baseUuid, ...(time ? { snapshotTime: time } : {}) } : {}),
    };
  }

  private async lun(uuid: string): Promise<LunRec> {
    const find = async (): Promise<LunRec | undefined> => {
      const name = this.lunNames.get(uuid) ?? (UUID.test(uuid) ? uuid : undefined);
      return name ? this.vol.lun(name) : undefined;
    };
    let l = UUID.test(uuid) ? await onArray('VDIUnavailable', `looking up LUN ${uuid}`, find) : undefined;
    if (!l && UUID.test(uuid) && !this.lunNames.has(uuid)) {
      // Perhaps a LUN of the gateway's layout not read yet: read the names, then look again.
      await onArray('VDIUnavailable', `listing LUNs of ${this.vol.name}`, async () => { for (const x of await this.vol.luns()) this.uuidOf(x); });
      if (this.lunNames.has(uuid)) l = await onArray('VDIUnavailable', `looking up LUN ${uuid}`, find);
    }
    if (!l) throw new VdiMissingError(this.srUuid, uuid);
    return l;
  }

  async stat(): Promise<SrStat> {
    return onArray('SRScan', `reading FlexVol ${this.vol.name}`, async () => {
      const v = await this.vol.record();
      const aggr = v.aggregates[0]?.name ?? '';
      const [a] = await this.o.client.list<{ space: { block_storage: { available: number } } }>('/api/storage/aggregates', { name: aggr, fields: 'space' });
      const footprint = v.space.footprint ?? v.space.used;
      const luns = await this.vol.luns();
      return {
        identity: `${this.o.id.storageSystemId}/${aggr}/${this.vol.name}`,
        physicalSize: footprint + (a?.space.block_storage.available ?? 0),
        physicalUtilisation: footprint,
        virtualAllocation: luns.filter((l) => this.uuidOf(l) !== undefined).reduce((n, l) => n + l.space.size, 0),
        ...(this.o.id.warning ? { warnings: [this.o.id.warning] } : {}),
      };
    });
  }

  async scan(): Promise<VdiInfo[]> {
    const luns = (await onArray('SRScan', `listing LUNs of ${this.vol.name}`, () => this.vol.luns())).filter((l) => this.uuidOf(l) !== undefined);
    return luns.map((l) => this.info(l));
  }

  async vdiStat(uuid: string): Promise<VdiInfo> {
    return this.info(await this.lun(uuid));
  }

  async vdiCreate(spec: VdiCreateSpec): Promise<VdiInfo> {
    if (!UUID.test(spec.uuid)) throw new StorageValueError('uuid', spec.uuid);
    if (!Number.isSafeInteger(spec.virtualSize) || spec.virtualSize < 4096) throw netappError('VDISize', `${spec.virtualSize} bytes`);
    if (spec.allocation === 'thick' && this.vol.provision === 'thin') {
      throw netappError('VDICreate', `a thick VDI needs a thick SR (provision-type=thick): in a FlexVol without a space guarantee ONTAP does not honour a LUN reservation`);
    }
    const reserved = this.vol.provision === 'thick';
    const size = Math.ceil(spec.virtualSize / 512) * 512;
    return onArray('VDICreate', `creating LUN ${spec.uuid} of ${size} bytes`, async () => {
      if (await this.vol.lun(spec.uuid)) throw netappError('VDICreate', `LUN ${spec.uuid} already exists`);
      await this.vol.growFor({ size, reserved });
      try {
        return this.info(await this.vol.createLun(spec.uuid, size, reserved, RW));
      } catch (e) {
        await this.vol.fit().catch(() => undefined);
        throw e;
      }
    });
  }

  async vdiDestroy(uuid: string): Promise<void> {
    const l = await this.lun(uuid);
    if (this.active.get(uuid)?.size) throw new VdiInUseError(uuid, 'destroy');
    await onArray('VDIRemove', `deleting LUN ${l.name}`, async () => {
      await this.vol.deleteLun(l);
      await this.vol.fit();
    });
  }

  async vdiResize(uuid: string, newVirtualSize: number): Promise<VdiInfo> {
    const l = await this.lun(uuid);
    if (this.readOnly(l)) throw new VdiReadOnlyError(uuid);
    const size = Math.ceil(newVirtualSize / 512) * 512;
    if (!Number.isSafeInteger(size) || size < l.space.size) throw netappError('VDISize', `cannot shrink ${uuid} from ${l.space.size} to ${newVirtualSize} bytes`);
    return onArray('VDISize', `resizing LUN ${l.name}`, async () => {
      if (size > l.space.size) {
        await this.vol.growFor({ size: size - l.space.size, reserved: l.space.guarantee.requested });
        await this.vol.resizeLun(l, size);
      }
      return this.info(await this.lun(uuid));
    });
  }

  async vdiSnapshot(uuid: string, newUuid: string): Promise<SnapshotResult> {
    return this.copy(uuid, newUuid, true);
  }

  async vdiClone(uuid: string, newUuid: string): Promise<SnapshotResult> {
    return this.copy(uuid, newUuid, false);
  }

  /** A FlexClone LUN in the same FlexVol: snapshots always unreserved; clones as the SR provisions. */
  private async copy(uuid: string, newUuid: string, snapshot: boolean): Promise<SnapshotResult> {
    const src = await this.lun(uuid);
    if (!UUID.test(newUuid)) throw new StorageValueError('uuid', newUuid);
    const reserved = !snapshot && this.vol.provision === 'thick';
    return onArray(snapshot ? 'VDISnapshot' : 'VDIClone', `${snapshot ? 'snapshotting' : 'cloning'} LUN ${src.name}`, async () => {
      await this.vol.growFor({ size: src.space.size, reserved });
      let made: LunRec;
      try {
        made = await this.vol.cloneLun(src.location.logical_unit, newUuid, reserved, snapshot ? RO : RW);
      } catch (e) {
        await this.vol.fit().catch(() => undefined);
        throw e;
      }
      return { created: this.info(made), original: this.info(await this.lun(uuid)) };
    });
  }

  async activate(uuid: string, opts: { readOnly: boolean }): Promise<BlockDevice> {
    const l = await this.lun(uuid);
    if (!opts.readOnly && this.readOnly(l)) throw new VdiReadOnlyError(uuid);
    const initiator = this.o.initiator;
    if (!initiator) throw netappError('ISCSIDevice', 'this host has no iSCSI initiator');
    const iqn = this.o.initiatorIqn();
    const { igroup, n, portal } = await onArray('VDIUnavailable', `mapping LUN ${l.name} to ${iqn}`, async () => {
      const igroup = await this.san.igroupFor(iqn);
      return { igroup, n: await this.san.map(l, igroup), portal: await this.san.portal() };
    });
    const unmapIfIdle = async (): Promise<void> => {
      if (!this.active.get(uuid)?.size) await this.san.unmap(l.uuid, igroup.uuid).catch((e) => this.o.log?.(`unmapping ${l.name}: ${String(e)}`));
    };
    let dev: IscsiLunDevice;
    try {
      dev = await initiator.openLun({ portal: portal.portal, targetIqn: portal.targetIqn, lun: n }, { initiatorIqn: iqn, ...(this.o.chap ? { chap: this.o.chap } : {}) }, { readOnly: opts.readOnly });
    } catch (e) {
      await unmapIfIdle();
      if (e instanceof StorageError) throw e;
      throw netappError('ISCSILogin', `${portal.portal} ${portal.targetIqn} LUN ${n}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (dev.identity.serial.trim() !== l.serial_number) {
      await dev.close().catch(() => undefined);
      await unmapIfIdle();
      throw netappError('ISCSIDevice', `LUN ${n} at ${portal.portal} has serial ${dev.identity.serial.trim()}, not ${l.serial_number} (${l.name}): refusing a different disk`);
    }
    const set = this.active.get(uuid) ?? new Set<ActiveLun>();
    this.active.set(uuid, set);
    const handle = new ActiveLun(dev, opts.readOnly, async () => {
      set.delete(handle);
      if (set.size === 0) this.active.delete(uuid);
      await unmapIfIdle();
    });
    set.add(handle);
    return handle;
  }

  async deactivate(uuid: string): Promise<void> {
    for (const h of [...(this.active.get(uuid) ?? [])]) await h.close();
  }

  async gc(): Promise<GcReport> {
    // FlexClone LUNs depend on nothing: there are no hidden nodes to collect.
    return { removed: [], coalesced: [], split: [] };
  }

  async detach(): Promise<void> {
    for (const uuid of [...this.active.keys()]) await this.deactivate(uuid);
    this.o.client.close();
  }

  exportVhd(dev: BlockDevice, uuid: string): Promise<VhdImage> {
    return vhdImageOf(dev, uuid);
  }

  openVhd(path: string): Promise<VhdSource> {
    return openVhdSource(path);
  }

  readVhdStream(body: VhdBody): AsyncIterable<VhdStreamEvent> {
    return vhdStreamEvents(body);
  }
}

/** An ISO time as XenAPI prints datetimes (`20120721T10:00:00Z`). */
function xapiTime(iso: string): string | undefined {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : `${d.toISOString().slice(0, 19).replace(/[-]/g, '')}Z`;
}

/** One activation of a LUN: I/O goes to the iSCSI device until it is closed. */
class ActiveLun implements BlockDevice {
  private closed = false;
  readonly size: number;
  readonly minBlockSize?: number;
  readonly preferredBlockSize?: number;

  constructor(private readonly dev: BlockDevice, readonly readOnly: boolean, private readonly onClose: () => Promise<void>) {
    this.size = dev.size;
    if (dev.minBlockSize !== undefined) this.minBlockSize = dev.minBlockSize;
    if (dev.preferredBlockSize !== undefined) this.preferredBlockSize = dev.preferredBlockSize;
  }

  private open(): BlockDevice {
    if (this.closed) throw Object.assign(new Error('the VDI was deactivated'), { code: 'EBADF' });
    return this.dev;
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    return this.open().read(offset, length, into);
  }

  async write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void> {
    if (this.readOnly) throw Object.assign(new Error('read-only activation'), { code: 'EROFS' });
    return this.open().write(offset, data, opts);
  }

  async writeZeroes(offset: number, length: number, opts?: { mayTrim?: boolean; fua?: boolean }): Promise<void> {
    if (this.readOnly) throw Object.assign(new Error('read-only activation'), { code: 'EROFS' });
    return this.open().writeZeroes(offset, length, opts);
  }

  async trim(offset: number, length: number): Promise<void> {
    return this.open().trim(offset, length);
  }

  async flush(): Promise<void> {
    return this.open().flush();
  }

  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    return this.open().blockStatus(offset, length);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.dev.close();
    } finally {
      await this.onClose();
    }
  }
}
