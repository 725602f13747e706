/**
 * @module
 * `xe pbd-create host-uuid= sr-uuid= [device-config:k=v…]` (prints the uuid), and
 * `pbd-plug`, `pbd-unplug`, `pbd-destroy` with `uuid=`.
 */
import { getParam } from '../argv.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { callAsync, mapParam, printUuid, refByUuid } from './storage-params.js';

export const pbdCreate: CommandModule = {
  run: async (ctx: CommandContext) => {
    const p = ctx.params;
    const host = await refByUuid(ctx, 'host', getParam(p, 'host-uuid')!);
    const sr = await refByUuid(ctx, 'SR', getParam(p, 'sr-uuid')!);
    const pbd = await ctx.call('PBD.create', { host, SR: sr, device_config: mapParam(p, 'device-config'), other_config: {} });
    await printUuid(ctx, 'PBD', pbd);
  },
};

function pbdCall(method: string): CommandModule {
  return {
    run: async (ctx: CommandContext) => {
      await callAsync(ctx, method, await refByUuid(ctx, 'PBD', getParam(ctx.params, 'uuid')!));
    },
  };
}

export const pbdPlug = pbdCall('PBD.plug');
export const pbdUnplug = pbdCall('PBD.unplug');
export const pbdDestroy = pbdCall('PBD.destroy');
