/**
 * @module
 * The single-file steps the SR's tree operations are made of, each idempotent so that
 * journal recovery can simply run it again: build empty children of nodes (under temporary
 * names, fsync'd, for the caller to rename into place), give a file a node identity (footer
 * uuid and hidden flag), re-point a child at another parent.
 */
import { rename } from 'node:fs/promises';
import { createDifferencing, VhdFile } from '../vhd/index.js';
import { allSettledOrThrow, fsyncDir, fsyncPath, removeAllDurable, tmpName } from './durable-fs.js';
import type { SrDir } from './sr-dir.js';
import { rewriteFooter } from './vhd-facts.js';

/**
 * Builds each child of `pairs` under its temporary name, fsync'd (with `blockSize` instead
 * of its parent's, if given); returns the renames that put them in place. On failure no
 * temporary is left.
 */
export async function buildChildren(dir: SrDir, pairs: ReadonlyArray<readonly [string, string]>, opts: { blockSize?: number } = {}): Promise<Array<readonly [string, string]>> {
  const moves = pairs.map(([, child]) => [tmpName(dir.vhd(child)), dir.vhd(child)] as const);
  const temporaries = moves.map(([tmp]) => tmp);
  await removeAllDurable(temporaries);
  try {
    await allSettledOrThrow(pairs.map(async ([parent, child]) => {
      const tmp = tmpName(dir.vhd(child));
      await createDifferencing(tmp, dir.vhd(parent), { uuid: child, ...(opts.blockSize ? { blockSize: opts.blockSize } : {}) });
      await fsyncPath(tmp);
    }));
  } catch (e) {
    await removeAllDurable(temporaries).catch(() => undefined);
    throw e;
  }
  return moves;
}

/** Sets the footer uuid and hidden flag of the file `path` (no-op when already so). */
export async function setIdentity(path: string, uuid: string, hidden: boolean): Promise<void> {
  await rewriteFooter(path, { uuid, hidden });
}

/** Points `<child>.vhd` at `<parent>.vhd` (no-op when it already does). */
export async function reparent(dir: SrDir, childUuid: string, parentUuid: string): Promise<void> {
  const f = await VhdFile.open(dir.vhd(childUuid));
  try {
    if (f.parentUuid !== parentUuid) await f.setParent(dir.vhd(parentUuid));
    await f.flush();
  } finally {
    await f.close();
  }
}

/** Renames node `from` to `to` durably, replacing `to`. */
export async function renameNode(dir: SrDir, from: string, to: string): Promise<void> {
  await rename(dir.vhd(from), dir.vhd(to));
  await fsyncDir(dir.path);
}
