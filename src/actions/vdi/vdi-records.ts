/**
 * @module
 * Keeping VDI and SR records true to what the storage reports. The driver owns the facts
 * (sizes, space really used, parent, hidden, read-only); the records own what users set
 * (names, other_config, snapshot relations). Interior nodes of a snapshot tree appear as
 * XenServer shows them: "base copy" records, read-only and not managed, which users see but
 * cannot destroy; the garbage collector removes them once nothing visible needs them.
 */
import type { Row } from '../../core/ports/pool-db.js';
import type { AttachedSr, SrStat, VdiInfo } from '../../core/ports/sr-driver.js';
import { NULL_REF, newRef, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { changedFields } from '../../core/row-patch.js';
import { raiseSrWarnings } from '../sr/sr-warnings.js';

/** sm_config keys the driver alone decides; a record keeps them only while the driver reports them. */
const DRIVER_KEYS = ['vhd-parent', 'allocation'];

export const BASE_COPY_NAME = 'base copy';

export function vdiByUuid(ctx: ActionContext, uuid: string): Ref<'VDI'> | undefined {
  return ctx.db.refByUuid('VDI', uuid);
}

function smConfigFor(info: VdiInfo, current: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(current ?? {})) if (!DRIVER_KEYS.includes(k)) out[k] = v;
  Object.assign(out, info.smConfig);
  if (!info.hidden) out.allocation = info.allocation;
  return out;
}

/** The record fields the storage decides. */
export function storageFields(info: VdiInfo, current?: Row): Row {
  return {
    virtual_size: info.virtualSize,
    physical_utilisation: info.physicalUtilisation,
    managed: !info.hidden,
    read_only: info.hidden || info.readOnly || current?.read_only === true,
    sm_config: smConfigFor(info, current?.sm_config as Record<string, string> | undefined),
    location: info.location ?? info.uuid,
    missing: false,
  };
}

/**
 * Brings an existing record in line with the storage, writing only the fields that differ,
 * as xapi's scan does: a scan reads every disk of the SR, and writing back facts that did
 * not change would send an event for each of them (row-patch.ts).
 */
export function applyInfo(ctx: ActionContext, ref: Ref<'VDI'>, info: VdiInfo): void {
  const row = ctx.db.get('VDI', ref);
  if (!row) return;
  const patch = changedFields(row as Row, storageFields(info, row as Row));
  if (Object.keys(patch).length > 0) ctx.db.update('VDI', ref, patch);
}

/**
 * The record of a node, with `fresh` (the fields the caller knows) and the storage's facts:
 * updated when it exists, created otherwise (a hidden node as a base copy).
 */
export function upsertVdi(ctx: ActionContext, srRef: Ref<'SR'>, info: VdiInfo, fresh: Row = {}): Ref<'VDI'> {
  const existing = vdiByUuid(ctx, info.uuid);
  if (existing) {
    // A scan elsewhere (another host of a shared SR) may have recorded the node first;
    // what the operation knows about it (names, snapshot relation) still goes in.
    if (Object.keys(fresh).length > 0) ctx.db.update('VDI', existing, fresh);
    applyInfo(ctx, existing, info);
    return existing;
  }
  const ref = newRef<'VDI'>();
  const named: Row = info.hidden
    ? { name_label: BASE_COPY_NAME, name_description: '', type: 'user' }
    : { name_label: info.nameLabel ?? '', name_description: info.nameDescription ?? '', type: 'user', ...foundRelation(ctx, info), ...fresh };
  ctx.db.create('VDI', ref, { ...named, uuid: info.uuid, SR: srRef, ...storageFields(info, named) });
  return ref;
}

/** The snapshot relation the storage records for a disk a scan finds (an SR another toolstack made). */
function foundRelation(ctx: ActionContext, info: VdiInfo): Row {
  if (!info.snapshotOf) return {};
  const of = vdiByUuid(ctx, info.snapshotOf);
  return { is_a_snapshot: true, snapshot_of: of ?? NULL_REF, ...(info.snapshotTime ? { snapshot_time: info.snapshotTime } : {}) };
}

/** Removes a VDI record with the drives that pointed at it, as xapi's VDI.destroy does. */
export function removeVdiRecord(ctx: ActionContext, ref: Ref<'VDI'>): void {
  const row = ctx.db.get('VDI', ref);
  if (!row) return;
  for (const vbd of row.VBDs) if (ctx.db.get('VBD', vbd)) ctx.db.remove('VBD', vbd);
  for (const [vm, r] of ctx.db.all('VM')) {
    if (r.suspend_VDI === ref) ctx.db.update('VM', vm, { suspend_VDI: NULL_REF });
  }
  ctx.db.remove('VDI', ref);
}

/**
 * Makes the SR's VDI records match a scan, as xapi's SR.scan does: records of nodes that
 * are gone are removed, nodes without a record get one, and every record takes the facts
 * the storage reports.
 */
export function syncVdis(ctx: ActionContext, srRef: Ref<'SR'>, infos: readonly VdiInfo[]): void {
  const byUuid = new Map(infos.map((i) => [i.uuid, i]));
  ctx.db.transaction(() => {
    for (const [ref, row] of ctx.db.all('VDI')) {
      if (row.SR !== srRef) continue;
      const key = byUuid.has(String(row.uuid)) ? String(row.uuid) : String(row.location);
      if (!byUuid.has(key)) removeVdiRecord(ctx, ref);
    }
    for (const info of infos) upsertVdi(ctx, srRef, info);
    // A snapshot recorded before the disk it was taken of: link it now both exist.
    for (const info of infos) {
      if (!info.snapshotOf) continue;
      const ref = vdiByUuid(ctx, info.uuid);
      const of = vdiByUuid(ctx, info.snapshotOf);
      const row = ref ? ctx.db.get('VDI', ref) : undefined;
      if (ref && of && row?.is_a_snapshot === true && row.snapshot_of === NULL_REF) ctx.db.update('VDI', ref, { snapshot_of: of });
    }
  });
}

/** Refreshes the SR's space figures from the storage. */
export async function refreshSrSpace(ctx: ActionContext, srRef: Ref<'SR'>, sr: AttachedSr): Promise<void> {
  writeSrSpace(ctx, srRef, await sr.stat());
}

/** Writes the SR's space figures the storage reported. */
export function writeSrSpace(ctx: ActionContext, srRef: Ref<'SR'>, st: SrStat): void {
  if (!ctx.db.get('SR', srRef)) return;
  ctx.db.update('SR', srRef, {
    physical_size: st.physicalSize,
    physical_utilisation: st.physicalUtilisation,
    virtual_allocation: st.virtualAllocation,
  });
  raiseSrWarnings(ctx, srRef, st.warnings);
}
