/**
 * @module
 * Where a host keeps update files and what it knows about them on disk, under its data
 * directory:
 *
 * - `patch/<uuid>.xsupdate`: an uploaded (master) or fetched (member) update file;
 * - `patch/.upload-*`: uploads in progress, removed whatever the outcome;
 * - `patch/applied/<uuid>`: a marker written once an update is installed on this host, a
 *   JSON record of what was applied and when. Markers are the host's own truth: after a
 *   restart (or a database restored from an older backup) the pool's `host_patch` records
 *   are resynchronised from them;
 * - `software/`: the host's software root, where payloads are installed.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AppliedMarker {
  readonly uuid: string;
  readonly name_label: string;
  readonly version: string;
  /** Seconds since the epoch, with milliseconds. */
  readonly applied_at: number;
  readonly size: number;
  readonly after_apply_guidance: readonly string[];
  /** Keys the update adds to `host.software_version` once its guidance is satisfied. */
  readonly software_version: Readonly<Record<string, string>>;
}

export const patchDir = (dataDir: string) => join(dataDir, 'patch');
export const storedUpdatePath = (dataDir: string, uuid: string) => join(patchDir(dataDir), `${uuid}.xsupdate`);
export const appliedDir = (dataDir: string) => join(patchDir(dataDir), 'applied');
export const softwareRoot = (dataDir: string) => join(dataDir, 'software');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A uuid safe to use as a file name (the only names these directories hold). */
export function assertUuid(uuid: string): string {
  if (!UUID_RE.test(uuid)) throw new Error(`not a lowercase uuid: ${JSON.stringify(uuid)}`);
  return uuid;
}

export async function hasStoredUpdate(dataDir: string, uuid: string): Promise<boolean> {
  const st = await stat(storedUpdatePath(dataDir, assertUuid(uuid))).catch(() => undefined);
  return st?.isFile() ?? false;
}

export async function removeStoredUpdate(dataDir: string, uuid: string): Promise<void> {
  await rm(storedUpdatePath(dataDir, assertUuid(uuid)), { force: true });
}

/** Writes the applied marker durably enough: a temporary file renamed into place. */
export async function writeAppliedMarker(dataDir: string, m: AppliedMarker): Promise<void> {
  const dir = appliedDir(dataDir);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${assertUuid(m.uuid)}.tmp`);
  await writeFile(tmp, `${JSON.stringify(m, null, 2)}\n`);
  await rename(tmp, join(dir, m.uuid));
}

/** Every applied marker of this host, oldest first; unreadable ones are skipped. */
export async function readAppliedMarkers(dataDir: string): Promise<AppliedMarker[]> {
  const names = await readdir(appliedDir(dataDir)).catch(() => [] as string[]);
  const out: AppliedMarker[] = [];
  for (const n of names) {
    if (!UUID_RE.test(n)) continue;
    try {
      out.push(JSON.parse(await readFile(join(appliedDir(dataDir), n), 'utf8')) as AppliedMarker);
    } catch {
      // A marker cut short by a crash is not proof of anything; the next apply rewrites it.
    }
  }
  return out.sort((a, b) => a.applied_at - b.applied_at);
}

export async function removeAppliedMarker(dataDir: string, uuid: string): Promise<void> {
  await rm(join(appliedDir(dataDir), assertUuid(uuid)), { force: true });
}
