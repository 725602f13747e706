/**
 * @module
 * The OpenPGP keys the pool trusts to sign updates. They live in the pool database's
 * internal store (one meta entry, so they travel with the database to members and into
 * backups), are seeded from `--update-key FILE` when a pool is first made, and are managed
 * later with `pool.islet_add_update_key` / `_remove_` / `_list_`. Each key is kept as the
 * armoured public block gpg exports, keyed by its fingerprint as gpg prints it; a secret
 * key is refused, so a signing key never lands in a trust store by mistake.
 */
import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { ApiError } from '../core/api-error.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import { fingerprintOf, readPublicKeys } from './package/keyring.js';

const META_KEY = 'pool:update-keys';

export interface StoredUpdateKey {
  /** 40 uppercase hex digits. */
  readonly fingerprint: string;
  /** The key's first user id, for listings. */
  readonly uid: string;
  /** Armoured public key block. */
  readonly armoured: string;
  /** When it was added, ISO 8601. */
  readonly added: string;
}

export function listUpdateKeys(db: PoolDb): StoredUpdateKey[] {
  const raw = db.getMeta(META_KEY);
  return raw ? (JSON.parse(raw) as StoredUpdateKey[]) : [];
}

/** The armoured public keys updates are verified against. */
export function trustedUpdateKeys(db: PoolDb): string[] {
  return listUpdateKeys(db).map((k) => k.armoured);
}

/**
 * Adds every public key in `data` (armoured or binary, as `gpg --export` writes); returns
 * their fingerprints. A key already trusted is replaced by the newer copy (a renewed
 * expiry, say). Not a public key: INVALID_VALUE.
 */
export async function addUpdateKeys(db: PoolDb, data: string | Uint8Array, now = new Date()): Promise<string[]> {
  let keys: openpgp.PublicKey[];
  try {
    keys = await readPublicKeys(data, 'update key');
  } catch (e) {
    throw new ApiError('INVALID_VALUE', ['key', (e as Error).message]);
  }
  if (keys.length === 0) throw new ApiError('INVALID_VALUE', ['key', 'no public key found']);
  const fresh: StoredUpdateKey[] = keys.map((k) => ({
    fingerprint: fingerprintOf(k),
    uid: k.getUserIDs()[0] ?? '',
    armoured: k.armor(),
    added: now.toISOString(),
  }));
  db.transaction(() => {
    const byFp = new Map(listUpdateKeys(db).map((k) => [k.fingerprint, k]));
    for (const k of fresh) byFp.set(k.fingerprint, k);
    db.setMeta(META_KEY, JSON.stringify([...byFp.values()]));
  });
  return fresh.map((k) => k.fingerprint);
}

/** Removes a trusted key by fingerprint (any case, spaces allowed); unknown: INVALID_VALUE. */
export function removeUpdateKey(db: PoolDb, fingerprint: string): void {
  const fp = fingerprint.replace(/\s+/g, '').toUpperCase();
  db.transaction(() => {
    const keys = listUpdateKeys(db);
    const kept = keys.filter((k) => k.fingerprint !== fp);
    if (kept.length === keys.length) throw new ApiError('INVALID_VALUE', ['fingerprint', fingerprint]);
    db.setMeta(META_KEY, JSON.stringify(kept));
  });
}

/**
 * Reads and parses the `--update-key` files without trusting anything yet, so that a bad
 * file stops a first start before it has made a pool (a pool made without its keys would
 * ignore the flag on the next start). Throws `--update-key FILE: why`.
 */
export async function checkUpdateKeyFiles(files: readonly string[]): Promise<void> {
  for (const f of files) {
    let data: Buffer;
    try {
      data = await readFile(f);
    } catch (e) {
      throw new Error(`--update-key ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const keys = await readPublicKeys(data, 'update key').catch((e: Error) => {
      throw new Error(`--update-key ${f}: ${e.message}`);
    });
    if (keys.length === 0) throw new Error(`--update-key ${f}: no public key found`);
  }
}

/** Adds the keys in the given files (the `--update-key` flags of a first start). */
export async function seedUpdateKeys(db: PoolDb, files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    try {
      out.push(...(await addUpdateKeys(db, await readFile(f))));
    } catch (e) {
      throw new Error(`--update-key ${f}: ${e instanceof ApiError ? e.params[1] : (e as Error).message}`);
    }
  }
  return out;
}
