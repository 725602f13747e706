/**
 * @module
 * The host queries and hooks clients call that a host here answers as a XenServer host
 * without the matching add-ons does: no API plugin is installed (`call_plugin` fails with
 * XENAPI_MISSING_PLUGIN, which is how Xen Orchestra tells a XenServer from an XCP-ng host
 * with its updater plugin), no extension is present, and remote power-on is off unless a
 * mode was configured. `list_methods` and `get_management_interface` come from the model.
 * `dmesg` reads the console ring of the host's own hypervisor and `get_log` its toolstack's
 * recent log (on that host, through the pool link), `get_server_certificate` the certificate
 * it serves (likewise); `destroy` forgets a dead host (the pool's membership does the work).
 */
import { ApiError } from '../../core/api-error.js';
import { allMessages } from '../../datamodel/implicit.js';
import { classes } from '../../datamodel/index.js';
import type { ActionArgs, ActionContext } from '../../core/action-context.js';
import { mustRow } from '../common/storage-access.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { membershipOf } from '../pool/pool-actions.js';
import { destroyBlobs, ownedBlobs } from '../blob/blob-records.js';
import { domainsOn } from './host-domains.js';

const hostOf = (ctx: ActionContext, a: ActionArgs) => {
  mustRow(ctx, 'host', a.host);
  return a.host;
};

export const hostExtraActions = {
  call_plugin: (ctx, a) => {
    hostOf(ctx, a);
    throw new ApiError('XENAPI_MISSING_PLUGIN', [String(a.plugin)]);
  },
  has_extension: (ctx, a) => {
    hostOf(ctx, a);
    return false;
  },
  list_methods: () => {
    const out: string[] = [];
    for (const c of classes) for (const m of allMessages(c)) if (!m.internal) out.push(`${c.name}.${m.name}`);
    return out;
  },
  get_management_interface: (ctx, a) => {
    const host = hostOf(ctx, a);
    const pif = ctx.db.all('PIF').find(([, r]) => r.host === host && r.management === true);
    if (!pif) throw new ApiError('HANDLE_INVALID', ['PIF', 'OpaqueRef:NULL']);
    return pif[0];
  },
  dmesg: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    const host = a.host;
    return mapHypervisorErrors({ host }, () => domainsOn(ctx, host).dmesg());
  },
  destroy: async (ctx, a) => {
    const blobs = ownedBlobs(mustRow(ctx, 'host', a.self));
    await membershipOf(ctx).forget(a.self);
    await destroyBlobs(ctx, blobs);
    return '';
  },
  // The recent log of that host's toolstack (its own, through the pool link, for a member).
  get_log: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    const s = ctx.services;
    if (a.host === s.hostRef) return s.recentLog?.() ?? '';
    if (!s.pool) throw new ApiError('HOST_OFFLINE', [a.host]);
    return String(await s.pool.callOnHost(a.host, 'host.get_log', [a.host]));
  },
  // The certificate that host serves (its own, through the pool link, for another host).
  get_server_certificate: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    const s = ctx.services;
    if (a.host === s.hostRef) {
      const pem = s.serverCertificate?.();
      if (!pem) throw new ApiError('INTERNAL_ERROR', ['this host serves no certificate yet']);
      return pem;
    }
    if (!s.pool) throw new ApiError('HOST_OFFLINE', [a.host]);
    return String(await s.pool.callOnHost(a.host, 'host.get_server_certificate', [a.host]));
  },
  power_on: (ctx, a) => {
    const host = hostOf(ctx, a);
    const row = mustRow(ctx, 'host', host);
    const metrics = ctx.db.get('host_metrics', row.metrics);
    if (metrics?.live === true) throw new ApiError('HOST_IS_LIVE', [host]);
    throw new ApiError('HOST_POWER_ON_MODE_DISABLED', []);
  },
} satisfies ActionsOf<'host'>;
