/**
 * @module
 * `pool_patch`: the legacy hotfix calls (precheck, apply, pool_apply, clean, pool_clean,
 * clean_on_host, destroy) over the shared update logic in src/updates/, raising the
 * PATCH_* errors; and the pool-internal `islet_host_*` calls through which the master has a
 * host do the disk side of an update (see src/updates/host-ops.ts).
 */
import { hostApply, hostClean, hostMarkers, hostPrecheck, type HostJob } from '../../updates/host-ops.js';
import { apply, cleanOnHost, destroy, poolApply, poolClean, precheck } from '../../updates/patch-service.js';
import { hostOpsEnv, updateEnv } from '../../updates/update-env.js';
import type { ActionsOf } from '../../core/actions-of.js';

const job = (a: Record<string, unknown>) => JSON.parse(String(a.job)) as HostJob;

export const poolPatchActions = {
  precheck: (ctx, a) => precheck(updateEnv(ctx.services), 'patch', String(a.self), a.host),
  apply: (ctx, a) => apply(updateEnv(ctx.services), 'patch', String(a.self), a.host),
  pool_apply: async (ctx, a) => {
    await poolApply(updateEnv(ctx.services), 'patch', String(a.self), (f) => ctx.task?.setProgress(f));
  },
  clean: async (ctx, a) => {
    await cleanOnHost(updateEnv(ctx.services), 'patch', String(a.self), ctx.services.hostRef);
  },
  clean_on_host: async (ctx, a) => {
    await cleanOnHost(updateEnv(ctx.services), 'patch', String(a.self), a.host);
  },
  pool_clean: async (ctx, a) => {
    await poolClean(updateEnv(ctx.services), 'patch', String(a.self));
  },
  destroy: async (ctx, a) => {
    await destroy(updateEnv(ctx.services), 'patch', String(a.self));
  },

  islet_host_precheck: (ctx, a) => hostPrecheck(hostOpsEnv(ctx.services), job(a)),
  islet_host_apply: async (ctx, a) => JSON.stringify(await hostApply(hostOpsEnv(ctx.services), job(a))),
  islet_host_clean: async (ctx, a) => {
    await hostClean(hostOpsEnv(ctx.services), job(a).uuid);
  },
  islet_host_applied: async (ctx) => JSON.stringify(await hostMarkers(hostOpsEnv(ctx.services))),
} satisfies ActionsOf<'pool_patch'>;
