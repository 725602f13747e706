/**
 * @module
 * Running a host message on the host it names, as xapi's message forwarding does: the call
 * is answered here when it names this host, and carried by the pool link to that host
 * otherwise (where it arrives as the same message, naming itself).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';

/**
 * `local()` when `host` is this host, else the same message on that host. The host must
 * exist (HANDLE_INVALID); a host this one cannot reach is HOST_OFFLINE.
 */
export async function onHost<T>(ctx: ActionContext, host: Ref<'host'>, method: string, args: readonly unknown[], local: () => T | Promise<T>): Promise<T> {
  mustRow(ctx, 'host', host);
  if (host === ctx.services.hostRef) return local();
  if (!ctx.services.pool) throw new ApiError('HOST_OFFLINE', [host]);
  return (await ctx.services.pool.callOnHost(host, method, args)) as T;
}

/** The pool's one record. */
export function thePool(ctx: ActionContext) {
  const first = ctx.db.all('pool')[0];
  if (!first) throw new ApiError('INTERNAL_ERROR', ['the pool record is missing']);
  return first;
}

/** Whether this host is the pool's master (a host of its own is). */
export function isMaster(ctx: ActionContext): boolean {
  return !ctx.services.pool || ctx.services.pool.isMaster();
}
