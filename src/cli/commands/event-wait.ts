/**
 * @module
 * `xe event-wait class=<class> [field=value | field=/=value]…`: returns once some object of
 * the class has every field given equal (or, with `/=`, not equal) to the value, as xe
 * prints the field (`xe event-wait class=vm name-label=web power-state=running`). It looks
 * at the records now, and again after each batch of events of that class (`event.from`),
 * so a condition already true returns at once and a change is seen as soon as it happens.
 * A field the class does not have fails as xe fails: "key missing: <field>".
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { STD_PARAMS, fetchRows } from '../record-filter.js';
import { type CliClass, type CliField, cliClass, fieldByName, prepare } from '../records.js';

/** Seconds each `event.from` waits before the records are looked at again anyway. */
const EVENT_WAIT_S = 30;

interface Condition {
  readonly field: CliField;
  readonly value: string;
  readonly equal: boolean;
}

function conditions(ctx: CommandContext, cc: CliClass): Condition[] {
  return ctx.params
    .filter(([k]) => k !== 'class' && !STD_PARAMS.includes(k))
    .map(([k, v]) => {
      const field = fieldByName(cc, k);
      if (!field) throw new CliFailure(`key missing: ${k}`);
      return v.startsWith('/=') ? { field, value: v.slice(2), equal: false } : { field, value: v, equal: true };
    });
}

async function satisfied(ctx: CommandContext, cc: CliClass, conds: readonly Condition[]): Promise<boolean> {
  const rows = await fetchRows(ctx, cc);
  const res = ctx.resolver();
  res.seed(cc.api, rows.map((r) => [r.ref, r.rec] as const));
  await prepare(conds.map((c) => c.field), rows, res);
  return rows.some((row) => conds.every((c) => (c.field.get(row, res) === c.value) === c.equal));
}

export async function run(ctx: CommandContext): Promise<void> {
  const name = getParam(ctx.params, 'class')!;
  const cc = cliClass(name);
  if (!cc) throw new CliFailure(`Cli listening for class '${name}' not currently implemented`);
  const conds = conditions(ctx, cc);
  const classes = [cc.api.toLowerCase()];
  // The token first, then the look: a change between the two still wakes the wait.
  let token = String(((await ctx.call('event.from', classes, '', 0)) as { token: string }).token);
  while (!(await satisfied(ctx, cc, conds))) {
    token = String(((await ctx.call('event.from', classes, token, EVENT_WAIT_S)) as { token: string }).token);
  }
}
