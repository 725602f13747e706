/**
 * @module
 * The host messages about running VMs: enabling and disabling a host for new VMs, its
 * free memory and own overhead as its hypervisor reports them, evacuation, the host's
 * clock, and the two pool-internal calls behind domain work (`islet_hypervisor`: run a
 * hypervisor call here for the master; `islet_report_domains`: a host asks the master to
 * reconcile it with its hypervisor).
 */
import { ApiError } from '../../core/api-error.js';
import type { Ref } from '../../core/ref.js';
import { xapiDate } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { reconcileHost } from './domain-reconcile.js';
import { domainsOn } from './host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import type { ActionsOf } from '../../core/actions-of.js';

function getHost(ctx: ActionContext, host: Ref<'host'>) {
  const row = ctx.db.get('host', host);
  if (!row) throw new ApiError('HANDLE_INVALID', ['host', host]);
  return row;
}

function setEnabled(ctx: ActionContext, host: Ref<'host'>, enabled: boolean): string {
  if (getHost(ctx, host).enabled !== enabled) ctx.db.update('host', host, { enabled });
  return '';
}

/** Local time as XenAPI's datetime spelling without the UTC mark. */
function localXapiDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const hostVmActions = {
  disable: (ctx, a) => setEnabled(ctx, a.host, false),
  enable: (ctx, a) => setEnabled(ctx, a.host, true),
  compute_free_memory: async (ctx, a) => {
    const host = a.host;
    getHost(ctx, host);
    return (await mapHypervisorErrors({ host }, () => domainsOn(ctx, host).info())).memoryFree;
  },
  compute_memory_overhead: async (ctx, a) => {
    const host = a.host;
    getHost(ctx, host);
    const dom = domainsOn(ctx, host);
    const [info, list] = await mapHypervisorErrors({ host }, () => Promise.all([dom.info(), dom.list()]));
    const used = list.reduce((n, d) => n + d.memory + (info.memoryOverheadPerDomain ?? 0), 0);
    return Math.max(0, info.memoryTotal - info.memoryFree - used);
  },
  get_servertime: (ctx) => xapiDate(ctx.services.now()),
  get_server_localtime: (ctx) => localXapiDate(ctx.services.now()),
  islet_report_domains: async (ctx, a) => {
    const host = a.host;
    getHost(ctx, host);
    await reconcileHost(ctx, host, !!a.hypervisor_gone);
    return '';
  },
} satisfies ActionsOf<'host'>;
