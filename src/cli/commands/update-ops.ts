/**
 * @module
 * The per-update xe commands over `uuid=` (and `host-uuid=` where a host is named):
 * `patch-precheck/apply/pool-apply/clean/pool-clean/destroy` on pool_patch and
 * `update-precheck/apply/pool-apply/pool-clean/destroy` on pool_update, plus
 * `update-introduce vdi-uuid=`. Long calls run as tasks; what a precheck or apply prints is
 * what the update's hooks said.
 */
import { getParam } from '../argv.js';
import type { CommandContext, CommandModule } from '../command-context.js';

export type UpdateOp = 'precheck' | 'apply' | 'pool-apply' | 'clean' | 'pool-clean' | 'destroy';

async function selfRef(ctx: CommandContext, cls: string): Promise<string> {
  return String(await ctx.call(`${cls}.get_by_uuid`, getParam(ctx.params, 'uuid')));
}

async function hostRef(ctx: CommandContext): Promise<string> {
  return String(await ctx.call('host.get_by_uuid', getParam(ctx.params, 'host-uuid')));
}

export function updateOpCommand(kind: 'patch' | 'update', op: UpdateOp): CommandModule {
  const cls = kind === 'patch' ? 'pool_patch' : 'pool_update';
  return {
    run: async (ctx) => {
      const self = await selfRef(ctx, cls);
      const method = `${cls}.${op.replace('-', '_')}`;
      const withHost = op === 'precheck' || op === 'apply';
      const out = withHost ? await ctx.client.callAsync(method, self, await hostRef(ctx)) : await ctx.client.callAsync(method, self);
      if (typeof out === 'string' && out.trim() !== '') ctx.printer.msg(out.replace(/\n$/, ''));
    },
  };
}

export const updateIntroduce: CommandModule = {
  run: async (ctx) => {
    const vdi = await ctx.call('VDI.get_by_uuid', getParam(ctx.params, 'vdi-uuid'));
    const ref = await ctx.client.callAsync('pool_update.introduce', vdi);
    ctx.printer.list([String(await ctx.call('pool_update.get_uuid', ref))]);
  },
};
