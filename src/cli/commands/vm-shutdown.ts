/**
 * @module
 * `xe vm-shutdown [--force] <vm-selectors>`: asks each selected VM's guest to shut down
 * and waits for it (`VM.clean_shutdown`); `--force` stops it at once (`VM.hard_shutdown`).
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { boolParam } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  const method = boolParam(ctx.params, 'force') ? 'VM.hard_shutdown' : 'VM.clean_shutdown';
  const sel = await selectObjects(ctx, 'vm', { ignore: ['force', 'progress'] });
  await forEachSelected(ctx, sel, (row) => ctx.client.callAsync(method, row.ref));
}
