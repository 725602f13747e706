/**
 * @module
 * message: the alerts raised about objects (a VM that failed to start, a host that went
 * offline). `create` checks that the object named by class and uuid exists, as xapi does;
 * the readers select by time and object. The generic readers (get_record, get_by_uuid,
 * get_all_records, get_all_records_where) are the implicit ones, wired where the class's
 * actions are assembled, because this class declares them explicitly.
 */
import { ApiError } from '../../core/api-error.js';
import type { Row } from '../../core/ports/pool-db.js';
import { newRef, newUuid, xapiDate } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';

/** The table each `cls` value of a message names. */
const TABLE: Readonly<Record<string, string>> = {
  VM: 'VM', Host: 'host', SR: 'SR', Pool: 'pool', VDI: 'VDI', VMPP: 'VMPP', VMSS: 'VMSS',
  PVS_proxy: 'PVS_proxy', Certificate: 'Certificate',
};

function mustMessage(ctx: ActionContext, ref: unknown): Row {
  const row = typeof ref === 'string' ? ctx.db.get('message', ref) : undefined;
  if (!row) throw new ApiError('HANDLE_INVALID', ['message', String(ref)]);
  return row;
}

function selectSince(ctx: ActionContext, since: string, keep: (r: Row) => boolean): Record<string, Row> {
  const out: Record<string, Row> = {};
  for (const [ref, r] of ctx.db.all('message')) if (String(r.timestamp) > since && keep(r)) out[ref] = r;
  return out;
}

export const messageActions = {
  create: (ctx, a) => {
    const cls = a.cls;
    const uuid = String(a.obj_uuid);
    const table = TABLE[cls] ?? cls;
    let exists = false;
    try {
      exists = ctx.db.refByUuid(table, uuid) !== undefined;
    } catch {
      exists = false; // a class this toolstack keeps no table for
    }
    if (!exists) throw new ApiError('UUID_INVALID', [cls, uuid]);
    const ref = newRef<'message'>();
    ctx.db.create('message', ref, {
      uuid: newUuid(), name: String(a.name), priority: Number(a.priority), cls, obj_uuid: uuid,
      timestamp: xapiDate(ctx.services.now()), body: String(a.body),
    });
    return ref;
  },
  destroy: (ctx, a) => {
    mustMessage(ctx, a.self);
    ctx.db.remove('message', a.self);
    return '';
  },
  destroy_many: (ctx, a) => {
    const refs = a.messages ?? [];
    for (const r of refs) mustMessage(ctx, r);
    ctx.db.transaction(() => {
      for (const r of refs) ctx.db.remove('message', r);
    });
    return '';
  },
  get: (ctx, a) => selectSince(ctx, String(a.since), (r) => r.cls === String(a.cls) && r.obj_uuid === String(a.obj_uuid)),
  get_since: (ctx, a) => selectSince(ctx, String(a.since), () => true),
  get_all: (ctx) => ctx.db.all('message').map(([ref]) => ref),
} satisfies ActionsOf<'message'>;
