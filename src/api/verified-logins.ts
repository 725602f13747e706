/**
 * @module
 * Logins whose password scrypt accepted a moment ago, so that a script running `xe` once
 * per command (each run logs in anew) does not pay the password hash every time. An entry
 * is an HMAC-SHA256, under a key drawn at random when the process starts and never
 * written anywhere, over the user name, that user's stored hash and the password: it
 * holds no password and no hash an attacker could attack offline without the key, and
 * binding the stored hash means a changed password (here or replicated from another host)
 * matches no entry any more. An entry lasts a while after its last use
 * (`ISLET_LOGIN_CACHE_MS`, 60 s by default; 0 turns the cache off), so a script that runs
 * `xe` now and then keeps it, and never longer than {@link MAX_LIFETIME_MS} after the check
 * that made it, so a verifier of a password does not live on in memory for as long as
 * something keeps using it. The table is bounded (least recently used out first). Only a
 * right password can hit: a wrong one, or one for an unknown name, always costs the full
 * hash.
 *
 * Why use extends it: an entry that ended a fixed time after its check, however busy, made
 * a long script pay the hash once a minute, and the hash is dearer than its 40 ms of
 * arithmetic suggests: scrypt takes 16 MiB afresh each time, and faulting those pages in
 * costs as much again on a small virtual machine. A 1 MiB `xe vdi-import` took 130 ms
 * against a server with the table and 185 ms against one without (medians of 6).
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface VerifiedLoginsOptions {
  /** How long an entry lasts after its last use. */
  readonly ttlMs?: number;
  /** How long an entry lasts at most after the scrypt check that made it (at least `ttlMs`). */
  readonly maxLifetimeMs?: number;
  /** Entries kept at most. */
  readonly capacity?: number;
  readonly now?: () => number;
}

const DEFAULT_TTL_MS = 60_000;
/** The longest an entry lives, however often it is used: one scrypt check per ten minutes of use. */
export const MAX_LIFETIME_MS = 10 * 60_000;

function ttlFromEnv(): number {
  const v = Number(process.env.ISLET_LOGIN_CACHE_MS);
  return process.env.ISLET_LOGIN_CACHE_MS !== undefined && Number.isFinite(v) && v >= 0 ? v : DEFAULT_TTL_MS;
}

export class VerifiedLogins {
  readonly #key = randomBytes(32);
  /**
   * MAC → who, until when unless used again, and when at the latest. A Map keeps insertion
   * order and a hit moves its entry to the end, so the first entry is the least recently used.
   */
  readonly #entries = new Map<string, { readonly user: string; readonly until: number; readonly ends: number }>();
  readonly #ttlMs: number;
  readonly #maxLifetimeMs: number;
  readonly #capacity: number;
  readonly #now: () => number;

  constructor(o: VerifiedLoginsOptions = {}) {
    this.#ttlMs = o.ttlMs ?? ttlFromEnv();
    this.#maxLifetimeMs = Math.max(this.#ttlMs, o.maxLifetimeMs ?? MAX_LIFETIME_MS);
    this.#capacity = o.capacity ?? 1024;
    this.#now = o.now ?? Date.now;
  }

  #mac(user: string, storedHash: string, password: string): string {
    // JSON keeps the three parts apart whatever characters they hold.
    return createHmac('sha256', this.#key).update(JSON.stringify([user, storedHash, password])).digest('base64');
  }

  /**
   * Whether scrypt accepted this password for this user, with this stored hash, within the
   * lifetime; a hit keeps the entry for another `ttlMs`, up to its latest end.
   */
  has(user: string, storedHash: string, password: string): boolean {
    if (this.#ttlMs <= 0) return false;
    const mac = this.#mac(user, storedHash, password);
    const e = this.#entries.get(mac);
    if (!e) return false;
    this.#entries.delete(mac);
    const now = this.#now();
    if (now >= e.until || now >= e.ends || e.user !== user) return false;
    this.#entries.set(mac, { ...e, until: Math.min(now + this.#ttlMs, e.ends) });
    return true;
  }

  /** Records a login scrypt has just accepted. */
  remember(user: string, storedHash: string, password: string): void {
    if (this.#ttlMs <= 0) return;
    const mac = this.#mac(user, storedHash, password);
    this.#entries.delete(mac);
    this.#sweep();
    while (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    const now = this.#now();
    this.#entries.set(mac, { user, until: now + this.#ttlMs, ends: now + this.#maxLifetimeMs });
  }

  /** Drops every entry of a user (password set, user removed, role changed). */
  forget(user: string): void {
    for (const [mac, e] of this.#entries) if (e.user === user) this.#entries.delete(mac);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Expired entries out. All are looked at: use reorders them, and there are few. */
  #sweep(): void {
    const now = this.#now();
    for (const [mac, e] of this.#entries) if (now >= e.until) this.#entries.delete(mac);
  }
}
