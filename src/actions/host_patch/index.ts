/**
 * @module
 * `host_patch`: applying the hotfix a record names on the record's host (the same as
 * `pool_patch.apply`), and forgetting a record that no longer reflects the host (the
 * marker on the host's disk wins again at its next resynchronisation).
 */
import { ApiError } from '../../core/api-error.js';
import { apply } from '../../updates/patch-service.js';
import { updateEnv } from '../../updates/update-env.js';
import { refreshUpdateState } from '../../updates/update-state.js';
import type { ActionsOf } from '../../core/actions-of.js';

export const hostPatchActions = {
  apply: (ctx, a) => {
    const hp = ctx.db.get('host_patch', a.self);
    if (!hp) throw new ApiError('HANDLE_INVALID', ['host_patch', String(a.self)]);
    return apply(updateEnv(ctx.services), 'patch', String(hp.pool_patch), hp.host);
  },
  destroy: (ctx, a) => {
    if (!ctx.db.get('host_patch', a.self)) throw new ApiError('HANDLE_INVALID', ['host_patch', String(a.self)]);
    ctx.db.remove('host_patch', a.self);
    refreshUpdateState(ctx.db);
  },
} satisfies ActionsOf<'host_patch'>;
