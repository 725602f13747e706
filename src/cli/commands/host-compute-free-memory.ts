/**
 * @module
 * `xe host-compute-free-memory <host-selectors>`: prints the bytes of memory the selected
 * host has free for new VMs.
 */
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const sel = await selectObjects(ctx, 'host');
  const [free] = await forEachSelected(ctx, sel, (row) => ctx.call('host.compute_free_memory', row.ref), false);
  ctx.printer.msg(String(free));
}
