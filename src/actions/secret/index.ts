/**
 * @module
 * secret: values kept by the pool and named by uuid. Device configurations refer to them
 * as `<key>_secret=<uuid>` (`password_secret`, `chappassword_secret`), as XenServer's do;
 * `resolveSecrets` turns those into values just before a storage driver is called, and
 * `keepSecrets` turns a plain password given to SR.create into a new secret, so no record
 * (PBD, task, event) ever holds the password itself.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import { newRef, newUuid, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import type { ActionsOf } from '../../core/actions-of.js';

type Smap = Record<string, string>;

/** Device-config keys holding a secret value in the clear. */
const SECRET_KEYS = ['password', 'chappassword', 'incoming_chappassword'];

/** `dc` with every `<key>_secret` replaced by `<key>` holding the secret's value. */
export function resolveSecrets(ctx: ActionContext, dc: Readonly<Smap>): Smap {
  const out: Smap = { ...dc };
  for (const [k, v] of Object.entries(dc)) {
    if (!k.endsWith('_secret')) continue;
    const ref = ctx.db.refByUuid('secret', v);
    const row = ref ? ctx.db.get('secret', ref) : undefined;
    // sm's InvalidSecret, as xapi reports a `*_secret` key naming no secret.
    if (!row) throw new ApiError('SR_BACKEND_FAILURE_20', ['', `No such secret. [opterr=device-config:${k}=${v}]`, '']);
    out[k.slice(0, -'_secret'.length)] = String(row.value ?? '');
    delete out[k];
  }
  return out;
}

/** `dc` with every clear-text password moved into a new secret (`<key>_secret=<uuid>`). */
export function keepSecrets(ctx: ActionContext, dc: Readonly<Smap>, what: string): Smap {
  const out: Smap = { ...dc };
  for (const k of SECRET_KEYS) {
    if (out[k] === undefined || out[`${k}_secret`] !== undefined) continue;
    const uuid = newUuid();
    ctx.db.create('secret', newRef<'secret'>(), { uuid, value: out[k], other_config: { purpose: `${what} device-config:${k}` } });
    out[`${k}_secret`] = uuid;
    delete out[k];
  }
  return out;
}

export const secretActions = {
  get_other_config: (ctx, a) => mustRow(ctx, 'secret', a.self).other_config ?? {},
} satisfies ActionsOf<'secret'>;
