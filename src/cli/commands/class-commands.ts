/**
 * @module
 * The generic per-class commands: `<class>-list`, `-param-list`, `-param-get`,
 * `-param-set`, `-param-add`, `-param-remove` and `-param-clear`, behaving as xe's do
 * (same defaults, same filters, same failures), over any class the records describe.
 */
import { getBoolParam, getParam } from '../argv.js';
import { CliFailure, MissingParam } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import type { PrintRecord } from '../printer.js';
import { fetchByUuid, fetchRows, fieldRef, filterParams, filterRows, serverFilter, STD_PARAMS } from '../record-filter.js';
import { type CliClass, type CliField, type Row, cliClass, fieldByName, prepare, qualifierSuffix } from '../records.js';
import type { RefResolver } from '../ref-resolver.js';
import { fromCli, rawMembers } from './wire-values.js';

export type GenericOp = 'list' | 'param-list' | 'param-get' | 'param-set' | 'param-add' | 'param-remove' | 'param-clear';

function render(fields: readonly CliField[], row: Row, res: RefResolver): PrintRecord {
  return fields.map((f) => [`${f.name}${qualifierSuffix(f)}`, f.get(row, res)] as const);
}

/**
 * `params=a,b` or `params=all` against a default list, in record order. An empty default
 * list means every field, as in xe (`message-list`, `secret-list`).
 */
function chooseFields(cc: CliClass, params: ReturnType<typeof getParam>): readonly CliField[] {
  const dflt = cc.defaultParams.length > 0 ? cc.defaultParams : undefined;
  const wanted = params === undefined ? dflt : params === 'all' ? undefined : params.split(',');
  return cc.fields.filter((f) => !f.hidden && (wanted === undefined || wanted.includes(f.name)));
}

async function list(ctx: CommandContext, cc: CliClass): Promise<void> {
  const res = ctx.resolver();
  const filters = [...cc.defaultFilters, ...filterParams(ctx.params)];
  // xe's --all prints every record, ignoring the filters.
  const everything = getBoolParam(ctx.params, 'all');
  const expr = cc.listWhere ?? (everything ? 'true' : serverFilter(cc, filters));
  const all = await fetchRows(ctx, cc, expr);
  // Only a complete set may mark the class as loaded for resolving references.
  if (expr === 'true') res.seed(cc.api, all.map((r) => [r.ref, r.rec] as const));
  const rows = everything ? all : await filterRows(cc, all, filters, res);
  const chosen = chooseFields(cc, getParam(ctx.params, 'params'));
  // --minimal shows only the first field, so only it needs rendering.
  const fields = ctx.printer.minimal ? chosen.slice(0, 1) : chosen;
  await prepare(fields, rows, res);
  ctx.printer.table(rows.map((row) => render(fields, row, res)));
}

async function loadOne(ctx: CommandContext, cc: CliClass): Promise<{ row: Row; res: RefResolver }> {
  const row = await fetchByUuid(ctx, cc, getParam(ctx.params, 'uuid')!);
  // No seeding with this one record: it would mark the class as loaded, and references to
  // other objects of the same class (a VM's parent, snapshots) would not resolve.
  const res = ctx.resolver();
  return { row, res };
}

function lookup(cc: CliClass, name: string): CliField {
  const f = fieldByName(cc, name);
  if (!f) throw new MissingParam(name);
  return f;
}

async function paramList(ctx: CommandContext, cc: CliClass): Promise<void> {
  const { row, res } = await loadOne(ctx, cc);
  const fields = cc.fields.filter((f) => !f.hidden);
  await prepare(fields, [row], res);
  ctx.printer.table([render(fields, row, res)]);
}

async function paramGet(ctx: CommandContext, cc: CliClass): Promise<void> {
  const { row, res } = await loadOne(ctx, cc);
  const f = lookup(cc, getParam(ctx.params, 'param-name')!);
  await prepare([f], [row], res);
  const key = getParam(ctx.params, 'param-key');
  if (key !== undefined && f.shape === 'map') {
    const hit = f.pairs(row, res).find(([k]) => k === key);
    if (!hit) throw new CliFailure(`Key ${key} not found in map`);
    ctx.printer.list([hit[1]]);
    return;
  }
  ctx.printer.list([f.get(row, res)]);
}

/** XenAPI's setter names: `set_f`; `add_to_f`/`remove_from_f` for maps; `add_f`/`remove_f` for sets. */
function method(cc: CliClass, verb: 'set' | 'add_to' | 'remove_from', f: CliField): string {
  const isSet = f.decl!.ty.kind === 'set';
  const v = isSet && verb === 'add_to' ? 'add' : isSet && verb === 'remove_from' ? 'remove' : verb;
  return `${cc.api}.${v}_${f.decl!.name}`;
}

async function paramSet(ctx: CommandContext, cc: CliClass): Promise<void> {
  const { row } = await loadOne(ctx, cc);
  const self = row.ref;
  for (const [k, v] of ctx.params) {
    if (k === 'uuid' || STD_PARAMS.includes(k)) continue;
    const ref = fieldRef(cc, k);
    const f = ref.field;
    if (ref.kind === 'set') throw new CliFailure('Cannot param-set on set fields');
    if (ref.kind === 'map') {
      if (!f.addable || !f.decl) throw new CliFailure(`Map field '${f.name}' is read-only.`);
      const valTy = f.decl.ty.kind === 'map' ? f.decl.ty.value : f.decl.ty;
      const current = (row.rec[f.decl.name] ?? {}) as Record<string, unknown>;
      if (Object.hasOwn(current, ref.key)) await ctx.call(method(cc, 'remove_from', f), self, ref.key);
      await ctx.call(method(cc, 'add_to', f), self, ref.key, await fromCli(ctx, f.name, valTy, v));
      continue;
    }
    if (!f.settable || !f.decl) {
      if (f.shape === 'map' && f.addable) throw new CliFailure(`Field '${k}' is a map or set. use the 'name:key=value' syntax.`);
      throw new CliFailure(`Field '${k}' is read-only.`);
    }
    await ctx.call(method(cc, 'set', f), self, await fromCli(ctx, f.name, f.decl.ty, v));
  }
}

async function paramAdd(ctx: CommandContext, cc: CliClass): Promise<void> {
  const { row } = await loadOne(ctx, cc);
  const f = lookup(cc, getParam(ctx.params, 'param-name')!);
  if (f.shape === 'scalar' || !f.decl) throw new CliFailure('Can only add to parameters of type Set or Map');
  if (!f.addable) throw new CliFailure('Parameter is read-only');
  const ty = f.decl.ty;
  if (f.shape === 'set') {
    const key = getParam(ctx.params, 'param-key');
    if (key === undefined) {
      throw new CliFailure('When adding a key to a set, use the syntax: *-param-add param-name=<name> param-key=<key>');
    }
    await ctx.call(method(cc, 'add_to', f), row.ref, await fromCli(ctx, f.name, ty.kind === 'set' ? ty.of : ty, key));
    return;
  }
  const skip = ['uuid', 'param-name', 'param-key', ...STD_PARAMS];
  const valTy = ty.kind === 'map' ? ty.value : ty;
  for (const [k, v] of ctx.params) {
    if (!skip.includes(k)) await ctx.call(method(cc, 'add_to', f), row.ref, k, await fromCli(ctx, f.name, valTy, v));
  }
}

async function paramRemove(ctx: CommandContext, cc: CliClass): Promise<void> {
  const { row, res } = await loadOne(ctx, cc);
  const f = lookup(cc, getParam(ctx.params, 'param-name')!);
  const key = getParam(ctx.params, 'param-key')!;
  if (f.shape === 'scalar' || !f.decl) throw new CliFailure('Can only remove from parameters of type Set or Map');
  if (!f.addable) throw new CliFailure('Cannot remove parameters from read-only map');
  await prepare([f], [row], res);
  if (f.shape === 'set') {
    const members = rawMembers(f, row, res);
    const hit = members.find(([shown]) => shown === key);
    if (!hit) throw new CliFailure(`Key ${key} is not in the set`);
    await ctx.call(method(cc, 'remove_from', f), row.ref, hit[1]);
    return;
  }
  const current = (row.rec[f.decl.name] ?? {}) as Record<string, unknown>;
  if (!Object.hasOwn(current, key)) throw new CliFailure(`Key ${key} is not in map`);
  await ctx.call(method(cc, 'remove_from', f), row.ref, key);
}

async function paramClear(ctx: CommandContext, cc: CliClass): Promise<void> {
  const { row, res } = await loadOne(ctx, cc);
  const f = lookup(cc, getParam(ctx.params, 'param-name')!);
  if (f.decl && f.addable && f.shape === 'set') {
    await prepare([f], [row], res);
    for (const [, raw] of rawMembers(f, row, res)) await ctx.call(method(cc, 'remove_from', f), row.ref, raw);
    return;
  }
  if (f.decl && f.addable && f.shape === 'map') {
    for (const k of Object.keys((row.rec[f.decl.name] ?? {}) as object)) await ctx.call(method(cc, 'remove_from', f), row.ref, k);
    return;
  }
  if (f.decl && f.settable) {
    let v: unknown;
    try {
      v = await fromCli(ctx, f.name, f.decl.ty, '');
    } catch {
      throw new CliFailure('Cannot clear this parameter');
    }
    await ctx.call(method(cc, 'set', f), row.ref, v);
    return;
  }
  throw new CliFailure('Can only clear RW parameters');
}

const OPS: Record<GenericOp, (ctx: CommandContext, cc: CliClass) => Promise<void>> = {
  list, 'param-list': paramList, 'param-get': paramGet, 'param-set': paramSet,
  'param-add': paramAdd, 'param-remove': paramRemove, 'param-clear': paramClear,
};

export function classCommand(xe: string, op: GenericOp): CommandModule {
  return {
    run: async (ctx) => {
      const cc = cliClass(xe);
      if (!cc) throw new Error(`no xe class ${xe}`);
      await OPS[op](ctx, cc);
    },
  };
}
