/**
 * @module
 * `xe vm-uninstall <vm-selectors> [--force]`, `xe snapshot-uninstall snapshot-uuid= [--force]`
 * and `xe template-uninstall template-uuid= [--force]`: destroy VMs (with their snapshots,
 * for vm-uninstall) and the disks they own (drives marked with `other_config:owner`), as xe
 * does: the objects are listed first, then destroyed with `--force` or after typing `yes`.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { userSaysYes } from '../user-says-yes.js';
import { boolParam, callAsync, refByUuid } from './storage-params.js';

type Rec = Record<string, unknown>;
const NULL = 'OpaqueRef:NULL';

async function describeVdi(ctx: CommandContext, vdi: string): Promise<string> {
  const r = (await ctx.call('VDI.get_record', vdi)) as Rec;
  const shared = (r.VBDs as unknown[]).length > 1 ? ' ** WARNING: disk is shared by other VMs' : '';
  return `VDI: ${String(r.uuid)} (${String(r.name_label)}) ${shared}`;
}

/** The disks a VM owns: those of its drives marked with `owner`, and its suspend image. */
async function ownedDisks(ctx: CommandContext, vm: string): Promise<string[]> {
  const out: string[] = [];
  for (const vbd of (await ctx.call('VM.get_VBDs', vm)) as string[]) {
    const r = (await ctx.call('VBD.get_record', vbd).catch(() => undefined)) as Rec | undefined;
    if (!r || (r.other_config as Record<string, string>).owner === undefined || r.VDI === NULL) continue;
    if (await ctx.call('VDI.get_uuid', r.VDI).catch(() => undefined)) out.push(String(r.VDI));
  }
  const suspend = String(await ctx.call('VM.get_suspend_VDI', vm));
  if (suspend !== NULL && await ctx.call('VDI.get_uuid', suspend).catch(() => undefined)) out.push(suspend);
  return out;
}

export async function uninstall(ctx: CommandContext, vms: readonly string[]): Promise<void> {
  const lines: string[] = [];
  const plans: Array<{ vm: string; vdis: string[] }> = [];
  for (const vm of vms) {
    const r = (await ctx.call('VM.get_record', vm)) as Rec;
    const vdis = await ownedDisks(ctx, vm);
    lines.push(`VM : ${String(r.uuid)} (${String(r.name_label)})`);
    for (const v of vdis) lines.push(await describeVdi(ctx, v));
    plans.push({ vm, vdis });
  }
  ctx.printer.msg('The following items are about to be destroyed');
  for (const l of lines) ctx.printer.msg(l);
  if (!boolParam(ctx.params, 'force') && !(await userSaysYes(ctx))) return;
  for (const { vm, vdis } of plans) {
    if (String(await ctx.call('VM.get_power_state', vm)) !== 'Halted') await callAsync(ctx, 'VM.hard_shutdown', vm);
    await callAsync(ctx, 'VM.destroy', vm);
    for (const v of vdis) await callAsync(ctx, 'VDI.destroy', v).catch(() => undefined);
  }
  ctx.printer.msg('All objects destroyed');
}

export const vmUninstall: CommandModule = {
  run: async (ctx) => {
    const sel = await selectObjects(ctx, 'vm', { ignore: ['force'] });
    const vms = await forEachSelected(ctx, sel, async (row) => row.ref);
    const snaps: string[] = [];
    for (const vm of vms) snaps.push(...((await ctx.call('VM.get_snapshots', vm)) as string[]));
    await uninstall(ctx, [...vms, ...snaps]);
  },
};

export const templateUninstall: CommandModule = {
  run: async (ctx) => {
    const uuid = getParam(ctx.params, 'template-uuid')!;
    const vm = await refByUuid(ctx, 'VM', uuid);
    if (await ctx.call('VM.get_is_a_template', vm) !== true) {
      throw new CliFailure(`This operation can only be performed on a VM template. ${uuid} is not a VM template.`);
    }
    await uninstall(ctx, [vm]);
  },
};
