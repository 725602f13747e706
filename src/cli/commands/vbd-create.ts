/**
 * @module
 * `xe vbd-create vm-uuid= device= [vdi-uuid=] [mode=RO|RW] [type=Disk|CD|Floppy]
 * [bootable=] [unpluggable=]`: gives a VM a drive (an empty CD drive when no disk is named)
 * and prints its uuid.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { boolParam, printUuid, refByUuid } from './storage-params.js';

export async function run(ctx: CommandContext): Promise<void> {
  const p = ctx.params;
  const vm = await refByUuid(ctx, 'VM', getParam(p, 'vm-uuid')!);
  const vdiUuid = getParam(p, 'vdi-uuid');
  const empty = vdiUuid === undefined;
  const mode = (getParam(p, 'mode') ?? 'rw').toLowerCase();
  if (mode !== 'ro' && mode !== 'rw') throw new CliFailure(`Unknown mode: ${mode} (should be "ro" or "rw"`);
  const type = (getParam(p, 'type') ?? 'disk').toLowerCase();
  const types: Record<string, string> = { cd: 'CD', disk: 'Disk', floppy: 'Floppy' };
  if (types[type] === undefined) throw new CliFailure(`"Unknown type: ${type} (should be "cd", "disk" or "floppy"`);
  if (type === 'disk' && empty) throw new CliFailure('Empty VBDs can only be made for type=CD');
  const vbd = await ctx.call('VBD.create', {
    VM: vm, VDI: empty ? 'OpaqueRef:NULL' : await refByUuid(ctx, 'VDI', vdiUuid), userdevice: getParam(p, 'device')!,
    bootable: boolParam(p, 'bootable'), mode: mode.toUpperCase(), type: types[type], unpluggable: boolParam(p, 'unpluggable', true),
    empty, qos_algorithm_type: '', qos_algorithm_params: {}, other_config: {}, device: '', currently_attached: false,
  });
  await printUuid(ctx, 'VBD', vbd);
}
