/**
 * @module
 * What makes an XVA import crash-safe: every record an import makes (its VM and snapshots,
 * drives, interfaces, networks, disks) carries `other_config:islet_import_task` (the
 * import's task) from the write that creates it, so the record and the mark commit
 * together, with the host running the import; an XVA import's VM also notes, before each
 * disk's file is made, that disk's SR and uuid, so a file whose record never got written is
 * found too. A raw disk import that makes its disk (`/import_raw_vdi?sr_id=`) marks it too.
 * The import's last step takes the marks off in one transaction: that is its point of no
 * return. A start that finds marks from an import of its own host (which died with the
 * previous run) rolls it back (see `xva-import-recovery.ts`).
 */
import type { ActionContext } from '../../../core/action-context.js';
import { newRef, type Ref } from '../../../core/ref.js';

/** On every record an unfinished import made: the import's task ref. */
export const IMPORT_TASK_KEY = 'islet_import_task';
/** With it: the host whose toolstack runs the import. */
export const IMPORT_HOST_KEY = 'islet_import_host';
/** With it: the task's uuid, to report the task after a crash. */
export const IMPORT_TASK_UUID_KEY = 'islet_import_task_uuid';
/** On the import's VM: `<SR uuid>/<VDI uuid>` of each disk about to be made, comma-separated. */
export const IMPORT_DISKS_KEY = 'islet_import_disks';

const MARK_KEYS = [IMPORT_TASK_KEY, IMPORT_HOST_KEY, IMPORT_TASK_UUID_KEY, IMPORT_DISKS_KEY];

/** The mark of one import. */
export interface ImportMark {
  readonly task: string;
  readonly taskUuid: string;
  readonly host: string;
}

export function importMark(ctx: ActionContext): ImportMark {
  const task = ctx.task?.ref ?? newRef<'task'>();
  const row = ctx.db.get('task', task);
  return { task, taskUuid: String(row?.uuid ?? ''), host: ctx.services.hostRef };
}

type Config = Readonly<Record<string, string>> | undefined;

/** `other_config` of a record the import makes. */
export function marked(config: Config, mark: ImportMark): Record<string, string> {
  return { ...withoutMark(config), [IMPORT_TASK_KEY]: mark.task, [IMPORT_HOST_KEY]: mark.host, [IMPORT_TASK_UUID_KEY]: mark.taskUuid };
}

export function withoutMark(config: Config): Record<string, string> {
  const out = { ...(config ?? {}) };
  for (const k of MARK_KEYS) delete out[k];
  return out;
}

/** Records on the VM, durably, the disk about to be made, before its file exists. */
export function noteDisk(ctx: ActionContext, vm: Ref<'VM'>, srUuid: string, vdiUuid: string): void {
  const row = ctx.db.get('VM', vm);
  if (!row) return;
  const oc = row.other_config as Record<string, string>;
  const list = [...(oc[IMPORT_DISKS_KEY] ?? '').split(',').filter(Boolean), `${srUuid}/${vdiUuid}`];
  ctx.db.update('VM', vm, { other_config: { ...oc, [IMPORT_DISKS_KEY]: list.join(',') } });
}

/** The disks noted on a VM of an unfinished import. */
export function notedDisks(config: Config): Array<{ sr: string; vdi: string }> {
  return (config?.[IMPORT_DISKS_KEY] ?? '').split(',').filter((s) => s.includes('/'))
    .map((s) => ({ sr: s.slice(0, s.indexOf('/')), vdi: s.slice(s.indexOf('/') + 1) }));
}

/** The import is done: its records lose their marks, all in one transaction. */
export function unmark(ctx: ActionContext, records: ReadonlyArray<readonly [string, Ref]>): void {
  ctx.db.transaction(() => {
    for (const [cls, ref] of records) {
      const row = ctx.db.get(cls, ref);
      if (row) ctx.db.update(cls, ref, { other_config: withoutMark(row.other_config as Config) });
    }
  });
}
