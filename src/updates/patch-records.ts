/**
 * @module
 * The database side of an update: one uploaded file becomes a `pool_patch` and its
 * `pool_update` twin, plus the signed manifest kept in the internal store for prechecks.
 * The update's own uuid (the manifest's, the stored file's name, the hosts' markers) is the
 * pool_patch's; the twin gets a uuid of its own derived from it (`twinUuid`), because a
 * client that looks a uuid up without naming the class (or tries every class) must not be
 * handed a pool_update where it expects the pool_patch. The pair is joined by
 * `pool_patch.pool_update`, never by uuid. Applying it on a host makes
 * a `host_patch` and adds the host to `pool_update.hosts` and the update to `host.updates`;
 * XenCenter reads the former on old APIs and the latter on new ones, so both stay in step.
 */
import { ApiError } from '../core/api-error.js';
import type { PoolDb, Row } from '../core/ports/pool-db.js';
import { NULL_REF, newRef, newUuid, xapiDate, type Ref } from '../core/ref.js';
import { uuidV5 } from '../core/uuid-v5.js';
import type { UpdateManifest } from './package/update-manifest.js';
import type { AppliedMarker } from './patch-files.js';
import type { Flavour } from './host-ops.js';

const manifestKey = (uuid: string) => `pool:update:${uuid}`;

/** The parts of the signed manifest the pool keeps (files are not needed after upload). */
export type StoredManifest = Omit<UpdateManifest, 'files'> & { readonly signed_by: string };

export interface UpdatePair {
  /** The update's uuid: the manifest's and the pool_patch's (not the twin's). */
  readonly uuid: string;
  readonly patch: Ref<'pool_patch'>;
  readonly update: Ref<'pool_update'>;
}

export function storedManifest(db: PoolDb, uuid: string): StoredManifest | undefined {
  const raw = db.getMeta(manifestKey(uuid));
  return raw ? (JSON.parse(raw) as StoredManifest) : undefined;
}

/** Islet's namespace for the uuids of pool_update twins (fixed: every host derives the same). */
export const TWIN_NAMESPACE = '2515c0ab-1e6f-4e05-b3b2-972d6155d063';

/** The uuid of the pool_update twin of the update (pool_patch) with this uuid. */
export function twinUuid(patchUuid: string): string {
  return uuidV5(TWIN_NAMESPACE, `pool_update:${patchUuid.toLowerCase()}`);
}

/** The pool_update twin of the update with this (patch) uuid, if the pool has one. */
export function updateRefOf(db: PoolDb, uuid: string): Ref<'pool_update'> | undefined {
  const patch = db.refByUuid('pool_patch', uuid);
  const linked = patch ? db.get('pool_patch', patch)?.pool_update : undefined;
  if (linked && db.get('pool_update', linked)) return linked;
  return db.refByUuid('pool_update', twinUuid(uuid));
}

/** The pool_patch whose twin this pool_update is. */
export function patchRefOf(db: PoolDb, update: Ref<'pool_update'>): Ref<'pool_patch'> | undefined {
  const row = db.get('pool_update', update);
  if (!row) return undefined;
  for (const [ref, pp] of db.all('pool_patch')) if (pp.pool_update === update) return ref;
  return undefined;
}

/** The update's uuid (the pool_patch's) behind a pool_update ref; undefined when unknown. */
export function updateUuidOf(db: PoolDb, update: Ref<'pool_update'>): string | undefined {
  const patch = patchRefOf(db, update);
  if (patch) return String(db.get('pool_patch', patch)!.uuid);
  const row = db.get('pool_update', update);
  return row ? String(row.uuid) : undefined;
}

/** Whether the pool knows an update with this uuid, in either class. */
export function updateExists(db: PoolDb, uuid: string): boolean {
  return db.refByUuid('pool_patch', uuid) !== undefined || updateRefOf(db, uuid) !== undefined;
}

/** Makes the records for a freshly verified upload (or introduced VDI); PATCH_ALREADY_EXISTS when known. */
export function createUpdateRecords(db: PoolDb, m: UpdateManifest, signedBy: string, size: number, vdi: Ref<'VDI'> = NULL_REF): UpdatePair {
  return db.transaction(() => {
    if (updateExists(db, m.uuid)) throw new ApiError('PATCH_ALREADY_EXISTS', [m.uuid]);
    const update = newRef<'pool_update'>();
    const patch = newRef<'pool_patch'>();
    db.create('pool_update', update, {
      uuid: twinUuid(m.uuid), name_label: m.name_label, name_description: m.name_description, version: m.version,
      installation_size: m.installation_size, key: signedBy, after_apply_guidance: m.after_apply_guidance,
      vdi, hosts: [], other_config: { ...m.other_config }, enforce_homogeneity: false,
    });
    db.create('pool_patch', patch, {
      uuid: m.uuid, name_label: m.name_label, name_description: m.name_description, version: m.version,
      size, pool_applied: false, after_apply_guidance: m.after_apply_guidance, pool_update: update,
      other_config: { ...m.other_config },
    });
    const { files: _files, ...rest } = m;
    const stored: StoredManifest = { ...rest, signed_by: signedBy };
    db.setMeta(manifestKey(m.uuid), JSON.stringify(stored));
    return { uuid: m.uuid, patch, update };
  });
}

/** The pair behind either class's ref; HANDLE_INVALID when unknown. */
export function resolvePair(db: PoolDb, flavour: Flavour, self: string): UpdatePair {
  if (flavour === 'patch') {
    const row = db.get('pool_patch', self);
    if (!row) throw new ApiError('HANDLE_INVALID', ['pool_patch', self]);
    return { uuid: row.uuid, patch: self, update: db.get('pool_update', row.pool_update) ? row.pool_update : NULL_REF };
  }
  const row = db.get('pool_update', self);
  if (!row) throw new ApiError('HANDLE_INVALID', ['pool_update', self]);
  const patch = patchRefOf(db, self);
  // A twin whose patch is gone (never made so) can only go by its own uuid.
  if (!patch) return { uuid: String(row.uuid), patch: NULL_REF, update: self };
  return { uuid: String(db.get('pool_patch', patch)!.uuid), patch, update: self };
}

/** host_patch rows for one host, keyed by the uuid of their update. */
export function hostPatchesOf(db: PoolDb, host: Ref<'host'>): Map<string, [Ref<'host_patch'>, Row]> {
  const out = new Map<string, [Ref<'host_patch'>, Row]>();
  for (const [ref, hp] of db.all('host_patch')) {
    if (hp.host !== host) continue;
    const pp = db.get('pool_patch', hp.pool_patch);
    if (pp) out.set(String(pp.uuid), [ref, hp]);
  }
  return out;
}

/** Uuids of the updates applied on a host, as the database says. */
export function appliedOn(db: PoolDb, host: Ref<'host'>): Set<string> {
  const out = new Set<string>();
  for (const [uuid, [, hp]] of hostPatchesOf(db, host)) if (hp.applied === true) out.add(uuid);
  return out;
}

/** Records that a host has the update, from its marker; idempotent. */
export function recordApplied(db: PoolDb, host: Ref<'host'>, pair: UpdatePair, marker: AppliedMarker): void {
  db.transaction(() => {
    const pp = db.get('pool_patch', pair.patch);
    const existing = hostPatchesOf(db, host).get(pair.uuid);
    const fields = {
      applied: true,
      timestamp_applied: xapiDate(new Date(marker.applied_at * 1000)),
      size: marker.size,
      other_config: { 'islet-applied-at': marker.applied_at.toFixed(3) },
    };
    if (existing) db.update('host_patch', existing[0], fields);
    else if (pp) {
      db.create('host_patch', newRef<'host_patch'>(), {
        uuid: newUuid(), name_label: pp.name_label, name_description: pp.name_description, version: pp.version,
        host, pool_patch: pair.patch, ...fields,
      });
    }
    const pu = db.get('pool_update', pair.update);
    if (pu && !(pu.hosts as string[]).includes(host)) db.update('pool_update', pair.update, { hosts: [...(pu.hosts as string[]), host] });
    const h = db.get('host', host);
    if (h && db.get('pool_update', pair.update) && !(h.updates as string[]).includes(pair.update)) {
      db.update('host', host, { updates: [...(h.updates as string[]), pair.update] });
    }
  });
}

/** Forgets that a host has an update (its marker is gone). */
export function recordNotApplied(db: PoolDb, host: Ref<'host'>, uuid: string): void {
  db.transaction(() => {
    const hp = hostPatchesOf(db, host).get(uuid);
    if (hp) db.remove('host_patch', hp[0]);
    const update = updateRefOf(db, uuid);
    const pu = update ? db.get('pool_update', update) : undefined;
    if (update && pu) db.update('pool_update', update, { hosts: (pu.hosts as string[]).filter((h) => h !== host) });
    const h = db.get('host', host);
    if (h && update) db.update('host', host, { updates: (h.updates as string[]).filter((u) => u !== update) });
  });
}

/**
 * Makes the database agree with a host's markers: every marker of a known update becomes
 * an applied host_patch, every applied record without a marker goes. Returns the changes.
 */
export function resyncFromMarkers(db: PoolDb, host: Ref<'host'>, markers: readonly AppliedMarker[]): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  db.transaction(() => {
    const have = appliedOn(db, host);
    const marked = new Set(markers.map((m) => m.uuid));
    for (const m of markers) {
      const patch = db.refByUuid('pool_patch', m.uuid);
      const update = updateRefOf(db, m.uuid);
      if (!patch && !update) continue; // destroyed, or a database older than the upload
      const hp = hostPatchesOf(db, host).get(m.uuid);
      const inUpdate = update ? (db.get('pool_update', update)!.hosts as string[]).includes(host) : true;
      const stamped = (hp?.[1].other_config as Record<string, string> | undefined)?.['islet-applied-at'] !== undefined;
      if (have.has(m.uuid) && stamped && inUpdate) continue;
      recordApplied(db, host, { uuid: m.uuid, patch: patch ?? NULL_REF, update: update ?? NULL_REF }, m);
      if (!have.has(m.uuid)) added.push(m.uuid);
    }
    for (const uuid of have) {
      if (!marked.has(uuid)) {
        recordNotApplied(db, host, uuid);
        removed.push(uuid);
      }
    }
  });
  return { added, removed };
}

/** Removes an update's records everywhere; PATCH_IS_APPLIED / UPDATE_IS_APPLIED while any host has it. */
export function destroyUpdateRecords(db: PoolDb, flavour: Flavour, pair: UpdatePair): void {
  db.transaction(() => {
    const hps = db.all('host_patch').filter(([, hp]) => hp.pool_patch === pair.patch);
    const pu = db.get('pool_update', pair.update);
    if (hps.some(([, hp]) => hp.applied === true) || (pu && (pu.hosts as string[]).length > 0)) {
      throw new ApiError(flavour === 'patch' ? 'PATCH_IS_APPLIED' : 'UPDATE_IS_APPLIED');
    }
    for (const [ref] of hps) db.remove('host_patch', ref);
    if (db.get('pool_patch', pair.patch)) db.remove('pool_patch', pair.patch);
    if (pu) db.remove('pool_update', pair.update);
    db.setMeta(manifestKey(pair.uuid), undefined);
  });
}
