/**
 * @module
 * Recycles READ reply and WRITE payload buffers. Large `Buffer.allocUnsafe` calls each
 * get their own backing store, which at gigabytes per second means constant allocation
 * and GC of external memory; reusing power-of-two slabs once the socket has taken the
 * bytes keeps that off the hot path.
 *
 * Slabs are also page aligned, which matters as much: malloc hands out large blocks 16
 * bytes past a page boundary, and the kernel's copies between the page cache or a socket
 * and a buffer that is not cache-line aligned cost about three times as much CPU (measured
 * on tmpfs: 0.55 s/GiB of `pread` into such a buffer against 0.16 s/GiB aligned). Node
 * has no aligned allocation, but a `WebAssembly.Memory` is page aligned by construction,
 * so slabs are carved out of such memories ("arenas"). Should the runtime refuse another
 * memory, the pool falls back to ordinary buffers.
 *
 * Arenas whose slabs are all back are let go only once they have sat idle for `idleMs`, and
 * only beyond `maxRetained` idle bytes. Freeing them as soon as the idle total passed the
 * limit made a busy pool churn: several connections reading at once hold more than the
 * limit one moment and less the next, and every arena made again is fresh memory that the
 * kernel faults in page by page while a read fills it (an eighth of a 4-connection NBD
 * server's CPU went to those faults). The same holds between transfers a few seconds apart.
 */

const MIN_CLASS = 64 * 1024;
const MAX_CLASS = 32 * 1024 * 1024;
/** Classes up to this share arenas of this size; larger ones get one memory per slab. */
const ARENA_BYTES = 8 * 1024 * 1024;
const WASM_PAGE = 64 * 1024;

interface Arena {
  readonly memory: ArrayBuffer;
  readonly cls: number;
  /** Free slot indices. */
  readonly free: number[];
  /** 1 per slot currently handed out. */
  readonly out: Uint8Array;
  used: number;
  /** When the last slab came back (meaningful while `used` is 0). */
  idleSince: number;
}

/**
 * How long an idle arena beyond the retention limit is kept, in case the load comes back: a
 * burst's memory outlives the burst by about as long as a general-purpose allocator keeps
 * freed pages (jemalloc decays them over 10 s), a little longer since transfers come in
 * series (one disk after another, or copies waiting on a check between them).
 */
const IDLE_MS = 30_000;

export class BufferPool {
  /** Per class, the arenas with at least one free slot (the last is used first). */
  private readonly partial = new Map<number, Arena[]>();
  private readonly arenas = new WeakMap<ArrayBufferLike, Arena>();
  /** Every arena held, in the order made. */
  private readonly all = new Set<Arena>();
  /** Bytes of arenas with every slot free. */
  private idle = 0;
  private wasmRefused = false;
  private trimTimer: NodeJS.Timeout | undefined;
  private readonly trimNow = (): void => this.trim();

  constructor(private readonly maxRetained = 32 * 1024 * 1024, private readonly idleMs = IDLE_MS) {}

  /** Bytes of memory the pool holds, slabs handed out or not. */
  get retainedBytes(): number {
    let n = 0;
    for (const a of this.all) n += a.memory.byteLength;
    return n;
  }

  /** A buffer of exactly `len` bytes (uninitialised), page aligned when it comes from a slab. */
  get(len: number): Buffer {
    const cls = classOf(len);
    if (cls === 0) return Buffer.allocUnsafe(len);
    const list = this.partial.get(cls);
    const arena = list?.[list.length - 1] ?? this.newArena(cls);
    if (!arena) return Buffer.allocUnsafeSlow(len);
    const slot = arena.free.pop()!;
    if (arena.free.length === 0) this.removePartial(arena);
    if (arena.used++ === 0) this.idle -= arena.memory.byteLength;
    arena.out[slot] = 1;
    return Buffer.from(arena.memory, slot * cls, len);
  }

  /** Gives back a buffer from `get` (others are ignored); the caller must not touch it afterwards. */
  put(buf: Buffer): void {
    const arena = this.arenas.get(buf.buffer);
    if (!arena) return;
    const slot = buf.byteOffset / arena.cls;
    if (!Number.isInteger(slot) || arena.out[slot] !== 1) return; // not a slab start, or already back
    arena.out[slot] = 0;
    arena.free.push(slot);
    if (arena.free.length === 1) this.addPartial(arena);
    if (--arena.used > 0) return;
    arena.idleSince = performance.now();
    this.idle += arena.memory.byteLength;
    if (this.idle > this.maxRetained && !this.trimTimer) this.trimTimer = setTimeout(this.trimNow, this.idleMs).unref();
  }

  /**
   * Lets go of the arenas idle for `idleMs`, oldest first, while more than `maxRetained`
   * bytes are idle (always keeping one arena: a steady reader or writer would otherwise make
   * and free a memory per request); looks again later while some are too young to go.
   */
  private trim(): void {
    this.trimTimer = undefined;
    const now = performance.now();
    let young = false;
    for (const arena of this.all) {
      if (this.idle <= this.maxRetained) break;
      if (arena.used > 0) continue;
      if (now - arena.idleSince < this.idleMs) {
        young = true;
        continue;
      }
      if (this.idle <= arena.memory.byteLength) continue;
      this.removePartial(arena);
      this.arenas.delete(arena.memory);
      this.all.delete(arena);
      this.idle -= arena.memory.byteLength;
      this.wasmRefused = false; // room again for a new memory
    }
    if (young && this.idle > this.maxRetained) this.trimTimer = setTimeout(this.trimNow, this.idleMs).unref();
  }

  private newArena(cls: number): Arena | undefined {
    if (this.wasmRefused) return undefined;
    const bytes = Math.max(cls, ARENA_BYTES);
    let memory: ArrayBuffer;
    try {
      memory = new WebAssembly.Memory({ initial: bytes / WASM_PAGE, maximum: bytes / WASM_PAGE }).buffer;
    } catch {
      // Address space for wasm memories is finite; ordinary buffers still work, only slower.
      this.wasmRefused = true;
      return undefined;
    }
    const slots = bytes / cls;
    const arena: Arena = { memory, cls, free: [], out: new Uint8Array(slots), used: 0, idleSince: performance.now() };
    for (let i = slots - 1; i >= 0; i--) arena.free.push(i);
    this.arenas.set(memory, arena);
    this.all.add(arena);
    this.idle += bytes;
    this.addPartial(arena);
    return arena;
  }

  private addPartial(arena: Arena): void {
    let list = this.partial.get(arena.cls);
    if (!list) this.partial.set(arena.cls, (list = []));
    list.push(arena);
  }

  private removePartial(arena: Arena): void {
    const list = this.partial.get(arena.cls);
    const i = list?.indexOf(arena) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }
}

function classOf(len: number): number {
  if (len > MAX_CLASS) return 0;
  let c = MIN_CLASS;
  while (c < len) c *= 2;
  return c;
}
