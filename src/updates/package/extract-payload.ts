/**
 * @module
 * Unpacks a verified update's `payload/` tree (or its `hooks/`) into a directory, all or
 * nothing. Files are written into a fresh temporary sibling of the target, each created
 * exclusively (so nothing pre-existing, such as a planted link, is followed), hashed while it
 * is written and compared with the signed manifest, then given its listed mode; only when
 * every file matched is the temporary directory renamed onto the target. The archive is
 * re-read rather than trusted from an earlier check: if the file changed since it was
 * verified, the hashes no longer match and nothing is extracted.
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { invalidPatchLog } from '../errors.js';
import { PAYLOAD_PREFIX, ancestors } from './entry-path.js';
import { toTrustedKeys, type TrustedKeySource } from './keyring.js';
import { withUpdateArchive, type ReadOptions } from './update-archive.js';
import type { UpdateManifest } from './update-manifest.js';
import { checkListing, verifyContents, verifySignedManifest, type VerifiedUpdate } from './verify-update.js';
import type { SafeZip } from './zip-reader.js';

const HOOKS_PREFIX = 'hooks/';

async function assertFreeTarget(target: string): Promise<void> {
  const st = await stat(target).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory() || (await readdir(target)).length > 0) {
    throw new Error(`extraction target ${target} exists and is not an empty directory`);
  }
}

/** Writes the manifest's files under `prefix` into `targetDir` (prefix removed); all or nothing. */
async function extractTree(zip: SafeZip, manifest: UpdateManifest, prefix: string, targetDir: string): Promise<string[]> {
  checkListing(zip, manifest);
  const target = resolve(targetDir);
  await assertFreeTarget(target);
  const tmp = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
  const written: string[] = [];
  try {
    const files = manifest.files.filter((f) => f.path.startsWith(prefix)).sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const f of files) {
      const rel = f.path.slice(prefix.length);
      const dest = resolve(tmp, rel);
      // Names were checked already; this guards the invariant where it matters.
      if (!dest.startsWith(tmp + sep)) throw invalidPatchLog(`${f.path}: escapes the extraction directory`);
      await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
      const got = await zip.consumeEntry(f.path, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
      if (got.sha256 !== f.sha256) throw invalidPatchLog(`${f.path}: SHA-256 ${got.sha256} differs from ${f.sha256} in update.json`);
      await chmod(dest, f.mode);
      written.push(rel);
    }
    // mkdir's mode passes through the umask; installed directories must not depend on it.
    const dirs = new Set(written.flatMap((rel) => ancestors(rel)));
    for (const d of dirs) await chmod(join(tmp, d), 0o755);
    await chmod(tmp, 0o755);
    await rename(tmp, target);
    return written;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Extracts the `payload/` files of an update verified earlier (its manifest) from the file at
 * `path` into `targetDir`, which must not exist or be empty. Returns the paths written,
 * relative to `targetDir`.
 */
export async function extractPayload(
  path: string, verified: Pick<VerifiedUpdate, 'manifest'>, targetDir: string, options: ReadOptions = {},
): Promise<string[]> {
  return withUpdateArchive(path, options, (zip) => extractTree(zip, verified.manifest, PAYLOAD_PREFIX, targetDir));
}

/** Extracts the update's hooks (`precheck`, `apply`, when present) into `targetDir`. */
export async function extractHooks(
  path: string, verified: Pick<VerifiedUpdate, 'manifest'>, targetDir: string, options: ReadOptions = {},
): Promise<string[]> {
  return withUpdateArchive(path, options, (zip) => extractTree(zip, verified.manifest, HOOKS_PREFIX, targetDir));
}

/** Verifies the update at `path` and, only if it passes, extracts its payload into `targetDir`. */
export async function verifyAndExtract(
  path: string, trustedKeys: readonly TrustedKeySource[], targetDir: string, options: ReadOptions = {},
): Promise<VerifiedUpdate> {
  const trusted = await toTrustedKeys(trustedKeys);
  return withUpdateArchive(path, options, async (zip) => {
    const signed = await verifySignedManifest(zip, trusted);
    const entries = await verifyContents(zip, signed.manifest);
    await extractTree(zip, signed.manifest, PAYLOAD_PREFIX, targetDir);
    return { ...signed, entries };
  });
}
