/**
 * @module
 * `xe vm-migrate host=<name or uuid> [live=<bool>] [force=<bool>] <vm-selectors>` (also
 * `host-uuid=`/`host-name=`): moves each selected VM to the host inside the pool with
 * `VM.pool_migrate`, passing `live`, `force` and `copy` as xe does ("true"/"false").
 * Migration to another pool (`remote-master=`…) is not offered.
 */
import { getParam, parseCliBool } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { hostByNameOrId } from './host-by-name.js';

const NOT_FILTERS = ['host', 'host-uuid', 'host-name', 'live', 'force', 'copy', 'compress', 'progress'];

export async function run(ctx: CommandContext): Promise<void> {
  if (getParam(ctx.params, 'remote-master') !== undefined) {
    throw new CliFailure('Migration to another pool is not supported by this server');
  }
  const target = getParam(ctx.params, 'host') ?? getParam(ctx.params, 'host-uuid') ?? getParam(ctx.params, 'host-name');
  if (target === undefined) throw new CliFailure('No destination host specified');
  const host = await hostByNameOrId(ctx, target);
  const options: Record<string, string> = {};
  for (const k of ['force', 'live', 'copy']) {
    const v = getParam(ctx.params, k);
    options[k] = String(v === undefined ? false : parseCliBool(k, v));
  }
  const compress = getParam(ctx.params, 'compress');
  if (compress !== undefined) options.compress = compress;
  const sel = await selectObjects(ctx, 'vm', { ignore: NOT_FILTERS, includeControlDomain: true });
  await forEachSelected(ctx, sel, (row) => ctx.client.callAsync('VM.pool_migrate', row.ref, host, options));
}
