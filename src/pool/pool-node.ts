/**
 * @module
 * One host's place in its pool, at run time: whether it is master or member, its pool
 * credential (and the check of other hosts' credentials), the master's liveness monitor or the member's link to its master, the clients
 * it calls other hosts with, and the switches between roles (join, handover, emergency
 * takeover). Actions reach it through `services.pool`; the membership procedures
 * themselves live in `pool-membership.ts`.
 */
import { timingSafeEqual } from 'node:crypto';
import { ApiError } from '../core/api-error.js';
import { isNullRef, type Ref } from '../core/ref.js';
import type { ClassDecl } from '../datamodel/dsl.js';
import type { SessionInfo, SessionOpener } from '../core/ports/sessions.js';
import { XapiCallError } from '../client/xapi-call-error.js';
import { isDeclaredError } from '../datamodel/errors.js';
import type { ForwardingPoolDb } from './forwarding-pool-db.js';
import { formatHostPort, isWildcard, peerUrl, slaveReplyAddress, type HostPort } from './host-address.js';
import type { HostLifecycle } from './host-lifecycle.js';
import { LivenessMonitor, liveInDb } from './liveness-monitor.js';
import { MemberLink } from './member-link.js';
import { PeerClient, PeerUnreachable } from './peer-client.js';
import {
  credentialDigest, credentialKey, loadHostCredential, newCredential, readPoolRole, saveHostCredential,
  writeApiAddress, writePoolRole, type HostCredential, type PoolRole,
} from './pool-conf.js';
import { REPLICA_GEN_KEY, storedFields } from './replication.js';

export interface PoolNodeOptions {
  readonly dataDir: string;
  readonly db: ForwardingPoolDb;
  readonly classes: readonly ClassDecl[];
  readonly sessions: SessionOpener;
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
  #credential: HostCredential | undefined;
  /** Hosts the master added whose join has not been confirmed yet, with their rollback timers. */
  readonly pendingJoins = new Map<string, NodeJS.Timeout>();
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
    this.#credential = loadHostCredential(o.dataDir);
  }

  // --- identity ----------------------------------------------------------------------

  isMaster(): boolean {
    return this.#role.role === 'master';
  }

  get role(): PoolRole {
    return this.#role;
  }

  /** This host's own pool credential (none on a member that lost its file). */
  get credential(): HostCredential | undefined {
    return this.#credential;
  }

  set credential(c: HostCredential | undefined) {
    this.#credential = c;
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
    if (this.#role.role === 'master') this.#ensureOwnCredential();
    else if (!this.#credential) this.o.log('pool: this member has no pool credential (pool-credential file): it cannot reach its master; eject it and join again');
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
    for (const t of this.pendingJoins.values()) clearTimeout(t);
  }

  /**
   * A master makes sure it holds a credential bound to its own uuid whose digest the pool
   * database knows (a fresh pool, or a host that lost its file): members check its calls
   * against that digest.
   */
  #ensureOwnCredential(): void {
    const uuid = this.selfUuid();
    if (!uuid) return;
    let c = this.#credential;
    const known = this.db.getMeta(credentialKey(uuid));
    if (c && c.hostUuid === uuid && known === credentialDigest(c.token)) return;
    if (!c || c.hostUuid !== uuid) c = newCredential(uuid);
    saveHostCredential(this.o.dataDir, c);
    this.db.setMeta(credentialKey(uuid), credentialDigest(c.token));
    this.#credential = c;
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
      credential: () => this.#credential,
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

  /**
   * Opens a pool-internal session for a host of the pool that proved it holds the
   * credential the master issued to that very host uuid. Nothing else opens one: no user
   * session of any role can obtain a credential, and a host's credential is useless under
   * another host's uuid.
   */
  poolLogin(hostUuid: string, token: string): SessionInfo {
    const digest = credentialDigest(token);
    if (!this.#credentialHolds(hostUuid, digest)) {
      this.o.log(`pool: refused a pool login claiming host ${JSON.stringify(hostUuid.slice(0, 64))}`);
      throw new ApiError('SESSION_AUTHENTICATION_FAILED', [`pool:${hostUuid.slice(0, 64)}`, 'Not a host of this pool, or a wrong credential']);
    }
    return this.o.sessions.open(POOL_USER, `pool:${hostUuid}`, true, { uuid: hostUuid, digest });
  }

  /** Whether `hostUuid` is a host of the pool whose credential digest is `digest`. */
  #credentialHolds(hostUuid: string, digest: string): boolean {
    const known = this.db.getMeta(credentialKey(hostUuid));
    const expected = Buffer.from(known ?? '0'.repeat(64), 'utf8');
    const given = Buffer.from(digest, 'utf8');
    const same = expected.length === given.length && timingSafeEqual(expected, given);
    return same && known !== undefined && this.db.refByUuid('host', hostUuid) !== undefined;
  }

  /**
   * Checked on every call a pool-internal session makes: the host it was opened for is
   * still in the pool with the same credential (an ejected host's sessions end here), and
   * a host whose join is not confirmed yet may do nothing but confirm it.
   */
  checkPoolSession(session: SessionInfo, method: string): void {
    const bound = session.poolHost;
    if (!bound) return;
    if (!this.#credentialHolds(bound.uuid, bound.digest)) {
      this.o.sessions.logout(session.ref);
      throw new ApiError('SESSION_INVALID', [session.ref]);
    }
    if (this.pendingJoins.has(bound.uuid) && method !== 'pool.islet_join_confirm') {
      throw new ApiError('RBAC_PERMISSION_DENIED', [method, 'The host has not confirmed its join yet']);
    }
  }

  /** The credential (and digest) whose sessions verify a file fetch from another host. */
  verifyHostCredential(hostUuid: string, token: string): boolean {
    return this.#credentialHolds(hostUuid, credentialDigest(token)) && !this.pendingJoins.has(hostUuid);
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
    const c = new PeerClient({ url, credential: () => this.#credential, timeoutMs: 30 * 60_000, connectTimeoutMs: 5000 });
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
    return isDeclaredError(e.code) ? ApiError.fromWire(e.code, e.params) : new ApiError('INTERNAL_ERROR', [e.message]);
  }
  return new ApiError('INTERNAL_ERROR', [e instanceof Error ? e.message : String(e)]);
}

