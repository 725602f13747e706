/**
 * @module
 * The pool's SM records, one per SR type the hosts' storage drivers serve, as xapi keeps
 * them from the drivers it finds at start: made for a new type, brought up to date when a
 * driver's description changed (a newer Islet), removed for a type no driver serves any
 * more. An SM keeps its uuid across restarts, so clients that remember it find it again.
 */
import type { PoolDb } from '../core/ports/pool-db.js';
import type { SmDescription } from '../core/ports/sr-driver.js';
import type { StorageHost } from '../core/ports/storage-host.js';
import { newRef, newUuid } from '../core/ref.js';

/** The SM record's fields for one driver. */
function smFields(type: string, d: SmDescription) {
  return {
    type,
    name_label: d.nameLabel,
    name_description: d.nameDescription,
    vendor: d.vendor,
    copyright: d.copyright,
    version: d.version,
    required_api_version: '1.0',
    configuration: { ...d.configuration },
    // The older list of what a driver can do, which XenCenter still reads: the features' names.
    capabilities: Object.keys(d.features),
    features: { ...d.features },
    driver_filename: '',
    required_cluster_stack: [],
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Makes the SM records match the storage host's drivers (on the master, at start). */
export function ensureSmRecords(db: PoolDb, storage: StorageHost): void {
  const wanted = new Map<string, ReturnType<typeof smFields>>();
  for (const type of storage.types()) {
    const d = storage.driver(type)?.sm;
    if (d) wanted.set(type, smFields(type, d));
  }
  db.transaction(() => {
    const seen = new Set<string>();
    for (const [ref, row] of db.all('SM')) {
      const fields = wanted.get(String(row.type));
      // A type no driver serves, or a second record of one (only the first is kept).
      if (!fields || seen.has(fields.type)) {
        db.remove('SM', ref);
        continue;
      }
      seen.add(fields.type);
      const changed = Object.fromEntries(Object.entries(fields).filter(([k, v]) => !same((row as Record<string, unknown>)[k], v)));
      if (Object.keys(changed).length) db.update('SM', ref, changed);
    }
    for (const [type, fields] of wanted) {
      if (!seen.has(type)) db.create('SM', newRef<'SM'>(), { uuid: newUuid(), ...fields, other_config: {} });
    }
  });
}
