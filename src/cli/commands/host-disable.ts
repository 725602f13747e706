/**
 * @module
 * `xe host-disable <host-selectors>`: the selected hosts take no new VMs.
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const sel = await selectObjects(ctx, 'host', { ignore: ['auto-enable'] });
  await forEachSelected(ctx, sel, (row) => ctx.call('host.disable', row.ref));
}
