/**
 * @module
 * xe's record selection: fetching a class's records and filtering them on `field=value`
 * words. A word naming a field compares its printed value; `map:key=value` matches one map
 * entry and `set:contains=value` one set member; the older `map-key=value` spelling is
 * understood for maps and sets too. Unknown fields fail as xe fails, but only when there
 * is at least one record to look at.
 */
import type { Params } from './argv.js';
import { CliFailure, UnknownParam } from './cli-errors.js';
import type { CommandContext } from './command-context.js';
import { type CliClass, type CliField, type Row, fieldByName, prepare } from './records.js';
import type { Rec, RefResolver } from './ref-resolver.js';
import { isXapiError } from '../client/xapi-call-error.js';

/** Parameters every command accepts that are never field filters. */
export const STD_PARAMS: readonly string[] = [
  'server', 'password', 'port', 'username', 'minimal', 'force', 'multiple', 'all', 'message-priority', 'trace',
];

export type FieldRef =
  | { readonly kind: 'normal'; readonly field: CliField }
  | { readonly kind: 'map'; readonly field: CliField; readonly key: string }
  | { readonly kind: 'set'; readonly field: CliField; readonly rest: string };

function longestFirst(fs: CliField[]): CliField[] {
  return [...fs].sort((a, b) => b.name.length - a.name.length);
}

/** How xe reads a parameter name against a record: a field, a map entry or a set test. */
export function fieldRef(cc: CliClass, name: string): FieldRef {
  const exact = fieldByName(cc, name);
  if (exact) return { kind: 'normal', field: exact };
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const field = fieldByName(cc, name.slice(0, colon));
    if (!field) throw new UnknownParam(name);
    const rest = name.slice(colon + 1);
    if (field.shape === 'set') return { kind: 'set', field, rest };
    if (field.shape === 'map') return { kind: 'map', field, key: rest };
    throw new CliFailure(`Field '${field.name}' is not a set or map`);
  }
  const prefixed = (shape: 'map' | 'set') =>
    longestFirst(cc.fields.filter((f) => f.shape === shape)).find((f) => name.startsWith(`${f.name}-`));
  const m = prefixed('map');
  if (m) return { kind: 'map', field: m, key: name.slice(m.name.length + 1) };
  const s = prefixed('set');
  if (s) return { kind: 'set', field: s, rest: name.slice(s.name.length + 1) };
  throw new UnknownParam(name);
}

function matches(ref: FieldRef, value: string, row: Row, res: RefResolver): boolean {
  switch (ref.kind) {
    case 'normal':
      return ref.field.get(row, res) === value;
    case 'map':
      return ref.field.pairs(row, res).some(([k, v]) => k === ref.key && v === value);
    case 'set':
      if (ref.rest !== 'contains') throw new CliFailure('Invalid syntax for set filtering (should be set-param:contains=key)');
      return ref.field.items(row, res).includes(value);
  }
}

/** Keeps the rows matching every filter, in order. */
export async function filterRows(
  cc: CliClass, rows: readonly Row[], filters: ReadonlyArray<readonly [string, string]>, res: RefResolver,
): Promise<Row[]> {
  if (rows.length === 0 || filters.length === 0) return [...rows];
  const refs = filters.map(([k, v]) => [fieldRef(cc, k), v] as const);
  await prepare(refs.map(([r]) => r.field), rows, res);
  let out = [...rows];
  for (const [r, v] of refs) out = out.filter((row) => matches(r, v, row, res));
  return out;
}

/** The filter words of a command line: everything but `params=`, standard and ignored words. */
export function filterParams(params: Params, ignore: readonly string[] = []): Array<readonly [string, string]> {
  return params.filter(([k]) => {
    const stem = k.split(':')[0]!;
    return k !== 'params' && !STD_PARAMS.includes(k) && !STD_PARAMS.includes(stem) && !ignore.includes(k)
      && !ignore.includes(stem) && !k.startsWith('database:');
  });
}

/** A string as a literal of xapi's filter language. */
export function filterLiteral(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The part of xe's `field=value` filters the server can apply itself (`get_all_records_where`),
 * so that a listing fetches only what matches: plain string and boolean fields, which xe
 * prints exactly as the server stores them. Other filters (enums xe prints in lower case,
 * references printed as uuids, maps, sets, unknown names) stay with {@link filterRows},
 * which runs on the result anyway. 'true' when nothing can go to the server.
 */
export function serverFilter(cc: CliClass, filters: ReadonlyArray<readonly [string, string]>): string {
  const terms: string[] = [];
  for (const [k, v] of filters) {
    let ref: FieldRef;
    try {
      ref = fieldRef(cc, k);
    } catch {
      continue;
    }
    const decl = ref.field.decl;
    if (ref.kind !== 'normal' || !decl || (decl.ty.kind !== 'string' && decl.ty.kind !== 'bool')) continue;
    if (decl.ty.kind === 'bool' && v !== 'true' && v !== 'false') continue;
    terms.push(`field ${filterLiteral(decl.name)}=${filterLiteral(v)}`);
  }
  return terms.length === 0 ? 'true' : terms.join(' and ');
}

/** All records of the class matching a server-side filter expression, in the server's order. */
export async function fetchRows(ctx: CommandContext, cc: CliClass, expr = 'true'): Promise<Row[]> {
  let all: unknown;
  try {
    all = await ctx.call(`${cc.api}.get_all_records_where`, expr);
  } catch (e) {
    if (!isXapiError(e, 'MESSAGE_METHOD_UNKNOWN') || expr !== 'true') throw e;
    all = await ctx.call(`${cc.api}.get_all_records`);
  }
  return Object.entries((all ?? {}) as Record<string, Rec>).map(([ref, rec]) => ({ ref, rec }));
}

/** One record by uuid; the server answers UUID_INVALID for an unknown one. */
export async function fetchByUuid(ctx: CommandContext, cc: CliClass, uuid: string): Promise<Row> {
  const ref = String(await ctx.call(`${cc.api}.get_by_uuid`, uuid));
  const rec = (await ctx.call(`${cc.api}.get_record`, ref)) as Rec;
  return { ref, rec };
}
