/**
 * @module
 * VM.provision: a VM made from a template gets the disks the template describes in
 * `other_config:disks`, XenServer's provisioning XML
 * (`<provision><disk device="0" size="…" sr="<uuid>" bootable="true" type="system"/></provision>`).
 * A disk with no SR goes to the pool's default SR. The VM stops being a template, and the
 * description is removed so that it is never provisioned twice. On failure the disks made
 * so far are destroyed again. Each disk is named after the VM and its device ("web 0"), as
 * xapi names the disks it provisions.
 */
import { ApiError } from '../../core/api-error.js';
import { NULL_REF, isNullRef, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { mustRow } from '../common/storage-access.js';
import { createVbd } from '../vbd/index.js';
import { createVdi, destroyVdi } from '../vdi/vdi-ops.js';

export interface ProvisionDisk {
  readonly device: string;
  readonly size: number;
  readonly sr: string;
  readonly bootable: boolean;
  readonly type: string;
}

const VDI_TYPES = ['system', 'user', 'ephemeral', 'suspend', 'crashdump'];

function attrs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]!] = m[2] ?? m[3] ?? '';
  return out;
}

/** The disks of a provisioning document; INVALID_VALUE when it is not one. */
export function parseProvisionXml(xml: string): ProvisionDisk[] {
  const body = /^\s*(?:<\?xml[^>]*\?>\s*)?<provision\s*>([\s\S]*)<\/provision>\s*$/.exec(xml) ?? /^\s*<provision\s*\/>\s*$/.exec(xml);
  if (!body) throw new ApiError('INVALID_VALUE', ['other_config:disks', xml]);
  const disks: ProvisionDisk[] = [];
  for (const m of (body[1] ?? '').matchAll(/<disk\b([^>]*?)\/?>/g)) {
    const a = attrs(m[1]!);
    const size = Number(a.size);
    if (a.device === undefined || !Number.isSafeInteger(size) || a.sr === undefined || a.bootable === undefined) {
      throw new ApiError('INVALID_VALUE', ['other_config:disks', m[0]]);
    }
    disks.push({ device: a.device, size, sr: a.sr, bootable: a.bootable === 'true', type: VDI_TYPES.includes(a.type ?? '') ? a.type! : 'system' });
  }
  return disks;
}

function srFor(ctx: ActionContext, uuid: string): Ref<'SR'> {
  if (uuid !== '') {
    const ref = ctx.db.refByUuid('SR', uuid);
    if (!ref) throw new ApiError('UUID_INVALID', ['sr', uuid]);
    return ref;
  }
  const dflt = ctx.db.all('pool')[0]?.[1].default_SR;
  if (!dflt || isNullRef(dflt) || !ctx.db.get('SR', dflt)) throw new ApiError('UUID_INVALID', ['sr', uuid]);
  return dflt;
}

export async function provisionVm(ctx: ActionContext, vmRef: Ref<'VM'>): Promise<void> {
  const vm = mustRow(ctx, 'VM', vmRef);
  if (vm.is_a_template !== true) throw new ApiError('PROVISION_ONLY_ALLOWED_ON_TEMPLATE', []);
  if (vm.power_state !== 'Halted') throw new ApiError('VM_BAD_POWER_STATE', [vmRef, 'halted', String(vm.power_state).toLowerCase()]);
  ctx.db.update('VM', vmRef, { is_a_template: false });
  const oc = vm.other_config;
  if (oc.disks === undefined) {
    addEmptyCdDrive(ctx, vmRef);
    return;
  }
  const disks = parseProvisionXml(oc.disks);
  const made: Ref<'VDI'>[] = [];
  try {
    for (const [i, d] of disks.entries()) {
      const vdi = await createVdi(ctx, {
        SR: srFor(ctx, d.sr), virtual_size: d.size, name_label: `${String(vm.name_label)} ${d.device}`,
        name_description: 'Created by template provisioner', type: d.type,
        sm_config: { vmhint: String(vm.uuid) },
      });
      made.push(vdi);
      createVbd(ctx, {
        VM: vmRef, VDI: vdi, userdevice: d.device, bootable: d.bootable, mode: 'RW', type: 'Disk',
        unpluggable: d.type !== 'system', empty: false, other_config: { owner: '' },
      });
      ctx.task?.setProgress((i + 1) / disks.length);
    }
  } catch (e) {
    for (const v of made) await destroyVdi(ctx, v).catch(() => undefined);
    throw e;
  }
  const rest = { ...mustRow(ctx, 'VM', vmRef).other_config };
  delete rest.disks;
  ctx.db.update('VM', vmRef, { other_config: rest });
  addEmptyCdDrive(ctx, vmRef);
}

/**
 * An installed VM gets an empty CD drive, as XenServer's installer gives it one for the
 * install media: slot 3 when free (else the lowest free slot), read-only, unless the VM
 * has a CD drive already.
 */
export function addEmptyCdDrive(ctx: ActionContext, vmRef: Ref<'VM'>): void {
  const vbds = (mustRow(ctx, 'VM', vmRef).VBDs).map((v) => ctx.db.get('VBD', v)).filter((r) => r !== undefined);
  if (vbds.some((r) => r.type === 'CD')) return;
  const slot3Used = vbds.some((r) => String(r.userdevice) === '3');
  createVbd(ctx, {
    VM: vmRef, VDI: NULL_REF, userdevice: slot3Used ? 'autodetect' : '3', bootable: false, mode: 'RO', type: 'CD',
    unpluggable: true, empty: true, other_config: {},
  });
}
