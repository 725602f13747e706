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
import type { ActionContext, ClassActions } from '../../core/action-context.js';
import { parseHostPort } from '../../pool/host-address.js';
import type { ForwardedWrite } from '../../pool/forwarding-pool-db.js';
import { PoolLinkImpl } from '../../pool/pool-link-impl.js';
import {
  acceptHeartbeat, acceptJoin, confirmJoin, designateNewMaster, parseJoinRequest, ejectHost, emergencyTransition, joinPool, leavePool,
  recoverSlaves, takeOver,
} from '../../pool/pool-membership.js';
import type { PoolNode } from '../../pool/pool-node.js';
import { applyForwarded, changesFor } from '../../pool/replication.js';

/** The pool node of the host running the action. */
export function nodeOf(ctx: ActionContext): PoolNode {
  const link = ctx.services.pool;
  if (!(link instanceof PoolLinkImpl)) throw new ApiError('INTERNAL_ERROR', ['pool membership is not wired on this host']);
  return link.node;
}

function internalOnly(ctx: ActionContext): PoolNode {
  if (!ctx.session?.internal) throw new ApiError('RBAC_PERMISSION_DENIED', ['pool internal', 'Only hosts of the pool may call this']);
  return nodeOf(ctx);
}

function parseJson<T>(s: unknown, what: string): T {
  try {
    return JSON.parse(String(s)) as T;
  } catch {
    throw new ApiError('INVALID_VALUE', [what, String(s).slice(0, 100)]);
  }
}

export const poolMembershipActions: ClassActions = {
  join: async (ctx, a) => {
    await joinPool(nodeOf(ctx), String(a.master_address), String(a.master_username), String(a.master_password));
    return '';
  },
  join_force: async (ctx, a) => {
    await joinPool(nodeOf(ctx), String(a.master_address), String(a.master_username), String(a.master_password));
    return '';
  },
  eject: async (ctx, a) => {
    await ejectHost(nodeOf(ctx), a.host as Ref<'host'>);
    return '';
  },
  designate_new_master: async (ctx, a) => {
    await designateNewMaster(nodeOf(ctx), a.host as Ref<'host'>);
    return '';
  },
  emergency_transition_to_master: (ctx) => {
    emergencyTransition(nodeOf(ctx));
    return '';
  },
  emergency_reset_master: (ctx, a) => {
    const node = nodeOf(ctx);
    node.followMaster(parseHostPort(String(a.master_address), node.port));
    return '';
  },
  recover_slaves: async (ctx) => recoverSlaves(nodeOf(ctx)),
  // Members replicate continuously, so there is nothing left to push.
  sync_database: (ctx) => {
    nodeOf(ctx).assertMaster();
    return '';
  },

  islet_join_request: (ctx, a) => {
    if (!ctx.session) throw new ApiError('SESSION_INVALID', ['']);
    // A host's credential speaks for that host only; adding hosts takes a person's login.
    if (ctx.session.internal) throw new ApiError('RBAC_PERMISSION_DENIED', ['pool.islet_join_request', 'Pool-internal sessions cannot add hosts']);
    return JSON.stringify(acceptJoin(nodeOf(ctx), parseJoinRequest(parseJson<unknown>(a.member, 'member'))));
  },
  islet_join_confirm: (ctx) => {
    const node = internalOnly(ctx);
    const bound = ctx.session!.poolHost;
    if (!bound) throw new ApiError('RBAC_PERMISSION_DENIED', ['pool.islet_join_confirm', 'Only the joining host confirms its join']);
    confirmJoin(node, bound.uuid);
    return '';
  },
  islet_heartbeat: (ctx, a) => {
    const node = internalOnly(ctx);
    const bound = ctx.session!.poolHost;
    if (bound && ctx.db.refByUuid('host', bound.uuid) !== a.host) {
      throw new ApiError('RBAC_PERMISSION_DENIED', ['pool.islet_heartbeat', 'A host heartbeats for itself only']);
    }
    acceptHeartbeat(node, a.host as Ref<'host'>, parseJson<Record<string, unknown>>(a.status, 'status'));
    return JSON.stringify({ ok: true });
  },
  islet_db_changes: async (ctx, a) => {
    const node = internalOnly(ctx);
    node.assertMaster();
    const deadline = Date.now() + Math.max(0, Math.min(60, Number(a.timeout))) * 1000;
    let since = Number(a.since);
    for (;;) {
      const u = changesFor(ctx.db, node.fields, since);
      const remaining = deadline - Date.now();
      if (u.kind === 'dump' || u.changes.length > 0 || remaining <= 0) return JSON.stringify(u);
      // Only memory-only objects (tasks, sessions) changed: nothing to send yet.
      since = u.gen;
      await ctx.db.waitForChange(since, remaining);
      if (!node.isMaster()) node.assertMaster();
    }
  },
  islet_db_apply: (ctx, a) => {
    const node = internalOnly(ctx);
    node.assertMaster();
    applyForwarded(ctx.db, parseJson<ForwardedWrite[]>(a.writes, 'writes'));
    return '';
  },
  islet_set_master: (ctx, a) => {
    const node = internalOnly(ctx);
    node.followMaster(parseHostPort(String(a.master_address), node.port));
    return '';
  },
  islet_take_over: async (ctx) => {
    await takeOver(internalOnly(ctx));
    return '';
  },
  islet_ejected: (ctx) => {
    leavePool(internalOnly(ctx));
    return '';
  },
};

/** session.islet_pool_login: another host of the pool, proving itself with its own credential. */
export const poolSessionActions: ClassActions = {
  islet_pool_login: (ctx, a) => nodeOf(ctx).poolLogin(String(a.host_uuid), String(a.credential)).ref,
};
