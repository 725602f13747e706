/**
 * @module
 * `pool_update`: the API 2.6 face of the same updates as `pool_patch` (each upload makes
 * both, with one uuid), raising the UPDATE_* errors. `introduce` takes a VDI holding an
 * update file; Islet's updates arrive through `/pool_patch_upload`, so it only answers for
 * VDIs an update was already introduced from.
 */
import { ApiError } from '../core/api-error.js';
import type { Ref } from '../core/ref.js';
import { apply, destroy, poolApply, poolClean, precheck } from '../updates/patch-service.js';
import { updateEnv } from '../updates/update-env.js';
import type { ClassActions } from './context.js';

export const poolUpdateActions: ClassActions = {
  introduce: (ctx, a) => {
    const known = ctx.db.all('pool_update').find(([, u]) => u.vdi === a.vdi);
    if (known) throw new ApiError('UPDATE_ALREADY_EXISTS', [String(known[1].uuid)]);
    throw new ApiError('NOT_IMPLEMENTED', ['pool_update.introduce: upload the update file to /pool_patch_upload (xe update-upload)']);
  },
  precheck: async (ctx, a) => {
    await precheck(updateEnv(ctx.services), 'update', String(a.self), a.host as Ref<'host'>);
    return 'ok';
  },
  apply: async (ctx, a) => {
    await apply(updateEnv(ctx.services), 'update', String(a.self), a.host as Ref<'host'>);
  },
  pool_apply: async (ctx, a) => {
    await poolApply(updateEnv(ctx.services), 'update', String(a.self), (f) => ctx.task?.setProgress(f));
  },
  pool_clean: async (ctx, a) => {
    await poolClean(updateEnv(ctx.services), 'update', String(a.self));
  },
  destroy: async (ctx, a) => {
    await destroy(updateEnv(ctx.services), 'update', String(a.self));
  },
};
