/**
 * @module
 * The file SR's VDI operations, shaped as XenServer's FileSR shapes trees. Snapshot and
 * clone never copy data: a leaf with data of its own becomes a hidden read-only base (its
 * file hard-linked to a new name, so the leaf's name never points at nothing) under two new
 * empty children, the original (same uuid) and the new disk; a leaf with nothing of its own
 * just gets a sibling under its parent, so snapshotting an unmodified disk or reverting adds
 * no depth. A thick disk's blocks stay where they are, in its base; the new leaves are thin
 * (only what is written after the snapshot takes space). Several disks (a VM's) are
 * snapshotted as one change, and what it costs does not grow with their size: only headers
 * are read, and read-only snapshots get large blocks so their files stay small. Each
 * multi-step change is journaled; a failure undoes it on the spot and leaves nothing
 * behind. All run under the SR lock.
 */
import { randomUUID } from 'node:crypto';
import { createDynamic, createFixed, MAX_VHD_SIZE, VhdFile } from '../vhd/index.js';
import { crashPoint } from './crash-point.js';
import { allSettledOrThrow, exists, linkAllDurable, publish, publishAll, removeAllDurable, removeDurable, tmpName, writeFilesSynced } from './durable-fs.js';
import type { SnapshotItem, SnapshotRecord } from './journal.js';
import { buildChildren, setIdentity } from './node-files.js';
import { undoSnapshots } from './recovery.js';
import type { SrContext } from './sr-context.js';
import { UUID_RE, type NodeInfo } from './sr-dir.js';
import { backendError, isNoSpace, isNotFound, srFull, vdiMissing } from './sr-errors.js';
import { VdiInUseError, VdiReadOnlyError, VdiUuidInvalidError } from '../../core/ports/storage-errors.js';

/**
 * Sizes are rounded up to whole sectors only (sm rounds to 2 MiB blocks): an imported raw
 * image then exports byte for byte, and a partial last block is valid VHD.
 */
const VHD_ROUNDING = 512;
/** Block size of read-only snapshot files (see `buildCreated`): the largest VHD readers take. */
const READ_ONLY_BLOCK_SIZE = 256 * 1024 * 1024;
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
  if (!UUID_RE.test(uuid)) throw new VdiUuidInvalidError(uuid);
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
  if (ctx.isActive(uuid)) throw new VdiInUseError(uuid, 'destroy');
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
  if (node.hidden) throw new VdiReadOnlyError(uuid);
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

/** One leaf to snapshot (`readOnly`) or clone as `created`; `created` null makes only the base. */
export interface CowRequest {
  readonly leaf: string;
  readonly created: string | null;
  readonly readOnly: boolean;
}

export type CowOutcome = ({ ok: true } & SnapshotOutcome) | { ok: false; error: unknown };

/**
 * Snapshot (`readOnly`) or clone of leaf `uuid` as `created`; `created` null makes only the
 * base (the "single snapshot" the garbage collector uses to coalesce a busy leaf live).
 */
export async function snapshotVdi(ctx: SrContext, uuid: string, created: string | null, readOnly: boolean): Promise<SnapshotOutcome> {
  const [r] = await snapshotVdis(ctx, [{ leaf: uuid, created, readOnly }]);
  if (!r!.ok) throw r!.error;
  return { base: r!.base };
}

interface Planned {
  readonly at: number;
  readonly item: SnapshotItem;
  readonly resume: () => Promise<void>;
}

/**
 * `snapshotVdi` for several leaves at once (a VM's disks), as one journaled change whose
 * durability barriers are shared, so a VM with four disks waits for about as many fsyncs as
 * one with a single disk. Each request is checked on its own, and one refused does not stop
 * the others; a failure of the change itself undoes it for every leaf. The leaves and new
 * uuids must all differ.
 */
export async function snapshotVdis(ctx: SrContext, reqs: readonly CowRequest[]): Promise<CowOutcome[]> {
  const out: CowOutcome[] = [];
  const planned: Planned[] = [];
  const named = new Set<string>();
  // Paused first: a write in flight could otherwise give a leaf data after we looked.
  await Promise.all(reqs.map(async (req, at) => {
    const names = [req.leaf, ...(req.created === null ? [] : [req.created])];
    if (names.some((n) => named.has(n))) {
      out[at] = { ok: false, error: backendError('VDISnapshot', `${req.leaf} is named twice in one operation`) };
      return;
    }
    names.forEach((n) => named.add(n));
    let resume: () => Promise<void>;
    try {
      resume = await ctx.pause([req.leaf], req.created === null ? 'coalesce' : req.readOnly ? 'snapshot' : 'clone');
    } catch (error) {
      out[at] = { ok: false, error };
      return;
    }
    try {
      const item = await planSnapshot(ctx, req);
      if (item) planned.push({ at, item, resume });
      else {
        out[at] = { ok: true, base: null };
        await resume();
      }
    } catch (error) {
      out[at] = { ok: false, error };
      await resume();
    }
  }));
  planned.sort((a, b) => a.at - b.at);
  try {
    if (planned.length > 0) await applySnapshots(ctx, { op: 'snapshot', id: randomUUID(), items: planned.map((p) => p.item) });
    for (const p of planned) out[p.at] = { ok: true, base: p.item.base };
  } catch (e) {
    const error = isNoSpace(e) ? srFull(0, await ctx.dir.freeBytes()) : e;
    for (const p of planned) out[p.at] = { ok: false, error };
  } finally {
    for (const p of planned) await p.resume();
  }
  return out;
}

/** The request's part of the change, or null when there is nothing to do. */
async function planSnapshot(ctx: SrContext, req: CowRequest): Promise<SnapshotItem | null> {
  const leaf = await readExisting(ctx, req.leaf);
  if (leaf.hidden) throw backendError(req.readOnly ? 'VDISnapshot' : 'VDIClone', `${req.leaf} is a hidden base copy`);
  if (req.created !== null) await checkNew(ctx, req.created);
  const shallow = leaf.parentUuid !== null && !leaf.mayHaveData;
  if (!shallow && (await chainDepth(ctx, leaf)) >= MAX_CHAIN_DEPTH) throw backendError('SnapshotChainTooLong', req.leaf);
  if (shallow && req.created === null) return null;
  const base = shallow ? null : randomUUID();
  return { leaf: req.leaf, base, created: req.created, parent: base ?? leaf.parentUuid!, readOnly: req.readOnly };
}

/**
 * The new empty children of a change, built under temporary names and fsync'd; returns
 * the renames that put them in place. A read-only snapshot is never written, so it takes
 * the largest blocks VHD allows: its block table, all its file holds, then stays a few KiB
 * however large the disk, where the parent's 2 MiB blocks would cost 2 MiB per TiB.
 */
async function buildCreated(ctx: SrContext, items: readonly SnapshotItem[]): Promise<Array<readonly [string, string]>> {
  const made = items.filter((i) => i.created !== null);
  const [ro, rw] = await allSettledOrThrow([
    buildChildren(ctx.dir, made.filter((i) => i.readOnly).map((i) => [i.parent, i.created!] as const), { blockSize: READ_ONLY_BLOCK_SIZE }),
    buildChildren(ctx.dir, made.filter((i) => !i.readOnly).map((i) => [i.parent, i.created!] as const)),
  ]);
  return [...ro!, ...rw!];
}

/**
 * The file steps of a snapshot change, each step for every disk together, undone on
 * failure: the record, and beside it what nobody sees yet (the new files, the new flags,
 * under temporary names); for deep snapshots the base (a second name for the leaf's file,
 * then marked hidden) and the leaf's new child; then everything into place, one rename
 * each and one fsync of the directory; last the record goes.
 */
async function applySnapshots(ctx: SrContext, rec: SnapshotRecord): Promise<void> {
  const made = rec.items.filter((i) => i.created !== null);
  const deep = rec.items.filter((i) => i.base !== null);
  const flagsTmp = tmpName(ctx.dir.flagsFile);
  const moves: Array<readonly [string, string]> = [];
  const built = (m: ReadonlyArray<readonly [string, string]>) => void moves.push(...m);
  let flags = false;
  try {
    // A crash before the record is in place leaves temporaries only, which recovery sweeps.
    await allSettledOrThrow([
      ctx.journal.write(rec),
      buildCreated(ctx, rec.items.filter((i) => i.base === null)).then(built),
      ctx.dir.readOnlyDocument(Object.fromEntries(made.filter((i) => i.readOnly).map((i) => [i.created!, true])), new Set(made.map((i) => i.created!)))
        .then(async (doc) => {
          if (doc === null) return;
          await writeFilesSynced([[flagsTmp, doc]]);
          flags = true;
        }),
    ]);
    if (deep.length > 0) {
      // The leaf's file becomes the base under a second name; the leaf's name never points at nothing.
      await linkAllDurable(deep.map((i) => [ctx.dir.vhd(i.leaf), ctx.dir.vhd(i.base!)] as const));
      deep.forEach(() => crashPoint('snapshot.linked'));
      await allSettledOrThrow(deep.map((i) => setIdentity(ctx.dir.vhd(i.base!), i.base!, true)));
      deep.forEach(() => crashPoint('snapshot.base-marked'));
      await allSettledOrThrow([
        buildChildren(ctx.dir, deep.map((i) => [i.base!, i.leaf] as const)).then(built),
        buildCreated(ctx, deep).then(built),
      ]);
    }
    await publishAll([...moves, ...(flags ? [[flagsTmp, ctx.dir.flagsFile] as const] : [])], { synced: true });
    deep.forEach(() => crashPoint('snapshot.leaf-replaced'));
    made.forEach(() => crashPoint('snapshot.created'));
    await ctx.journal.remove(rec);
  } catch (e) {
    await removeAllDurable([...moves.map(([tmp]) => tmp), flagsTmp]).catch(() => undefined);
    // If the undo fails too, the record stays and the next operation's recovery retries.
    await undoSnapshots(ctx, rec)
      .then(() => ctx.journal.remove(rec))
      .catch(() => undefined);
    throw e;
  }
}
