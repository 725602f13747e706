/**
 * @module
 * From the hypervisor's failures to XenAPI errors. The hypervisor knows domains, not VMs
 * or hosts, so the mapping takes the VM and host refs of the call: NOT_ENOUGH_MEMORY
 * becomes HOST_NOT_ENOUGH_FREE_MEMORY [needed, available], BAD_STATE becomes
 * VM_BAD_POWER_STATE, a guest without PV drivers VM_MISSING_PV_DRIVERS, a device slot
 * already taken or empty DEVICE_ALREADY_ATTACHED / DEVICE_ALREADY_DETACHED (naming the VIF),
 * and a hypervisor that cannot be reached HOST_OFFLINE.
 */
import { ApiError } from '../../core/api-error.js';
import { HypervisorError, HypervisorErrorCode, isHypervisorError } from '../../core/ports/hypervisor.js';

/** What the mapping needs to know about the call that failed. */
export interface HypervisorCallSite {
  readonly vm?: string;
  readonly host: string;
  /** For migrations: the hosts on either side. */
  readonly source?: string;
  readonly destination?: string;
  readonly task?: string;
  /** For device hot-plug: the VIF (or VBD) being plugged. */
  readonly device?: string;
}

const DOMAIN_STATE: Record<string, string> = { running: 'running', paused: 'paused', shutdown: 'halted' };

function str(v: unknown, dflt = ''): string {
  return v === undefined ? dflt : String(v);
}

/** `running,paused` (the simulator's domain states) → `running, paused` (xapi's power states). */
function states(v: unknown): string {
  return str(v).split(',').filter(Boolean).map((s) => DOMAIN_STATE[s] ?? s).join(', ');
}

export function apiErrorFromHypervisor(e: HypervisorError, at: HypervisorCallSite): ApiError {
  const d = e.details;
  const vm = at.vm ?? '';
  switch (e.code) {
    case HypervisorErrorCode.notEnoughMemory:
      return new ApiError('HOST_NOT_ENOUGH_FREE_MEMORY', [str(d.needed), str(d.available)]);
    case HypervisorErrorCode.badState:
      return new ApiError('VM_BAD_POWER_STATE', [vm, states(d.expected), states(d.actual)]);
    case HypervisorErrorCode.noSuchDomain:
      return new ApiError('VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
    case HypervisorErrorCode.alreadyExists:
      return new ApiError('VM_BAD_POWER_STATE', [vm, 'halted', 'running']);
    case HypervisorErrorCode.noGuestAgent:
      return new ApiError('VM_MISSING_PV_DRIVERS', [vm]);
    case HypervisorErrorCode.notAcknowledged:
      return new ApiError('VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT', [vm]);
    case HypervisorErrorCode.timeout:
      return new ApiError('VM_SHUTDOWN_TIMEOUT', [vm, str(Number(d.timeoutMs ?? 0) / 1000)]);
    case HypervisorErrorCode.busy:
      return new ApiError('OTHER_OPERATION_IN_PROGRESS', ['VM', vm, str(d.op, 'unknown'), at.task ?? '']);
    case HypervisorErrorCode.cancelled:
      return new ApiError('TASK_CANCELLED', [at.task ?? '']);
    case HypervisorErrorCode.deviceExists:
      return new ApiError('DEVICE_ALREADY_ATTACHED', [at.device ?? str(d.device)]);
    case HypervisorErrorCode.noSuchDevice:
      return new ApiError('DEVICE_ALREADY_DETACHED', [at.device ?? str(d.device)]);
    case HypervisorErrorCode.migrationFailed:
    case HypervisorErrorCode.badToken:
      return new ApiError('VM_MIGRATE_FAILED', [vm, at.source ?? at.host, at.destination ?? '', e.message]);
    case HypervisorErrorCode.unavailable:
      return new ApiError('HOST_OFFLINE', [at.host]);
    default:
      return new ApiError('INTERNAL_ERROR', [e.message]);
  }
}

/** Runs `fn`, turning a hypervisor failure into the XenAPI error for this call site. */
export async function mapHypervisorErrors<T>(at: HypervisorCallSite, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isHypervisorError(e)) throw apiErrorFromHypervisor(e, at);
    throw e;
  }
}

/** A HypervisorError as an ApiError that crosses the wire between hosts unchanged. */
export function tunnelHypervisorError(e: HypervisorError): ApiError {
  const prefix = `${e.code}: `;
  const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new ApiError('ISLET_HYPERVISOR_ERROR', [e.code, message, JSON.stringify(e.details)]);
}

/** The HypervisorError inside a tunnelled error, or undefined for any other failure. */
export function untunnelHypervisorError(e: unknown): HypervisorError | undefined {
  const code = (e as { code?: unknown })?.code;
  const params = (e as { params?: unknown })?.params;
  if (code !== 'ISLET_HYPERVISOR_ERROR' || !Array.isArray(params)) return undefined;
  let details: Record<string, string | number | boolean> = {};
  try {
    details = JSON.parse(String(params[2] ?? '{}')) as typeof details;
  } catch { /* details are a courtesy */ }
  const known = Object.values(HypervisorErrorCode) as string[];
  const c = known.includes(String(params[0])) ? (params[0] as HypervisorErrorCode) : HypervisorErrorCode.internal;
  return new HypervisorError(c, String(params[1] ?? ''), details);
}
