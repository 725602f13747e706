/**
 * @module
 * The management interface and `host.address`. On XenServer the host's address is its
 * management interface's IP, and moving management (`host.management_reconfigure`) or
 * re-addressing that interface (`PIF.reconfigure_ip`) changes it. In Islet the address is
 * also how the rest of the pool and every client reach the host, and the simulated hosts
 * cannot take on an address their listener does not serve. So the model is: the PIF
 * records whatever valid configuration it is given; the management interface may only
 * take an address the host's API listener really accepts connections on (else
 * PIF_CONFIGURATION_ERROR, nothing changed), and `host.address` then follows it, as on
 * XenServer. DHCP cannot run here (no packets); on the management interface it keeps the
 * address the host is served at, elsewhere it leaves the interface without an address.
 *
 * Work on another host's management is sent to that host: only it knows what it listens on.
 * Once it has accepted, the master records the change too.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { RecordOf } from '../../core/record-of.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { ipConfigOf, ipConfigOfRow, type IpConfig } from './ip-config.js';

/**
 * For a PIF of another host: sends the same call to that host, which checks what only it
 * knows (the addresses it serves at) and fails if it must. Returns true when it did; the
 * caller then records the change itself, so the master's database has it when the call
 * returns (a member's own writes reach the master a moment later, with the same values).
 */
export async function sentToPifHost(ctx: ActionContext, pif: Pick<RecordOf<'PIF'>, 'host'>, method: string, params: readonly unknown[]): Promise<boolean> {
  const host = pif.host;
  if (host === ctx.services.hostRef) return false;
  const link = ctx.services.pool;
  if (!link) throw new ApiError('HOST_OFFLINE', [host]);
  await link.callOnHost(host, method, params);
  return true;
}

function assertServedAt(ctx: ActionContext, pif: Ref<'PIF'>, ip: string): void {
  const served = ctx.services.listensOn?.(ip) ?? ip === String(ctx.db.get('host', ctx.services.hostRef)?.address ?? '');
  if (!served) {
    throw new ApiError('PIF_CONFIGURATION_ERROR', [pif,
      `this host does not accept connections at ${ip}; its management address must be one it serves the API on`]);
  }
}

function assertNotBondMember(pif: Ref<'PIF'>, row: RecordOf<'PIF'>): void {
  if (!isNullRef(row.bond_slave_of as string | undefined)) throw new ApiError('PIF_ALREADY_BONDED', [pif]);
}

/** `PIF.reconfigure_ip`. */
export async function reconfigureIp(ctx: ActionContext, pif: Ref<'PIF'>, mode: string, ip: string, netmask: string, gateway: string, dns: string): Promise<void> {
  const row = mustRow(ctx, 'PIF', pif);
  assertNotBondMember(pif, row);
  let cfg: IpConfig = ipConfigOf(mode, ip, netmask, gateway, dns);
  if (row.management !== true) {
    ctx.db.update('PIF', pif, { ...cfg });
    return;
  }
  if (cfg.ip_configuration_mode === 'None') throw new ApiError('PIF_IS_MANAGEMENT_INTERFACE', [pif]);
  const checkedThere = await sentToPifHost(ctx, row, 'PIF.reconfigure_ip', [pif, mode, ip, netmask, gateway, dns]);
  if (cfg.ip_configuration_mode === 'DHCP') {
    const now = ipConfigOfRow(row);
    cfg = { ...cfg, IP: now.IP, netmask: now.netmask, gateway: now.gateway, DNS: now.DNS };
  } else if (!checkedThere) {
    assertServedAt(ctx, pif, cfg.IP);
  }
  ctx.db.transaction(() => {
    ctx.db.update('PIF', pif, { ...cfg });
    if (cfg.IP) ctx.db.update('host', row.host, { address: cfg.IP });
  });
}

/** `host.management_reconfigure`: the host is managed through `pif` from now on. */
export async function managementReconfigure(ctx: ActionContext, pif: Ref<'PIF'>): Promise<void> {
  const row = mustRow(ctx, 'PIF', pif);
  assertNotBondMember(pif, row);
  const ip = String(row.IP ?? '');
  if (row.ip_configuration_mode === 'None' || ip === '') throw new ApiError('PIF_HAS_NO_NETWORK_CONFIGURATION', [pif]);
  if (!(await sentToPifHost(ctx, row, 'host.management_reconfigure', [pif]))) assertServedAt(ctx, pif, ip);
  const host = row.host;
  ctx.db.transaction(() => {
    for (const [ref, r] of ctx.db.all('PIF')) {
      if (r.host === host && ref !== pif && r.management === true) ctx.db.update('PIF', ref, { management: false });
    }
    ctx.db.update('PIF', pif, { management: true, currently_attached: true });
    ctx.db.update('host', host, { address: ip });
  });
}
