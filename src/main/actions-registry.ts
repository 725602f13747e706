/**
 * @module
 * Which handlers implement which class's explicit messages: one folder per class under
 * `src/actions/`, whose `index.ts` exports them all. Generic messages (getters, setters,
 * create/destroy) need no entry: the dispatcher derives them from the datamodel.
 */
import { joinActions, type ClassActions } from '../core/action-context.js';
import { eventActions } from '../actions/event/index.js';
import { hostActions } from '../actions/host/index.js';
import { hostPatchActions } from '../actions/host_patch/index.js';
import { messageActions } from '../actions/message/index.js';
import { networkActions } from '../actions/network/index.js';
import { pbdActions } from '../actions/pbd/index.js';
import { secretActions } from '../actions/secret/index.js';
import { poolActions } from '../actions/pool/index.js';
import { poolPatchActions } from '../actions/pool_patch/index.js';
import { poolUpdateActions } from '../actions/pool_update/index.js';
import { sessionActions } from '../actions/session/index.js';
import { srActions } from '../actions/sr/index.js';
import { subjectActions } from '../actions/subject/index.js';
import { taskActions } from '../actions/task/index.js';
import { vbdActions } from '../actions/vbd/index.js';
import { vdiActions } from '../actions/vdi/index.js';
import { vifActions } from '../actions/vif/index.js';
import { vmActions } from '../actions/vm/index.js';
import { implicitAction } from '../api/implicit-actions.js';
import type { ImplicitMessage, ImplicitOp } from '../datamodel/implicit.js';
import { messageClass } from '../datamodel/message.js';

/** message declares its generic readers itself (it has no other accessors); serve them generically. */
function messageReaders(): ClassActions {
  const ops: ImplicitOp[] = ['get_record', 'get_by_uuid', 'get_all_records', 'get_all_records_where'];
  return Object.fromEntries(ops.map((op) => {
    const decl = messageClass.messages.find((m) => m.name === op)!;
    return [op, implicitAction(messageClass, { ...decl, implicit: { op } } as ImplicitMessage)];
  }));
}

export const actionsByClass: Readonly<Record<string, ClassActions>> = {
  session: sessionActions,
  subject: subjectActions,
  task: taskActions,
  event: eventActions,
  VM: vmActions,
  SR: srActions,
  PBD: pbdActions,
  secret: secretActions,
  VDI: vdiActions,
  VBD: vbdActions,
  VIF: vifActions,
  network: networkActions,
  host: hostActions,
  pool: poolActions,
  message: joinActions('message', messageReaders(), messageActions),
  pool_patch: poolPatchActions,
  pool_update: poolUpdateActions,
  host_patch: hostPatchActions,
};
