/**
 * @module
 * Starts a real hypervisor simulator process on 127.0.0.1 (a port the OS picks) with a
 * temporary state directory, connects toolstack-side clients to it, and stops it. `kill9`
 * and `restart` stand for a host crash and reboot: the restarted process serves the same
 * state directory (same secret) on the same port, with no domains.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { parseSimAddress } from '../../src/hypervisor/sim-protocol.js';
import { spawnModule } from './spawn-ts.js';
import { hasEnded, stopChild } from './stop-child.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export interface SimOptions {
  memory?: number;
  cpus?: number;
  migrationRateMiBs?: number;
  overheadPerDomain?: number;
  bootTime?: number;
  stateDir?: string;
  port?: number;
  /** Remove the state directory on stop; the default when the helper made it. */
  ownsStateDir?: boolean;
}

export interface SimProcess {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly stateDir: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** A new toolstack-side client (the caller closes it). */
  connect(): Promise<SimHypervisorClient>;
  /** SIGKILL: the host crashes. */
  kill9(): Promise<void>;
  /** Starts it again on the same state directory and port (a reboot). */
  restart(): Promise<SimProcess>;
  stop(): Promise<void>;
}

export async function startHypervisorSim(o: SimOptions = {}): Promise<SimProcess> {
  const ownsDir = o.ownsStateDir ?? !o.stateDir;
  const stateDir = o.stateDir ?? (await mkdtemp(join(tmpdir(), 'islet-hv-')));
  const args = [
    '--state-dir', stateDir, '--listen', `127.0.0.1:${o.port ?? 0}`,
    '--memory', String(o.memory ?? 4 * GiB), '--cpus', String(o.cpus ?? 4),
    '--migration-rate', String(o.migrationRateMiBs ?? 0),
    '--domain-overhead', String(o.overheadPerDomain ?? 8 * MiB),
    ...(o.bootTime !== undefined ? ['--boot-time', String(o.bootTime)] : []),
  ];
  const child = spawnModule('sims/hypervisor/hypervisor-sim.ts', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hypervisor-sim not ready:\n${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`hypervisor-sim exited ${code}:\n${err}`)); });
  });
  const parsed = parseSimAddress(address);
  if ('path' in parsed) throw new Error('expected a TCP address');
  const kill = async (signal: NodeJS.Signals) => {
    if (hasEnded(child)) return;
    if (signal === 'SIGTERM') return stopChild(child);
    child.kill(signal);
    await exited;
  };
  return {
    address, host: parsed.host, port: parsed.port, stateDir, child,
    stderr: () => err,
    connect: () => SimHypervisorClient.connect({ stateDir }),
    kill9: () => kill('SIGKILL'),
    restart: async () => {
      await kill('SIGKILL');
      return startHypervisorSim({ ...o, stateDir, port: parsed.port, ownsStateDir: ownsDir });
    },
    stop: async () => {
      await kill('SIGTERM');
      if (ownsDir) await rm(stateDir, { recursive: true, force: true });
    },
  };
}
