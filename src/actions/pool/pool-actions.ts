/**
 * @module
 * pool: the membership calls clients make (join, eject, designate_new_master, the
 * emergency pair) and the `islet_` calls hosts make on one another (heartbeats,
 * replication, forwarded writes, role changes), plus `session.islet_pool_login`. The
 * internal calls are refused unless the session was opened by a host of the pool with its
 * own credential; joining takes a pool-admin user and the joining host's confirmation.
 */
import { ApiError } from '../../core/api-error.js';
import type { Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import type { PoolMembership } from '../../core/ports/pool-membership.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { destroyBlobs, ownedBlobs } from '../blob/blob-records.js';
import { mustRow } from '../common/storage-access.js';

/** The pool membership of the host running the action. */
export function membershipOf(ctx: ActionContext): PoolMembership {
  const m = ctx.services.pool?.membership;
  if (!m) throw new ApiError('INTERNAL_ERROR', ['pool membership is not wired on this host']);
  return m;
}

function internalOnly(ctx: ActionContext): PoolMembership {
  if (!ctx.session?.internal) throw new ApiError('RBAC_PERMISSION_DENIED', ['pool internal', 'Only hosts of the pool may call this']);
  return membershipOf(ctx);
}

function parseJson<T>(s: unknown, what: string): T {
  try {
    return JSON.parse(String(s)) as T;
  } catch {
    throw new ApiError('INVALID_VALUE', [what, String(s).slice(0, 100)]);
  }
}

export const poolMembershipActions = {
  join: async (ctx, a) => {
    await membershipOf(ctx).join(String(a.master_address), String(a.master_username), String(a.master_password));
    return '';
  },
  join_force: async (ctx, a) => {
    await membershipOf(ctx).join(String(a.master_address), String(a.master_username), String(a.master_password));
    return '';
  },
  eject: async (ctx, a) => {
    const blobs = ownedBlobs(mustRow(ctx, 'host', a.host));
    await membershipOf(ctx).eject(a.host);
    await destroyBlobs(ctx, blobs);
    return '';
  },
  designate_new_master: async (ctx, a) => {
    await membershipOf(ctx).designateNewMaster(a.host);
    return '';
  },
  emergency_transition_to_master: (ctx) => {
    membershipOf(ctx).emergencyTransitionToMaster();
    return '';
  },
  emergency_reset_master: (ctx, a) => {
    membershipOf(ctx).followMaster(String(a.master_address));
    return '';
  },
  recover_slaves: async (ctx) => membershipOf(ctx).recoverSlaves(),
  // Members replicate continuously, so there is nothing left to push.
  // Returns once every live member holds the database as it was when called.
  sync_database: async (ctx) => {
    await membershipOf(ctx).syncDatabase(60_000);
    return '';
  },

  islet_join_request: (ctx, a) => {
    if (!ctx.session) throw new ApiError('SESSION_INVALID', ['']);
    // A host's credential speaks for that host only; adding hosts takes a person's login.
    if (ctx.session.internal) throw new ApiError('RBAC_PERMISSION_DENIED', ['pool.islet_join_request', 'Pool-internal sessions cannot add hosts']);
    return JSON.stringify(membershipOf(ctx).acceptJoin(parseJson<unknown>(a.member, 'member')));
  },
  islet_join_confirm: (ctx) => {
    const pool = internalOnly(ctx);
    const bound = ctx.session!.poolHost;
    if (!bound) throw new ApiError('RBAC_PERMISSION_DENIED', ['pool.islet_join_confirm', 'Only the joining host confirms its join']);
    pool.confirmJoin(bound.uuid);
    return '';
  },
  islet_heartbeat: (ctx, a) => {
    const pool = internalOnly(ctx);
    const bound = ctx.session!.poolHost;
    if (bound && ctx.db.refByUuid('host', bound.uuid) !== a.host) {
      throw new ApiError('RBAC_PERMISSION_DENIED', ['pool.islet_heartbeat', 'A host heartbeats for itself only']);
    }
    pool.acceptHeartbeat(a.host, parseJson<Record<string, unknown>>(a.status, 'status'));
    return JSON.stringify({ ok: true });
  },
  islet_db_changes: (ctx, a) =>
    internalOnly(ctx).dbChanges(Number(a.since), Math.max(0, Math.min(60, Number(a.timeout))) * 1000, ctx.session?.poolHost?.uuid, ctx.services.stopping),
  islet_db_apply: (ctx, a) => {
    internalOnly(ctx).dbApply(parseJson<unknown>(a.writes, 'writes'));
    return '';
  },
  islet_set_master: (ctx, a) => {
    internalOnly(ctx).followMaster(String(a.master_address));
    return '';
  },
  islet_take_over: async (ctx) => {
    await internalOnly(ctx).takeOver();
    return '';
  },
  islet_ejected: (ctx) => {
    internalOnly(ctx).leave();
    return '';
  },
} satisfies ActionsOf<'pool'>;

/** session.islet_pool_login: another host of the pool, proving itself with its own credential. */
export const poolSessionActions = {
  islet_pool_login: (ctx, a) => membershipOf(ctx).poolLogin(String(a.host_uuid), String(a.credential)),
} satisfies ActionsOf<'session'>;
