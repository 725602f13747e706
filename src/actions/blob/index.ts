/**
 * @module
 * blob: binary objects clients keep in the pool (XenCenter's notes and icons, say). The
 * records are here; the data goes in and out over HTTP (`/blob?ref=`, see
 * `api/handlers/blob-handler.ts`). Creating and destroying are shared with the owners'
 * `create_new_blob` and destroy messages (`blob-records.ts`).
 */
import type { ActionsOf } from '../../core/actions-of.js';
import { mustRow } from '../common/storage-access.js';
import { createBlobRecord, destroyBlobs } from './blob-records.js';

export const blobActions = {
  create: (ctx, a) => createBlobRecord(ctx, a.mime_type, a.public === true),
  destroy: async (ctx, a) => {
    mustRow(ctx, 'blob', a.self);
    await destroyBlobs(ctx, [a.self]);
    return '';
  },
} satisfies ActionsOf<'blob'>;
