/**
 * @module
 * The single-file steps the SR's tree operations are made of, each idempotent so that
 * journal recovery can simply run it again: make an empty child of a node (built under a
 * temporary name, fsync'd, renamed into place), give a file a node identity (footer uuid
 * and hidden flag), re-point a child at another parent.
 */
import { rename } from 'node:fs/promises';
import { createDifferencing, VhdFile } from '../vhd/index.js';
import { fsyncDir, publish, removeDurable, tmpName } from './durable-fs.js';
import type { SrDir } from './sr-dir.js';
import { rewriteFooter } from './vhd-facts.js';

/** Makes `<child>.vhd` an empty differencing child of `<parent>.vhd` (replacing any file of that name). */
export async function createChild(dir: SrDir, parentUuid: string, childUuid: string): Promise<void> {
  const path = dir.vhd(childUuid);
  const tmp = tmpName(path);
  await removeDurable(tmp);
  try {
    await createDifferencing(tmp, dir.vhd(parentUuid), { uuid: childUuid });
    await publish(tmp, path);
  } catch (e) {
    await removeDurable(tmp).catch(() => undefined);
    throw e;
  }
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
