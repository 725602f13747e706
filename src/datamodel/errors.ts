/**
 * @module
 * The XenAPI error codes Islet raises, each with the names of its parameters. A code is
 * declared here once; `ApiError` refuses codes that are not, so a typo cannot reach a client.
 */
export const ErrorCodes = {
  INTERNAL_ERROR: ['message'],
  SUBJECT_ALREADY_EXISTS: [],
  MESSAGE_METHOD_UNKNOWN: ['method'],
  MESSAGE_PARAMETER_COUNT_MISMATCH: ['method', 'expected', 'received'],
  MESSAGE_DEPRECATED: [],
  MESSAGE_REMOVED: [],
  XMLRPC_UNMARSHAL_FAILURE: ['message'],
  JSONRPC_UNMARSHAL_FAILURE: ['message'],
  FIELD_TYPE_ERROR: ['field'],
  HANDLE_INVALID: ['class', 'handle'],
  UUID_INVALID: ['class', 'uuid'],
  MAP_DUPLICATE_KEY: ['type', 'param_name', 'uuid', 'key'],
  INVALID_VALUE: ['field', 'value'],
  VALUE_NOT_SUPPORTED: ['field', 'value', 'reason'],
  OPERATION_NOT_ALLOWED: ['reason'],
  OTHER_OPERATION_IN_PROGRESS: ['class', 'object', 'operation_type', 'operation_ref'],
  SESSION_AUTHENTICATION_FAILED: ['uname', 'msg'],
  SESSION_AUTHORIZATION_FAILED: ['uname', 'msg'],
  SESSION_INVALID: ['handle'],
  SESSION_NOT_REGISTERED: ['handle'],
  RBAC_PERMISSION_DENIED: ['permission', 'message'],
  USER_IS_NOT_LOCAL_SUPERUSER: ['msg'],
  CHANGE_PASSWORD_REJECTED: ['msg'],
  EVENTS_LOST: [],
  EVENT_FROM_TOKEN_PARSE_FAILURE: ['token'],
  EVENT_SUBSCRIPTION_PARSE_FAILURE: ['subscription'],
  TASK_CANCELLED: ['task'],
  REQUEST_ENTITY_TOO_LARGE: [],
  HOST_IS_SLAVE: ['master_IP_address'],
  HOST_OFFLINE: ['host'],
  HOST_NOT_LIVE: [],
  HOST_NOT_DISABLED: [],
  HOST_DISABLED: ['host'],
  NOT_IMPLEMENTED: ['function'],
  BOOTLOADER_FAILED: ['vm', 'msg'],
  CLUSTERING_ENABLED: ['cluster_host'],
  DEVICE_ALREADY_DETACHED: ['device'],
  DEVICE_DETACH_REJECTED: ['type', 'ref', 'msg'],
  HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED: ['SR'],
  HA_IS_ENABLED: [],
  HA_NOT_ENABLED: [],
  HA_NOT_INSTALLED: ['host'],
  HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN: [],
  HOST_POWER_ON_MODE_DISABLED: [],
  XENAPI_MISSING_PLUGIN: ['name'],
  HOST_CANNOT_ATTACH_NETWORK: ['host', 'network'],
  HOST_NOT_ENOUGH_FREE_MEMORY: ['needed', 'available'],
  HOST_NOT_ENOUGH_PCPUS: ['vcpus', 'pcpus'],
  JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS: [],
  LICENCE_RESTRICTION: ['feature'],
  MEMORY_CONSTRAINT_VIOLATION: ['constraint'],
  NETWORK_INCOMPATIBLE_PURPOSES: ['new_purpose', 'conflicting_purpose'],
  NETWORK_SRIOV_INSUFFICIENT_CAPACITY: ['network'],
  NO_HOSTS_AVAILABLE: [],
  PIF_DOES_NOT_ALLOW_UNPLUG: ['PIF'],
  PIF_HAS_FCOE_SR_IN_USE: ['PIF', 'SR'],
  SR_FULL: ['requested', 'maximum'],
  SR_HAS_NO_PBDS: ['sr'],
  SR_HAS_PBD: ['sr'],
  SR_NOT_ATTACHED: ['sr'],
  SR_OPERATION_NOT_SUPPORTED: ['sr'],
  SR_UNKNOWN_DRIVER: ['driver'],
  TRANSPORT_PIF_NOT_CONFIGURED: ['PIF'],
  UNKNOWN_BOOTLOADER: ['vm', 'bootloader'],
  VBD_IS_EMPTY: ['vbd'],
  VBD_NOT_EMPTY: ['vbd'],
  VBD_NOT_REMOVABLE_MEDIA: ['vbd'],
  VDI_INCOMPATIBLE_TYPE: ['vdi', 'type'],
  VDI_IN_USE: ['vdi', 'operation'],
  VDI_MISSING: ['sr', 'vdi'],
  VDI_NOT_SPARSE: ['vdi'],
  VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION: [],
  VDI_READONLY: ['vdi'],
  VDI_TOO_SMALL: ['vdi', 'minimum_size'],
  VIF_IN_USE: ['network', 'VIF'],
  VM_BAD_POWER_STATE: ['vm', 'expected', 'actual'],
  VM_BIOS_STRINGS_ALREADY_SET: [],
  VM_CHECKPOINT_RESUME_FAILED: ['vm'],
  VM_CHECKPOINT_SUSPEND_FAILED: ['vm'],
  VM_HOST_INCOMPATIBLE_VERSION: ['host', 'vm'],
  VM_HOST_INCOMPATIBLE_VIRTUAL_HARDWARE_PLATFORM_VERSION: ['host', 'host_versions', 'vm', 'vm_version'],
  VM_HVM_REQUIRED: ['vm'],
  VM_INCOMPATIBLE_WITH_THIS_HOST: ['vm', 'host', 'reason'],
  VM_IS_TEMPLATE: ['vm'],
  VM_REQUIRES_GPU: ['vm', 'GPU_group'],
  VM_REQUIRES_IOMMU: ['host'],
  VM_REQUIRES_NETWORK: ['vm', 'network'],
  VM_REQUIRES_SR: ['vm', 'sr'],
  VM_REQUIRES_VGPU: ['vm', 'GPU_group', 'vGPU_type'],
  VM_REVERT_FAILED: ['vm', 'snapshot'],
  INVALID_DEVICE: ['device'],
  MAC_INVALID: ['MAC'],
} as const satisfies Record<string, readonly string[]>;

/**
 * sm's error numbers (`XE_SR_ERRORCODES.xml`) that the storage drivers report, as xapi's
 * hosts do, as `SR_BACKEND_FAILURE_<n>` with params `[status, stdout, stderr]`. A driver
 * raising a new number adds it here; its code will not type-check until it does.
 */
export const SM_ERROR_NUMBERS = [1, 37, 40, 42, 43, 44, 46, 47, 61, 63, 64, 67, 68, 78, 79, 80, 81, 82, 92, 94, 95, 109] as const;
export type SmBackendCode = `SR_BACKEND_FAILURE_${(typeof SM_ERROR_NUMBERS)[number]}`;
const SM_PARAMS = ['status', 'stdout', 'stderr'] as const;
const smCodes = new Set<string>(SM_ERROR_NUMBERS.map((n) => `SR_BACKEND_FAILURE_${n}`));

export type ErrorCode = keyof typeof ErrorCodes | SmBackendCode;

/** Lets later modules (storage, pool, updates) add their codes without editing this table. */
const extra = new Map<string, readonly string[]>();
export function declareErrors(codes: Record<string, readonly string[]>): void {
  for (const [code, params] of Object.entries(codes)) extra.set(code, params);
}
export function isDeclaredError(code: string): boolean {
  return code in ErrorCodes || smCodes.has(code) || extra.has(code);
}
export function errorParams(code: string): readonly string[] | undefined {
  return (ErrorCodes as Record<string, readonly string[]>)[code] ?? (smCodes.has(code) ? SM_PARAMS : extra.get(code));
}
