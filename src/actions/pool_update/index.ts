/**
 * @module
 * `pool_update`: the API 2.6 face of the same updates as `pool_patch` (each upload makes
 * both; the twin's uuid is derived from the patch's, see src/updates/patch-records.ts),
 * raising the UPDATE_* errors. `introduce` takes a VDI holding an
 * update file (written raw from its first byte, e.g. by `PUT /import_raw_vdi`), reads it on
 * the master and makes it known exactly as an upload would (src/updates/introduce-update.ts);
 * `pool_clean` destroys that VDI afterwards, as xapi does.
 */
import { ApiError } from '../../core/api-error.js';
import { NULL_REF, isNullRef } from '../../core/ref.js';
import { introduceUpdate } from '../../updates/introduce-update.js';
import { apply, destroy, poolApply, poolClean, precheck } from '../../updates/patch-service.js';
import { updateEnv } from '../../updates/update-env.js';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../core/ports/updates.js';
import { copyUpdateFromDevice } from '../../updates/vdi-update-reader.js';
import { destroyVdi } from '../vdi/vdi-ops.js';
import { withVdiDevice } from '../vdi/vdi-io.js';
import type { ActionsOf } from '../../core/actions-of.js';

export const poolUpdateActions = {
  introduce: async (ctx, a) => {
    const vdi = a.vdi;
    const row = typeof vdi === 'string' && !isNullRef(vdi) ? ctx.db.get('VDI', vdi) : undefined;
    if (!row) throw new ApiError('HANDLE_INVALID', ['VDI', String(vdi)]);
    const log = ctx.services.updates?.log;
    return introduceUpdate({ db: ctx.db, dataDir: ctx.services.dataDir, ...(log ? { log } : {}) }, vdi, (dest) =>
      withVdiDevice(ctx, row, { readOnly: true }, (dev) => copyUpdateFromDevice(dev, dest, DEFAULT_MAX_UPLOAD_BYTES, {
        ...(ctx.task ? { signal: ctx.task.signal, progress: (f: number) => ctx.task!.setProgress(0.9 * f) } : {}),
      })));
  },
  precheck: async (ctx, a) => {
    await precheck(updateEnv(ctx.services), 'update', String(a.self), a.host);
    return 'ok' as const;
  },
  apply: async (ctx, a) => {
    await apply(updateEnv(ctx.services), 'update', String(a.self), a.host);
  },
  pool_apply: async (ctx, a) => {
    await poolApply(updateEnv(ctx.services), 'update', String(a.self), (f) => ctx.task?.setProgress(f));
  },
  pool_clean: async (ctx, a) => {
    await poolClean(updateEnv(ctx.services), 'update', String(a.self));
    const vdi = ctx.db.get('pool_update', a.self)?.vdi;
    if (vdi && !isNullRef(vdi) && ctx.db.get('VDI', vdi)) await destroyVdi(ctx, vdi);
    if (vdi && !isNullRef(vdi)) ctx.db.update('pool_update', a.self, { vdi: NULL_REF });
  },
  destroy: async (ctx, a) => {
    await destroy(updateEnv(ctx.services), 'update', String(a.self));
  },
} satisfies ActionsOf<'pool_update'>;
