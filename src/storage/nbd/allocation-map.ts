/**
 * @module
 * What the raw-file adapter knows about which parts of its file read as zeroes, one state
 * per fixed-size chunk. Node has no `lseek(SEEK_DATA/SEEK_HOLE)` nor FIEMAP, so the real
 * allocation of the host file cannot be asked for: a chunk starts `Unknown` (or `Zero`
 * for a file with no blocks allocated at all), becomes `Data` when written, `Zero` when
 * zeroed whole or when a read finds it all zeroes. Block status reports `Zero` chunks as
 * holes: "needs no storage", which is what clients act on, rather than what the host
 * filesystem did.
 *
 * Transitions are made safe against concurrent I/O: a write marks its chunks `Data`
 * before it starts (so a classification finishing later never overrides it), and a
 * write-zeroes only marks chunks `Zero` that no data write touched while it ran.
 */
import type { Extent } from '../../core/ports/block-device.js';

export const ChunkState = { Unknown: 0, Data: 1, Zero: 2 } as const;
export type ChunkState = (typeof ChunkState)[keyof typeof ChunkState];

interface Span {
  start: number;
  end: number;
}
interface ZeroingSpan extends Span {
  touched: Span[];
}

export class AllocationMap {
  private readonly states: Uint8Array;
  private readonly writing = new Set<Span>();
  private readonly zeroing = new Set<ZeroingSpan>();

  constructor(readonly size: number, readonly granularity: number, initial: ChunkState) {
    this.states = new Uint8Array(Math.ceil(size / granularity)).fill(initial);
  }

  get chunks(): number {
    return this.states.length;
  }

  state(i: number): ChunkState {
    return this.states[i] as ChunkState;
  }

  /** Chunk index range `[first, last]` overlapping `[offset, offset+length)`. */
  span(offset: number, length: number): [number, number] {
    return [Math.floor(offset / this.granularity), Math.floor((offset + length - 1) / this.granularity)];
  }

  chunkStart(i: number): number {
    return i * this.granularity;
  }

  chunkEnd(i: number): number {
    return Math.min((i + 1) * this.granularity, this.size);
  }

  /** Call before writing data; call the returned function once the write finished. */
  beginWrite(offset: number, length: number): () => void {
    const span: Span = { start: offset, end: offset + length };
    this.writing.add(span);
    for (const z of this.zeroing) if (overlaps(z, span)) z.touched.push(span);
    const [a, b] = this.span(offset, length);
    this.states.fill(ChunkState.Data, a, b + 1);
    return () => this.writing.delete(span);
  }

  /** Call before zeroing; call the result with whether it succeeded, to mark chunks zeroed whole and untouched. */
  beginZero(offset: number, length: number): (ok: boolean) => void {
    const z: ZeroingSpan = { start: offset, end: offset + length, touched: [] };
    for (const w of this.writing) if (overlaps(z, w)) z.touched.push(w);
    this.zeroing.add(z);
    return (ok) => {
      this.zeroing.delete(z);
      if (!ok) return;
      const [a, b] = this.span(offset, length);
      for (let i = a; i <= b; i++) {
        const c: Span = { start: this.chunkStart(i), end: this.chunkEnd(i) };
        if (c.start < z.start || c.end > z.end) continue;
        if (z.touched.some((t) => overlaps(t, c))) continue;
        this.states[i] = ChunkState.Zero;
      }
    };
  }

  /** Records what reading chunk `i` showed, unless something changed it meanwhile. */
  classify(i: number, zero: boolean): void {
    if (this.states[i] === ChunkState.Unknown) this.states[i] = zero ? ChunkState.Zero : ChunkState.Data;
  }

  /** Extents covering exactly the range; `Unknown` chunks count as data. */
  extents(offset: number, length: number): Extent[] {
    const out: Extent[] = [];
    const end = offset + length;
    const [a, b] = this.span(offset, length);
    for (let i = a; i <= b; i++) {
      const zero = this.states[i] === ChunkState.Zero;
      const s = Math.max(offset, this.chunkStart(i));
      const e = Math.min(end, this.chunkEnd(i));
      const last = out[out.length - 1];
      if (last && last.zero === zero) last.length += e - s;
      else out.push({ offset: s, length: e - s, hole: zero, zero });
    }
    return out;
  }
}

function overlaps(a: Span, b: Span): boolean {
  return a.start < b.end && b.start < a.end;
}
