/**
 * @module
 * `xe vm-pause <vm-selectors>`: stops scheduling each selected VM, keeping it in memory.
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const sel = await selectObjects(ctx, 'vm');
  await forEachSelected(ctx, sel, (row) => ctx.call('VM.pause', row.ref));
}
