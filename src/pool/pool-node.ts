/**
 * @module
 * One host's place in its pool, at run time: whether it is master or member, the pool
 * secret, the master's liveness monitor or the member's link to its master, the clients
 * it calls other hosts with, and the switches between roles (join, handover, emergency
 * takeover). Actions reach it through `services.pool`; the membership procedures
 * themselves live in `pool-membership.ts`.
 */
import { ApiError } from '../core/api-error.js';
import { isNullRef, type Ref } from '../core/ref.js';
import type { ClassDecl } from '../datamodel/dsl.js';
import type { SessionStore } from '../api/session-store.js';
import type { SessionInfo } from '../actions/context.js';
import { XapiCallError } from '../client/xapi-call-error.js';
import { isDeclaredError } from '../datamodel/errors.js';
import type { ForwardingPoolDb } from './forwarding-pool-db.js';
import { formatHostPort, isWildcard, peerUrl, slaveReplyAddress, type HostPort } from './host-address.js';
import type { HostLifecycle } from './host-lifecycle.js';
import { LivenessMonitor, liveInDb } from './liveness-monitor.js';
import { MemberLink } from './member-link.js';
import { PeerClient, PeerUnreachable } from './peer-client.js';
import { loadPoolSecret, readPoolRole, writeApiAddress, writePoolRole, type PoolRole } from './pool-conf.js';
import { REPLICA_GEN_KEY, storedFields } from './replication.js';
import './pool-errors.js';

export interface PoolNodeOptions {
  readonly dataDir: string;
  readonly db: ForwardingPoolDb;
  readonly classes: readonly ClassDecl[];
  readonly sessions: SessionStore;
  readonly hostRef: Ref<'host'>;
  /** The address the API listens on (a wildcard means: find out how peers see us). */
  readonly listenHost: string;
  readonly lifecycle: HostLifecycle;
  readonly log: (msg: string) => void;
  readonly heartbeatMs?: number;
  readonly livenessTimeoutMs?: number;
  /** The host was rebooted since the toolstack last ran (its boot time grew). */
  readonly rebooted?: boolean;
}

/** A call another host makes on this one, or this host on itself, through the dispatcher. */
export type LocalCall = (method: string, params: readonly unknown[]) => Promise<unknown>;

const POOL_USER = { name: '__pool__', hash: '', role: 'pool-admin' as const };

export class PoolNode {
  readonly o: PoolNodeOptions;
  readonly db: ForwardingPoolDb;
  readonly self: Ref<'host'>;
  readonly fields: Map<string, readonly string[]>;
  readonly heartbeatMs: number;
  readonly livenessTimeoutMs: number;
  #role: PoolRole;
  #secret: string;
  #port = 0;
  #monitor: LivenessMonitor | undefined;
  #member: MemberLink | undefined;
  readonly #peers = new Map<string, PeerClient>();
  #localCall: LocalCall | undefined;
  #stopped = false;
  #localSession: string | undefined;
  /** Set while a role change runs, so that two do not interleave. */
  busy: string | undefined;

  constructor(o: PoolNodeOptions) {
    this.o = o;
    this.db = o.db;
    this.self = o.hostRef;
    this.fields = storedFields(o.classes);
    this.heartbeatMs = o.heartbeatMs ?? 2000;
    this.livenessTimeoutMs = o.livenessTimeoutMs ?? 20_000;
    this.#role = readPoolRole(o.dataDir);
    this.#secret = loadPoolSecret(o.dataDir);
  }

  // --- identity ----------------------------------------------------------------------

  isMaster(): boolean {
    return this.#role.role === 'master';
  }

  get role(): PoolRole {
    return this.#role;
  }

  get secret(): string {
    return this.#secret;
  }

  set secret(s: string) {
    this.#secret = s;
  }

  get port(): number {
    return this.#port;
  }

  get monitor(): LivenessMonitor | undefined {
    return this.#monitor;
  }

  get member(): MemberLink | undefined {
    return this.#member;
  }

  selfUuid(): string {
    return String(this.db.get('host', this.self)?.uuid ?? '');
  }

  /** Where peers reach this host. */
  selfAddress(): HostPort {
    const row = this.db.get('host', this.self);
    const fromRow = typeof row?.address === 'string' && row.address && !isWildcard(row.address) ? row.address : undefined;
    const host = !isWildcard(this.o.listenHost) ? this.o.listenHost : fromRow ?? '127.0.0.1';
    return { host, port: this.#port };
  }

  /** The master's address and port (this host's own when it is master). */
  masterHostPort(): HostPort {
    return this.#role.role === 'master' ? this.selfAddress() : this.#role.master;
  }

  /** The address HOST_IS_SLAVE gives clients. */
  masterAddressForClients(): string {
    return slaveReplyAddress(this.masterHostPort(), this.#port);
  }

  /** Fails with HOST_IS_SLAVE (full `host:port`, for peers) unless this host is master. */
  assertMaster(): void {
    if (!this.isMaster()) throw new ApiError('HOST_IS_SLAVE', [formatHostPort(this.masterHostPort())]);
  }

  /** Where another host of the pool serves, from its record. */
  addressOf(host: Ref<'host'>): HostPort {
    if (host === this.self) return this.selfAddress();
    const row = this.db.get('host', host);
    if (!row) throw new ApiError('HANDLE_INVALID', ['host', host]);
    const oc = (row.other_config ?? {}) as Record<string, string>;
    const port = Number(oc.islet_port) || this.#port;
    return { host: String(row.address), port };
  }

  // --- running -----------------------------------------------------------------------

  setLocalCall(f: LocalCall): void {
    this.#localCall = f;
  }

  /** Called once the API listens on `port`. */
  async start(port: number): Promise<void> {
    this.#port = port;
    const me = this.selfAddress();
    writeApiAddress(this.o.dataDir, { host: isWildcard(this.o.listenHost) ? '127.0.0.1' : me.host, port });
    this.#refreshOwnRecord();
    if (this.#role.role === 'master') this.#runAsMaster();
    else this.#runAsMember(this.#role.master);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#monitor?.stop();
    if (this.#member) {
      await this.#member.flush(1000);
      this.#member.stop();
    }
    for (const p of this.#peers.values()) p.close();
    this.#peers.clear();
  }

  /** Keeps the host record's port (and the re-enable after a reboot) current. */
  #refreshOwnRecord(): void {
    const row = this.db.get('host', this.self);
    if (!row) return;
    const oc = { ...((row.other_config ?? {}) as Record<string, string>) };
    const patch: Record<string, unknown> = {};
    if (oc.islet_port !== String(this.#port)) {
      oc.islet_port = String(this.#port);
      patch.other_config = oc;
    }
    const addr = this.selfAddress().host;
    if (row.address !== addr) patch.address = addr;
    // As xapi: a host comes back from a reboot enabled; a toolstack restart keeps it as it was.
    if (this.o.rebooted && row.enabled === false) patch.enabled = true;
    if (Object.keys(patch).length > 0) this.db.update('host', this.self, patch);
  }

  #runAsMaster(): void {
    this.db.setForwarder(undefined);
    const pool = this.db.all('pool')[0];
    if (pool && pool[1].master !== this.self) this.db.update('pool', pool[0], { master: this.self });
    this.#monitor = new LivenessMonitor({
      db: this.db, self: this.self, timeoutMs: this.livenessTimeoutMs, log: this.o.log,
      onDead: (h) => this.#peers.get(h)?.failAll('host not live'),
    });
    this.#monitor.start();
  }

  #runAsMember(master: HostPort): void {
    this.#monitor?.stop();
    this.#monitor = undefined;
    const leftover = this.#member?.takeQueue() ?? [];
    this.#member?.stop();
    this.db.hold();
    const link = new MemberLink({
      db: this.db, master, self: this.self,
      selfUuid: () => this.selfUuid(),
      secret: () => this.#secret,
      heartbeatMs: this.heartbeatMs,
      status: () => this.#status(),
      log: this.o.log,
      onMasterMoved: (to) => this.followMaster(to),
    });
    this.#member = link;
    link.start();
    for (const b of leftover) link.enqueue(b);
  }

  #status(): { address: string; port: number; agent_start_time?: string; boot_time?: string } {
    const me = this.selfAddress();
    const oc = (this.db.get('host', this.self)?.other_config ?? {}) as Record<string, string>;
    return {
      address: me.host, port: me.port,
      ...(oc.agent_start_time ? { agent_start_time: oc.agent_start_time } : {}),
      ...(oc.boot_time ? { boot_time: oc.boot_time } : {}),
    };
  }

  /** Makes this host a member of the master at `master` (starting over with a full copy). */
  becomeMember(master: HostPort): void {
    this.#role = { role: 'slave', master };
    writePoolRole(this.o.dataDir, this.#role);
    this.db.unforwarded(() => this.db.inner.setMeta(REPLICA_GEN_KEY, undefined));
    this.#runAsMember(master);
  }

  /** Makes this host master with the database it has. */
  becomeMaster(): void {
    this.#member?.stop();
    this.#member = undefined;
    this.#role = { role: 'master' };
    writePoolRole(this.o.dataDir, this.#role);
    this.#runAsMaster();
  }

  /** Another host is master now (handover, recovery, or a master telling us it moved). */
  followMaster(to: HostPort): void {
    if (this.#stopped) return;
    const me = this.selfAddress();
    if (formatHostPort(to) === formatHostPort(me)) {
      if (!this.isMaster()) this.becomeMaster();
      return;
    }
    const cur = this.#role;
    if (cur.role === 'slave' && formatHostPort(cur.master) === formatHostPort(to) && this.#member && !this.#member.stopped) return;
    this.o.log(`pool: master is now ${formatHostPort(to)}`);
    this.becomeMember(to);
  }

  // --- sessions and calls ------------------------------------------------------------

  /** Opens a pool-internal session for a host that proved it knows the pool secret. */
  poolLogin(hostUuid: string, secret: string): SessionInfo {
    if (!constantTimeEqual(secret, this.#secret)) {
      throw new ApiError('SESSION_AUTHENTICATION_FAILED', ['__pool__', 'The pool secret is wrong']);
    }
    return this.o.sessions.open(POOL_USER, `pool:${hostUuid}`, true);
  }

  /** A session for calls this host makes on itself. */
  localSession(): string {
    if (!this.#localSession) this.#localSession = this.o.sessions.open(POOL_USER, 'pool:local', true).ref;
    return this.#localSession;
  }

  peerFor(host: Ref<'host'>): PeerClient {
    const url = peerUrl(this.addressOf(host));
    const cur = this.#peers.get(host);
    if (cur && cur.url === url) return cur;
    cur?.close();
    const c = new PeerClient({ url, secret: () => this.#secret, callerUuid: () => this.selfUuid(), timeoutMs: 30 * 60_000, connectTimeoutMs: 5000 });
    this.#peers.set(host, c);
    return c;
  }

  dropPeer(host: Ref<'host'>): void {
    this.#peers.get(host)?.close();
    this.#peers.delete(host);
  }

  isLive(host: Ref<'host'>): boolean {
    if (host === this.self) return true;
    return this.#monitor ? this.#monitor.isLive(host) : liveInDb(this.db, host);
  }

  /** PoolLink.callOnHost: locally through the dispatcher, or on the peer as the pool. */
  async callOnHost(host: Ref<'host'>, method: string, params: readonly unknown[], opts: { timeoutMs?: number } = {}): Promise<unknown> {
    if (host === this.self) {
      if (!this.#localCall) throw new ApiError('INTERNAL_ERROR', ['pool: local dispatcher not wired']);
      return this.#localCall(method, [this.localSession(), ...params]);
    }
    if (isNullRef(host) || !this.db.get('host', host)) throw new ApiError('HANDLE_INVALID', ['host', host]);
    if (!this.isLive(host)) throw new ApiError('HOST_OFFLINE', [host]);
    try {
      return await this.peerFor(host).call(method, params, opts);
    } catch (e) {
      throw asApiError(e, host);
    }
  }
}

/** A failure from a peer as this host reports it: unreachable is HOST_OFFLINE. */
export function asApiError(e: unknown, host: Ref<'host'>): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof PeerUnreachable) return new ApiError('HOST_OFFLINE', [host]);
  if (e instanceof XapiCallError) {
    return isDeclaredError(e.code) ? new ApiError(e.code, e.params) : new ApiError('INTERNAL_ERROR', [e.message]);
  }
  return new ApiError('INTERNAL_ERROR', [e instanceof Error ? e.message : String(e)]);
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

