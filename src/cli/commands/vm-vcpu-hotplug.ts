/**
 * @module
 * `xe vm-vcpu-hotplug new-vcpus=N <vm-selectors>`: the number of vCPUs of each selected
 * running VM, changed live (`VM.set_VCPUs_number_live`; the server keeps it within the
 * VM's VCPUs-max).
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';

export async function run(ctx: CommandContext): Promise<void> {
  const raw = getParam(ctx.params, 'new-vcpus')!;
  if (!/^\s*[+-]?\d+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new CliFailure("Failed to parse parameter 'new-vcpus': expecting an integer");
  }
  const sel = await selectObjects(ctx, 'vm', { ignore: ['new-vcpus'] });
  await forEachSelected(ctx, sel, (row) => ctx.call('VM.set_VCPUs_number_live', row.ref, Number(raw)));
}
