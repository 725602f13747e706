/**
 * @module
 * xe's object selection for operation commands (`vm-start`, `host-disable`, `sr-scan`…):
 * the pseudo-field `vm=`/`host=`/`sr=` (a name or a uuid; for hosts also the hostname),
 * plus any field filters, with xe's defaults (no templates, no control domains) and its
 * rules: no match is an error, several matches need `--multiple` when the command allows
 * it, and with `--multiple` every object is tried and the failures reported together.
 */
import { getBoolParam, getParam } from './argv.js';
import { CliFailure, MultipleFailure } from './cli-errors.js';
import type { CommandContext } from './command-context.js';
import { formatServerError } from './error-docs.js';
import { fetchRows, filterParams, filterRows } from './record-filter.js';
import { type CliClass, type Row, cliClass } from './records.js';
import type { RefResolver } from './ref-resolver.js';
import { XapiCallError } from '../client/xapi-call-error.js';

export type Selector = 'vm' | 'host' | 'sr';

export interface SelectOptions {
  /** Command parameters that are not filters (`vm-start on=`: ['on']). */
  readonly ignore?: readonly string[];
  readonly includeTemplates?: boolean;
  readonly includeControlDomain?: boolean;
}

export interface Selection {
  readonly kind: Selector;
  readonly cc: CliClass;
  readonly rows: readonly Row[];
  readonly res: RefResolver;
}

const quote = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

function pseudoExpr(kind: Selector, v: string): string {
  const q = quote(v);
  return kind === 'host'
    ? `(field "uuid"="${q}") or (field "hostname"="${q}") or (field "name__label"="${q}")`
    : `(field "uuid"="${q}") or (field "name__label"="${q}")`;
}

/** The objects the command line selects. */
export async function selectObjects(ctx: CommandContext, kind: Selector, opts: SelectOptions = {}): Promise<Selection> {
  const cc = cliClass(kind);
  if (!cc) throw new CliFailure(`the server has no ${kind} class`);
  const named = getParam(ctx.params, kind);
  const rows = await fetchRows(ctx, cc, named === undefined ? 'true' : pseudoExpr(kind, named));
  const defaults: Array<[string, string]> = [];
  if (kind === 'vm' && !opts.includeControlDomain) defaults.push(['is-control-domain', 'false']);
  if (kind === 'vm' && !opts.includeTemplates) defaults.push(['is-a-template', 'false']);
  const res = ctx.resolver();
  res.seed(cc.api, rows.map((r) => [r.ref, r.rec] as const));
  const filters = [...defaults, ...filterParams(ctx.params, [kind, ...(opts.ignore ?? [])])];
  return { kind, cc, rows: await filterRows(cc, rows, filters, res), res };
}

const NOUNS: Record<Selector, { none: string; many: string; one: string }> = {
  vm: { none: 'No matching VMs found', many: 'Multiple matches VMs found', one: 'one VM' },
  host: { none: 'No matching hosts found', many: 'Multiple matching hosts found', one: 'one host' },
  // Not a slip: xapi's CLI server (do_sr_op) says "hosts" here too, and scripts match on it.
  sr: { none: 'No matching hosts found', many: 'Multiple matching SRs found', one: 'one SR' },
};

/** How xe words one failed object of a --multiple run. */
function describeFailure(e: unknown): string {
  if (e instanceof XapiCallError) {
    const text = formatServerError(e.code, e.params).replace(/\n$/, '');
    return text.startsWith('Error code: ') ? `${e.code}: [ ${e.params.join('; ')} ]` : text;
  }
  return `INTERNAL_ERROR: [ ${e instanceof Error ? e.message : String(e)} ]`;
}

/**
 * Runs `op` on the selection: exactly one object, or several when the command allows it
 * (`multiple`, the default) and the user said `--multiple`.
 */
export async function forEachSelected<T>(
  ctx: CommandContext, sel: Selection, op: (row: Row) => Promise<T>, multiple = true,
): Promise<T[]> {
  const n = NOUNS[sel.kind];
  if (sel.rows.length === 0) throw new CliFailure(n.none);
  if (sel.rows.length === 1) return [await op(sel.rows[0]!)];
  if (!multiple || !getBoolParam(ctx.params, 'multiple')) {
    throw new CliFailure(multiple
      ? `${n.many}. --multiple required to complete the operation`
      : `${n.many}. Operation can only be performed on ${n.one} at a time`);
  }
  const done: T[] = [];
  const failures: Array<[string, string]> = [];
  for (const row of sel.rows) {
    try {
      done.push(await op(row));
    } catch (e) {
      failures.push([String(row.rec.uuid), describeFailure(e)]);
    }
  }
  if (failures.length) throw new MultipleFailure(failures);
  return done;
}
