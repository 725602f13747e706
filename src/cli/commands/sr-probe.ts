/**
 * @module
 * `xe sr-probe type= [device-config:k=v…] [sm-config:k=v…] [host-uuid=]`: asks the driver
 * which SRs the device config reaches and prints its XML answer.
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { hostFor } from './sr-create.js';
import { mapParam } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  const p = ctx.params;
  const host = await hostFor(ctx);
  const xml = await ctx.call('SR.probe', host, mapParam(p, 'device-config'), getParam(p, 'type')!, mapParam(p, 'sm-config'));
  ctx.printer.list([String(xml)]);
}
