/**
 * @module
 * An `equallogic` SR attached on this host: its disks are volumes of one pool of one
 * EqualLogic group, its snapshots the group's snapshots of those volumes (they cost only
 * the blocks the volume later overwrites), clones the group's clones. Everything is read
 * back from the array (`scan`), so the array is the only place the SR's layout lives.
 * Every multi-step change undoes what it made when a step fails or the SSH session drops
 * (its outcome then unknown): the group is left with nothing half made.
 */
import type { BlockDevice } from '../../core/ports/block-device.js';
import type { IscsiCredentials, IscsiInitiator } from '../../core/ports/iscsi-initiator.js';
import type {
  AttachedSr, GcReport, SnapshotResult, SrStat, VdiCreateSpec, VdiInfo, VhdImage, VhdBody, VhdSource, VhdStreamEvent,
} from '../../core/ports/sr-driver.js';
import { openVhdSource, vhdImageOf, vhdStreamEvents } from '../vhd/vhd-image.js';
import { arrayError, vdiInUse, vdiMissing } from '../array/array-errors.js';
import type { EqlClient, EqlVolume } from './eql-client.js';
import type { EqlDeviceConfig } from './eql-device-config.js';
import { asStorageError } from './eql-failures.js';
import { HIDDEN_MARK, isUuid, vdiOfVolume, vdiVolume } from './eql-names.js';
import {
  isLegacyEqlSnapshot, legacyVdiUuid, parseLegacyEqlVolume, parseLegacyRecord, type LegacyName, type LegacyRecord,
} from '../array/legacy-storagelink.js';

const MiB = 1024 * 1024;

/** What the StorageLink Gateway's layout says of a node (an SR it made), if it is of that layout. */
interface Legacy { readonly name?: LegacyName; readonly rec: LegacyRecord; readonly time?: string }

type Node =
  | { kind: 'volume'; uuid: string; name: string; vol: EqlVolume; hidden: boolean; legacy?: Legacy }
  | { kind: 'snapshot'; uuid: string; volumeName: string; volumeUuid: string; snap: string; size: number; iqn: string; legacy?: Legacy };

interface SnapFacts { size: number; iqn: string; description: string; timestamp?: string }

export interface EqlSrContext {
  readonly srUuid: string;
  readonly client: EqlClient;
  readonly config: EqlDeviceConfig;
  readonly initiator: IscsiInitiator;
  readonly hostIqn: () => string;
  readonly identity: string;
  readonly portal: string;
  readonly warnings: readonly string[];
}

export class EqualLogicSr implements AttachedSr {
  private nodes = new Map<string, Node>();
  private readonly active = new Map<string, BlockDevice>();
  private lock: Promise<unknown> = Promise.resolve();
  /** A snapshot's size and target never change: read once per snapshot. */
  private readonly snapFacts = new Map<string, SnapFacts>();

  constructor(private readonly c: EqlSrContext) {}

  get srUuid(): string {
    return this.c.srUuid;
  }

  /** Runs one change at a time on this SR, its failures as XenAPI errors. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn).catch((e) => { throw asStorageError(e); });
    this.lock = next.catch(() => undefined);
    return next;
  }

  private get eql(): EqlClient {
    return this.c.client;
  }

  // ---- reading the array ------------------------------------------------------------

  /** The VDI uuid of a volume of this SR: Islet's name, or the gateway's layout. */
  private volumeUuid(name: string, description = ''): { uuid: string; legacy?: Legacy } | undefined {
    const own = vdiOfVolume(this.c.srUuid, name);
    if (own) return { uuid: own };
    const ln = parseLegacyEqlVolume(this.c.srUuid, name);
    if (!ln) return undefined;
    const rec = parseLegacyRecord(description);
    return { uuid: legacyVdiUuid(ln, rec, `${this.c.identity}/${name}`), legacy: { name: ln, rec } };
  }

  /** Reads one volume of this SR and its snapshots into `nodes`. */
  private async readVolume(name: string, nodes: Map<string, Node>): Promise<void> {
    if (!this.volumeUuid(name)) return;
    const vol = await this.eql.volume(name);
    if (vol.pool && vol.pool !== this.c.config.pool) return;
    const id = this.volumeUuid(name, vol.description)!;
    const legacyVolume = id.legacy !== undefined;
    nodes.set(id.uuid, { kind: 'volume', uuid: id.uuid, name, vol, hidden: vol.description.includes(HIDDEN_MARK), ...(id.legacy ? { legacy: id.legacy } : {}) });
    if (!vol.snapshots) return;
    for (const s of await this.eql.snapshots(name)) {
      const gateway = legacyVolume && isLegacyEqlSnapshot(name, s.name);
      if (!isUuid(s.name) && !gateway) continue;
      const key = `${name}@${s.name}`;
      let d = this.snapFacts.get(key);
      if (!d) {
        const det = await this.eql.snapshotDetail(name, s.name);
        d = { size: det.size, iqn: det.iqn, description: det.description, ...(det.timestamp ? { timestamp: det.timestamp } : {}) };
        this.snapFacts.set(key, d);
      }
      let uuid = s.name;
      let legacy: Legacy | undefined;
      if (!isUuid(s.name)) {
        const rec = parseLegacyRecord(d.description);
        uuid = legacyVdiUuid({ baseUuid: id.uuid, kind: 'snapshot' }, rec, `${this.c.identity}/${name}@${s.name}`);
        legacy = { rec, ...(d.timestamp ? { time: d.timestamp } : {}) };
      }
      nodes.set(uuid, { kind: 'snapshot', uuid, volumeName: name, volumeUuid: id.uuid, snap: s.name, size: d.size, iqn: d.iqn, ...(legacy ? { legacy } : {}) });
    }
  }

  private async rescan(): Promise<Map<string, Node>> {
    const nodes = new Map<string, Node>();
    for (const name of await this.eql.volumeNames()) await this.readVolume(name, nodes);
    this.nodes = nodes;
    return nodes;
  }

  /** Re-reads one volume and its snapshots into the index (cheaper than a full rescan). */
  private async refreshVolume(name: string): Promise<Map<string, Node>> {
    if (!this.volumeUuid(name)) return this.nodes;
    for (const [k, n] of this.nodes) if ((n.kind === 'volume' && n.name === name) || (n.kind === 'snapshot' && n.volumeName === name)) this.nodes.delete(k);
    const names = await this.eql.volumeNames();
    if (!names.includes(name)) return this.nodes;
    await this.readVolume(name, this.nodes);
    return this.nodes;
  }

  /** Names and the snapshot relation the gateway stored for a node of its layout. */
  private legacyFacts(n: Node): Partial<VdiInfo> {
    if (!n.legacy) return {};
    const r = n.legacy.rec;
    const time = r.snapshotTime ?? (n.legacy.time ? xapiTime(n.legacy.time) : undefined);
    return {
      nameLabel: r.nameLabel ?? (n.kind === 'volume' ? n.name : n.snap),
      ...(r.nameDescription !== undefined ? { nameDescription: r.nameDescription } : {}),
      ...(n.kind === 'snapshot' ? { snapshotOf: n.volumeUuid, ...(time ? { snapshotTime: time } : {}) } : {}),
    };
  }

  private info(n: Node, all: Map<string, Node>): VdiInfo {
    if (n.kind === 'volume') {
      return {
        uuid: n.uuid, virtualSize: n.vol.size, physicalUtilisation: n.vol.inUse, hidden: n.hidden, readOnly: n.hidden,
        allocation: n.vol.thin ? 'thin' : 'thick', smConfig: { 'eql-volume': n.name, 'eql-iqn': n.vol.iqn }, ...this.legacyFacts(n),
      };
    }
    const parent = all.get(n.volumeUuid);
    const underHidden = parent?.kind === 'volume' && parent.hidden;
    return {
      uuid: n.uuid, virtualSize: n.size, physicalUtilisation: 0, hidden: false, readOnly: true,
      ...(underHidden ? { parentUuid: n.volumeUuid } : {}),
      allocation: parent?.kind === 'volume' && !parent.vol.thin ? 'thick' : 'thin',
      smConfig: { 'eql-volume': n.volumeName, 'eql-snapshot': n.snap, 'eql-iqn': n.iqn, 'snapshot-of': n.volumeUuid },
      ...this.legacyFacts(n),
    };
  }

  private async node(uuid: string): Promise<Node> {
    let n = this.nodes.get(uuid);
    if (!n) n = (await this.rescan()).get(uuid);
    if (!n) throw vdiMissing(this.c.srUuid, uuid);
    return n;
  }

  private async fresh(uuid: string): Promise<VdiInfo> {
    const all = await this.rescan();
    const n = all.get(uuid);
    if (!n) throw vdiMissing(this.c.srUuid, uuid);
    return this.info(n, all);
  }

  async stat(): Promise<SrStat> {
    return this.serial(async () => {
      const pool = await this.eql.poolInfo(this.c.config.pool);
      const all = await this.rescan();
      let virtual = 0;
      for (const n of all.values()) if (!(n.kind === 'volume' && n.hidden)) virtual += n.kind === 'volume' ? n.vol.size : n.size;
      return {
        identity: this.c.identity, physicalSize: pool.total, physicalUtilisation: pool.total - pool.free, virtualAllocation: virtual,
        ...(this.c.warnings.length ? { warnings: this.c.warnings } : {}),
      };
    });
  }

  async scan(): Promise<VdiInfo[]> {
    return this.serial(async () => {
      const all = await this.rescan();
      return [...all.values()].map((n) => this.info(n, all));
    });
  }

  async vdiStat(uuid: string): Promise<VdiInfo> {
    return this.serial(async () => {
      const n = await this.node(uuid);
      const all = await this.refreshVolume(n.kind === 'volume' ? n.name : n.volumeName);
      const now = all.get(uuid);
      if (!now) throw vdiMissing(this.c.srUuid, uuid);
      return this.info(now, all);
    });
  }

  // ---- changes ----------------------------------------------------------------------

  /** Runs `make`; on any failure removes `volumeName` if the array has it, then rethrows. */
  private async undoVolumeOnFailure<T>(volumeName: string, make: () => Promise<T>): Promise<T> {
    try {
      return await make();
    } catch (e) {
      const names = await this.eql.volumeNames().catch(() => undefined);
      if (names?.includes(volumeName)) await this.eql.deleteVolume(volumeName).catch(() => undefined);
      throw e;
    }
  }

  async vdiCreate(spec: VdiCreateSpec): Promise<VdiInfo> {
    return this.serial(async () => {
      if (this.nodes.has(spec.uuid)) throw arrayError('ARRAY_CLI', `VDI ${spec.uuid} already exists`);
      const name = vdiVolume(this.c.srUuid, spec.uuid);
      await this.undoVolumeOnFailure(name, () => this.eql.createVolume({
        name, sizeMiB: Math.max(1, Math.ceil(spec.virtualSize / MiB)), pool: this.c.config.pool,
        thin: (spec.allocation ?? this.c.config.provision) === 'thin',
      }));
      const all = await this.refreshVolume(name);
      return this.info(all.get(spec.uuid)!, all);
    });
  }

  async vdiDestroy(uuid: string): Promise<void> {
    return this.serial(async () => {
      const n = await this.node(uuid);
      if (this.active.has(uuid)) throw vdiInUse(uuid, 'destroy');
      if (n.kind === 'snapshot') {
        await this.eql.deleteSnapshot(n.volumeName, n.snap);
      } else if (n.vol.snapshots > 0) {
        // Deleting the volume would delete its snapshots: keep it hidden until they go.
        // A gateway volume keeps what it stored (its uuid may be there) beside the mark.
        await this.eql.setVolume(n.name, `description ${n.legacy && n.vol.description ? `"${n.vol.description.replace(/"/g, '')}&${HIDDEN_MARK}"` : HIDDEN_MARK}`);
      } else {
        await this.eql.deleteVolume(n.name);
      }
      await this.rescan();
    });
  }

  async vdiResize(uuid: string, newVirtualSize: number): Promise<VdiInfo> {
    return this.serial(async () => {
      const n = await this.node(uuid);
      if (n.kind !== 'volume' || n.hidden) throw arrayError('ARRAY_CLI', `VDI ${uuid} is read-only and cannot be resized`);
      if (newVirtualSize < n.vol.size) throw arrayError('ARRAY_CLI', 'an EqualLogic volume cannot shrink');
      await this.eql.setVolume(n.name, `size ${Math.ceil(newVirtualSize / MiB)}MB`);
      return this.fresh(uuid);
    });
  }

  /** Takes an array snapshot of `volumeName` named `snap`, deleting whatever a failed attempt left. */
  private async snapshotOf(volumeName: string, snap: string): Promise<void> {
    const before = new Set((await this.eql.snapshots(volumeName)).map((s) => s.name));
    try {
      await this.eql.snapshot(volumeName, snap);
    } catch (e) {
      const after = await this.eql.snapshots(volumeName).catch(() => []);
      for (const s of after) if (!before.has(s.name)) await this.eql.deleteSnapshot(volumeName, s.name).catch(() => undefined);
      throw e;
    }
  }

  async vdiSnapshot(uuid: string, newUuid: string): Promise<SnapshotResult> {
    return this.serial(async () => {
      const n = await this.node(uuid);
      if (n.kind === 'volume') {
        await this.snapshotOf(n.name, newUuid);
        const all = await this.refreshVolume(n.name);
        return { created: this.info(all.get(newUuid)!, all), original: this.info(all.get(uuid)!, all) };
      }
      // An array cannot snapshot a snapshot: clone it to a hidden base volume and snapshot that.
      const baseUuid = crypto.randomUUID();
      const base = vdiVolume(this.c.srUuid, baseUuid);
      await this.undoVolumeOnFailure(base, async () => {
        await this.eql.cloneSnapshot(n.volumeName, n.snap, base, HIDDEN_MARK);
        await this.snapshotOf(base, newUuid);
      });
      const all = await this.rescan();
      return { created: this.info(all.get(newUuid)!, all), original: this.info(all.get(uuid)!, all), base: this.info(all.get(baseUuid)!, all) };
    });
  }

  async vdiClone(uuid: string, newUuid: string): Promise<SnapshotResult> {
    return this.serial(async () => {
      const n = await this.node(uuid);
      const name = vdiVolume(this.c.srUuid, newUuid);
      await this.undoVolumeOnFailure(name, async () => {
        if (n.kind === 'volume') await this.eql.cloneVolume(n.name, name);
        else await this.eql.cloneSnapshot(n.volumeName, n.snap, name);
      });
      const all = await this.refreshVolume(name);
      return { created: this.info(all.get(newUuid)!, all), original: this.info(all.get(uuid)!, all) };
    });
  }

  // ---- data path ----------------------------------------------------------------------

  private creds(): IscsiCredentials {
    return { initiatorIqn: this.c.hostIqn(), ...(this.c.config.chap ? { chap: this.c.config.chap } : {}) };
  }

  async activate(uuid: string, opts: { readOnly: boolean }): Promise<BlockDevice> {
    return this.serial(async () => {
      const n = await this.node(uuid);
      const readOnlyNode = n.kind === 'snapshot' || n.hidden;
      if (readOnlyNode && !opts.readOnly) throw arrayError('ARRAY_CLI', `VDI ${uuid} is a snapshot and opens read-only`);
      const volumeName = n.kind === 'volume' ? n.name : n.volumeName;
      const iqn = this.c.hostIqn();
      // One access record per host initiator, for the volume and its snapshots.
      const records = await this.eql.access(volumeName);
      if (!records.some((r) => r.initiator === iqn)) await this.eql.addAccess(volumeName, iqn, this.c.config.chap?.user);
      if (n.kind === 'snapshot') await this.eql.setSnapshot(n.volumeName, n.snap, 'online');
      const targetIqn = n.kind === 'volume' ? n.vol.iqn : n.iqn;
      const dev = await this.c.initiator.openLun({ portal: this.c.portal, targetIqn, lun: 0 }, this.creds(), { readOnly: opts.readOnly });
      const active = this.active;
      const wrapped = closingHook(dev, () => { if (active.get(uuid) === wrapped) active.delete(uuid); });
      active.set(uuid, wrapped);
      return wrapped;
    });
  }

  async deactivate(uuid: string): Promise<void> {
    const dev = this.active.get(uuid);
    if (dev) await dev.close();
  }

  async gc(): Promise<GcReport> {
    return this.serial(async () => {
      const removed: string[] = [];
      for (const n of (await this.rescan()).values()) {
        if (n.kind === 'volume' && n.hidden && n.vol.snapshots === 0) {
          await this.eql.deleteVolume(n.name);
          removed.push(n.uuid);
        }
      }
      if (removed.length) await this.rescan();
      return { removed, coalesced: [], split: [] };
    });
  }

  /** VHD export and import are the same on every SR type: the VHD format library does both. */
  exportVhd(dev: BlockDevice, uuid: string): Promise<VhdImage> {
    return vhdImageOf(dev, uuid);
  }

  openVhd(path: string): Promise<VhdSource> {
    return openVhdSource(path);
  }

  readVhdStream(body: VhdBody): AsyncIterable<VhdStreamEvent> {
    return vhdStreamEvents(body);
  }

  async detach(): Promise<void> {
    for (const dev of [...this.active.values()]) await dev.close().catch(() => undefined);
    this.c.client.close();
  }
}

/** A time the group prints, as XenAPI prints datetimes (`20120721T10:00:00Z`). */
function xapiTime(text: string): string | undefined {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : `${d.toISOString().slice(0, 19).replace(/-/g, '')}Z`;
}

/** `dev`, with `onClose` run when it is closed (the SR's record of active disks). */
function closingHook(dev: BlockDevice, onClose: () => void): BlockDevice {
  return {
    get size() { return dev.size; },
    get readOnly() { return dev.readOnly; },
    ...(dev.minBlockSize !== undefined ? { minBlockSize: dev.minBlockSize } : {}),
    ...(dev.preferredBlockSize !== undefined ? { preferredBlockSize: dev.preferredBlockSize } : {}),
    read: (o, l, into) => dev.read(o, l, into),
    write: (o, d, opts) => dev.write(o, d, opts),
    writeZeroes: (o, l, opts) => dev.writeZeroes(o, l, opts),
    trim: (o, l) => dev.trim(o, l),
    flush: () => dev.flush(),
    blockStatus: (o, l) => dev.blockStatus(o, l),
    close: async () => { onClose(); await dev.close(); },
  };
}
