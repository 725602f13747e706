/**
 * @module
 * What the pool database derives from the datamodel: per class, the fields it stores (with
 * their defaults, a type check and a storage kind), the inverse fields it computes, and for
 * each stored ref field the inverse sets on the far side that depend on it. Compiled once
 * when a database opens, so that reads and writes only look things up.
 */
import type { ClassDecl, Ty } from '../datamodel/dsl.js';
import { NULL_REF } from '../core/ref.js';

/** How a stored value is kept in SQLite: booleans as 0/1, sets and maps as JSON text. */
export type StoredKind = 'bool' | 'int' | 'float' | 'text' | 'json';

export interface FieldSpec {
  readonly name: string;
  readonly ty: Ty;
  readonly kind: StoredKind;
  readonly dflt: unknown;
  /** How a value is copied: shallowly when its elements are scalars, which is most of them. */
  readonly copy: 'none' | 'set' | 'map' | 'deep';
}

/** One inverse set, fed by a ref field of another (or the same) class. */
export interface InverseSpec {
  /** The inverse field's name on this class (VM.VBDs). */
  readonly name: string;
  /** The index key, `<class>.<field>` of the field pointing back (`VBD.VM`). */
  readonly key: string;
}

/** A stored ref field that feeds inverse sets elsewhere (VBD.VM feeds VM.VBDs). */
export interface BackRef {
  readonly key: string;
  /** Classes whose objects are bumped when the relation changes. */
  readonly targets: readonly string[];
}

export interface ClassSchema {
  readonly name: string;
  readonly persist: boolean;
  readonly fields: readonly FieldSpec[];
  readonly byName: ReadonlyMap<string, FieldSpec>;
  /** Every field, stored or computed, in declaration order: the order of records. */
  readonly declared: readonly string[];
  readonly inverses: readonly InverseSpec[];
  readonly computed: ReadonlySet<string>;
  readonly backRefs: ReadonlyMap<string, BackRef>;
}

export type DbSchema = ReadonlyMap<string, ClassSchema>;

/** Column names the tables use for bookkeeping, which no field may take. */
export const RESERVED_COLUMNS = ['ref', 'created_gen', 'modified_gen'] as const;

function kindOf(ty: Ty): StoredKind {
  switch (ty.kind) {
    case 'bool': return 'bool';
    case 'int': return 'int';
    case 'float': return 'float';
    case 'string': case 'datetime': case 'enum': case 'ref': return 'text';
    default: return 'json';
  }
}

/** Compiles the datamodel; throws on declarations the database cannot honour. */
export function compileSchema(classes: readonly ClassDecl[]): DbSchema {
  const decls = new Map<string, ClassDecl>();
  const lower = new Set<string>();
  for (const c of classes) {
    // SQLite table names ignore case, so `VM` and `vm` would share a table.
    if (lower.has(c.name.toLowerCase())) throw new Error(`db: class ${c.name} declared twice (names are case-insensitive)`);
    lower.add(c.name.toLowerCase());
    decls.set(c.name, c);
  }
  const feeders = new Map<string, string[]>();
  for (const c of classes) {
    for (const f of c.fields) {
      if (!f.inverse) continue;
      const back = decls.get(f.inverse.cls)?.fields.find((g) => g.name === f.inverse!.field);
      if (!back) throw new Error(`db: ${c.name}.${f.name} is the inverse of unknown field ${f.inverse.cls}.${f.inverse.field}`);
      const refTy = back.ty.kind === 'set' ? back.ty.of : back.ty;
      if (back.inverse || refTy.kind !== 'ref') {
        throw new Error(`db: ${c.name}.${f.name} is the inverse of ${f.inverse.cls}.${f.inverse.field}, which is not a stored ref`);
      }
      const key = `${f.inverse.cls}.${f.inverse.field}`;
      feeders.set(key, [...(feeders.get(key) ?? []), c.name]);
    }
  }
  const out = new Map<string, ClassSchema>();
  for (const c of classes) if (hasRows(c)) out.set(c.name, compileClass(c, feeders));
  return out;
}

/** Classes without a uuid (event, vdi_nbd_server_info) are values, never rows. */
export function hasRows(c: ClassDecl): boolean {
  return c.fields.some((f) => f.name === 'uuid');
}

function compileClass(c: ClassDecl, feeders: ReadonlyMap<string, string[]>): ClassSchema {
  const fields: FieldSpec[] = [];
  const inverses: InverseSpec[] = [];
  const backRefs = new Map<string, BackRef>();
  const lower = new Set<string>(RESERVED_COLUMNS);
  for (const f of c.fields) {
    if (f.inverse) {
      inverses.push({ name: f.name, key: `${f.inverse.cls}.${f.inverse.field}` });
      continue;
    }
    if (f.name === '__proto__') throw new Error(`db: ${c.name} has a field named __proto__`);
    if (lower.has(f.name.toLowerCase())) throw new Error(`db: field ${c.name}.${f.name} clashes with another column`);
    lower.add(f.name.toLowerCase());
    const kind = kindOf(f.ty);
    fields.push({ name: f.name, ty: f.ty, kind, dflt: f.default, copy: copyKind(f.ty) });
    const problem = checkValue(f.ty, f.default);
    if (problem) throw new Error(`db: default of ${c.name}.${f.name}: ${problem}`);
    const targets = feeders.get(`${c.name}.${f.name}`);
    if (targets) backRefs.set(f.name, { key: `${c.name}.${f.name}`, targets });
  }
  return {
    name: c.name,
    persist: c.persist,
    fields,
    byName: new Map(fields.map((f) => [f.name, f])),
    declared: c.fields.map((f) => f.name),
    inverses,
    computed: new Set(inverses.map((i) => i.name)),
    backRefs,
  };
}

const isScalar = (ty: Ty): boolean => !['set', 'map', 'record', 'any'].includes(ty.kind);

function copyKind(ty: Ty): FieldSpec['copy'] {
  if (isScalar(ty)) return 'none';
  if (ty.kind === 'set' && isScalar(ty.of)) return 'set';
  if (ty.kind === 'map' && isScalar(ty.value)) return 'map';
  return 'deep';
}

/**
 * The validated `[field, value]` pairs of a row or patch, values copied, undefined values
 * skipped. Unknown or computed fields and ill-typed values are programming errors.
 */
export function checkRow(s: ClassSchema, row: Record<string, unknown>): Array<[FieldSpec, unknown]> {
  if (typeof row !== 'object' || row === null) throw new Error(`db: ${s.name}: a row is an object`);
  const out: Array<[FieldSpec, unknown]> = [];
  for (const name of Object.keys(row)) {
    const v = row[name];
    if (v === undefined) continue;
    const f = s.byName.get(name);
    if (!f) {
      if (s.computed.has(name)) throw new Error(`db: ${s.name}.${name} is computed and cannot be written`);
      throw new Error(`db: ${s.name} has no field ${name}`);
    }
    const problem = checkValue(f.ty, v);
    if (problem) throw new Error(`db: ${s.name}.${name}: ${problem}`);
    out.push([f, copyOf(f, v)]);
  }
  return out;
}

/** Why `v` is not a value of type `ty`, or undefined when it is. */
export function checkValue(ty: Ty, v: unknown): string | undefined {
  switch (ty.kind) {
    case 'string': case 'datetime': case 'ref':
      return typeof v === 'string' ? undefined : `expected ${ty.kind}, got ${describe(v)}`;
    case 'enum':
      return typeof v === 'string' && ty.values.includes(v) ? undefined : `expected one of ${ty.values.join('|')}, got ${describe(v)}`;
    case 'int':
      return Number.isInteger(v) ? undefined : `expected int, got ${describe(v)}`;
    case 'float':
      return typeof v === 'number' ? undefined : `expected float, got ${describe(v)}`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : `expected bool, got ${describe(v)}`;
    case 'set': {
      if (!Array.isArray(v)) return `expected a set (array), got ${describe(v)}`;
      for (const x of v) {
        const p = checkValue(ty.of, x);
        if (p) return `in set: ${p}`;
      }
      return undefined;
    }
    case 'map': {
      if (!isPlainObject(v)) return `expected a map (object), got ${describe(v)}`;
      for (const x of Object.values(v)) {
        const p = checkValue(ty.value, x);
        if (p) return `in map: ${p}`;
      }
      return undefined;
    }
    default:
      return v === undefined ? 'expected a value' : undefined;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'string' ? `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}` : typeof v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy of JSON-like data; scalars come back as they are. Cheaper than structuredClone. */
export function cloneValue<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneValue) as T;
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k in v) o[k] = cloneValue(v[k]);
    return o as T;
  }
  return v;
}

/** The refs a ref or ref-set value points at, null refs left out. */
export function refsOf(v: unknown): string[] {
  if (typeof v === 'string') return v === NULL_REF || v === '' ? [] : [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== NULL_REF && x !== '');
  return [];
}

/** A copy of a field's value that shares nothing mutable with the original. */
export function copyOf(f: FieldSpec, v: unknown): unknown {
  switch (f.copy) {
    case 'none': return v;
    case 'set': return Array.isArray(v) ? v.slice() : cloneValue(v);
    case 'map': return isPlainObject(v) ? { ...v } : cloneValue(v);
    default: return cloneValue(v);
  }
}

/** The value a field takes when nobody gave one. */
export function defaultOf(f: FieldSpec): unknown {
  return copyOf(f, f.dflt);
}

