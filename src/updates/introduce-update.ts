/**
 * @module
 * `pool_update.introduce(vdi)` on the master: an update file held in a VDI becomes known to
 * the pool. xapi attaches the VDI read-only to the master's control domain, mounts it and
 * reads the update's metadata; here the disk is read read-only on the master (its SR must be
 * plugged there) and the file it holds is copied out (see `vdi-update-reader.ts`). From then
 * on it is an upload: the same verification (archive structure, signature by a trusted key,
 * manifest, listing, hashes), the same stored file, the same records, with
 * `pool_update.vdi` naming the disk. What xapi does with a known update is kept: introduced
 * again from the same VDI it is simply returned, one with no VDI (uploaded, or cleaned)
 * takes this one, and from another VDI it is UPDATE_ALREADY_EXISTS [uuid]. A refusal is
 * INVALID_UPDATE [info], xapi's code for this call, and leaves nothing behind: the copy is
 * private until the update has passed every check.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../core/api-error.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import { isNullRef, type Ref } from '../core/ref.js';
import { verifyUpdateFile, type VerifiedUpdate } from './package/verify-update.js';
import { createUpdateRecords, twinUuid, updateRefOf } from './patch-records.js';
import { patchDir, storedUpdatePath } from './patch-files.js';
import { trustedUpdateKeys } from './update-keys.js';

export interface IntroduceEnv {
  readonly db: PoolDb;
  readonly dataDir: string;
  readonly log?: (msg: string) => void;
}

/** xapi refuses to introduce with less than this free where updates are kept. */
const MIN_FREE = 1024 * 1024;

/** What the trust refusals say (their detail stays in the server log, as for an upload). */
export const UNTRUSTED = 'not an update signed by a key the pool trusts';

/** The upload's refusals in this call's terms: INVALID_PATCH[_WITH_LOG] become INVALID_UPDATE. */
export function asIntroduceError(e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  if (e.code === 'INVALID_PATCH') return Object.assign(new ApiError('INVALID_UPDATE', [UNTRUSTED]), { cause: e.cause });
  if (e.code === 'INVALID_PATCH_WITH_LOG') return new ApiError('INVALID_UPDATE', [e.params[0] ?? '']);
  return e;
}

/**
 * Introduces the update that `copyOut` writes into the file it is given (returning its
 * length); resolves to the pool_update ref.
 */
export async function introduceUpdate(
  env: IntroduceEnv, vdi: Ref<'VDI'>, copyOut: (dest: string) => Promise<number>,
): Promise<Ref<'pool_update'>> {
  const dir = patchDir(env.dataDir);
  await mkdir(dir, { recursive: true });
  const fs = await statfs(dir);
  if (fs.bavail * fs.bsize < MIN_FREE) throw new ApiError('OUT_OF_SPACE', [dir]);
  const tmp = join(dir, `.introduce-${randomBytes(8).toString('hex')}`);
  try {
    let v: VerifiedUpdate;
    let size: number;
    try {
      size = await copyOut(tmp);
      v = await verifyUpdateFile(tmp, trustedUpdateKeys(env.db), { tempDir: dir });
    } catch (e) {
      const err = asIntroduceError(e);
      const cause = (err as { cause?: unknown }).cause;
      env.log?.(`pool_update.introduce refused: ${err instanceof Error ? err.message : String(err)}${cause ? ` (${String(cause)})` : ''}`);
      throw err;
    }
    const uuid = v.manifest.uuid;
    const dest = storedUpdatePath(env.dataDir, uuid);
    const known = updateRefOf(env.db, uuid);
    if (known) {
      const had = env.db.get('pool_update', known)!.vdi;
      if (had === vdi) return known;
      if (!isNullRef(had) && env.db.get('VDI', had)) throw new ApiError('UPDATE_ALREADY_EXISTS', [twinUuid(uuid)]);
      // An update with no disk (uploaded, or its disk gone) takes this one, and its file again.
      if (!existsSync(dest)) await rename(tmp, dest);
      env.db.update('pool_update', known, { vdi });
      env.log?.(`update ${v.manifest.name_label} (${uuid}) now held by VDI ${vdi}`);
      return known;
    }
    if (env.db.refByUuid('pool_patch', uuid)) throw new ApiError('UPDATE_ALREADY_EXISTS', [twinUuid(uuid)]);
    await rename(tmp, dest);
    try {
      const pair = createUpdateRecords(env.db, v.manifest, v.fingerprint, size, vdi);
      env.log?.(`update ${v.manifest.name_label} (${uuid}) introduced from VDI ${vdi}, signed by ${v.fingerprint}`);
      return pair.update;
    } catch (e) {
      await rm(dest, { force: true });
      throw e instanceof ApiError && e.code === 'PATCH_ALREADY_EXISTS' ? new ApiError('UPDATE_ALREADY_EXISTS', [twinUuid(uuid)]) : e;
    }
  } finally {
    await rm(tmp, { force: true });
  }
}
