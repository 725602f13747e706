/**
 * @module
 * Cuts a TCP byte stream into iSCSI PDUs. Digests and the largest data segment accepted
 * change during login, so both are fields the owner updates. A PDU that lies about its
 * lengths (a data segment over the declared limit, AHS where none is allowed) or fails
 * a digest is a protocol error: the reader stops and reports it, and the owner drops the
 * connection, which at ErrorRecoveryLevel 0 is the only recovery there is.
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
   * length), so large read data is copied once, from the socket into the caller's buffer.
   */
  placeData: ((bhs: Buffer) => Buffer | undefined) | undefined;
  private chunks: Buffer[] = [];
  private queued = 0;
  private bhs: Buffer | undefined;
  private stopped = false;

  constructor(
    private readonly socket: Socket,
    private readonly onPdu: (pdu: Pdu) => void,
    private readonly onError: (e: Error) => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      if (this.stopped) return;
      this.chunks.push(chunk);
      this.queued += chunk.length;
      try {
        this.drain();
      } catch (e) {
        this.stop();
        this.onError(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.queued = 0;
  }

  private take(n: number, into?: Buffer): Buffer {
    const first = this.chunks[0]!;
    if (into) {
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(into, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
      this.queued -= n;
      return into;
    }
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.queued -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.queued -= n;
    return out;
  }

  private drain(): void {
    while (!this.stopped) {
      if (!this.bhs) {
        const need = BHS_LEN + (this.digests.header ? 4 : 0);
        if (this.queued < need) return;
        const bhs = Buffer.from(this.take(BHS_LEN));
        if (this.digests.header) {
          const d = this.take(4).readUInt32LE(0);
          if (d !== crc32c(bhs)) throw new ProtocolError('header digest mismatch');
        }
        if (bhs[4] !== 0) throw new ProtocolError(`unexpected AHS of ${bhs[4]! * 4} bytes`);
        const len = dataSegmentLength(bhs);
        if (len > this.maxDataSegment) {
          throw new ProtocolError(`data segment of ${len} bytes exceeds the declared limit of ${this.maxDataSegment}`);
        }
        this.bhs = bhs;
      }
      const bhs = this.bhs;
      const len = dataSegmentLength(bhs);
      const padded = (len + 3) & ~3;
      const need = len === 0 ? 0 : padded + (this.digests.data ? 4 : 0);
      if (this.queued < need) return;
      let data: Buffer = EMPTY;
      if (len > 0) {
        const target = this.placeData?.(bhs);
        if (target && target.length === len) {
          this.take(len, target);
          const pad = padded > len ? this.take(padded - len) : undefined;
          if (this.digests.data) {
            const d = this.take(4).readUInt32LE(0);
            const crc = pad ? crc32c(pad, crc32c(target)) : crc32c(target);
            if (d !== crc) throw new ProtocolError('data digest mismatch');
          }
          data = target;
        } else {
          const seg = this.take(padded);
          if (this.digests.data) {
            const d = this.take(4).readUInt32LE(0);
            if (d !== crc32c(seg)) throw new ProtocolError('data digest mismatch');
          }
          data = seg.subarray(0, len);
        }
      }
      this.bhs = undefined;
      this.onPdu({ bhs, data });
    }
  }
}

const EMPTY = Buffer.alloc(0);
