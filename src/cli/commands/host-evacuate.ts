/**
 * @module
 * `xe host-evacuate [network-uuid=] [batch-size=] <host-selectors>`: live-migrates every
 * VM off one host to the others (`host.evacuate`), `batch-size` at a time.
 */
import { getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const netUuid = getParam(ctx.params, 'network-uuid');
  const network = netUuid === undefined ? 'OpaqueRef:NULL' : String(await ctx.call('network.get_by_uuid', netUuid));
  const raw = getParam(ctx.params, 'batch-size');
  if (raw !== undefined && !/^\d+$/.test(raw)) throw new RecordFailure(`Failed to parse parameter 'batch-size': expected an unsigned integer, got ${raw}`);
  const batch = raw === undefined ? 0 : Number(raw);
  const sel = await selectObjects(ctx, 'host', { ignore: ['network-uuid', 'batch-size'] });
  await forEachSelected(ctx, sel, (row) => ctx.client.callAsync('host.evacuate', row.ref, network, batch), false);
}
