/**
 * @module
 * `islet pool up`: N hosts on this machine, each a toolstack process and a hypervisor
 * simulator process in `<dir>/host<i>/`, master on the base port and members on the
 * following ones (or, with one address per host, all on the base port). The supervisor
 * keeps them running, acts on the restart, reboot and shutdown requests their toolstacks
 * send over its control socket, and on the first start makes the pool: the other hosts
 * join host 0 and a shared `file` SR in `<dir>/shared-sr` becomes the default SR. What it
 * must remember across runs (addresses, ports, whether the pool was made) is in
 * `<dir>/pool.json`; the pool itself lives in the hosts' databases.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPoolRole } from '../pool-conf.js';
import { startControlServer, socketPathFor } from './control-server.js';
import { createSharedSr, findMasterUrl, joinHost } from './pool-bootstrap.js';
import { SupervisedHost, type Commands } from './supervised-host.js';
import { SUPERVISOR_FILE, type HostAction, type SupervisorStatus } from './supervisor-client.js';

export interface PoolUpOptions {
  readonly hosts: number;
  readonly dataDir: string;
  readonly basePort: number;
  /** One listen address per host; then every host uses the base port. */
  readonly addresses?: readonly string[];
  readonly rootPassword?: string;
  readonly migrationRate?: number;
  readonly memory?: string;
  /** OpenPGP key files the pool trusts to sign updates; taken when the pool is first made. */
  readonly updateKeys?: readonly string[];
  readonly out?: (line: string) => void;
  readonly log?: (line: string) => void;
}

interface HostEntry {
  index: number;
  address: string;
  port: number;
  joined: boolean;
}
interface PoolState {
  version: 1;
  hosts: HostEntry[];
  sharedSr?: string;
}

/** What the supervisor remembers across runs; its absence means the pool is yet to be made. */
export const POOL_STATE_FILE = 'pool.json';
const STATE_FILE = POOL_STATE_FILE;

function loaderArgs(): string[] {
  const out: string[] = [];
  const ea = process.execArgv;
  for (let i = 0; i < ea.length; i++) {
    if ((ea[i] === '--import' || ea[i] === '--loader') && ea[i + 1]) out.push(ea[i]!, ea[++i]!);
    else if (/^--(import|loader)=/.test(ea[i]!)) out.push(ea[i]!);
  }
  return out;
}

/** How to run `islet` and the simulator the way this very process runs. */
function commands(socket: string): Commands {
  const ts = import.meta.url.endsWith('.ts');
  const sim = fileURLToPath(new URL(`../../../sims/hypervisor/hypervisor-sim.${ts ? 'ts' : 'js'}`, import.meta.url));
  const entry = process.argv[1] ?? fileURLToPath(new URL('../../../../bin/islet', import.meta.url));
  const pre = loaderArgs();
  return { islet: [process.execPath, ...pre, entry], sim: [process.execPath, ...pre, sim], socket };
}

function writeJson(path: string, v: unknown, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(v, null, 2)}\n`, { mode });
  renameSync(tmp, path);
}

export class PoolSupervisor {
  readonly dir: string;
  readonly hosts: SupervisedHost[] = [];
  #state: PoolState;
  #closeControl: (() => Promise<void>) | undefined;
  readonly #out: (l: string) => void;
  readonly #log: (l: string) => void;
  #password = '';
  #stopping: Promise<void> | undefined;

  constructor(readonly o: PoolUpOptions) {
    this.dir = resolve(o.dataDir);
    this.#out = o.out ?? ((l) => process.stdout.write(`${l}\n`));
    this.#log = o.log ?? ((l) => process.stderr.write(`islet pool: ${l}\n`));
    const file = join(this.dir, STATE_FILE);
    this.#state = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PoolState) : { version: 1, hosts: [] };
  }

  #saveState(): void {
    writeJson(join(this.dir, STATE_FILE), this.#state);
  }

  #rootPassword(): string {
    const file = join(this.dir, 'root-password');
    if (this.o.rootPassword) return this.o.rootPassword;
    // xe's -pwf layout: the user on the first line, the password on the second.
    if (existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
      return lines.length >= 2 ? lines[1]! : (lines[0] ?? '');
    }
    const pw = randomBytes(12).toString('base64url');
    writeFileSync(file, `root\n${pw}\n`, { mode: 0o600 });
    this.#log(`root password generated and written to ${file}`);
    return pw;
  }

  #refuseSecondSupervisor(): void {
    const file = join(this.dir, SUPERVISOR_FILE);
    if (!existsSync(file)) return;
    const pid = Number((JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid);
    if (!Number.isInteger(pid) || pid === process.pid) return;
    try {
      process.kill(pid, 0);
    } catch {
      return; // a supervisor that is gone
    }
    throw new Error(`a pool supervisor (pid ${pid}) already runs for ${this.dir}`);
  }

  status(): SupervisorStatus {
    return { pid: process.pid, dir: this.dir, hosts: this.hosts.map((h) => h.status()) };
  }

  /** Starts every host, makes the pool on first start; resolves with the master's URL. */
  async up(): Promise<string> {
    mkdirSync(this.dir, { recursive: true });
    this.#refuseSecondSupervisor();
    this.#password = this.#rootPassword();
    const fresh = this.#state.hosts.length === 0;
    if (!fresh && this.o.updateKeys?.length) {
      this.#log('--update-key ignored: the pool already exists (keys are taken when it is made); manage them with xe islet-update-key-add');
    }
    const count = Math.max(this.o.hosts, this.#state.hosts.length);
    for (let i = this.#state.hosts.length; i < count; i++) {
      const address = this.o.addresses?.[i] ?? this.o.addresses?.[0] ?? '127.0.0.1';
      const port = this.o.basePort === 0 ? 0 : this.o.addresses ? this.o.basePort : this.o.basePort + i;
      this.#state.hosts.push({ index: i, address, port, joined: i === 0 });
    }
    this.#saveState();
    const socket = socketPathFor(this.dir);
    const cmds = commands(socket);
    for (const e of this.#state.hosts) {
      const h = new SupervisedHost({
        index: e.index, dir: join(this.dir, `host${e.index}`), listenHost: e.address, port: e.port,
        rootPassword: this.#password, migrationRate: this.o.migrationRate ?? 0,
        ...(this.o.memory ? { memory: this.o.memory } : {}),
        // Host 0 makes the pool; the others take its database, keys included, when they join.
        ...(fresh && e.index === 0 && this.o.updateKeys?.length ? { updateKeys: this.o.updateKeys } : {}),
      }, cmds, this.#log);
      h.onPort = (port) => { e.port = port; this.#saveState(); };
      this.hosts.push(h);
    }
    // Every host's port is taken before any process starts: clients find a host at its
    // address on the port it was given, so a port in use fails the start, naming it, with
    // nothing started rather than a host serving elsewhere.
    for (const h of this.hosts) {
      try {
        h.reservePort();
      } catch (e) {
        throw new Error(`host${h.plan.index}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const control = await startControlServer(socket, { status: () => this.status(), hostAction: (i, a, d) => this.hostAction(i, a, d) });
    this.#closeControl = control.close;
    writeJson(join(this.dir, SUPERVISOR_FILE), { socket, pid: process.pid });

    await Promise.all(this.hosts.map(async (h) => {
      await h.start();
      this.#out(`ready host${h.plan.index} ${h.url}`);
    }));
    await this.#bootstrap();
    const masterUrl = (await findMasterUrl(this.#masterFirst(), this.#password)) ?? this.hosts[0]!.url;
    this.#out(`pool ready ${masterUrl}`);
    return masterUrl;
  }

  /** URLs of the hosts, the one whose pool.conf says master first. */
  #masterFirst(): string[] {
    const urls = this.hosts.filter((h) => h.state === 'up').map((h) => h.url);
    const m = this.hosts.find((h) => h.state === 'up' && readPoolRole(h.plan.dir).role === 'master');
    return m ? [m.url, ...urls.filter((u) => u !== m.url)] : urls;
  }

  async #bootstrap(): Promise<void> {
    const master = this.hosts[0]!;
    const masterAt = { host: master.plan.listenHost === '0.0.0.0' ? '127.0.0.1' : master.plan.listenHost, port: master.plan.port };
    for (const e of this.#state.hosts) {
      if (e.joined) continue;
      const h = this.hosts[e.index]!;
      if (readPoolRole(h.plan.dir).role === 'master') {
        await joinHost({ url: h.url, index: e.index }, masterAt, this.#password);
        this.#log(`host${e.index} joined the pool of host0`);
      }
      e.joined = true;
      this.#saveState();
    }
    if (this.#state.sharedSr === undefined) {
      const path = join(this.dir, 'shared-sr');
      try {
        const url = (await findMasterUrl(this.#masterFirst(), this.#password)) ?? master.url;
        this.#state.sharedSr = await createSharedSr(url, this.#password, path);
        this.#log(`shared SR ${this.#state.sharedSr} at ${path} is the pool's default SR`);
      } catch (e) {
        this.#state.sharedSr = '';
        this.#log(`the shared SR could not be created (${e instanceof Error ? e.message : String(e)}); the pool has none`);
      }
      this.#saveState();
    }
  }

  async hostAction(index: number, action: HostAction, delayMs: number): Promise<void> {
    const h = this.hosts[index];
    if (!h) throw new Error(`no host ${index}`);
    if (this.#stopping) throw new Error('the pool is stopping');
    switch (action) {
      case 'restart-agent': return h.restartAgent(delayMs);
      case 'reboot': return h.reboot(delayMs);
      case 'shutdown': return h.shutdown(delayMs);
      case 'start':
        await h.start();
        this.#out(`ready host${index} ${h.url}`);
        return;
      case 'kill': {
        const s = h.status();
        for (const pid of [s.hypervisorPid, s.toolstackPid]) if (pid) process.kill(pid, 'SIGKILL');
        return;
      }
    }
  }

  /** Stops every host (members first) and the control socket. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all(this.hosts.slice(1).map((h) => h.stop().catch(() => undefined)));
      await this.hosts[0]?.stop().catch(() => undefined);
      await this.#closeControl?.();
      if (this.#closeControl) rmSync(join(this.dir, SUPERVISOR_FILE), { force: true });
    })();
    return this.#stopping;
  }
}
