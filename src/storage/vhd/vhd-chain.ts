/**
 * @module
 * A differencing chain, leaf first: the disk a VM sees. Opening follows parent locators from
 * the leaf, relative to each child's directory, and refuses chains that loop, are deeper than
 * allowed, or whose parent is not the file the child was made from (UUID check). Reads resolve
 * each sector from the first layer whose bitmap has it, a run at a time; writes go to the leaf.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { check, VhdError } from './errors.js';
import { resolveParentPath } from './parent-locator.js';
import { KeyedLock } from './keyed-lock.js';
import { VhdFile, type Extent, type WriteOptions } from './vhd-file.js';

export interface ChainOptions {
  /** Open the leaf read-only too (parents always are). */
  readOnly?: boolean;
  /** Most layers accepted, leaf included; default 64 (XenServer stops at 30). */
  maxDepth?: number;
}

export interface DataChunk {
  offset: number;
  data: Buffer;
}

interface Gap {
  sector: number;
  count: number;
}

export const DEFAULT_MAX_DEPTH = 64;
/** `readAll` refuses disks above this; stream with `extents()` instead. */
const READ_ALL_LIMIT = 1024 ** 3;

async function fileKey(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? `${s.dev}:${s.ino}` : null;
  } catch {
    return null;
  }
}

/** The parent file of a differencing layer: first locator naming an existing file. */
async function findParent(child: VhdFile): Promise<string> {
  const candidates = (await child.parentLocatorPaths()).map((p) => resolveParentPath(child.path, p));
  const name = child.header!.parentUnicodeName;
  if (name && !name.includes('/')) candidates.push(join(dirname(child.path), basename(name)));
  for (const c of candidates) if ((await fileKey(c)) !== null) return c;
  throw new VhdError('PARENT_NOT_FOUND', `no parent found (tried ${candidates.join(', ') || 'no locator'})`, child.path);
}

export class VhdChain {
  private readonly rmwLocks = new KeyedLock();

  private constructor(readonly layers: readonly VhdFile[]) {}

  static async open(leafPath: string, opts: ChainOptions = {}): Promise<VhdChain> {
    const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    const layers: VhdFile[] = [];
    const seen = new Set<string>();
    try {
      let path = leafPath;
      for (;;) {
        const key = await fileKey(path);
        if (key !== null && seen.has(key)) throw new VhdError('PARENT_LOOP', `${path} is already in the chain`, leafPath);
        if (key !== null) seen.add(key);
        if (layers.length >= maxDepth) throw new VhdError('CHAIN_TOO_DEEP', `more than ${maxDepth} layers`, leafPath);
        const layer = await VhdFile.open(path, { readOnly: layers.length > 0 || (opts.readOnly ?? false) });
        const child = layers[layers.length - 1];
        layers.push(layer);
        if (child && child.parentUuid !== layer.uuid) {
          throw new VhdError('PARENT_UUID_MISMATCH', `${child.path} expects parent ${child.parentUuid}, ${path} is ${layer.uuid}`, leafPath);
        }
        if (!layer.isDifferencing) break;
        path = await findParent(layer);
      }
    } catch (e) {
      await Promise.all(layers.map((l) => l.close()));
      throw e;
    }
    return new VhdChain(layers);
  }

  get leaf(): VhdFile {
    return this.layers[0]!;
  }
  get size(): number {
    return this.leaf.size;
  }

  private checkRange(offset: number, length: number): void {
    check(
      Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.size,
      'OUT_OF_BOUNDS',
      `range ${offset}+${length} beyond ${this.size}`,
      this.leaf.path,
    );
  }

  /**
   * Resolves whole sectors layer by layer: each layer serves what it stores of the gaps the
   * layers above left, and passes on the rest. Calls `hit` per served range.
   */
  private async resolve(sector: number, count: number, hit: (layer: VhdFile, offset: number, length: number, fileOffset: number) => Promise<void> | void): Promise<Gap[]> {
    let gaps: Gap[] = count > 0 ? [{ sector, count }] : [];
    for (const layer of this.layers) {
      if (gaps.length === 0) break;
      const next: Gap[] = [];
      const work: Promise<void>[] = [];
      for (const g of gaps) {
        for (const r of await layer.map(g.sector * 512, g.count * 512)) {
          if (r.fileOffset !== null) {
            const p = Promise.resolve(hit(layer, r.offset, r.length, r.fileOffset));
            // Handled below by Promise.all; without this a failure while we still await
            // the next map would count as an unhandled rejection.
            p.catch(() => undefined);
            work.push(p);
          } else {
            const last = next[next.length - 1];
            if (last && last.sector + last.count === r.offset / 512) last.count += r.length / 512;
            else next.push({ sector: r.offset / 512, count: r.length / 512 });
          }
        }
      }
      await Promise.all(work);
      gaps = next;
    }
    return gaps;
  }

  /**
   * The disk's bytes at any offset and length. A sector-aligned read fills `into` (when it is
   * long enough) instead of allocating.
   */
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    this.checkRange(offset, length);
    const first = Math.floor(offset / 512);
    const end = Math.ceil((offset + length) / 512);
    const base = first * 512;
    const aligned = offset === base && length === (end - first) * 512;
    const out = aligned && into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe((end - first) * 512);
    const holes = await this.resolve(first, end - first, (layer, off, len, fileOffset) =>
      layer.readMapped({ offset: off, length: len, fileOffset }, out, off - base),
    );
    for (const h of holes) out.fill(0, h.sector * 512 - base, (h.sector + h.count) * 512 - base);
    return aligned ? out : out.subarray(offset - base, offset - base + length);
  }

  /**
   * Writes to the leaf at any offset and length. Partial sectors at either end are merged with
   * the chain's current data under a per-sector lock, so two writes sharing a sector do not
   * undo each other.
   */
  async write(offset: number, data: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    this.checkRange(offset, data.length);
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    const end = offset + buf.length;
    if (buf.length === 0) return;
    if (offset % 512 === 0 && end % 512 === 0) return this.leaf.write(offset, buf, opts);
    const first = Math.floor(offset / 512);
    const last = Math.ceil(end / 512) - 1;
    const merge = async (): Promise<void> => {
      const merged = Buffer.allocUnsafe((last - first + 1) * 512);
      if (offset % 512 !== 0) await this.read(first * 512, 512, merged);
      if (end % 512 !== 0 && (last > first || offset % 512 === 0)) (await this.read(last * 512, 512)).copy(merged, (last - first) * 512);
      buf.copy(merged, offset - first * 512);
      await this.leaf.write(first * 512, merged, opts);
    };
    const edges = [...new Set([offset % 512 !== 0 ? first : -1, end % 512 !== 0 ? last : -1])].filter((s) => s >= 0);
    // Ascending lock order: two writes can never wait on each other in a cycle.
    const locked = edges.reduceRight<() => Promise<void>>((inner, sector) => () => this.rmwLocks.run(sector, inner), merge);
    await locked();
  }

  /** Data (stored by some layer) vs hole, merged over layers, covering exactly the range. */
  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    this.checkRange(offset, length);
    const first = Math.floor(offset / 512);
    const end = Math.ceil((offset + length) / 512);
    const data: Gap[] = [];
    const holes = await this.resolve(first, end - first, (_l, off, len) => void data.push({ sector: off / 512, count: len / 512 }));
    const all = [...data.map((g) => ({ ...g, allocated: true })), ...holes.map((g) => ({ ...g, allocated: false }))];
    all.sort((a, b) => a.sector - b.sector);
    const out: Extent[] = [];
    for (const g of all) {
      const start = Math.max(g.sector * 512, offset);
      const stop = Math.min((g.sector + g.count) * 512, offset + length);
      const prev = out[out.length - 1];
      if (prev && prev.allocated === g.allocated && prev.offset + prev.length === start) prev.length += stop - start;
      else if (stop > start) out.push({ offset: start, length: stop - start, allocated: g.allocated });
    }
    return out;
  }

  /** Streams the stored (non-hole) data of the chain in pieces of at most `chunkSize`. */
  async *extents(opts: { chunkSize?: number } = {}): AsyncGenerator<DataChunk> {
    const chunk = opts.chunkSize ?? 2 * 1024 * 1024;
    const window = Math.max(chunk, 64 * 1024 * 1024);
    for (let at = 0; at < this.size; at += window) {
      const len = Math.min(window, this.size - at);
      for (const e of await this.blockStatus(at, len)) {
        if (!e.allocated) continue;
        for (let o = e.offset; o < e.offset + e.length; o += chunk) {
          const n = Math.min(chunk, e.offset + e.length - o);
          yield { offset: o, data: await this.read(o, n) };
        }
      }
    }
  }

  /** The whole disk in memory (tests, small disks). */
  async readAll(): Promise<Buffer> {
    check(this.size <= READ_ALL_LIMIT, 'INVALID_ARGUMENT', 'disk too large to read at once', this.leaf.path);
    return this.read(0, this.size);
  }

  async flush(): Promise<void> {
    await this.leaf.flush();
  }

  async close(): Promise<void> {
    await Promise.all(this.layers.map((l) => l.close()));
  }
}
