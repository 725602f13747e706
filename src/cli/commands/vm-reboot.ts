/**
 * @module
 * `xe vm-reboot [--force] <vm-selectors>`: asks each selected VM's guest to reboot
 * (`VM.clean_reboot`); `--force` resets it at once (`VM.hard_reboot`).
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { boolParam } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  const method = boolParam(ctx.params, 'force') ? 'VM.hard_reboot' : 'VM.clean_reboot';
  const sel = await selectObjects(ctx, 'vm', { ignore: ['force', 'progress'] });
  await forEachSelected(ctx, sel, (row) => ctx.client.callAsync(method, row.ref));
}
