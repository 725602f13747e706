/**
 * @module
 * What the disk import and export handlers share: the session (query, cookie or Basic),
 * the disk named by `vdi=` (a ref or a uuid), the task named by `task_id=` (or a new one),
 * and the outcome reported through that task as well as in the HTTP reply, as xapi does
 * (on a member, also on the master's task a client named: `master-task-relay.ts`). Work
 * stopped by a cancel of its task, here or on the master, ends it `cancelled` with
 * TASK_CANCELLED, whatever failure the stop surfaced as.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordOf } from '../../core/record-of.js';
import type { ActionContext, Services } from '../../core/action-context.js';
import type { SessionInfo } from '../../core/ports/sessions.js';
import type { TaskHandle } from '../../core/ports/tasks.js';
import { ApiError } from '../../core/api-error.js';
import { toWireError } from '../../core/wire-errors.js';
import { discardBody } from '../upload-body.js';
import { isRef, type Ref } from '../../core/ref.js';
import type { Role } from '../../datamodel/roles.js';
import { authenticate, refuseWhileReceiving, sendError, taskFor, type HandlerDeps } from './http-auth.js';
import { masterTaskRelay } from './master-task-relay.js';

export interface TransferDeps extends HandlerDeps {
  readonly services: Services;
}

export interface Transfer {
  readonly ctx: ActionContext;
  readonly session: SessionInfo;
  readonly task: TaskHandle;
}

/** The disk a query names by ref or uuid; HANDLE_INVALID / UUID_INVALID otherwise. */
export function vdiFromQuery(d: TransferDeps, query: URLSearchParams, param = 'vdi'): { ref: Ref<'VDI'>; row: RecordOf<'VDI'> } | undefined {
  const v = query.get(param);
  if (!v) return undefined;
  const ref = (isRef(v) ? v : d.db.refByUuid('VDI', v)) as Ref<'VDI'> | undefined;
  const row = ref ? d.db.get('VDI', ref) : undefined;
  if (!ref || !row) throw isRef(v) ? new ApiError('HANDLE_INVALID', ['VDI', v]) : new ApiError('UUID_INVALID', ['VDI', v]);
  return { ref, row };
}

/**
 * Runs a transfer: authenticates, finds or makes its task, runs `work` (which answers the
 * request on success) and reports the result through the task. A failure before any reply
 * went out is answered with the error; after, the connection is cut.
 */
export async function runTransfer(
  d: TransferDeps, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, least: Role, label: string,
  work: (t: Transfer) => Promise<string>,
): Promise<void> {
  let authed;
  try {
    authed = await authenticate(d, req, query, least);
  } catch (e) {
    discardBody(req);
    sendError(res, toWireError(e));
    return;
  }
  const given = taskFor(d, query);
  const taskRef = given?.ref ?? d.services.tasks.create(label, '', authed.session.ref);
  const own = given?.handle ?? d.tasks.handle(taskRef);
  // On a member, a task_id the client made on the master is reported on there.
  const relay = given ? undefined : masterTaskRelay(d, query.get('task_id'), own, d.services.hostRef);
  const task = relay?.handle ?? own;
  const ctx: ActionContext = {
    services: d.services, db: d.db, session: authed.session, task, peer: req.socket.remoteAddress ?? 'unknown',
  };
  // The master's task, cancelled before the work began, stays so: nothing is done, and the
  // answer goes as for a refused login (the body read and dropped, the connection kept), so
  // that a client still sending reads it rather than a reset.
  const status = await relay?.attach();
  if (status === 'cancelled' || status === 'cancelling') {
    d.tasks.fail(taskRef, new ApiError('TASK_CANCELLED', [taskRef]));
    discardBody(req);
    sendError(res, new ApiError('TASK_CANCELLED', [task.ref]));
    authed.done();
    return;
  }
  try {
    const result = await work({ ctx, session: authed.session, task });
    d.tasks.succeed(taskRef, result);
    await relay?.succeed(result);
  } catch (e) {
    // Work stopped by a cancel fails however it noticed (a read cut short, an abort): as cancelled.
    const cancelled = own.signal.aborted || (e instanceof ApiError && e.code === 'TASK_CANCELLED');
    const err = cancelled ? new ApiError('TASK_CANCELLED', [task.ref]) : toWireError(e);
    if (err.code === 'INTERNAL_ERROR') d.log?.(`${label}: ${e instanceof Error ? e.stack : String(e)}`);
    d.tasks.fail(taskRef, cancelled ? new ApiError('TASK_CANCELLED', [taskRef]) : err);
    await relay?.fail(err);
    if (res.headersSent) res.destroy();
    else {
      // At once, and the rest of the body read and dropped: the client reads the answer
      // rather than a reset, or stops sending on it, as xe does.
      refuseWhileReceiving(req, res, err, () => discardBody(req));
    }
  } finally {
    authed.done();
  }
}
