/**
 * @module
 * A CIFS archive target's password is not kept in the policy: the policy's
 * `archive_target_config:password` holds the uuid of a `secret` with it, as in xapi. A
 * password given again (the uuid itself, as a client that read the map sends it back)
 * leaves the secret as it is.
 */
import type { ActionContext } from '../../core/action-context.js';
import { newRef, newUuid } from '../../core/ref.js';
import type { StrMap } from './vmpp-rules.js';

function secretByUuid(ctx: ActionContext, uuid: string | undefined) {
  if (!uuid) return undefined;
  try {
    return ctx.db.refByUuid('secret', uuid);
  } catch {
    return undefined;
  }
}

/** The uuid of the secret now holding `password`, reusing the one `current` names. */
export function passwordToSecret(ctx: ActionContext, password: string, current: StrMap): string {
  const existing = current.password;
  const ref = secretByUuid(ctx, existing);
  if (ref && existing) {
    if (password !== existing) ctx.db.update('secret', ref, { value: password });
    return existing;
  }
  const uuid = newUuid();
  ctx.db.create('secret', newRef<'secret'>(), { uuid, value: password, other_config: { purpose: 'VMPP archive target password' } });
  return uuid;
}

export function withPasswordAsSecret(ctx: ActionContext, value: StrMap, current: StrMap): StrMap {
  return value.password === undefined ? value : { ...value, password: passwordToSecret(ctx, value.password, current) };
}

export function forgetPassword(ctx: ActionContext, config: StrMap): void {
  const ref = secretByUuid(ctx, config.password);
  if (ref) ctx.db.remove('secret', ref);
}
