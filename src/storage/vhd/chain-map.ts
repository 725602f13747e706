/**
 * @module
 * Which layer of a chain holds each sector. The leaf's own bitmaps are asked on every call
 * (it is the layer being written); what the parents hold is resolved once per leaf block and
 * kept, because parents do not change under an open chain: they are read-only to it, and a
 * coalesce into a parent only writes sectors that the node above still shadows. A read of a
 * ten-deep chain thus costs a bitmap lookup plus a cached lookup, as a flat disk nearly does,
 * instead of a walk through every layer's bitmaps.
 */
import { LruMap } from './lru-map.js';
import type { SectorRun } from './sector-map.js';
import type { VhdFile } from './vhd-file.js';

export interface Piece {
  sector: number;
  count: number;
  /** Index of the layer holding these sectors (0 is the leaf), or -1 when none does (zeros). */
  layer: number;
  /** Where the sectors are in that layer's file (meaningless for -1). */
  fileOffset: number;
}

/** Pieces cached across blocks: a few tens of MB even when every block is shredded. */
const MAX_CACHED_PIECES = 1 << 19;
/** Leaf blocks whose parents are resolved together (64 MiB with 2 MiB blocks). */
const WINDOW_BLOCKS = 32;

/** Appends, merging with the previous piece when it continues it in the same file. */
function add(out: Piece[], p: Piece): void {
  const last = out[out.length - 1];
  if (last && last.layer === p.layer && last.sector + last.count === p.sector &&
      (p.layer < 0 || last.fileOffset + last.count * 512 === p.fileOffset)) {
    last.count += p.count;
    return;
  }
  out.push(p);
}

export class ChainMap {
  private readonly parents = new LruMap<number, Piece[]>(MAX_CACHED_PIECES, (v) => v.length);
  /** Block → the resolution under way of the window holding it (whose answer maps every block of it). */
  private readonly loading = new Map<number, Promise<Map<number, Piece[]>>>();
  /** Sectors per leaf block: the unit the parents' answers are cached in. */
  private readonly spb: number;
  private readonly sizeSectors: number;
  /** Leaf blocks of the disk. */
  private readonly blocks: number;
  /** The window the last read ended in (-1 before the first, so a reader starting at 0 reads ahead). */
  private lastWindow = -1;
  /** Windows whose resolution was started, read-ahead included (for tests). */
  windowsResolved = 0;

  constructor(private readonly layers: readonly VhdFile[]) {
    this.spb = layers[0]!.blockSize / 512;
    this.sizeSectors = layers[0]!.size / 512;
    this.blocks = Math.ceil(this.sizeSectors / this.spb);
  }

  /** Pieces covering exactly `[sector, sector+count)`, in order; synchronous when all is cached. */
  pieces(sector: number, count: number): Piece[] | Promise<Piece[]> {
    const runs = this.layers[0]!.sectorRuns(sector, count);
    const out = runs instanceof Promise ? runs.then((r) => this.fill(r, undefined)) : this.fill(runs, undefined);
    if (count > 0 && this.layers.length > 1) this.readAhead(Math.floor((sector + count - 1) / this.spb / WINDOW_BLOCKS));
    return out;
  }

  /**
   * A reader that has moved on to the window after the one it read last is reading in order:
   * the window after this one is resolved now, in the background, so that its bitmap reads
   * overlap this window's data reads instead of stalling every reader at its first block.
   * A reader jumping about pays for no window it does not read.
   */
  private readAhead(w: number): void {
    if (w === this.lastWindow) return;
    if (w === this.lastWindow + 1) this.loadWindow(w + 1, -1);
    this.lastWindow = w;
  }

  private fill(runs: SectorRun[], loaded: Map<number, Piece[]> | undefined): Piece[] | Promise<Piece[]> {
    const out: Piece[] = [];
    let missing: number[] | undefined;
    for (const r of runs) {
      if (r.fileOffset !== null) {
        add(out, { sector: r.sector, count: r.count, layer: 0, fileOffset: r.fileOffset });
        continue;
      }
      if (this.layers.length === 1) {
        add(out, { sector: r.sector, count: r.count, layer: -1, fileOffset: 0 });
        continue;
      }
      const end = r.sector + r.count;
      for (let s = r.sector; s < end; ) {
        const b = Math.floor(s / this.spb);
        const n = Math.min((b + 1) * this.spb, end) - s;
        const map = loaded?.get(b) ?? this.parents.get(b);
        if (map) clip(map, s, n, out);
        else (missing ??= []).push(b);
        s += n;
      }
    }
    if (!missing) return out;
    const blocks = [...new Set(missing)];
    return Promise.all(blocks.map((b) => this.parentMap(b))).then((maps) => {
      const got = new Map(loaded);
      blocks.forEach((b, i) => got.set(b, maps[i]!));
      return this.fill(runs, got);
    });
  }

  /**
   * Where the parents hold each sector of leaf block `b`. Resolved for a window of blocks at
   * once, with all the layers' bitmaps for it loaded in parallel first: a sequential reader
   * pays one round of bitmap reads per window, not one per layer per block.
   */
  private parentMap(b: number): Promise<Piece[]> {
    let pending = this.loading.get(b);
    if (!pending) {
      this.loadWindow(Math.floor(b / WINDOW_BLOCKS), b);
      pending = this.loading.get(b)!;
    }
    return pending.then((maps) => maps.get(b)!);
  }

  /** Starts resolving the blocks of window `w` not cached or loading (`b` always). */
  private loadWindow(w: number, b: number): void {
    const w0 = w * WINDOW_BLOCKS;
    const w1 = Math.min(w0 + WINDOW_BLOCKS, this.blocks);
    const blocks: number[] = [];
    for (let x = w0; x < w1; x++) if (x === b || (!this.loading.has(x) && !this.parents.peek(x))) blocks.push(x);
    if (blocks.length === 0) return;
    this.windowsResolved++;
    // One promise for the window, not one per block: a just-opened disk resolves hundreds.
    const all = this.resolveParents(blocks);
    for (const x of blocks) this.loading.set(x, all);
    all.then(
      (maps) => {
        for (const x of blocks) {
          this.parents.set(x, maps.get(x)!);
          if (this.loading.get(x) === all) this.loading.delete(x);
        }
      },
      () => {
        for (const x of blocks) if (this.loading.get(x) === all) this.loading.delete(x);
      },
    );
  }

  private async resolveParents(blocks: number[]): Promise<Map<number, Piece[]>> {
    let gaps: { sector: number; count: number }[] = [];
    for (const b of blocks) {
      const g = { sector: b * this.spb, count: Math.min(this.spb, this.sizeSectors - b * this.spb) };
      const last = gaps[gaps.length - 1];
      if (last && last.sector + last.count === g.sector) last.count += g.count;
      else gaps.push(g);
    }
    // Every layer's bitmaps for the window at once (one round of reads, not one per layer);
    // the few a layer above turns out to shadow are a cheap price. The leaf's are loaded too
    // (cached by the leaf file), so the reads of the window's other blocks find them in memory.
    // Only loaded here, not mapped: each layer is mapped below, over what the layers above left.
    const loads: Promise<unknown>[] = [];
    for (const l of this.layers) {
      for (const g of gaps) {
        const p = l.loadBitmaps(g.sector, g.count);
        if (p) loads.push(p);
      }
    }
    if (loads.length > 0) await Promise.all(loads);
    const found: Piece[] = [];
    for (let i = 1; i < this.layers.length && gaps.length > 0; i++) {
      const layer = this.layers[i]!;
      const mapped = gaps.map((g) => layer.sectorRuns(g.sector, g.count));
      const runs = mapped.some((r) => r instanceof Promise) ? await Promise.all(mapped) : (mapped as SectorRun[][]);
      const next: typeof gaps = [];
      for (const r of runs.flat()) {
        if (r.fileOffset !== null) {
          found.push({ sector: r.sector, count: r.count, layer: i, fileOffset: r.fileOffset });
          continue;
        }
        const last = next[next.length - 1];
        if (last && last.sector + last.count === r.sector) last.count += r.count;
        else next.push({ sector: r.sector, count: r.count });
      }
      gaps = next;
    }
    for (const g of gaps) found.push({ sector: g.sector, count: g.count, layer: -1, fileOffset: 0 });
    found.sort((x, y) => x.sector - y.sector);
    const maps = new Map<number, Piece[]>(blocks.map((b) => [b, []]));
    for (const b of blocks) clip(found, b * this.spb, Math.min(this.spb, this.sizeSectors - b * this.spb), maps.get(b)!);
    return maps;
  }
}

/** Appends the part of `map` (sorted, gapless) inside `[s, s+n)`. */
function clip(map: Piece[], s: number, n: number, out: Piece[]): void {
  let lo = 0;
  let hi = map.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid]!.sector + map[mid]!.count <= s) lo = mid + 1;
    else hi = mid;
  }
  const end = s + n;
  for (let i = lo; i < map.length && map[i]!.sector < end; i++) {
    const p = map[i]!;
    const a = Math.max(p.sector, s);
    const z = Math.min(p.sector + p.count, end);
    if (z > a) add(out, { sector: a, count: z - a, layer: p.layer, fileOffset: p.layer < 0 ? 0 : p.fileOffset + (a - p.sector) * 512 });
  }
}
