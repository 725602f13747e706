/**
 * @module
 * `xe vm-suspend <vm-selectors>`: saves each selected VM's memory and stops it.
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const sel = await selectObjects(ctx, 'vm', { ignore: ['progress'] });
  await forEachSelected(ctx, sel, (row) => ctx.client.callAsync('VM.suspend', row.ref));
}
