/**
 * @module
 * The SR commands that take only `uuid=` and print nothing: `sr-forget`, `sr-destroy`,
 * `sr-scan` and `sr-update`, each one XenAPI call.
 */
import { getParam } from '../argv.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { callAsync, refByUuid } from './storage-params.js';

function srCall(method: string): CommandModule {
  return {
    run: async (ctx: CommandContext) => {
      const sr = await refByUuid(ctx, 'SR', getParam(ctx.params, 'uuid')!);
      await callAsync(ctx, method, sr);
    },
  };
}

export const srForget = srCall('SR.forget');
export const srDestroy = srCall('SR.destroy');
export const srScan = srCall('SR.scan');
export const srUpdate = srCall('SR.update');
