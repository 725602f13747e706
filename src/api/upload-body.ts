/**
 * @module
 * The body of an upload (disk and VM imports, update uploads, database restores) read in
 * large pieces. Node's HTTP server hands a body over as one fresh buffer per TLS record
 * (16 KiB) or socket read (64 KiB), each through the parser, a stream push and an
 * iterator step; for a disk-sized body those allocations drive the garbage collector
 * through dozens of full collections per gigabyte. Here, once the request head is parsed,
 * the connection is taken from the parser (see `upload-socket.ts`) and its reads land in
 * the reader's own buffers: straight into the caller's buffer while a `readInto` waits,
 * else into a reused staging buffer. A chunked body stays with the parser (only it knows
 * where the framing is once it has started on the body) and is gathered from its events.
 *
 * The contract, whichever way the bytes come: `readInto(target)` fills `target` and
 * resolves with the bytes placed, fewer only at the end of the body; `read()` resolves
 * with the next piece (at most `pieceSize` bytes) in a buffer the next `read()` reuses, or
 * null at the end. A connection that ends before the declared length is an
 * {@link UploadCutShort}, more bytes than `maxBytes` an {@link UploadTooLarge}; a client
 * that stops sending is cut by the listener's body timeout, which this reader keeps
 * informed (the request reads as paused only while the reader itself holds back); a
 * cancelled transfer (`signal`) stops reading at once.
 * A connection whose body was read here is closed after its answer.
 */
import type { IncomingMessage } from 'node:http';
import { takeConnection, type TakenInput } from './upload-socket.js';

export interface UploadBody {
  /** The length the client declared; undefined when chunked or open-ended. */
  readonly declared: number | undefined;
  /** Body bytes handed out so far. */
  readonly received: number;
  /** The body ended with the connection, before any declared length (open-ended uploads). */
  readonly endedByClose: boolean;
  /** Reads land in the reader's buffers (the connection was taken from the parser). */
  readonly steered: boolean;
  /** Fills `target`; resolves with the bytes placed, fewer than its length only at the end. */
  readInto(target: Buffer): Promise<number>;
  /** The next piece, in a buffer the next call reuses; null at the end. */
  read(): Promise<Buffer | null>;
  /** Pieces as by `read()`: each is valid until the next step. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer>;
  /** Stops reading; the connection is closed after the answer. */
  abandon(): void;
}

export interface UploadBodyOptions {
  /** More body than this fails with UploadTooLarge. */
  readonly maxBytes?: number;
  /**
   * A declared length from this on means "unknown" (Xen Orchestra claims 1 PiB when it
   * does not know): the body ends when the client closes the connection.
   */
  readonly openEndedFrom?: number;
  /** Size of the pieces `read()` returns (default 1 MiB). */
  readonly pieceSize?: number;
  /**
   * The work's cancellation (its task's signal): once aborted, a read waiting for the
   * client fails at once with the signal's reason, and no more is read, so that a cancel
   * does not wait for a slow client's next bytes.
   */
  readonly signal?: AbortSignal;
}

/** The connection ended before the body did. */
export class UploadCutShort extends Error {
  constructor(readonly received: number, readonly declared: number | undefined) {
    super(`the connection closed after ${received}${declared !== undefined ? ` of ${declared}` : ''} bytes of the body`);
    this.name = 'UploadCutShort';
  }
}

/** The body is larger than the handler accepts. */
export class UploadTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than the ${limit}-byte limit`);
    this.name = 'UploadTooLarge';
  }
}

const MiB = 1024 * 1024;
const STAGING = 1 * MiB;
/** Where a read lands when nothing else may (the input is being paused). */
const OVERFLOW = 64 * 1024;

interface Waiting {
  target: Buffer;
  filled: number;
  resolve: (n: number) => void;
  reject: (e: Error) => void;
}

/** The declared length, when there is one that means a length. */
function declaredOf(req: IncomingMessage, openEndedFrom: number): number | undefined {
  if (req.headers['transfer-encoding'] !== undefined) return undefined;
  const n = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(n) || n < 0 || n >= openEndedFrom) return undefined;
  return n;
}

const opened = new WeakMap<IncomingMessage, UploadBody>();

/** The request's body reader (one per request). */
export function openUploadBody(req: IncomingMessage, o: UploadBodyOptions = {}): UploadBody {
  const body = new BodyReader(req, o);
  opened.set(req, body);
  return body;
}

/**
 * After a failure, reads and drops the rest of the body (through its reader if one was
 * opened), so that the client, still sending, gets to read the answer.
 */
export function discardBody(req: IncomingMessage): void {
  const body = opened.get(req);
  if (body) body.abandon();
  else req.resume();
}

class BodyReader implements UploadBody {
  readonly declared: number | undefined;
  received = 0;
  endedByClose = false;
  /** Bytes taken in (handed out or staged). */
  #arrived = 0;
  readonly #max: number;
  readonly #openEnded: boolean;
  /** Where reads land while no `readInto` waits: no larger than a declared body. */
  readonly #staging: Buffer;
  #stagedStart = 0;
  #stagedEnd = 0;
  /**
   * Bytes are handed out in arrival order from three places: `#early` (what the parser had
   * taken of the body before the connection was taken from it, so older than any read),
   * the staging buffer, then `#late` (copies of reads that landed in `#overflow` while the
   * staging buffer was full; while any wait there, reads do not go to staging).
   */
  #early: Buffer[] = [];
  #late: Buffer[] = [];
  readonly #overflow = Buffer.allocUnsafeSlow(OVERFLOW);
  /** Reads land in buffers handed to the socket (then fresh chunks go to `#early`). */
  #steering = false;
  #waiting: Waiting | undefined;
  #ended = false;
  #failure: Error | undefined;
  #input!: TakenInput;
  #piece: Buffer | undefined;
  readonly #pieceSize: number;

  constructor(req: IncomingMessage, o: UploadBodyOptions) {
    const openEndedFrom = o.openEndedFrom ?? Number.MAX_SAFE_INTEGER;
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const length = Number(req.headers['content-length'] ?? (chunked ? NaN : 0));
    this.#openEnded = !chunked && Number.isFinite(length) && length >= openEndedFrom;
    this.declared = declaredOf(req, openEndedFrom);
    this.#staging = Buffer.allocUnsafeSlow(this.declared !== undefined ? Math.min(STAGING, Math.max(1, this.declared)) : STAGING);
    this.#max = o.maxBytes ?? Number.MAX_SAFE_INTEGER;
    this.#pieceSize = o.pieceSize ?? MiB;
    this.#ended = this.declared === 0;
    this.#input = takeConnection(req, {
      // With a known length the connection may be taken from the parser; a chunked body
      // (framing) or none (nothing to read) stays with it.
      steer: !chunked && !req.complete,
      nextBuffer: () => this.#nextBuffer(),
      landed: (buf, n) => this.#landed(buf, n),
      chunk: (c) => this.#chunk(c),
      end: (byClose) => this.#end(byClose),
      dropped: (n) => this.#dropped(n),
    });
    this.#settle();
    const signal = o.signal;
    if (signal) {
      const cancel = () => this.#fail(signal.reason instanceof Error ? signal.reason : new Error('the transfer was cancelled'));
      // Held only as long as the signal: a finished task's controller is dropped, and it with it.
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, { once: true });
    }
  }

  /** Nothing is waiting to be handed out. */
  #empty(): boolean {
    return this.#early.length === 0 && this.#stagedStart === this.#stagedEnd && this.#late.length === 0;
  }

  /** Where the next socket read should land. */
  #nextBuffer(): Buffer {
    this.#steering = true;
    const w = this.#waiting;
    const left = this.#left();
    if (w && this.#empty() && left > 0) {
      return w.target.subarray(w.filled, w.filled + Math.min(w.target.length - w.filled, left));
    }
    if (this.#stagedStart === this.#stagedEnd) this.#stagedStart = this.#stagedEnd = 0;
    if (this.#late.length === 0 && this.#stagedEnd < this.#staging.length) {
      return this.#staging.subarray(this.#stagedEnd, this.#stagedEnd + Math.min(this.#staging.length - this.#stagedEnd, Math.max(left, 1)));
    }
    return this.#overflow;
  }

  /** Body bytes still to come (as far as the declared length says). */
  #left(): number {
    return this.declared !== undefined ? this.declared - this.#arrived : Number.MAX_SAFE_INTEGER;
  }

  /** A read landed in `buf` (the buffer `#nextBuffer` last gave). */
  #landed(buf: Buffer, n: number): boolean {
    if (this.#ended || this.#failure) return false;
    n = Math.min(n, this.#left());
    if (!this.#count(n)) return false;
    const w = this.#waiting;
    if (w && buf.buffer === w.target.buffer && buf.byteOffset === w.target.byteOffset + w.filled) {
      w.filled += n;
      this.received += n;
    } else if (buf.buffer === this.#staging.buffer && buf.byteOffset === this.#staging.byteOffset + this.#stagedEnd) {
      this.#stagedEnd += n;
    } else {
      this.#late.push(Buffer.from(buf.subarray(0, n)));
    }
    if (this.declared !== undefined && this.#arrived >= this.declared) this.#ended = true;
    this.#settle();
    return this.#wantMore();
  }

  /** A fresh chunk: the request's body events, or what the parser had taken before steering. */
  #chunk(c: Buffer): boolean {
    if (this.#ended || this.#failure) return false;
    const n = Math.min(c.length, this.#left());
    if (!this.#count(n)) return false;
    if (this.#steering) {
      // The socket's buffer may be a staging or target region: keep off them.
      this.#early.push(Buffer.from(c.subarray(0, n)));
    } else {
      let at = 0;
      const w = this.#waiting;
      if (w && this.#empty()) {
        at = c.copy(w.target, w.filled, 0, n);
        w.filled += at;
        this.received += at;
      }
      if (at < n && this.#late.length === 0) {
        if (this.#stagedStart === this.#stagedEnd) this.#stagedStart = this.#stagedEnd = 0;
        const k = c.copy(this.#staging, this.#stagedEnd, at, n);
        this.#stagedEnd += k;
        at += k;
      }
      if (at < n) this.#late.push(Buffer.from(c.subarray(at, n)));
    }
    if (this.declared !== undefined && this.#arrived >= this.declared) this.#ended = true;
    this.#settle();
    return this.#wantMore();
  }

  /** Bytes read and dropped after the reader gave up: counted, so the request ends with its body. */
  #dropped(n: number): boolean {
    this.#arrived += Math.min(n, this.#left());
    return this.#left() > 0;
  }

  #count(n: number): boolean {
    this.#arrived += n;
    if (this.#arrived > this.#max) {
      this.#fail(new UploadTooLarge(this.#max));
      return false;
    }
    return true;
  }

  /** More input is welcome: somebody waits, or the staging buffer has room. */
  #wantMore(): boolean {
    if (this.#ended || this.#failure) return false;
    return this.#waiting !== undefined || (this.#late.length === 0 && this.#stagedEnd < this.#staging.length);
  }

  #end(byClose: boolean): void {
    if (this.#ended || this.#failure) return;
    if (this.declared !== undefined || (!this.#openEnded && byClose)) {
      this.#fail(new UploadCutShort(this.#arrived, this.declared));
      return;
    }
    this.endedByClose = byClose;
    this.#ended = true;
    this.#settle();
  }

  #fail(e: Error): void {
    if (this.#failure || this.#ended) return;
    this.#failure = e;
    this.#input?.stop();
    this.#settle();
  }

  /** Moves staged bytes to whoever waits; settles the wait when full or at the end. */
  #settle(): void {
    const w = this.#waiting;
    if (!w) {
      // (The input is not set yet while the constructor drains what the parser had taken.)
      if (this.#ended) this.#input?.finish();
      return;
    }
    const take = (list: Buffer[]) => {
      while (w.filled < w.target.length && list.length) {
        const b = list[0]!;
        const k = b.copy(w.target, w.filled);
        w.filled += k;
        this.received += k;
        if (k === b.length) list.shift();
        else list[0] = b.subarray(k);
      }
    };
    take(this.#early);
    if (w.filled < w.target.length && this.#stagedStart < this.#stagedEnd) {
      const k = this.#staging.copy(w.target, w.filled, this.#stagedStart, this.#stagedEnd);
      w.filled += k;
      this.received += k;
      this.#stagedStart += k;
    }
    if (this.#stagedStart === this.#stagedEnd) take(this.#late);
    const drained = this.#empty();
    if (w.filled === w.target.length || (this.#ended && drained)) {
      this.#waiting = undefined;
      if (this.#ended && drained) this.#input?.finish();
      w.resolve(w.filled);
    } else if (this.#failure) {
      this.#waiting = undefined;
      w.reject(this.#failure);
    }
  }

  readInto(target: Buffer): Promise<number> {
    if (this.#waiting) return Promise.reject(new Error('readInto while another read is waiting'));
    if (target.length === 0) return Promise.resolve(0);
    return new Promise<number>((resolve, reject) => {
      this.#waiting = { target, filled: 0, resolve, reject };
      this.#settle();
      if (this.#waiting) {
        if (this.#failure) this.#settle();
        else this.#input.resume();
      }
    }).finally(() => { if (!this.#failure && !this.#ended && !this.#wantMore()) this.#input.pause(); });
  }

  async read(): Promise<Buffer | null> {
    this.#piece ??= Buffer.allocUnsafeSlow(this.#pieceSize);
    const n = await this.readInto(this.#piece);
    return n === 0 ? null : this.#piece.subarray(0, n);
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: async () => {
        const b = await this.read();
        return b ? { done: false, value: b } : { done: true, value: undefined };
      },
      return: async () => {
        this.abandon();
        return { done: true, value: undefined };
      },
    };
  }

  abandon(): void {
    if (!this.#ended && !this.#failure) this.#input.stop();
  }

  get steered(): boolean {
    return this.#input.steered;
  }
}
