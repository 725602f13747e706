/**
 * @module
 * The master's side of precheck, apply, pool-apply, clean and destroy, shared by the
 * `pool_patch`, `pool_update` and `host_patch` actions (which differ only in error names,
 * the `Flavour`). The checks that need the pool database run here (host live, already
 * applied, product version, prerequisites, conflicts); the ones that need the host's disk
 * run on that host through an internal call (`pool_patch.islet_host_*`, see host-ops);
 * the records are written here, from the marker the host returns.
 *
 * `pool_apply` goes through every host lacking the update, master first, and carries on past
 * a host that fails: one broken host should not leave the rest unpatched. It then fails with
 * `UPDATE_POOL_APPLY_FAILED [hosts]` (xapi 7.x's behaviour; 6.0.2 stopped at the first
 * failure) naming the uuids of the hosts that failed, each one's error logged. An update
 * whose file the master no longer holds fails first, with CANNOT_FIND_PATCH (the reason
 * xe then prints: clean, upload again).
 */
import { ApiError } from '../core/api-error.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { PoolLink } from '../core/ports/pool-link.js';
import type { Ref } from '../core/ref.js';
import { appliesToProduct } from './package/update-manifest.js';
import { type AppliedMarker, hasStoredUpdate } from './patch-files.js';
import {
  type ApplyOutcome, type Flavour, type HostJob, type HostOpsEnv, hostApply, hostClean, hostMarkers, hostPrecheck,
} from './host-ops.js';
import {
  type UpdatePair, appliedOn, destroyUpdateRecords, recordApplied, resolvePair, resyncFromMarkers, storedManifest,
} from './patch-records.js';
import { refreshUpdateState } from './update-state.js';
import { trustedUpdateKeys } from './update-keys.js';

export interface UpdateEnv {
  readonly db: PoolDb;
  /** The host this toolstack runs on (the master when these are called). */
  readonly hostRef: Ref<'host'>;
  readonly pool?: PoolLink;
  /** This host's own disk operations. */
  readonly local: HostOpsEnv;
  /** A session on this host that a member may fetch the file with; closed by the returned function. */
  readonly fetchSession?: () => { ref: string; close: () => void };
  readonly log?: (msg: string) => void;
}

/** The internal messages a host answers (declared on pool_patch, `internal`). */
export const HostCalls = {
  precheck: 'pool_patch.islet_host_precheck',
  apply: 'pool_patch.islet_host_apply',
  clean: 'pool_patch.islet_host_clean',
  markers: 'pool_patch.islet_host_applied',
} as const;

/** Runs one host operation where it belongs: locally, or on a member through the pool link. */
async function onHost(env: UpdateEnv, host: Ref<'host'>, op: keyof typeof HostCalls, job: HostJob | { uuid: string }): Promise<unknown> {
  if (host === env.hostRef) {
    switch (op) {
      case 'precheck': return hostPrecheck(env.local, job as HostJob);
      case 'apply': return hostApply(env.local, job as HostJob);
      case 'clean': return hostClean(env.local, job.uuid);
      case 'markers': return hostMarkers(env.local);
    }
  }
  if (!env.pool) throw new ApiError('HOST_OFFLINE', [host]);
  const raw = await env.pool.callOnHost(host, HostCalls[op], [JSON.stringify(job)]);
  return typeof raw === 'string' && raw !== '' ? JSON.parse(raw) : raw;
}

function assertLive(db: PoolDb, host: Ref<'host'>): void {
  const h = db.get('host', host);
  if (!h) throw new ApiError('HANDLE_INVALID', ['host', host]);
  const m = db.get('host_metrics', h.metrics);
  if (m && m.live === false) throw new ApiError('HOST_OFFLINE', [host]);
}

/** The database half of a precheck, in xapi's order; `alreadyOk` skips the applied check. */
export function dbPrecheck(db: PoolDb, flavour: Flavour, self: string, pair: UpdatePair, host: Ref<'host'>, alreadyOk = false): void {
  assertLive(db, host);
  const have = appliedOn(db, host);
  const P = flavour === 'patch';
  if (!alreadyOk && have.has(pair.uuid)) throw new ApiError(P ? 'PATCH_ALREADY_APPLIED' : 'UPDATE_ALREADY_APPLIED', [self]);
  const m = storedManifest(db, pair.uuid);
  if (!m) throw new ApiError('CANNOT_FIND_PATCH');
  const sv = (db.get('host', host)!.software_version ?? {}) as Record<string, string>;
  const brand = sv.product_brand ?? '';
  const version = sv.product_version ?? '';
  if (!appliesToProduct({ ...m, files: [] }, brand, version)) {
    const a = m.applies_to!;
    const required = `${a.product} ${a.min ?? ''}${a.max && a.max !== a.min ? `-${a.max}` : a.min ? '' : 'any'}`.trim();
    throw new ApiError(P ? 'PATCH_PRECHECK_FAILED_WRONG_SERVER_VERSION' : 'UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION', [self, `${brand} ${version}`, required]);
  }
  const missing = m.requires.filter((u) => !have.has(u));
  if (missing.length) {
    throw new ApiError(P ? 'PATCH_PRECHECK_FAILED_PREREQUISITE_MISSING' : 'UPDATE_PRECHECK_FAILED_PREREQUISITE_MISSING', [self, missing.join(',')]);
  }
  const conflict = m.conflicts.find((u) => have.has(u));
  if (conflict) throw new ApiError('UPDATE_PRECHECK_FAILED_CONFLICT_PRESENT', [self, conflict]);
}

function job(env: UpdateEnv, flavour: Flavour, self: string, pair: UpdatePair, host: Ref<'host'>): { job: HostJob; close: () => void } {
  const s = host !== env.hostRef ? env.fetchSession?.() : undefined;
  return {
    job: { uuid: pair.uuid, keys: trustedUpdateKeys(env.db), flavour, self, ...(s ? { session: s.ref } : {}) },
    close: () => s?.close(),
  };
}

/** Makes the database agree with a host's applied markers. */
export async function resyncHost(env: UpdateEnv, host: Ref<'host'>): Promise<void> {
  const markers = (await onHost(env, host, 'markers', { uuid: '' })) as AppliedMarker[];
  const r = resyncFromMarkers(env.db, host, markers);
  if (r.added.length || r.removed.length) {
    env.log?.(`host ${host}: update records resynchronised from markers (+${r.added.join(',') || '-'} / -${r.removed.join(',') || '-'})`);
  }
  refreshUpdateState(env.db);
}

export async function precheck(env: UpdateEnv, flavour: Flavour, self: string, host: Ref<'host'>): Promise<string> {
  const pair = resolvePair(env.db, flavour, self);
  dbPrecheck(env.db, flavour, self, pair, host);
  const j = job(env, flavour, self, pair, host);
  try {
    return String((await onHost(env, host, 'precheck', j.job)) ?? '');
  } finally {
    j.close();
  }
}

export async function apply(env: UpdateEnv, flavour: Flavour, self: string, host: Ref<'host'>): Promise<string> {
  const pair = resolvePair(env.db, flavour, self);
  dbPrecheck(env.db, flavour, self, pair, host);
  const j = job(env, flavour, self, pair, host);
  let out: ApplyOutcome;
  try {
    out = (await onHost(env, host, 'apply', j.job)) as ApplyOutcome;
  } finally {
    j.close();
  }
  recordApplied(env.db, host, pair, out.marker);
  refreshUpdateState(env.db);
  env.log?.(`update ${pair.uuid} applied on host ${host}${out.already ? ' (found already installed)' : ''}`);
  return out.output;
}

/** Hosts in the order pool-wide work visits them: the master first, then creation order. */
export function hostsMasterFirst(db: PoolDb): Ref<'host'>[] {
  const master = db.all('pool')[0]?.[1].master;
  const all = db.all('host').map(([r]) => r);
  return master && all.includes(master) ? [master, ...all.filter((h) => h !== master)] : all;
}

export async function poolApply(env: UpdateEnv, flavour: Flavour, self: string, progress?: (f: number) => void): Promise<void> {
  const pair = resolvePair(env.db, flavour, self);
  const todo = hostsMasterFirst(env.db).filter((h) => !appliedOn(env.db, h).has(pair.uuid));
  if (todo.length === 0) {
    if (flavour === 'update') throw new ApiError('UPDATE_ALREADY_APPLIED_IN_POOL', [self]);
    return;
  }
  // Every host gets the file from the master: once cleaned there (patch-pool-clean, a new
  // master), no host can apply it, and xapi says so before trying any.
  if (!(await hasStoredUpdate(env.local.dataDir, pair.uuid))) throw new ApiError('CANNOT_FIND_PATCH');
  const failed: string[] = [];
  for (const [i, h] of todo.entries()) {
    try {
      await apply(env, flavour, self, h);
    } catch (e) {
      env.log?.(`pool apply of ${pair.uuid}: host ${h} failed: ${e instanceof Error ? e.message : String(e)}`);
      failed.push(String(env.db.get('host', h)?.uuid ?? h));
    }
    progress?.((i + 1) / todo.length);
  }
  refreshUpdateState(env.db);
  if (failed.length) throw new ApiError('UPDATE_POOL_APPLY_FAILED', [failed.join(',')]);
}

/** Deletes the file on one host; an offline member is skipped by pool_clean, reported here. */
export async function cleanOnHost(env: UpdateEnv, flavour: Flavour, self: string, host: Ref<'host'>): Promise<void> {
  const pair = resolvePair(env.db, flavour, self);
  await onHost(env, host, 'clean', { uuid: pair.uuid });
}

export async function poolClean(env: UpdateEnv, flavour: Flavour, self: string): Promise<void> {
  const pair = resolvePair(env.db, flavour, self);
  for (const h of hostsMasterFirst(env.db)) {
    try {
      await onHost(env, h, 'clean', { uuid: pair.uuid });
    } catch (e) {
      env.log?.(`pool clean of ${pair.uuid}: host ${h}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

export async function destroy(env: UpdateEnv, flavour: Flavour, self: string): Promise<void> {
  const pair = resolvePair(env.db, flavour, self);
  destroyUpdateRecords(env.db, flavour, pair);
  await poolCleanUuid(env, pair.uuid);
  refreshUpdateState(env.db);
}

async function poolCleanUuid(env: UpdateEnv, uuid: string): Promise<void> {
  for (const h of hostsMasterFirst(env.db)) {
    await onHost(env, h, 'clean', { uuid }).catch(() => undefined);
  }
}
