/**
 * @module
 * Makes an update file from a source directory laid out like the archive (`payload/…`,
 * optional `hooks/precheck` and `hooks/apply`): hashes every file, writes update.json, signs
 * it with an OpenPGP key (detached, armoured, as gpg would), zips it all with fixed
 * timestamps (so two builds differ only where content or signature does), and checks the
 * result with the same verifier hosts use before it is renamed into place. `wrapDistribution` then puts the
 * `.xsupdate` into the `NAME.zip` customers download.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as openpgp from 'openpgp';
import yazl from 'yazl';
import { invalidPatchLog } from '../errors.js';
import { HOOK_NAMES, MANIFEST_NAME, SIGNATURE_NAME, pathProblem } from './entry-path.js';
import { checkManifest, manifestToJson, type ManifestFile, type UpdateManifest } from './update-manifest.js';
import { verifyUpdateFile, type VerifiedUpdate } from './verify-update.js';

/** The manifest fields an author gives; files are found, the rest has defaults. */
export type ManifestFields = Partial<Omit<UpdateManifest, 'files' | 'name_label' | 'version'>> &
  Pick<UpdateManifest, 'name_label' | 'version'>;

export interface BuildUpdateOptions {
  /** Directory holding `payload/` and optionally `hooks/precheck`, `hooks/apply`. */
  sourceDir: string;
  /** Fields of update.json; `uuid` defaults to a fresh one, `installation_size` to the payload's bytes. */
  manifest: ManifestFields;
  /** Armoured OpenPGP secret key (`gpg --export-secret-keys --armor`). */
  signingKey: string;
  passphrase?: string;
  /** The `.xsupdate` to write. */
  out: string;
  /** Also write the distribution zip: `true` for `out` with `.zip`, or a path. */
  zip?: boolean | string;
}

export interface BuildResult {
  path: string;
  zipPath?: string;
  manifest: UpdateManifest;
  fingerprint: string;
}

/** Zip timestamps are fixed (1 Jan 2000, local time): file dates on the build machine are noise. */
const FIXED_MTIME = new Date(2000, 0, 1);

interface SourceFile extends ManifestFile {
  realPath: string;
  size: number;
}

async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(path), async (s: AsyncIterable<Buffer>) => {
    for await (const c of s) { hash.update(c); size += c.length; }
  });
  return { sha256: hash.digest('hex'), size };
}

/** Every file of the source tree, refusing anything that could not be a listed entry. */
async function scanSource(sourceDir: string): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const top = await readdir(sourceDir);
  for (const name of top) {
    if ((name !== 'payload' && name !== 'hooks') || !(await lstat(join(sourceDir, name))).isDirectory()) {
      throw invalidPatchLog(`source ${name}: only the directories payload/ and hooks/ belong in the source directory`);
    }
  }
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(sourceDir, rel))).sort()) {
      const r = `${rel}/${name}`;
      const real = join(sourceDir, r);
      const st = await lstat(real);
      const problem = pathProblem(r);
      if (problem) throw invalidPatchLog(`source ${r}: ${problem}`);
      if (st.isDirectory()) { await walk(r); continue; }
      if (st.isSymbolicLink()) throw invalidPatchLog(`source ${r}: is a symbolic link (updates carry regular files only)`);
      if (!st.isFile()) throw invalidPatchLog(`source ${r}: is not a regular file`);
      if (rel.startsWith('hooks') && !(HOOK_NAMES as readonly string[]).includes(r)) {
        throw invalidPatchLog(`source ${r}: the only hooks are ${HOOK_NAMES.join(' and ')}`);
      }
      const { sha256, size } = await sha256File(real);
      out.push({ path: r, sha256, size, mode: st.mode & 0o777, realPath: real });
    }
  };
  for (const dir of ['payload', 'hooks']) if (top.includes(dir)) await walk(dir);
  return out;
}

async function loadSigningKey(armoured: string, passphrase?: string): Promise<openpgp.PrivateKey> {
  let key = await openpgp.readPrivateKey({ armoredKey: armoured });
  if (!key.isDecrypted()) {
    if (passphrase === undefined) throw new Error('the signing key is protected; give its passphrase');
    key = await openpgp.decryptKey({ privateKey: key, passphrase });
  }
  return key;
}

async function writeZip(zip: yazl.ZipFile, out: string): Promise<void> {
  const tmp = `${out}.partial-${process.pid}`;
  try {
    const done = pipeline(zip.outputStream, createWriteStream(tmp, { mode: 0o644 }));
    zip.end();
    await done;
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Lets `{ uuid: undefined }` mean "use the default" rather than erase it. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Builds, signs and self-verifies an update file. */
export async function buildUpdate(o: BuildUpdateOptions): Promise<BuildResult> {
  const files = await scanSource(o.sourceDir);
  const payloadBytes = files.filter((f) => f.path.startsWith('payload/')).reduce((n, f) => n + f.size, 0);
  const draft = {
    uuid: randomUUID(), name_description: '', after_apply_guidance: [], installation_size: payloadBytes,
    requires: [], conflicts: [], ...definedOnly(o.manifest),
    files: files.map((f) => ({ path: f.path, sha256: f.sha256, mode: f.mode.toString(8).padStart(4, '0'), size: f.size })),
  };
  const checked = checkManifest(draft);
  if (!checked.ok) throw invalidPatchLog(`update.json would be invalid: ${checked.problems.join('; ')}`);
  const manifest = checked.manifest;
  const manifestBytes = Buffer.from(manifestToJson(manifest), 'utf8');

  const key = await loadSigningKey(o.signingKey, o.passphrase);
  const signature = await openpgp.sign({
    message: await openpgp.createMessage({ binary: manifestBytes }), signingKeys: key, detached: true, format: 'armored',
  });

  const zip = new yazl.ZipFile();
  const meta = { mtime: FIXED_MTIME, mode: 0o100644 };
  zip.addBuffer(manifestBytes, MANIFEST_NAME, meta);
  zip.addBuffer(Buffer.from(signature, 'utf8'), SIGNATURE_NAME, meta);
  // Buffers, not files: yazl then knows each entry's CRC and sizes before writing its local
  // header, so readers that trust the local header (no data descriptor) see the real sizes.
  for (const f of files) zip.addBuffer(await readFile(f.realPath), f.path, { mtime: FIXED_MTIME, mode: 0o100000 | f.mode });
  const tmpOut = join(dirname(o.out), `.${basename(o.out)}.unverified-${process.pid}`);
  await writeZip(zip, tmpOut);
  let verified: VerifiedUpdate;
  try {
    verified = await verifyUpdateFile(tmpOut, [key.toPublic()]);
    await rename(tmpOut, o.out);
  } catch (e) {
    await rm(tmpOut, { force: true });
    throw e;
  }
  const result: BuildResult = { path: o.out, manifest, fingerprint: verified.fingerprint };
  if (o.zip) {
    result.zipPath = typeof o.zip === 'string' ? o.zip : o.out.replace(/\.xsupdate$/i, '') + '.zip';
    await wrapDistribution(o.out, result.zipPath);
  }
  return result;
}

/** Writes the distribution zip holding the `.xsupdate` (stored: it is compressed already) and an optional readme. */
export async function wrapDistribution(xsupdatePath: string, zipPath: string, readme?: { name: string; text: string }): Promise<void> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(await readFile(xsupdatePath), basename(xsupdatePath), { mtime: FIXED_MTIME, mode: 0o100644, compress: false });
  if (readme) zip.addBuffer(Buffer.from(readme.text, 'utf8'), readme.name, { mtime: FIXED_MTIME, mode: 0o100644 });
  await writeZip(zip, zipPath);
}
