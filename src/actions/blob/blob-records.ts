/**
 * @module
 * Blob records and the owners' `blobs` maps. A blob is made empty (size 0, never written:
 * last_updated is the epoch, as xapi has it); `create_new_blob` on a pool, host, VM, SR or
 * network also files it under a name in that object's map. Removing a blob takes its
 * record, its entry in whichever map holds it and its data; an owner that goes takes its
 * blobs with it (xapi leaves those behind, records nothing refers to and data nobody can
 * name any more).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import { newRef, newUuid, xapiDate, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';

/** The classes whose objects carry a `blobs` map. */
export const BLOB_OWNERS = ['pool', 'host', 'VM', 'SR', 'network'] as const;
export type BlobOwner = (typeof BLOB_OWNERS)[number];

/** What a blob reads as before any data is written: never updated. */
const NEVER = xapiDate(new Date(0));

/** Makes an empty blob record; an empty mime type means arbitrary bytes, as in xapi. */
export function createBlobRecord(ctx: ActionContext, mimeType: string, isPublic: boolean): Ref<'blob'> {
  const ref = newRef<'blob'>();
  ctx.db.create('blob', ref, {
    uuid: newUuid(), name_label: '', name_description: '', size: 0, public: isPublic,
    last_updated: NEVER, mime_type: mimeType || 'application/octet-stream',
  });
  return ref;
}

/**
 * `<owner class>.create_new_blob`: a new blob filed under `name` in the owner's map. A name
 * already there is refused before anything is made (xapi would leave the new record behind).
 */
export function attachNewBlob(ctx: ActionContext, cls: BlobOwner, owner: Ref, a: { name: string; mime_type: string; public?: boolean }): Ref<'blob'> {
  return ctx.db.transaction(() => {
    const row = mustRow(ctx, cls, owner);
    const blobs = blobsOf(row);
    if (a.name in blobs) throw new ApiError('MAP_DUPLICATE_KEY', [cls, 'blobs', String(row.uuid), a.name]);
    const blob = createBlobRecord(ctx, a.mime_type, a.public === true);
    ctx.db.update<string>(cls, owner, { blobs: { ...blobs, [a.name]: blob } });
    return blob;
  });
}

function blobsOf(row: Record<string, unknown>): Record<string, Ref<'blob'>> {
  const m = row.blobs;
  return m && typeof m === 'object' ? { ...(m as Record<string, Ref<'blob'>>) } : {};
}

/** The blobs an owner's record names. */
export function ownedBlobs(row: Record<string, unknown>): Ref<'blob'>[] {
  return Object.values(blobsOf(row));
}

/**
 * Removes blob records and their entries in every owner's map, in one transaction (joins
 * the caller's); returns the uuids whose data {@link forgetBlobData} should then remove.
 */
export function removeBlobRecords(ctx: ActionContext, blobs: readonly Ref<'blob'>[]): string[] {
  const doomed = new Set(blobs.filter((b) => ctx.db.get('blob', b)));
  if (!doomed.size) return [];
  return ctx.db.transaction(() => {
    for (const cls of BLOB_OWNERS) {
      for (const [ref, row] of ctx.db.all<string>(cls)) {
        const map = blobsOf(row);
        const kept = Object.fromEntries(Object.entries(map).filter(([, b]) => !doomed.has(b)));
        if (Object.keys(kept).length !== Object.keys(map).length) ctx.db.update<string>(cls, ref, { blobs: kept });
      }
    }
    const uuids: string[] = [];
    for (const b of doomed) {
      uuids.push(String(ctx.db.get('blob', b)!.uuid));
      ctx.db.remove('blob', b);
    }
    return uuids;
  });
}

/**
 * Removes the data of blobs whose records are gone. A failure is not the caller's: the
 * master sweeps data no record names when it starts.
 */
export async function forgetBlobData(ctx: ActionContext, uuids: readonly string[]): Promise<void> {
  const store = ctx.services.blobs;
  if (!store) return;
  for (const uuid of uuids) await store.remove(uuid).catch(() => undefined);
}

/** Removes blobs, records and data. */
export async function destroyBlobs(ctx: ActionContext, blobs: readonly Ref<'blob'>[]): Promise<void> {
  await forgetBlobData(ctx, removeBlobRecords(ctx, blobs));
}
