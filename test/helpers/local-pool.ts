/**
 * @module
 * A pool of hosts in one test process, around real hypervisor simulator processes: one
 * in-memory pool database, one simulator per host, and a `PoolLink` per host that runs
 * another host's XenAPI calls by calling that host's actions with its own services (what
 * the real link does over HTTPS, minus the wire). It lets VM placement, live migration and
 * evacuation be tested against real domains moving between real simulator processes
 * without the pool layer. Records made here are bare rows, as `VM.create` would make them.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionContext, Services } from '../../src/core/action-context.js';
import type { TaskHandle } from '../../src/core/ports/tasks.js';
import { ApiError } from '../../src/core/api-error.js';
import type { PoolLink } from '../../src/core/ports/pool-link.js';
import type { UpdatesPort } from '../../src/core/ports/updates.js';
import { newRef, newUuid, xapiDate, type Ref } from '../../src/core/ref.js';
import { SessionStore } from '../../src/api/session-store.js';
import { TaskRunner } from '../../src/api/task-runner.js';
import { findMessage, type ImplicitMessage } from '../../src/datamodel/implicit.js';
import { classByName, classes } from '../../src/datamodel/index.js';
import { implicitAction } from '../../src/api/implicit-actions.js';
import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';
import type { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { actionsByClass } from '../../src/main/actions-registry.js';
import { GiB, MiB, startHypervisorSim, type SimProcess } from './hypervisor-sim.js';

export { GiB, MiB };

export interface LocalHost {
  readonly ref: Ref<'host'>;
  readonly sim: SimProcess;
  readonly client: SimHypervisorClient;
  readonly services: Services;
}

export interface LocalPoolOptions {
  hosts?: number;
  memory?: number;
  migrationRateMiBs?: number;
  cpus?: number;
}

export interface VmSpec {
  name?: string;
  memory?: number;
  vcpus?: number;
  /** SRs holding one disk each. */
  srs?: Ref<'SR'>[];
  other?: Record<string, unknown>;
}

export interface LocalPool {
  readonly db: MemoryPoolDb;
  readonly hosts: readonly LocalHost[];
  readonly sharedSr: Ref<'SR'>;
  /** An SR plugged only on the first host (the master). */
  readonly localSr: Ref<'SR'>;
  /** Calls `cls.msg` on host `on` (the master by default) with named arguments. */
  call(method: string, args: Record<string, unknown>, opts?: { on?: number; task?: TaskHandle }): Promise<unknown>;
  ctx(on?: number, task?: TaskHandle): ActionContext;
  makeVm(spec?: VmSpec): Ref<'VM'>;
  vm(ref: Ref<'VM'>): Record<string, any>;
  hostIndex(ref: unknown): number;
  /** Calls to this host fail with HOST_OFFLINE until set back. */
  setOffline(i: number, offline: boolean): void;
  stop(): Promise<void>;
}

/**
 * The updates port of a host of this pool, as a host wires it: internal sessions and tasks
 * of the host's own stores, calls on the host through its pool link. Rolling updates here
 * restart nothing (`none`): these hosts are not supervised processes.
 */
function updatesPort(s: Services, sessions: SessionStore, tasks: TaskRunner): UpdatesPort {
  return {
    internalSession: () => {
      const session = sessions.open({ name: '__updates__', hash: '', role: 'pool-admin' }, 'islet-updates', true);
      return { ref: session.ref, close: () => sessions.logout(session.ref) };
    },
    hookTimeoutMs: 10_000,
    log: () => undefined,
    activeRuns: new Map(),
    call: (m, p) => s.pool!.callOnHost(s.hostRef, m, p),
    createTask: (label) => {
      const ref = tasks.create(label, '');
      const h = tasks.handle(ref);
      return {
        ref, setProgress: (f) => h.setProgress(f),
        succeed: (x) => tasks.succeed(ref, x),
        fail: (code, params) => tasks.fail(ref, ApiError.fromWire(code, params)),
      };
    },
  };
}

/** A task handle that records progress, for actions run outside the dispatcher. */
export function recordingTask(): TaskHandle & { progress: number[] } {
  const progress: number[] = [];
  return { ref: newRef<'task'>(), signal: new AbortController().signal, setProgress: (f) => progress.push(f), progress };
}

export async function startLocalPool(o: LocalPoolOptions = {}): Promise<LocalPool> {
  const n = o.hosts ?? 3;
  const db = new MemoryPoolDb(classes);
  const dataDir = await mkdtemp(join(tmpdir(), 'islet-local-pool-'));
  const sims = await Promise.all(Array.from({ length: n }, () => startHypervisorSim({
    memory: o.memory ?? 4 * GiB, migrationRateMiBs: o.migrationRateMiBs ?? 0, cpus: o.cpus ?? 4,
  })));
  const clients = await Promise.all(sims.map((s) => s.connect()));
  const offline = new Set<number>();
  const refs = sims.map(() => newRef<'host'>());
  const byRef = new Map<string, LocalHost>();
  const hosts: LocalHost[] = [];

  const ctxFor = (s: Services, task?: TaskHandle): ActionContext => ({ services: s, db, session: undefined, task, peer: '127.0.0.1' });
  const invoke = async (on: number, method: string, args: Record<string, unknown>, task?: TaskHandle) => {
    const [cls, msg] = method.split('.') as [string, string];
    // As the dispatcher does: a class's own action, else the generic one its declaration implies.
    const decl = findMessage(cls, msg) as Partial<ImplicitMessage> | undefined;
    const impl = actionsByClass[cls]?.[msg] ?? (decl?.implicit ? implicitAction(classByName(cls)!, decl as ImplicitMessage) : undefined);
    if (!impl) throw new ApiError('MESSAGE_METHOD_UNKNOWN', [method]);
    return impl(ctxFor(hosts[on]!.services, task), args);
  };
  const link = (self: number): PoolLink => ({
    isMaster: () => self === 0,
    masterAddress: () => '127.0.0.1',
    callOnHost: async (host, method, params) => {
      const target = byRef.get(host);
      if (!target) throw new ApiError('HANDLE_INVALID', ['host', host]);
      if (offline.has(hosts.indexOf(target))) throw new ApiError('HOST_OFFLINE', [host]);
      const [cls, msg] = method.split('.') as [string, string];
      const decl = findMessage(cls, msg);
      if (!decl) throw new ApiError('MESSAGE_METHOD_UNKNOWN', [method]);
      const args = Object.fromEntries(decl.params.map((p, i) => [p.name, i < params.length ? params[i] : p.default]));
      const out = await invoke(hosts.indexOf(target), method, args);
      // What crosses the wire: plain JSON.
      return out === undefined ? '' : JSON.parse(JSON.stringify(out));
    },
    // What the pool layer's own transfer does: a copy from under the master's data directory.
    fetchFromMaster: async (path, dest) => {
      try {
        await copyFile(join(hosts[0]!.services.dataDir, path), dest);
      } catch (e) {
        throw new ApiError('INTERNAL_ERROR', [`fetching ${path} from the master: ${e instanceof Error ? e.message : String(e)}`]);
      }
    },
  });

  const poolRef = newRef<'pool'>();
  db.transaction(() => {
    refs.forEach((ref, i) => {
      const metrics = newRef<'host_metrics'>();
      db.create('host_metrics', metrics, { uuid: newUuid(), live: true, memory_total: o.memory ?? 4 * GiB, last_updated: xapiDate() });
      db.create('host', ref, { uuid: newUuid(), name_label: `host${i}`, hostname: `host${i}`, address: '127.0.0.1', enabled: true, metrics });
    });
    db.create('pool', poolRef, { uuid: newUuid(), name_label: 'local', master: refs[0]! });
  });
  sims.forEach((sim, i) => {
    const sessions = new SessionStore(db, () => refs[i]!);
    const tasks = new TaskRunner(db, () => refs[i]!);
    const services: Services = {
      db, hostRef: refs[i]!, now: () => new Date(),
      sessions, tasks,
      dataDir: join(dataDir, `host${i}`), hypervisor: clients[i]!, hypervisorEndpoint: () => clients[i]!.address,
      pool: link(i),
    };
    Object.assign(services, { updates: updatesPort(services, sessions, tasks) });
    const h: LocalHost = { ref: refs[i]!, sim, client: clients[i]!, services };
    hosts.push(h);
    byRef.set(h.ref, h);
  });

  const makeSr = (name: string, shared: boolean, on: readonly Ref<'host'>[]): Ref<'SR'> => {
    const sr = newRef<'SR'>();
    db.create('SR', sr, { uuid: newUuid(), name_label: name, type: 'file', shared, content_type: 'user' });
    for (const h of on) db.create('PBD', newRef<'PBD'>(), { uuid: newUuid(), host: h, SR: sr, currently_attached: true });
    return sr;
  };
  const sharedSr = makeSr('shared', true, refs);
  const localSr = makeSr('local', false, [refs[0]!]);

  return {
    db, hosts, sharedSr, localSr,
    ctx: (on = 0, task) => ctxFor(hosts[on]!.services, task),
    call: (method, args, opts = {}) => invoke(opts.on ?? 0, method, args, opts.task),
    makeVm: (spec = {}) => {
      const vm = newRef<'VM'>();
      const memory = spec.memory ?? 256 * MiB;
      db.transaction(() => {
        db.create('VM', vm, {
          uuid: newUuid(), name_label: spec.name ?? 'vm', power_state: 'Halted',
          memory_static_max: memory, memory_dynamic_max: memory, memory_dynamic_min: memory, memory_static_min: memory,
          VCPUs_max: spec.vcpus ?? 1, VCPUs_at_startup: spec.vcpus ?? 1,
          actions_after_reboot: 'restart', ...(spec.other ?? {}),
        });
        (spec.srs ?? [sharedSr]).forEach((sr, i) => {
          const vdi = newRef<'VDI'>();
          db.create('VDI', vdi, { uuid: newUuid(), name_label: `disk${i}`, SR: sr, virtual_size: GiB, type: 'user' });
          db.create('VBD', newRef<'VBD'>(), { uuid: newUuid(), VM: vm, VDI: vdi, userdevice: String(i), device: `xvd${'abcdefgh'[i]}`, type: 'Disk', mode: 'RW' });
        });
      });
      return vm;
    },
    vm: (ref) => db.get('VM', ref) as Record<string, any>,
    hostIndex: (ref) => refs.indexOf(ref as Ref<'host'>),
    setOffline: (i, off) => { if (off) offline.add(i); else offline.delete(i); },
    stop: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await Promise.all(sims.map((s) => s.stop()));
      db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
