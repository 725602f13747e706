/**
 * @module
 * Cuts a TCP byte stream into iSCSI PDUs. Digests and the largest data segment accepted
 * change during login, so both are fields the owner updates. A PDU that lies about its
 * lengths (a data segment over the declared limit, AHS where none is allowed) or fails
 * a digest is a protocol error: the reader stops and reports it, and the owner drops the
 * connection, which at ErrorRecoveryLevel 0 is the only recovery there is.
 *
 * The reader is a streaming state machine: bytes are consumed as they arrive, so a large
 * data segment that has a home (`placeData`, e.g. the buffer of a read) is copied there
 * piece by piece straight from the socket's chunks, without waiting for the whole segment
 * and without a second copy. It takes chunks it may keep (the socket's `data` events) or
 * chunks it must not keep (`feed(chunk, true)`: a receive buffer the socket reuses, see
 * `Wire`); in that case everything it retains is copied out first.
 *
 * It also says where the next socket read should land (`readTarget`): the rest of a placed
 * data segment, so the kernel copies a read's payload straight into the caller's buffer
 * and nothing is copied in user space, and, after such a segment, just the next header,
 * so that the payload behind it can go straight to its home too.
 */
import type { Socket } from 'node:net';
import { crc32c } from './crc32c.js';
import { BHS_LEN, dataSegmentLength, type Digests, type Pdu } from './pdu.js';

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export class PduReader {
  digests: Digests = { header: false, data: false };
  /** Data segments longer than this are refused (our declared MaxRecvDataSegmentLength). */
  maxDataSegment = 8192;
  /**
   * Where the data segment of the PDU whose header is `bhs` should land (exactly its
   * length), so large data is copied once, from the socket into the caller's buffer.
   * Asked as soon as the header is in; the PDU is delivered once the segment is complete.
   */
  placeData: ((bhs: Buffer) => Buffer | undefined) | undefined;
  private stopped = false;
  /** The header (and its digest) being gathered. */
  private header = Buffer.allocUnsafeSlow(BHS_LEN + 4);
  private headerGot = 0;
  /** Set once the header is complete: the data segment (padding and digest included) follows. */
  private bhs: Buffer | undefined;
  private dataLen = 0;
  /** Bytes of the segment on the wire: data, padding, digest. */
  private wireLen = 0;
  private got = 0;
  /** The caller's buffer for the data, or undefined when the segment goes to `segment`. */
  private placed: Buffer | undefined;
  /** The whole wire segment when it has no home (small PDUs, text, sense). */
  private segment: Buffer | undefined;
  /** Padding and digest after a placed data segment. */
  private readonly tail = Buffer.allocUnsafeSlow(8);
  /** The last PDU delivered had a large placed segment: more are likely to follow. */
  private streaming = false;

  /** With a socket, reads its `data` events; without, the owner calls `feed`. */
  constructor(
    socket: Socket | undefined,
    private readonly onPdu: (pdu: Pdu) => void,
    private readonly onError: (e: Error) => void,
  ) {
    socket?.on('data', (chunk: Buffer) => this.feed(chunk, false));
  }

  /**
   * Where the next bytes from the socket should be read into, or undefined for the
   * owner's receive buffer: the unfilled rest of a placed data segment when it is large
   * (received there, those bytes need no copy), or, between large placed segments, exactly
   * the bytes of its padding and digest, then of the next header (so that the segment after
   * it can be received in place too).
   * Bytes read into it must be handed to `feed` next, before anything else.
   */
  readTarget(): Uint8Array | undefined {
    if (this.stopped) return undefined;
    if (this.placed) {
      const left = this.dataLen - this.got;
      if (left > 0) return left >= DIRECT_MIN ? this.placed.subarray(this.got, this.dataLen) : undefined;
      // Padding and digest of a large segment: read alone too, so the next header can be.
      return this.dataLen >= DIRECT_MIN ? this.tail.subarray(this.got - this.dataLen, this.wireLen - this.dataLen) : undefined;
    }
    if (!this.bhs && this.streaming) return this.header.subarray(this.headerGot, BHS_LEN + (this.digests.header ? 4 : 0));
    return undefined;
  }

  stop(): void {
    this.stopped = true;
    this.segment = undefined;
    this.placed = undefined;
  }

  /** Takes the next bytes of the stream; `transient`: `chunk` is reused after this call. */
  feed(chunk: Buffer, transient: boolean): void {
    if (this.stopped) return;
    try {
      this.consume(chunk, transient);
    } catch (e) {
      this.stop();
      this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private consume(chunk: Buffer, transient: boolean): void {
    let at = 0;
    const end = chunk.length;
    while (at < end && !this.stopped) {
      if (!this.bhs) {
        const need = BHS_LEN + (this.digests.header ? 4 : 0);
        const k = Math.min(need - this.headerGot, end - at);
        if (!landed(chunk, at, this.header, this.headerGot)) chunk.copy(this.header, this.headerGot, at, at + k);
        this.headerGot += k;
        at += k;
        if (this.headerGot < need) return;
        this.headerGot = 0;
        this.startSegment();
        if (this.wireLen === 0) this.deliver(EMPTY);
        continue;
      }
      const rest = this.wireLen - this.got;
      if (this.placed) {
        const dataLeft = this.dataLen - this.got;
        if (dataLeft > 0) {
          const k = Math.min(dataLeft, end - at);
          // Received in place (see readTarget): already where it belongs.
          if (!landed(chunk, at, this.placed, this.got)) chunk.copy(this.placed, this.got, at, at + k);
          this.got += k;
          at += k;
        } else {
          const k = Math.min(rest, end - at);
          if (!landed(chunk, at, this.tail, this.got - this.dataLen)) chunk.copy(this.tail, this.got - this.dataLen, at, at + k);
          this.got += k;
          at += k;
        }
        if (this.got === this.wireLen) this.finishPlaced();
        continue;
      }
      if (this.got === 0 && !transient && end - at >= rest) {
        // The whole segment is in a chunk we may keep: no copy.
        const seg = chunk.subarray(at, at + rest);
        at += rest;
        this.finishSegment(seg);
        continue;
      }
      this.segment ??= Buffer.allocUnsafe(this.wireLen);
      const k = Math.min(rest, end - at);
      chunk.copy(this.segment, this.got, at, at + k);
      this.got += k;
      at += k;
      if (this.got === this.wireLen) {
        const seg = this.segment;
        this.segment = undefined;
        this.finishSegment(seg);
      }
    }
  }

  /** The header is in: check it and decide where its data segment goes. */
  private startSegment(): void {
    const bhs = Buffer.from(this.header.subarray(0, BHS_LEN));
    if (this.digests.header && this.header.readUInt32LE(BHS_LEN) !== crc32c(bhs)) throw new ProtocolError('header digest mismatch');
    if (bhs[4] !== 0) throw new ProtocolError(`unexpected AHS of ${bhs[4]! * 4} bytes`);
    const len = dataSegmentLength(bhs);
    if (len > this.maxDataSegment) {
      throw new ProtocolError(`data segment of ${len} bytes exceeds the declared limit of ${this.maxDataSegment}`);
    }
    this.bhs = bhs;
    this.dataLen = len;
    this.got = 0;
    this.wireLen = len === 0 ? 0 : ((len + 3) & ~3) + (this.digests.data ? 4 : 0);
    const target = len > 0 ? this.placeData?.(bhs) : undefined;
    this.placed = target && target.length === len ? target : undefined;
  }

  private finishPlaced(): void {
    const data = this.placed!;
    if (this.digests.data) {
      const padLen = ((this.dataLen + 3) & ~3) - this.dataLen;
      const crc = padLen > 0 ? crc32c(this.tail.subarray(0, padLen), crc32c(data)) : crc32c(data);
      if (this.tail.readUInt32LE(padLen) !== crc) throw new ProtocolError('data digest mismatch');
    }
    this.deliver(data);
  }

  private finishSegment(seg: Buffer): void {
    const padded = (this.dataLen + 3) & ~3;
    if (this.digests.data && seg.readUInt32LE(padded) !== crc32c(seg.subarray(0, padded))) throw new ProtocolError('data digest mismatch');
    this.deliver(seg.subarray(0, this.dataLen));
  }

  private deliver(data: Buffer): void {
    const bhs = this.bhs!;
    this.streaming = this.placed !== undefined && this.dataLen >= DIRECT_MIN;
    this.bhs = undefined;
    this.placed = undefined;
    this.onPdu({ bhs, data });
  }
}

const EMPTY = Buffer.alloc(0);
/** Placed segments from this size on are received in place rather than copied. */
const DIRECT_MIN = 16 * 1024;

/** Whether `chunk[at]` is the very byte `dest[destAt]` (the socket read into `dest`). */
function landed(chunk: Buffer, at: number, dest: Buffer, destAt: number): boolean {
  return chunk.buffer === dest.buffer && chunk.byteOffset + at === dest.byteOffset + destAt;
}
