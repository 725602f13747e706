/**
 * @module
 * The composition root of one host's toolstack: opens the pool database, makes the pool
 * on first start, wires sessions, tasks and actions into the dispatcher, and serves the
 * XenAPI over HTTP and HTTPS on one port. The only place that chooses adapters.
 */
import { mkdir } from 'node:fs/promises';
import { hostname, uptime } from 'node:os';
import { join } from 'node:path';
import type { Ref } from '../core/ref.js';
import type { Services } from '../core/action-context.js';
import { Dispatcher } from '../api/dispatcher.js';
import { createHttpApi, type ResourceHandler } from '../api/http-api.js';
import { createWebConsoleHandler } from '../api/handlers/web-console-handler.js';
import { webConsoleDir } from './web-console-dir.js';
import { SessionStore } from '../api/session-store.js';
import { TaskRunner } from '../api/task-runner.js';
import { classes } from '../datamodel/index.js';
import { openPoolDb } from '../db/sqlite-pool-db.js';
import { actionsByClass } from './actions-registry.js';
import { listenDual } from './dual-listener.js';
import { API_VERSION } from './product.js';
import { longPollsEnded } from '../actions/event/index.js';
import { ensurePool } from './first-start.js';
import { HostHypervisor } from './hypervisor-process.js';
import { reportDomains } from '../actions/host/domain-reconcile.js';
import { rollBackAbandonedImports } from '../actions/vm/xva/xva-import-recovery.js';
import { failTaskOnMaster } from '../api/handlers/master-task-relay.js';
import { ApiError } from '../core/api-error.js';
import { clearStaleVmOperations } from '../actions/vm/vm-operation-lock.js';
import { keepVmAllowedOperations } from '../actions/vm/vm-allowed-ops-keeper.js';
import { DEFAULT_DOM0_MEMORY, ensureControlDomain } from '../actions/host/control-domain.js';
import { keepHostFacts } from '../actions/host/host-facts.js';
import { startVmppScheduler } from '../actions/vmpp/vmpp-scheduler.js';
import { ensureManagementPif, ensureNicPifs, ensurePoolNetworks } from '../actions/network/host-networks.js';
import { configuredNics, listensOnFor } from './listen-addresses.js';
import { procMachine } from '../hypervisor/proc-machine.js';
import { firstCertificate, loadOrCreateTlsIdentity } from './tls-identity.js';
import type { HostLifecycle } from '../pool/host-lifecycle.js';
import { attachPool, preparePool } from './pool-wiring.js';
import { prepareUpdates } from './updates-wiring.js';
import { prepareStorage } from './storage-wiring.js';
import { prepareRrd } from './rrd-wiring.js';
import { prepareBlobs } from './blob-wiring.js';
import { formatHostPort, parseHostPort } from '../pool/host-address.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import { prepareNbd, type NbdListen } from './nbd-wiring.js';
import type { StorageHost } from '../core/ports/storage-host.js';
import { LogRing } from './log-ring.js';
import { LogRouter } from './log-router.js';
import { CallStats, watchGc } from '../core/process-stats.js';

export interface HostServerOptions {
  readonly dataDir: string;
  /** Storage drivers to use instead of the ones Islet ships (tests). */
  readonly storage?: StorageHost;
  readonly host: string;
  readonly port: number;
  readonly rootPassword?: string;
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  readonly log?: (msg: string) => void;
  /** The hypervisor simulator's state directory; `<dataDir>/hypervisor` by default. */
  readonly hypervisorStateDir?: string;
  /** Start a simulator when none runs there (default true; off under a pool supervisor). */
  readonly spawnHypervisor?: boolean;
  /** Memory (`16G`…) and migration rate (MiB/s) of a simulator this host starts. */
  readonly hypervisorMemory?: string;
  readonly migrationRate?: number;
  /** `--update-key` files: OpenPGP keys a new pool trusts to sign updates. */
  readonly updateKeyFiles?: readonly string[];
  /** Memory of this host's control domain, in bytes (XenServer 6.0.2's 752 MiB by default). */
  readonly dom0Memory?: number;
  /** `--nbd-listen`: where the NBD server listens (default: the API's address, a free port); false: no NBD. */
  readonly nbdListen?: NbdListen | false;
  /** The host's network cards, management first; `ISLET_NICS` or `eth0` alone by default. */
  readonly nics?: readonly string[];
  /**
   * Who acts on this host's process-level requests (restart the toolstack, reboot); by
   * default the pool supervisor named in the environment. A host run inside another program
   * (a test) is given its own, since without a supervisor an ejected host exits the process.
   */
  readonly lifecycle?: HostLifecycle;
}

export interface RunningHost {
  readonly url: string;
  readonly port: number;
  readonly hostRef: Ref<'host'>;
  readonly generatedPasswordFile?: string;
  /** What this host's actions are given (its pool link, updates port…), for tests that drive the ports. */
  readonly services: Services;
  stop(): Promise<void>;
}

export async function startHostServer(o: HostServerOptions): Promise<RunningHost> {
  const recentLog = new LogRing();
  watchGc();
  const logs = new LogRouter(recentLog, {
    stderr: o.log ?? ((m: string) => process.stderr.write(`${m}\n`)),
    logDir: join(o.dataDir, 'logs'),
    syslogSocket: process.env.ISLET_SYSLOG_SOCKET || '/dev/log',
  });
  const log = logs.logger('xapi');
  await mkdir(o.dataDir, { recursive: true });
  // Classes without a uuid (event, vdi_nbd_server_info) are known to the db but never rows.
  // A member's writes go to its master from the first one on: the pool layer wraps the database.
  const prepared = preparePool(openPoolDb(join(o.dataDir, 'pool.db'), classes), o.dataDir, classes);
  const db = prepared.db;
  let hostRef = '';
  const sessions = new SessionStore(db, () => hostRef);
  sessions.log = logs.logger('session');
  const tasks = new TaskRunner(db, () => hostRef);
  const bootTime = Number(process.env.ISLET_BOOT_TIME) || Math.floor(Date.now() / 1000 - uptime());
  const name = process.env.ISLET_HOST_NAME || hostname();
  const first = await ensurePool(
    db, o.dataDir, { hostName: name, address: o.host, bootTime },
    o.rootPassword ?? process.env.ISLET_ROOT_PASSWORD,
    (user, pw) => sessions.setUser(user, pw, 'pool-admin'),
  );
  hostRef = first.hostRef;
  const pool = attachPool(prepared, { dataDir: o.dataDir, classes, sessions, hostRef, listenHost: o.host, log: logs.logger('pool'), ...(o.lifecycle ? { lifecycle: o.lifecycle } : {}) });
  const updates = await prepareUpdates({
    db, hostRef, sessions, tasks, dataDir: o.dataDir, pool: pool.link, log: logs.logger('updates'),
    createdPool: first.created, ...(o.updateKeyFiles ? { updateKeyFiles: o.updateKeyFiles } : {}),
  });

  const hypervisor = new HostHypervisor({
    stateDir: o.hypervisorStateDir ?? join(o.dataDir, 'hypervisor'),
    spawn: o.spawnHypervisor ?? true,
    listenHost: o.host,
    advertiseHost: () => String(db.get('host', hostRef)?.address || '127.0.0.1'),
    ...(o.hypervisorMemory ?? process.env.ISLET_HYPERVISOR_MEMORY ? { memory: o.hypervisorMemory ?? process.env.ISLET_HYPERVISOR_MEMORY } : {}),
    ...(o.migrationRate ?? process.env.ISLET_MIGRATION_RATE ? { migrationRateMiBs: o.migrationRate ?? Number(process.env.ISLET_MIGRATION_RATE) } : {}),
    log: logs.logger('hypervisor'),
  });
  const rrd = prepareRrd(db, () => hostRef, hypervisor, logs.logger('rrd'));
  const storage = prepareStorage({
    db, hostRef, sessions, tasks, dataDir: o.dataDir, log: logs.logger('storage'), ...(pool.link ? { pool: pool.link } : {}), ...(o.storage ? { storage: o.storage } : {}),
    meter: (h) => rrd.meter.meterStorage(h),
  });
  const blobs = prepareBlobs(o.dataDir);
  const nbd = prepareNbd({ db, sessions, listen: o.nbdListen ?? { host: o.host, port: 0 }, log: logs.logger('nbd') });
  const stopping = new AbortController();
  // Known once the TLS identity is loaded, just before the host serves.
  let serverCertificate: string | undefined;
  const services: Services = {
    stopping: stopping.signal,
    recentLog: () => recentLog.text(),
    serverCertificate: () => serverCertificate,
    logControl: logs,
    callStats: new CallStats(),
    db, hostRef, now: () => new Date(), sessions, tasks, dataDir: o.dataDir, storage: storage.host,
    hypervisor, hypervisorEndpoint: () => hypervisor.endpoint(),
    pool: pool.link,
    updates: updates.port,
    nbd: nbd.endpoint,
    metrics: rrd.dataSources,
    nics: configuredNics(o.nics),
    listensOn: listensOnFor(o.host),
    blobs: blobs.store,
  };
  // Operations recorded by a previous run died with it; only the master keeps the record.
  if (!services.pool || services.pool.isMaster()) clearStaleVmOperations(db);
  await blobs.start(db, !services.pool || services.pool.isMaster(), logs.logger('blobs'));
  await hypervisor.start((gone) => reportDomains(services, gone));
  const keeper = new AbortController();
  const kept = keepVmAllowedOperations(db, () => !services.pool || services.pool.isMaster(), keeper.signal);
  // pool_update came with API 2.6 (XenServer 7.1); a host claiming less does not list it.
  const unlisted = API_VERSION.major * 100 + API_VERSION.minor < 206 ? ['pool_update'] : [];
  const dispatcher = new Dispatcher({ classes, actions: actionsByClass, sessions, tasks, services, gate: pool.gate, unlisted });
  pool.wire(dispatcher);
  const resources = new Map<string, ResourceHandler>();
  for (const [key, handler] of pool.resources) resources.set(key, handler);
  for (const [key, handler] of updates.resources) resources.set(key, handler);
  for (const [key, handler] of storage.resources(services)) resources.set(key, handler);
  for (const [key, handler] of blobs.resources({ db, sessions, tasks, dataDir: o.dataDir, log: logs.logger('blobs'), ...(pool.link ? { pool: pool.link } : {}) })) resources.set(key, handler);
  for (const [key, handler] of rrd.resources({ db, sessions, tasks, dataDir: o.dataDir, log: logs.logger('rrd'), ...(pool.link ? { pool: pool.link } : {}) })) resources.set(key, handler);
  await storage.start(services);
  // An XVA import the previous run died in: everything it made goes, its task reports why.
  const importCutShort = new ApiError('IMPORT_ERROR', ['the toolstack stopped before the import finished; what it had made was removed']);
  const rolledBackImports = (await rollBackAbandonedImports(services, logs.logger('import'))).filter((g) => g.rolledBack);
  for (const gone of rolledBackImports) tasks.recordFailed(gone.task, gone.taskUuid, 'VM import', importCutShort);
  const tls = await loadOrCreateTlsIdentity(o.dataDir, {
    ...(o.tlsCertFile ? { certFile: o.tlsCertFile } : {}),
    ...(o.tlsKeyFile ? { keyFile: o.tlsKeyFile } : {}),
    hostName: name,
    addresses: [o.host],
  });
  serverCertificate = firstCertificate(tls.cert);
  await nbd.start(services, tls, name);
  const inherited = Number(process.env.ISLET_LISTEN_FD);
  const listener = await listenDual(o.host, o.port, tls,
    createHttpApi({ dispatcher, resources, log: logs.logger('http'), staticFiles: createWebConsoleHandler(webConsoleDir(), (port) => poolHostAddresses(db, port)), stopping: stopping.signal }),
    { log, ...(Number.isInteger(inherited) && inherited > 2 ? { fd: inherited } : {}) });
  await pool.start(listener.port);
  // On a member, an import may have run under a task its client made on the master: that
  // task fails there too, once the master can be reached.
  for (const gone of rolledBackImports) {
    void failTaskOnMaster({ db, ...(services.pool ? { pool: services.pool } : {}), log: logs.logger('import') }, gone.task, importCutShort);
  }
  await startHostFacts(services, keeper.signal, o.dom0Memory ?? DEFAULT_DOM0_MEMORY, log);
  updates.start(services);
  rrd.start();
  // Protection policies run on the master's clock; a member keeps its scheduler idle.
  startVmppScheduler({
    context: () => ({ services, db: services.db, session: undefined, task: undefined, peer: 'vmpp-scheduler' }),
    now: services.now,
    isMaster: () => !services.pool || services.pool.isMaster(),
    signal: keeper.signal,
    log: logs.logger('vmpp'),
  });
  const shownHost = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shownHost}:${listener.port}`,
    port: listener.port,
    hostRef,
    services,
    ...(first.generatedPasswordFile ? { generatedPasswordFile: first.generatedPasswordFile } : {}),
    stop: async () => {
      // Waiting long polls answer first (their sessions end with this toolstack), while
      // the connections are still there to carry the answers.
      listener.stopAccepting();
      stopping.abort();
      await longPollsEnded(stopping.signal);
      // Every answer now closes its connection; let those under way finish.
      await listener.drain(2000);
      updates.stop();
      rrd.stop();
      await pool.stop();
      await listener.close();
      await nbd.stop();
      await hypervisor.stop();
      keeper.abort();
      await kept;
      await storage.stop();
      db.close();
    },
  };
}

/** The control domain, the networks and management interface, and the machine's facts (CPUs, free memory), kept while the host runs. */
async function startHostFacts(services: Services, signal: AbortSignal, dom0Memory: number, log: (m: string) => void): Promise<void> {
  const machine = procMachine();
  const cpus = await machine.cpus().catch(() => []);
  try {
    ensureControlDomain(services, { memory: dom0Memory, vcpus: Math.max(1, cpus.length) });
    if (!services.pool || services.pool.isMaster()) ensurePoolNetworks(services.db);
    ensureManagementPif(services);
    ensureNicPifs(services);
  } catch (e) {
    log(`host objects: ${e instanceof Error ? e.message : String(e)}`);
  }
  await keepHostFacts(services, machine, { signal, log });
}

/** Every host of the pool as `host:port` (the console may talk to any of them). */
function poolHostAddresses(db: PoolDb, port: number): string[] {
  const out: string[] = [];
  for (const [, h] of db.all('host')) {
    const address = String(h.address ?? '').trim();
    // Hosts sharing a machine differ by port, which the pool keeps in other_config.
    const own = Number((h.other_config as Record<string, string> | undefined)?.islet_port) || port;
    if (address) out.push(formatHostPort(parseHostPort(address, own)));
  }
  return out;
}
