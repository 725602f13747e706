/**
 * @module
 * PIF: a host's network interfaces. `reconfigure_ip` and the management interface are in
 * `pif-management.ts`; plugging records the interface up or down (the simulated hosts
 * carry no packets, so nothing else changes), refusing what xapi refuses: bond members,
 * the management interface, an interface whose network has running VIFs on the host.
 * `scan` makes PIFs for the host's configured network cards that have none.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { ensureNicPifs } from '../network/host-networks.js';
import { reconfigureIp, sentToPifHost } from './pif-management.js';

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

export const pifActions = {
  reconfigure_ip: async (ctx, a) => {
    await reconfigureIp(ctx, a.self, a.mode, a.IP, a.netmask, a.gateway, a.DNS);
    return '';
  },
  plug: (ctx, a) => plug(ctx, a.self),
  unplug: (ctx, a) => unplug(ctx, a.self),
  scan: (ctx, a) => scan(ctx, a.host),
} satisfies ActionsOf<'PIF'>;
