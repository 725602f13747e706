/**
 * @module
 * `xe vbd-destroy uuid=`, `vbd-plug uuid=`, `vbd-unplug uuid= [timeout=N] [--force]`, and
 * `vbd-eject uuid=` / `vbd-insert uuid= vdi-uuid=` (the media of a CD drive).
 * An unplug the guest refuses (DEVICE_DETACH_REJECTED) is, given `timeout=`, watched for up
 * to that many seconds in case the guest lets go later, as xe does; `--force` pulls the
 * device at once (`VBD.unplug_force`).
 */
import { getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { XapiCallError } from '../../client/xapi-call-error.js';
import { boolParam, refByUuid } from './storage-params.js';

/** How often a refused unplug is looked at again. */
const POLL_MS = 1000;

async function unplug(ctx: CommandContext, vbd: string): Promise<void> {
  const raw = getParam(ctx.params, 'timeout');
  const timeout = raw === undefined ? 0 : Number(raw);
  if (!Number.isFinite(timeout) || timeout < 0) throw new RecordFailure("Failed to parse parameter 'timeout': expecting a float");
  const start = Date.now();
  try {
    await ctx.client.callAsync(boolParam(ctx.params, 'force') ? 'VBD.unplug_force' : 'VBD.unplug', vbd);
  } catch (e) {
    if (!(e instanceof XapiCallError) || e.code !== 'DEVICE_DETACH_REJECTED') throw e;
    while (Date.now() - start < timeout * 1000) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if ((await ctx.call('VBD.get_currently_attached', vbd)) === false) return;
    }
    throw e;
  }
}

export async function run(ctx: CommandContext): Promise<void> {
  const vbd = await refByUuid(ctx, 'VBD', getParam(ctx.params, 'uuid')!);
  switch (ctx.cmd) {
    case 'vbd-destroy': await ctx.call('VBD.destroy', vbd); return;
    case 'vbd-plug': await ctx.client.callAsync('VBD.plug', vbd); return;
    case 'vbd-eject': await ctx.client.callAsync('VBD.eject', vbd); return;
    case 'vbd-insert': await ctx.client.callAsync('VBD.insert', vbd, await refByUuid(ctx, 'VDI', getParam(ctx.params, 'vdi-uuid')!)); return;
    default: await unplug(ctx, vbd);
  }
}
