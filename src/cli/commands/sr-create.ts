/**
 * @module
 * `xe sr-create name-label= type= [device-config:k=v…] [shared=] [content-type=]
 * [sm-config:allocation=thin|thick] [physical-size=] [host-uuid=] [name-description=]`:
 * makes an SR (plugged on the hosts that should see it) and prints its uuid.
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { boolParam, bytesOf, callAsync, mapParam, printUuid, refByUuid } from './storage-params.js';

/**
 * xe's choice of host: the one named, else the host xe is connected to, which is the master
 * (XenServer's xe does the same: `host-uuid` is optional for every SR type, in a pool too).
 */
export async function hostFor(ctx: CommandContext): Promise<string> {
  const uuid = getParam(ctx.params, 'host-uuid');
  if (uuid !== undefined) return refByUuid(ctx, 'host', uuid);
  const [pool] = (await ctx.call('pool.get_all')) as string[];
  return String(await ctx.call('pool.get_master', pool));
}

export async function run(ctx: CommandContext): Promise<void> {
  const p = ctx.params;
  const shared = boolParam(p, 'shared');
  const host = await hostFor(ctx);
  const size = getParam(p, 'physical-size');
  const sr = await callAsync(ctx, 'SR.create', host, mapParam(p, 'device-config'), size === undefined ? 0 : bytesOf('physical-size', size),
    getParam(p, 'name-label')!, getParam(p, 'name-description') ?? '', getParam(p, 'type')!, getParam(p, 'content-type') ?? '',
    shared, mapParam(p, 'sm-config'));
  await printUuid(ctx, 'SR', sr);
}
