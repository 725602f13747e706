/**
 * @module
 * A member's three conversations with its master, each its own loop with backoff so that
 * a master that is restarting or unreachable is simply retried: heartbeats (every
 * `heartbeatMs`, carrying where this host serves and when its agent and hypervisor
 * started), replication (a long poll that brings the master's changes into the local
 * replica), and the queue of writes this host made to its replica, sent in order. When
 * the master answers HOST_IS_SLAVE it has handed over, and the link follows the address it
 * names.
 */
import { XapiCallError } from '../client/xapi-call-error.js';
import type { Ref } from '../core/ref.js';
import type { ForwardedWrite, ForwardingPoolDb } from './forwarding-pool-db.js';
import { formatHostPort, parseHostPort, peerUrl, type HostPort } from './host-address.js';
import { PeerClient } from './peer-client.js';
import { applyUpdate, replicaGeneration, type ReplicaUpdate } from './replication.js';

export interface HeartbeatStatus {
  readonly address: string;
  readonly port: number;
  readonly [k: string]: unknown;
}

export interface MemberLinkOptions {
  readonly db: ForwardingPoolDb;
  readonly master: HostPort;
  readonly self: Ref<'host'>;
  /** This host's uuid and pool credential, which the master checks at each login. */
  readonly credential: () => { readonly hostUuid: string; readonly token: string } | undefined;
  readonly heartbeatMs: number;
  readonly status: () => HeartbeatStatus;
  readonly log: (msg: string) => void;
  /** The master named another host as master (HOST_IS_SLAVE): follow it. */
  readonly onMasterMoved: (to: HostPort) => void;
}

const POLL_SECONDS = 20;
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => { clearTimeout(t); resolve(); };
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class MemberLink {
  readonly #o: MemberLinkOptions;
  readonly #stop = new AbortController();
  readonly #client: PeerClient;
  readonly #queue: ForwardedWrite[][] = [];
  #wakeSender: (() => void) | undefined;
  /** Batches enqueued, and how many of them the master has applied, in order. */
  #enqueued = 0;
  #applied = 0;
  readonly #appliedWaiters = new Set<{ upTo: number; resolve: () => void }>();
  #synced: Promise<void>;
  #resolveSynced!: () => void;
  #down = false;
  readonly master: HostPort;

  constructor(o: MemberLinkOptions) {
    this.#o = o;
    this.master = o.master;
    this.#client = new PeerClient({ url: peerUrl(o.master), credential: o.credential, timeoutMs: 10_000, connectTimeoutMs: 3000 });
    this.#synced = new Promise((r) => { this.#resolveSynced = r; });
  }

  /** The client this link talks to the master with (for one-off calls). */
  get client(): PeerClient {
    return this.#client;
  }

  start(): void {
    this.#o.db.setForwarder((batch) => this.enqueue(batch));
    void this.#heartbeats();
    void this.#replicate();
    void this.#sender();
  }

  /** Resolves once the replica has caught up with the master at least once. */
  synced(): Promise<void> {
    return this.#synced;
  }

  /** Fetches and applies the master's latest changes now (before a handover). */
  async syncNow(): Promise<void> {
    const since = replicaGeneration(this.#o.db);
    const u = JSON.parse(String(await this.#client.call('pool.islet_db_changes', [since, 0], { timeoutMs: 30_000 }))) as ReplicaUpdate;
    applyUpdate(this.#o.db, u);
  }

  /** Writes made to the replica, for the master. */
  enqueue(batch: ForwardedWrite[]): void {
    this.#queue.push(batch);
    this.#enqueued++;
    this.#wakeSender?.();
  }

  /**
   * Resolves once the master has applied every write made here so far, or after `ms`, or at
   * once when the master is out of reach or the link stops (the writes stay queued): a call
   * the master sent here is answered only then, so that the master reads what it did, as
   * in xapi where a member writes to the master's database.
   */
  whenApplied(ms: number): Promise<void> {
    const upTo = this.#enqueued;
    // A master out of reach or a link replaced (a new master) cannot take them now.
    if (this.#applied >= upTo || this.stopped || this.#down) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { upTo, resolve: () => { clearTimeout(timer); this.#appliedWaiters.delete(w); resolve(); } };
      const timer = setTimeout(w.resolve, ms);
      this.#appliedWaiters.add(w);
    });
  }

  #markApplied(batches: number): void {
    this.#applied += batches;
    for (const w of [...this.#appliedWaiters]) if (w.upTo <= this.#applied) w.resolve();
  }

  /** Takes the writes not sent yet (to hand them to the link that replaces this one). */
  takeQueue(): ForwardedWrite[][] {
    return this.#queue.splice(0);
  }

  /** Sends what is queued now (best effort, before stopping). */
  async flush(timeoutMs = 3000): Promise<void> {
    const taken = this.#queue.splice(0);
    const batch = taken.flat();
    if (batch.length === 0) return;
    try {
      await this.#client.call('pool.islet_db_apply', [JSON.stringify(batch)], { timeoutMs });
      this.#markApplied(taken.length);
    } catch {
      this.#queue.unshift(...taken);
    }
  }

  stop(): void {
    this.#stop.abort();
    this.#wakeSender?.();
    for (const w of [...this.#appliedWaiters]) w.resolve();
    this.#client.failAll('member link stopped');
    this.#client.close();
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #trouble(what: string, e: unknown): boolean {
    if (e instanceof XapiCallError && e.code === 'HOST_IS_SLAVE' && e.params[0]) {
      const to = parseHostPort(e.params[0], this.master.port);
      if (formatHostPort(to) !== formatHostPort(this.master)) {
        this.#o.log(`pool: ${formatHostPort(this.master)} is no longer master; following ${formatHostPort(to)}`);
        this.#o.onMasterMoved(to);
        return true;
      }
    }
    if (!this.#down) {
      this.#down = true;
      this.#o.log(`pool: cannot reach master ${formatHostPort(this.master)} (${what}): ${e instanceof Error ? e.message : String(e)}; retrying`);
    }
    return false;
  }

  #ok(): void {
    if (this.#down) {
      this.#down = false;
      this.#o.log(`pool: master ${formatHostPort(this.master)} reachable again`);
    }
  }

  async #heartbeats(): Promise<void> {
    const signal = this.#stop.signal;
    let backoff = 0;
    while (!signal.aborted) {
      try {
        await this.#client.call('pool.islet_heartbeat', [this.#o.self, JSON.stringify(this.#o.status())], {
          timeoutMs: Math.max(2000, this.#o.heartbeatMs * 2),
        });
        this.#ok();
        backoff = 0;
        await sleep(this.#o.heartbeatMs, signal);
      } catch (e) {
        if (signal.aborted || this.#trouble('heartbeat', e)) return;
        backoff = Math.min(backoff ? backoff * 2 : 250, Math.max(this.#o.heartbeatMs, 2000));
        await sleep(backoff, signal);
      }
    }
  }

  async #replicate(): Promise<void> {
    const signal = this.#stop.signal;
    let backoff = 0;
    while (!signal.aborted) {
      const since = replicaGeneration(this.#o.db);
      try {
        const raw = await this.#client.call('pool.islet_db_changes', [since, POLL_SECONDS], { timeoutMs: (POLL_SECONDS + 15) * 1000 });
        if (signal.aborted) return;
        applyUpdate(this.#o.db, JSON.parse(String(raw)) as ReplicaUpdate);
        this.#resolveSynced();
        backoff = 0;
      } catch (e) {
        if (signal.aborted || this.#trouble('replication', e)) return;
        backoff = Math.min(backoff ? backoff * 2 : 250, 5000);
        await sleep(backoff, signal);
      }
    }
  }

  async #sender(): Promise<void> {
    const signal = this.#stop.signal;
    let backoff = 0;
    while (!signal.aborted) {
      if (this.#queue.length === 0) {
        await new Promise<void>((r) => { this.#wakeSender = r; });
        this.#wakeSender = undefined;
        continue;
      }
      const taken = this.#queue.splice(0);
      const batch = taken.flat();
      try {
        await this.#client.call('pool.islet_db_apply', [JSON.stringify(batch)], { timeoutMs: 15_000 });
        this.#markApplied(taken.length);
        backoff = 0;
      } catch (e) {
        this.#queue.unshift(...taken);
        if (signal.aborted || this.#trouble('writes', e)) return;
        backoff = Math.min(backoff ? backoff * 2 : 250, 5000);
        await sleep(backoff, signal);
      }
    }
  }
}
