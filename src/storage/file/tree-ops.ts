/**
 * @module
 * The file SR's VDI operations, shaped as XenServer's FileSR shapes trees. Snapshot and
 * clone never copy data: a leaf with data of its own becomes a hidden read-only base (its
 * file hard-linked to a new name, so the leaf's name never points at nothing) under two new
 * empty children, the original (same uuid) and the new disk; a leaf with nothing of its own
 * just gets a sibling under its parent, so snapshotting an unmodified disk or reverting adds
 * no depth. A thick disk's blocks stay where they are, in its base; the new leaves are thin
 * (only what is written after the snapshot takes space). Each multi-step change is
 * journaled; a failure undoes it on the spot and leaves nothing behind. All run under the
 * SR lock.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../core/api-error.js';
import { createDynamic, createFixed, MAX_VHD_SIZE, VhdFile } from '../vhd/index.js';
import { crashPoint } from './crash-point.js';
import { exists, linkDurable, publish, removeDurable, tmpName } from './durable-fs.js';
import type { SnapshotRecord } from './journal.js';
import { createChild, setIdentity } from './node-files.js';
import { undoSnapshot } from './recovery.js';
import type { SrContext } from './sr-context.js';
import { UUID_RE, type NodeInfo } from './sr-dir.js';
import { backendError, isNoSpace, isNotFound, srFull, vdiMissing } from './sr-errors.js';

/**
 * Sizes are rounded up to whole sectors only (sm rounds to 2 MiB blocks): an imported raw
 * image then exports byte for byte, and a partial last block is valid VHD.
 */
const VHD_ROUNDING = 512;
/** XenServer's MAX_CHAIN_SIZE: a snapshot may not make a chain deeper than this. */
export const MAX_CHAIN_DEPTH = 30;

export function roundSize(size: number): number {
  if (!Number.isSafeInteger(size) || size <= 0) throw backendError('VDISize', `virtual size ${size}`);
  const r = Math.ceil(size / VHD_ROUNDING) * VHD_ROUNDING;
  if (r > MAX_VHD_SIZE) throw backendError('VDISize', `virtual size ${size} exceeds ${MAX_VHD_SIZE}`);
  return r;
}

export async function readExisting(ctx: SrContext, uuid: string): Promise<NodeInfo> {
  if (!UUID_RE.test(uuid)) throw vdiMissing(ctx.srUuid, uuid);
  try {
    return await ctx.dir.readNode(uuid);
  } catch (e) {
    if (isNotFound(e)) throw vdiMissing(ctx.srUuid, uuid);
    throw e;
  }
}

async function checkNew(ctx: SrContext, uuid: string): Promise<void> {
  if (!UUID_RE.test(uuid)) throw new ApiError('UUID_INVALID', ['VDI', uuid]);
  if (await exists(ctx.dir.vhd(uuid))) throw backendError('VDIExists', uuid);
}

export async function createVdi(ctx: SrContext, uuid: string, requested: number, thick: boolean): Promise<void> {
  await checkNew(ctx, uuid);
  const size = roundSize(requested);
  const free = await ctx.dir.freeBytes();
  // A thick disk takes its whole size now; failing up front beats a half-written file.
  if (thick && size + 4096 > free) throw srFull(size, free);
  const path = ctx.dir.vhd(uuid);
  const tmp = tmpName(path);
  try {
    await (thick ? createFixed(tmp, size, { uuid }) : createDynamic(tmp, size, { uuid }));
    await publish(tmp, path);
  } catch (e) {
    await removeDurable(tmp).catch(() => undefined);
    if (isNoSpace(e)) throw srFull(size, await ctx.dir.freeBytes());
    throw e;
  }
}

export async function destroyVdi(ctx: SrContext, uuid: string): Promise<void> {
  const node = await readExisting(ctx, uuid);
  if (node.hidden) throw backendError('VDIDelete', `${uuid} is a hidden base copy; only leaves can be deleted`);
  if (ctx.isActive(uuid)) throw new ApiError('VDI_IN_USE', [uuid, 'destroy']);
  // One unlink: atomic, so no journal, and it needs no space, so a full SR can be freed.
  // Hidden parents left without a visible child are the garbage collector's.
  await removeDurable(ctx.dir.vhd(uuid));
  crashPoint('destroy.unlinked');
  // A stale read-only mark is harmless (dropped on the next write), so a full disk may skip it.
  await ctx.dir.updateReadOnly({ [uuid]: false }).catch((e: unknown) => {
    if (!isNoSpace(e)) throw e;
  });
}

export async function resizeVdi(ctx: SrContext, uuid: string, requested: number): Promise<void> {
  const node = await readExisting(ctx, uuid);
  if (node.hidden) throw new ApiError('VDI_READONLY', [uuid]);
  const size = roundSize(requested);
  if (size < node.virtualSize) throw backendError('VDISize', `shrinking ${uuid} from ${node.virtualSize} to ${size} is not supported`);
  if (size === node.virtualSize) return;
  const free = await ctx.dir.freeBytes();
  if (node.fixed && size - node.virtualSize > free) throw srFull(size, node.virtualSize + free);
  const resume = await ctx.pause([uuid], 'resize');
  try {
    const f = await VhdFile.open(ctx.dir.vhd(uuid));
    try {
      await f.resize(size);
      await f.flush();
    } finally {
      await f.close();
    }
  } catch (e) {
    if (isNoSpace(e)) throw srFull(size, node.virtualSize + (await ctx.dir.freeBytes()));
    throw e;
  } finally {
    await resume();
  }
}

async function chainDepth(ctx: SrContext, leaf: NodeInfo): Promise<number> {
  let depth = 1;
  for (let n = leaf; n.parentUuid !== null && depth <= MAX_CHAIN_DEPTH; depth++) n = await ctx.dir.readNode(n.parentUuid);
  return depth;
}

export interface SnapshotOutcome {
  base: string | null;
}

/**
 * Snapshot (`readOnly`) or clone of leaf `uuid` as `created`; `created` null makes only the
 * base (the "single snapshot" the garbage collector uses to coalesce a busy leaf live).
 */
export async function snapshotVdi(ctx: SrContext, uuid: string, created: string | null, readOnly: boolean): Promise<SnapshotOutcome> {
  // Paused first: a write in flight could otherwise give the leaf data after we looked.
  const resume = await ctx.pause([uuid], created === null ? 'coalesce' : readOnly ? 'snapshot' : 'clone');
  try {
    return await snapshotPaused(ctx, uuid, created, readOnly);
  } finally {
    await resume();
  }
}

async function snapshotPaused(ctx: SrContext, uuid: string, created: string | null, readOnly: boolean): Promise<SnapshotOutcome> {
  const leaf = await readExisting(ctx, uuid);
  if (leaf.hidden) throw backendError(readOnly ? 'VDISnapshot' : 'VDIClone', `${uuid} is a hidden base copy`);
  if (created !== null) await checkNew(ctx, created);
  const shallow = leaf.parentUuid !== null && !leaf.mayHaveData;
  if (!shallow && (await chainDepth(ctx, leaf)) >= MAX_CHAIN_DEPTH) throw backendError('SnapshotChainTooLong', uuid);
  if (shallow && created === null) return { base: null };
  const rec: SnapshotRecord = { op: 'snapshot', leaf: uuid, base: shallow ? null : randomUUID(), created, readOnly };
  let journaled = false;
  try {
    await ctx.journal.write(rec);
    journaled = true;
    if (rec.base) {
      await linkDurable(ctx.dir.vhd(uuid), ctx.dir.vhd(rec.base));
      crashPoint('snapshot.linked');
      await setIdentity(ctx.dir.vhd(rec.base), rec.base, true);
      crashPoint('snapshot.base-marked');
      await createChild(ctx.dir, rec.base, uuid);
      crashPoint('snapshot.leaf-replaced');
    }
    if (created !== null) {
      await createChild(ctx.dir, rec.base ?? leaf.parentUuid!, created);
      crashPoint('snapshot.created');
      if (readOnly) await ctx.dir.updateReadOnly({ [created]: true });
    }
    await ctx.journal.remove(rec);
    return { base: rec.base };
  } catch (e) {
    if (journaled) {
      // If the undo fails too, the record stays and the next operation's recovery retries.
      await undoSnapshot(ctx, rec)
        .then(() => ctx.journal.remove(rec))
        .catch(() => undefined);
    }
    if (isNoSpace(e)) throw srFull(0, await ctx.dir.freeBytes());
    throw e;
  }
}
