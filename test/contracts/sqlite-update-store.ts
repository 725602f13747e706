/**
 * @module
 * The update store a master's upload handler uses (`src/updates/update-store.ts`) over a
 * real SQLite pool database in a fresh data directory, trusting one key: the fixture of
 * the updates storage contract.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classes } from '../../src/datamodel/index.js';
import { openPoolDb } from '../../src/db/sqlite-pool-db.js';
import { updateStore } from '../../src/updates/update-store.js';
import { addUpdateKeys } from '../../src/updates/update-keys.js';
import type { UpdateStoreFixture } from './update-store.contract.js';

export async function sqliteUpdateStore(trustedKey: Buffer): Promise<UpdateStoreFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'islet-update-store-'));
  const db = openPoolDb(join(dir, 'pool.db'), classes);
  try {
    await addUpdateKeys(db, trustedKey);
    const store = updateStore(db, dir, () => undefined);
    // The host makes the directory at start-up; uploads are received into it.
    await mkdir(store.incomingDir, { recursive: true });
    return {
      store, db,
      stop: async () => {
        db.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    db.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
