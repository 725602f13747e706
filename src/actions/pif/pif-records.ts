/**
 * @module
 * The PIF calls that touch only the pool database, never an interface of a host, as
 * xapi's do: `db_introduce` writes a record as given (not yet attached, in no bond),
 * `db_forget` deletes one whatever refers to it, `set_disallow_unplug` records whether
 * `PIF.unplug` must refuse. Clustering, which could forbid clearing that flag on XenServer,
 * is not offered here.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionsOf, MessageArgs } from '../../core/actions-of.js';
import type { ActionContext } from '../../core/action-context.js';
import { NULL_REF, isNullRef, newRef, newUuid, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';

function dbIntroduce(ctx: ActionContext, a: MessageArgs<'PIF', 'db_introduce'>): Ref<'PIF'> {
  mustRow(ctx, 'host', a.host);
  mustRow(ctx, 'network', a.network);
  if (!isNullRef(a.VLAN_master_of)) mustRow(ctx, 'VLAN', a.VLAN_master_of);
  const ref = newRef<'PIF'>();
  ctx.db.create('PIF', ref, {
    uuid: newUuid(), device: a.device, network: a.network, host: a.host, MAC: a.MAC, MTU: a.MTU, VLAN: a.VLAN,
    physical: a.physical, currently_attached: false, ip_configuration_mode: a.ip_configuration_mode, IP: a.IP,
    netmask: a.netmask, gateway: a.gateway, DNS: a.DNS, bond_slave_of: NULL_REF, VLAN_master_of: a.VLAN_master_of,
    management: a.management, other_config: { ...a.other_config }, disallow_unplug: a.disallow_unplug,
    ipv6_configuration_mode: a.ipv6_configuration_mode, IPv6: [...a.IPv6], ipv6_gateway: a.ipv6_gateway,
    primary_address_type: a.primary_address_type, managed: a.managed, properties: { ...a.properties },
  });
  return ref;
}

export const pifRecordActions = {
  db_introduce: (ctx, a) => dbIntroduce(ctx, a),
  db_forget: (ctx, a) => {
    mustRow(ctx, 'PIF', a.self);
    ctx.db.remove('PIF', a.self);
    return '';
  },
  set_disallow_unplug: (ctx, a) => {
    const row = mustRow(ctx, 'PIF', a.self);
    if (row.disallow_unplug !== a.value) ctx.db.update('PIF', a.self, { disallow_unplug: a.value });
    return '';
  },
} satisfies ActionsOf<'PIF'>;
