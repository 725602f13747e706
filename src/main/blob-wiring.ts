/**
 * @module
 * Blobs on this host: their data under `<data-dir>/blobs/` (one file per blob uuid), the
 * `/blob` HTTP resources, and at start, on the master, the removal of data no blob record
 * names any more (left by a crash between the record's removal and its data's, or by a
 * database restored from an older dump). `ISLET_MAX_BLOB_BYTES` sets the largest blob
 * taken (64 MiB by default; xapi sets none).
 */
import { join } from 'node:path';
import type { ResourceHandler } from '../api/http-api.js';
import { createBlobGetHandler, createBlobPutHandler } from '../api/handlers/blob-handler.js';
import type { HandlerDeps } from '../api/handlers/http-auth.js';
import { DEFAULT_MAX_BLOB_BYTES, type BlobStore } from '../core/ports/blob-store.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import { FileBlobStore } from '../storage/blob-files.js';

export interface PreparedBlobs {
  readonly store: BlobStore;
  resources(deps: HandlerDeps): ReadonlyArray<readonly [string, ResourceHandler]>;
  /** Before the host serves: on the master, drops data whose blob is gone. */
  start(db: PoolDb, isMaster: boolean, log: (msg: string) => void): Promise<void>;
}

function maxBlobBytes(): number {
  const n = Number(process.env.ISLET_MAX_BLOB_BYTES);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_BLOB_BYTES;
}

export function prepareBlobs(dataDir: string): PreparedBlobs {
  const store = new FileBlobStore(join(dataDir, 'blobs'), maxBlobBytes());
  return {
    store,
    resources: (deps) => {
      const o = { ...deps, store };
      return [
        ['GET /blob', createBlobGetHandler(o)],
        ['PUT /blob', createBlobPutHandler(o)],
      ];
    },
    start: async (db, isMaster, log) => {
      // A member's records are the master's; its own blob directory is not consulted.
      if (!isMaster) return;
      const known = new Set(db.all('blob').map(([, r]) => String(r.uuid).toLowerCase()));
      const removed = await store.sweep((uuid) => known.has(uuid.toLowerCase())).catch((e: unknown) => {
        log(`blobs: could not sweep ${join(dataDir, 'blobs')}: ${e instanceof Error ? e.message : String(e)}`);
        return 0;
      });
      if (removed) log(`blobs: removed the data of ${removed} blob(s) no record names`);
    },
  };
}
