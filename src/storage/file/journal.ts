/**
 * @module
 * Intent records for multi-step changes of an SR's tree, in the manner of sm's FileSR
 * journals: before an operation touches a file it writes `.journal/<op>_<uuid>.json`
 * (fsync'd, renamed into place), updates the record's `phase` when it passes a point of no
 * return, and removes the record when done. A record found later belongs to an operation
 * that died; `recovery.ts` finishes or undoes it. Operations run under the SR lock, so a
 * record present while the lock is held is always one of those.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crashPoint } from './crash-point.js';
import { fsyncDir, readJson, removeDurable, writeFileDurable } from './durable-fs.js';
import { isNotFound } from './sr-errors.js';

/**
 * One disk's part of a snapshot change: a snapshot or clone of `leaf`. Deep (`base` set):
 * the leaf's file became the hidden base `base` and the leaf a new empty child of it.
 * Shallow (`base` null): `created` is a new child of the leaf's parent. `created` null is
 * an internal single snapshot. `parent` is the node `created` hangs under.
 */
export interface SnapshotItem {
  leaf: string;
  base: string | null;
  created: string | null;
  parent: string;
  readOnly: boolean;
}

/** Snapshots or clones of several disks (a VM's), made and undone together. */
export interface SnapshotRecord {
  op: 'snapshot';
  id: string;
  items: SnapshotItem[];
}

/** Hidden `child` merged into `parent` (its only child); then `child`'s children re-pointed. */
export interface CoalesceRecord {
  op: 'coalesce';
  child: string;
  parent: string;
  grandchildren: string[];
  phase: 'copy' | 'relink';
}

/** Visible `leaf` merged into its hidden `parent`, which then takes the leaf's name. */
export interface LeafCoalesceRecord {
  op: 'leaf-coalesce';
  leaf: string;
  parent: string;
  phase: 'copy' | 'swap';
}

export type JournalRecord = SnapshotRecord | CoalesceRecord | LeafCoalesceRecord;

function keyOf(r: JournalRecord): string {
  switch (r.op) {
    case 'snapshot':
      return r.id;
    case 'coalesce':
      return r.child;
    case 'leaf-coalesce':
      return r.leaf;
  }
}

export class Journal {
  readonly dir: string;

  constructor(srDir: string) {
    this.dir = join(srDir, '.journal');
  }

  async init(): Promise<void> {
    // One level only: the SR directory exists, and a recursive mkdir can spin for ever on
    // a file system that answers ENOENT and EEXIST alike (/proc).
    await mkdir(this.dir).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    });
  }

  private path(r: JournalRecord): string {
    return join(this.dir, `${r.op}_${keyOf(r)}.json`);
  }

  /** Writes (or rewrites, for a phase change) the record durably. */
  async write(r: JournalRecord): Promise<void> {
    await writeFileDurable(this.path(r), JSON.stringify(r));
    crashPoint(`journal.${r.op}.${'phase' in r ? r.phase : 'start'}`);
  }

  async remove(r: JournalRecord): Promise<void> {
    await removeDurable(this.path(r));
    crashPoint(`journal.${r.op}.done`);
  }

  /** Records left by operations that did not finish. */
  async pending(): Promise<JournalRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
    const out: JournalRecord[] = [];
    for (const n of names.sort()) {
      if (n.startsWith('.')) {
        // A record that never made it into place: its operation had not started.
        await removeDurable(join(this.dir, n));
        continue;
      }
      if (!n.endsWith('.json')) continue;
      const r = await readJson<JournalRecord>(join(this.dir, n));
      if (r) out.push(r);
    }
    return out;
  }

  async sync(): Promise<void> {
    await fsyncDir(this.dir);
  }
}
