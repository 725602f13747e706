/**
 * @module
 * Which handlers implement which class's explicit messages: one folder per class under
 * `src/actions/`, whose `index.ts` exports them all. Generic messages (getters, setters,
 * create/destroy) need no entry: the dispatcher derives them from the datamodel.
 */
import type { ClassActions } from '../core/action-context.js';
import { joinActions, type ActionsOf, type MissingHandlers } from '../core/actions-of.js';
import { authActions } from '../actions/auth/index.js';
import { eventActions } from '../actions/event/index.js';
import { hostActions } from '../actions/host/index.js';
import { hostPatchActions } from '../actions/host_patch/index.js';
import { messageActions } from '../actions/message/index.js';
import { networkActions } from '../actions/network/index.js';
import { blobActions } from '../actions/blob/index.js';
import { bondActions } from '../actions/bond/index.js';
import { pifActions } from '../actions/pif/index.js';
import { vlanActions } from '../actions/vlan/index.js';
import { pbdActions } from '../actions/pbd/index.js';
import { secretActions } from '../actions/secret/index.js';
import { poolActions } from '../actions/pool/index.js';
import { poolPatchActions } from '../actions/pool_patch/index.js';
import { poolUpdateActions } from '../actions/pool_update/index.js';
import { roleHandlers } from '../actions/role/index.js';
import { sessionActions } from '../actions/session/index.js';
import { srActions } from '../actions/sr/index.js';
import { subjectActions } from '../actions/subject/index.js';
import { taskActions } from '../actions/task/index.js';
import { vbdActions } from '../actions/vbd/index.js';
import { vdiActions } from '../actions/vdi/index.js';
import { vifActions } from '../actions/vif/index.js';
import { vmActions } from '../actions/vm/index.js';
import { vmApplianceActions } from '../actions/vm_appliance/index.js';
import { vmppActions } from '../actions/vmpp/index.js';
import { implicitAction } from '../api/implicit-actions.js';
import type { ImplicitMessage, ImplicitOp } from '../datamodel/implicit.js';
import type { ClassName } from '../datamodel/index.js';
import { messageClass } from '../datamodel/message.js';

const MESSAGE_READERS = ['get_record', 'get_by_uuid', 'get_all_records', 'get_all_records_where'] as const satisfies readonly ImplicitOp[];

/** message declares its generic readers itself (it has no other accessors); serve them generically. */
function messageReaders(): Required<Pick<ActionsOf<'message'>, (typeof MESSAGE_READERS)[number]>> {
  return Object.fromEntries(MESSAGE_READERS.map((op) => {
    const decl = messageClass.messages.find((m) => m.name === op)!;
    return [op, implicitAction(messageClass, { ...decl, implicit: { op } } as ImplicitMessage)];
  })) as ActionsOf<'message'> as Required<Pick<ActionsOf<'message'>, (typeof MESSAGE_READERS)[number]>>;
}

/** Each class's handlers, checked against that class's declaration (`VBD: vdiActions` does not compile). */
const typedActions = {
  session: sessionActions,
  auth: authActions,
  subject: subjectActions,
  role: roleHandlers,
  task: taskActions,
  event: eventActions,
  VM: vmActions,
  VM_appliance: vmApplianceActions,
  VMPP: vmppActions,
  SR: srActions,
  PBD: pbdActions,
  secret: secretActions,
  VDI: vdiActions,
  VBD: vbdActions,
  VIF: vifActions,
  network: networkActions,
  PIF: pifActions,
  VLAN: vlanActions,
  Bond: bondActions,
  host: hostActions,
  pool: poolActions,
  message: joinActions('message', messageReaders(), messageActions),
  pool_patch: poolPatchActions,
  pool_update: poolUpdateActions,
  host_patch: hostPatchActions,
  blob: blobActions,
} satisfies { readonly [C in ClassName]?: ActionsOf<C> };

/**
 * Every declared message without a handler, as `Class.message`, known to the compiler:
 * test/architecture/completeness.test.ts checks it names exactly the messages the
 * dispatcher finds unhandled, which are the allow-list's.
 */
export type UnimplementedMessages = {
  [C in ClassName]: `${C}.${MissingHandlers<C, C extends keyof typeof typedActions ? (typeof typedActions)[C] : object>}`
}[ClassName];

/**
 * The same for the dispatcher, which calls each handler with the arguments it decoded
 * from the wire by the declaration that typed the handler: that is what makes dropping
 * the per-message types here sound.
 */
const checkedActions: { readonly [C in ClassName]?: ActionsOf<C> } = typedActions;
export const actionsByClass = checkedActions as Readonly<Record<string, ClassActions>>;
