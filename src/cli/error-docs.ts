/**
 * @module
 * What xe prints for a XenAPI error: the error's description as XenServer's datamodel
 * words it (xe prints that text, so scripts and people match on it: a compatibility fact),
 * then one `name: value` line per parameter, named as XenServer names them. A code missing here
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
  INTERNAL_ERROR: { doc: 'The server failed to handle your request, due to an internal error. The given message may give details useful for debugging the problem.', params: ['message'] },
  MESSAGE_METHOD_UNKNOWN: { doc: 'You tried to call a method that does not exist. The method name that you used is echoed.', params: ['method'] },
  MESSAGE_PARAMETER_COUNT_MISMATCH: { doc: 'You tried to call a method with the incorrect number of parameters. The fully-qualified method name that you used, and the number of received and expected parameters are returned.', params: ['method', 'expected', 'received'] },
  MESSAGE_REMOVED: { doc: 'This function is no longer available.', params: [] },
  UUID_INVALID: { doc: 'The uuid you supplied was invalid.', params: ['type', 'uuid'] },
  HANDLE_INVALID: { doc: 'You gave an invalid object reference. The object may have recently been deleted. The class parameter gives the type of reference given, and the handle parameter echoes the bad value given.', params: ['class', 'handle'] },
  MAP_DUPLICATE_KEY: { doc: 'You tried to add a key-value pair to a map, but that key is already there.', params: ['type', 'param_name', 'uuid', 'key'] },
  INVALID_VALUE: { doc: 'The value given is invalid', params: ['field', 'value'] },
  VALUE_NOT_SUPPORTED: { doc: 'You attempted to set a value that is not supported by this implementation. The fully-qualified field name and the value that you tried to set are returned. Also returned is a developer-only diagnostic reason.', params: ['field', 'value', 'reason'] },
  FIELD_TYPE_ERROR: { doc: 'The value specified is of the wrong type', params: ['field'] },
  OPERATION_NOT_ALLOWED: { doc: 'You attempted an operation that was not allowed.', params: ['reason'] },
  OTHER_OPERATION_IN_PROGRESS: { doc: 'Another operation involving the object is currently in progress', params: ['class', 'object', 'operation_type', 'operation_ref'] },
  SESSION_INVALID: { doc: 'You gave an invalid session reference. It may have been invalidated by a server restart, or timed out. You should get a new session handle, using one of the session.login_ calls. This error does not invalidate the current connection. The handle parameter echoes the bad value given.', params: ['handle'] },
  SESSION_NOT_REGISTERED: { doc: 'This session is not registered to receive events. You must call event.register before event.next. The session handle you are using is echoed.', params: ['handle'] },
  RBAC_PERMISSION_DENIED: { doc: 'RBAC permission denied.', params: ['permission', 'message'] },
  USER_IS_NOT_LOCAL_SUPERUSER: { doc: 'Only the local superuser can perform this operation.', params: ['msg'] },
  EVENTS_LOST: { doc: 'Some events have been lost from the queue and cannot be retrieved.', params: [] },
  TASK_CANCELLED: { doc: 'The request was asynchronously canceled.', params: ['task'] },
  NOT_IMPLEMENTED: { doc: 'The function is not implemented', params: ['function'] },
  HOST_IS_SLAVE: { doc: 'You cannot make regular API calls directly on a supporter. Please pass API calls via the coordinator host.', params: ['Master IP address'] },
  HOST_OFFLINE: { doc: 'You attempted an operation which involves a host which could not be contacted.', params: ['host'] },
  HOST_NOT_LIVE: { doc: 'This operation cannot be completed as the server is not live.', params: [] },
  HOST_NOT_DISABLED: { doc: 'This operation cannot be performed because the host is not disabled. Please disable the host and then try again.', params: [] },
  HOST_DISABLED: { doc: 'The specified server is disabled.', params: ['host'] },
  VM_BAD_POWER_STATE: { doc: 'You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running. The parameters returned are the VM\'s handle, and the expected and actual VM state at the time of the call.', params: ['vm', 'expected', 'actual'] },
  VM_IS_TEMPLATE: { doc: 'The operation attempted is not valid for a template VM', params: ['vm'] },
  VM_MISSING_PV_DRIVERS: { doc: 'You attempted an operation on a VM which requires PV drivers to be installed but the drivers were not detected.', params: ['vm'] },
  VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT: { doc: 'The VM\'s guest did not acknowledge the request to shut down.', params: ['vm'] },
  VM_SHUTDOWN_TIMEOUT: { doc: 'VM failed to shutdown before the timeout expired', params: ['vm', 'timeout'] },
  VM_REQUIRES_SR: { doc: 'You attempted to run a VM on a host which doesn\'t have access to an SR needed by the VM. The VM has at least one VBD attached to a VDI in the SR.', params: ['vm', 'sr'] },
  VM_MIGRATE_FAILED: { doc: 'An error occurred during the migration process.', params: ['vm', 'source', 'destination', 'msg'] },
  HOST_NOT_ENOUGH_FREE_MEMORY: { doc: 'Not enough server memory is available to perform this operation.', params: ['needed', 'available'] },
  NO_HOSTS_AVAILABLE: { doc: 'There were no servers available to complete the specified operation.', params: [] },
  CANNOT_EVACUATE_HOST: { doc: 'This server cannot be evacuated.', params: ['errors'] },
  SR_HAS_PBD: { doc: 'The SR is still connected to a host via a PBD. It cannot be destroyed or forgotten.', params: ['sr'] },
  SR_NOT_EMPTY: { doc: 'The SR operation cannot be performed because the SR is not empty.', params: [] },
  SR_FULL: { doc: 'The SR is full. Requested new size exceeds the maximum size', params: ['requested', 'maximum'] },
  OUT_OF_SPACE: { doc: 'The host has no room left where this operation writes (its pool database or files).', params: ['location'] },
  SR_NOT_ATTACHED: { doc: 'The SR is not attached.', params: ['sr'] },
  SR_BACKEND_FAILURE: { doc: 'There was an SR backend failure.', params: ['status', 'stdout', 'stderr'] },
  VDI_IN_USE: { doc: 'This operation cannot be performed because this VDI is in use by some other operation', params: ['vdi', 'operation'] },
  VDI_MISSING: { doc: 'This operation cannot be performed because the specified VDI could not be found on the storage substrate', params: ['sr', 'vdi'] },
  INVALID_PATCH: { doc: 'The uploaded patch file is invalid', params: [] },
  INVALID_PATCH_WITH_LOG: { doc: 'The uploaded patch file is invalid. See attached log for more details.', params: ['log'] },
  PATCH_ALREADY_EXISTS: { doc: 'The uploaded patch file already exists', params: ['uuid'] },
  PATCH_ALREADY_APPLIED: { doc: 'This patch has already been applied', params: ['patch'] },
  PATCH_IS_APPLIED: { doc: 'The specified patch is applied and cannot be destroyed.', params: [] },
  PATCH_APPLY_FAILED: { doc: 'The patch apply failed. Please see attached output.', params: ['output'] },
  CANNOT_FIND_PATCH: { doc: 'The requested update could not be found. This can occur when you designate a new coordinator or xe patch-clean. Please upload the update again.', params: [] },
  CANNOT_FETCH_PATCH: { doc: 'The requested update could not be obtained from the coordinator.', params: ['uuid'] },
  PATCH_PRECHECK_FAILED_UNKNOWN_ERROR: { doc: 'The patch pre-check stage failed with an unknown error. See attached info for more details.', params: ['patch', 'info'] },
  PATCH_PRECHECK_FAILED_PREREQUISITE_MISSING: { doc: 'The patch pre-check stage failed: prerequisite patches are missing.', params: ['patch', 'prerequisite_patch_uuid_list'] },
  PATCH_PRECHECK_FAILED_WRONG_SERVER_VERSION: { doc: 'The patch pre-check stage failed: the server is of an incorrect version.', params: ['patch', 'found_version', 'required_version'] },
  PATCH_PRECHECK_FAILED_VM_RUNNING: { doc: 'The patch pre-check stage failed: there are one or more VMs still running on the server. All VMs must be suspended before the patch can be applied.', params: ['patch'] },
  UPDATE_ALREADY_APPLIED: { doc: 'This update has already been applied.', params: ['update'] },
  UPDATE_ALREADY_APPLIED_IN_POOL: { doc: 'This update has already been applied to all hosts in the pool.', params: ['update'] },
  UPDATE_IS_APPLIED: { doc: 'The specified update has been applied and cannot be destroyed.', params: [] },
  UPDATE_POOL_APPLY_FAILED: { doc: 'The update cannot be applied for the following host(s).', params: ['hosts'] },
  UPDATE_PRECHECK_FAILED_UNKNOWN_ERROR: { doc: 'The update pre-check stage failed with an unknown error.', params: ['update', 'info'] },
  VDI_TOO_SMALL: { doc: 'The VDI is too small. Please resize it to at least the minimum size.', params: ['vdi', 'minimum size'] },
  VDI_READONLY: { doc: 'The operation required write access but this VDI is read-only', params: ['vdi'] },
  VDI_IS_NOT_ISO: { doc: 'This operation can only be performed on CD VDIs (iso files or CDROM drives)', params: ['vdi', 'type'] },
  SR_OPERATION_NOT_SUPPORTED: { doc: 'The SR backend does not support the operation (check the SR\'s allowed operations)', params: ['sr'] },
  VBD_NOT_EMPTY: { doc: 'Operation could not be performed because the drive is not empty', params: ['vbd'] },
  VBD_IS_EMPTY: { doc: 'Operation could not be performed because the drive is empty', params: ['vbd'] },
  VBD_NOT_UNPLUGGABLE: { doc: 'Drive could not be hot-unplugged because it is not marked as unpluggable', params: ['vbd'] },
  DEVICE_ALREADY_ATTACHED: { doc: 'The device is already attached to a VM', params: ['device'] },
  DEVICE_ALREADY_DETACHED: { doc: 'The device is not currently attached', params: ['device'] },
  VLAN_TAG_INVALID: { doc: 'You tried to create a VLAN, but the tag you gave was invalid -- it must be between 0 and 4094.  The parameter echoes the VLAN tag you gave.', params: ['VLAN'] },
  VLAN_IN_USE: { doc: 'Operation cannot be performed because this VLAN is already in use. Please check your network configuration.', params: ['device', 'vlan'] },
  PIF_IS_VLAN: { doc: 'You tried to create a VLAN on top of another VLAN - use the underlying physical PIF/bond instead', params: ['PIF'] },
  PIF_VLAN_EXISTS: { doc: 'You tried to create a PIF, but it already exists.', params: ['PIF'] },
  PIF_VLAN_STILL_EXISTS: { doc: 'Operation cannot proceed while a VLAN exists on this interface.', params: ['PIF'] },
  PIF_ALREADY_BONDED: { doc: 'This operation cannot be performed because the pif is bonded.', params: ['PIF'] },
  PIF_IS_PHYSICAL: { doc: 'You tried to destroy a PIF, but it represents an aspect of the physical host configuration, and so cannot be destroyed.  The parameter echoes the PIF handle you gave.', params: ['PIF'] },
  PIF_IS_NOT_PHYSICAL: { doc: 'You tried to perform an operation which was only allowed on physical PIF', params: ['PIF'] },
  PIF_BOND_NEEDS_MORE_MEMBERS: { doc: 'A bond must consist of at least two member interfaces', params: [] },
  PIF_CANNOT_BOND_CROSS_HOST: { doc: 'You cannot bond interfaces across different hosts.', params: [] },
  PIF_BOND_MORE_THAN_ONE_IP: { doc: 'Only one PIF on a bond is allowed to have an IP configuration.', params: [] },
  PIF_IS_MANAGEMENT_INTERFACE: { doc: 'The operation you requested cannot be performed because the specified PIF is the management interface.', params: ['PIF'] },
  PIF_HAS_NO_NETWORK_CONFIGURATION: { doc: 'PIF has no IP configuration (mode currently set to \'none\')', params: ['PIF'] },
  CANNOT_ADD_VLAN_TO_BOND_SLAVE: { doc: 'This PIF is a bond member and cannot have a VLAN on it.', params: ['PIF'] },
  CANNOT_PLUG_BOND_SLAVE: { doc: 'This PIF is a bond member and cannot be plugged.', params: ['PIF'] },
  NETWORK_CONTAINS_PIF: { doc: 'The network contains active PIFs and cannot be deleted.', params: ['pifs'] },
  NETWORK_CONTAINS_VIF: { doc: 'The network contains active VIFs and cannot be deleted.', params: ['vifs'] },
  NETWORK_ALREADY_CONNECTED: { doc: 'You tried to create a PIF, but the network you tried to attach it to is already attached to some other PIF, and so the creation failed.', params: ['network', 'connected PIF'] },
  CANNOT_DESTROY_SYSTEM_NETWORK: { doc: 'You tried to destroy a system network: these cannot be destroyed.', params: ['network'] },
  INVALID_IP_ADDRESS_SPECIFIED: { doc: 'A required parameter contained an invalid IP address', params: ['parameter'] },
  PIF_CONFIGURATION_ERROR: { doc: 'An unknown error occurred while attempting to configure an interface.', params: ['PIF', 'msg'] },
  PIF_DEVICE_NOT_FOUND: { doc: 'The specified device was not found.', params: [] },
  HOST_HAS_NO_MANAGEMENT_IP: { doc: 'The host failed to acquire an IP address on its management interface and therefore cannot contact the master.', params: [] },
  DEVICE_ALREADY_EXISTS: { doc: 'A device with the name given already exists on the selected VM', params: ['device'] },
  PERMISSION_DENIED: { doc: 'Caller not allowed to perform this operation.', params: ['message'] },
  MEMORY_CONSTRAINT_VIOLATION: { doc: 'The dynamic memory range does not satisfy the following constraint.', params: ['constraint'] },
  MEMORY_CONSTRAINT_VIOLATION_ORDER: { doc: 'The dynamic memory range violates constraint static_min <= dynamic_min <= dynamic_max <= static_max.', params: [] },
  VM_NOT_RESIDENT_HERE: { doc: 'The specified VM is not currently resident on the specified server.', params: ['vm', 'host'] },
  HOST_CANNOT_DESTROY_SELF: { doc: 'The pool coordinator host cannot be removed.', params: ['host'] },
  HOST_IS_LIVE: { doc: 'This operation cannot be completed because the server is still live.', params: ['host'] },
  HOST_HAS_RESIDENT_VMS: { doc: 'This server cannot be forgotten because there are user VMs still running.', params: ['host'] },
  CANNOT_CONTACT_HOST: { doc: 'Cannot forward messages because the server cannot be contacted. The server may be switched off or there may be network connectivity problems.', params: ['host'] },
  VM_HAS_NO_SUSPEND_VDI: { doc: 'VM cannot be resumed because it has no suspend VDI', params: ['vm'] },
  OBJECT_NOLONGER_EXISTS: { doc: 'The specified object no longer exists.', params: [] },
  OPERATION_BLOCKED: { doc: 'You attempted an operation that was explicitly blocked (see the blocked_operations field of the given object).', params: ['ref', 'code'] },
  LOCATION_NOT_UNIQUE: { doc: 'A VDI with the specified location already exists within the SR', params: ['SR', 'location'] },
  DB_UNIQUENESS_CONSTRAINT_VIOLATION: { doc: 'You attempted an operation which would have resulted in duplicate keys in the database.', params: ['table', 'field', 'value'] },
  NETWORK_INCOMPATIBLE_PURPOSES: { doc: 'You tried to add a purpose to a network but the new purpose is not compatible with an existing purpose of the network or other networks.', params: ['new_purpose', 'conflicting_purpose'] },
  SR_REQUIRES_UPGRADE: { doc: 'The operation cannot be performed until the SR has been upgraded', params: ['SR'] },
  VM_NO_EMPTY_CD_VBD: { doc: 'The VM has no empty CD drive (VBD).', params: ['vm'] },
  VM_CHECKPOINT_SUSPEND_FAILED: { doc: 'An error occured while saving the memory image of the specified virtual machine', params: ['vm'] },
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
