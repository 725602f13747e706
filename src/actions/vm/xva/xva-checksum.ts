/**
 * @module
 * The checksum member that follows each 1 MiB chunk of an XVA. Older XenServer writes
 * `<chunk>.checksum`, the SHA-1 of the chunk in lowercase hex; newer XenServer writes
 * `<chunk>.xxhash`, the 64-bit xxHash (XXH64, seed 0) as 16 uppercase hex digits, which
 * costs a fraction of SHA-1's time. Both are read; the export writes `.xxhash` unless asked
 * for SHA-1 (for an importer that predates it). SHA-1 runs off the main thread (WebCrypto);
 * XXH64 runs in WebAssembly on it, at several times SHA-1's speed.
 */
import { webcrypto } from 'node:crypto';
import xxhash from 'xxhash-wasm';

export type XvaChecksum = 'xxhash' | 'sha1';

/** The member name suffix of each kind. */
export const CHECKSUM_SUFFIX: Readonly<Record<XvaChecksum, string>> = { xxhash: '.xxhash', sha1: '.checksum' };

export function checksumOfSuffix(suffix: string): XvaChecksum | undefined {
  return suffix === '.xxhash' ? 'xxhash' : suffix === '.checksum' ? 'sha1' : undefined;
}

let api: ReturnType<typeof xxhash> | undefined;

/** The chunk's checksum as XenServer writes it in the member. */
export async function chunkChecksum(kind: XvaChecksum, data: Uint8Array): Promise<string> {
  if (kind === 'sha1') return Buffer.from(await webcrypto.subtle.digest('SHA-1', data)).toString('hex');
  api ??= xxhash();
  return (await api).h64Raw(data).toString(16).toUpperCase().padStart(16, '0');
}

/** Whether a checksum member's text matches the chunk (hex case and whitespace aside). */
export async function checksumMatches(kind: XvaChecksum, data: Uint8Array, text: string): Promise<boolean> {
  return (await chunkChecksum(kind, data)).toLowerCase() === text.trim().toLowerCase();
}
