/**
 * @module
 * A host's toolstack and its hypervisor process. The hypervisor simulator runs beside the
 * toolstack as its own, detached process, so that the domains it holds outlive a
 * toolstack restart as Xen's outlive xapi's; the toolstack finds it through its state
 * directory, and starts one when none answers there and it is allowed to (plain
 * `islet server`; under `islet pool up` the supervisor starts it). `HostHypervisor` is the
 * `Hypervisor` the actions see: a stable object over whichever connection is current,
 * failing UNAVAILABLE while there is none. It tells the toolstack when to reconcile the
 * database with the hypervisor: on every (re)connection, when a guest stops itself, and
 * when the hypervisor goes away (its domains went with it). A toolstack that stops cleanly
 * stops a simulator it started only if that holds no domain.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DomainEventKind, HypervisorError, HypervisorErrorCode,
  type CreateDomain, type DomainEvent, type DomainInfo, type DomainNic, type DomainStats, type Hypervisor, type HypervisorInfo,
  type MigrateOptions, type MigrationDestination, type ResumeDomain, type SuspendResult,
} from '../core/ports/hypervisor.js';
import { SimHypervisorClient } from '../hypervisor/sim-hypervisor-client.js';
import { ADDRESS_FILE, parseSimAddress } from '../hypervisor/sim-protocol.js';

export const PID_FILE = 'pid';
const LOG_FILE = 'hypervisor.log';

export interface HostHypervisorOptions {
  readonly stateDir: string;
  /** Start a simulator when none answers (off when a supervisor owns it). */
  readonly spawn: boolean;
  /** The address the toolstack serves on; the simulator listens there too. */
  readonly listenHost: string;
  /** Where other hosts reach this one, for a wildcard listen address. */
  readonly advertiseHost: () => string;
  /** Simulator options when this toolstack starts it. */
  readonly memory?: string;
  readonly migrationRateMiBs?: number;
  readonly cpus?: number;
  /** How long a simulator has to answer the toolstack's hello (5 s unless a test says less). */
  readonly helloTimeoutMs?: number;
  readonly log: (msg: string) => void;
}

/** What the toolstack does when the hypervisor's domains may differ from the database. */
export type ChangeListener = (gone: boolean) => Promise<void>;

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

function unavailable(): HypervisorError {
  return new HypervisorError(HypervisorErrorCode.unavailable, 'the host\'s hypervisor is not connected');
}

/** `node <sim>` as this very toolstack runs: compiled, or TypeScript under a loader. */
function simCommand(): string[] {
  const ts = import.meta.url.endsWith('.ts');
  const sim = fileURLToPath(new URL(`../../sims/hypervisor/hypervisor-sim.${ts ? 'ts' : 'js'}`, import.meta.url));
  const loader: string[] = [];
  const ea = process.execArgv;
  for (let i = 0; ts && i < ea.length; i++) {
    if ((ea[i] === '--import' || ea[i] === '--loader') && ea[i + 1]) loader.push(ea[i]!, ea[++i]!);
    else if (/^--(import|loader)=/.test(ea[i]!)) loader.push(ea[i]!);
  }
  return [...loader, sim];
}

/**
 * True only when no simulator can be there: no address file, or nothing accepting
 * connections at the address it gives. One that accepts but has not answered is there.
 */
async function nobodyListens(addressFile: string): Promise<boolean> {
  let address: string;
  try {
    address = (await readFile(addressFile, 'utf8')).trim();
  } catch {
    return true;
  }
  let a: ReturnType<typeof parseSimAddress>;
  try {
    a = parseSimAddress(address);
  } catch {
    return true;
  }
  return new Promise((resolve) => {
    const socket = 'path' in a ? connect(a.path) : connect(a.port, a.host);
    const done = (absent: boolean) => { clearTimeout(timer); socket.destroy(); resolve(absent); };
    const timer = setTimeout(() => done(false), 5000);
    socket.once('connect', () => done(false));
    socket.once('error', () => done(true));
  });
}

export class HostHypervisor implements Hypervisor {
  private client?: SimHypervisorClient;
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private onChange: ChangeListener = async () => undefined;
  private stopped = false;
  private reconnecting?: Promise<void>;
  private reports: Promise<void> = Promise.resolve();

  constructor(private readonly o: HostHypervisorOptions) {}

  /** Connects (starting the simulator if allowed and needed); later changes go to `onChange`. */
  async start(onChange: ChangeListener): Promise<void> {
    this.onChange = onChange;
    await mkdir(this.o.stateDir, { recursive: true });
    if (!(await this.connectOrSpawn())) this.reconnect();
  }

  /** `HOST:PORT` where other hosts' hypervisors send migrations to this one. */
  endpoint(): string | undefined {
    if (!this.client?.connected) return undefined;
    const a = parseSimAddress(this.client.address);
    if ('path' in a) return undefined;
    const host = WILDCARDS.has(a.host) ? this.o.advertiseHost() : a.host;
    return `${host.includes(':') ? `[${host}]` : host}:${a.port}`;
  }

  get connected(): boolean {
    return !!this.client?.connected;
  }

  /**
   * Lets go of the hypervisor. Its domains stay; but a simulator this toolstack started
   * that holds no domain has nothing to keep, and is stopped rather than left behind.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.client;
    this.client = undefined;
    const idle = this.o.spawn && c?.connected && (await c.list().catch(() => [undefined])).length === 0;
    await c?.close();
    if (idle) {
      const pid = Number((await readFile(join(this.o.stateDir, PID_FILE), 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0) {
        try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
      }
    }
    await this.reports.catch(() => undefined);
  }

  private async connectOnce(): Promise<SimHypervisorClient | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const attempt = SimHypervisorClient.connect({
      stateDir: this.o.stateDir,
      onDisconnect: (why) => this.disconnected(attempt, why),
    });
    try {
      return await Promise.race([
        attempt,
        new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error('timed out')), this.o.helloTimeoutMs ?? 5000); }),
      ]);
    } catch {
      void attempt.then((c) => c.close(), () => undefined);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private async connectOrSpawn(): Promise<boolean> {
    let c = await this.connectOnce();
    // A simulator that is there but slow to answer (a loaded machine) is waited for, never
    // replaced: a second one in the same state directory would take over its address file,
    // and the first one's domains would look gone (their VMs Halted while still running).
    if (!c && this.o.spawn && !this.stopped && (await nobodyListens(join(this.o.stateDir, ADDRESS_FILE)))) {
      await this.spawnSim();
      c = await this.connectOnce();
    }
    if (!c || this.stopped) {
      await c?.close();
      return false;
    }
    this.client = c;
    await c.watch((e) => this.event(e));
    this.o.log(`hypervisor connected at ${c.address} (boot ${c.bootId})`);
    this.report(false);
    return true;
  }

  /** Starts a detached simulator and waits until it has written its address. */
  private async spawnSim(): Promise<void> {
    const dir = this.o.stateDir;
    const addressFile = join(dir, ADDRESS_FILE);
    await rm(addressFile, { force: true });
    const listen = WILDCARDS.has(this.o.listenHost) ? '0.0.0.0' : this.o.listenHost;
    const args = [
      '--state-dir', dir, '--listen', `${listen.includes(':') ? `[${listen}]` : listen}:0`,
      ...(this.o.memory ? ['--memory', this.o.memory] : []),
      ...(this.o.migrationRateMiBs !== undefined ? ['--migration-rate', String(this.o.migrationRateMiBs)] : []),
      ...(this.o.cpus ? ['--cpus', String(this.o.cpus)] : []),
    ];
    const log = openSync(join(dir, LOG_FILE), 'a');
    let exited: number | null | undefined;
    try {
      const child = spawn(process.execPath, [...simCommand(), ...args], { detached: true, stdio: ['ignore', log, log] });
      child.once('exit', (code) => { exited = code; });
      child.unref();
      if (child.pid) await writeFile(join(dir, PID_FILE), `${child.pid}\n`);
      for (let waited = 0; waited < 30_000 && exited === undefined; waited += 50) {
        if (await stat(addressFile).then(() => true, () => false)) {
          this.o.log(`hypervisor started (pid ${child.pid})`);
          return;
        }
        await sleep(50);
      }
      this.o.log(`hypervisor did not start${exited !== undefined ? ` (exit ${exited})` : ''}; see ${join(dir, LOG_FILE)}`);
    } finally {
      closeSync(log);
    }
  }

  private disconnected(which: Promise<SimHypervisorClient>, why: string): void {
    void which.then((c) => {
      if (this.stopped || this.client !== c) return;
      this.client = undefined;
      this.o.log(`hypervisor lost: ${why}`);
      this.report(true);
      this.reconnect();
    }, () => undefined);
  }

  private reconnect(): void {
    this.reconnecting ??= (async () => {
      // Waiting for someone else's simulator is cheap; one we start but that will not come
      // up is retried ever less often.
      for (let delay = 1000; !this.stopped && !this.client; delay = this.o.spawn ? Math.min(delay * 2, 30_000) : 1000) {
        await sleep(delay);
        if (!this.stopped && (await this.connectOrSpawn())) break;
      }
      this.reconnecting = undefined;
    })();
  }

  private event(e: DomainEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch { /* a listener's failure is its own */ }
    }
    // A domain that arrived by migration is reported too: when the toolstack that drove the
    // migration died between the hypervisors' commit and its own record of it (a master
    // killed during an evacuation), this report is what places the VM on this host again.
    if (e.kind === DomainEventKind.guestShutdown || e.kind === DomainEventKind.migratedIn) this.report(false);
  }

  /** Queues a report to the toolstack, retried until it goes through (the master may be away). */
  private report(gone: boolean): void {
    this.reports = this.reports.then(async () => {
      for (let delay = 500; !this.stopped; delay = Math.min(delay * 2, 10_000)) {
        try {
          await this.onChange(gone);
          return;
        } catch (e) {
          this.o.log(`reconciling with the hypervisor failed (${e instanceof Error ? e.message : String(e)}); retrying`);
          await sleep(delay);
        }
      }
    });
  }

  private get c(): SimHypervisorClient {
    if (!this.client?.connected) throw unavailable();
    return this.client;
  }

  async info(): Promise<HypervisorInfo> { return this.c.info(); }
  async list(): Promise<DomainInfo[]> { return this.c.list(); }
  async stats(): Promise<DomainStats[]> { return this.c.stats(); }
  async dmesg(): Promise<string> { return this.c.dmesg(); }
  async debugKeys(keys: string): Promise<void> { return this.c.debugKeys(keys); }
  async create(spec: CreateDomain): Promise<DomainInfo> { return this.c.create(spec); }
  async destroy(vmUuid: string): Promise<void> { return this.c.destroy(vmUuid); }
  async shutdown(vmUuid: string, opts: { timeoutMs: number }): Promise<void> { return this.c.shutdown(vmUuid, opts); }
  async reboot(vmUuid: string, opts: { clean: boolean; timeoutMs?: number }): Promise<DomainInfo> { return this.c.reboot(vmUuid, opts); }
  async pause(vmUuid: string): Promise<DomainInfo> { return this.c.pause(vmUuid); }
  async unpause(vmUuid: string): Promise<DomainInfo> { return this.c.unpause(vmUuid); }
  async plugNic(vmUuid: string, nic: DomainNic): Promise<DomainInfo> { return this.c.plugNic(vmUuid, nic); }
  async unplugNic(vmUuid: string, device: string, opts: { force: boolean }): Promise<DomainInfo> { return this.c.unplugNic(vmUuid, device, opts); }
  async suspend(vmUuid: string, opts: { path: string }): Promise<SuspendResult> { return this.c.suspend(vmUuid, opts); }
  async resume(spec: ResumeDomain): Promise<DomainInfo> { return this.c.resume(spec); }
  async prepareReceive(vmUuid: string): Promise<string> { return this.c.prepareReceive(vmUuid); }
  async migrateSend(vmUuid: string, dest: MigrationDestination, opts?: MigrateOptions): Promise<void> {
    return this.c.migrateSend(vmUuid, dest, opts);
  }

  async watch(onEvent: (e: DomainEvent) => void): Promise<() => void> {
    this.listeners.add(onEvent);
    return () => { this.listeners.delete(onEvent); };
  }

  /** The connection goes; the domains stay. */
  async close(): Promise<void> {
    return this.stop();
  }
}
