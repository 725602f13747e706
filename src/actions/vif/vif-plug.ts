/**
 * @module
 * Hot-plugging a VM's network interfaces, as xapi allows it: only while the VM runs, never
 * twice (DEVICE_ALREADY_ATTACHED / DEVICE_ALREADY_DETACHED), never on the control
 * domain's interfaces (which belong to the host). The card is plugged into or pulled from
 * the VM's domain on the host that runs it, and `currently_attached` records what the
 * domain then holds. `move` joins the interface to another network, re-plugging the card
 * if the VM is running so the guest keeps its interface.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { RecordOf } from '../../core/record-of.js';
import type { Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { domainsOn } from '../host/host-domains.js';
import { nicOf, recordNics } from './vif-devices.js';

interface Plugging {
  readonly vif: Ref<'VIF'>;
  readonly row: RecordOf<'VIF'>;
  readonly vm: Ref<'VM'>;
  readonly vmRow: RecordOf<'VM'>;
}

function lookup(ctx: ActionContext, vif: Ref<'VIF'>): Plugging {
  const row = mustRow(ctx, 'VIF', vif);
  const vm = row.VM;
  return { vif, row, vm, vmRow: mustRow(ctx, 'VM', vm) };
}

/** The checks xapi makes before touching the domain, in its order. */
function assertPluggable(p: Plugging, want: 'plug' | 'unplug'): void {
  if (p.vmRow.is_control_domain === true) {
    throw new ApiError('OPERATION_NOT_ALLOWED', ['The control domain\'s interfaces belong to its host and cannot be hot-plugged']);
  }
  const power = String(p.vmRow.power_state ?? 'Halted');
  if (power !== 'Running') throw new ApiError('VM_BAD_POWER_STATE', [p.vm, 'running', power.toLowerCase()]);
  if (want === 'plug' && p.row.currently_attached === true) throw new ApiError('DEVICE_ALREADY_ATTACHED', [p.vif]);
  if (want === 'unplug' && p.row.currently_attached !== true) throw new ApiError('DEVICE_ALREADY_DETACHED', [p.vif]);
}

async function plug(ctx: ActionContext, vif: Ref<'VIF'>): Promise<string> {
  const p = lookup(ctx, vif);
  assertPluggable(p, 'plug');
  const host = p.vmRow.resident_on;
  const d = await mapHypervisorErrors({ vm: p.vm, host, device: vif }, () =>
    domainsOn(ctx, host).plugNic(String(p.vmRow.uuid), nicOf(ctx.db, p.row)));
  recordNics(ctx.db, p.vm, d);
  return '';
}

async function unplug(ctx: ActionContext, vif: Ref<'VIF'>, force: boolean): Promise<string> {
  const p = lookup(ctx, vif);
  assertPluggable(p, 'unplug');
  const host = p.vmRow.resident_on;
  const d = await mapHypervisorErrors({ vm: p.vm, host, device: vif }, () =>
    domainsOn(ctx, host).unplugNic(String(p.vmRow.uuid), String(p.row.device), force));
  recordNics(ctx.db, p.vm, d);
  return '';
}

async function move(ctx: ActionContext, vif: Ref<'VIF'>, network: Ref<'network'>): Promise<string> {
  mustRow(ctx, 'network', network);
  const p = lookup(ctx, vif);
  if (p.row.currently_attached === true && p.vmRow.power_state === 'Running') {
    await unplug(ctx, vif, true);
    ctx.db.update('VIF', vif, { network });
    await plug(ctx, vif);
  } else {
    ctx.db.update('VIF', vif, { network });
  }
  return '';
}

/** VIF.destroy: an interface still plugged into a running guest must be unplugged first. */
export function assertVifRemovable(ctx: ActionContext, vif: Ref<'VIF'>): void {
  const p = lookup(ctx, vif);
  if (p.row.currently_attached === true && p.vmRow.power_state !== 'Halted') {
    throw new ApiError('OPERATION_NOT_ALLOWED', ['VIF is currently attached; unplug it first']);
  }
}

export const vifPlugActions = {
  plug: (ctx, a) => plug(ctx, a.self),
  unplug: (ctx, a) => unplug(ctx, a.self, false),
  unplug_force: (ctx, a) => unplug(ctx, a.self, true),
  move: (ctx, a) => move(ctx, a.self, a.network),
} satisfies ActionsOf<'VIF'>;
