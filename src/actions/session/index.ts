/**
 * @module
 * session: logging in and out, and changing one's own password.
 */
import { ApiError } from '../../core/api-error.js';
import { joinActions } from '../../core/actions-of.js';
import { poolSessionActions } from '../pool/pool-actions.js';
import type { ActionsOf } from '../../core/actions-of.js';

const ownSessionActions = {
  login_with_password: async (ctx, a) =>
    (await ctx.services.sessions.login(String(a.uname), String(a.pwd), String(a.originator ?? ''), ctx.peer)).ref,

  slave_local_login_with_password: async (ctx, a) =>
    (await ctx.services.sessions.login(String(a.uname), String(a.pwd), 'slave_local', ctx.peer)).ref,

  logout: (ctx) => {
    if (ctx.session) ctx.services.sessions.logout(ctx.session.ref);
    return '';
  },

  local_logout: (ctx) => {
    if (ctx.session) ctx.services.sessions.logout(ctx.session.ref);
    return '';
  },

  change_password: async (ctx, a) => {
    const s = ctx.session!;
    const user = ctx.services.sessions.getUser(s.userName);
    if (!user) throw new ApiError('USER_IS_NOT_LOCAL_SUPERUSER', [s.userName]);
    const newPwd = String(a.new_pwd);
    if (newPwd.length === 0) throw new ApiError('CHANGE_PASSWORD_REJECTED', ['The new password must not be empty']);
    // Root may reset its password without the old one, as xapi allows the local superuser.
    if (!s.isLocalSuperuser) {
      try {
        await ctx.services.sessions.login(s.userName, String(a.old_pwd), 'change_password', ctx.peer);
      } catch {
        throw new ApiError('CHANGE_PASSWORD_REJECTED', ['The old password is wrong']);
      }
    }
    await ctx.services.sessions.setUser(user.name, newPwd, user.role, user.subject);
    ctx.services.sessions.logoutUser(user.name, s.ref);
    return '';
  },

  get_all_subject_identifiers: (ctx) =>
    ctx.db.all('subject').map(([, r]) => String(r.subject_identifier)),

  logout_subject_identifier: (ctx, a) => {
    for (const [, r] of ctx.db.all('subject')) {
      if (r.subject_identifier === a.subject_identifier) {
        const name = r.other_config['subject-name'];
        if (name) ctx.services.sessions.logoutUser(name);
      }
    }
    return '';
  },
} satisfies ActionsOf<'session'>;

export const sessionActions = joinActions('session', ownSessionActions, poolSessionActions);
