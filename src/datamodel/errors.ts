/**
 * @module
 * The XenAPI error codes Islet raises, each with the names of its parameters. A code is
 * declared here once; `ApiError` refuses codes that are not, so a typo cannot reach a client.
 */
export const ErrorCodes = {
  INTERNAL_ERROR: ['message'],
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
} as const satisfies Record<string, readonly string[]>;

export type ErrorCode = keyof typeof ErrorCodes;

/** Lets later modules (storage, pool, updates) add their codes without editing this table. */
const extra = new Map<string, readonly string[]>();
export function declareErrors(codes: Record<string, readonly string[]>): void {
  for (const [code, params] of Object.entries(codes)) extra.set(code, params);
}
export function isDeclaredError(code: string): boolean {
  return code in ErrorCodes || extra.has(code);
}
export function errorParams(code: string): readonly string[] | undefined {
  return (ErrorCodes as Record<string, readonly string[]>)[code] ?? extra.get(code);
}
