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
import type { Services } from '../actions/context.js';
import { Dispatcher } from '../api/dispatcher.js';
import { createHttpApi, type ResourceHandler } from '../api/http-api.js';
import { SessionStore } from '../api/session-store.js';
import { TaskRunner } from '../api/task-runner.js';
import { classes } from '../datamodel/index.js';
import { openPoolDb } from '../db/sqlite-pool-db.js';
import { actionsByClass } from './actions-registry.js';
import { listenDual } from './dual-listener.js';
import { ensurePool } from './first-start.js';
import { loadOrCreateTlsIdentity } from './tls-identity.js';

export interface HostServerOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly rootPassword?: string;
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  readonly log?: (msg: string) => void;
}

export interface RunningHost {
  readonly url: string;
  readonly port: number;
  readonly hostRef: Ref<'host'>;
  readonly generatedPasswordFile?: string;
  stop(): Promise<void>;
}

export async function startHostServer(o: HostServerOptions): Promise<RunningHost> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  await mkdir(o.dataDir, { recursive: true });
  // Classes without a uuid (event, vdi_nbd_server_info) are known to the db but never rows.
  const db = openPoolDb(join(o.dataDir, 'pool.db'), classes);
  let hostRef = '' as Ref<'host'>;
  const sessions = new SessionStore(db, () => hostRef);
  const tasks = new TaskRunner(db, () => hostRef);
  const bootTime = Number(process.env.ISLET_BOOT_TIME) || Math.floor(Date.now() / 1000 - uptime());
  const name = process.env.ISLET_HOST_NAME || hostname();
  const first = await ensurePool(
    db, o.dataDir, { hostName: name, address: o.host, bootTime },
    o.rootPassword ?? process.env.ISLET_ROOT_PASSWORD,
    (user, pw) => sessions.setUser(user, pw, 'pool-admin'),
  );
  hostRef = first.hostRef;

  const services: Services = { db, hostRef, now: () => new Date(), sessions, tasks, dataDir: o.dataDir };
  const dispatcher = new Dispatcher({ classes, actions: actionsByClass, sessions, tasks, services });
  const resources = new Map<string, ResourceHandler>();
  const tls = await loadOrCreateTlsIdentity(o.dataDir, {
    ...(o.tlsCertFile ? { certFile: o.tlsCertFile } : {}),
    ...(o.tlsKeyFile ? { keyFile: o.tlsKeyFile } : {}),
    hostName: name,
    addresses: [o.host],
  });
  const listener = await listenDual(o.host, o.port, tls, createHttpApi({ dispatcher, resources, log }));
  const shownHost = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shownHost}:${listener.port}`,
    port: listener.port,
    hostRef,
    ...(first.generatedPasswordFile ? { generatedPasswordFile: first.generatedPasswordFile } : {}),
    stop: async () => {
      await listener.close();
      db.close();
    },
  };
}
