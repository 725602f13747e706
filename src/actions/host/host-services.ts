/**
 * @module
 * The host calls of services a pool here does not have set up, answered as a XenServer
 * 6.0.2 host without them answers: external authentication (no directory plugin is
 * installed, so every auth_type is AUTH_UNKNOWN_TYPE, after xapi's check that none is
 * enabled already; disabling what is not enabled succeeds), and workload balancing advice
 * (WLB_NOT_INITIALIZED until pool.initialize_wlb has recorded a server, WLB_DISABLED while
 * it is switched off).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { thePool } from './on-host.js';

/** xapi's order: a server recorded, then switched on. */
export function assertWlbEnabled(ctx: ActionContext): void {
  const [, pool] = thePool(ctx);
  if (!pool.wlb_url) throw new ApiError('WLB_NOT_INITIALIZED', []);
  if (pool.wlb_enabled !== true) throw new ApiError('WLB_DISABLED', []);
}

/** host.enable_external_auth's checks and refusal, for the pool's loop too. */
export function enableExternalAuthOn(ctx: ActionContext, host: Ref<'host'>, authType: string): never {
  const row = mustRow(ctx, 'host', host);
  const current = String(row.external_auth_type ?? '');
  if (current !== '') throw new ApiError('AUTH_ALREADY_ENABLED', [current, String(row.external_auth_service_name ?? '')]);
  // No authentication plugin (AD or other) is installed on these hosts.
  throw new ApiError('AUTH_UNKNOWN_TYPE', [authType]);
}

export const hostServiceActions = {
  enable_external_auth: (ctx, a) => enableExternalAuthOn(ctx, a.host, a.auth_type),
  // Nothing can be enabled (see above), and xapi treats disabling a disabled host as done.
  disable_external_auth: (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    return '';
  },
  retrieve_wlb_evacuate_recommendations: (ctx, a) => {
    mustRow(ctx, 'host', a.self);
    assertWlbEnabled(ctx);
    // A server recorded and on: it would be asked here. initialize_wlb records none it cannot reach.
    throw new ApiError('WLB_CONNECTION_REFUSED', []);
  },
} satisfies ActionsOf<'host'>;
