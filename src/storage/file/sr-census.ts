/**
 * @module
 * The file SR's space figures without a stat of every file each time: what each VHD node
 * and each other file of the SR uses is kept from the last look and looked at again only
 * where it may have changed since. That is: nodes an operation here touched (it says so),
 * disks open for writing here or on another host (always), names that came or went (one
 * directory listing shows them), and everything when another process or host has held the
 * SR lock since, or when an operation cannot say what it touched. So the figures stay what
 * a full pass would find, while a snapshot of four disks costs a look at four files.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { allocatedBytes } from './durable-fs.js';
import { mapLimit, type NodeInfo, type SrDir, UUID_RE } from './sr-dir.js';
import { isNotFound } from './sr-errors.js';

export interface Census {
  /** Every node whose file opens. */
  nodes: NodeInfo[];
  /** Uuids of the VHD files that do not open. */
  broken: string[];
  /** Bytes allocated to the SR's own files: the VHDs, its identity, flags and journal. */
  used: number;
}

/** Files looked at once at most: a big SR's cost overlaps, its open files stay few. */
const LOOKS_AT_ONCE = 16;

export class SrCensus {
  /** Bytes of the journal's files, by name: written once, never changed in place. */
  private readonly journal = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private all = true;

  constructor(private readonly dir: SrDir) {}

  /** Nodes that may have changed (by uuid); without an argument, anything may have. */
  invalidate(uuids?: Iterable<string>): void {
    if (uuids === undefined) this.all = true;
    else for (const u of uuids) this.dirty.add(u);
  }

  /** The SR as it is now; `volatile` are nodes open for writing, looked at every time. */
  async take(volatile: ReadonlySet<string>): Promise<Census> {
    const all = this.all;
    const dirty = new Set(this.dirty);
    this.all = false;
    this.dirty.clear();
    try {
      const [inDir, inJournal] = await Promise.all([
        readdir(this.dir.path, { withFileTypes: true }),
        readdir(join(this.dir.path, '.journal'), { withFileTypes: true }).catch(() => []),
      ]);
      const uuids: string[] = [];
      const others: string[] = [];
      for (const e of inDir) {
        if (!e.isFile()) continue;
        const uuid = e.name.endsWith('.vhd') ? e.name.slice(0, -4) : '';
        if (UUID_RE.test(uuid)) uuids.push(uuid);
        else others.push(join(this.dir.path, e.name));
      }
      this.dir.forgetAllBut(new Set(uuids));
      const stale = (u: string) => all || dirty.has(u) || volatile.has(u);
      const read = await mapLimit(uuids, LOOKS_AT_ONCE, async (uuid) => {
        const known = stale(uuid) ? undefined : this.dir.cachedNode(uuid);
        if (known) return { node: known };
        try {
          return { node: await this.dir.readNode(uuid) };
        } catch (e) {
          // Deleted between the listing and the look (another host's GC): not there any more.
          return isNotFound(e) ? {} : { broken: uuid, bytes: await allocatedBytes(this.dir.vhd(uuid)) };
        }
      });
      // The identity, the flags and any temporary are few: always looked at.
      const sizes = await mapLimit(others, LOOKS_AT_ONCE, allocatedBytes);
      const names = new Set(inJournal.filter((e) => e.isFile()).map((e) => e.name));
      for (const n of [...this.journal.keys()]) if (all || !names.has(n)) this.journal.delete(n);
      await mapLimit([...names].filter((n) => !this.journal.has(n)), LOOKS_AT_ONCE, async (n) => {
        this.journal.set(n, await allocatedBytes(join(this.dir.path, '.journal', n)));
      });
      const nodes = read.flatMap((r) => (r.node ? [r.node] : []));
      const used = [...read.map((r) => r.node?.physical ?? r.bytes ?? 0), ...sizes, ...this.journal.values()].reduce((a, b) => a + b, 0);
      return { nodes, broken: read.flatMap((r) => (r.broken ? [r.broken] : [])), used };
    } catch (e) {
      this.all = true;
      throw e;
    }
  }
}
