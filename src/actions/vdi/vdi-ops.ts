/**
 * @module
 * The VDI operations that change an SR's tree, shared by the VDI messages and the VM disk
 * operations: create, destroy, snapshot, clone, resize. Each runs under the SR's lock, asks
 * the driver, writes the records users own (names, snapshot relations) and then brings the
 * records and space figures up to date, so they are true when the call returns. None
 * rescans the SR (a look at every disk in it): each refreshes the nodes it touched, which
 * the driver reports (a destroyed disk is looked up again, as an array may keep a volume
 * its snapshots need as a hidden node). Destroys kick the garbage collector, which removes
 * base copies nothing visible needs any more, and rescans when it did.
 */
import { ApiError } from '../../core/api-error.js';
import type { Row } from '../../core/ports/pool-db.js';
import type { AttachedSr } from '../../core/ports/sr-driver.js';
import { VdiMissingError } from '../../core/ports/storage-errors.js';
import { NULL_REF, newUuid, xapiDate, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { kickGc } from '../sr/sr-gc.js';
import { withSrLock } from '../sr/sr-jobs.js';
import { attachedSr, mustRow, onSrHost, parseAllocation, storageCall } from '../common/storage-access.js';
import { applyInfo, refreshSrSpace, removeVdiRecord, syncVdis, upsertVdi, writeSrSpace } from './vdi-records.js';

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

/** Runs `fn` on the SR attached here under the SR's lock, its storage errors as XenAPI errors. */
function withAttachedSr<T>(ctx: ActionContext, srRef: Ref<'SR'>, fn: (sr: AttachedSr) => Promise<T>): Promise<T> {
  const sr = attachedSr(ctx, srRef);
  return withSrLock(ctx.services, sr.srUuid, () => storageCall(() => fn(sr)));
}

/**
 * Refreshes disks' records and their SRs' space figures after the disks' data changed (an
 * import or a copy wrote into them), under each SR's lock: no tree changed, so no SR is
 * rescanned, which on an SR of many disks costs a file stat and a record check per disk.
 */
export async function onVdisData(ctx: ActionContext, refs: Iterable<Ref<'VDI'>>): Promise<void> {
  const bySr = new Map<Ref<'SR'>, Array<readonly [Ref<'VDI'>, Row]>>();
  for (const ref of new Set(refs)) {
    const row = ctx.db.get('VDI', ref);
    if (row) bySr.set(row.SR, [...(bySr.get(row.SR) ?? []), [ref, row] as const]);
  }
  for (const [srRef, disks] of bySr) {
    await withAttachedSr(ctx, srRef, async (sr) => {
      for (const [ref, row] of disks) applyInfo(ctx, ref, await sr.vdiStat(String(row.location || row.uuid)));
      await refreshSrSpace(ctx, srRef, sr);
    });
  }
}

/** {@link onVdisData} for one disk. */
export function onVdiData(ctx: ActionContext, ref: Ref<'VDI'>): Promise<void> {
  return onVdisData(ctx, [ref]);
}

/** Rescans the SR and refreshes its figures (the caller holds the SR's lock). */
export async function resync(ctx: ActionContext, srRef: Ref<'SR'>, sr: AttachedSr): Promise<void> {
  const infos = await sr.scan();
  syncVdis(ctx, srRef, infos);
  await refreshSrSpace(ctx, srRef, sr);
}

/**
 * Makes a disk and its record. `uuid` is the new disk's when its SR is attached here (an
 * import notes it before the file exists); a disk made on another host gets one there.
 */
export async function createVdi(ctx: ActionContext, spec: NewVdi, uuid?: string): Promise<Ref<'VDI'>> {
  const sr = mustRow(ctx, 'SR', spec.SR);
  // An ISO library holds only the media found in its directory, as on XenServer.
  if (sr.type === 'iso') throw new ApiError('SR_OPERATION_NOT_SUPPORTED', [spec.SR]);
  if (!Number.isSafeInteger(spec.virtual_size) || spec.virtual_size < 0) {
    throw new ApiError('INVALID_VALUE', ['virtual_size', String(spec.virtual_size)]);
  }
  const srCfg = sr.sm_config;
  const allocation = parseAllocation(spec.sm_config?.allocation, 'sm_config:allocation')
    ?? parseAllocation(srCfg.allocation, 'SR sm_config:allocation') ?? 'thin';
  return onSrHost(ctx, spec.SR, 'VDI.create', [{ ...spec, type: spec.type ?? 'user' }], () => createHere(ctx, spec, allocation, uuid ?? newUuid()));
}

/**
 * A new disk is a new leaf: nothing else in the SR changes, so only its record is written
 * and the SR's figures refreshed, under the SR's lock. A rescan would cost a look at every
 * disk of the SR and a record check for each (some 11 ms of CPU per create with 300 disks).
 */
async function createHere(ctx: ActionContext, spec: NewVdi, allocation: 'thin' | 'thick', uuid: string): Promise<Ref<'VDI'>> {
  return withAttachedSr(ctx, spec.SR, async (sr) => {
    const info = await sr.vdiCreate({ uuid, virtualSize: spec.virtual_size, allocation, nameLabel: spec.name_label ?? '' });
    const ref = upsertVdi(ctx, spec.SR, info, {
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
    await refreshSrSpace(ctx, spec.SR, sr);
    return ref;
  });
}

/** Destroys a disk and its record; its drives go too; GC then collects what it leaves. */
export async function destroyVdi(ctx: ActionContext, ref: Ref<'VDI'>): Promise<void> {
  const row = mustRow(ctx, 'VDI', ref);
  assertManaged(ref, row);
  for (const vbd of row.VBDs) {
    if (ctx.db.get('VBD', vbd)?.currently_attached === true) throw new ApiError('VDI_IN_USE', [ref, 'destroy']);
  }
  const srRef = row.SR;
  await onSrHost(ctx, srRef, 'VDI.destroy', [ref], async () => {
    await withAttachedSr(ctx, srRef, async (sr) => {
      const uuid = String(row.uuid);
      await sr.vdiDestroy(uuid);
      // Gone, as a rule; an array may keep a volume its snapshots need as a hidden node,
      // which then stays as a base copy. Nothing else in the SR changed.
      const left = await sr.vdiStat(uuid).catch((e: unknown) => {
        if (e instanceof VdiMissingError) return undefined;
        throw e;
      });
      if (left) applyInfo(ctx, ref, left);
      else ctx.db.transaction(() => removeVdiRecord(ctx, ref));
      await refreshSrSpace(ctx, srRef, sr);
    });
    kickGc(ctx, srRef);
  });
}

type BranchKind = 'snapshot' | 'clone';

/** One disk's outcome: the new disk's record, or why it failed (both: made, but the SR's figures could not be read). */
interface Branched {
  readonly ref?: Ref<'VDI'>;
  readonly error?: unknown;
}

/**
 * Snapshots or clones `refs`, in order, as xapi's VDI.snapshot/VDI.clone would one by one;
 * the disks of one SR go to its driver together, so a VM's disks are one journaled change
 * with one record update. If any fails, the new disks made are destroyed and the first
 * error is thrown.
 */
async function branchAll(ctx: ActionContext, refs: readonly Ref<'VDI'>[], kind: BranchKind): Promise<Ref<'VDI'>[]> {
  const rows = refs.map((ref) => {
    const row = mustRow(ctx, 'VDI', ref);
    assertManaged(ref, row);
    return row;
  });
  const bySr = new Map<Ref<'SR'>, number[]>();
  rows.forEach((row, i) => bySr.set(row.SR, [...(bySr.get(row.SR) ?? []), i]));
  const out: Branched[] = [];
  await Promise.all([...bySr].map(async ([srRef, at]) => {
    const done = await branchOnSr(ctx, srRef, at.map((i) => [refs[i]!, rows[i]!] as const), kind)
      .catch((error: unknown) => at.map((): Branched => ({ error })));
    done.forEach((b, k) => (out[at[k]!] = b));
  }));
  const failed = out.find((b) => b.error !== undefined);
  if (failed) {
    for (const b of out) if (b.ref) await destroyVdi(ctx, b.ref).catch(() => undefined);
    throw failed.error;
  }
  return out.map((b) => b.ref!);
}

async function branchOnSr(ctx: ActionContext, srRef: Ref<'SR'>, disks: ReadonlyArray<readonly [Ref<'VDI'>, Row]>, kind: BranchKind): Promise<Branched[]> {
  if (ctx.services.storage?.attached(String(mustRow(ctx, 'SR', srRef).uuid))) return branchHere(ctx, srRef, disks, kind);
  // Another host has the SR: each disk is its call there (or, with no such host, the error).
  const settled = await Promise.allSettled(disks.map(([ref, row]) =>
    onSrHost(ctx, srRef, `VDI.${kind}`, [ref, {}], async () => {
      const [b] = await branchHere(ctx, srRef, [[ref, row]], kind);
      if (b!.error !== undefined) throw b!.error;
      return b!.ref!;
    })));
  return settled.map((r) => (r.status === 'fulfilled' ? { ref: r.value } : { error: r.reason }));
}

/**
 * The driver calls for the disks, all at once under the SR's lock (the driver groups them),
 * then one transaction with the records of the nodes they touched and the SR's space
 * figures; nothing else in the SR changed, so nothing else is rescanned.
 */
async function branchHere(ctx: ActionContext, srRef: Ref<'SR'>, disks: ReadonlyArray<readonly [Ref<'VDI'>, Row]>, kind: BranchKind): Promise<Branched[]> {
  const sr = attachedSr(ctx, srRef);
  return withSrLock(ctx.services, sr.srUuid, async () => {
    const results = await Promise.allSettled(disks.map(([, row]) => storageCall(() =>
      kind === 'snapshot' ? sr.vdiSnapshot(String(row.uuid), newUuid()) : sr.vdiClone(String(row.uuid), newUuid()))));
    const space = results.some((r) => r.status === 'fulfilled') ? await storageCall(() => sr.stat()).then((st) => ({ st }), (error: unknown) => ({ error })) : undefined;
    const now = xapiDate(ctx.services.now());
    return ctx.db.transaction(() => {
      const out = results.map((r, i): Branched => {
        if (r.status === 'rejected') return { error: r.reason };
        const [ref, row] = disks[i]!;
        const fresh: Row = kind === 'snapshot'
          ? { ...inherit(row), is_a_snapshot: true, snapshot_of: ref, snapshot_time: now, read_only: true }
          : { ...inherit(row), is_a_snapshot: false, snapshot_of: NULL_REF, read_only: false };
        applyInfo(ctx, ref, r.value.original);
        if (r.value.base) upsertVdi(ctx, srRef, r.value.base);
        const made = upsertVdi(ctx, srRef, r.value.created, fresh);
        // Made but the SR's figures could not be read: the caller undoes it.
        return space && 'error' in space ? { ref: made, error: space.error } : { ref: made };
      });
      if (space && 'st' in space) writeSrSpace(ctx, srRef, space.st);
      return out;
    });
  });
}

export async function snapshotVdi(ctx: ActionContext, ref: Ref<'VDI'>): Promise<Ref<'VDI'>> {
  return (await branchAll(ctx, [ref], 'snapshot'))[0]!;
}

export async function cloneVdi(ctx: ActionContext, ref: Ref<'VDI'>): Promise<Ref<'VDI'>> {
  return (await branchAll(ctx, [ref], 'clone'))[0]!;
}

/** Snapshots of several disks (a VM's), in order; all or none. */
export function snapshotVdis(ctx: ActionContext, refs: readonly Ref<'VDI'>[]): Promise<Ref<'VDI'>[]> {
  return branchAll(ctx, refs, 'snapshot');
}

/** Clones of several disks (a VM's), in order; all or none. */
export function cloneVdis(ctx: ActionContext, refs: readonly Ref<'VDI'>[]): Promise<Ref<'VDI'>[]> {
  return branchAll(ctx, refs, 'clone');
}

export async function resizeVdi(ctx: ActionContext, ref: Ref<'VDI'>, size: number): Promise<void> {
  const row = mustRow(ctx, 'VDI', ref);
  assertManaged(ref, row);
  if (!Number.isSafeInteger(size) || size < 0) throw new ApiError('INVALID_VALUE', ['size', String(size)]);
  if (size < Number(row.virtual_size)) throw new ApiError('VDI_TOO_SMALL', [ref, String(row.virtual_size)]);
  const srRef = row.SR;
  // A resize changes one disk, not the tree: its record and the SR's figures, as a create.
  await onSrHost(ctx, srRef, 'VDI.resize', [ref, size], () => withAttachedSr(ctx, srRef, async (sr) => {
    applyInfo(ctx, ref, await sr.vdiResize(String(row.uuid), size));
    await refreshSrSpace(ctx, srRef, sr);
  }));
}
