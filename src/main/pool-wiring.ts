/**
 * @module
 * How a host's composition root plugs the pool layer in, in two steps around first start:
 * `preparePool` wraps the freshly opened database (a member's writes must reach its
 * master from the very first one) and notes the boot time the host had; `attachPool`
 * builds the host's pool node once its record and sessions exist, and hands back what
 * the rest of the host needs: the PoolLink for `services.pool`, the dispatcher gate, the
 * HTTP resources, and start/stop for after the listener is up and before it closes.
 */
import type { PoolDb } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import type { ClassDecl } from '../datamodel/dsl.js';
import type { Dispatcher } from '../api/dispatcher.js';
import type { ResourceHandler } from '../api/http-api.js';
import type { SessionStore } from '../api/session-store.js';
import { ForwardingPoolDb } from '../pool/forwarding-pool-db.js';
import { lifecycleFromEnv, type HostLifecycle } from '../pool/host-lifecycle.js';
import { poolFileResource } from '../api/handlers/pool-file-handler.js';
import { poolGate } from '../pool/pool-gate.js';
import { POOL_FILE_PATH } from '../core/ports/pool-link.js';
import { PoolLinkImpl } from '../pool/pool-link-impl.js';
import { readPoolRole } from '../pool/pool-conf.js';
import { PoolNode } from '../pool/pool-node.js';
import { isReplicatedMeta } from '../pool/replication.js';

export interface PreparedPool {
  /** The database every other part of the host should use. */
  readonly db: ForwardingPoolDb;
  /** `other_config:boot_time` of this host as the database had it before this start. */
  readonly previousBootTime: number | undefined;
}

export function preparePool(raw: PoolDb, dataDir: string, classes: readonly ClassDecl[]): PreparedPool {
  const persisted = new Set(classes.filter((c) => c.persist).map((c) => c.name));
  const db = new ForwardingPoolDb(raw, (cls) => persisted.has(cls), isReplicatedMeta);
  if (readPoolRole(dataDir).role === 'slave') db.hold();
  const me = raw.getMeta('this_host');
  const oc = me ? (raw.get('host', me)?.other_config as Record<string, string> | undefined) : undefined;
  const prev = oc?.boot_time !== undefined ? Number(oc.boot_time) : undefined;
  return { db, previousBootTime: prev !== undefined && Number.isFinite(prev) ? prev : undefined };
}

export interface AttachOptions {
  readonly dataDir: string;
  readonly classes: readonly ClassDecl[];
  readonly sessions: SessionStore;
  readonly hostRef: Ref<'host'>;
  readonly listenHost: string;
  readonly log: (msg: string) => void;
  readonly lifecycle?: HostLifecycle;
  readonly env?: NodeJS.ProcessEnv;
}

export interface PoolAttachment {
  readonly node: PoolNode;
  readonly link: PoolLinkImpl;
  readonly gate: ReturnType<typeof poolGate>;
  readonly resources: ReadonlyArray<readonly [string, ResourceHandler]>;
  /** Lets the node run calls on this host (callOnHost to itself). */
  wire(dispatcher: Dispatcher): void;
  start(port: number): Promise<void>;
  stop(): Promise<void>;
}

function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

export function attachPool(p: PreparedPool, o: AttachOptions): PoolAttachment {
  const env = o.env ?? process.env;
  const oc = p.db.get('host', o.hostRef)?.other_config as Record<string, string> | undefined;
  const boot = Number(oc?.boot_time);
  const rebooted = p.previousBootTime !== undefined && Number.isFinite(boot) && boot > p.previousBootTime + 1;
  const heartbeatMs = envMs(env, 'ISLET_HEARTBEAT_MS');
  const livenessTimeoutMs = envMs(env, 'ISLET_LIVENESS_TIMEOUT_MS');
  const node = new PoolNode({
    dataDir: o.dataDir, db: p.db, classes: o.classes, sessions: o.sessions, hostRef: o.hostRef,
    listenHost: o.listenHost, log: o.log, lifecycle: o.lifecycle ?? lifecycleFromEnv(env), rebooted,
    ...(heartbeatMs ? { heartbeatMs } : {}),
    ...(livenessTimeoutMs ? { livenessTimeoutMs } : {}),
  });
  const link = new PoolLinkImpl(node);
  return {
    node, link,
    gate: poolGate(node),
    resources: [[`GET ${POOL_FILE_PATH}`, poolFileResource(o.dataDir, (uuid, token) => node.verifyHostCredential(uuid, token))]],
    wire: (dispatcher) => node.setLocalCall((method, params) => dispatcher.callJson(method, params, 'local')),
    start: (port) => node.start(port),
    stop: () => node.stop(),
  };
}
