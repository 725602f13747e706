/**
 * @module
 * `host.islet_log_set_output`, `islet_log_get_keys` and `islet_log_reopen`: the toolstack's
 * logging as `xe log-set-output`, `log-get-keys` and `log-reopen` steer it. xapi answers
 * these inside its CLI server; here they are XenAPI calls, answered by the toolstack of the
 * host named (the pool link carries a call for another host to it), so that xe stays a
 * XenAPI client. What a client may name as an output is checked behind the LogControl port.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { LogControl } from '../../core/ports/log-control.js';
import type { Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';

/** This toolstack's log control when `host` is this host; otherwise undefined (forward). */
function local(ctx: ActionContext, host: Ref<'host'>): LogControl | undefined {
  mustRow(ctx, 'host', host);
  if (host !== ctx.services.hostRef) {
    if (!ctx.services.pool) throw new ApiError('HOST_OFFLINE', [host]);
    return undefined;
  }
  const control = ctx.services.logControl;
  if (!control) throw new ApiError('VALUE_NOT_SUPPORTED', ['host', host, 'this toolstack does not route its log']);
  return control;
}

export const hostLoggingActions = {
  islet_log_set_output: async (ctx, a) => {
    const control = local(ctx, a.host);
    if (!control) {
      await ctx.services.pool!.callOnHost(a.host, 'host.islet_log_set_output', [a.host, a.output, a.key, a.level]);
      return;
    }
    await control.setOutput(a.output, a.key || undefined, a.level || undefined);
  },
  islet_log_get_keys: async (ctx, a) => {
    const control = local(ctx, a.host);
    if (!control) return (await ctx.services.pool!.callOnHost(a.host, 'host.islet_log_get_keys', [a.host])) as string[];
    return control.keys();
  },
  islet_log_reopen: async (ctx, a) => {
    const control = local(ctx, a.host);
    if (!control) {
      await ctx.services.pool!.callOnHost(a.host, 'host.islet_log_reopen', [a.host]);
      return;
    }
    await control.reopen();
  },
} satisfies ActionsOf<'host'>;
