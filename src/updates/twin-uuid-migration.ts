/**
 * @module
 * Brings a database written before pool_update twins had their own uuid up to date: there
 * each pool_update carried its pool_patch's uuid. At the master's start (and after a
 * database restore, which may bring such records back) every twin gets the uuid derived
 * from its patch's (`twinUuid`) and every patch names its twin in `pool_patch.pool_update`.
 * Idempotent: a database already in the new form is left as it is.
 */
import type { PoolDb } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { twinUuid } from './patch-records.js';

/** Gives old twins their derived uuid; returns the (patch) uuids of the updates it changed. */
export function migrateTwinUuids(db: PoolDb): string[] {
  const changed: string[] = [];
  db.transaction(() => {
    for (const [patch, pp] of db.all('pool_patch')) {
      const uuid = String(pp.uuid);
      const want = twinUuid(uuid);
      let update: Ref<'pool_update'> | undefined = db.get('pool_update', pp.pool_update) ? pp.pool_update : undefined;
      // The old pairing was by uuid alone; a patch that lost its link finds its twin that way.
      update ??= db.refByUuid('pool_update', uuid) ?? db.refByUuid('pool_update', want);
      if (!update) continue;
      let touched = false;
      if (pp.pool_update !== update) {
        db.update('pool_patch', patch, { pool_update: update });
        touched = true;
      }
      if (db.get('pool_update', update)!.uuid !== want) {
        db.update('pool_update', update, { uuid: want });
        touched = true;
      }
      if (touched) changed.push(uuid);
    }
  });
  return changed;
}
