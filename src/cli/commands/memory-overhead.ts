/**
 * @module
 * `xe host-compute-memory-overhead <host-selectors>` and `xe vm-compute-memory-overhead
 * <vm-selectors>`: the memory the hypervisor needs for a host, or for a VM beyond its own,
 * in bytes, one line per host or VM (the control domain included, as xe includes it); and
 * `xe vm-compute-maximum-memory total= [approximate=] <vm-selectors>`: the most memory the
 * VM could be given out of `total` (xe's units), overhead paid.
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { boolParam, bytesOf } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.cmd === 'host-compute-memory-overhead') {
    const sel = await selectObjects(ctx, 'host');
    await forEachSelected(ctx, sel, async (row) => ctx.printer.msg(String(await ctx.call('host.compute_memory_overhead', row.ref))), false);
    return;
  }
  if (ctx.cmd === 'vm-compute-maximum-memory') {
    const total = bytesOf('total', getParam(ctx.params, 'total')!);
    const approximate = boolParam(ctx.params, 'approximate');
    const sel = await selectObjects(ctx, 'vm', { ignore: ['total', 'approximate'] });
    await forEachSelected(ctx, sel, async (row) => ctx.printer.list([String(await ctx.client.callAsync('VM.maximise_memory', row.ref, total, approximate))]));
    return;
  }
  const sel = await selectObjects(ctx, 'vm', { includeControlDomain: true });
  await forEachSelected(ctx, sel, async (row) => ctx.printer.msg(String(await ctx.call('VM.compute_memory_overhead', row.ref))));
}
