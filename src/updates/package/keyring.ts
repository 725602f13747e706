/**
 * @module
 * The keys a host trusts to sign updates: OpenPGP public keys (RSA or Ed25519), read from
 * armoured or binary files as `gpg --export [--armor]` writes them, several per file allowed.
 * A secret key is refused here, so that a signing key never ends up in a host's trust store
 * by mistake. Fingerprints are spelled as gpg prints them: 40 uppercase hex digits.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';

export type PublicKey = openpgp.PublicKey;
/** A trusted key as an armoured public key block or an already-parsed key. */
export type TrustedKeySource = string | openpgp.PublicKey;

/** The fingerprint of a key or subkey as gpg prints it. */
export function fingerprintOf(key: { getFingerprint(): string }): string {
  return key.getFingerprint().toUpperCase();
}

/** Parses one armoured or binary blob holding one or more public keys. */
export async function readPublicKeys(data: string | Uint8Array, origin = 'key data'): Promise<PublicKey[]> {
  let keys: openpgp.Key[];
  try {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
    keys = text.includes('-----BEGIN PGP ')
      ? await openpgp.readKeys({ armoredKeys: text })
      : await openpgp.readKeys({ binaryKeys: typeof data === 'string' ? Buffer.from(data, 'latin1') : data });
  } catch (e) {
    throw new Error(`${origin}: not an OpenPGP public key (${(e as Error).message})`);
  }
  for (const k of keys) {
    if (k.isPrivate()) throw new Error(`${origin}: holds a secret key; trust only public keys (gpg --export)`);
  }
  return keys as PublicKey[];
}

/** Parses trusted keys given as armoured text or key objects. */
export async function toTrustedKeys(sources: readonly TrustedKeySource[]): Promise<PublicKey[]> {
  const out: PublicKey[] = [];
  for (const [i, s] of sources.entries()) {
    if (typeof s === 'string') out.push(...(await readPublicKeys(s, `trusted key #${i + 1}`)));
    else if (s.isPrivate()) throw new Error(`trusted key #${i + 1}: is a secret key; trust only public keys`);
    else out.push(s);
  }
  return out;
}

/** Reads the trusted keys in the given files. */
export async function loadTrustedKeys(files: readonly string[]): Promise<PublicKey[]> {
  const out: PublicKey[] = [];
  for (const f of files) out.push(...(await readPublicKeys(await readFile(f), f)));
  return out;
}

/** Reads every `*.asc`, `*.gpg` and `*.pub` file of a directory (sorted), e.g. a host's trust store. */
export async function loadTrustedKeyDir(dir: string): Promise<PublicKey[]> {
  const names = (await readdir(dir)).filter((n) => /\.(asc|gpg|pub)$/i.test(n)).sort();
  return loadTrustedKeys(names.map((n) => join(dir, n)));
}
