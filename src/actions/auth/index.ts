/**
 * @module
 * auth: questions to the pool's external directory. No directory can be enabled here
 * (host.enable_external_auth refuses every type), so every question meets xapi's answer
 * for a host whose external authentication is off: AUTH_IS_DISABLED.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';

function directory(ctx: ActionContext): never {
  const type = String(ctx.db.get('host', ctx.services.hostRef)?.external_auth_type ?? '');
  if (type === '') throw new ApiError('AUTH_IS_DISABLED', []);
  throw new ApiError('AUTH_UNKNOWN_TYPE', [type]);
}

export const authActions = {
  get_subject_identifier: (ctx) => directory(ctx),
  get_subject_information_from_identifier: (ctx) => directory(ctx),
  get_group_membership: (ctx) => directory(ctx),
} satisfies ActionsOf<'auth'>;
