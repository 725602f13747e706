/**
 * @module
 * Holds Islet's datamodel against xapi's published one (a facts-only extract of xenapi.json,
 * checked in as fixtures/xenapi-facts.json). Every class, field and
 * message (declared or derived) whose name is not `islet_`-prefixed must exist in the
 * reference with the same type, qualifier, default, parameters, result and roles, and may
 * only declare error codes that xapi knows. The checker returns a list of readable
 * mismatches instead of throwing, so one run reports everything and the negative test can
 * prove it catches each kind of mistake.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClassDecl, type MessageDecl, type Ty, renderTy } from '../../src/datamodel/dsl.js';
import { repoRoot } from '../helpers/repo-root.js';
import { xapiErrorCodes } from './xapi-error-codes.js';

export interface RefField {
  name: string;
  type: string;
  qualifier: string;
  default?: string;
  lifecycle: { state: string; removedIn?: string };
}
export interface RefParam { name: string; type: string }
export interface RefMessage {
  name: string;
  params: RefParam[];
  result: string[];
  errors: Array<{ name: string }>;
  roles: string[];
  implicit: boolean;
  lifecycle: { state: string; removedIn?: string };
}
export interface RefClass {
  name: string;
  fields: RefField[];
  messages: RefMessage[];
  enums: Array<{ name: string; values: Array<{ name: string }> }>;
}

/**
 * The facts-only extract of xapi's datamodel checked into the repository (see its
 * `provenance`; scripts/extract-xenapi-facts.mjs remakes it from a newer reference).
 */
export function findReference(): string {
  return join(repoRoot(), 'test', 'datamodel', 'fixtures', 'xenapi-facts.json');
}

export interface ReferenceFile {
  provenance: { what: string; reference: string; referenceSha256: string; generator: string };
  classes: RefClass[];
}

export function loadReferenceFile(path = findReference()): ReferenceFile {
  return JSON.parse(readFileSync(path, 'utf8')) as ReferenceFile;
}

export function loadReference(path = findReference()): RefClass[] {
  return loadReferenceFile(path).classes;
}

/**
 * XenServer's releases up to the one Islet presents itself as (6.0.2, "boston"). A field or
 * message removed in a later release still existed there, and clients of 6.0.2 (Xen
 * Orchestra reading host_metrics.memory_free) rely on it.
 */
const RELEASES_UP_TO_ISLET = new Set(['rio', 'miami', 'symc', 'orlando', 'orlando-update-1', 'george', 'midnight-ride', 'cowley', 'boston']);
type Lifecycle = { lifecycle: { state: string; removedIn?: string } };
/** Gone already in 6.0.2: declaring it is a mistake. (Completeness asks only for what XenAPI still has.) */
const isRemoved = (x: Lifecycle) => {
  if (x.lifecycle.state !== 'Removed_s') return false;
  const at = x.lifecycle.removedIn;
  return at === undefined || RELEASES_UP_TO_ISLET.has(at);
};
const isIslet = (name: string) => name.startsWith('islet_');
/** Messages xapi serves but hides from its published model. */
const HIDDEN_IN_XAPI = new Set(['get_all_records_where']);

/** A reference default string as a value, or undefined when it cannot be compared. */
export function parseRefDefault(type: string, text: string): { value: unknown } | undefined {
  const s = text.trim();
  if (type.endsWith(' ref')) return { value: 'OpaqueRef:NULL' };
  if (type.endsWith(' set')) {
    const inner = s.slice(1, -1).trim();
    if (inner === '') return { value: [] };
    if (inner.includes('OpaqueRef:')) return undefined; // a specific object of xapi's own database
    return { value: inner.split(',').map((x) => JSON.parse(x.trim()) as unknown) };
  }
  if (type.endsWith(' map')) {
    const inner = s.slice(1, -1).trim();
    const out: Record<string, string> = {};
    for (const m of inner.matchAll(/"([^"]*)" -> "([^"]*)"/g)) out[m[1]!] = m[2]!;
    return { value: out };
  }
  switch (type) {
    case 'bool': return { value: s === 'true' };
    case 'int': case 'float': return { value: Number(s) };
    case 'string': return { value: JSON.parse(s) as unknown };
    default: return { value: s }; // datetime, enum
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort(); const kb = Object.keys(b).sort();
    return sameValue(ka, kb) && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

const show = (v: unknown) => JSON.stringify(v);

function enumsIn(ty: Ty, out: Map<string, readonly string[]>): void {
  switch (ty.kind) {
    case 'enum': out.set(ty.name, ty.values); break;
    case 'set': enumsIn(ty.of, out); break;
    case 'map': enumsIn(ty.key, out); enumsIn(ty.value, out); break;
    default: break;
  }
}

/** Which field an implicit reference message is about, if its name says so. */
function implicitField(m: RefMessage, fieldNames: Set<string>): string | undefined {
  for (const pre of ['get_', 'set_', 'add_to_', 'remove_from_', 'add_', 'remove_']) {
    if (m.name.startsWith(pre) && fieldNames.has(m.name.slice(pre.length))) return m.name.slice(pre.length);
  }
  return undefined;
}

export interface CheckOptions {
  /** The derived messages of a class (normally `implicitMessages`). */
  implicitOf?: (c: ClassDecl) => readonly MessageDecl[];
  /** Classes that must declare every live field of the reference. */
  complete?: readonly string[];
  /** Whether a code is declared in Islet's error table. */
  isDeclaredError?: (code: string) => boolean;
}

/** Every disagreement between `classes` and the reference, one line each. */
export function checkConformance(classes: readonly ClassDecl[], ref: readonly RefClass[], opts: CheckOptions = {}): string[] {
  const out: string[] = [];
  const refByName = new Map(ref.map((c) => [c.name, c]));
  const allRefCodes = new Set(ref.flatMap((c) => c.messages.flatMap((m) => m.errors.map((e) => e.name))));
  const refEnums = new Map(ref.flatMap((c) => c.enums.map((e) => [e.name, e.values.map((v) => v.name)] as const)));
  const usedEnums = new Map<string, readonly string[]>();
  const declared = new Map(classes.map((c) => [c.name, c]));

  for (const c of classes) {
    if (isIslet(c.name)) continue;
    const rc = refByName.get(c.name);
    if (!rc) { out.push(`class ${c.name}: not in the reference`); continue; }
    const refFields = new Map(rc.fields.map((f) => [f.name, f]));

    for (const f of c.fields) {
      enumsIn(f.ty, usedEnums);
      const where = `field ${c.name}.${f.name}`;
      if (f.inverse) {
        const other = declared.get(f.inverse.cls);
        const back = other?.fields.find((x) => x.name === f.inverse!.field);
        if (!back) out.push(`${where}: inverse of ${f.inverse.cls}.${f.inverse.field}, which is not declared`);
        else if (renderTy(back.ty) !== `${c.name} ref`) out.push(`${where}: inverse of ${f.inverse.cls}.${f.inverse.field}, which is ${renderTy(back.ty)}, not ${c.name} ref`);
      }
      if (isIslet(f.name)) continue;
      const rf = refFields.get(f.name);
      if (!rf) { out.push(`${where}: not in the reference`); continue; }
      if (isRemoved(rf)) out.push(`${where}: removed from XenAPI`);
      if (renderTy(f.ty) !== rf.type) out.push(`${where}: type ${renderTy(f.ty)}, reference ${rf.type}`);
      if (f.qualifier !== rf.qualifier) out.push(`${where}: qualifier ${f.qualifier}, reference ${rf.qualifier}`);
      if (rf.default !== undefined) {
        const want = parseRefDefault(rf.type, rf.default);
        if (want && !sameValue(f.default, want.value)) out.push(`${where}: default ${show(f.default)}, reference ${rf.default}`);
      }
      // A create record must give exactly the settable fields XenAPI declares no default for.
      if (c.create) {
        const mustGive = rf.default === undefined && (rf.qualifier === 'RW' || rf.qualifier === 'RO/constructor');
        if (mustGive && !f.required) out.push(`${where}: the reference has no default, so a create record must give it (required)`);
        if (!mustGive && f.required) out.push(`${where}: required in a create record, but the reference ${rf.default === undefined ? 'does not take it there' : `has the default ${rf.default}`}`);
      } else if (f.required) {
        out.push(`${where}: required, but ${c.name} has no create`);
      }
    }
    if (opts.complete?.includes(c.name)) {
      const have = new Set(c.fields.map((f) => f.name));
      for (const rf of rc.fields) if (rf.lifecycle.state !== 'Removed_s' && !have.has(rf.name)) out.push(`field ${c.name}.${rf.name}: missing (class must be complete)`);
    }

    const refMsgs = new Map(rc.messages.map((m) => [m.name, m]));
    const implicit = opts.implicitOf?.(c) ?? [];
    for (const m of [...c.messages, ...implicit]) {
      const where = `message ${c.name}.${m.name}`;
      enumsIn(m.result, usedEnums);
      for (const p of m.params) enumsIn(p.ty, usedEnums);
      // A derived accessor of an Islet field (get_islet_x) is as much an extension as the field.
      const about = (m as { implicit?: { field?: string } }).implicit?.field;
      if (isIslet(m.name) || (about !== undefined && isIslet(about))) continue;
      const rm = refMsgs.get(m.name);
      if (!rm) {
        if (!(m.internal && HIDDEN_IN_XAPI.has(m.name))) out.push(`${where}: not in the reference`);
        continue;
      }
      if (isRemoved(rm)) out.push(`${where}: removed from XenAPI`);
      const hasSession = rm.params[0]?.name === 'session_id';
      if (hasSession === m.sessionless) out.push(`${where}: ${m.sessionless ? 'sessionless' : 'takes a session'}, reference ${hasSession ? 'takes a session' : 'is sessionless'}`);
      const rp = hasSession ? rm.params.slice(1) : rm.params;
      const mine = m.params.map((p) => `${p.name}: ${renderTy(p.ty)}`).join(', ');
      const theirs = rp.map((p) => `${p.name}: ${p.type}`).join(', ');
      if (mine !== theirs) out.push(`${where}: params (${mine}), reference (${theirs})`);
      if (renderTy(m.result) !== rm.result[0]) out.push(`${where}: result ${renderTy(m.result)}, reference ${rm.result[0]}`);
      if (m.roles.join(',') !== rm.roles.join(',')) out.push(`${where}: roles [${m.roles.join(', ')}], reference [${rm.roles.join(', ')}]`);
      const listed = new Set(rm.errors.map((e) => e.name));
      for (const code of m.errors) {
        if (!listed.has(code) && !allRefCodes.has(code) && !xapiErrorCodes.has(code)) out.push(`${where}: error ${code} is unknown to XenAPI`);
        if (opts.isDeclaredError && !opts.isDeclaredError(code)) out.push(`${where}: error ${code} is not declared in errors.ts`);
      }
    }
    // Derived messages the reference has must be derived here too (for the fields declared).
    if (opts.implicitOf) {
      const fieldNames = new Set(rc.fields.map((f) => f.name));
      const mineNames = new Set([...c.messages, ...implicit].map((m) => m.name));
      const declaredFields = new Set(c.fields.map((f) => f.name));
      for (const rm of rc.messages) {
        if (!rm.implicit || isRemoved(rm) || mineNames.has(rm.name)) continue;
        const field = implicitField(rm, fieldNames);
        if (field !== undefined && !declaredFields.has(field)) continue;
        out.push(`message ${c.name}.${rm.name}: the reference derives it, Islet does not`);
      }
    }
  }

  for (const [name, values] of usedEnums) {
    const want = refEnums.get(name);
    if (!want) { if (!isIslet(name)) out.push(`enum ${name}: not in the reference`); continue; }
    if (values.join(',') !== want.join(',')) out.push(`enum ${name}: values [${values.join(', ')}], reference [${want.join(', ')}]`);
  }
  return out;
}

/** Problems with the error table itself: malformed codes or parameter lists. */
export function checkErrorTable(codes: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const [code, params] of Object.entries(codes)) {
    if (!/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(code)) out.push(`error ${code}: not an UPPER_SNAKE code`);
    if (!Array.isArray(params) || params.some((p) => typeof p !== 'string' || p === '')) out.push(`error ${code}: parameter names must be non-empty strings`);
    else if (new Set(params).size !== params.length) out.push(`error ${code}: duplicate parameter names`);
  }
  return out;
}
