/**
 * @module
 * Which module implements which class's explicit messages. Generic messages (getters,
 * setters, create/destroy) need no entry: the dispatcher derives them from the datamodel.
 */
import type { ClassActions } from '../actions/context.js';
import { eventActions } from '../actions/event.js';
import { hostVmActions } from '../actions/host-vm-actions.js';
import { sessionActions } from '../actions/session.js';
import { subjectActions } from '../actions/subject.js';
import { taskActions } from '../actions/task.js';
import { hostLifecycleActions } from '../pool/host-lifecycle-actions.js';
import { poolActions, poolSessionActions } from '../pool/pool-actions.js';
import { networkActions } from '../actions/network.js';
import { pbdActions } from '../actions/pbd.js';
import { srActions } from '../actions/sr.js';
import { vbdActions } from '../actions/vbd.js';
import { vdiActions } from '../actions/vdi.js';
import { vmDiskActions } from '../actions/vm-disks.js';
import { vmPowerActions } from '../actions/vm-power.js';
import { hostPatchActions } from '../actions/host-patch.js';
import { poolPatchActions } from '../actions/pool-patch.js';
import { poolUpdateActions } from '../actions/pool-update.js';
import { poolRollingUpdateActions, poolUpdateKeyActions } from '../actions/pool-updates.js';
import { hostExtraActions } from '../actions/host-extras.js';
import { messageActions } from '../actions/message.js';
import { poolHaActions } from '../actions/pool-ha.js';
import { vmCheckpointActions } from '../actions/vm-checkpoint.js';
import { vmConfigActions } from '../actions/vm-config.js';
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
  session: { ...sessionActions, ...poolSessionActions },
  subject: subjectActions,
  task: taskActions,
  event: eventActions,
  // Other modules' VM and host actions join these by spreading into the same objects.
  VM: { ...vmDiskActions, ...vmPowerActions, ...vmConfigActions, ...vmCheckpointActions },
  SR: srActions,
  PBD: pbdActions,
  VDI: vdiActions,
  VBD: vbdActions,
  network: networkActions,
  host: { ...hostVmActions, ...hostLifecycleActions, ...hostExtraActions },
  pool: { ...poolActions, ...poolUpdateKeyActions, ...poolRollingUpdateActions, ...poolHaActions },
  message: { ...messageReaders(), ...messageActions },
  pool_patch: poolPatchActions,
  pool_update: poolUpdateActions,
  host_patch: hostPatchActions,
};
