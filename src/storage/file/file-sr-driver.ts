/**
 * @module
 * The `file` SR type: VHD files in a directory, `device_config:path` (or sm's `location`).
 * A local directory makes a local SR; a directory every host reaches (NFS and the like)
 * makes a shared one, the driver does not care which. The SR is whatever `sr.json` in the
 * directory says it is: attach checks the uuid there, so a path that now reaches another
 * SR is refused rather than silently used.
 */
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttachedSr, ProbeResult, SmDescription, SrDriver, SrStat } from '../../core/ports/sr-driver.js';
import { FileSr, checkIdentity, usedBytes } from './file-sr.js';
import { Journal } from './journal.js';
import { SrDir, UUID_RE } from './sr-dir.js';
import { backendError, isNotFound } from './sr-errors.js';
import { SrLock } from './sr-lock.js';
import { confineExistingSrPath, confineSrPath } from './sr-path.js';
import { ISLET_DRIVER } from '../islet-sm.js';

/** `device_config:path` (or `location`) as given, and its key (checked by {@link confineSrPath} before use). */
export function givenPathOf(deviceConfig: Readonly<Record<string, string>>): { key: 'path' | 'location'; path: string } {
  if (deviceConfig.path) return { key: 'path', path: deviceConfig.path };
  if (deviceConfig.location) return { key: 'location', path: deviceConfig.location };
  throw backendError('ConfigLocationMissing', 'device_config:path is required');
}

/** The SR's directory, confined (absolute, symlinks resolved, no system location). */
export function pathOf(deviceConfig: Readonly<Record<string, string>>): Promise<string> {
  const { key, path } = givenPathOf(deviceConfig);
  return confineExistingSrPath(path, key);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

export class FileSrDriver implements SrDriver {
  readonly type = 'file';
  readonly sm: SmDescription = {
    nameLabel: 'Local or shared VHD files',
    nameDescription: 'SR driver keeping each disk as a thin VHD file in a directory, local or on storage every host mounts',
    ...ISLET_DRIVER,
    configuration: { location: 'The SR\'s directory (an absolute path; `path` is read too)' },
    features: Object.fromEntries([
      'SR_CREATE', 'SR_DELETE', 'SR_ATTACH', 'SR_DETACH', 'SR_SCAN', 'SR_PROBE', 'SR_UPDATE',
      'VDI_CREATE', 'VDI_DELETE', 'VDI_ATTACH', 'VDI_DETACH', 'VDI_ACTIVATE', 'VDI_DEACTIVATE', 'VDI_UPDATE',
      'VDI_INTRODUCE', 'VDI_RESIZE', 'VDI_CLONE', 'VDI_SNAPSHOT', 'THIN_PROVISIONING',
    ].map((f) => [f, 1])),
  };

  /** The SR in the directory itself and those in its immediate subdirectories. */
  async probe(deviceConfig: Readonly<Record<string, string>>): Promise<ProbeResult[]> {
    const root = await pathOf(deviceConfig);
    if (!(await isDir(root))) return [];
    const candidates = [root];
    for (const e of await readdir(root, { withFileTypes: true })) if (e.isDirectory() && !e.name.startsWith('.')) candidates.push(join(root, e.name));
    const out: ProbeResult[] = [];
    for (const path of candidates) {
      const dir = new SrDir(path);
      const id = await dir.readIdentity().catch(() => null);
      if (!id || !UUID_RE.test(id.uuid)) continue;
      out.push({ uuid: id.uuid, deviceConfig: { ...deviceConfig, path }, physicalSize: await dir.sizeBytes(), smConfig: id.smConfig ?? {} });
    }
    return out;
  }

  async create(srUuid: string, deviceConfig: Readonly<Record<string, string>>, smConfig: Readonly<Record<string, string>>): Promise<SrStat> {
    if (!UUID_RE.test(srUuid)) throw backendError('FileSRCreate', `bad SR uuid ${srUuid}`);
    const given = givenPathOf(deviceConfig);
    const path = await confineSrPath(given.path, { create: true, key: given.key });
    const dir = new SrDir(path);
    const existing = await dir.readIdentity().catch(() => null);
    if (existing) throw backendError('SRExists', `${path} already holds SR ${existing.uuid}`);
    await new Journal(path).init();
    // The identity goes last: a crash before it leaves a directory that is no SR yet.
    await dir.writeIdentity({ uuid: srUuid, type: 'file', version: 1, created: new Date().toISOString(), smConfig: { ...smConfig } });
    return { identity: srUuid, physicalSize: await dir.sizeBytes(), physicalUtilisation: await usedBytes(dir), virtualAllocation: 0 };
  }

  async attach(srUuid: string, deviceConfig: Readonly<Record<string, string>>): Promise<AttachedSr> {
    return FileSr.attach(srUuid, await pathOf(deviceConfig));
  }

  /** Removes the SR's files (VHDs, journal, identity) and the directory if nothing else is in it. */
  async destroy(srUuid: string, deviceConfig: Readonly<Record<string, string>>): Promise<void> {
    const dir = new SrDir(await pathOf(deviceConfig));
    await checkIdentity(dir, srUuid);
    try {
      await new SrLock(dir.lockFile).run(async () => {
        for (const uuid of await dir.uuids()) await rm(dir.vhd(uuid), { force: true });
        await dir.sweepTemporaries();
        await rm(join(dir.path, '.journal'), { recursive: true, force: true });
        await rm(join(dir.path, '.active'), { recursive: true, force: true });
        await rm(dir.flagsFile, { force: true });
        await rm(dir.identityFile, { force: true });
        // The lock's own files (the lock itself goes when the callback returns).
        for (const n of await readdir(dir.path)) if (n.startsWith('.lock.')) await rm(join(dir.path, n), { force: true });
      });
      await rmdir(dir.path).catch(() => undefined);
    } catch (e) {
      throw backendError('FileSRDelete', (e as Error).message);
    }
  }
}
