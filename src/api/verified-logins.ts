/**
 * @module
 * Logins whose password scrypt accepted a moment ago, so that a script running `xe` once
 * per command (each run logs in anew) does not pay the password hash every time. An entry
 * is an HMAC-SHA256, under a key drawn at random when the process starts and never
 * written anywhere, over the user name, that user's stored hash and the password: it
 * holds no password and no hash an attacker could attack offline without the key, and
 * binding the stored hash means a changed password (here or replicated from another host)
 * matches no entry any more. An entry lives a fixed time from the check that made it
 * (`ISLET_LOGIN_CACHE_MS`, 60 s by default; 0 turns the cache off), is never extended by
 * use, and the table is bounded (oldest out first). Only a right password can hit: a wrong
 * one, or one for an unknown name, always costs the full hash.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface VerifiedLoginsOptions {
  /** How long an entry lasts after the scrypt check that made it. */
  readonly ttlMs?: number;
  /** Entries kept at most. */
  readonly capacity?: number;
  readonly now?: () => number;
}

const DEFAULT_TTL_MS = 60_000;

function ttlFromEnv(): number {
  const v = Number(process.env.ISLET_LOGIN_CACHE_MS);
  return process.env.ISLET_LOGIN_CACHE_MS !== undefined && Number.isFinite(v) && v >= 0 ? v : DEFAULT_TTL_MS;
}

export class VerifiedLogins {
  readonly #key = randomBytes(32);
  /** MAC → who and until when; a Map keeps insertion order, so the first entry is the oldest. */
  readonly #entries = new Map<string, { readonly user: string; readonly until: number }>();
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #now: () => number;

  constructor(o: VerifiedLoginsOptions = {}) {
    this.#ttlMs = o.ttlMs ?? ttlFromEnv();
    this.#capacity = o.capacity ?? 1024;
    this.#now = o.now ?? Date.now;
  }

  #mac(user: string, storedHash: string, password: string): string {
    // JSON keeps the three parts apart whatever characters they hold.
    return createHmac('sha256', this.#key).update(JSON.stringify([user, storedHash, password])).digest('base64');
  }

  /** Whether scrypt accepted this password for this user, with this stored hash, within the lifetime. */
  has(user: string, storedHash: string, password: string): boolean {
    if (this.#ttlMs <= 0) return false;
    const mac = this.#mac(user, storedHash, password);
    const e = this.#entries.get(mac);
    if (!e) return false;
    if (this.#now() >= e.until || e.user !== user) {
      this.#entries.delete(mac);
      return false;
    }
    return true;
  }

  /** Records a login scrypt has just accepted. */
  remember(user: string, storedHash: string, password: string): void {
    if (this.#ttlMs <= 0) return;
    const mac = this.#mac(user, storedHash, password);
    this.#entries.delete(mac);
    this.#sweep();
    while (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(mac, { user, until: this.#now() + this.#ttlMs });
  }

  /** Drops every entry of a user (password set, user removed, role changed). */
  forget(user: string): void {
    for (const [mac, e] of this.#entries) if (e.user === user) this.#entries.delete(mac);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Expired entries out, oldest first (they expire in insertion order). */
  #sweep(): void {
    const now = this.#now();
    for (const [mac, e] of this.#entries) {
      if (now < e.until) break;
      this.#entries.delete(mac);
    }
  }
}
