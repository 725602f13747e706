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
 * so slabs are carved out of such memories ("arenas"). An arena whose slabs are all back
 * is freed once more than `maxRetained` bytes sit idle; should the runtime refuse another
 * memory, the pool falls back to ordinary buffers.
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
}

export class BufferPool {
  /** Per class, the arenas with at least one free slot (the last is used first). */
  private readonly partial = new Map<number, Arena[]>();
  private readonly arenas = new WeakMap<ArrayBufferLike, Arena>();
  /** Bytes of arenas with every slot free. */
  private idle = 0;
  private wasmRefused = false;

  constructor(private readonly maxRetained = 32 * 1024 * 1024) {}

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
    this.idle += arena.memory.byteLength;
    // Keeps at least this arena when the limit is smaller than one: a steady reader or
    // writer would otherwise make and free a memory per request.
    if (this.idle > Math.max(this.maxRetained, arena.memory.byteLength)) {
      this.removePartial(arena);
      this.arenas.delete(arena.memory);
      this.idle -= arena.memory.byteLength;
      this.wasmRefused = false; // room again for a new memory
    }
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
    const arena: Arena = { memory, cls, free: [], out: new Uint8Array(slots), used: 0 };
    for (let i = slots - 1; i >= 0; i--) arena.free.push(i);
    this.arenas.set(memory, arena);
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
