/**
 * @module
 * The copy-on-write block store both array simulators keep their LUNs and volumes in. Each
 * LUN is a sparse map from its block numbers to blocks of a shared, refcounted pool
 * (`BlockPool`). A clone or snapshot copies the map and takes a reference on every block,
 * so it costs nothing until one side writes; a write to a shared block copies it first; an
 * unmap drops the reference. Space figures are counted from real allocations: what a LUN
 * maps, what it alone holds, what a set of LUNs holds together (an ONTAP volume with its
 * clones and Snapshot copies, an EqualLogic volume with its snapshots).
 *
 * The simulators decide whether a write may take new space: `setAllocationGuard` is asked,
 * before anything changes, how many new blocks a write needs, and refuses by throwing (an
 * `ENOSPC` error, say), so a refused write changes nothing.
 *
 * Persistence: block data goes straight to `blocks.dat` (sparse); the maps are saved to
 * `store.json` (written to a temporary file then renamed) after every change of shape
 * (create, clone, delete, resize) and on `flush()`, so what a flush or SYNCHRONIZE CACHE
 * acknowledged survives a restart of the simulator.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockPool } from './block-pool.js';

/**
 * What the iSCSI target needs of a LUN (structurally the target's `LunStore`): the view
 * `ArrayStore.view()` returns can be handed to the target as it is.
 */
export interface ArrayLunView {
  readonly size: number;
  readonly blockSize: number;
  readonly thin: boolean;
  readonly serial: string;
  /** NAA designator (32 hex digits) when the array has its own scheme. */
  readonly naa?: string;
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Buffer): Promise<void>;
  unmap(offset: number, length: number): Promise<void>;
  flush(): Promise<void>;
}

/**
 * Refuses a write by throwing. `newBlocks` is how many blocks it would allocate: `fresh`
 * ones where the LUN had none, `copies` of blocks it shares with a clone or snapshot.
 */
export type AllocationGuard = (lunId: string, newBlocks: number, blockSize: number, detail: { fresh: number; copies: number }) => void;

interface LunMap {
  size: number;
  map: Map<number, number>;
}

interface SavedStore {
  blockSize: number;
  luns: Record<string, { size: number; map: number[] }>;
}

export class NoSuchLunError extends Error {
  constructor(readonly lunId: string) {
    super(`no LUN ${lunId} in the store`);
  }
}

export class ArrayStore {
  private readonly luns = new Map<string, LunMap>();
  private guard: AllocationGuard = () => undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private dirty = false;

  private constructor(private readonly dir: string, private readonly pool: BlockPool) {}

  /** Opens (or creates) the store in `dir`; `blockSize` applies to a new store only. */
  static async open(dir: string, opts: { blockSize?: number } = {}): Promise<ArrayStore> {
    await mkdir(dir, { recursive: true });
    let saved: SavedStore | undefined;
    try {
      saved = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')) as SavedStore;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const blockSize = saved?.blockSize ?? opts.blockSize ?? 64 * 1024;
    if (!Number.isInteger(Math.log2(blockSize)) || blockSize < 512) throw new RangeError(`block size ${blockSize} is not a power of two of at least 512`);
    const store = new ArrayStore(dir, await BlockPool.open(join(dir, 'blocks.dat'), blockSize));
    const referenced: number[] = [];
    for (const [id, l] of Object.entries(saved?.luns ?? {})) {
      const map = new Map<number, number>();
      for (let i = 0; i < l.map.length; i += 2) {
        map.set(l.map[i]!, l.map[i + 1]!);
        referenced.push(l.map[i + 1]!);
      }
      store.luns.set(id, { size: l.size, map });
    }
    store.pool.rebuild(referenced);
    return store;
  }

  get blockSize(): number {
    return this.pool.blockSize;
  }

  setAllocationGuard(guard: AllocationGuard): void {
    this.guard = guard;
  }

  has(id: string): boolean {
    return this.luns.has(id);
  }

  ids(): string[] {
    return [...this.luns.keys()];
  }

  size(id: string): number {
    return this.lun(id).size;
  }

  create(id: string, size: number): Promise<void> {
    return this.exclusive(async () => {
      if (this.luns.has(id)) throw new Error(`LUN ${id} already exists in the store`);
      checkSize(size);
      this.luns.set(id, { size, map: new Map() });
      await this.save();
    });
  }

  /** A new LUN sharing every block of `sourceId` (a FlexClone, a snapshot). */
  clone(sourceId: string, id: string): Promise<void> {
    return this.exclusive(async () => {
      const src = this.lun(sourceId);
      if (this.luns.has(id)) throw new Error(`LUN ${id} already exists in the store`);
      for (const b of src.map.values()) this.pool.ref(b);
      this.luns.set(id, { size: src.size, map: new Map(src.map) });
      await this.save();
    });
  }

  delete(id: string): Promise<void> {
    return this.exclusive(async () => {
      const l = this.lun(id);
      for (const b of l.map.values()) this.pool.unref(b);
      this.luns.delete(id);
      await this.save();
    });
  }

  /** Grows or shrinks a LUN; blocks past a new, smaller end are released. */
  resize(id: string, size: number): Promise<void> {
    return this.exclusive(async () => {
      const l = this.lun(id);
      checkSize(size);
      const bs = this.blockSize;
      if (size < l.size) {
        for (const [v, b] of l.map) {
          if (v * bs >= size) {
            l.map.delete(v);
            this.pool.unref(b);
          }
        }
        if (size % bs !== 0) await this.zeroTail(id, l, size, Math.min(l.size, Math.ceil(size / bs) * bs));
      }
      l.size = size;
      await this.save();
    });
  }

  async read(id: string, offset: number, length: number): Promise<Buffer> {
    const l = this.lun(id);
    checkRange(l, offset, length);
    const out = Buffer.alloc(length);
    const bs = this.blockSize;
    this.pool.beginRead();
    try {
      for (let at = offset; at < offset + length; ) {
        const v = Math.floor(at / bs);
        let end = Math.min(offset + length, (v + 1) * bs);
        const b = l.map.get(v);
        if (b !== undefined) {
          // Blocks that follow each other in the data file too are read in one go.
          let next = v + 1;
          while (end < offset + length && l.map.get(next) === b + (next - v)) {
            end = Math.min(offset + length, (next + 1) * bs);
            next++;
          }
          await this.pool.readBlock(b, out, at - offset, at - v * bs, end - at);
        }
        at = end;
      }
    } finally {
      this.pool.endRead();
    }
    return out;
  }

  write(id: string, offset: number, data: Buffer): Promise<void> {
    return this.exclusive(async () => {
      const l = this.lun(id);
      checkRange(l, offset, data.length);
      if (data.length === 0) return;
      const bs = this.blockSize;
      const first = Math.floor(offset / bs);
      const last = Math.floor((offset + data.length - 1) / bs);
      let fresh = 0;
      let copies = 0;
      for (let v = first; v <= last; v++) {
        const b = l.map.get(v);
        if (b === undefined) fresh++;
        else if (this.pool.refCount(b) > 1) copies++;
      }
      if (fresh + copies > 0) this.guard(id, fresh + copies, bs, { fresh, copies });
      // Whole blocks are written in runs: blocks that follow each other in the LUN and in
      // the data file (a LUN's own blocks, or new ones, which are allocated in order) take
      // one write of the file, not one each. A run's new blocks enter the map only once
      // their data is written, so a read meanwhile sees the old content, as with one block.
      let run: { block: number; from: number; to: number; remap: Array<{ v: number; nb: number; old: number | undefined }> } | undefined;
      const writeRun = async () => {
        if (!run) return;
        const r = run;
        run = undefined;
        await this.pool.writeBlock(r.block, data.subarray(r.from - offset, r.to - offset));
        for (const m of r.remap) {
          l.map.set(m.v, m.nb);
          if (m.old !== undefined) this.pool.unref(m.old);
        }
      };
      for (let v = first; v <= last; v++) {
        const start = Math.max(offset, v * bs);
        const end = Math.min(offset + data.length, (v + 1) * bs);
        if (end - start !== bs) {
          await writeRun();
          await this.writeInBlock(l, v, start - v * bs, data.subarray(start - offset, end - offset));
          continue;
        }
        const b = l.map.get(v);
        const inPlace = b !== undefined && this.pool.refCount(b) === 1;
        const target = inPlace ? b : this.pool.allocate();
        if (!run || run.to !== start || run.block + (start - run.from) / bs !== target) {
          await writeRun();
          run = { block: target, from: start, to: start, remap: [] };
        }
        run.to = end;
        if (!inPlace) run.remap.push({ v, nb: target, old: b });
      }
      await writeRun();
      this.dirty = true;
    });
  }

  /** Afterwards the range reads as zeros; whole blocks are released. */
  unmap(id: string, offset: number, length: number): Promise<void> {
    return this.exclusive(async () => {
      const l = this.lun(id);
      checkRange(l, offset, length);
      const bs = this.blockSize;
      for (let at = offset; at < offset + length; ) {
        const v = Math.floor(at / bs);
        const end = Math.min(offset + length, (v + 1) * bs);
        const b = l.map.get(v);
        if (b !== undefined) {
          if (at === v * bs && end === (v + 1) * bs) {
            l.map.delete(v);
            this.pool.unref(b);
          } else {
            if (this.pool.refCount(b) > 1) this.guard(id, 1, bs, { fresh: 0, copies: 1 });
            await this.writeInBlock(l, v, at - v * bs, Buffer.alloc(end - at));
          }
        }
        at = end;
      }
      this.dirty = true;
    });
  }

  /** Makes every acknowledged write and map change durable. */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      if (this.dirty) await this.save();
      else await this.pool.sync();
    });
  }

  /** Bytes of the LUN's address space that are backed by blocks (shared or not). */
  mappedBytes(id: string): number {
    return this.lun(id).map.size * this.blockSize;
  }

  /** Bytes held by this LUN alone: what deleting it would free. */
  exclusiveBytes(id: string): number {
    let n = 0;
    for (const b of this.lun(id).map.values()) if (this.pool.refCount(b) === 1) n++;
    return n * this.blockSize;
  }

  /** Bytes of distinct blocks the given LUNs hold between them. */
  distinctBytes(ids: Iterable<string>): number {
    return this.bytesOnlyIn(ids, []);
  }

  /**
   * Bytes of distinct blocks `ids` hold that none of `others` holds. Blocks are marked in
   * an array indexed by block number rather than gathered in sets: the arrays ask this on
   * every write that copies a shared block, with twenty snapshots of a 1 GiB volume that is
   * some 300,000 blocks to look at each time.
   */
  bytesOnlyIn(ids: Iterable<string>, others: Iterable<string>): number {
    const THEIRS = 1;
    const COUNTED = 2;
    const mark = new Uint8Array(this.pool.extent);
    for (const id of others) for (const b of this.lun(id).map.values()) mark[b] = THEIRS;
    let n = 0;
    for (const id of ids) {
      for (const b of this.lun(id).map.values()) {
        if (mark[b] !== 0) continue;
        mark[b] = COUNTED;
        n++;
      }
    }
    return n * this.blockSize;
  }

  /** Bytes of every live block in the store. */
  allocatedBytes(): number {
    return this.pool.liveBlocks * this.blockSize;
  }

  /** The LUN as the iSCSI target sees it. */
  view(id: string, opts: { serial: string; thin: boolean; sectorSize?: number; naa?: string }): ArrayLunView {
    this.lun(id);
    const store = this;
    return {
      get size() {
        return store.size(id);
      },
      blockSize: opts.sectorSize ?? 512,
      thin: opts.thin,
      serial: opts.serial,
      ...(opts.naa ? { naa: opts.naa } : {}),
      read: (offset, length) => store.read(id, offset, length),
      write: (offset, data) => store.write(id, offset, data),
      unmap: (offset, length) => store.unmap(id, offset, length),
      flush: () => store.flush(),
    };
  }

  async close(): Promise<void> {
    await this.flush();
    await this.pool.close();
  }

  private lun(id: string): LunMap {
    const l = this.luns.get(id);
    if (!l) throw new NoSuchLunError(id);
    return l;
  }

  private async writeInBlock(l: LunMap, v: number, within: number, piece: Buffer): Promise<void> {
    const bs = this.blockSize;
    const b = l.map.get(v);
    if (b !== undefined && this.pool.refCount(b) === 1) {
      await this.pool.writeBlock(b, piece, within);
      return;
    }
    let whole = piece;
    if (piece.length !== bs) {
      whole = Buffer.alloc(bs);
      if (b !== undefined) {
        this.pool.beginRead();
        try {
          await this.pool.readBlock(b, whole, 0, 0, bs);
        } finally {
          this.pool.endRead();
        }
      }
      piece.copy(whole, within);
    }
    const nb = this.pool.allocate();
    await this.pool.writeBlock(nb, whole);
    l.map.set(v, nb);
    if (b !== undefined) this.pool.unref(b);
  }

  private async zeroTail(id: string, l: LunMap, from: number, to: number): Promise<void> {
    const bs = this.blockSize;
    const v = Math.floor(from / bs);
    if (!l.map.has(v) || to <= from) return;
    if (this.pool.refCount(l.map.get(v)!) > 1) this.guard(id, 1, bs, { fresh: 0, copies: 1 });
    await this.writeInBlock(l, v, from - v * bs, Buffer.alloc(to - from));
  }

  private async save(): Promise<void> {
    await this.pool.sync(); // blocks a saved map points at are on disk before the map is
    const saved: SavedStore = { blockSize: this.blockSize, luns: {} };
    for (const [id, l] of this.luns) {
      const flat: number[] = [];
      for (const [v, b] of l.map) flat.push(v, b);
      saved.luns[id] = { size: l.size, map: flat };
    }
    const tmp = join(this.dir, 'store.json.tmp');
    await writeFile(tmp, JSON.stringify(saved));
    await rename(tmp, join(this.dir, 'store.json'));
    this.dirty = false;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid LUN size ${size}`);
}

function checkRange(l: LunMap, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > l.size) {
    throw new RangeError(`range ${offset}+${length} outside a LUN of ${l.size} bytes`);
  }
}
