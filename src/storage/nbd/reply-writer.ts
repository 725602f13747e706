/**
 * @module
 * Encodes transmission-phase replies (simple and structured) onto a socket. Replies
 * produced in the same tick share one cork, so a burst of small acknowledgements and a
 * header with its payload leave as one `writev` instead of a syscall each. Each reply
 * carries a `done` callback that fires once the socket has taken its bytes, which is
 * what the connection's backpressure accounting waits for.
 */
import type { Duplex } from 'node:stream';
import {
  ReplyFlag, ReplyType, SIMPLE_REPLY_MAGIC, STRUCTURED_HEADER_SIZE, STRUCTURED_REPLY_MAGIC, SIMPLE_REPLY_SIZE,
} from './protocol.js';

/** The client's opaque 64-bit cookie, kept as two words to avoid BigInt on the hot path. */
export interface Cookie {
  hi: number;
  lo: number;
}

export type Done = () => void;

export class ReplyWriter {
  private corked = false;
  private dead = false;
  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.dead) this.socket.uncork();
  };

  constructor(private readonly socket: Duplex) {}

  /** After this every reply is dropped (its `done` still fires). */
  kill(): void {
    this.dead = true;
  }

  simple(c: Cookie, error: number, data: Buffer | undefined, done: Done): void {
    const h = Buffer.allocUnsafe(SIMPLE_REPLY_SIZE);
    h.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(error, 4);
    h.writeUInt32BE(c.hi, 8);
    h.writeUInt32BE(c.lo, 12);
    this.send(h, data, done);
  }

  /** One OFFSET_DATA chunk carrying the whole read, marked final. */
  offsetData(c: Cookie, offset: number, data: Buffer, done: Done): void {
    const h = this.structuredHeader(c, ReplyFlag.DONE, ReplyType.OFFSET_DATA, 8 + data.length, 8);
    writeU64(h, STRUCTURED_HEADER_SIZE, offset);
    this.send(h, data, done);
  }

  /** A final NONE chunk: success with nothing to say. */
  none(c: Cookie, done: Done): void {
    this.send(this.structuredHeader(c, ReplyFlag.DONE, ReplyType.NONE, 0, 0), undefined, done);
  }

  /** Final BLOCK_STATUS chunk; `descriptors` holds (length, flags) u32 pairs. */
  blockStatus(c: Cookie, contextId: number, descriptors: Buffer, done: Done): void {
    const h = this.structuredHeader(c, ReplyFlag.DONE, ReplyType.BLOCK_STATUS, 4 + descriptors.length, 4);
    h.writeUInt32BE(contextId, STRUCTURED_HEADER_SIZE);
    this.send(h, descriptors, done);
  }

  /** Final ERROR chunk with a human-readable message. */
  error(c: Cookie, error: number, message: string, done: Done): void {
    const msg = Buffer.from(message.slice(0, 1024));
    const h = this.structuredHeader(c, ReplyFlag.DONE, ReplyType.ERROR, 6 + msg.length, 6);
    h.writeUInt32BE(error, STRUCTURED_HEADER_SIZE);
    h.writeUInt16BE(msg.length, STRUCTURED_HEADER_SIZE + 4);
    this.send(h, msg, done);
  }

  private structuredHeader(c: Cookie, flags: number, type: number, length: number, extra: number): Buffer {
    const h = Buffer.allocUnsafe(STRUCTURED_HEADER_SIZE + extra);
    h.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeUInt32BE(c.hi, 8);
    h.writeUInt32BE(c.lo, 12);
    h.writeUInt32BE(length, 16);
    return h;
  }

  private send(head: Buffer, body: Buffer | undefined, done: Done): void {
    if (this.dead || this.socket.destroyed || !this.socket.writable) {
      done();
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    const cb = (): void => done();
    if (body?.length) {
      this.socket.write(head);
      this.socket.write(body, cb);
    } else {
      this.socket.write(head, cb);
    }
  }
}

function writeU64(b: Buffer, at: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / 0x100000000), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}
