/**
 * @module
 * The objects that belong to one host and travel with it when it joins a pool, as xapi's
 * pool join carries them: the host's control domain (and its metrics), its CPUs, and its
 * local (unshared) SRs with their PBD and every disk in them, and its network interfaces
 * (attached to the pool's network on the same bridge). Without this a member would
 * lose its "Local storage" on joining, and its disks with it, though the files are still
 * on its disk.
 *
 * The master checks each object before adding it: a class it expects, a reference and uuid
 * the pool does not already have, and an owner that is the joining host itself; a join
 * never adds or overwrites anything else. Ejecting the host (or a join never confirmed)
 * takes the same objects away again.
 */
import { ApiError } from '../core/api-error.js';
import type { PoolDb, Row } from '../core/ports/pool-db.js';
import { isNullRef, newRef, newUuid, type Ref } from '../core/ref.js';

export interface LocalObject {
  readonly cls: LocalClass;
  readonly ref: Ref;
  readonly row: Row;
  /** For a PIF: the bridge of its network, which the master maps to its own network. */
  readonly bridge?: string;
}

/** In the order the master creates them. */
const LOCAL_CLASSES = ['SR', 'VDI', 'PBD', 'VM_metrics', 'VM', 'host_cpu', 'PIF'] as const;
type LocalClass = (typeof LOCAL_CLASSES)[number];

const isLocalClass = (c: unknown): c is LocalClass => LOCAL_CLASSES.includes(c as LocalClass);

function pick(row: Row, fields: readonly string[] | undefined): Row {
  const out: Row = {};
  for (const f of fields ?? []) if (f in row) out[f] = row[f];
  return out;
}

/** This host's local objects, read from its own database before it joins. */
export function localObjectsOf(db: PoolDb, host: Ref<'host'>, fields: Map<string, readonly string[]>): LocalObject[] {
  const out: LocalObject[] = [];
  const add = (cls: LocalClass, ref: Ref, row: Row) => out.push({ cls, ref, row: pick(row, fields.get(cls)) });
  const pbds = db.all('PBD').filter(([, r]) => r.host === host);
  const srs = new Set<string>();
  for (const [ref, pbd] of pbds) {
    const sr = db.get('SR', pbd.SR);
    // A shared SR is the pool's to introduce; only what this host alone reaches travels.
    if (!sr || sr.shared === true) continue;
    srs.add(String(pbd.SR));
    add('SR', pbd.SR, sr);
    add('PBD', ref, pbd);
  }
  for (const [ref, vdi] of db.all('VDI')) if (srs.has(String(vdi.SR))) add('VDI', ref, vdi);
  for (const [ref, vm] of db.all('VM')) {
    if (vm.is_control_domain !== true || vm.resident_on !== host) continue;
    const m = db.get('VM_metrics', vm.metrics);
    if (m) add('VM_metrics', vm.metrics, m);
    add('VM', ref, vm);
  }
  for (const [ref, cpu] of db.all('host_cpu')) if (cpu.host === host) add('host_cpu', ref, cpu);
  for (const [ref, pif] of db.all('PIF')) {
    if (pif.host !== host) continue;
    const bridge = String(db.get('network', pif.network)?.bridge ?? '');
    if (bridge) out.push({ cls: 'PIF', ref, row: pick(pif, fields.get('PIF')), bridge });
  }
  return out;
}

const REF_RE = /^OpaqueRef:[0-9a-zA-Z-]{1,64}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The objects as sent by a joining host, each checked to belong to that host alone. */
export function parseLocalObjects(raw: unknown, host: Ref<'host'>): LocalObject[] {
  if (raw === undefined) return [];
  const bad = (why: string) => new ApiError('INVALID_VALUE', ['local_objects', why]);
  if (!Array.isArray(raw) || raw.length > 100_000) throw bad('must be a list');
  const objs: LocalObject[] = raw.map((x: unknown, i) => {
    const o = x as { cls?: unknown; ref?: unknown; row?: unknown };
    if (typeof o !== 'object' || o === null || !isLocalClass(o.cls)) throw bad(`item ${i} has no known class`);
    if (typeof o.ref !== 'string' || !REF_RE.test(o.ref) || isNullRef(o.ref)) throw bad(`item ${i} has no valid reference`);
    const row = o.row as Row;
    if (typeof row !== 'object' || row === null || Array.isArray(row) || typeof row.uuid !== 'string' || !UUID_RE.test(row.uuid)) {
      throw bad(`item ${i} has no valid uuid`);
    }
    const bridge = (o as { bridge?: unknown }).bridge;
    if (o.cls === 'PIF' && (typeof bridge !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(bridge))) throw bad(`item ${i} is a PIF without a valid bridge`);
    return { cls: o.cls, ref: o.ref, row, ...(o.cls === 'PIF' ? { bridge: bridge as string } : {}) };
  });
  const refs = (cls: LocalClass) => new Set(objs.filter((o) => o.cls === cls).map((o) => String(o.ref)));
  const srs = refs('SR');
  const metrics = new Set(objs.filter((o) => o.cls === 'VM').map((o) => String(o.row.metrics)));
  const pbdSrs = new Set(objs.filter((o) => o.cls === 'PBD').map((o) => String(o.row.SR)));
  for (const o of objs) {
    const ok = o.cls === 'host_cpu' || o.cls === 'PIF' ? o.row.host === host
      : o.cls === 'PBD' ? o.row.host === host && srs.has(String(o.row.SR))
      : o.cls === 'SR' ? o.row.shared !== true && pbdSrs.has(String(o.ref))
      : o.cls === 'VDI' ? srs.has(String(o.row.SR))
      : o.cls === 'VM' ? o.row.is_control_domain === true && o.row.resident_on === host
      : metrics.has(String(o.ref));
    if (!ok) throw bad(`${o.cls} ${o.ref} does not belong to the joining host`);
  }
  return objs;
}

/** Adds the objects on the master; refuses the lot if any reference or uuid is taken. */
export function addLocalObjects(db: PoolDb, objs: readonly LocalObject[], fields: Map<string, readonly string[]>): void {
  for (const o of objs) {
    if (db.get(o.cls, o.ref) || db.refByUuid(o.cls, String(o.row.uuid))) {
      throw new ApiError('INVALID_VALUE', ['local_objects', `${o.cls} ${String(o.row.uuid)} is already in the pool`]);
    }
  }
  const ordered = [...objs].sort((a, b) => LOCAL_CLASSES.indexOf(a.cls) - LOCAL_CLASSES.indexOf(b.cls));
  db.transaction(() => {
    for (const o of ordered) {
      const row = pick(o.row, fields.get(o.cls));
      // The joining host's interfaces join the pool's network on the same bridge, made if the pool has none.
      if (o.cls === 'PIF') row.network = networkOnBridge(db, o.bridge!);
      db.create(o.cls, o.ref, row);
    }
  });
}

function networkOnBridge(db: PoolDb, bridge: string): Ref<'network'> {
  const found = db.all('network').find(([, r]) => r.bridge === bridge)?.[0];
  if (found) return found;
  const ref = newRef<'network'>();
  db.create('network', ref, { uuid: newUuid(), name_label: `Pool-wide network associated with ${bridge}`, bridge, MTU: 1500, managed: true });
  return ref;
}

/** Removes a host's local objects from the pool (eject, or a join never confirmed). */
export function removeLocalObjects(db: PoolDb, host: Ref<'host'>): void {
  const pbds = db.all('PBD').filter(([, r]) => r.host === host);
  const localSrs = pbds.map(([, r]) => String(r.SR)).filter((sr) => db.get('SR', sr)?.shared !== true);
  db.transaction(() => {
    for (const [ref, vm] of db.all('VM')) {
      if (vm.is_control_domain !== true || vm.resident_on !== host) continue;
      const m = vm.metrics;
      db.remove('VM', ref);
      if (!isNullRef(m) && db.get('VM_metrics', m)) db.remove('VM_metrics', m);
    }
    for (const [ref, cpu] of db.all('host_cpu')) if (cpu.host === host) db.remove('host_cpu', ref);
    for (const [ref, pif] of db.all('PIF')) if (pif.host === host) db.remove('PIF', ref);
    for (const sr of localSrs) {
      // Only an SR no other host reaches goes with the host.
      if (db.all('PBD').some(([, r]) => r.SR === sr && r.host !== host)) continue;
      for (const [ref, vdi] of db.all('VDI')) if (vdi.SR === sr) db.remove('VDI', ref);
      for (const [ref, pbd] of db.all('PBD')) if (pbd.SR === sr) db.remove('PBD', ref);
      db.remove('SR', sr);
    }
  });
}
