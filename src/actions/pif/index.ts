/**
 * @module
 * PIF: a host's network interfaces. `reconfigure_ip` and the management interface are in
 * `pif-management.ts`; plugging records the interface up or down (the simulated hosts
 * carry no packets, so nothing else changes), refusing what xapi refuses: bond members,
 * the management interface, an interface whose network has running VIFs on the host.
 * `scan` makes PIFs for the host's configured network cards that have none, `introduce`
 * one for a given card (on that host, which knows its cards), and `forget` removes a PIF
 * record that is neither the management interface, a bond's, nor under a VLAN. The calls
 * that write only the database (`db_introduce`, `db_forget`, `set_disallow_unplug`) are in
 * `pif-records.ts`.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { ensureNicPifs, hasNicPif, hostNics, makeNicPif } from '../network/host-networks.js';
import { reconfigureIp, sentToPifHost } from './pif-management.js';
import { pifRecordActions } from './pif-records.js';
import { joinActions } from '../../core/actions-of.js';

function plug(ctx: ActionContext, pif: Ref<'PIF'>): string {
  const row = mustRow(ctx, 'PIF', pif);
  if (!isNullRef(row.bond_slave_of as string | undefined)) throw new ApiError('CANNOT_PLUG_BOND_SLAVE', [pif]);
  if (row.currently_attached !== true) ctx.db.update('PIF', pif, { currently_attached: true });
  return '';
}

function unplug(ctx: ActionContext, pif: Ref<'PIF'>): string {
  const row = mustRow(ctx, 'PIF', pif);
  if (row.management === true) throw new ApiError('PIF_IS_MANAGEMENT_INTERFACE', [pif]);
  if (row.disallow_unplug === true) throw new ApiError('PIF_DOES_NOT_ALLOW_UNPLUG', [pif]);
  for (const [vif, v] of ctx.db.all('VIF')) {
    if (v.network !== row.network || v.currently_attached !== true) continue;
    if (ctx.db.get('VM', v.VM)?.resident_on === row.host) throw new ApiError('VIF_IN_USE', [String(row.network), vif]);
  }
  if (row.currently_attached !== false) ctx.db.update('PIF', pif, { currently_attached: false });
  return '';
}

async function scan(ctx: ActionContext, host: Ref<'host'>): Promise<string> {
  mustRow(ctx, 'host', host);
  // The host's cards are known there; the PIFs it makes reach this database by replication.
  if (await sentToPifHost(ctx, { host }, 'PIF.scan', [host])) return '';
  ensureNicPifs(ctx.services);
  return '';
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

async function introduce(ctx: ActionContext, host: Ref<'host'>, givenMac: string, device: string, managed: boolean): Promise<Ref<'PIF'>> {
  mustRow(ctx, 'host', host);
  const s = ctx.services;
  if (host !== s.hostRef) {
    if (!s.pool) throw new ApiError('HOST_OFFLINE', [host]);
    return (await s.pool.callOnHost(host, 'PIF.introduce', [host, givenMac, device, managed])) as Ref<'PIF'>;
  }
  const cards = hostNics(s);
  const mac = givenMac.toLowerCase() || (cards.get(device) ?? '');
  if (!MAC.test(mac)) throw new ApiError('MAC_INVALID', [mac]);
  if (hasNicPif(s, device)) throw new ApiError('DUPLICATE_PIF_DEVICE_NAME', [device]);
  if (cards.get(device) !== mac) throw new ApiError('COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS', [device, mac]);
  return makeNicPif(s, device, mac, managed);
}

function forget(ctx: ActionContext, pif: Ref<'PIF'>): string {
  const row = mustRow(ctx, 'PIF', pif);
  if (row.management === true) throw new ApiError('PIF_IS_MANAGEMENT_INTERFACE', [pif]);
  if (!isNullRef(row.bond_slave_of as string | undefined) || (row.bond_master_of ?? []).length > 0) throw new ApiError('PIF_ALREADY_BONDED', [pif]);
  if ((row.VLAN_slave_of ?? []).length > 0 || Number(row.VLAN ?? -1) !== -1) throw new ApiError('PIF_VLAN_STILL_EXISTS', [pif]);
  ctx.db.remove('PIF', pif);
  return '';
}

const pifInterfaceActions = {
  introduce: (ctx, a) => introduce(ctx, a.host, a.MAC, a.device, a.managed),
  forget: (ctx, a) => forget(ctx, a.self),
  reconfigure_ip: async (ctx, a) => {
    await reconfigureIp(ctx, a.self, a.mode, a.IP, a.netmask, a.gateway, a.DNS);
    return '';
  },
  plug: (ctx, a) => plug(ctx, a.self),
  unplug: (ctx, a) => unplug(ctx, a.self),
  scan: (ctx, a) => scan(ctx, a.host),
} satisfies ActionsOf<'PIF'>;

export const pifActions = joinActions('PIF', pifInterfaceActions, pifRecordActions);
