/**
 * @module
 * The simulator's suspend image: a small file naming the VM and carrying what the guest
 * needs to continue (its boot identity and behaviour). Real images hold guest memory; the
 * simulator keeps only what proves the same guest came back.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { HypervisorError, HypervisorErrorCode } from '../../src/core/ports/hypervisor.js';
import type { MigratingDomain } from '../../src/hypervisor/sim-protocol.js';

const MAGIC = 'ISLET-SIM-SUSPEND 1';

export type SuspendedDomain = Omit<MigratingDomain, 'state'>;

export async function writeSuspendImage(path: string, d: SuspendedDomain): Promise<number> {
  const body = `${MAGIC}\n${JSON.stringify({ ...d, savedAt: Date.now() })}\n`;
  try {
    await writeFile(path, body, { mode: 0o600 });
  } catch (e) {
    throw new HypervisorError(HypervisorErrorCode.invalidArgument,
      `cannot write suspend image ${path}: ${(e as Error).message}`, { path });
  }
  return Buffer.byteLength(body);
}

export async function readSuspendImage(path: string): Promise<SuspendedDomain> {
  const bad = (why: string) => new HypervisorError(HypervisorErrorCode.badImage, `${path}: ${why}`, { path });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw bad((e as Error).message);
  }
  const [magic, json] = text.split('\n');
  if (magic !== MAGIC || !json) throw bad('not a suspend image');
  let d: SuspendedDomain;
  try {
    d = JSON.parse(json) as SuspendedDomain;
  } catch {
    throw bad('corrupt suspend image');
  }
  if (typeof d.vmUuid !== 'string' || !(d.memory > 0) || !(d.vcpus > 0) || typeof d.guestBootId !== 'string') {
    throw bad('incomplete suspend image');
  }
  return { vmUuid: d.vmUuid, memory: d.memory, vcpus: d.vcpus, startedAt: d.startedAt, guestBootId: d.guestBootId, guest: d.guest, nics: Array.isArray(d.nics) ? d.nics : [] };
}
