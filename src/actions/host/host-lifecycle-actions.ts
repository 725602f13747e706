/**
 * @module
 * host: the calls that stop and start a host's processes (restart_agent, reboot,
 * shutdown). The master checks the preconditions (reboot and shutdown
 * need the host disabled: HOST_NOT_DISABLED) and forwards the call to the host concerned,
 * which asks its supervisor; a host going down is marked not live at once rather than
 * after its heartbeats stop.
 */
import { ApiError } from '../../core/api-error.js';
import type { Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import type { LifecycleAction } from '../../core/ports/pool-membership.js';
import { membershipOf } from '../pool/pool-actions.js';
import type { ActionsOf } from '../../core/actions-of.js';

async function lifecycle(ctx: ActionContext, host: Ref<'host'>, action: LifecycleAction, needsDisabled: boolean): Promise<string> {
  const row = ctx.db.get('host', host);
  if (!row) throw new ApiError('HANDLE_INVALID', ['host', host]);
  const pool = membershipOf(ctx);
  const fromPool = ctx.session?.internal === true;
  // A forwarded call was checked by the master; this host's replica may lag behind it.
  if (needsDisabled && !fromPool && row.enabled !== false) throw new ApiError('HOST_NOT_DISABLED', []);
  if (host !== ctx.services.hostRef) {
    await ctx.services.pool!.callOnHost(host, `host.${action === 'restart-agent' ? 'restart_agent' : action}`, [host]);
    if (action !== 'restart-agent') pool.markDead(host);
    return '';
  }
  await pool.requestLifecycle(action);
  return '';
}

export const hostLifecycleActions = {
  restart_agent: (ctx, a) => lifecycle(ctx, a.host, 'restart-agent', false),
  reboot: (ctx, a) => lifecycle(ctx, a.host, 'reboot', true),
  shutdown: (ctx, a) => lifecycle(ctx, a.host, 'shutdown', true),
} satisfies ActionsOf<'host'>;
