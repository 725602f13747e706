/**
 * @module
 * `xe vm-resume [on=<host>] [--force] <vm-selectors>`: brings each selected suspended VM
 * back, on the named host (`VM.resume_on`) or where the pool chooses (`VM.resume`).
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { hostByNameOrId } from './host-by-name.js';
import { boolParam } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  const force = boolParam(ctx.params, 'force');
  const on = getParam(ctx.params, 'on');
  const host = on === undefined ? undefined : await hostByNameOrId(ctx, on);
  const sel = await selectObjects(ctx, 'vm', { ignore: ['on', 'force', 'progress'] });
  await forEachSelected(ctx, sel, (row) => host === undefined
    ? ctx.client.callAsync('VM.resume', row.ref, false, force)
    : ctx.client.callAsync('VM.resume_on', row.ref, host, false, force));
}
