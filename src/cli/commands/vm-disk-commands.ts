/**
 * @module
 * `xe vm-disk-add disk-size= device= [sr-uuid=]` and `xe vm-disk-remove device=` over the
 * selected VMs, as XenServer's xe does them. An added disk is a new VDI ("Created by xe",
 * on `sr-uuid=` or else the pool's default SR) owned by the VM (its drive's `owner` key, so
 * `vm-uninstall` takes it along), with the VM's uuid as the SR's placement hint, in a drive
 * at `device` (one of the VM's `allowed-VBD-devices`); the drive is plugged when the VM
 * runs, and a plug the VM refuses leaves the disk added for its next boot, as xe leaves it.
 * A drive that cannot be made takes its new VDI away again. A removed disk is the drive at
 * `device` and the VDI in it, both destroyed.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { XapiCallError } from '../../client/xapi-call-error.js';
import { bytesOf, refByUuid } from './storage-params.js';

const NULL = 'OpaqueRef:NULL';
const NAME = 'Created by xe';

async function eachVm(ctx: CommandContext, notFilters: string[], op: (vm: string) => Promise<void>): Promise<void> {
  const sel = await selectObjects(ctx, 'vm', { ignore: notFilters });
  await forEachSelected(ctx, sel, (row) => op(row.ref));
}

/** `sr-uuid=`'s SR, else the pool's default one. */
async function targetSr(ctx: CommandContext): Promise<string> {
  const uuid = getParam(ctx.params, 'sr-uuid');
  if (uuid !== undefined) return refByUuid(ctx, 'SR', uuid);
  const [pool] = (await ctx.call('pool.get_all')) as string[];
  const sr = pool === undefined ? NULL : String(await ctx.call('pool.get_default_SR', pool));
  // A default that names a forgotten SR is no default either.
  const real = sr !== NULL && await ctx.call('SR.get_uuid', sr).then(() => true, () => false);
  if (!real) throw new CliFailure('No default Pool SR set; you must specify an SR on the commandline');
  return sr;
}

export const vmDiskAdd: CommandModule = {
  run: async (ctx) => {
    const size = bytesOf('disk-size', getParam(ctx.params, 'disk-size')!);
    const device = getParam(ctx.params, 'device')!;
    const sr = await targetSr(ctx);
    await eachVm(ctx, ['sr-uuid', 'device', 'disk-size'], async (vm) => {
      const vmUuid = String(await ctx.call('VM.get_uuid', vm));
      const vdi = String(await ctx.call('VDI.create', {
        name_label: NAME, name_description: NAME, SR: sr, virtual_size: size, type: 'user', sharable: false,
        read_only: false, other_config: {}, xenstore_data: {}, sm_config: { vmhint: vmUuid }, tags: [],
      }));
      let vbd: string;
      try {
        vbd = String(await ctx.call('VBD.create', {
          VM: vm, VDI: vdi, userdevice: device, bootable: false, mode: 'RW', type: 'Disk', unpluggable: true, empty: false,
          qos_algorithm_type: '', qos_algorithm_params: {}, other_config: { owner: '' }, device: '', currently_attached: false,
        }));
      } catch (e) {
        await ctx.call('VDI.destroy', vdi).catch(() => undefined);
        throw e;
      }
      if (String(await ctx.call('VM.get_power_state', vm)) !== 'Running') return;
      try {
        await ctx.client.callAsync('VBD.plug', vbd);
      } catch (e) {
        // Not hot-plugged (the guest or its drivers refused): the disk is there at the next boot.
        if (!(e instanceof XapiCallError)) throw e;
      }
    });
  },
};

export const vmDiskRemove: CommandModule = {
  run: async (ctx) => {
    const device = getParam(ctx.params, 'device')!;
    await eachVm(ctx, ['device'], async (vm) => {
      let found: string | undefined;
      for (const vbd of (await ctx.call('VM.get_VBDs', vm)) as string[]) {
        if (String(await ctx.call('VBD.get_userdevice', vbd)) === device) {
          found = vbd;
          break;
        }
      }
      if (found === undefined) throw new CliFailure('Disk not found');
      const vdi = String(await ctx.call('VBD.get_VDI', found));
      await ctx.call('VBD.destroy', found);
      if (vdi !== NULL) await ctx.client.callAsync('VDI.destroy', vdi);
    });
  },
};
