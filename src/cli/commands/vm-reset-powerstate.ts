/**
 * @module
 * `xe vm-reset-powerstate <vm-selectors> --force` and `xe task-cancel uuid=`. The first
 * marks each selected VM halted in the database only (recovery after a host died), so, as
 * xe, it refuses to run without `--force`; the second asks the server to cancel a task.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { boolParam } from './storage-params.js';

/** xe's words when a dangerous command is run without `--force`. */
export const NO_FORCE = 'This operation is dangerous and may cause data loss. This operation must be forced (use --force).';

export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.cmd === 'task-cancel') {
    const task = await ctx.call('task.get_by_uuid', getParam(ctx.params, 'uuid')!);
    await ctx.call('task.cancel', task);
    return;
  }
  if (!boolParam(ctx.params, 'force')) throw new CliFailure(NO_FORCE);
  const sel = await selectObjects(ctx, 'vm', { ignore: ['force'] });
  await forEachSelected(ctx, sel, (row) => ctx.call('VM.power_state_reset', row.ref));
}

export const module: CommandModule = { run };
