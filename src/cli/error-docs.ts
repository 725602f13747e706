/**
 * @module
 * What xe prints for a XenAPI error: a one-line description (Islet's own wording), then
 * one `name: value` line per parameter, named as XenServer names them. A code missing here
 * falls back to the parameter names the datamodel declares and xe's raw form
 * (`Error code: X` / `Error parameters: a, b`). Add a line here when a module starts
 * raising a new code that users will meet through xe.
 */
import { errorParams } from '../datamodel/errors.js';

interface ErrorDoc {
  readonly doc: string;
  /** Parameter names as xe shows them; the datamodel's names when absent. */
  readonly params?: readonly string[];
}

const DOCS: Readonly<Record<string, ErrorDoc>> = {
  INTERNAL_ERROR: { doc: 'The server could not complete the request because of an internal error; the message below may say why.', params: ['message'] },
  MESSAGE_METHOD_UNKNOWN: { doc: 'The server does not know this method.', params: ['method'] },
  MESSAGE_PARAMETER_COUNT_MISMATCH: { doc: 'The method was called with the wrong number of arguments.', params: ['method', 'expected', 'received'] },
  MESSAGE_REMOVED: { doc: 'This method no longer exists in this version.', params: [] },
  UUID_INVALID: { doc: 'No object has the uuid you gave.', params: ['type', 'uuid'] },
  HANDLE_INVALID: { doc: 'The object reference is not valid; the object may have been deleted.', params: ['class', 'handle'] },
  MAP_DUPLICATE_KEY: { doc: 'The map already holds a value for this key.', params: ['type', 'param_name', 'uuid', 'key'] },
  INVALID_VALUE: { doc: 'The value given is not valid.', params: ['field', 'value'] },
  VALUE_NOT_SUPPORTED: { doc: 'The value given is not supported here.', params: ['field', 'value', 'reason'] },
  FIELD_TYPE_ERROR: { doc: 'The value given has the wrong type.', params: ['field'] },
  OPERATION_NOT_ALLOWED: { doc: 'This operation is not allowed now.', params: ['reason'] },
  OTHER_OPERATION_IN_PROGRESS: { doc: 'Another operation on this object is still running.', params: ['class', 'object', 'operation_type', 'operation_ref'] },
  SESSION_INVALID: { doc: 'The session is no longer valid (it may have expired, or the server restarted); log in again.', params: ['handle'] },
  SESSION_NOT_REGISTERED: { doc: 'This session has not registered for events.', params: ['handle'] },
  RBAC_PERMISSION_DENIED: { doc: 'Your role does not allow this operation.', params: ['permission', 'message'] },
  USER_IS_NOT_LOCAL_SUPERUSER: { doc: 'Only the local superuser may do this.', params: ['msg'] },
  EVENTS_LOST: { doc: 'Events were dropped from the queue and cannot be recovered.', params: [] },
  TASK_CANCELLED: { doc: 'The task was cancelled.', params: ['task'] },
  NOT_IMPLEMENTED: { doc: 'This function is not implemented.', params: ['function'] },
  HOST_IS_SLAVE: { doc: 'This host is a pool member: send API calls to the pool master.', params: ['Master IP address'] },
  HOST_OFFLINE: { doc: 'A host this operation needs cannot be reached.', params: ['host'] },
  HOST_NOT_LIVE: { doc: 'The host is not live, so this cannot be done.', params: [] },
  HOST_NOT_DISABLED: { doc: 'Disable the host before doing this.', params: [] },
  HOST_DISABLED: { doc: 'The host is disabled.', params: ['host'] },
  VM_BAD_POWER_STATE: { doc: 'The VM is not in the power state this operation needs.', params: ['vm', 'expected', 'actual'] },
  VM_IS_TEMPLATE: { doc: 'This cannot be done to a template.', params: ['vm'] },
  VM_MISSING_PV_DRIVERS: { doc: 'The VM\'s guest has no PV drivers, which this operation needs.', params: ['vm'] },
  VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT: { doc: 'The VM\'s guest did not acknowledge the request to shut down.', params: ['vm'] },
  VM_SHUTDOWN_TIMEOUT: { doc: 'The VM did not shut down within the time allowed.', params: ['vm', 'timeout'] },
  VM_REQUIRES_SR: { doc: 'The host cannot reach an SR holding one of the VM\'s disks.', params: ['vm', 'sr'] },
  VM_MIGRATE_FAILED: { doc: 'The migration failed; the VM still runs where it was.', params: ['vm', 'source', 'destination', 'msg'] },
  HOST_NOT_ENOUGH_FREE_MEMORY: { doc: 'The host does not have enough free memory for this.', params: ['needed', 'available'] },
  NO_HOSTS_AVAILABLE: { doc: 'No host of the pool can do this now.', params: [] },
  CANNOT_EVACUATE_HOST: { doc: 'The host cannot be evacuated; each reason is listed below.', params: ['errors'] },
  SR_HAS_PBD: { doc: 'The SR is still connected to a host through a PBD; unplug and destroy the PBDs first.', params: ['sr'] },
  SR_NOT_EMPTY: { doc: 'The SR still holds disks.', params: [] },
  SR_FULL: { doc: 'The SR has no room for the requested size.', params: ['requested', 'maximum'] },
  SR_NOT_ATTACHED: { doc: 'The SR is not attached.', params: ['sr'] },
  SR_BACKEND_FAILURE: { doc: 'The storage backend failed.', params: ['status', 'stdout', 'stderr'] },
  VDI_IN_USE: { doc: 'The VDI is in use.', params: ['vdi', 'operation'] },
  VDI_MISSING: { doc: 'The VDI cannot be found in its SR.', params: ['sr', 'vdi'] },
  INVALID_PATCH: { doc: 'The uploaded update file is not valid.', params: [] },
  INVALID_PATCH_WITH_LOG: { doc: 'The uploaded update file is not valid; the log says why.', params: ['log'] },
  PATCH_ALREADY_EXISTS: { doc: 'This update has been uploaded already.', params: ['uuid'] },
  PATCH_ALREADY_APPLIED: { doc: 'This update is applied already.', params: ['patch'] },
  PATCH_IS_APPLIED: { doc: 'The update is applied, so it cannot be destroyed.', params: [] },
  PATCH_APPLY_FAILED: { doc: 'Applying the update failed; see its output.', params: ['output'] },
  CANNOT_FIND_PATCH: { doc: 'The update file cannot be found on the master.', params: [] },
  CANNOT_FETCH_PATCH: { doc: 'The update file could not be fetched from the master.', params: ['uuid'] },
  PATCH_PRECHECK_FAILED_UNKNOWN_ERROR: { doc: 'The update precheck failed; see the details.', params: ['patch', 'info'] },
  PATCH_PRECHECK_FAILED_PREREQUISITE_MISSING: { doc: 'The update precheck failed: updates it depends on are missing.', params: ['patch', 'prerequisite_patch_uuid_list'] },
  PATCH_PRECHECK_FAILED_WRONG_SERVER_VERSION: { doc: 'The update precheck failed: the host runs a version the update is not for.', params: ['patch', 'found_version', 'required_version'] },
  PATCH_PRECHECK_FAILED_VM_RUNNING: { doc: 'The update precheck failed: VMs are still running on the host.', params: ['patch'] },
  UPDATE_ALREADY_APPLIED: { doc: 'This update is applied already.', params: ['update'] },
  UPDATE_ALREADY_APPLIED_IN_POOL: { doc: 'This update is applied on every host of the pool already.', params: ['update'] },
  UPDATE_IS_APPLIED: { doc: 'The update is applied, so it cannot be destroyed.', params: [] },
  UPDATE_POOL_APPLY_FAILED: { doc: 'The update could not be applied on these hosts.', params: ['hosts'] },
  UPDATE_PRECHECK_FAILED_UNKNOWN_ERROR: { doc: 'The update precheck failed; see the details.', params: ['update', 'info'] },
};

/** xe's lines for a server error: the description and named parameters, or the raw form. */
export function formatServerError(code: string, params: readonly string[]): string {
  const d = DOCS[code];
  if (!d) return `Error code: ${code}\nError parameters: ${params.join(', ')}\n`;
  const names = d.params ?? errorParams(code) ?? [];
  const lines = [d.doc];
  const n = Math.max(names.length, params.length);
  for (let i = 0; i < n; i++) {
    const name = i < names.length ? names[i] : '<extra>';
    lines.push(`${name}: ${i < params.length ? params[i] : '<unknown>'}`);
  }
  return `${lines.join('\n')}\n`;
}
