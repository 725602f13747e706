/**
 * @module
 * The simulated ONTAP array's storage operations: FlexVols (thin or space-guaranteed,
 * FlexClone volumes from a Snapshot copy), LUNs (plain, or FlexClone LUNs sharing blocks in
 * the same volume), volume Snapshot copies, each refusing what ONTAP refuses and with the
 * space rules of `ontap-space`. Writes arriving through the iSCSI target go through the
 * array store's allocation guard, which applies the volume and aggregate limits and
 * autosize. SAN access (igroups, LUN maps) is in `ontap-san`.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ArrayStore } from '../array-store/array-store.js';
import { badRequest, notFound, OntapCode, OntapError } from './ontap-errors.js';
import {
  aggregateSpace, formatBytes, lunReservationHonoured, volumeFootprint, volumeSpace, type VolumeSpace,
} from './ontap-space.js';
import {
  loadOntapState, newLunSerial, newOntapState, saveOntapState,
  type Aggregate, type AutosizeMode, type GuaranteeType, type Lun, type OntapState, type Snapshot, type Volume,
} from './ontap-state.js';

const MiB = 1024 * 1024;
const MIN_VOLUME = 20 * MiB;
const MAX_LUN = 16 * 1024 ** 4;
const VOLUME_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,202}$/;
const LUN_NAME = /^[A-Za-z0-9_.{}-]{1,255}$/;

/** A reference in a request body: `{name}` or `{uuid}`. */
export interface NameOrUuid {
  name?: string;
  uuid?: string;
}

type Json = Record<string, unknown>;

export class OntapArray {
  private saving: Promise<void> = Promise.resolve();
  private readonly listeners: Array<() => void> = [];

  private constructor(readonly dir: string, readonly state: OntapState, readonly store: ArrayStore) {
    store.setAllocationGuard((storeId, _n, bs, d) => this.allowWrite(storeId, bs, d));
  }

  /** Opens the array in `dir`; a new directory gets a new array with these aggregates. */
  static async open(dir: string, aggregates: readonly { name: string; size: number }[]): Promise<OntapArray> {
    const state = (await loadOntapState(dir)) ?? newOntapState(aggregates);
    for (const a of aggregates) if (!state.aggregates.some((x) => x.name === a.name)) state.aggregates.push({ uuid: randomUUID(), ...a });
    const array = new OntapArray(dir, state, await ArrayStore.open(join(dir, 'store')));
    await array.save();
    return array;
  }

  /** Called after any change of LUNs, igroups or maps (the iSCSI target follows). */
  onSanChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  sanChanged(): void {
    for (const fn of this.listeners) fn();
  }

  async save(): Promise<void> {
    this.saving = this.saving.then(() => saveOntapState(this.dir, this.state));
    await this.saving;
  }

  async close(): Promise<void> {
    await this.saving;
    await this.store.close();
  }

  // ---- lookups ----

  aggregate(ref: NameOrUuid | undefined): Aggregate {
    const a = this.state.aggregates.find((x) => (ref?.uuid ? x.uuid === ref.uuid : x.name === ref?.name));
    if (!a) throw new OntapError(404, OntapCode.aggregateNotFound, `Aggregate "${ref?.name ?? ref?.uuid ?? ''}" does not exist.`, 'aggregates');
    return a;
  }

  volume(ref: NameOrUuid): Volume {
    const v = this.state.volumes.find((x) => (ref.uuid ? x.uuid === ref.uuid : x.name === ref.name));
    if (!v) throw new OntapError(404, OntapCode.volumeNotFound, `The specified volume was not found.`, 'volume');
    return v;
  }

  lun(ref: NameOrUuid): Lun {
    const l = ref.uuid ? this.state.luns.find((x) => x.uuid === ref.uuid) : this.lunByPath(ref.name ?? '');
    if (!l) throw new OntapError(404, OntapCode.lunNotFound, 'The specified LUN was not found.', 'lun');
    return l;
  }

  lunPath(l: Lun): string {
    return `/vol/${this.volumeOf(l).name}/${l.name}`;
  }

  volumeOf(l: Lun): Volume {
    return this.state.volumes.find((v) => v.uuid === l.volume)!;
  }

  volumeSpace(v: Volume): VolumeSpace {
    return volumeSpace(this.state, this.store, v);
  }

  aggregateSpace(a: Aggregate) {
    return aggregateSpace(this.state, this.store, a);
  }

  private lunByPath(path: string): Lun | undefined {
    const m = /^\/vol\/([^/]+)\/([^/]+)$/.exec(path);
    if (!m) return undefined;
    const vol = this.state.volumes.find((v) => v.name === m[1]);
    return vol && this.state.luns.find((l) => l.volume === vol.uuid && l.name === m[2]);
  }

  private checkSvm(svm: NameOrUuid | undefined): void {
    if (!svm || (!svm.name && !svm.uuid)) throw badRequest(OntapCode.noSvm, 'No SVM was specified. Either "svm.name" or "svm.uuid" must be supplied.', 'svm');
    if ((svm.name && svm.name !== this.state.svm.name) || (svm.uuid && svm.uuid !== this.state.svm.uuid)) {
      throw new OntapError(404, OntapCode.svmNotFound, 'The specified SVM does not exist.', 'svm');
    }
  }

  // ---- volumes ----

  async createVolume(body: Json): Promise<Volume> {
    this.checkSvm(body.svm as NameOrUuid);
    const name = String(body.name ?? '');
    if (!VOLUME_NAME.test(name)) throw badRequest(OntapCode.invalidField, `Invalid volume name "${name}".`, 'name');
    if (this.state.volumes.some((v) => v.name === name)) throw new OntapError(409, OntapCode.duplicateVolume, `Duplicate volume name "${name}".`, 'name');
    const clone = body.clone as { is_flexclone?: boolean; parent_volume?: NameOrUuid; parent_snapshot?: NameOrUuid } | undefined;
    const parent = clone?.is_flexclone ? this.volume(clone.parent_volume ?? {}) : undefined;
    const aggrs = body.aggregates as NameOrUuid[] | undefined;
    if (!parent && (!Array.isArray(aggrs) || aggrs.length !== 1)) {
      throw badRequest(OntapCode.oneAggregate, 'When creating a flexible volume, exactly one aggregate must be specified via either "aggregates.name" or "aggregates.uuid".', 'aggregates');
    }
    const aggr = parent ? this.state.aggregates.find((a) => a.uuid === parent.aggregate)! : this.aggregate(aggrs![0]);
    const space = (body.space ?? {}) as { snapshot?: { reserve_percent?: number }; fractional_reserve?: number };
    const guarantee = parseGuarantee((body.guarantee as Json | undefined)?.type ?? parent?.guarantee ?? 'volume');
    const size = parent ? parent.size : parseSize(body.size ?? MIN_VOLUME, 'size');
    if (size < MIN_VOLUME) throw badRequest(OntapCode.invalidField, `Volume size ${size} is below the minimum of ${formatBytes(MIN_VOLUME)}.`, 'size');
    const reserve = space.snapshot?.reserve_percent ?? parent?.snapshotReservePercent ?? 5;
    if (!Number.isInteger(reserve) || reserve < 0) throw badRequest(OntapCode.invalidField, 'Invalid snapshot reserve percent.', 'space.snapshot.reserve_percent');
    if (reserve > 90) throw badRequest(OntapCode.snapshotReserveTooLarge, 'Maximum allowed snapshot.reserve_percent value during a volume creation is 90. Use PATCH to set it to a higher value after the volume has been created.', 'space.snapshot.reserve_percent');
    const autosize = (body.autosize ?? {}) as { mode?: string; maximum?: number; grow_threshold?: number };
    const vol: Volume = {
      uuid: randomUUID(),
      name,
      aggregate: aggr.uuid,
      size,
      guarantee,
      fractionalReserve: parseFractionalReserve(space.fractional_reserve ?? (guarantee === 'volume' ? 100 : 0)),
      snapshotReservePercent: reserve,
      snapshotPolicy: String((body.snapshot_policy as Json | undefined)?.name ?? 'default'),
      autosize: {
        mode: parseAutosizeMode(autosize.mode ?? 'off'),
        maximum: autosize.maximum === undefined ? Math.floor(size * 1.2) : parseSize(autosize.maximum, 'autosize.maximum'),
        growThreshold: autosize.grow_threshold ?? 85,
      },
      comment: String(body.comment ?? ''),
      createTime: new Date().toISOString(),
    };
    if (guarantee === 'volume') this.requireAggregateSpace(aggr, size, `Request to provision volume "${name}"`);
    if (parent) {
      const snap = clone?.parent_snapshot ? this.snapshot(parent, clone.parent_snapshot) : await this.createSnapshot(parent, { name: `clone_${name}.${Date.now()}` });
      vol.clone = { parentVolume: parent.uuid, parentSnapshot: snap.uuid };
      this.state.volumes.push(vol);
      for (const [lunName, frozen] of Object.entries(snap.luns)) {
        const src = this.state.luns.find((l) => l.volume === parent.uuid && l.name === lunName);
        const lun = this.newLun(vol, lunName, frozen.size, src?.osType ?? 'linux', frozen.guaranteeRequested, src?.thinProvisioningSupport ?? false);
        await this.store.clone(frozen.storeId, lun.storeId);
        this.state.luns.push(lun);
      }
    } else {
      this.state.volumes.push(vol);
    }
    await this.save();
    return vol;
  }

  async patchVolume(vol: Volume, body: Json): Promise<void> {
    const next: Volume = structuredClone(vol);
    if (body.size !== undefined) next.size = parseSize(body.size, 'size');
    const g = (body.guarantee as Json | undefined)?.type;
    if (g !== undefined) next.guarantee = parseGuarantee(g);
    const space = (body.space ?? {}) as { snapshot?: { reserve_percent?: number }; fractional_reserve?: number };
    if (space.snapshot?.reserve_percent !== undefined) {
      const r = space.snapshot.reserve_percent;
      if (!Number.isInteger(r) || r < 0 || r > 100) throw badRequest(OntapCode.invalidField, 'Invalid snapshot reserve percent.', 'space.snapshot.reserve_percent');
      next.snapshotReservePercent = r;
    }
    if (space.fractional_reserve !== undefined) next.fractionalReserve = parseFractionalReserve(space.fractional_reserve);
    const autosize = body.autosize as { mode?: string; maximum?: number; grow_threshold?: number } | undefined;
    if (autosize?.mode !== undefined) next.autosize.mode = parseAutosizeMode(autosize.mode);
    if (autosize?.maximum !== undefined) next.autosize.maximum = parseSize(autosize.maximum, 'autosize.maximum');
    if (autosize?.grow_threshold !== undefined) next.autosize.growThreshold = autosize.grow_threshold;
    const policy = (body.snapshot_policy as Json | undefined)?.name;
    if (policy !== undefined) next.snapshotPolicy = String(policy);
    if (body.comment !== undefined) next.comment = String(body.comment);
    const split = (body.clone as Json | undefined)?.split_initiated;
    if (split === true) delete next.clone;
    if (next.size < MIN_VOLUME) throw badRequest(OntapCode.invalidField, `Volume size ${next.size} is below the minimum of ${formatBytes(MIN_VOLUME)}.`, 'size');
    const aggr = this.state.aggregates.find((a) => a.uuid === vol.aggregate)!;
    const before = volumeFootprint(vol, this.volumeSpace(vol));
    const idx = this.state.volumes.indexOf(vol);
    this.state.volumes[idx] = next;
    try {
      const sp = this.volumeSpace(next);
      if (sp.used > next.size - sp.snapshotReserve) {
        throw new OntapError(400, OntapCode.volumeNoSpace, `Unable to set volume attribute "size" for volume "${vol.name}". Reason: the new size ${formatBytes(next.size)} is smaller than the space in use (${formatBytes(sp.used + sp.snapshotReserve)}).`, 'size');
      }
      const growth = volumeFootprint(next, sp) - before;
      if (growth > 0) this.requireAggregateSpace(aggr, growth, `Request to increase the size of volume "${vol.name}"`, next);
    } catch (e) {
      this.state.volumes[idx] = vol;
      throw e;
    }
    await this.save();
  }

  async deleteVolume(vol: Volume): Promise<void> {
    if (this.state.volumes.some((v) => v.clone?.parentVolume === vol.uuid)) {
      throw new OntapError(409, OntapCode.volumeHasClones, `Volume "${vol.name}" in Vserver "${this.state.svm.name}" has FlexClone volumes; split or delete them first.`);
    }
    const luns = this.state.luns.filter((l) => l.volume === vol.uuid);
    if (luns.some((l) => this.state.lunMaps.some((m) => m.lun === l.uuid))) {
      throw new OntapError(409, OntapCode.volumeHasLuns, `Volume "${vol.name}" has mapped LUNs; unmap them first.`);
    }
    for (const l of luns) await this.store.delete(l.storeId);
    for (const s of this.state.snapshots.filter((x) => x.volume === vol.uuid)) for (const f of Object.values(s.luns)) await this.store.delete(f.storeId);
    this.state.luns = this.state.luns.filter((l) => l.volume !== vol.uuid);
    this.state.snapshots = this.state.snapshots.filter((s) => s.volume !== vol.uuid);
    this.state.volumes = this.state.volumes.filter((v) => v !== vol);
    await this.save();
    this.sanChanged();
  }

  // ---- Snapshot copies ----

  snapshot(vol: Volume, ref: NameOrUuid): Snapshot {
    const s = this.state.snapshots.find((x) => x.volume === vol.uuid && (ref.uuid ? x.uuid === ref.uuid : x.name === ref.name));
    if (!s) throw new OntapError(404, OntapCode.snapshotNotFound, `Snapshot copy "${ref.name ?? ref.uuid}" of volume "${vol.name}" does not exist.`);
    return s;
  }

  /** Freezes every LUN of the volume. Autosize does not run for this: the space must already be there. */
  async createSnapshot(vol: Volume, body: Json): Promise<Snapshot> {
    const name = String(body.name ?? '');
    if (!/^[A-Za-z0-9_.:+-]{1,255}$/.test(name)) throw badRequest(OntapCode.invalidField, `Invalid Snapshot copy name "${name}".`, 'name');
    if (this.state.snapshots.some((s) => s.volume === vol.uuid && s.name === name)) {
      throw new OntapError(409, OntapCode.snapshotExists, `Snapshot copy "${name}" of volume "${vol.name}" already exists.`);
    }
    const luns = this.state.luns.filter((l) => l.volume === vol.uuid);
    if (vol.fractionalReserve > 0) {
      const sp = this.volumeSpace(vol);
      let extra = 0;
      for (const l of luns) if (lunReservationHonoured(vol, l)) extra += this.store.mappedBytes(l.storeId);
      extra = Math.floor((extra * vol.fractionalReserve) / 100) - sp.overwriteReserve;
      if (extra > sp.available) {
        throw new OntapError(400, OntapCode.volumeNoSpace, `Failed to create Snapshot copy "${name}" on volume "${vol.name}": not enough space for the overwrite reserve (needs ${formatBytes(extra)}, ${formatBytes(sp.available)} available).`);
      }
    }
    const snap: Snapshot = { uuid: randomUUID(), volume: vol.uuid, name, comment: String(body.comment ?? ''), createTime: new Date().toISOString(), luns: {} };
    for (const l of luns) {
      const storeId = `snap:${snap.uuid}:${l.uuid}`;
      await this.store.clone(l.storeId, storeId);
      snap.luns[l.name] = { storeId, size: l.size, guaranteeRequested: l.guaranteeRequested };
    }
    this.state.snapshots.push(snap);
    await this.save();
    return snap;
  }

  /** Owners that keep a Snapshot copy busy (FlexClone volumes not yet split). */
  snapshotOwners(s: Snapshot): string[] {
    return this.state.volumes.some((v) => v.clone?.parentSnapshot === s.uuid) ? ['volume_clone'] : [];
  }

  async deleteSnapshot(vol: Volume, s: Snapshot): Promise<void> {
    if (this.snapshotOwners(s).length > 0) {
      throw new OntapError(409, OntapCode.snapshotBusy, `Snapshot copy "${s.name}" of volume "${vol.name}" on Vserver "${this.state.svm.name}" is busy: it backs a FlexClone volume. Split or delete the clone first.`);
    }
    for (const f of Object.values(s.luns)) await this.store.delete(f.storeId);
    this.state.snapshots = this.state.snapshots.filter((x) => x !== s);
    await this.save();
  }

  // ---- LUNs ----

  async createLun(body: Json): Promise<Lun> {
    this.checkSvm(body.svm as NameOrUuid);
    const path = String(body.name ?? '');
    const m = /^\/vol\/([^/]+)\/([^/]+)$/.exec(path);
    if (!m) throw badRequest(OntapCode.lunNameInvalid, `An invalid name was provided for the LUN: "${path}".`, 'name');
    const vol = this.volume({ name: m[1]! });
    const base = m[2]!;
    if (base === '.snapshot' || path.includes('/.snapshot/')) throw badRequest(OntapCode.lunInSnapshot, 'LUNs cannot be created in Snapshot copies.', 'name');
    if (!LUN_NAME.test(base)) throw badRequest(OntapCode.lunNameInvalid, 'A LUN name can only contain characters A-Z, a-z, 0-9, "-", ".", "_", "{" and "}".', 'name');
    if (this.state.luns.some((l) => l.volume === vol.uuid && l.name === base)) throw new OntapError(409, OntapCode.lunExists, 'A LUN or NVMe namespace already exists at the specified path.', 'name');
    const space = (body.space ?? {}) as { size?: number; guarantee?: { requested?: boolean }; scsi_thin_provisioning_support_enabled?: boolean };
    const source = ((body.clone as Json | undefined)?.source ?? undefined) as NameOrUuid | undefined;
    let lun: Lun;
    let sourceStoreId: string | undefined;
    if (source) {
      if (body.os_type !== undefined || space.size !== undefined) {
        throw badRequest(OntapCode.invalidField, 'os_type and space.size are taken from the source LUN and cannot be given when cloning.', body.os_type !== undefined ? 'os_type' : 'space.size');
      }
      const src = this.cloneSource(source);
      if (src.volume.uuid !== vol.uuid) throw badRequest(OntapCode.cloneAcrossVolumes, 'A LUN clone must be in the same volume as its source.', 'clone.source');
      // A clone inherits the source's space reservation unless the request says otherwise.
      lun = this.newLun(vol, base, src.size, src.osType, space.guarantee?.requested ?? src.guaranteeRequested, space.scsi_thin_provisioning_support_enabled ?? src.thin);
      lun.cloneSource = source.name ?? src.path;
      sourceStoreId = src.storeId;
    } else {
      if (body.os_type === undefined) throw badRequest(OntapCode.invalidField, 'os_type is required when creating a LUN.', 'os_type');
      const size = parseSize(space.size, 'space.size');
      if (size < 4096) throw badRequest(OntapCode.lunSizeTooSmall, 'The specified size is too small for the LUN.', 'space.size');
      if (size > MAX_LUN) throw badRequest(OntapCode.lunSizeTooLarge, 'The specified size is too large for the LUN.', 'space.size');
      lun = this.newLun(vol, base, size, String(body.os_type), space.guarantee?.requested ?? false, space.scsi_thin_provisioning_support_enabled ?? false);
    }
    lun.comment = String(body.comment ?? '');
    this.checkLunFits(vol, lun, sourceStoreId);
    if (sourceStoreId) await this.store.clone(sourceStoreId, lun.storeId);
    else await this.store.create(lun.storeId, lun.size);
    this.state.luns.push(lun);
    await this.save();
    return lun;
  }

  async patchLun(lun: Lun, body: Json): Promise<void> {
    const vol = this.volumeOf(lun);
    const space = (body.space ?? {}) as { size?: number; guarantee?: { requested?: boolean }; scsi_thin_provisioning_support_enabled?: boolean };
    const next: Lun = { ...lun };
    if (space.size !== undefined) next.size = parseSize(space.size, 'space.size');
    if (next.size < lun.size) throw badRequest(OntapCode.lunSizeTooSmall, 'The specified LUN size is too small.', 'space.size');
    if (next.size > MAX_LUN) throw badRequest(OntapCode.lunSizeTooLarge, 'The specified LUN size is too large.', 'space.size');
    if (space.guarantee?.requested !== undefined) next.guaranteeRequested = space.guarantee.requested === true;
    if (space.scsi_thin_provisioning_support_enabled !== undefined) next.thinProvisioningSupport = space.scsi_thin_provisioning_support_enabled === true;
    if (body.comment !== undefined) next.comment = String(body.comment);
    const idx = this.state.luns.indexOf(lun);
    this.state.luns[idx] = next;
    try {
      this.checkLunFits(vol, next, next.storeId, lun);
    } catch (e) {
      this.state.luns[idx] = lun;
      throw e;
    }
    if (next.size !== lun.size) await this.store.resize(lun.storeId, next.size);
    await this.save();
    this.sanChanged();
  }

  async deleteLun(lun: Lun, allowMapped: boolean): Promise<void> {
    const mapped = this.state.lunMaps.some((m) => m.lun === lun.uuid);
    if (mapped && !allowMapped) throw badRequest(OntapCode.lunMapped, 'The LUN is mapped and cannot be deleted without specifying the "allow_delete_while_mapped" query parameter.');
    this.state.lunMaps = this.state.lunMaps.filter((m) => m.lun !== lun.uuid);
    this.state.luns = this.state.luns.filter((l) => l !== lun);
    await this.store.delete(lun.storeId);
    await this.save();
    if (mapped) this.sanChanged();
  }

  private newLun(vol: Volume, name: string, size: number, osType: string, requested: boolean, thin: boolean): Lun {
    const uuid = randomUUID();
    return {
      uuid, volume: vol.uuid, name, size, osType, guaranteeRequested: requested, thinProvisioningSupport: thin,
      serial: newLunSerial(), comment: '', createTime: new Date().toISOString(), storeId: `lun:${uuid}`,
    };
  }

  private cloneSource(ref: NameOrUuid): { volume: Volume; storeId: string; size: number; osType: string; guaranteeRequested: boolean; thin: boolean; path: string } {
    const snapPath = ref.name ? /^\/vol\/([^/]+)\/\.snapshot\/([^/]+)\/([^/]+)$/.exec(ref.name) : null;
    if (snapPath) {
      const vol = this.volume({ name: snapPath[1]! });
      const frozen = this.snapshot(vol, { name: snapPath[2]! }).luns[snapPath[3]!];
      if (!frozen) throw new OntapError(404, OntapCode.lunNotFound, 'The specified LUN was not found. This can apply to "clone.source" or the target LUN.', 'clone.source');
      const live = this.state.luns.find((l) => l.volume === vol.uuid && l.name === snapPath[3]);
      return { volume: vol, storeId: frozen.storeId, size: frozen.size, osType: live?.osType ?? 'linux', guaranteeRequested: frozen.guaranteeRequested, thin: live?.thinProvisioningSupport ?? false, path: ref.name! };
    }
    const src = this.lun(ref);
    return { volume: this.volumeOf(src), storeId: src.storeId, size: src.size, osType: src.osType, guaranteeRequested: src.guaranteeRequested, thin: src.thinProvisioningSupport, path: this.lunPath(src) };
  }

  /** A LUN must fit its volume's data space; an honoured reservation must find free space now. */
  private checkLunFits(vol: Volume, lun: Lun, sharedWith: string | undefined, previous?: Lun): void {
    const sp = this.volumeSpace(vol);
    const dataSpace = vol.size - sp.snapshotReserve;
    if (lun.size > dataSpace) {
      throw new OntapError(400, OntapCode.lunSizeTooLarge, `The specified size ${formatBytes(lun.size)} is too large for the LUN: volume "${vol.name}" has ${formatBytes(dataSpace)} of data space.`, 'space.size');
    }
    if (!lunReservationHonoured(vol, lun)) return;
    const written = sharedWith ? this.store.mappedBytes(sharedWith) : 0;
    const had = previous && lunReservationHonoured(vol, previous) ? Math.max(0, previous.size - written) : 0;
    const needs = Math.max(0, lun.size - written) - had;
    if (needs > sp.available) {
      throw new OntapError(400, OntapCode.volumeNoSpace, `Not enough space in volume "${vol.name}" to reserve ${formatBytes(needs)} for LUN "${lun.name}" (${formatBytes(sp.available)} available).`, 'space.guarantee.requested');
    }
  }

  private requireAggregateSpace(aggr: Aggregate, bytes: number, what: string, except?: Volume): void {
    const sp = aggregateSpace(this.state, this.store, aggr, except);
    if (bytes > sp.available) {
      throw new OntapError(400, OntapCode.aggregateNoSpace, `${what} failed because there is not enough space in aggregate "${aggr.name}". Either create ${formatBytes(bytes - sp.available)} of free space in the aggregate or select a size of at most ${formatBytes(sp.available)}.`, 'size');
    }
  }

  // ---- writes from the iSCSI target ----

  /** The allocation guard: volume space (with autosize), then aggregate space. */
  private allowWrite(storeId: string, bs: number, d: { fresh: number; copies: number }): void {
    const lun = this.state.luns.find((l) => l.storeId === storeId);
    if (!lun) throw enospc(`LUN store ${storeId} is read-only (a Snapshot copy)`);
    const vol = this.volumeOf(lun);
    const sp = this.volumeSpace(vol);
    const reserved = lunReservationHonoured(vol, lun);
    // Fresh blocks of a reserved LUN come out of its reservation. A copied block either
    // leaves its old copy to a Snapshot copy (which may spill past the snapshot reserve;
    // with FR 100 a reserved LUN's overwrite reserve pays for it) or, with no Snapshot
    // copies, doubles a block shared with a FlexClone LUN.
    const hasSnaps = this.state.snapshots.some((s) => s.volume === vol.uuid);
    const copied = d.copies * bs;
    const spill = Math.max(0, sp.snapshotData + copied - sp.snapshotReserve) - Math.max(0, sp.snapshotData - sp.snapshotReserve);
    let needs = reserved ? 0 : d.fresh * bs;
    needs += hasSnaps ? spill - (reserved && vol.fractionalReserve === 100 ? copied : 0) : copied;
    if (needs > sp.available) this.autogrow(vol, sp, needs);
    const aggr = this.state.aggregates.find((a) => a.uuid === vol.aggregate)!;
    const aggrSp = aggregateSpace(this.state, this.store, aggr);
    const newBytes = (d.fresh + d.copies) * bs;
    const growth = vol.guarantee === 'volume' ? Math.max(0, sp.physical + newBytes - vol.size) - Math.max(0, sp.physical - vol.size) : newBytes;
    if (growth > aggrSp.available) throw enospc(`aggregate "${aggr.name}" is full`);
  }

  private autogrow(vol: Volume, sp: VolumeSpace, needs: number): void {
    if (vol.autosize.mode === 'off') throw enospc(`volume "${vol.name}" is full`);
    const target = Math.ceil(((sp.used + needs) * 100) / Math.max(1, 100 - vol.snapshotReservePercent));
    const step = Math.max(target, vol.size + Math.ceil(vol.size * 0.05));
    const size = Math.min(vol.autosize.maximum, step);
    if (size < target) throw enospc(`volume "${vol.name}" is full and autosize reached its maximum of ${formatBytes(vol.autosize.maximum)}`);
    if (vol.guarantee === 'volume') {
      const aggr = this.state.aggregates.find((a) => a.uuid === vol.aggregate)!;
      if (size - vol.size > aggregateSpace(this.state, this.store, aggr).available) throw enospc(`volume "${vol.name}" is full and aggregate "${aggr.name}" cannot grow it`);
    }
    vol.size = size;
    void this.save();
  }
}

function enospc(message: string): Error {
  return Object.assign(new Error(`no space: ${message}`), { code: 'ENOSPC' });
}

function parseSize(v: unknown, target: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badRequest(OntapCode.invalidField, `An invalid size value was provided for "${target}".`, target);
  return v;
}

function parseGuarantee(v: unknown): GuaranteeType {
  if (v !== 'volume' && v !== 'none') throw badRequest(OntapCode.invalidField, `Invalid value "${String(v)}" for guarantee.type.`, 'guarantee.type');
  return v;
}

function parseAutosizeMode(v: unknown): AutosizeMode {
  if (v !== 'grow' && v !== 'grow_shrink' && v !== 'off') throw badRequest(OntapCode.invalidField, `Invalid value "${String(v)}" for autosize.mode.`, 'autosize.mode');
  return v;
}

function parseFractionalReserve(v: unknown): number {
  if (v !== 0 && v !== 100) throw badRequest(OntapCode.invalidField, 'Fractional reserve must be 0 or 100.', 'space.fractional_reserve');
  return v;
}

export { notFound };
