/**
 * @module
 * Keeps every VM's `allowed_operations` true to its record, whoever changed it: VMs made
 * by `VM.create`, clones, imports and reverts get theirs without each of those actions
 * knowing the rules, as xapi recomputes them after every change. Runs on the master,
 * following the database's change feed; it writes only when the stored list is wrong.
 */
import type { ObjectChange, PoolDb } from '../../core/ports/pool-db.js';
import type { Ref } from '../../core/ref.js';
import { computeAllowedOperations } from '../../core/vm-operations.js';
import { vmOpView } from './vm-operation-lock.js';

function sync(db: PoolDb, vm: Ref<'VM'>): void {
  const row = db.get('VM', vm);
  if (!row) return;
  const want = computeAllowedOperations(vm, vmOpView(row));
  if (JSON.stringify(want) !== JSON.stringify(row.allowed_operations)) db.update('VM', vm, { allowed_operations: want });
}

/** Follows VM changes until `signal` aborts or the database closes. */
export async function keepVmAllowedOperations(db: PoolDb, isMaster: () => boolean, signal: AbortSignal): Promise<void> {
  let gen = db.generation;
  if (isMaster()) for (const [vm] of db.all('VM')) sync(db, vm);
  while (!signal.aborted) {
    try {
      await db.waitForChange(gen, 60_000, signal);
    } catch {
      return; // the database closed
    }
    let changed: Ref<'VM'>[];
    try {
      const ch = db.changesSince(gen, (cls) => cls === 'VM');
      gen = ch.gen;
      changed = ch.changes.filter((c): c is ObjectChange & { ref: Ref<'VM'> } => c.cls === 'VM' && c.op !== 'del').map((c) => c.ref);
    } catch {
      // Too far behind (EVENTS_LOST): look at every VM.
      gen = db.generation;
      changed = db.all('VM').map(([ref]) => ref);
    }
    if (!isMaster()) continue;
    for (const vm of changed) {
      try {
        sync(db, vm);
      } catch {
        /* a VM removed meanwhile, or a closing database: the next change says */
      }
    }
  }
}
