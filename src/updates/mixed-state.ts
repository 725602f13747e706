/**
 * @module
 * The one placement rule a rolling update imposes on every migration, whoever asks for it:
 * while a run is under way (running or paused), a VM on a host that already has the run's
 * update must not move to a host that does not, since software only ever moves forward.
 * Such a move fails with xapi's VM_HOST_INCOMPATIBLE_VERSION [host, vm] ("cannot be performed
 * on an older-versioned host during an upgrade").
 */
import { ApiError } from '../core/api-error.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { appliedOn, updateUuidOf } from './patch-records.js';

/** Uuids of the updates rolling updates are rolling out now. */
export function updatesBeingRolledOut(db: PoolDb): string[] {
  const out: string[] = [];
  for (const [, r] of db.all('islet_rolling_update')) {
    if (r.status !== 'running' && r.status !== 'paused') continue;
    const u = updateUuidOf(db, r.update);
    if (u) out.push(u);
  }
  return out;
}

export function assertMigrationKeepsUpdates(db: PoolDb, vm: Ref<'VM'>, source: Ref<'host'>, dest: Ref<'host'>): void {
  const rolling = updatesBeingRolledOut(db);
  if (rolling.length === 0) return;
  const from = appliedOn(db, source);
  const to = appliedOn(db, dest);
  if (rolling.some((u) => from.has(u) && !to.has(u))) throw new ApiError('VM_HOST_INCOMPATIBLE_VERSION', [dest, vm]);
}
