/**
 * @module
 * `xe sr-introduce uuid= name-label= type= [content-type=] [shared=] [sm-config:k=v…]`:
 * records an SR that exists on storage (no storage is touched); follow with pbd-create and
 * pbd-plug. Prints the uuid.
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { boolParam, mapParam } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  const p = ctx.params;
  const uuid = getParam(p, 'uuid')!;
  await ctx.call('SR.introduce', uuid, getParam(p, 'name-label')!, getParam(p, 'name-description') ?? '',
    getParam(p, 'type')!, getParam(p, 'content-type') ?? '', boolParam(p, 'shared'), mapParam(p, 'sm-config'));
  ctx.printer.list([uuid]);
}
