/**
 * @module
 * PBD: a host's connection to an SR. Plugging attaches the SR through the host's storage
 * driver (which checks that the device config reaches the SR the record names, by the
 * storage's own identity) and then rescans it, so records found on the storage appear and
 * space figures are true; unplugging detaches it once no disk of it is in use. Work for
 * another host's PBD is sent to that host.
 */
import { ApiError } from '../../core/api-error.js';
import type { PatchOf } from '../../core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import type { RecordOf } from '../../core/record-of.js';
import { gcInProgress, withSrLock } from '../sr/sr-jobs.js';
import { mustRow, storageCall, storageOf } from '../common/storage-access.js';
import { resolveSecrets } from '../secret/index.js';
import { resync } from '../vdi/vdi-ops.js';
import type { ActionsOf } from '../../core/actions-of.js';

/** True when the call was sent to the PBD's own host (which then did the work). */
async function forwarded(ctx: ActionContext, pbd: RecordOf<'PBD'>, method: string, ref: Ref<'PBD'>): Promise<boolean> {
  if (pbd.host === ctx.services.hostRef) return false;
  const link = ctx.services.pool;
  if (!link) throw new ApiError('HOST_OFFLINE', [String(pbd.host)]);
  await link.callOnHost(pbd.host, method, [ref]);
  return true;
}

export async function plugPbd(ctx: ActionContext, ref: Ref<'PBD'>): Promise<void> {
  const pbd = mustRow(ctx, 'PBD', ref);
  if (await forwarded(ctx, pbd, 'PBD.plug', ref)) return;
  const srRef = pbd.SR;
  const sr = mustRow(ctx, 'SR', srRef);
  const storage = storageOf(ctx);
  const type = String(sr.type);
  if (!storage.driver(type)) throw new ApiError('SR_UNKNOWN_DRIVER', [type]);
  const uuid = String(sr.uuid);
  const attached = await storageCall(() => storage.plug(uuid, type, resolveSecrets(ctx, pbd.device_config), sr.sm_config ?? {}));
  ctx.db.update('PBD', ref, { currently_attached: true });
  await withSrLock(ctx.services, uuid, () => storageCall(() => resync(ctx, srRef, attached)));
}

export async function unplugPbd(ctx: ActionContext, ref: Ref<'PBD'>): Promise<void> {
  const pbd = mustRow(ctx, 'PBD', ref);
  if (await forwarded(ctx, pbd, 'PBD.unplug', ref)) return;
  const srRef = pbd.SR;
  const sr = mustRow(ctx, 'SR', srRef);
  for (const vdi of sr.VDIs) {
    const vbds = ctx.db.get('VDI', vdi)?.VBDs ?? [];
    if (vbds.some((v) => ctx.db.get('VBD', v)?.currently_attached === true)) throw new ApiError('VDI_IN_USE', [vdi, 'unplug']);
  }
  const uuid = String(sr.uuid);
  await gcInProgress(ctx.services, uuid)?.catch(() => undefined);
  await withSrLock(ctx.services, uuid, () => storageCall(() => storageOf(ctx).unplug(uuid)));
  if (ctx.db.get('PBD', ref)) ctx.db.update('PBD', ref, { currently_attached: false });
}

/** Makes a PBD record (not plugged); one per host and SR. */
export function createPbd(ctx: ActionContext, r: PatchOf<'PBD'>): Ref<'PBD'> {
  mustRow(ctx, 'SR', r.SR);
  mustRow(ctx, 'host', r.host);
  const dup = ctx.db.all('PBD').find(([, p]) => p.SR === r.SR && p.host === r.host);
  if (dup) throw new ApiError('PBD_EXISTS', [String(r.SR), String(r.host), dup[0]]);
  const ref = newRef<'PBD'>();
  ctx.db.create('PBD', ref, {
    uuid: newUuid(), SR: r.SR, host: r.host,
    device_config: r.device_config ?? {}, other_config: r.other_config ?? {}, currently_attached: false,
  });
  return ref;
}

export const pbdActions = {
  create: (ctx, a) => createPbd(ctx, a.args ?? {}),
  destroy: (ctx, a) => {
    const pbd = mustRow(ctx, 'PBD', a.self);
    if (pbd.currently_attached === true) throw new ApiError('OPERATION_NOT_ALLOWED', ['PBD is currently attached']);
    ctx.db.remove('PBD', a.self);
    return '';
  },
  plug: async (ctx, a) => {
    await plugPbd(ctx, a.self);
    return '';
  },
  unplug: async (ctx, a) => {
    await unplugPbd(ctx, a.self);
    return '';
  },
  set_device_config: (ctx, a) => {
    mustRow(ctx, 'PBD', a.self);
    ctx.db.update('PBD', a.self, { device_config: a.value });
    return '';
  },
} satisfies ActionsOf<'PBD'>;
