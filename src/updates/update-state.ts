/**
 * @module
 * What the pool shows about applied updates, derived from the records and never stored
 * by hand: for each host the guidance still pending (an update applied after the host's
 * last toolstack start still needs `restartXAPI`; one applied after its last boot still
 * needs `restartHost`), the updates now in effect and what they add to
 * `host.software_version`; for each hotfix whether every host has it (`pool_applied`); for
 * the pool whether its hosts differ (`islet_mixed_state`).
 *
 * XenAPI has two spellings of pending guidance and Islet fills both: the API 2.x fields
 * `host.updates_requiring_reboot` and `host.pending_guidances` (`reboot_host`,
 * `restart_toolstack`, `restart_vm`), and the 6.0-era convention XenCenter uses, comparing
 * `host_patch.timestamp_applied` with `host.other_config` `boot_time`/`agent_start_time`.
 */
import type { PoolDb, Row } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { parseXapiDate } from '../core/ref.js';
import { storedManifest, updateRefOf } from './patch-records.js';
import { softwareVersionKeys } from './host-ops.js';

export interface AppliedUpdate {
  readonly uuid: string;
  readonly update: Ref<'pool_update'> | undefined;
  /** Seconds since the epoch. */
  readonly appliedAt: number;
  readonly guidance: readonly string[];
  readonly softwareVersion: Readonly<Record<string, string>>;
}

export interface HostClock {
  /** Seconds since the epoch of the host's last boot and last toolstack start. */
  readonly bootTime: number;
  readonly agentStartTime: number;
}

export interface HostUpdateState {
  /** Updates whose restart has happened: their software is what runs. */
  readonly effective: string[];
  /** Guidance still to be followed, XenServer 6.0 names (restartHost, restartXAPI…). */
  readonly pending: string[];
  /** The same as API 2.x `update_guidances`. */
  readonly pendingGuidances: string[];
  readonly updatesRequiringReboot: Ref<'pool_update'>[];
  /** Keys the effective updates add to software_version. */
  readonly softwareVersion: Record<string, string>;
}

const GUIDANCE_TO_2X: Record<string, string> = {
  restartHost: 'reboot_host', restartXAPI: 'restart_toolstack', restartHVM: 'restart_vm', restartPV: 'restart_vm',
};

/** Which of a host's applied updates still wait for a restart, and what runs. */
export function hostUpdateState(applied: readonly AppliedUpdate[], clock: HostClock): HostUpdateState {
  const pending = new Set<string>();
  const effective: string[] = [];
  const reboot: Ref<'pool_update'>[] = [];
  const sv: Record<string, string> = {};
  for (const u of [...applied].sort((a, b) => a.appliedAt - b.appliedAt)) {
    const afterBoot = u.appliedAt > clock.bootTime;
    const afterAgent = u.appliedAt > clock.agentStartTime;
    const waits: string[] = [];
    for (const g of u.guidance) {
      if (g === 'restartXAPI' && afterAgent) waits.push(g);
      // Guests restart with their host, so a reboot satisfies the VM guidances too.
      if ((g === 'restartHost' || g === 'restartHVM' || g === 'restartPV') && afterBoot) waits.push(g);
    }
    for (const g of waits) pending.add(g);
    if (waits.includes('restartHost') && u.update) reboot.push(u.update);
    if (!waits.includes('restartHost') && !waits.includes('restartXAPI')) {
      effective.push(u.uuid);
      Object.assign(sv, u.softwareVersion);
    }
  }
  const order = ['restartHost', 'restartXAPI', 'restartHVM', 'restartPV'];
  const p = order.filter((g) => pending.has(g));
  return {
    effective, pending: p,
    pendingGuidances: [...new Set(p.map((g) => GUIDANCE_TO_2X[g]!))],
    updatesRequiringReboot: reboot,
    softwareVersion: sv,
  };
}

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** A host's applied updates, read from its host_patch records. */
export function appliedUpdates(db: PoolDb, host: Ref<'host'>): AppliedUpdate[] {
  const out: AppliedUpdate[] = [];
  for (const [, hp] of db.all('host_patch')) {
    if (hp.host !== host || hp.applied !== true) continue;
    const pp = db.get('pool_patch', hp.pool_patch);
    if (!pp) continue;
    const uuid = String(pp.uuid);
    const oc = hp.other_config as Record<string, string>;
    const at = oc['islet-applied-at'] !== undefined ? num(oc['islet-applied-at']) : parseXapiDate(String(hp.timestamp_applied)).getTime() / 1000;
    const m = storedManifest(db, uuid);
    out.push({
      uuid,
      update: updateRefOf(db, uuid),
      appliedAt: at,
      guidance: pp.after_apply_guidance as string[],
      softwareVersion: m ? softwareVersionKeys({ ...m, files: [] }) : { [`xs:${String(pp.name_label)}`]: `${String(pp.name_label)}, version ${String(pp.version)}` },
    });
  }
  return out;
}

export function hostClock(row: Row): HostClock {
  const oc = (row.other_config ?? {}) as Record<string, string>;
  return { bootTime: num(oc.boot_time), agentStartTime: num(oc.agent_start_time) };
}

export function hostStateOf(db: PoolDb, host: Ref<'host'>): HostUpdateState | undefined {
  const row = db.get('host', host);
  return row ? hostUpdateState(appliedUpdates(db, host), hostClock(row)) : undefined;
}

const ownedKey = (host: string) => `pool:sv-owned:${host}`;
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sortedSet = (xs: readonly string[]) => [...xs].sort();

/**
 * Writes one host's derived fields when they changed. software_version keys an update set
 * are remembered with the value they replaced, so that a key the host had before (or that
 * another part of Islet owns) comes back when the update is no longer in effect.
 */
export function refreshHost(db: PoolDb, host: Ref<'host'>): void {
  const row = db.get('host', host);
  if (!row) return;
  const st = hostUpdateState(appliedUpdates(db, host), hostClock(row));
  const owned = JSON.parse(db.getMeta(ownedKey(host)) ?? '{}') as Record<string, string | null>;
  const sv = { ...(row.software_version as Record<string, string>) };
  for (const [k, orig] of Object.entries(owned)) {
    if (orig === null) delete sv[k];
    else sv[k] = orig;
  }
  const nowOwned: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(st.softwareVersion)) {
    nowOwned[k] = Object.hasOwn(sv, k) ? sv[k]! : null;
    sv[k] = v;
  }
  const patch: Row = {};
  if (!sameJson(sv, row.software_version)) patch.software_version = sv;
  if (!sameJson(sortedSet(st.pendingGuidances), sortedSet(row.pending_guidances as string[]))) patch.pending_guidances = st.pendingGuidances;
  if (!sameJson(sortedSet(st.pendingGuidances), sortedSet((row.pending_guidances_full ?? []) as string[]))) patch.pending_guidances_full = st.pendingGuidances;
  if (!sameJson(sortedSet(st.updatesRequiringReboot), sortedSet(row.updates_requiring_reboot as string[]))) {
    patch.updates_requiring_reboot = st.updatesRequiringReboot;
  }
  if (Object.keys(patch).length === 0 && sameJson(owned, nowOwned)) return;
  db.transaction(() => {
    if (Object.keys(patch).length) db.update('host', host, patch);
    db.setMeta(ownedKey(host), Object.keys(nowOwned).length ? JSON.stringify(nowOwned) : undefined);
  });
}

/** A signature of what a host runs and has installed; hosts differ iff signatures do. */
function hostSignature(db: PoolDb, host: Ref<'host'>): string {
  const applied = appliedUpdates(db, host).map((u) => u.uuid).sort();
  const st = hostStateOf(db, host);
  return `${applied.join(',')}|${(st?.effective ?? []).sort().join(',')}`;
}

/** Whether the pool's hosts differ in applied or effective updates. */
export function poolIsMixed(db: PoolDb): boolean {
  const sigs = new Set(db.all('host').map(([ref]) => hostSignature(db, ref)));
  return sigs.size > 1;
}

/** Refreshes every host, every hotfix's pool_applied and the pool's mixed-state flag. */
export function refreshUpdateState(db: PoolDb): void {
  const hosts = db.all('host').map(([r]) => r);
  for (const h of hosts) refreshHost(db, h);
  for (const [ref, pp] of db.all('pool_patch')) {
    const withIt = new Set(db.all('host_patch').filter(([, hp]) => hp.pool_patch === ref && hp.applied === true).map(([, hp]) => String(hp.host)));
    const all = hosts.length > 0 && hosts.every((h) => withIt.has(h));
    if (pp.pool_applied !== all) db.update('pool_patch', ref, { pool_applied: all });
  }
  const mixed = poolIsMixed(db);
  for (const [ref, p] of db.all('pool')) {
    if (Object.hasOwn(p, 'islet_mixed_state') && p.islet_mixed_state !== mixed) db.update('pool', ref, { islet_mixed_state: mixed });
  }
}
