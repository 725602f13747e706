/**
 * @module
 * What one host does with an update, on its own disk: make sure it has the file (a member
 * fetches it from the master), verify it again against the pool's keys, check free space,
 * run the package's precheck hook, and for an apply install the payload atomically, run the
 * apply hook and write the applied marker. The master drives these through internal calls
 * (`pool_patch.islet_host_*`) and keeps the database; nothing here touches the database, so
 * a member needs no write access to it.
 */
import { mkdtemp, rename, rm, statfs, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../core/api-error.js';
import { extractHooks } from './package/extract-payload.js';
import type { UpdateManifest } from './package/update-manifest.js';
import { verifyUpdateFile, type VerifiedUpdate } from './package/verify-update.js';
import { DEFAULT_HOOK_TIMEOUT_MS, describeFailure, runHook } from './hook-runner.js';
import {
  type AppliedMarker, hasStoredUpdate, patchDir, readAppliedMarkers, removeStoredUpdate, storedUpdatePath, writeAppliedMarker,
} from './patch-files.js';
import { installPayload } from './software-install.js';

/** Which family of errors a caller expects: the legacy patch calls or the pool_update ones. */
export type Flavour = 'patch' | 'update';

/** What the master sends a host with each internal call (as JSON). */
export interface HostJob {
  readonly uuid: string;
  /** The pool's trusted keys, armoured; the host verifies against these. */
  readonly keys: readonly string[];
  readonly flavour: Flavour;
  /** The caller's object ref, the first parameter of precheck errors. */
  readonly self: string;
  /** A session on the master for fetching the file, when this host may lack it. */
  readonly session?: string;
}

export interface HostOpsEnv {
  readonly dataDir: string;
  readonly hostUuid: string;
  /** Copies the update from the master to `dest`; absent on the master itself. */
  readonly fetch?: (uuid: string, session: string, dest: string) => Promise<void>;
  readonly hookTimeoutMs?: number;
  /** Free bytes where updates are installed (statfs of the data directory by default). */
  readonly freeSpace?: () => Promise<number>;
}

export interface ApplyOutcome {
  readonly marker: AppliedMarker;
  readonly output: string;
  /** The marker was there already: nothing was installed now. */
  readonly already: boolean;
}

const errs = {
  outOfSpace: (f: Flavour, self: string, found: number, req: number) =>
    new ApiError(f === 'patch' ? 'PATCH_PRECHECK_FAILED_OUT_OF_SPACE' : 'UPDATE_PRECHECK_FAILED_OUT_OF_SPACE', [self, String(found), String(req)]),
  precheckFailed: (f: Flavour, self: string, info: string) =>
    new ApiError(f === 'patch' ? 'PATCH_PRECHECK_FAILED_UNKNOWN_ERROR' : 'UPDATE_PRECHECK_FAILED_UNKNOWN_ERROR', [self, info]),
  applyFailed: (f: Flavour, output: string) => new ApiError(f === 'patch' ? 'PATCH_APPLY_FAILED' : 'UPDATE_APPLY_FAILED', [output]),
};

async function freeBytes(env: HostOpsEnv): Promise<number> {
  if (env.freeSpace) return env.freeSpace();
  const s = await statfs(env.dataDir);
  return s.bavail * s.bsize;
}

/** The local copy of the update, fetched from the master first when missing. */
async function ensureFile(env: HostOpsEnv, job: HostJob): Promise<string> {
  const path = storedUpdatePath(env.dataDir, job.uuid);
  if (await hasStoredUpdate(env.dataDir, job.uuid)) return path;
  if (!env.fetch) throw new ApiError('CANNOT_FIND_PATCH');
  await mkdir(patchDir(env.dataDir), { recursive: true });
  const tmp = join(patchDir(env.dataDir), `.fetch-${job.uuid}-${process.pid}-${Date.now()}`);
  try {
    await env.fetch(job.uuid, job.session ?? '', tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof ApiError) throw e;
    throw new ApiError('CANNOT_FETCH_PATCH', [job.uuid]);
  }
  return path;
}

/** File present, signature and hashes good, the right update, enough space. */
async function checkLocal(env: HostOpsEnv, job: HostJob): Promise<{ file: string; v: VerifiedUpdate }> {
  const file = await ensureFile(env, job);
  const v = await verifyUpdateFile(file, job.keys, { tempDir: patchDir(env.dataDir) });
  if (v.manifest.uuid !== job.uuid) throw new ApiError('INVALID_PATCH_WITH_LOG', [`file holds update ${v.manifest.uuid}, not ${job.uuid}`]);
  const free = await freeBytes(env);
  if (free < v.manifest.installation_size) throw errs.outOfSpace(job.flavour, job.self, free, v.manifest.installation_size);
  return { file, v };
}

function hookVars(env: HostOpsEnv, m: UpdateManifest, root: string): Record<string, string> {
  return {
    ISLET_UPDATE_UUID: m.uuid, ISLET_UPDATE_NAME: m.name_label, ISLET_UPDATE_VERSION: m.version,
    ISLET_HOST_UUID: env.hostUuid, ISLET_SOFTWARE_ROOT: root,
  };
}

/** Extracts the hooks to a scratch directory, runs `fn`, removes it. */
async function withHooks<T>(env: HostOpsEnv, file: string, m: UpdateManifest, fn: (dir: string, has: Set<string>) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(patchDir(env.dataDir), '.hooks-'));
  try {
    const dir = join(scratch, 'hooks');
    const has = new Set(await extractHooks(file, { manifest: m }, dir, { tempDir: scratch }));
    return await fn(dir, has);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function precheckHook(env: HostOpsEnv, job: HostJob, m: UpdateManifest, dir: string, has: Set<string>): Promise<string> {
  if (!has.has('precheck')) return '';
  const timeoutMs = env.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const r = await runHook(join(dir, 'precheck'), { cwd: dir, vars: hookVars(env, m, join(env.dataDir, 'software')), timeoutMs });
  if (r.exitCode !== 0) throw errs.precheckFailed(job.flavour, job.self, describeFailure('hooks/precheck', r, timeoutMs));
  return r.output;
}

/** Everything short of installing: what `pool_patch.precheck` runs on the host. */
export async function hostPrecheck(env: HostOpsEnv, job: HostJob): Promise<string> {
  const { file, v } = await checkLocal(env, job);
  return withHooks(env, file, v.manifest, (dir, has) => precheckHook(env, job, v.manifest, dir, has));
}

/** Keys an update adds to `host.software_version` once in effect (see docs/update-format.md). */
export function softwareVersionKeys(m: UpdateManifest): Record<string, string> {
  const out: Record<string, string> = { [`xs:${m.name_label}`]: `${m.name_label}, version ${m.version}` };
  for (const [k, v] of Object.entries(m.other_config)) {
    if (k.startsWith('software_version:') && k.length > 17) out[k.slice(17)] = v;
  }
  return out;
}

/** Installs the update on this host; a second call finds the marker and installs nothing. */
export async function hostApply(env: HostOpsEnv, job: HostJob, now: () => Date = () => new Date()): Promise<ApplyOutcome> {
  const existing = (await readAppliedMarkers(env.dataDir)).find((m) => m.uuid === job.uuid);
  if (existing) return { marker: existing, output: '', already: true };
  const { file, v } = await checkLocal(env, job);
  const m = v.manifest;
  const timeoutMs = env.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  return withHooks(env, file, m, async (dir, has) => {
    let output = await precheckHook(env, job, m, dir, has);
    const marker: AppliedMarker = {
      uuid: m.uuid, name_label: m.name_label, version: m.version,
      applied_at: 0, size: v.entries.reduce((n, e) => n + e.size, 0),
      after_apply_guidance: m.after_apply_guidance, software_version: softwareVersionKeys(m),
    };
    let final = marker;
    await installPayload(env.dataDir, file, m, {
      afterSwap: async (root) => {
        if (!has.has('apply')) return;
        const r = await runHook(join(dir, 'apply'), { cwd: dir, vars: hookVars(env, m, root), timeoutMs });
        if (r.exitCode !== 0) throw errs.applyFailed(job.flavour, describeFailure('hooks/apply', r, timeoutMs));
        output += r.output;
      },
      commit: async () => {
        final = { ...marker, applied_at: now().getTime() / 1000 };
        await writeAppliedMarker(env.dataDir, final);
      },
    });
    return { marker: final, output, already: false };
  });
}

/** Removes this host's copy of the update file (the applied marker stays). */
export async function hostClean(env: HostOpsEnv, uuid: string): Promise<void> {
  await removeStoredUpdate(env.dataDir, uuid);
}

export async function hostMarkers(env: HostOpsEnv): Promise<AppliedMarker[]> {
  return readAppliedMarkers(env.dataDir);
}
