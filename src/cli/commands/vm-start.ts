/**
 * @module
 * `xe vm-start [on=<host>] [paused=<bool>] [--force] <vm-selectors>`: boots the selected
 * VMs, on the named host (`VM.start_on`) or where the pool chooses (`VM.start`), waiting
 * for each to be running. Prints nothing.
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { hostByNameOrId } from './host-by-name.js';
import { boolParam } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  const force = boolParam(ctx.params, 'force');
  const paused = boolParam(ctx.params, 'paused');
  const on = getParam(ctx.params, 'on');
  const host = on === undefined ? undefined : await hostByNameOrId(ctx, on);
  const sel = await selectObjects(ctx, 'vm', { ignore: ['on', 'paused', 'force', 'progress'], includeControlDomain: true });
  await forEachSelected(ctx, sel, (row) => host === undefined
    ? ctx.client.callAsync('VM.start', row.ref, paused, force)
    : ctx.client.callAsync('VM.start_on', row.ref, host, paused, force));
}
