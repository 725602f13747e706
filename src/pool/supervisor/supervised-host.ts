/**
 * @module
 * One host of a local pool as the supervisor runs it: its hypervisor simulator and its
 * toolstack, two processes with separate lives. A toolstack restart replaces only the
 * toolstack (the simulator, and the domains in it, live on); a reboot replaces both (a new
 * simulator has no domains and a later boot time); a shutdown stops both until someone
 * starts the host again. Like XenServer's watchdog restarting a crashed xapi, a toolstack
 * that dies on its own is started again after a short delay, as long as its simulator
 * still runs; a simulator that dies on its own is a host crash: the toolstack is killed
 * too and the host stays down until started. Operations on one host run one at a time.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bindListenSocket, type HeldListenSocket } from './held-listen-socket.js';
import type { HostState, HostStatus } from './supervisor-client.js';
import { ENV_HOST_INDEX, ENV_SOCKET } from './supervisor-client.js';
import { isRunning, spawnReady, stopChild, stopGraceMs, type ReadyChild } from './child-process.js';

export interface HostPlan {
  readonly index: number;
  /** The host's data directory (`<pool>/host<i>`). */
  readonly dir: string;
  /** The address its API (and simulator) listen on. */
  readonly listenHost: string;
  /** Its API port; 0 until the first start picked one. */
  port: number;
  readonly rootPassword: string;
  readonly migrationRate: number;
  readonly memory?: string;
  /** `--update-key` files for the toolstack's very first start (the one that makes the pool). */
  readonly updateKeys?: readonly string[];
}

export interface Commands {
  /** Executable and arguments that run `islet` (the same entry this supervisor runs as). */
  readonly islet: readonly string[];
  /** Executable and arguments that run the hypervisor simulator. */
  readonly sim: readonly string[];
  readonly socket: string;
}

function restartDelayMs(): number {
  const v = Number(process.env.ISLET_TOOLSTACK_RESTART_DELAY_MS);
  return Number.isFinite(v) && v >= 0 ? v : 2000;
}

const fmtHost = (h: string) => (h.includes(':') ? `[${h}]` : h);

export class SupervisedHost {
  state: HostState = 'down';
  bootTime: number | undefined;
  url = '';
  toolstackStarts = 0;
  hypervisorStarts = 0;
  #toolstack: ReadyChild | undefined;
  #hypervisor: ReadyChild | undefined;
  /** Processes being stopped on purpose, whose exit is no crash. */
  readonly #expected = new WeakSet<object>();
  #queue: Promise<unknown> = Promise.resolve();
  #failedRestarts = 0;
  #held: HeldListenSocket | undefined;
  /** Called when the toolstack's port becomes known (first start with port 0). */
  onPort: ((port: number) => void) | undefined;

  constructor(readonly plan: HostPlan, private readonly cmds: Commands, private readonly log: (m: string) => void) {
    mkdirSync(plan.dir, { recursive: true });
  }

  get hypervisorDir(): string {
    return join(this.plan.dir, 'hypervisor');
  }

  status(): HostStatus {
    return {
      index: this.plan.index, state: this.state, dataDir: this.plan.dir,
      address: this.plan.listenHost, port: this.plan.port, url: this.url,
      ...(isRunning(this.#toolstack) ? { toolstackPid: this.#toolstack!.child.pid! } : {}),
      ...(isRunning(this.#hypervisor) ? { hypervisorPid: this.#hypervisor!.child.pid! } : {}),
      ...(this.bootTime !== undefined ? { bootTime: this.bootTime } : {}),
      toolstackStarts: this.toolstackStarts, hypervisorStarts: this.hypervisorStarts,
    };
  }

  /** Runs `fn` after every operation queued before it. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  #later(delayMs: number, what: string, fn: () => Promise<void>): void {
    setTimeout(() => {
      this.#serial(fn).catch((e: unknown) => this.log(`host${this.plan.index}: ${what} failed: ${e instanceof Error ? e.message : String(e)}`));
    }, Math.max(0, delayMs));
  }

  /** Starts whatever of the host is not running (a boot when the simulator is not). */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.state === 'up' && isRunning(this.#toolstack) && isRunning(this.#hypervisor)) return;
      this.state = 'starting';
      try {
        if (!isRunning(this.#hypervisor)) {
          await stopChild(this.#toolstack, 'SIGKILL');
          await this.#startHypervisor();
        }
        if (!isRunning(this.#toolstack)) await this.#startToolstack();
        this.state = 'up';
      } catch (e) {
        this.state = 'crashed';
        await this.#stopBoth('SIGKILL');
        throw e;
      }
    });
  }

  restartAgent(delayMs: number): void {
    this.#later(delayMs, 'toolstack restart', async () => {
      if (this.state !== 'up') return;
      this.log(`host${this.plan.index}: restarting the toolstack`);
      await this.#stop(this.#toolstack);
      await this.#startToolstack();
    });
  }

  reboot(delayMs: number): void {
    this.#later(delayMs, 'reboot', async () => {
      this.log(`host${this.plan.index}: rebooting`);
      this.state = 'stopping';
      await this.#stopBoth('SIGTERM');
      this.state = 'starting';
      try {
        await this.#startHypervisor();
        await this.#startToolstack();
        this.state = 'up';
      } catch (e) {
        this.state = 'crashed';
        throw e;
      }
    });
  }

  shutdown(delayMs: number): void {
    this.#later(delayMs, 'shutdown', async () => {
      this.log(`host${this.plan.index}: shutting down`);
      this.state = 'stopping';
      await this.#stopBoth('SIGTERM');
      this.state = 'down';
    });
  }

  /** Stops both processes now (the supervisor is exiting). */
  stop(): Promise<void> {
    return this.#serial(async () => {
      this.state = 'stopping';
      await this.#stopBoth('SIGTERM');
      this.state = 'down';
    });
  }

  async #stop(c: ReadyChild | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!c) return;
    this.#expected.add(c);
    const grace = stopGraceMs();
    const { killed } = await stopChild(c, signal, grace);
    // A kill on purpose is no news; one after a SIGTERM means the process hung on its way out.
    if (killed && signal !== 'SIGKILL') {
      const what = c === this.#toolstack ? 'toolstack' : 'hypervisor';
      this.log(`host${this.plan.index}: the ${what} (pid ${c.child.pid}) did not exit within ${grace / 1000} s of ${signal}: killed with SIGKILL`);
    }
  }

  /** The whole host stops (reboot, shutdown, crash, exit): its port closes with it. */
  async #stopBoth(signal: NodeJS.Signals): Promise<void> {
    await this.#stop(this.#toolstack, signal);
    this.#releaseListenSocket();
    await this.#stop(this.#hypervisor, signal);
  }

  async #startHypervisor(): Promise<void> {
    // Milliseconds, so that a quick reboot still shows a later boot time.
    const boot = Math.max(Date.now() / 1000, (this.bootTime ?? 0) + 0.001);
    const bootArg = boot.toFixed(3);
    const [cmd, ...pre] = this.cmds.sim;
    const listen = this.plan.listenHost === '0.0.0.0' || this.plan.listenHost === '::' ? '127.0.0.1' : this.plan.listenHost;
    const c = await spawnReady({
      command: cmd!, label: `host${this.plan.index} hypervisor`,
      args: [...pre, '--state-dir', this.hypervisorDir, '--listen', `${fmtHost(listen)}:0`,
        '--migration-rate', String(this.plan.migrationRate), '--boot-time', bootArg,
        ...(this.plan.memory ? ['--memory', this.plan.memory] : [])],
      env: process.env,
      logFile: join(this.plan.dir, 'hypervisor.log'),
    });
    this.bootTime = Number(bootArg);
    this.#hypervisor = c;
    this.hypervisorStarts++;
    void c.exited.then(() => this.#hypervisorExited(c));
  }

  /** Takes the host's API port now, before any of its processes starts (throws when it is in use). */
  reservePort(): void {
    this.#listenSocket();
  }

  /** Binds the host's API port once; every toolstack of this boot listens on it. */
  #listenSocket(): HeldListenSocket {
    if (!this.#held) {
      this.#held = bindListenSocket(this.plan.listenHost, this.plan.port);
      if (this.plan.port === 0) {
        this.plan.port = this.#held.port;
        this.onPort?.(this.#held.port);
      }
    }
    return this.#held;
  }

  /** The host is going down: connections to it are refused from now on. */
  #releaseListenSocket(): void {
    this.#held?.close();
    this.#held = undefined;
  }

  async #startToolstack(): Promise<void> {
    const [cmd, ...pre] = this.cmds.islet;
    const held = this.#listenSocket();
    const c = await spawnReady({
      extraFds: [held.fd],
      command: cmd!, label: `host${this.plan.index} toolstack`,
      args: [...pre, 'server', '--data-dir', this.plan.dir, '--listen', `${fmtHost(this.plan.listenHost)}:${this.plan.port}`,
        '--hypervisor-state', this.hypervisorDir, '--spawn-hypervisor', 'false',
        ...(this.toolstackStarts === 0 ? (this.plan.updateKeys ?? []).flatMap((k) => ['--update-key', k]) : [])],
      env: {
        ...process.env,
        ISLET_ROOT_PASSWORD: this.plan.rootPassword,
        ISLET_BOOT_TIME: this.bootTime!.toFixed(3),
        ISLET_HOST_NAME: process.env.ISLET_HOST_NAME_PREFIX ? `${process.env.ISLET_HOST_NAME_PREFIX}${this.plan.index}` : `host${this.plan.index}`,
        [ENV_SOCKET]: this.cmds.socket,
        [ENV_HOST_INDEX]: String(this.plan.index),
        ISLET_LISTEN_FD: '3',
      },
      logFile: join(this.plan.dir, 'toolstack.log'),
    });
    this.#toolstack = c;
    this.toolstackStarts++;
    this.url = c.address;
    const port = Number(new URL(c.address).port);
    if (this.plan.port === 0 && port) {
      this.plan.port = port;
      this.onPort?.(port);
    }
    void c.exited.then(() => this.#toolstackExited(c));
  }

  #toolstackExited(c: ReadyChild): void {
    if (this.#expected.has(c) || c !== this.#toolstack) return;
    this.log(`host${this.plan.index}: the toolstack died (${c.child.signalCode ?? c.child.exitCode})`);
    if (this.state !== 'up') return;
    const delay = restartDelayMs() * 2 ** Math.min(this.#failedRestarts, 4);
    this.#later(delay, 'toolstack watchdog restart', async () => {
      if (this.state !== 'up' || isRunning(this.#toolstack) || !isRunning(this.#hypervisor)) return;
      this.log(`host${this.plan.index}: watchdog: starting the toolstack again`);
      try {
        await this.#startToolstack();
        this.#failedRestarts = 0;
      } catch (e) {
        this.#failedRestarts++;
        this.#toolstackExited(c);
        throw e;
      }
    });
  }

  #hypervisorExited(c: ReadyChild): void {
    if (this.#expected.has(c) || c !== this.#hypervisor) return;
    this.log(`host${this.plan.index}: the hypervisor died (${c.child.signalCode ?? c.child.exitCode}): the host crashed`);
    this.state = 'crashed';
    void this.#serial(async () => {
      await this.#stop(this.#toolstack, 'SIGKILL');
      this.#releaseListenSocket();
    });
  }
}
