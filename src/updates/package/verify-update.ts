/**
 * @module
 * The whole check of an update file, in the order that spends the least on a bad one: the
 * archive's structure (names, types, sizes), then the signature over update.json, then the
 * manifest, then the listing (every archive file is listed, every listed file is there), and
 * last the SHA-256 of every file, read under the size limits. Only an update that passes all
 * of it yields a manifest. Refusals: INVALID_PATCH when the file is not a signed update from
 * a trusted key, INVALID_PATCH_WITH_LOG naming the entry or field at fault otherwise.
 */
import { invalidPatch, invalidPatchLog } from '../errors.js';
import { MANIFEST_NAME, SIGNATURE_NAME } from './entry-path.js';
import { toTrustedKeys, type PublicKey, type TrustedKeySource } from './keyring.js';
import { verifyDetachedSignature } from './signature.js';
import { withUpdateArchive, type ReadOptions } from './update-archive.js';
import { parseManifest, type UpdateManifest } from './update-manifest.js';
import type { SafeZip } from './zip-reader.js';

export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_SIGNATURE_BYTES = 64 * 1024;

export interface VerifiedEntry {
  path: string;
  sha256: string;
  size: number;
  mode: number;
}

export interface VerifiedUpdate {
  manifest: UpdateManifest;
  /** Fingerprint of the trusted key that signed update.json. */
  fingerprint: string;
  signingKeyFingerprint: string;
  /** The listed files, as found (hash and size checked). */
  entries: VerifiedEntry[];
  /** The exact signed bytes of update.json. */
  manifestBytes: Buffer;
}

/** Refuses an archive whose files and the manifest's list differ in either direction. */
export function checkListing(zip: SafeZip, manifest: UpdateManifest): void {
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const name of zip.files.keys()) {
    if (name === MANIFEST_NAME || name === SIGNATURE_NAME) continue;
    if (!listed.has(name)) throw invalidPatchLog(`${name}: in the archive but not listed in update.json`);
  }
  for (const f of manifest.files) {
    const e = zip.files.get(f.path);
    if (!e) throw invalidPatchLog(`${f.path}: listed in update.json but missing from the archive`);
    if (f.size !== undefined && e.declaredSize !== f.size) {
      throw invalidPatchLog(`${f.path}: size ${e.declaredSize} differs from the ${f.size} bytes update.json lists`);
    }
  }
}

/** Signature and manifest of an opened archive; the first half of the check. */
export async function verifySignedManifest(zip: SafeZip, trusted: readonly PublicKey[]): Promise<Omit<VerifiedUpdate, 'entries'>> {
  if (!zip.files.has(MANIFEST_NAME)) throw invalidPatch('not an update: no update.json');
  if (!zip.files.has(SIGNATURE_NAME)) throw invalidPatch('unsigned: no update.json.asc');
  const manifestBytes = await zip.readEntry(MANIFEST_NAME, MAX_MANIFEST_BYTES);
  const sigBytes = await zip.readEntry(SIGNATURE_NAME, MAX_SIGNATURE_BYTES);
  const sig = await verifyDetachedSignature(manifestBytes, sigBytes.toString('latin1'), trusted);
  const manifest = parseManifest(manifestBytes);
  return { manifest, fingerprint: sig.fingerprint, signingKeyFingerprint: sig.signingKeyFingerprint, manifestBytes };
}

/** Hashes every listed file and compares it with the manifest. */
export async function verifyContents(zip: SafeZip, manifest: UpdateManifest): Promise<VerifiedEntry[]> {
  checkListing(zip, manifest);
  const out: VerifiedEntry[] = [];
  for (const f of manifest.files) {
    const { sha256, size } = await zip.consumeEntry(f.path);
    if (sha256 !== f.sha256) throw invalidPatchLog(`${f.path}: SHA-256 ${sha256} differs from ${f.sha256} in update.json`);
    out.push({ path: f.path, sha256, size, mode: f.mode });
  }
  return out;
}

/**
 * Verifies the update at `path` (an `.xsupdate`, or the distribution zip holding one) against
 * the trusted keys. Resolves only for an update that passes every check.
 */
export async function verifyUpdateFile(
  path: string, trustedKeys: readonly TrustedKeySource[], limits: ReadOptions = {},
): Promise<VerifiedUpdate> {
  const trusted = await toTrustedKeys(trustedKeys);
  return withUpdateArchive(path, limits, async (zip) => {
    const signed = await verifySignedManifest(zip, trusted);
    const entries = await verifyContents(zip, signed.manifest);
    return { ...signed, entries };
  });
}
