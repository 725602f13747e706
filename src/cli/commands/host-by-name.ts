/**
 * @module
 * xe's `on=`/`host=` lookup: the first host whose name-label or uuid is the given text,
 * or the failure xe reports ("Host X not found").
 */
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';

export async function hostByNameOrId(ctx: CommandContext, name: string): Promise<string> {
  const all = (await ctx.call('host.get_all_records_where', 'true')) as Record<string, Record<string, unknown>>;
  const hit = Object.entries(all).find(([, r]) => r.name_label === name || r.uuid === name);
  if (!hit) throw new CliFailure(`Host ${name} not found`);
  return hit[0];
}
