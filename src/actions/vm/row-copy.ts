/**
 * @module
 * Copying database rows the way xapi's clone code copies records: the fields a creator or
 * user sets are taken over, the ones the server keeps (runtime state, computed inverse sets,
 * internal fields) start from their defaults, and the caller overrides what the copy changes.
 */
import type { Row } from '../../core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../../core/ref.js';
import { classByName } from '../../datamodel/index.js';
import type { ActionContext } from '../../core/action-context.js';

/** The stored, user- or creator-set fields of `row` (no uuid), ready for `db.create`. */
export function copyableFields(cls: string, row: Row): Row {
  const c = classByName(cls);
  if (!c) throw new Error(`datamodel: no class ${cls}`);
  const out: Row = {};
  for (const f of c.fields) {
    if (f.inverse || f.internal || f.qualifier === 'RO/runtime' || f.name === 'uuid') continue;
    if (row[f.name] !== undefined) out[f.name] = row[f.name];
  }
  return out;
}

/** Every stored field of `row` (runtime ones included), for snapshot metadata. */
export function storedFields(cls: string, row: Row): Row {
  const c = classByName(cls);
  if (!c) throw new Error(`datamodel: no class ${cls}`);
  const out: Row = {};
  for (const f of c.fields) if (!f.inverse && !f.internal && row[f.name] !== undefined) out[f.name] = row[f.name];
  return out;
}

/** Creates a copy of `row` with `overrides` applied and returns its ref. */
export function copyRow<C extends string>(ctx: ActionContext, cls: C, row: Row, overrides: Row): Ref<C> {
  const ref = newRef<C>();
  ctx.db.create<string>(cls, ref, { ...copyableFields(cls, row), ...overrides, uuid: newUuid() });
  return ref;
}
