/**
 * @module
 * The update files a master keeps under `<data-dir>/patch/`, as the HTTP handlers see
 * them (`UpdateStore`): an uploaded file is verified against the pool's trusted keys and
 * kept, with its records, only when everything checks out.
 */
import { rename, rm } from 'node:fs/promises';
import { ApiError } from '../core/api-error.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { UpdateStore } from '../core/ports/updates.js';
import { verifyUpdateFile } from './package/verify-update.js';
import { patchDir, storedUpdatePath } from './patch-files.js';
import { createUpdateRecords, updateExists } from './patch-records.js';
import { trustedUpdateKeys } from './update-keys.js';

export function updateStore(db: PoolDb, dataDir: string, log: (msg: string) => void): UpdateStore {
  return {
    incomingDir: patchDir(dataDir),
    storedPath: (uuid) => storedUpdatePath(dataDir, uuid),
    async accept(path, size) {
      try {
        const v = await verifyUpdateFile(path, trustedUpdateKeys(db), { tempDir: patchDir(dataDir) });
        if (updateExists(db, v.manifest.uuid)) throw new ApiError('PATCH_ALREADY_EXISTS', [v.manifest.uuid]);
        const dest = storedUpdatePath(dataDir, v.manifest.uuid);
        await rename(path, dest);
        let ref: string;
        try {
          ref = createUpdateRecords(db, v.manifest, v.fingerprint, size).patch;
        } catch (e) {
          await rm(dest, { force: true });
          throw e;
        }
        log(`update ${v.manifest.name_label} (${v.manifest.uuid}) uploaded, signed by ${v.fingerprint}`);
        return ref;
      } finally {
        await rm(path, { force: true });
      }
    },
  };
}
