/**
 * @module
 * Storage as one host's toolstack needs it: the storage host with the drivers Islet ships
 * (the `file` SR, the `netapp` and `equallogic` array SRs over this host's iSCSI initiator), the disk
 * import and export HTTP resources, and at start the local SR of a
 * fresh host, the re-plugging of this host's PBDs and, on the master, the built-in
 * templates and the SM records of the drivers. A test may hand in its own storage host.
 */
import type { Services } from '../core/action-context.js';
import { createVdiExportHandler } from '../api/handlers/vdi-export-handler.js';
import { createVdiImportHandler } from '../api/handlers/vdi-import-handler.js';
import { createVmExportHandler } from '../api/handlers/vm-export-handler.js';
import { createVmImportHandler } from '../api/handlers/vm-import-handler.js';
import type { ResourceHandler } from '../api/http-api.js';
import type { SessionStore } from '../api/session-store.js';
import type { TaskRunner } from '../api/task-runner.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { PoolLink } from '../core/ports/pool-link.js';
import type { StorageHost } from '../core/ports/storage-host.js';
import { createStorageHost } from '../storage/storage-host.js';
import { IsletIscsiInitiator } from '../storage/iscsi/islet-iscsi-initiator.js';
import { NetappSrDriver } from '../storage/netapp/netapp-sr-driver.js';
import { EqualLogicSrDriver } from '../storage/equallogic/equallogic-sr-driver.js';
import type { Ref } from '../core/ref.js';
import { ensureBuiltinTemplates } from './builtin-templates.js';
import { ensureSmRecords } from './sm-records.js';
import { hostIscsiIqn } from './iscsi-iqn.js';
import { ensureLocalStorage, replugPbds } from './local-storage.js';

export interface StorageWiringOptions {
  readonly db: PoolDb;
  readonly sessions: SessionStore;
  readonly tasks: TaskRunner;
  readonly dataDir: string;
  readonly pool?: PoolLink;
  readonly log: (msg: string) => void;
  readonly storage?: StorageHost & { unplugAll?(): Promise<void> };
  /** Wraps the storage host (the data path meter for performance metrics). */
  readonly meter?: <H extends StorageHost>(host: H) => H;
  /** This host (its iSCSI initiator name is `other_config:iscsi_iqn`). */
  readonly hostRef?: Ref<'host'>;
}

export interface StorageWiring {
  readonly host: StorageHost;
  resources(services: Services): ReadonlyArray<readonly [string, ResourceHandler]>;
  /** Before the API serves: local SR, PBDs plugged again, templates. */
  start(services: Services): Promise<void>;
  stop(): Promise<void>;
}

export function prepareStorage(o: StorageWiringOptions): StorageWiring {
  // Array SRs reach their LUNs through this host's iSCSI initiator, closed with the storage.
  const initiator = o.storage ? undefined : new IsletIscsiInitiator({ log: o.log });
  const bare = o.storage ?? createStorageHost([
    new NetappSrDriver({ initiator, initiatorIqn: () => hostIscsiIqn(o.db, o.hostRef), log: o.log }),
    new EqualLogicSrDriver({ initiator: initiator!, hostIqn: () => hostIscsiIqn(o.db, o.hostRef), stateDir: o.dataDir }),
  ]);
  const host = o.meter ? o.meter(bare) : bare;
  return {
    host,
    resources: (services) => {
      const deps = { db: o.db, sessions: o.sessions, tasks: o.tasks, dataDir: o.dataDir, log: o.log, services, ...(o.pool ? { pool: o.pool } : {}) };
      return [
        ['PUT /import_raw_vdi', createVdiImportHandler(deps)],
        ['GET /export_raw_vdi', createVdiExportHandler(deps)],
        ['GET /export', createVmExportHandler(deps)],
        ['GET /export_metadata', createVmExportHandler(deps, { metadataOnly: true })],
        ['PUT /import', createVmImportHandler(deps)],
        ['POST /import', createVmImportHandler(deps)],
        ['PUT /import_metadata', createVmImportHandler(deps, { metadataOnly: true })],
      ];
    },
    start: async (services) => {
      const master = !services.pool || services.pool.isMaster();
      try {
        await ensureLocalStorage(services, o.log);
      } catch (e) {
        o.log(`local SR could not be created: ${e instanceof Error ? e.message : String(e)}`);
      }
      await replugPbds(services, o.log);
      if (master) {
        ensureBuiltinTemplates(o.db);
        ensureSmRecords(o.db, host);
      }
    },
    stop: async () => {
      await host.unplugAll?.();
      await initiator?.close();
    },
  };
}
