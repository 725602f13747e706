/**
 * @module
 * pool.enable_ha / disable_ha. HA needs a daemon on every host that heartbeats through a
 * shared state file and fences hosts that lose it; Islet ships none, so enabling HA is
 * refused as XenServer refuses it on a host without the HA software (HA_NOT_INSTALLED),
 * after the same argument checks (HA already on, heartbeat SRs that are not shared).
 * Disabling HA that is off fails with HA_NOT_ENABLED, which is what rolling-update clients
 * see if they skip their own `ha_enabled` check.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import { mustRow } from '../common/storage-access.js';
import type { ActionsOf } from '../../core/actions-of.js';


function thePool(ctx: ActionContext) {
  const first = ctx.db.all('pool')[0];
  if (!first) throw new ApiError('INTERNAL_ERROR', ['the pool record is missing']);
  return first;
}

export const poolHaActions = {
  enable_ha: (ctx, a) => {
    const [, pool] = thePool(ctx);
    if (pool.ha_enabled === true) throw new ApiError('HA_IS_ENABLED', []);
    for (const sr of a.heartbeat_srs ?? []) {
      if (mustRow(ctx, 'SR', sr).shared !== true) throw new ApiError('HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED', [sr]);
    }
    throw new ApiError('HA_NOT_INSTALLED', [String(pool.master)]);
  },
  disable_ha: (ctx) => {
    const [ref, pool] = thePool(ctx);
    if (pool.ha_enabled !== true) throw new ApiError('HA_NOT_ENABLED', []);
    ctx.db.update('pool', ref, { ha_enabled: false, ha_statefiles: [], ha_configuration: {}, ha_plan_exists_for: 0 });
    return '';
  },
} satisfies ActionsOf<'pool'>;
