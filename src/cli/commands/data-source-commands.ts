/**
 * @module
 * `xe host-data-source-list|-query|-record|-forget` and `xe vm-data-source-…`: the figures
 * a host samples for itself or a VM it runs, on one selected host or VM (the control
 * domain included, as xe includes it). A list prints each data source's fields as xe does
 * (floats as OCaml prints them: `0.`, `1.`, `inf`); a query prints the latest value with
 * six decimals.
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

type DataSource = Record<string, unknown>;

/** A float as OCaml's string_of_float writes it, as xe prints a data source's bounds. */
export function ocamlFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  const s = String(Number(n.toPrecision(12)));
  return /^-?\d+$/.test(s) ? `${s}.` : s;
}

/** A float from the wire, where JSON carries the infinite and unknown ones as null. */
const float = (v: unknown, absent: number) => (v === null || v === undefined ? absent : Number(v));

function printSources(ctx: CommandContext, sources: readonly DataSource[]): void {
  ctx.printer.table(sources.map((d) => [
    ['name_label', String(d.name_label)],
    ['name_description', String(d.name_description)],
    ['enabled', String(d.enabled)],
    ['standard', String(d.standard)],
    ['min', ocamlFloat(float(d.min, -Infinity))],
    ['max', ocamlFloat(float(d.max, Infinity))],
    ['units', String(d.units)],
  ] as const));
}

export async function run(ctx: CommandContext): Promise<void> {
  const kind = ctx.cmd.startsWith('host-') ? 'host' : 'vm';
  const cls = kind === 'host' ? 'host' : 'VM';
  const op = ctx.cmd.slice(`${kind}-data-source-`.length);
  const name = getParam(ctx.params, 'data-source');
  const sel = await selectObjects(ctx, kind, { ignore: ['data-source'], includeControlDomain: true });
  await forEachSelected(ctx, sel, async (row) => {
    switch (op) {
      case 'list': return printSources(ctx, (await ctx.call(`${cls}.get_data_sources`, row.ref)) as DataSource[]);
      case 'query': {
        const v = float(await ctx.call(`${cls}.query_data_source`, row.ref, name!), NaN);
        return ctx.printer.list([Number.isFinite(v) ? v.toFixed(6) : ocamlFloat(v)]);
      }
      case 'record': await ctx.call(`${cls}.record_data_source`, row.ref, name!); return;
      default: await ctx.call(`${cls}.forget_data_source_archives`, row.ref, name!);
    }
  }, false);
}
