/**
 * @module
 * How much a failed login slows the next attempts down, per account and per peer, in
 * bounded memory that an attacker cannot flush. Failures are counted in three tables: per
 * existing account (bounded by the accounts there are: unknown names are never keys), per
 * account and peer, and per peer. The last two are LRU maps of fixed capacity with a
 * floor: a new key evicts, least recently used first, only an entry that carries a single
 * failure or has been idle past `minAgeMs`; when every entry is heavier and younger, the
 * newcomer is not tracked by that table rather than anybody forgotten. So floods of
 * made-up names or addresses leave the counts that matter as they were. Counts fade after
 * `forgetMs` without failures.
 */

export interface ThrottleOptions {
  /** Entries per table (per account and peer, per peer). */
  readonly capacity?: number;
  /** An entry idle for less than this is never evicted. */
  readonly minAgeMs?: number;
  /** Counts reset after this long without a failure. */
  readonly forgetMs?: number;
  readonly now?: () => number;
}

interface Count {
  count: number;
  last: number;
}

const MAX_DELAY_MS = 4000;
/** Failures of one account from everywhere tolerated before they slow every peer down. */
const ACCOUNT_GRACE = 5;

/** A map of counts with a capacity and an eviction floor. */
class FloorLru {
  readonly #map = new Map<string, Count>();
  constructor(readonly capacity: number, private readonly minAgeMs: number, private readonly forgetMs: number) {}

  get(key: string, now: number): number {
    const c = this.#map.get(key);
    if (!c) return 0;
    if (now - c.last > this.forgetMs) {
      this.#map.delete(key);
      return 0;
    }
    return c.count;
  }

  bump(key: string, now: number): number {
    const prev = this.#map.get(key);
    const count = (prev && now - prev.last <= this.forgetMs ? prev.count : 0) + 1;
    if (prev) this.#map.delete(key);
    else if (this.#map.size >= this.capacity && !this.#evictOne(now)) return count;
    this.#map.set(key, { count, last: now });
    return count;
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Frees one slot, least recently used first; false when no entry may go. */
  #evictOne(now: number): boolean {
    let looked = 0;
    for (const [k, c] of this.#map) {
      if (c.count <= 1 || now - c.last >= this.minAgeMs) {
        this.#map.delete(k);
        return true;
      }
      // Bounded work per failure: past the first few hundred, give up rather than scan all.
      if (++looked > 256) break;
    }
    return false;
  }
}

export class LoginThrottle {
  readonly #now: () => number;
  readonly #accounts: FloorLru;
  readonly #accountPeer: FloorLru;
  readonly #peers: FloorLru;

  constructor(o: ThrottleOptions = {}) {
    const capacity = o.capacity ?? 10_000;
    const minAge = o.minAgeMs ?? 10 * 60_000;
    const forget = o.forgetMs ?? 30 * 60_000;
    this.#now = o.now ?? Date.now;
    this.#accounts = new FloorLru(capacity, minAge, forget);
    this.#accountPeer = new FloorLru(capacity, minAge, forget);
    this.#peers = new FloorLru(capacity, minAge, forget);
  }

  /** How long to wait before checking a login of `user` (an existing account or not) from `peer`. */
  delayMs(user: string, known: boolean, peer: string): number {
    const now = this.#now();
    const fromPeer = this.#peers.get(peer, now);
    const f = Math.max(
      known ? this.#accountPeer.get(`${user}\n${peer}`, now) : 0,
      known ? this.#accounts.get(user, now) - ACCOUNT_GRACE : 0,
      // A peer trying many names is slowed down too, a little later.
      fromPeer - ACCOUNT_GRACE,
    );
    return f <= 0 ? 0 : Math.min(MAX_DELAY_MS, 100 * 2 ** (f - 1));
  }

  /** Counts a failure; returns the per-account-and-peer (or per-peer) count, for logging. */
  fail(user: string, known: boolean, peer: string): number {
    const now = this.#now();
    const p = this.#peers.bump(peer, now);
    if (!known) return p;
    this.#accounts.bump(user, now);
    return this.#accountPeer.bump(`${user}\n${peer}`, now);
  }

  succeed(user: string, peer: string): void {
    this.#accountPeer.delete(`${user}\n${peer}`);
    this.#accounts.delete(user);
  }

  /** Entries held, per table (for tests and diagnostics). */
  get sizes(): { accounts: number; accountPeer: number; peers: number } {
    return { accounts: this.#accounts.size, accountPeer: this.#accountPeer.size, peers: this.#peers.size };
  }
}
