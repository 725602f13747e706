/**
 * @module
 * The source half of a live migration: offer the domain to the destination simulator
 * with its one-time token, copy its memory at the configured rate (reporting progress),
 * then ask the destination to run it. The caller drops the source domain only after this
 * returns, so the guest is running somewhere at every moment. Any failure before the
 * commit leaves the destination with nothing (closing the connection releases what it
 * reserved) and the source domain untouched.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  HypervisorError, HypervisorErrorCode, isHypervisorError, type MigrationDestination,
} from '../../src/core/ports/hypervisor.js';
import { RpcConnection } from '../../src/hypervisor/rpc-connection.js';
import { SimMethod, type MigratingDomain } from '../../src/hypervisor/sim-protocol.js';

const MiB = 1024 * 1024;
/** Progress is reported about this often during a timed copy. */
const TICK_MS = 50;

/** How long copying `memory` bytes takes at `rateMiBs` (0 = no limit). */
export function copyDurationMs(memory: number, rateMiBs: number): number {
  return rateMiBs > 0 ? (memory / MiB / rateMiBs) * 1000 : 0;
}

function failed(why: string, e?: unknown): HypervisorError {
  const msg = e instanceof Error ? `${why}: ${e.message}` : why;
  return new HypervisorError(HypervisorErrorCode.migrationFailed, msg);
}

export async function sendDomain(
  dom: MigratingDomain, dest: MigrationDestination, rateMiBs: number,
  onProgress: (fraction: number) => void, signal: AbortSignal,
): Promise<void> {
  const target = dest.address.startsWith('unix:') ? dest.address : { host: dest.address, port: dest.port };
  let conn: RpcConnection;
  try {
    conn = await RpcConnection.open(target);
  } catch (e) {
    throw failed('cannot reach the destination', e);
  }
  const abort = () => void conn.close();
  signal.addEventListener('abort', abort, { once: true });
  try {
    try {
      await conn.call(SimMethod.migrateIncoming, { token: dest.token, domain: dom });
    } catch (e) {
      // The destination's refusal (no memory, bad token, already there) keeps its code.
      if (isHypervisorError(e) && e.code !== HypervisorErrorCode.unavailable) throw e;
      throw failed('the destination dropped the migration', e);
    }
    const total = copyDurationMs(dom.memory, rateMiBs);
    const steps = Math.max(1, Math.ceil(total / TICK_MS));
    // Each tick sleeps until its due time, so timer lateness does not add up over a long copy.
    const start = performance.now();
    for (let i = 1; i <= steps; i++) {
      const due = start + (total * i) / steps - performance.now();
      if (total > 0) await sleep(Math.max(0, due), undefined, { signal });
      if (!conn.isOpen) throw failed('the destination went away during the copy');
      onProgress(i / steps);
    }
    try {
      await conn.call(SimMethod.migrateCommit);
    } catch (e) {
      throw failed('the destination could not start the domain', e);
    }
  } finally {
    signal.removeEventListener('abort', abort);
    await conn.close();
  }
}
