/**
 * @module
 * A minimal NBD client for tests: fixed newstyle handshake (optionally structured replies
 * and `base:allocation`), then requests that can be pipelined without waiting, their
 * replies matched by cookie whatever order they come back in. It also exposes the raw
 * socket so tests can misbehave on purpose.
 */
import { connect, type Socket } from 'node:net';

export const NBD = {
  REQUEST_MAGIC: 0x25609513,
  SIMPLE_REPLY_MAGIC: 0x67446698,
  STRUCTURED_REPLY_MAGIC: 0x668e33ef,
  OPT_REPLY_MAGIC: 0x3e889045565a9n,
  IHAVEOPT: 0x49484156454f5054n,
  NBDMAGIC: 0x4e42444d41474943n,
  CMD: { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, WRITE_ZEROES: 6, BLOCK_STATUS: 7 },
  FLAG: { FUA: 1, NO_HOLE: 2, DF: 4, REQ_ONE: 8 },
  OPT: { EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, LIST_META_CONTEXT: 9, SET_META_CONTEXT: 10 },
  REP_ACK: 1,
  REP_INFO: 3,
  REP_META_CONTEXT: 4,
} as const;

export interface Reply {
  error: number;
  /** READ data reassembled from OFFSET_DATA / OFFSET_HOLE chunks (or the simple payload). */
  data?: Buffer;
  /** BLOCK_STATUS descriptors. */
  extents?: { length: number; flags: number }[];
  message?: string;
}

interface Pending {
  type: number;
  offset: number;
  len: number;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  reply: Reply;
}

export interface ConnectOptions {
  exportName: string;
  structured?: boolean;
  metaContext?: boolean;
}

export class MiniClient {
  size = 0;
  transmissionFlags = 0;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private pending = new Map<bigint, Pending>();
  private nextCookie = 1n;
  private closed: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.drain();
    });
    const fail = (e?: Error): void => {
      this.closed ??= e ?? new Error('connection closed');
      for (const w of this.waiters.splice(0)) w.reject(this.closed);
      for (const p of this.pending.values()) p.reject(this.closed);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /** Opens a TCP connection without any handshake (for misbehaving on purpose). */
  static raw(port: number, host = '127.0.0.1'): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(s));
      s.once('error', reject);
    });
  }

  static async connect(port: number, opts: ConnectOptions, host = '127.0.0.1'): Promise<MiniClient> {
    const c = await MiniClient.greet(port, host);
    await c.handshake(opts);
    return c;
  }

  /** Connects and exchanges the greeting and flags, ready for `option()` calls. */
  static async greet(port: number, host = '127.0.0.1'): Promise<MiniClient> {
    const c = new MiniClient(await MiniClient.raw(port, host));
    const hello = await c.readExact(18);
    if (hello.readBigUInt64BE(0) !== NBD.NBDMAGIC || hello.readBigUInt64BE(8) !== NBD.IHAVEOPT) throw new Error('not an NBD server');
    const cflags = Buffer.alloc(4);
    cflags.writeUInt32BE(1 | 2); // fixed newstyle, no zeroes
    c.socket.write(cflags);
    return c;
  }

  /** Sends one request; resolves with its reply (none for DISC). */
  request(type: number, offset: number, len: number, flags = 0, payload?: Buffer): Promise<Reply> {
    if (this.closed) return Promise.reject(this.closed);
    const cookie = this.nextCookie++;
    const h = Buffer.alloc(28);
    h.writeUInt32BE(NBD.REQUEST_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(cookie, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(len, 24);
    this.socket.write(payload ? Buffer.concat([h, payload]) : h);
    if (type === NBD.CMD.DISC) return Promise.resolve({ error: 0 });
    return new Promise((resolve, reject) => {
      const reply: Reply = { error: 0 };
      if (type === NBD.CMD.READ) reply.data = Buffer.alloc(len);
      this.pending.set(cookie, { type, offset, len, resolve, reject, reply });
    });
  }

  read(offset: number, len: number, flags = 0): Promise<Reply> {
    return this.request(NBD.CMD.READ, offset, len, flags);
  }

  write(offset: number, data: Buffer, flags = 0): Promise<Reply> {
    return this.request(NBD.CMD.WRITE, offset, data.length, flags, data);
  }

  /** NBD_CMD_DISC, then waits for the server to close. */
  async disconnect(): Promise<void> {
    const closed = new Promise<void>((r) => (this.socket.destroyed ? r() : this.socket.once('close', () => r())));
    await this.request(NBD.CMD.DISC, 0, 0);
    await closed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  // ---- handshake ----

  private async handshake(o: ConnectOptions): Promise<void> {
    if (o.structured || o.metaContext) {
      const r = await this.option(NBD.OPT.STRUCTURED_REPLY, Buffer.alloc(0));
      if (r[0]?.type !== NBD.REP_ACK) throw new Error('structured replies refused');
    }
    const name = Buffer.from(o.exportName);
    if (o.metaContext) {
      const q = Buffer.from('base:allocation');
      const d = Buffer.alloc(4 + name.length + 4 + 4 + q.length);
      d.writeUInt32BE(name.length, 0);
      name.copy(d, 4);
      d.writeUInt32BE(1, 4 + name.length);
      d.writeUInt32BE(q.length, 8 + name.length);
      q.copy(d, 12 + name.length);
      await this.option(NBD.OPT.SET_META_CONTEXT, d);
    }
    const d = Buffer.alloc(4 + name.length + 2 + 2);
    d.writeUInt32BE(name.length, 0);
    name.copy(d, 4);
    d.writeUInt16BE(1, 4 + name.length);
    d.writeUInt16BE(3, 6 + name.length); // NBD_INFO_BLOCK_SIZE
    const replies = await this.option(NBD.OPT.GO, d);
    const last = replies[replies.length - 1]!;
    if (last.type !== NBD.REP_ACK) throw new Error(`GO refused: 0x${last.type.toString(16)} ${last.data.toString()}`);
    for (const r of replies) {
      if (r.type === NBD.REP_INFO && r.data.readUInt16BE(0) === 0) {
        this.size = Number(r.data.readBigUInt64BE(2));
        this.transmissionFlags = r.data.readUInt16BE(10);
      }
    }
    this.drain();
  }

  /** Sends an option and collects replies up to the final one (ACK or error). */
  async option(opt: number, data: Buffer): Promise<{ type: number; data: Buffer }[]> {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(NBD.IHAVEOPT, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(data.length, 12);
    this.socket.write(Buffer.concat([h, data]));
    const out: { type: number; data: Buffer }[] = [];
    for (;;) {
      const rh = await this.readExact(20);
      if (rh.readBigUInt64BE(0) !== NBD.OPT_REPLY_MAGIC) throw new Error('bad option reply magic');
      const type = rh.readUInt32BE(12);
      const body = await this.readExact(rh.readUInt32BE(16));
      out.push({ type, data: body });
      if (type === NBD.REP_ACK || type >= 0x80000000) return out;
    }
  }

  private readExact(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.closed && this.buf.length < n) return reject(this.closed);
      this.waiters.push({ n, resolve, reject });
      this.drain();
    });
  }

  // ---- transmission ----

  private drain(): void {
    while (this.waiters.length && this.buf.length >= this.waiters[0]!.n) {
      const w = this.waiters.shift()!;
      const out = this.buf.subarray(0, w.n);
      this.buf = this.buf.subarray(w.n);
      w.resolve(out);
    }
    if (this.waiters.length) return;
    while (this.pending.size && this.buf.length >= 4) {
      const magic = this.buf.readUInt32BE(0);
      if (magic === NBD.SIMPLE_REPLY_MAGIC) {
        if (this.buf.length < 16) return;
        const cookie = this.buf.readBigUInt64BE(8);
        const p = this.pending.get(cookie);
        if (!p) throw new Error(`reply for unknown cookie ${cookie}`);
        const error = this.buf.readUInt32BE(4);
        const withData = p.type === NBD.CMD.READ && error === 0;
        if (withData && this.buf.length < 16 + p.len) return;
        if (withData) this.buf.copy(p.reply.data!, 0, 16, 16 + p.len);
        this.buf = this.buf.subarray(16 + (withData ? p.len : 0));
        p.reply.error = error;
        if (error) delete p.reply.data;
        this.pending.delete(cookie);
        p.resolve(p.reply);
      } else if (magic === NBD.STRUCTURED_REPLY_MAGIC) {
        if (this.buf.length < 20) return;
        const len = this.buf.readUInt32BE(16);
        if (this.buf.length < 20 + len) return;
        const flags = this.buf.readUInt16BE(4);
        const type = this.buf.readUInt16BE(6);
        const cookie = this.buf.readBigUInt64BE(8);
        const body = this.buf.subarray(20, 20 + len);
        this.buf = this.buf.subarray(20 + len);
        const p = this.pending.get(cookie);
        if (!p) throw new Error(`chunk for unknown cookie ${cookie}`);
        this.chunk(p, type, body);
        if (flags & 1) {
          this.pending.delete(cookie);
          if (p.reply.error) delete p.reply.data;
          p.resolve(p.reply);
        }
      } else {
        this.socket.destroy(new Error(`bad reply magic 0x${magic.toString(16)}`));
        return;
      }
    }
  }

  private chunk(p: Pending, type: number, body: Buffer): void {
    if (type === 1) { // OFFSET_DATA
      const off = Number(body.readBigUInt64BE(0)) - p.offset;
      body.copy(p.reply.data!, off, 8);
    } else if (type === 2) { // OFFSET_HOLE
      const off = Number(body.readBigUInt64BE(0)) - p.offset;
      p.reply.data!.fill(0, off, off + body.readUInt32BE(8));
    } else if (type === 5) { // BLOCK_STATUS
      const ex: { length: number; flags: number }[] = [];
      for (let i = 4; i < body.length; i += 8) ex.push({ length: body.readUInt32BE(i), flags: body.readUInt32BE(i + 4) });
      p.reply.extents = ex;
    } else if (type & 0x8000) { // error chunks
      p.reply.error = body.readUInt32BE(0);
      p.reply.message = body.toString('utf8', 6, 6 + body.readUInt16BE(4));
    }
  }
}
