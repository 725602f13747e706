/**
 * @module
 * xe's VM memory commands on the selected VMs (templates and the control domain included,
 * as xe includes them): `vm-memory-limits-set static-min= static-max= dynamic-min=
 * dynamic-max=`, `vm-memory-static-range-set min= max=`, `vm-memory-dynamic-range-set min=
 * max=` and `vm-memory-target-set target=` (a dynamic range of one value). Sizes take xe's
 * units (`512MiB`, `2GiB`, bytes by default); the server checks the ordering rules.
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { bytesOf } from './storage-params.js';

const size = (ctx: CommandContext, name: string) => bytesOf(name, getParam(ctx.params, name)!);

/** The XenAPI call and its size arguments for each command, and the parameters they use. */
function plan(ctx: CommandContext): { method: string; args: number[]; used: string[] } {
  switch (ctx.cmd) {
    case 'vm-memory-limits-set': {
      const used = ['static-min', 'static-max', 'dynamic-min', 'dynamic-max'];
      return { method: 'VM.set_memory_limits', args: used.map((n) => size(ctx, n)), used };
    }
    case 'vm-memory-static-range-set':
      return { method: 'VM.set_memory_static_range', args: [size(ctx, 'min'), size(ctx, 'max')], used: ['min', 'max'] };
    case 'vm-memory-dynamic-range-set':
      return { method: 'VM.set_memory_dynamic_range', args: [size(ctx, 'min'), size(ctx, 'max')], used: ['min', 'max'] };
    default: {
      const target = size(ctx, 'target');
      return { method: 'VM.set_memory_dynamic_range', args: [target, target], used: ['target'] };
    }
  }
}

export async function run(ctx: CommandContext): Promise<void> {
  const { method, args, used } = plan(ctx);
  const sel = await selectObjects(ctx, 'vm', { ignore: used, includeTemplates: ctx.cmd !== 'vm-memory-target-set', includeControlDomain: true });
  await forEachSelected(ctx, sel, (row) => ctx.call(method, row.ref, ...args));
}
