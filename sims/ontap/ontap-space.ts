/**
 * @module
 * ONTAP's space rules, as NetApp documents them, computed from what the array store really
 * holds:
 *
 * - A volume with `guarantee volume` takes its whole size from the aggregate at once; with
 *   `guarantee none` it takes only the blocks written into it (thin).
 * - A LUN's space reservation (`space.guarantee.requested`) is honoured only inside a
 *   space-guaranteed volume; an honoured reservation sets aside the LUN's unwritten size in
 *   the volume.
 * - Fractional reserve (0 or 100) is overwrite space: once a Snapshot copy locks blocks of
 *   a reserved LUN, FR% of those blocks are set aside too (the "2x LUN + delta" rule: a
 *   5 GB LUN with 2 GB written uses 7 GB after one Snapshot copy).
 * - The snapshot reserve (`reserve_percent` of the volume size) is held for Snapshot copies;
 *   Snapshot data beyond it spills into the volume's data space.
 * - Autosize grows a full volume in steps up to its maximum, never past it, and only while
 *   the aggregate can give the space; Snapshot creation does not trigger it.
 */
import type { ArrayStore } from '../array-store/array-store.js';
import type { Aggregate, Lun, OntapState, Volume } from './ontap-state.js';

export interface VolumeSpace {
  readonly size: number;
  readonly snapshotReserve: number;
  /** Active data + honoured LUN reservations + overwrite reserve + snapshot spill. */
  readonly used: number;
  readonly available: number;
  /** Blocks the active LUNs hold. */
  readonly activeData: number;
  /** Blocks only Snapshot copies hold. */
  readonly snapshotData: number;
  readonly lunReservation: number;
  readonly overwriteReserve: number;
  /** Distinct blocks of the volume (active and Snapshot copies): its thin footprint. */
  readonly physical: number;
}

export function lunReservationHonoured(vol: Volume, lun: Pick<Lun, 'guaranteeRequested'>): boolean {
  return lun.guaranteeRequested && vol.guarantee === 'volume';
}

export function activeStoreIds(state: OntapState, vol: Volume): string[] {
  return state.luns.filter((l) => l.volume === vol.uuid).map((l) => l.storeId);
}

export function snapshotStoreIds(state: OntapState, vol: Volume): string[] {
  return state.snapshots.filter((s) => s.volume === vol.uuid).flatMap((s) => Object.values(s.luns).map((l) => l.storeId));
}

export function volumeSpace(state: OntapState, store: ArrayStore, vol: Volume): VolumeSpace {
  const active = activeStoreIds(state, vol);
  const snaps = snapshotStoreIds(state, vol);
  const activeData = store.distinctBytes(active);
  const snapshotData = store.bytesOnlyIn(snaps, active);
  let lunReservation = 0;
  let locked = 0;
  for (const lun of state.luns.filter((l) => l.volume === vol.uuid)) {
    if (!lunReservationHonoured(vol, lun)) continue;
    lunReservation += Math.max(0, lun.size - store.mappedBytes(lun.storeId));
    if (snaps.length > 0) locked += store.mappedBytes(lun.storeId) - store.bytesOnlyIn([lun.storeId], snaps);
  }
  const overwriteReserve = Math.floor((locked * vol.fractionalReserve) / 100);
  const snapshotReserve = Math.floor((vol.size * vol.snapshotReservePercent) / 100);
  const spill = Math.max(0, snapshotData - snapshotReserve);
  const used = activeData + lunReservation + overwriteReserve + spill;
  return {
    size: vol.size,
    snapshotReserve,
    used,
    available: Math.max(0, vol.size - snapshotReserve - used),
    activeData,
    snapshotData,
    lunReservation,
    overwriteReserve,
    physical: store.distinctBytes([...active, ...snaps]),
  };
}

/** What a volume takes from its aggregate. */
export function volumeFootprint(vol: Volume, space: VolumeSpace): number {
  return vol.guarantee === 'volume' ? Math.max(vol.size, space.physical) : space.physical;
}

export interface AggregateSpace {
  readonly size: number;
  readonly used: number;
  readonly available: number;
}

export function aggregateSpace(state: OntapState, store: ArrayStore, aggr: Aggregate, except?: Volume): AggregateSpace {
  const vols = state.volumes.filter((v) => v.aggregate === aggr.uuid && v !== except);
  // Blocks shared between a FlexClone volume and its parent are counted once.
  const ids = vols.flatMap((v) => [...activeStoreIds(state, v), ...snapshotStoreIds(state, v)]);
  let used = store.distinctBytes(ids);
  for (const v of vols) {
    if (v.guarantee !== 'volume') continue;
    const physical = store.distinctBytes([...activeStoreIds(state, v), ...snapshotStoreIds(state, v)]);
    used += Math.max(0, v.size - physical);
  }
  return { size: aggr.size, used, available: Math.max(0, aggr.size - used) };
}

/** Human figures for error messages, as ONTAP prints them (e.g. `1.50GB`). */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(2)}${units[i]}`;
}
