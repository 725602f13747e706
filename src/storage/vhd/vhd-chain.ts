/**
 * @module
 * A differencing chain, leaf first: the disk a VM sees. Opening follows parent locators from
 * the leaf, relative to each child's directory, and refuses chains that loop, are deeper than
 * allowed, or whose parent is not the file the child was made from (UUID check). Reads resolve
 * each sector from the first layer whose bitmap has it, a run at a time; writes go to the leaf.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ChainMap, type Piece } from './chain-map.js';
import { check, VhdError } from './errors.js';
import { resolveParentPath } from './parent-locator.js';
import { KeyedLock } from './keyed-lock.js';
import { VhdFile, type Extent, type WriteOptions } from './vhd-file.js';
import { settleAll } from './vhd-state.js';

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
  private readonly map: ChainMap;

  /**
   * @param layers leaf first
   * @param layerKeys each layer's file as `device:inode`: what says two chains share a layer
   */
  private constructor(readonly layers: readonly VhdFile[], private readonly layerKeys: readonly string[]) {
    this.map = new ChainMap(layers);
  }

  static async open(leafPath: string, opts: ChainOptions = {}): Promise<VhdChain> {
    const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    const layers: VhdFile[] = [];
    const keys: string[] = [];
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
        // The file just opened, by its descriptor: a path's stat could be another file's by now.
        keys.push(await layer.fileKey());
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
    return new VhdChain(layers, keys);
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
    if (end > first) {
      const pieces = this.map.pieces(first, end - first);
      const reading = this.readPieces(pieces instanceof Promise ? await pieces : pieces, out, base);
      if (reading) await reading;
    }
    return aligned ? out : out.subarray(offset - base, offset - base + length);
  }

  /** Fills `out` (disk offset `base`) from the pieces: one positioned read per stored piece. */
  private readPieces(pieces: Piece[], out: Buffer, base: number): Promise<unknown> | undefined {
    const reads: Promise<void>[] = [];
    for (const p of pieces) {
      const at = p.sector * 512 - base;
      if (p.layer < 0) out.fill(0, at, at + p.count * 512);
      else reads.push(this.layers[p.layer]!.readStored(p.fileOffset, out, at, p.count * 512));
    }
    return reads.length === 1 ? reads[0] : reads.length ? settleAll(reads) : undefined;
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
    const out: Extent[] = [];
    if (end === first) return out;
    for (const p of await this.map.pieces(first, end - first)) {
      const start = Math.max(p.sector * 512, offset);
      const stop = Math.min((p.sector + p.count) * 512, offset + length);
      const allocated = p.layer >= 0;
      const prev = out[out.length - 1];
      if (prev && prev.allocated === allocated && prev.offset + prev.length === start) prev.length += stop - start;
      else if (stop > start) out.push({ offset: start, length: stop - start, allocated });
    }
    return out;
  }

  /**
   * Each layer, leaf first: its file's identity (with its VHD uuid) and the byte ranges of
   * the blocks its table holds, whole blocks as the table knows them (a block's sector
   * bitmap may hold less; more is only a larger answer, never a wrong one).
   */
  layerExtents(): Array<{ id: string; stored: Array<[number, number]> }> {
    return this.layers.map((l, i) => {
      const stored: Array<[number, number]> = [];
      const bs = l.blockSize;
      for (const b of l.allocatedBlocks()) {
        const start = b * bs;
        const end = Math.min(l.size, start + bs);
        const prev = stored[stored.length - 1];
        if (prev && prev[1] === start) prev[1] = end;
        else stored.push([start, end]);
      }
      return { id: `${this.layerKeys[i]}/${l.uuid}`, stored };
    });
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

