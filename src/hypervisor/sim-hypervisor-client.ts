/**
 * @module
 * The `Hypervisor` port over a connection to the host's hypervisor simulator process.
 * The toolstack finds the simulator through its state directory (the `address` it serves
 * and the `secret` it accepts) or is told both. If the simulator goes away (the host is
 * going down) every call fails UNAVAILABLE and `onDisconnect` fires; the client does not
 * reconnect by itself, the toolstack decides what that means. A toolstack restart is just
 * a new client: the domains stay in the simulator.
 *
 * @example
 * const hv = await SimHypervisorClient.connect({ stateDir: '/var/islet/hv' });
 * await hv.create({ vmUuid, memory: 512 * 2 ** 20, vcpus: 1 });
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HypervisorError, HypervisorErrorCode,
  type CreateDomain, type DomainEvent, type DomainInfo, type DomainNic, type DomainStats, type Hypervisor, type HypervisorInfo,
  type MigrateOptions, type MigrationDestination, type ResumeDomain, type ShutdownReason, type SuspendResult,
} from '../core/ports/hypervisor.js';
import { RpcConnection } from './rpc-connection.js';
import { ADDRESS_FILE, SECRET_FILE, SimMethod, type GuestBehaviour } from './sim-protocol.js';

export interface SimClientOptions {
  /** `HOST:PORT` or `unix:PATH`; read from `stateDir` when absent. */
  readonly address?: string;
  /** The host's shared secret; read from `stateDir` when absent. */
  readonly secret?: string;
  /** The simulator's state directory. */
  readonly stateDir?: string;
  /** Called once if the connection is lost. */
  readonly onDisconnect?: (reason: string) => void;
}

async function fromStateDir(stateDir: string | undefined, file: string): Promise<string> {
  if (!stateDir) throw new HypervisorError(HypervisorErrorCode.invalidArgument, `no ${file} given and no state directory`);
  try {
    return (await readFile(join(stateDir, file), 'utf8')).trim();
  } catch (e) {
    throw new HypervisorError(HypervisorErrorCode.unavailable, `hypervisor ${file} not readable: ${(e as Error).message}`);
  }
}

export class SimHypervisorClient implements Hypervisor {
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private watching?: Promise<unknown>;

  private constructor(private readonly conn: RpcConnection, readonly bootId: string, readonly address: string) {
    conn.onEvent((e) => {
      for (const l of this.listeners) {
        try { l(e as DomainEvent); } catch { /* a listener's failure is its own */ }
      }
    });
  }

  static async connect(o: SimClientOptions): Promise<SimHypervisorClient> {
    const address = o.address ?? (await fromStateDir(o.stateDir, ADDRESS_FILE));
    const secret = o.secret ?? (await fromStateDir(o.stateDir, SECRET_FILE));
    const conn = await RpcConnection.open(address);
    try {
      const { bootId } = await conn.call<{ bootId: string }>(SimMethod.hello, { secret });
      if (o.onDisconnect) conn.onClose(o.onDisconnect);
      return new SimHypervisorClient(conn, bootId, address);
    } catch (e) {
      await conn.close();
      throw e;
    }
  }

  get connected(): boolean {
    return this.conn.isOpen;
  }

  info(): Promise<HypervisorInfo> {
    return this.conn.call(SimMethod.info);
  }

  list(): Promise<DomainInfo[]> {
    return this.conn.call(SimMethod.list);
  }

  stats(): Promise<DomainStats[]> {
    return this.conn.call(SimMethod.stats);
  }

  dmesg(): Promise<string> {
    return this.conn.call(SimMethod.dmesg);
  }

  debugKeys(keys: string): Promise<void> {
    return this.conn.call(SimMethod.debugKeys, { keys });
  }

  create(spec: CreateDomain): Promise<DomainInfo> {
    return this.conn.call(SimMethod.create, { ...spec });
  }

  async destroy(vmUuid: string): Promise<void> {
    await this.conn.call(SimMethod.destroy, { vmUuid });
  }

  async shutdown(vmUuid: string, opts: { timeoutMs: number }): Promise<void> {
    await this.conn.call(SimMethod.shutdown, { vmUuid, timeoutMs: opts.timeoutMs });
  }

  reboot(vmUuid: string, opts: { clean: boolean; timeoutMs?: number }): Promise<DomainInfo> {
    return this.conn.call(SimMethod.reboot, { vmUuid, ...opts });
  }

  pause(vmUuid: string): Promise<DomainInfo> {
    return this.conn.call(SimMethod.pause, { vmUuid });
  }

  unpause(vmUuid: string): Promise<DomainInfo> {
    return this.conn.call(SimMethod.unpause, { vmUuid });
  }

  plugNic(vmUuid: string, nic: DomainNic): Promise<DomainInfo> {
    return this.conn.call(SimMethod.plugNic, { vmUuid, nic: { ...nic } });
  }

  unplugNic(vmUuid: string, device: string, opts: { force: boolean }): Promise<DomainInfo> {
    return this.conn.call(SimMethod.unplugNic, { vmUuid, device, force: opts.force });
  }

  suspend(vmUuid: string, opts: { path: string }): Promise<SuspendResult> {
    return this.conn.call(SimMethod.suspend, { vmUuid, path: opts.path });
  }

  resume(spec: ResumeDomain): Promise<DomainInfo> {
    return this.conn.call(SimMethod.resume, { ...spec });
  }

  prepareReceive(vmUuid: string): Promise<string> {
    return this.conn.call(SimMethod.prepareReceive, { vmUuid });
  }

  async migrateSend(vmUuid: string, dest: MigrationDestination, opts: MigrateOptions = {}): Promise<void> {
    await this.conn.call(SimMethod.migrateSend, { vmUuid, dest: { ...dest } }, opts.onProgress);
  }

  async watch(onEvent: (e: DomainEvent) => void): Promise<() => void> {
    this.listeners.add(onEvent);
    try {
      await (this.watching ??= this.conn.call(SimMethod.watch));
    } catch (e) {
      this.listeners.delete(onEvent);
      this.watching = undefined;
      throw e;
    }
    return () => { this.listeners.delete(onEvent); };
  }

  close(): Promise<void> {
    this.listeners.clear();
    return this.conn.close();
  }

  /** Simulator control: how the guest answers requests from now on. */
  configureGuest(vmUuid: string, behaviour: Partial<GuestBehaviour>): Promise<DomainInfo> {
    return this.conn.call(SimMethod.guestConfigure, { vmUuid, behaviour });
  }

  /** Simulator control: the guest halts, asks to reboot or crashes on its own. */
  guestShutdown(vmUuid: string, reason: ShutdownReason): Promise<DomainInfo> {
    return this.conn.call(SimMethod.guestShutdown, { vmUuid, reason });
  }
}
