/**
 * @module
 * Hotfix support as one host's toolstack needs it: the trusted keys of a new pool, an
 * install cut short by a crash finished or undone, the HTTP resources (upload, download,
 * database dump and restore), the `UpdatesPort` the actions use, and, on the master, the
 * watcher that keeps derived update state current (pending guidance after a host restarts,
 * `pool_applied`, the mixed-state flag, host records resynchronised from their markers) and
 * the resumption of a rolling update the master's own restart interrupted.
 */
import type { Services } from '../core/action-context.js';
import type { ResourceHandler } from '../api/http-api.js';
import type { SessionStore } from '../api/session-store.js';
import type { TaskRunner } from '../api/task-runner.js';
import { ApiError } from '../core/api-error.js';
import { toWireError } from '../core/wire-errors.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { PoolLink } from '../core/ports/pool-link.js';
import type { UpdatesPort } from '../core/ports/updates.js';
import type { Ref } from '../core/ref.js';
import { createDbDumpHandler, createDbRestoreHandler } from '../api/handlers/db-backup-handler.js';
import { createPatchDownloadHandler } from '../api/handlers/update-download-handler.js';
import { DEFAULT_HOOK_TIMEOUT_MS } from '../updates/hook-runner.js';
import { resyncHost } from '../updates/patch-service.js';
import { resumeRunsAtStart } from '../updates/rolling/rolling-update.js';
import { recoverInterruptedInstall } from '../updates/software-install.js';
import { updateEnv } from '../updates/update-env.js';
import { seedUpdateKeys } from '../updates/update-keys.js';
import { refreshUpdateState } from '../updates/update-state.js';
import { createPatchUploadHandler } from '../api/handlers/update-upload-handler.js';
import { updateStore } from '../updates/update-store.js';
import { migrateTwinUuids } from '../updates/twin-uuid-migration.js';

export interface UpdatesWiringOptions {
  readonly db: PoolDb;
  readonly hostRef: Ref<'host'>;
  readonly sessions: SessionStore;
  readonly tasks: TaskRunner;
  readonly dataDir: string;
  readonly pool?: PoolLink;
  readonly log: (msg: string) => void;
  /** `--update-key` files, trusted when this start made a new pool. */
  readonly updateKeyFiles?: readonly string[];
  readonly createdPool: boolean;
  readonly hookTimeoutMs?: number;
  readonly maxUploadBytes?: number;
}

export interface UpdatesWiring {
  readonly port: UpdatesPort;
  readonly resources: ReadonlyArray<readonly [string, ResourceHandler]>;
  /** Once the API serves: master-side resync, watcher and rolling update resumption. */
  start(services: Services): void;
  stop(): void;
}

const RESUME_DELAY_MS = 200;
const UPDATES_USER = { name: '__updates__', hash: '', role: 'pool-admin' as const };

export async function prepareUpdates(o: UpdatesWiringOptions): Promise<UpdatesWiring> {
  const recovered = await recoverInterruptedInstall(o.dataDir);
  if (recovered !== 'none') o.log(`update install interrupted by a crash: ${recovered}`);
  const keyFiles = o.updateKeyFiles ?? [];
  if (o.createdPool && keyFiles.length) {
    const fps = await seedUpdateKeys(o.db, keyFiles);
    o.log(`trusting update signing key(s) ${fps.join(', ')}`);
  } else if (keyFiles.length) {
    o.log('--update-key ignored: the pool already exists (keys are taken when a pool is made); ' +
      'manage them with xe islet-update-key-add / islet-update-key-list / islet-update-key-remove');
  }
  const isMaster = () => !o.pool || o.pool.isMaster();
  // Databases from before the twins had their own uuid; members get the result by replication.
  const migrate = () => {
    const changed = migrateTwinUuids(o.db);
    if (changed.length) o.log(`pool_update twins given their own uuid (updates ${changed.join(', ')})`);
  };
  if (isMaster()) migrate();
  const port: UpdatesPort = {
    internalSession: () => {
      const s = o.sessions.open(UPDATES_USER, 'islet-updates', true);
      return { ref: s.ref, close: () => o.sessions.logout(s.ref) };
    },
    hookTimeoutMs: o.hookTimeoutMs ?? (Number(process.env.ISLET_HOOK_TIMEOUT_MS) || DEFAULT_HOOK_TIMEOUT_MS),
    log: o.log,
    activeRuns: new Map(),
    call: (method, params) => {
      if (!o.pool) return Promise.reject(new ApiError('NOT_IMPLEMENTED', [`${method}: no pool link`]));
      return o.pool.callOnHost(o.hostRef, method, params);
    },
    createTask: (label) => {
      const ref = o.tasks.create(label, '');
      const h = o.tasks.handle(ref);
      return {
        ref, setProgress: (f) => h.setProgress(f),
        succeed: (x) => o.tasks.succeed(ref, x),
        fail: (code, params) => o.tasks.fail(ref, ApiError.fromWire(code, params)),
      };
    },
  };
  const store = updateStore(o.db, o.dataDir, o.log);
  const deps = { db: o.db, sessions: o.sessions, tasks: o.tasks, dataDir: o.dataDir, log: o.log, ...(o.pool ? { pool: o.pool } : {}) };
  let services: Services | undefined;
  const resyncAll = async () => {
    if (!services) return;
    const env = updateEnv(services);
    for (const [h] of o.db.all('host')) {
      await resyncHost(env, h).catch((e) => o.log(`update resync of ${h}: ${toWireError(e).message}`));
    }
  };
  const resources: Array<readonly [string, ResourceHandler]> = [
    ['PUT /pool_patch_upload', createPatchUploadHandler({ ...deps, store, ...(o.maxUploadBytes ? { maxBytes: o.maxUploadBytes } : {}) })],
    ['GET /pool_patch_download', createPatchDownloadHandler({ ...deps, store })],
    ['GET /pool/xmldbdump', createDbDumpHandler(deps)],
    ['PUT /pool/xmldbdump', createDbRestoreHandler({ ...deps, afterRestore: async () => { migrate(); await resyncAll(); } })],
  ];
  const stop = new AbortController();

  /** Follows host and update records on the master and keeps the derived state current. */
  async function watch(s: Services): Promise<void> {
    const db = o.db;
    const clocks = new Map<string, string>();
    const clockOf = (h: string) => {
      const oc = (db.get('host', h)?.other_config ?? {}) as Record<string, string>;
      return `${oc.boot_time}|${oc.agent_start_time}`;
    };
    for (const [h] of db.all('host')) clocks.set(h, clockOf(h));
    let gen = db.generation;
    const wanted = new Set(['host', 'host_metrics', 'host_patch', 'pool_patch', 'pool_update']);
    while (!stop.signal.aborted) {
      try {
        await db.waitForChange(gen, 30_000, stop.signal);
      } catch {
        return; // database closed
      }
      if (stop.signal.aborted) return;
      let changed: string[] = [];
      try {
        const ch = db.changesSince(gen, (cls) => wanted.has(cls));
        gen = ch.gen;
        changed = ch.changes.map((c) => c.cls);
      } catch {
        gen = db.generation;
        changed = ['host'];
      }
      if (!isMaster() || changed.length === 0) continue;
      try {
        refreshUpdateState(db);
      } catch (e) {
        o.log(`update state refresh: ${toWireError(e).message}`);
      }
      for (const [h] of db.all('host')) {
        const now = clockOf(h);
        if (clocks.get(h) === now) continue;
        clocks.set(h, now);
        // A host that restarted may have been installed on by hand or restored: its markers rule.
        if (h !== o.hostRef) void resyncHost(updateEnv(s), h).catch(() => undefined);
      }
    }
  }

  return {
    port,
    resources,
    start: (s) => {
      services = s;
      if (!isMaster()) return;
      void resyncHost(updateEnv(s), o.hostRef)
        .catch((e) => o.log(`update resync: ${toWireError(e).message}`))
        .finally(() => {
          try {
            refreshUpdateState(o.db);
          } catch (e) {
            o.log(`update state refresh: ${toWireError(e).message}`);
          }
          // Members need a moment to reconnect to a master that has just restarted.
          const t = setTimeout(() => { if (!stop.signal.aborted && isMaster()) resumeRunsAtStart(s); }, RESUME_DELAY_MS);
          t.unref();
        });
      void watch(s);
    },
    stop: () => stop.abort(),
  };
}
