/**
 * @module
 * xe's CD and drive commands: `cd-list` (the disks of ISO SRs), `vm-cd-add cd-name=
 * device=`, `vm-cd-insert cd-name=`, `vm-cd-eject`, `vm-cd-remove cd-name=`, `vm-cd-list`,
 * `vm-disk-list` and `vm-vif-list` over the selected VMs (and, for `snapshot-disk-list`, the
 * drive listing of one VM). The per-VM lists print each drive
 * as xe does: a "CD 0 VBD:" (or "Disk 0 VBD:") heading and the drive's record, then the
 * disc's or disk's record under "… VDI:"; `vbd-params=`, `vdi-params=` (`cd-params=` for
 * CDs) choose the fields.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import type { PrintRecord } from '../printer.js';
import { fetchRows } from '../record-filter.js';
import { type CliClass, type Row, cliClass, prepare, qualifierSuffix } from '../records.js';
import type { RefResolver } from '../ref-resolver.js';
import { forEachSelected, selectObjects } from '../select.js';
import { callAsync } from './storage-params.js';

type Rec = Record<string, unknown>;
const NULL = 'OpaqueRef:NULL';

function mustClass(name: string): CliClass {
  const cc = cliClass(name);
  if (!cc) throw new CliFailure(`the server has no ${name} class`);
  return cc;
}

/** Renders rows with the fields `params` names (`all`, a comma list, or the defaults given). */
async function renderRows(cc: CliClass, rows: readonly Row[], params: string | undefined, dflt: readonly string[], res: RefResolver): Promise<PrintRecord[]> {
  const wanted = params === undefined ? dflt : params === 'all' ? undefined : params.split(',');
  const fields = cc.fields.filter((f) => !f.hidden && (wanted === undefined || wanted.includes(f.name)));
  await prepare(fields, rows, res);
  return rows.map((row) => fields.map((f) => [`${f.name}${qualifierSuffix(f)}`, f.get(row, res)] as const));
}

/** The VDIs of the SRs whose content type is `iso`. */
async function isoVdis(ctx: CommandContext): Promise<Row[]> {
  const srs = (await ctx.call('SR.get_all_records')) as Record<string, Rec>;
  const isoSrs = new Set(Object.entries(srs).filter(([, r]) => r.content_type === 'iso' || r.type === 'iso').map(([ref]) => ref));
  return (await fetchRows(ctx, mustClass('vdi'))).filter((r) => isoSrs.has(String(r.rec.SR)));
}

/** The ISO VDI named `cd-name` (by name or uuid). */
async function cdByName(ctx: CommandContext): Promise<string> {
  const name = getParam(ctx.params, 'cd-name')!;
  const found = (await isoVdis(ctx)).filter((r) => r.rec.name_label === name || r.rec.uuid === name);
  if (found.length === 0) throw new CliFailure(`CD ${name} not found!`);
  return found[0]!.ref;
}

async function vmDrives(ctx: CommandContext, vm: string, type: 'CD' | 'Disk'): Promise<Row[]> {
  const out: Row[] = [];
  for (const vbd of (await ctx.call('VM.get_VBDs', vm)) as string[]) {
    const rec = (await ctx.call('VBD.get_record', vbd)) as Rec;
    if (rec.type === type) out.push({ ref: vbd, rec });
  }
  return out.sort((a, b) => Number(a.rec.userdevice) - Number(b.rec.userdevice));
}

const VM_IGNORE = ['cd-name', 'device', 'vbd-params', 'vdi-params', 'cd-params', 'vif-params'];

async function eachVm(ctx: CommandContext, op: (vm: string) => Promise<void>): Promise<void> {
  const sel = await selectObjects(ctx, 'vm', { ignore: VM_IGNORE });
  await forEachSelected(ctx, sel, (row) => op(row.ref));
}

export const cdList: CommandModule = {
  run: async (ctx) => {
    const cc = mustClass('vdi');
    const rows = await isoVdis(ctx);
    const res = ctx.resolver();
    const params = getParam(ctx.params, 'params');
    ctx.printer.table(await renderRows(cc, rows, ctx.printer.minimal && params === undefined ? 'uuid' : params, ['uuid', 'name-label'], res));
  },
};

export const vmCdAdd: CommandModule = {
  run: async (ctx) => {
    const cd = await cdByName(ctx);
    const device = getParam(ctx.params, 'device')!;
    await eachVm(ctx, async (vm) => {
      await ctx.call('VBD.create', {
        VM: vm, VDI: cd, userdevice: device, bootable: false, mode: 'RO', type: 'CD', unpluggable: true,
        empty: false, qos_algorithm_type: '', qos_algorithm_params: {}, other_config: {}, device: '', currently_attached: false,
      });
    });
  },
};

export const vmCdInsert: CommandModule = {
  run: async (ctx) => {
    const cd = await cdByName(ctx);
    await eachVm(ctx, async (vm) => {
      const drives = await vmDrives(ctx, vm, 'CD');
      const empty = drives.filter((d) => d.rec.empty === true);
      if (drives.length === 0) throw new CliFailure('No CD drives found');
      if (empty.length === 0) throw new CliFailure('No empty CD devices found');
      if (empty.length > 1) throw new CliFailure('Two or more empty CD devices found. Please use vbd-insert');
      await callAsync(ctx, 'VBD.insert', empty[0]!.ref, cd);
    });
  },
};

export const vmCdEject: CommandModule = {
  run: async (ctx) => {
    await eachVm(ctx, async (vm) => {
      const drives = await vmDrives(ctx, vm, 'CD');
      if (drives.length === 0) throw new CliFailure('No CDs found');
      if (drives.length > 1) throw new CliFailure('Two or more CDs found. Please use vbd-eject');
      await callAsync(ctx, 'VBD.eject', drives[0]!.ref);
    });
  },
};

export const vmCdRemove: CommandModule = {
  run: async (ctx) => {
    const name = getParam(ctx.params, 'cd-name')!;
    await eachVm(ctx, async (vm) => {
      const drives = (await vmDrives(ctx, vm, 'CD')).filter((d) => d.rec.VDI !== NULL);
      const matching: Row[] = [];
      for (const d of drives) {
        const vdi = (await ctx.call('VDI.get_record', d.rec.VDI)) as Rec;
        if (vdi.name_label === name || vdi.uuid === name) matching.push(d);
      }
      if (matching.length === 0) throw new CliFailure(`Disk not found: ${name}`);
      for (const d of matching) {
        if (d.rec.currently_attached === true) await callAsync(ctx, 'VBD.unplug', d.ref);
        await callAsync(ctx, 'VBD.destroy', d.ref);
      }
    });
  },
};

/**
 * Prints each `type` drive of `vm` and its disc or disk under xe's headings, with the
 * fields `vbd-params=` and `vdiParamName=` choose (`vm-cd-list`, `vm-disk-list`,
 * `snapshot-disk-list`).
 */
export async function printDrives(ctx: CommandContext, vm: string, type: 'CD' | 'Disk', vdiParamName: string): Promise<void> {
  const vbdCc = mustClass('vbd');
  const vdiCc = mustClass('vdi');
  const vbdParams = getParam(ctx.params, 'vbd-params');
  const vdiParams = getParam(ctx.params, vdiParamName);
  const res = ctx.resolver();
  const drives = await vmDrives(ctx, vm, type);
  for (const [i, d] of drives.entries()) {
    ctx.printer.msg(`${type} ${i} VBD:`);
    ctx.printer.table(await renderRows(vbdCc, [d], vbdParams, ['uuid', 'vm-name-label', 'userdevice'], res));
    if (d.rec.VDI === NULL) continue;
    const vdi = (await ctx.call('VDI.get_record', d.rec.VDI)) as Rec;
    ctx.printer.msg(`${type} ${i} VDI:`);
    const dflt = type === 'CD' ? ['uuid', 'name-label'] : ['uuid', 'name-label', 'sr-name-label', 'virtual-size'];
    ctx.printer.table(await renderRows(vdiCc, [{ ref: String(d.rec.VDI), rec: vdi }], vdiParams, dflt, res));
  }
}

/** `vm-cd-list` / `vm-disk-list`: each drive and its disc or disk, under xe's headings. */
function driveList(type: 'CD' | 'Disk', vdiParamName: string): CommandModule {
  return { run: (ctx) => eachVm(ctx, (vm) => printDrives(ctx, vm, type, vdiParamName)) };
}

export const vmCdList = driveList('CD', 'cd-params');
export const vmDiskList = driveList('Disk', 'vdi-params');

export const vmVifList: CommandModule = {
  run: async (ctx) => {
    const cc = mustClass('vif');
    const params = getParam(ctx.params, 'params');
    await eachVm(ctx, async (vm) => {
      const rows: Row[] = [];
      for (const vif of (await ctx.call('VM.get_VIFs', vm)) as string[]) rows.push({ ref: vif, rec: (await ctx.call('VIF.get_record', vif)) as Rec });
      rows.sort((a, b) => Number(a.rec.device) - Number(b.rec.device));
      ctx.printer.table(await renderRows(cc, rows, params, ['uuid', 'vm-name-label', 'device', 'MAC', 'network-name-label'], ctx.resolver()));
    });
  },
};
