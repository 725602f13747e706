/**
 * @module
 * Per-class functions that copy a row, generated from the schema. Reads hand out copies
 * so that callers cannot corrupt the database, and a record may have a hundred fields:
 * an object literal with every field spelled out makes V8 build it in one fast shape,
 * where a generic loop (or a spread followed by keyed stores) leaves a slow dictionary
 * object and costs over ten times as much. The source text is made only from field names
 * of the datamodel, each quoted with JSON.stringify.
 */
import type { Row } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { cloneValue, isPlainObject, type ClassSchema, type FieldSpec } from './db-schema.js';

export interface RowCopiers {
  /** Stored fields only, values copied: what the database keeps for an object. */
  readonly stored: (row: Row) => Row;
  /** A full record in declaration order, computed inverse sets included. */
  readonly record: (row: Row, ref: Ref) => Row;
}

interface Helpers {
  readonly set: (v: unknown) => unknown;
  readonly map: (v: unknown) => unknown;
  readonly deep: (v: unknown) => unknown;
  readonly inv: (i: number, ref: Ref) => Ref[];
}

const helpers = (inverse: (i: number, ref: Ref) => Ref[]): Helpers => ({
  set: (v) => (Array.isArray(v) ? v.slice() : cloneValue(v)),
  map: (v) => (isPlainObject(v) ? { ...v } : cloneValue(v)),
  deep: cloneValue,
  inv: inverse,
});

function valueExpr(f: FieldSpec): string {
  const get = `r[${JSON.stringify(f.name)}]`;
  return f.copy === 'none' ? get : `h.${f.copy}(${get})`;
}

/** `inverse(i, ref)` answers the i-th inverse field of the schema for an object. */
export function compileCopiers(s: ClassSchema, inverse: (i: number, ref: Ref) => Ref[]): RowCopiers {
  const h = helpers(inverse);
  const stored = s.fields.map((f) => `${JSON.stringify(f.name)}: ${valueExpr(f)}`);
  const record = s.declared.map((name) => {
    const f = s.byName.get(name);
    if (f) return `${JSON.stringify(name)}: ${valueExpr(f)}`;
    const i = s.inverses.findIndex((inv) => inv.name === name);
    return `${JSON.stringify(name)}: h.inv(${i}, ref)`;
  });
  const storedFn = new Function('h', 'r', `return {${stored.join(',')}};`) as (h: Helpers, r: Row) => Row;
  const recordFn = new Function('h', 'r', 'ref', `return {${record.join(',')}};`) as (h: Helpers, r: Row, ref: Ref) => Row;
  return {
    stored: (row) => storedFn(h, row),
    record: (row, ref) => recordFn(h, row, ref),
  };
}
