/**
 * @module
 * Pool-wide VLANs (`pool.create_VLAN`, `pool.create_VLAN_from_PIF`): the same tag on the
 * same device of every host, each host's VLAN interface joining one network, as xapi makes
 * them. Every host is checked before any VLAN is made, so a refusal leaves nothing behind.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { assertNetworkFreeOnHost, assertVlanTag, createVlan } from '../vlan/index.js';

function createOnDevice(ctx: ActionContext, device: string, network: Ref<'network'>, tagArg: unknown): Ref<'PIF'>[] {
  const tag = assertVlanTag(tagArg);
  mustRow(ctx, 'network', network);
  const bases = ctx.db.all('PIF')
    .filter(([, r]) => r.device === device && Number(r.VLAN ?? -1) === -1 && isNullRef(r.bond_slave_of as string | undefined))
    .sort(([, a], [, b]) => String(a.host).localeCompare(String(b.host)));
  if (bases.length === 0) throw new ApiError('PIF_DEVICE_NOT_FOUND', []);
  for (const [, r] of bases) assertNetworkFreeOnHost(ctx, network, r.host);
  return bases.map(([pif]) => String(ctx.db.get('VLAN', createVlan(ctx, pif, tag, network))?.untagged_PIF));
}

export const poolVlanActions = {
  create_VLAN: (ctx, a) => createOnDevice(ctx, a.device, a.network, a.VLAN),
  create_VLAN_from_PIF: (ctx, a) => createOnDevice(ctx, String(mustRow(ctx, 'PIF', a.pif).device), a.network, a.VLAN),
} satisfies ActionsOf<'pool'>;
