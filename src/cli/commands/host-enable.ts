/**
 * @module
 * `xe host-enable <host-selectors>`: the selected hosts take new VMs again.
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const sel = await selectObjects(ctx, 'host');
  await forEachSelected(ctx, sel, (row) => ctx.call('host.enable', row.ref));
}
