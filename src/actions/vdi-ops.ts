/**
 * @module
 * The VDI operations that change an SR's tree, shared by the VDI messages and the VM disk
 * operations: create, destroy, snapshot, clone, resize. Each runs under the SR's lock, asks
 * the driver, writes the records users own (names, snapshot relations) and then rescans, so
 * records and space figures are true when the call returns. Destroys kick the garbage
 * collector, which removes base copies nothing visible needs any more.
 */
import { ApiError } from '../core/api-error.js';
import type { Row } from '../core/ports/pool-db.js';
import type { AttachedSr, SnapshotResult } from '../core/ports/sr-driver.js';
import { NULL_REF, newUuid, xapiDate, type Ref } from '../core/ref.js';
import type { ActionContext } from './context.js';
import { kickGc } from './sr-gc.js';
import { withSrLock } from './sr-jobs.js';
import { attachedSr, mustRow, onSrHost, parseAllocation, storageCall } from './storage-access.js';
import { applyInfo, refreshSrSpace, syncVdis, upsertVdi } from './vdi-records.js';

export interface NewVdi {
  readonly SR: Ref<'SR'>;
  readonly virtual_size: number;
  readonly name_label?: string;
  readonly name_description?: string;
  readonly type?: string;
  readonly sharable?: boolean;
  readonly read_only?: boolean;
  readonly other_config?: Record<string, string>;
  readonly xenstore_data?: Record<string, string>;
  readonly sm_config?: Record<string, string>;
  readonly tags?: string[];
}

/** Fields a snapshot or clone takes from its origin, as xapi copies them. */
const INHERITED = ['name_label', 'name_description', 'type', 'sharable', 'other_config', 'xenstore_data', 'on_boot', 'allow_caching', 'tags'];

function inherit(row: Row): Row {
  return Object.fromEntries(INHERITED.map((k) => [k, row[k]]));
}

export function assertManaged(ref: Ref<'VDI'>, row: Row): void {
  if (row.managed === false) throw new ApiError('VDI_NOT_MANAGED', [ref]);
}

/** Runs a tree change on the SR attached here, then brings every record of the SR up to date. */
export async function onSr<T>(ctx: ActionContext, srRef: Ref<'SR'>, fn: (sr: AttachedSr) => Promise<T>): Promise<T> {
  const sr = attachedSr(ctx, srRef);
  return withSrLock(ctx.services, sr.srUuid, async () => {
    const out = await storageCall(() => fn(sr));
    await resync(ctx, srRef, sr);
    return out;
  });
}

/** Rescans the SR and refreshes its figures (the caller holds the SR's lock). */
export async function resync(ctx: ActionContext, srRef: Ref<'SR'>, sr: AttachedSr): Promise<void> {
  const infos = await sr.scan();
  syncVdis(ctx, srRef, infos);
  await refreshSrSpace(ctx, srRef, sr);
}

export async function createVdi(ctx: ActionContext, spec: NewVdi): Promise<Ref<'VDI'>> {
  const sr = mustRow(ctx, 'SR', spec.SR);
  if (!Number.isSafeInteger(spec.virtual_size) || spec.virtual_size < 0) {
    throw new ApiError('INVALID_VALUE', ['virtual_size', String(spec.virtual_size)]);
  }
  const srCfg = sr.sm_config as Record<string, string>;
  const allocation = parseAllocation(spec.sm_config?.allocation, 'sm_config:allocation')
    ?? parseAllocation(srCfg.allocation, 'SR sm_config:allocation') ?? 'thin';
  return onSrHost(ctx, spec.SR, 'VDI.create', [{ ...spec, type: spec.type ?? 'user' }], () => createHere(ctx, spec, allocation, newUuid()));
}

async function createHere(ctx: ActionContext, spec: NewVdi, allocation: 'thin' | 'thick', uuid: string): Promise<Ref<'VDI'>> {
  return onSr(ctx, spec.SR, async (a) => {
    const info = await a.vdiCreate({ uuid, virtualSize: spec.virtual_size, allocation, nameLabel: spec.name_label ?? '' });
    return upsertVdi(ctx, spec.SR, info, {
      name_label: spec.name_label ?? '',
      name_description: spec.name_description ?? '',
      type: spec.type ?? 'user',
      sharable: spec.sharable ?? false,
      read_only: spec.read_only ?? false,
      other_config: spec.other_config ?? {},
      xenstore_data: spec.xenstore_data ?? {},
      sm_config: { ...(spec.sm_config ?? {}) },
      tags: spec.tags ?? [],
    });
  });
}

/** Destroys a disk and its record; its drives go too; GC then collects what it leaves. */
export async function destroyVdi(ctx: ActionContext, ref: Ref<'VDI'>): Promise<void> {
  const row = mustRow(ctx, 'VDI', ref);
  assertManaged(ref, row);
  for (const vbd of row.VBDs as Ref<'VBD'>[]) {
    if (ctx.db.get('VBD', vbd)?.currently_attached === true) throw new ApiError('VDI_IN_USE', [ref, 'destroy']);
  }
  const srRef = row.SR as Ref<'SR'>;
  await onSrHost(ctx, srRef, 'VDI.destroy', [ref], async () => {
    await onSr(ctx, srRef, (sr) => sr.vdiDestroy(String(row.uuid)));
    kickGc(ctx, srRef);
  });
}

async function branch(ctx: ActionContext, ref: Ref<'VDI'>, kind: 'snapshot' | 'clone'): Promise<Ref<'VDI'>> {
  const row = mustRow(ctx, 'VDI', ref);
  assertManaged(ref, row);
  const srRef = row.SR as Ref<'SR'>;
  const newId = newUuid();
  return onSrHost(ctx, srRef, `VDI.${kind}`, [ref, {}], () => onSr(ctx, srRef, async (sr) => {
    const r: SnapshotResult = kind === 'snapshot'
      ? await sr.vdiSnapshot(String(row.uuid), newId)
      : await sr.vdiClone(String(row.uuid), newId);
    const fresh: Row = kind === 'snapshot'
      ? { ...inherit(row), is_a_snapshot: true, snapshot_of: ref, snapshot_time: xapiDate(ctx.services.now()), read_only: true }
      : { ...inherit(row), is_a_snapshot: false, snapshot_of: NULL_REF, read_only: false };
    applyInfo(ctx, ref, r.original);
    if (r.base) upsertVdi(ctx, srRef, r.base);
    return upsertVdi(ctx, srRef, r.created, fresh);
  }));
}

export function snapshotVdi(ctx: ActionContext, ref: Ref<'VDI'>): Promise<Ref<'VDI'>> {
  return branch(ctx, ref, 'snapshot');
}

export function cloneVdi(ctx: ActionContext, ref: Ref<'VDI'>): Promise<Ref<'VDI'>> {
  return branch(ctx, ref, 'clone');
}

export async function resizeVdi(ctx: ActionContext, ref: Ref<'VDI'>, size: number): Promise<void> {
  const row = mustRow(ctx, 'VDI', ref);
  assertManaged(ref, row);
  if (!Number.isSafeInteger(size) || size < 0) throw new ApiError('INVALID_VALUE', ['size', String(size)]);
  if (size < Number(row.virtual_size)) throw new ApiError('VDI_TOO_SMALL', [ref, String(row.virtual_size)]);
  const srRef = row.SR as Ref<'SR'>;
  await onSrHost(ctx, srRef, 'VDI.resize', [ref, size], () => onSr(ctx, srRef, (sr) => sr.vdiResize(String(row.uuid), size)));
}
