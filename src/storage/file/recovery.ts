/**
 * @module
 * Finishing or undoing what a dead operation left, from its journal record. The rule is
 * the one sm's cleanup follows: before the point of no return an operation is undone
 * (a snapshot that never reported success is taken back; a half-done copy into a parent is
 * abandoned, harmless because the child still shadows every sector it copied); after it,
 * the operation is finished (re-pointing children, renaming the merged parent into place).
 * Every step is idempotent, so a crash during recovery is recovered by the next attach.
 */
import { crashPoint } from './crash-point.js';
import { exists, removeDurable, sameFile, tmpName } from './durable-fs.js';
import type { CoalesceRecord, JournalRecord, LeafCoalesceRecord, SnapshotItem, SnapshotRecord } from './journal.js';
import { renameNode, reparent, setIdentity } from './node-files.js';
import type { SrContext } from './sr-context.js';

/** Puts the tree back as it was before the snapshot: the leaf's own file, visible, under its name. */
export async function undoSnapshot(ctx: SrContext, r: SnapshotItem): Promise<void> {
  const { dir } = ctx;
  if (r.created) {
    await removeDurable(tmpName(dir.vhd(r.created)));
    await removeDurable(dir.vhd(r.created));
    await dir.updateReadOnly({ [r.created]: false });
  }
  await removeDurable(tmpName(dir.vhd(r.leaf)));
  if (!r.base || !(await exists(dir.vhd(r.base)))) return;
  // The base is the leaf's original file: give it back the leaf's identity, then its name.
  await setIdentity(dir.vhd(r.base), r.leaf, false);
  if (await sameFile(dir.vhd(r.base), dir.vhd(r.leaf))) await removeDurable(dir.vhd(r.base));
  else await renameNode(dir, r.base, r.leaf);
}

/** Undoes every disk's part of a snapshot change. */
export async function undoSnapshots(ctx: SrContext, r: SnapshotRecord): Promise<void> {
  // A record from before changes were batched is one disk's part itself.
  const items = Array.isArray(r.items) ? r.items : [r as unknown as SnapshotItem];
  for (const item of items) await undoSnapshot(ctx, item);
}

/** After the copy: every child of the merged node points at its parent, then it goes. */
export async function finishRelink(ctx: SrContext, r: CoalesceRecord): Promise<void> {
  for (const g of r.grandchildren) {
    if (!(await exists(ctx.dir.vhd(g)))) continue;
    await reparent(ctx.dir, g, r.parent);
    crashPoint('coalesce.relinked');
  }
  await removeDurable(ctx.dir.vhd(r.child));
  crashPoint('coalesce.removed');
}

/** After the copy: the parent, which now holds the leaf's whole content, becomes the leaf. */
export async function finishSwap(ctx: SrContext, r: LeafCoalesceRecord): Promise<void> {
  if (!(await exists(ctx.dir.vhd(r.parent)))) return;
  await setIdentity(ctx.dir.vhd(r.parent), r.leaf, false);
  crashPoint('leaf.unhidden');
  await renameNode(ctx.dir, r.parent, r.leaf);
  crashPoint('leaf.renamed');
}

export async function recoverRecord(ctx: SrContext, r: JournalRecord): Promise<void> {
  switch (r.op) {
    case 'snapshot':
      await undoSnapshots(ctx, r);
      break;
    case 'coalesce':
      if (r.phase === 'relink') await finishRelink(ctx, r);
      break;
    case 'leaf-coalesce':
      if (r.phase === 'swap') await finishSwap(ctx, r);
      break;
  }
  await ctx.journal.remove(r);
}

/** Recovers every unfinished operation, oldest first. */
export async function recoverPending(ctx: SrContext): Promise<number> {
  const pending = await ctx.journal.pending();
  for (const r of pending) await recoverRecord(ctx, r);
  return pending.length;
}

/** Recovery at attach: unfinished operations, then files left under construction. */
export async function recoverAll(ctx: SrContext): Promise<number> {
  const n = await recoverPending(ctx);
  await ctx.dir.sweepTemporaries();
  return n;
}
