/**
 * @module
 * Sequential reading of a byte stream that arrives as buffers of any size (an HTTP body: 16
 * KiB pieces over TLS, or larger ones from a gathering reader): exact-length reads into the
 * caller's buffer, skips, and the position so far. It keeps the last 512 bytes consumed,
 * because a VHD's footer is the stream's last sector and only the end of the stream says
 * where that is; and, while asked to, a copy of everything consumed, so a stream that turns
 * out not to be streamable can be handed on whole (`rest`). A source that can also fill a
 * buffer itself (`readInto`, as the upload body reader does) gets long reads straight into
 * the caller's buffer, with no copy from pieces.
 */

const TAIL = 512;
/** Reads at least this long go to the source's own `readInto`, when it has one. */
const DIRECT = 64 * 1024;

/** A stream of buffers, which may also fill a buffer given to it (fewer bytes only at its end). */
export type ByteSource = AsyncIterable<Buffer> & { readInto?(target: Buffer): Promise<number> };

export class ByteReader {
  private readonly source: AsyncIterator<Buffer>;
  private readonly direct: ((target: Buffer) => Promise<number>) | undefined;
  private chunk: Buffer = Buffer.alloc(0);
  private at = 0;
  private ended = false;
  private readonly tailBuf = Buffer.alloc(TAIL);
  private tailFill = 0;
  private recording: Buffer[] | null = null;
  private recorded = 0;
  /** Bytes consumed so far. */
  position = 0;

  constructor(source: ByteSource) {
    this.source = source[Symbol.asyncIterator]();
    this.direct = source.readInto?.bind(source);
  }

  /** Keeps a copy of what is consumed from now on, for `rest`. */
  startRecording(): void {
    this.recording = [];
    this.recorded = 0;
  }

  stopRecording(): void {
    this.recording = null;
  }

  /** Bytes copied while recording. */
  get recordedBytes(): number {
    return this.recorded;
  }

  /** The next piece of the source, or false at its end. */
  private async more(): Promise<boolean> {
    while (!this.ended) {
      const r = await this.source.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      if (r.value.length === 0) continue;
      this.chunk = r.value;
      this.at = 0;
      return true;
    }
    return false;
  }

  /** Accounts for `piece`, just consumed: position, tail, recording. */
  private consumed(piece: Buffer): void {
    const n = piece.length;
    this.position += n;
    if (n >= TAIL) {
      piece.copy(this.tailBuf, 0, n - TAIL);
      this.tailFill = TAIL;
    } else {
      const keep = Math.min(this.tailFill, TAIL - n);
      this.tailBuf.copy(this.tailBuf, 0, this.tailFill - keep, this.tailFill);
      piece.copy(this.tailBuf, keep);
      this.tailFill = keep + n;
    }
    if (this.recording) {
      this.recording.push(Buffer.from(piece));
      this.recorded += n;
    }
  }

  /**
   * Fills `out[offset, offset+length)` from the stream; returns the bytes read, fewer than
   * `length` only when the stream ended.
   */
  async readInto(out: Buffer, offset: number, length: number): Promise<number> {
    let done = 0;
    while (done < length) {
      if (this.at === this.chunk.length) {
        if (this.direct && !this.ended && length - done >= DIRECT) {
          const target = out.subarray(offset + done, offset + length);
          const n = await this.direct(target);
          this.consumed(target.subarray(0, n));
          done += n;
          if (n < target.length) this.ended = true;
          continue;
        }
        if (!(await this.more())) break;
      }
      const n = Math.min(length - done, this.chunk.length - this.at);
      const piece = this.chunk.subarray(this.at, this.at + n);
      piece.copy(out, offset + done);
      this.at += n;
      done += n;
      this.consumed(piece);
    }
    return done;
  }

  /**
   * `length` bytes, or fewer when the stream ends first. Memory grows with what arrives, not
   * with what was asked: a forged length costs nothing unless the bytes really come.
   */
  async read(length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < length) {
      const part = Buffer.alloc(Math.min(length - got, 1024 * 1024));
      const n = await this.readInto(part, 0, part.length);
      parts.push(part.subarray(0, n));
      got += n;
      if (n < part.length) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** Discards up to `length` bytes; returns how many there were. */
  async skip(length: number): Promise<number> {
    let done = 0;
    while (done < length) {
      if (this.at === this.chunk.length && !(await this.more())) break;
      const n = Math.min(length - done, this.chunk.length - this.at);
      this.consumed(this.chunk.subarray(this.at, this.at + n));
      this.at += n;
      done += n;
    }
    return done;
  }

  /** Discards everything up to the end of the stream. */
  async skipToEnd(): Promise<void> {
    await this.skip(Number.MAX_SAFE_INTEGER);
  }

  /** The last (up to 512) bytes consumed. */
  tail(): Buffer {
    return Buffer.from(this.tailBuf.subarray(0, this.tailFill));
  }

  /** The whole stream from its start: what was recorded, then what was not consumed yet. */
  async *rest(): AsyncGenerator<Buffer> {
    const before = this.recording ?? [];
    this.recording = null;
    yield* before;
    if (this.at < this.chunk.length) yield this.chunk.subarray(this.at);
    this.at = this.chunk.length;
    while (await this.more()) {
      this.at = this.chunk.length;
      yield this.chunk;
    }
  }
}
