/**
 * @module
 * The pool's Islet update messages: the keys trusted to sign updates
 * (`islet_add_update_key`, `_remove_`, `_list_`) and rolling pool updates
 * (`islet_rolling_update`, `_resume`, `_abort`). They join the pool's other actions in the
 * registry.
 */
import type { Ref } from '../../core/ref.js';
import { abortRollingUpdate, resumeRollingUpdate, startRollingUpdate } from '../../updates/rolling/rolling-update.js';
import { addUpdateKeys, listUpdateKeys, removeUpdateKey } from '../../updates/update-keys.js';
import type { ActionsOf } from '../../core/actions-of.js';

export const poolUpdateKeyActions = {
  islet_add_update_key: (ctx, a) => addUpdateKeys(ctx.db, String(a.key), ctx.services.now()),
  islet_remove_update_key: (ctx, a) => {
    removeUpdateKey(ctx.db, String(a.fingerprint));
  },
  islet_list_update_keys: (ctx) => Object.fromEntries(listUpdateKeys(ctx.db).map((k) => [k.fingerprint, k.uid])),
} satisfies ActionsOf<'pool'>;

export const poolRollingUpdateActions = {
  islet_rolling_update: (ctx, a) =>
    startRollingUpdate(ctx.services, a.update, a.options ?? {}, ctx.task),
  islet_rolling_update_resume: async (ctx, a) => {
    await resumeRollingUpdate(ctx.services, a.run, ctx.task);
  },
  islet_rolling_update_abort: async (ctx, a) => {
    await abortRollingUpdate(ctx.services, a.run);
  },
} satisfies ActionsOf<'pool'>;
