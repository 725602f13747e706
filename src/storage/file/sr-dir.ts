/**
 * @module
 * The on-disk layout of a file SR, one directory: `sr.json` (the SR's identity: its uuid,
 * which decides what an attach finds, whatever path or server it was reached through),
 * `<vdi-uuid>.vhd` per node of the snapshot trees (the VHD footer carries the same uuid and
 * the hidden flag; a differencing header names the parent), `vdi-flags.json` for what VHD
 * cannot say (read-only snapshots), `.journal/` (unfinished operations), `.active/` (disks
 * open for I/O, per host) and `.lock`. Names starting with a dot and ending in `.tmp` are
 * files under construction, removed by recovery.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { VdiInfo } from '../../core/ports/sr-driver.js';
import { DiskType } from '../vhd/index.js';
import { readJson, removeDurable, writeFileDurable } from './durable-fs.js';
import { isNotFound } from './sr-errors.js';
import { mayHaveData, readFacts, type VhdFacts } from './vhd-facts.js';

/** Files read at once by a scan: the cost of a big SR overlaps, its open files stay few. */
const READ_CONCURRENCY = 16;

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SrIdentity {
  uuid: string;
  type: 'file';
  version: 1;
  created: string;
  smConfig?: Record<string, string>;
}

/** What the SR layer needs to know of one VHD file. */
export interface NodeInfo {
  uuid: string;
  virtualSize: number;
  /** st_blocks × 512 of the file. */
  physical: number;
  parentUuid: string | null;
  hidden: boolean;
  fixed: boolean;
  /** False when the node certainly stores no data of its own (see `mayHaveData`). */
  mayHaveData: boolean;
}

interface VdiFlags {
  readOnly: Record<string, true>;
}

export class SrDir {
  private readonly nodes = new Map<string, { key: string; node: NodeInfo }>();

  constructor(readonly path: string) {}

  vhd(uuid: string): string {
    return join(this.path, `${uuid}.vhd`);
  }
  get identityFile(): string {
    return join(this.path, 'sr.json');
  }
  get flagsFile(): string {
    return join(this.path, 'vdi-flags.json');
  }
  get lockFile(): string {
    return join(this.path, '.lock');
  }

  async readIdentity(): Promise<SrIdentity | null> {
    return readJson<SrIdentity>(this.identityFile);
  }

  async writeIdentity(id: SrIdentity): Promise<void> {
    await writeFileDurable(this.identityFile, JSON.stringify(id, null, 2) + '\n');
  }

  /** Uuids of the VHD files present. */
  async uuids(): Promise<string[]> {
    const names = await readdir(this.path);
    return names.filter((n) => n.endsWith('.vhd') && UUID_RE.test(n.slice(0, -4))).map((n) => n.slice(0, -4));
  }

  /** Removes files left under construction by an operation that died. */
  async sweepTemporaries(): Promise<void> {
    for (const n of await readdir(this.path)) {
      if (n.startsWith('.') && n.endsWith('.tmp')) await removeDurable(join(this.path, n));
    }
  }

  /**
   * The node's facts, from its footer and header only (constant cost whatever the disk's
   * size), kept per file while its inode, size and change time stay the same (any write,
   * rename or link changes the change time).
   */
  async readNode(uuid: string): Promise<NodeInfo> {
    const path = this.vhd(uuid);
    const st = await stat(path);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.ctimeMs}:${st.mtimeMs}`;
    const hit = this.nodes.get(uuid);
    const node = hit && hit.key === key ? { ...hit.node, physical: st.blocks * 512 } : nodeOf(uuid, await readFacts(path), st.blocks * 512);
    this.nodes.set(uuid, { key, node });
    return node;
  }

  /** The node's facts as `readNode` last found them, without looking at the file. */
  cachedNode(uuid: string): NodeInfo | undefined {
    return this.nodes.get(uuid)?.node;
  }

  /** Drops what is kept of nodes not in `present`. */
  forgetAllBut(present: ReadonlySet<string>): void {
    for (const gone of [...this.nodes.keys()].filter((u) => !present.has(u))) this.nodes.delete(gone);
  }

  /** Every node whose file opens; `broken` lists the uuids of files that do not. */
  async readAll(): Promise<{ nodes: NodeInfo[]; broken: string[] }> {
    const uuids = await this.uuids();
    this.forgetAllBut(new Set(uuids));
    const read = await mapLimit(uuids, READ_CONCURRENCY, async (uuid) => {
      try {
        return { node: await this.readNode(uuid) };
      } catch (e) {
        // Deleted between readdir and open by another host's GC: not there any more.
        return isNotFound(e) ? {} : { broken: uuid };
      }
    });
    return {
      nodes: read.flatMap((r) => (r.node ? [r.node] : [])),
      broken: read.flatMap((r) => (r.broken ? [r.broken] : [])),
    };
  }

  async readOnlyFlags(): Promise<Set<string>> {
    const f = await readJson<VdiFlags>(this.flagsFile);
    return new Set(Object.keys(f?.readOnly ?? {}));
  }

  /** Sets or clears read-only marks; marks of files no longer present are dropped. */
  async updateReadOnly(changes: Record<string, boolean>): Promise<void> {
    const doc = await this.readOnlyDocument(changes);
    if (doc !== null) await writeFileDurable(this.flagsFile, doc);
  }

  /**
   * The flags file's text after `changes`, counting the nodes in `coming` as present (their
   * files are about to be); null when nothing changes, so nothing need be written.
   */
  async readOnlyDocument(changes: Record<string, boolean>, coming: ReadonlySet<string> = new Set()): Promise<string | null> {
    const flags = await this.readOnlyFlags();
    // Nothing to change writes nothing: undo paths call this on a full file system.
    if (Object.entries(changes).every(([uuid, ro]) => flags.has(uuid) === ro)) return null;
    for (const [uuid, ro] of Object.entries(changes)) {
      if (ro) flags.add(uuid);
      else flags.delete(uuid);
    }
    const present = new Set([...(await this.uuids()), ...coming]);
    const readOnly: Record<string, true> = {};
    for (const uuid of [...flags].sort()) if (present.has(uuid)) readOnly[uuid] = true;
    return JSON.stringify({ readOnly });
  }

  async freeBytes(): Promise<number> {
    const s = await statfs(this.path);
    return s.bavail * s.bsize;
  }

  async sizeBytes(): Promise<number> {
    const s = await statfs(this.path);
    return s.blocks * s.bsize;
  }
}

export function nodeOf(uuid: string, f: VhdFacts, physical: number): NodeInfo {
  return {
    uuid,
    virtualSize: f.footer.currentSize,
    physical,
    parentUuid: f.footer.diskType === DiskType.Differencing ? f.header!.parentUuid : null,
    hidden: f.footer.hidden !== 0,
    fixed: f.footer.diskType === DiskType.Fixed,
    mayHaveData: mayHaveData(f),
  };
}

export function toVdiInfo(n: NodeInfo, readOnlyFlags: ReadonlySet<string>): VdiInfo {
  const smConfig: Record<string, string> = { vdi_type: 'vhd' };
  if (n.parentUuid) smConfig['vhd-parent'] = n.parentUuid;
  return {
    uuid: n.uuid,
    virtualSize: n.virtualSize,
    physicalUtilisation: n.physical,
    ...(n.parentUuid ? { parentUuid: n.parentUuid } : {}),
    hidden: n.hidden,
    readOnly: n.hidden || readOnlyFlags.has(n.uuid),
    allocation: n.fixed ? 'thick' : 'thin',
    smConfig,
  };
}
