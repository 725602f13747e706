/**
 * @module
 * `xe vm-unpause <vm-selectors>`: lets each selected paused VM run again.
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const sel = await selectObjects(ctx, 'vm');
  await forEachSelected(ctx, sel, (row) => ctx.call('VM.unpause', row.ref));
}
