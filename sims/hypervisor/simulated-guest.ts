/**
 * @module
 * What the simulated guest inside a domain does when asked to halt (clean shutdown or
 * clean reboot): without PV drivers it cannot be asked; a guest that ignores the request
 * lets the caller's wait run out; a slow guest that acknowledged keeps going down after
 * the caller stopped waiting, and then stops itself as any guest-initiated halt does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HypervisorError, HypervisorErrorCode, type ShutdownReason } from '../../src/core/ports/hypervisor.js';
import type { Domain } from './domain-table.js';

/**
 * Resolves once the guest has halted. `signal` cancels the wait (a hard stop);
 * `lateHalt` is called if the guest finishes halting after a TIMEOUT was reported.
 */
export async function requestGuestHalt(
  d: Domain, reason: ShutdownReason, timeoutMs: number, signal: AbortSignal,
  lateHalt: (d: Domain, reason: ShutdownReason) => void,
): Promise<void> {
  if (!d.guest.pvDrivers) {
    throw new HypervisorError(HypervisorErrorCode.noGuestAgent,
      `the guest of VM ${d.vmUuid} has no PV drivers`, { vmUuid: d.vmUuid });
  }
  if (!d.guest.acknowledges) {
    await sleep(timeoutMs, undefined, { signal });
    throw new HypervisorError(HypervisorErrorCode.notAcknowledged,
      `the guest of VM ${d.vmUuid} did not acknowledge the ${reason} request`, { vmUuid: d.vmUuid, timeoutMs });
  }
  const takes = d.guest.shutdownMs;
  if (takes <= timeoutMs) {
    await sleep(takes, undefined, { signal });
    if (signal.aborted) throw signal.reason;
    return;
  }
  await sleep(timeoutMs, undefined, { signal });
  const boot = d.guestBootId;
  sleep(takes - timeoutMs, undefined, { signal: d.life.signal, ref: false }).then(
    () => { if (d.guestBootId === boot) lateHalt(d, reason); },
    () => { /* the domain ended or was rebuilt first */ },
  );
  throw new HypervisorError(HypervisorErrorCode.timeout,
    `the guest of VM ${d.vmUuid} did not halt within ${timeoutMs} ms`, { vmUuid: d.vmUuid, timeoutMs });
}
