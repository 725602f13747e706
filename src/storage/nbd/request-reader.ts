/**
 * @module
 * Parses transmission-phase requests out of the byte stream as it arrives. On a steered
 * socket it picks where each read lands: a large WRITE payload is read straight into the
 * buffer handed to the device, and after such a write only the next 28-byte header is
 * asked for, so that the following payload can again land in place. Everything else goes
 * through a reused staging buffer, whose unconsumed tail is copied out before reuse.
 *
 * The consumer decides when to stop taking requests (`admit`), which pauses the socket:
 * the client then waits in its own TCP window instead of in our memory.
 */
import { BufferPool } from './buffer-pool.js';
import { Cmd, MAX_PAYLOAD, REQUEST_MAGIC, REQUEST_SIZE } from './protocol.js';
import type { Cookie } from './reply-writer.js';
import type { InputSink, SocketInput } from './socket-input.js';

export interface Request extends Cookie {
  flags: number;
  type: number;
  offset: number;
  len: number;
}

export interface RequestHandler {
  /** May another request be taken now? When not, reading pauses until `resume()`. */
  admit(): boolean;
  /** A WRITE header was read; its `len` payload bytes are about to be held. */
  reserve(bytes: number): void;
  /** A complete request; `payload` (from `pool`) for WRITE. */
  request(r: Request, payload: Buffer | undefined): void;
  /** A WRITE longer than the protocol allows: its payload is being discarded. */
  oversized(r: Request): void;
  /** NBD_CMD_DISC, or garbage where a request header should be (`violation`). */
  end(violation: boolean): void;
  /** All bytes of one delivery are processed (a good moment to flush batches). */
  drained(): void;
}

/** Payloads at least this big are read in place when possible. */
const DIRECT_MIN = 64 * 1024;
const TWO32 = 0x100000000;

export class RequestReader implements InputSink {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: Request | undefined;
  private payload: Buffer | undefined;
  private got = 0;
  private skip = 0;
  private stopped = false;
  private paused = false;
  /** The last request was a large WRITE: read just the next header. */
  private headerOnly = false;
  /** The payload slice the next read was steered into. */
  private direct: Buffer | undefined;

  constructor(
    private readonly input: SocketInput,
    leftover: Buffer,
    private readonly handler: RequestHandler,
    readonly pool: BufferPool,
  ) {
    if (leftover.length) this.push(leftover);
  }

  start(): void {
    this.input.attach(this);
    this.pump();
    this.handler.drained();
  }

  /** No more requests will be read. */
  stop(): void {
    this.stopped = true;
    this.input.pause(); // a paused socket reads no more, so nothing lands in `direct` now
    if (this.payload) {
      // A WRITE whose payload never fully arrived: its slab goes back to the pool.
      this.pool.put(this.payload);
      this.payload = this.pending = this.direct = undefined;
    }
  }

  /** Called by the handler once `admit()` may have turned true again. */
  resume(): void {
    if (!this.paused || this.stopped || !this.handler.admit()) return;
    this.paused = false;
    this.input.resume();
    this.pump();
    this.handler.drained();
  }

  nextBuffer(): Buffer {
    if (this.payload && this.buffered === 0 && this.got < this.payload.length) {
      this.direct = this.payload.subarray(this.got);
      return this.direct;
    }
    this.direct = undefined;
    const staging = this.input.stagingBuffer;
    return this.headerOnly && this.buffered === 0 ? staging.subarray(0, REQUEST_SIZE) : staging;
  }

  onData(buf: Buffer, n: number, reused: boolean): void {
    if (buf === this.direct) {
      this.got += n; // landed in place
      this.direct = undefined;
    } else {
      this.push(buf.subarray(0, n));
    }
    this.pump();
    if (reused) {
      // The staging buffer is about to be overwritten: keep our own copy of the rest.
      const staging = this.input.stagingBuffer.buffer;
      this.chunks = this.chunks.map((c) => (c.buffer === staging ? Buffer.from(c) : c));
    }
    this.handler.drained();
  }

  private push(c: Buffer): void {
    this.chunks.push(c);
    this.buffered += c.length;
  }

  private pump(): void {
    while (!this.stopped) {
      if (this.skip > 0) {
        this.skip -= this.consume(this.skip, undefined);
        if (this.skip > 0) return;
        continue;
      }
      if (this.pending) {
        const r = this.pending;
        this.got += this.consume(r.len - this.got, this.payload!.subarray(this.got));
        if (this.got < r.len) return;
        const data = this.payload!;
        this.pending = this.payload = undefined;
        this.headerOnly = r.len >= DIRECT_MIN && this.input.steered;
        this.handler.request(r, data);
        continue;
      }
      if (!this.handler.admit()) {
        this.paused = true;
        this.input.pause();
        return;
      }
      if (this.buffered < REQUEST_SIZE) return;
      const h = this.take(REQUEST_SIZE);
      if (h.readUInt32BE(0) !== REQUEST_MAGIC) {
        this.stopped = true;
        this.handler.end(true);
        return;
      }
      const hi = h.readUInt32BE(16);
      const r: Request = {
        flags: h.readUInt16BE(4),
        type: h.readUInt16BE(6),
        hi: h.readUInt32BE(8),
        lo: h.readUInt32BE(12),
        offset: hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * TWO32 + h.readUInt32BE(20),
        len: h.readUInt32BE(24),
      };
      if (r.type === Cmd.DISC) {
        this.stopped = true;
        this.handler.end(false);
        return;
      }
      if (r.type !== Cmd.WRITE) {
        this.headerOnly = false;
        this.handler.request(r, undefined);
        continue;
      }
      if (r.len > MAX_PAYLOAD) {
        this.skip = r.len;
        this.handler.oversized(r);
        continue;
      }
      this.handler.reserve(r.len);
      this.pending = r;
      this.got = 0;
      const first = this.chunks[0];
      if (!this.input.steered && first && first.length >= r.len) {
        // A plain socket's chunk is ours to keep: a payload inside it needs no copy.
        this.payload = this.take(r.len);
        this.got = r.len;
      } else {
        this.payload = r.len ? this.pool.get(r.len) : Buffer.alloc(0);
      }
    }
  }

  /** Takes up to `n` queued bytes, copying them into `into` when given; returns the count. */
  private consume(n: number, into: Buffer | undefined): number {
    let done = 0;
    while (done < n && this.chunks.length) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - done);
      if (into) c.copy(into, done, 0, k);
      done += k;
      this.drop(k);
    }
    return done;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.drop(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.consume(n, out);
    return out;
  }

  private drop(k: number): void {
    const c = this.chunks[0]!;
    if (k === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(k);
    this.buffered -= k;
  }
}
