/**
 * @module
 * Rolling back, at start, the XVA imports the previous run of this toolstack left
 * unfinished (killed, or the host lost power): every record still carrying an import's mark
 * (see `xva-import-mark.ts`) goes, with the disks' files, including a file made just before
 * the toolstack died whose record was never written (or was made since by a scan), and the
 * SRs' space figures are read again. An import run by another host is that host's to roll
 * back when it starts (it may still be running); marks whose VM is gone, or whose host left
 * the pool, the master rolls back. Each step can be repeated, so a crash during the roll-back
 * is finished by the next start. The VMs go last: they hold the list of disks.
 */
import type { ActionContext, Services } from '../../../core/action-context.js';
import type { Row } from '../../../core/ports/pool-db.js';
import type { Ref } from '../../../core/ref.js';
import { destroyVdi, onSr } from '../../vdi/vdi-ops.js';
import { IMPORT_HOST_KEY, IMPORT_TASK_KEY, IMPORT_TASK_UUID_KEY, notedDisks } from './xva-import-mark.js';

/** An import found unfinished at start. */
export interface AbandonedImport {
  readonly task: Ref<'task'>;
  readonly taskUuid: string;
  /** Whether everything it made is gone (else the next start tries again). */
  readonly rolledBack: boolean;
}

type Marked = { cls: string; ref: Ref; row: Row };

const MARKED_CLASSES = ['VM', 'VBD', 'VIF', 'VDI', 'network'];

function configOf(row: Row): Record<string, string> {
  return (row.other_config ?? {}) as Record<string, string>;
}

/** Every marked record, by the task of the import that made it. */
function markedByTask(ctx: ActionContext): Map<string, Marked[]> {
  const out = new Map<string, Marked[]>();
  for (const cls of MARKED_CLASSES) {
    for (const [ref, row] of ctx.db.all(cls)) {
      const task = configOf(row)[IMPORT_TASK_KEY];
      if (!task) continue;
      let list = out.get(task);
      if (!list) out.set(task, (list = []));
      list.push({ cls, ref, row });
    }
  }
  return out;
}

/** Whether this host is the one to roll back the import (see the module header). */
function ours(ctx: ActionContext, records: readonly Marked[], master: boolean): boolean {
  const host = records.map((m) => configOf(m.row)[IMPORT_HOST_KEY]).find(Boolean);
  if (host === ctx.services.hostRef) return true;
  return master && (!host || !ctx.db.get('host', host));
}

async function rollBack(ctx: ActionContext, records: readonly Marked[], log: (m: string) => void): Promise<boolean> {
  let complete = true;
  const touched = new Set<Ref<'SR'>>();
  const failed = (what: string, e: unknown) => {
    complete = false;
    log(`rolling back an unfinished import: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  };
  for (const m of records) if ((m.cls === 'VBD' || m.cls === 'VIF') && ctx.db.get(m.cls, m.ref)) ctx.db.remove(m.cls, m.ref);
  const vdis = new Map(records.filter((m) => m.cls === 'VDI').map((m) => [String(m.row.uuid), m.ref as Ref<'VDI'>]));
  // Disks noted before their file was made: a record a scan made since has no mark but is theirs.
  const noted = records.filter((m) => m.cls === 'VM').flatMap((m) => notedDisks(configOf(m.row)));
  for (const d of noted) {
    const ref = ctx.db.all('VDI').find(([, r]) => r.uuid === d.vdi)?.[0];
    if (ref) vdis.set(d.vdi, ref);
  }
  for (const [uuid, ref] of vdis) {
    const row = ctx.db.get('VDI', ref);
    if (!row) continue;
    touched.add(row.SR);
    // Its drives are gone; a drive made since would make this refuse, as it should.
    await destroyVdi(ctx, ref).catch((e: unknown) => failed(`disk ${uuid}`, e));
  }
  // A file made just before the toolstack died, without a record.
  for (const d of noted) {
    if (vdis.has(d.vdi)) continue;
    const sr = ctx.db.refByUuid('SR', d.sr);
    const attached = sr ? ctx.services.storage?.attached(d.sr) : undefined;
    if (!sr || !attached) continue;
    touched.add(sr);
    const exists = await attached.vdiStat(d.vdi).then(() => true, () => false);
    if (exists) await onSr(ctx, sr, (a) => a.vdiDestroy(d.vdi)).catch((e: unknown) => failed(`disk file ${d.vdi}`, e));
  }
  for (const m of records) {
    if (m.cls !== 'network' || !ctx.db.get('network', m.ref)) continue;
    if ((ctx.db.get('network', m.ref)!.VIFs as unknown[]).length === 0) ctx.db.remove('network', m.ref);
  }
  // The SRs' figures, read again now the disks are gone.
  for (const sr of touched) {
    if (ctx.db.get('SR', sr) && ctx.services.storage?.attached(String(ctx.db.get('SR', sr)!.uuid))) {
      await onSr(ctx, sr, async () => undefined).catch((e: unknown) => failed('SR figures', e));
    }
  }
  if (!complete) return false;
  // Snapshots before the VM, which holds the list of noted disks until the end.
  const vms = records.filter((m) => m.cls === 'VM').sort((a, b) => Number(a.row.is_a_snapshot !== true) - Number(b.row.is_a_snapshot !== true));
  for (const m of vms) if (ctx.db.get('VM', m.ref)) ctx.db.remove('VM', m.ref);
  return true;
}

/** Rolls back the unfinished imports this host is to roll back; returns them. */
export async function rollBackAbandonedImports(services: Services, log: (m: string) => void): Promise<AbandonedImport[]> {
  const ctx: ActionContext = { services, db: services.db, session: undefined, task: undefined, peer: 'local' };
  const master = !services.pool || services.pool.isMaster();
  const out: AbandonedImport[] = [];
  for (const [task, records] of markedByTask(ctx)) {
    if (!ours(ctx, records, master)) continue;
    const taskUuid = records.map((m) => configOf(m.row)[IMPORT_TASK_UUID_KEY]).find(Boolean) ?? '';
    const rolledBack = await rollBack(ctx, records, log);
    log(`an import cut short by the previous run (task ${task}) ${rolledBack ? 'was rolled back' : 'could not be rolled back yet'}`);
    out.push({ task: task as Ref<'task'>, taskUuid, rolledBack });
  }
  return out;
}
