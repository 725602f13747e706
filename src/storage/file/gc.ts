/**
 * @module
 * The file SR's garbage collector and coalescer, one step per SR lock hold as sm's
 * `_gcLoop`: delete garbage (hidden nodes nothing visible needs), else coalesce one hidden
 * node into its only-child parent, else leaf-coalesce one leaf into its hidden parent, and
 * repeat until nothing is left to do. Copies move only the sectors a node stores (its
 * bitmaps), so the tree stays thin; every step is journaled and idempotent. A leaf that is
 * busy and large is first split by a single snapshot, so the bulk of it is coalesced while
 * the disk keeps running and only a small remainder needs the disk paused.
 */
import { coalesceInto, VhdFile } from '../vhd/index.js';
import { crashPoint } from './crash-point.js';
import { removeDurable } from './durable-fs.js';
import type { CoalesceRecord, LeafCoalesceRecord } from './journal.js';
import { finishRelink, finishSwap } from './recovery.js';
import type { SrContext } from './sr-context.js';
import type { NodeInfo } from './sr-dir.js';
import { isNoSpace } from './sr-errors.js';
import { MAX_CHAIN_DEPTH, snapshotVdi } from './tree-ops.js';
import { VdiTree } from './vdi-tree.js';

/** A busy leaf storing more than this is split first (sm: LIVE_LEAF_COALESCE_MAX_SIZE). */
export const LIVE_LEAF_COALESCE_MAX = 20 * 1024 * 1024;
/** Splits of one leaf per GC run before it is coalesced paused, whatever its size. */
const MAX_SPLITS = 2;

export interface GcStepResult {
  removed: string[];
  coalesced: string[];
  split: string[];
}

/** What one GC run remembers between steps: candidates to leave alone this time. */
export interface GcRunState {
  skip: Set<string>;
  splits: Map<string, number>;
  signal?: AbortSignal;
}

async function copyInto(ctx: SrContext, from: string, into: string, point: string, signal?: AbortSignal): Promise<void> {
  const child = await VhdFile.open(ctx.dir.vhd(from), { readOnly: true });
  try {
    const parent = await VhdFile.open(ctx.dir.vhd(into));
    try {
      await coalesceInto(child, parent, {
        onBlock: () => {
          signal?.throwIfAborted();
          crashPoint(point);
        },
      });
    } finally {
      await parent.close();
    }
  } finally {
    await child.close();
  }
}

async function coalesce(ctx: SrContext, tree: VdiTree, c: NodeInfo, signal?: AbortSignal): Promise<void> {
  const rec: CoalesceRecord = {
    op: 'coalesce',
    child: c.uuid,
    parent: c.parentUuid!,
    grandchildren: tree.childrenOf(c.uuid).map((g) => g.uuid),
    phase: 'copy',
  };
  await ctx.journal.write(rec);
  try {
    // Nobody writes either node, and readers below see the child's sectors first: no pause.
    await copyInto(ctx, rec.child, rec.parent, 'coalesce.block', signal);
  } catch (e) {
    await ctx.journal.remove(rec);
    throw e;
  }
  crashPoint('coalesce.copied');
  rec.phase = 'relink';
  await ctx.journal.write(rec);
  const resume = await ctx.pause(tree.descendants(c.uuid).map((n) => n.uuid), 'coalesce');
  try {
    await finishRelink(ctx, rec);
  } finally {
    await resume();
  }
  await ctx.journal.remove(rec);
}

async function leafCoalesce(ctx: SrContext, leaf: NodeInfo, signal?: AbortSignal): Promise<void> {
  const rec: LeafCoalesceRecord = { op: 'leaf-coalesce', leaf: leaf.uuid, parent: leaf.parentUuid!, phase: 'copy' };
  const resume = await ctx.pause([leaf.uuid], 'coalesce');
  try {
    await ctx.journal.write(rec);
    try {
      await copyInto(ctx, rec.leaf, rec.parent, 'leaf.block', signal);
    } catch (e) {
      await ctx.journal.remove(rec);
      throw e;
    }
    crashPoint('leaf.copied');
    rec.phase = 'swap';
    await ctx.journal.write(rec);
    await finishSwap(ctx, rec);
    await ctx.journal.remove(rec);
  } finally {
    await resume();
  }
}

export function isAbort(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'AbortError';
}

/** One unit of GC work; null when there is nothing left to do. */
export async function gcStep(ctx: SrContext, run: GcRunState): Promise<GcStepResult | null> {
  const tree = new VdiTree((await ctx.dir.readAll()).nodes);
  const busy = (n: NodeInfo) => ctx.isActive(n.uuid) || tree.descendants(n.uuid).some((d) => ctx.isActive(d.uuid));
  const garbage = tree.garbage().filter((n) => !busy(n));
  if (garbage.length > 0) {
    for (const n of garbage) {
      await removeDurable(ctx.dir.vhd(n.uuid));
      crashPoint('gc.removed');
    }
    return { removed: garbage.map((n) => n.uuid), coalesced: [], split: [] };
  }
  const free = await ctx.dir.freeBytes();
  // Merging changes what the parent alone reads: not while someone has the parent open.
  const eligible = (n: NodeInfo) => !run.skip.has(n.uuid) && n.physical <= free && !ctx.isActive(n.parentUuid!);
  for (const c of tree.coalesceCandidates()) {
    // The copy may need as much new space as the child holds; the relink pauses the disks below.
    if (!eligible(c) || tree.descendants(c.uuid).some((d) => ctx.isActiveElsewhere(d.uuid))) continue;
    try {
      await coalesce(ctx, tree, c, run.signal);
      return { removed: [], coalesced: [c.uuid], split: [] };
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      run.skip.add(c.uuid);
    }
  }
  for (const l of tree.leafCoalesceCandidates()) {
    if (!eligible(l) || ctx.isActiveElsewhere(l.uuid)) continue;
    const splits = run.splits.get(l.uuid) ?? 0;
    try {
      if (ctx.isActive(l.uuid) && l.physical > LIVE_LEAF_COALESCE_MAX && splits < MAX_SPLITS && tree.depth(l.uuid) < MAX_CHAIN_DEPTH) {
        run.splits.set(l.uuid, splits + 1);
        await snapshotVdi(ctx, l.uuid, null, false);
        return { removed: [], coalesced: [], split: [l.uuid] };
      }
      await leafCoalesce(ctx, l, run.signal);
      return { removed: [], coalesced: [l.parentUuid!], split: [] };
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      run.skip.add(l.uuid);
    }
  }
  return null;
}
