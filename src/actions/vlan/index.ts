/**
 * @module
 * VLAN: one tag's traffic on a host interface, given a PIF of its own (device and MAC of
 * the tagged interface, `VLAN` = the tag, not physical, no address yet) on the network
 * named. Checks follow xapi: the tag must be 0..4094, the tagged interface must be a
 * physical one or a bond's master (not a VLAN, not a bond member), a tag is used once per
 * interface, and a network has at most one PIF per host. The simulated hosts carry no
 * packets: the records are all there is.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Row } from '../../core/ports/pool-db.js';
import { isNullRef, newRef, newUuid, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';

export function assertVlanTag(tag: unknown): number {
  const n = Number(tag);
  if (!Number.isInteger(n) || n < 0 || n > 4094) throw new ApiError('VLAN_TAG_INVALID', [String(tag)]);
  return n;
}

/** A network may have one PIF on each host. */
export function assertNetworkFreeOnHost(ctx: ActionContext, network: Ref<'network'>, host: unknown): void {
  const taken = ctx.db.all('PIF').find(([, r]) => r.network === network && r.host === host);
  if (taken) throw new ApiError('NETWORK_ALREADY_CONNECTED', [network, taken[0]]);
}

function assertTaggable(ctx: ActionContext, pif: Ref<'PIF'>, row: Row, tag: number): void {
  if (Number(row.VLAN ?? -1) !== -1 || !isNullRef(row.VLAN_master_of as string | undefined)) throw new ApiError('PIF_IS_VLAN', [pif]);
  if (!isNullRef(row.bond_slave_of as string | undefined)) throw new ApiError('CANNOT_ADD_VLAN_TO_BOND_SLAVE', [pif]);
  for (const [, v] of ctx.db.all('VLAN')) {
    if (v.tagged_PIF === pif && Number(v.tag) === tag) throw new ApiError('PIF_VLAN_EXISTS', [String(v.untagged_PIF)]);
  }
}

export function createVlan(ctx: ActionContext, taggedPif: Ref<'PIF'>, tagArg: unknown, network: Ref<'network'>): Ref<'VLAN'> {
  const tag = assertVlanTag(tagArg);
  const tagged = mustRow(ctx, 'PIF', taggedPif);
  const net = mustRow(ctx, 'network', network);
  assertTaggable(ctx, taggedPif, tagged, tag);
  assertNetworkFreeOnHost(ctx, network, tagged.host);
  const vlan = newRef<'VLAN'>();
  const untagged = newRef<'PIF'>();
  ctx.db.transaction(() => {
    ctx.db.create('PIF', untagged, {
      uuid: newUuid(), device: tagged.device, network, host: tagged.host, MAC: tagged.MAC, MTU: Number(net.MTU ?? 1500) || 1500,
      VLAN: tag, physical: false, currently_attached: tagged.currently_attached === true, ip_configuration_mode: 'None',
      IP: '', netmask: '', gateway: '', DNS: '', management: false, other_config: {}, managed: true,
      primary_address_type: 'IPv4', ipv6_configuration_mode: 'None', VLAN_master_of: vlan,
    });
    ctx.db.create('VLAN', vlan, { uuid: newUuid(), tagged_PIF: taggedPif, untagged_PIF: untagged, tag, other_config: {} });
  });
  return vlan;
}

export function destroyVlan(ctx: ActionContext, vlan: Ref<'VLAN'>): void {
  const row = mustRow(ctx, 'VLAN', vlan);
  const untagged = row.untagged_PIF;
  const pif = isNullRef(untagged) ? undefined : ctx.db.get('PIF', untagged);
  if (pif?.management === true) throw new ApiError('PIF_IS_MANAGEMENT_INTERFACE', [untagged]);
  ctx.db.transaction(() => {
    if (pif) ctx.db.remove('PIF', untagged);
    ctx.db.remove('VLAN', vlan);
  });
}

export const vlanActions = {
  create: (ctx, a) => createVlan(ctx, a.tagged_PIF, a.tag, a.network),
  destroy: (ctx, a) => {
    destroyVlan(ctx, a.self);
    return '';
  },
} satisfies ActionsOf<'VLAN'>;
