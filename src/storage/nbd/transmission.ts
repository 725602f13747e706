/**
 * @module
 * The transmission phase of one connection. Requests are parsed as bytes arrive and run
 * concurrently (ordered only where `RequestOrder` says so); replies go out as each
 * finishes, matched by cookie. Reading from the socket pauses while the bytes held for
 * this connection (WRITE payloads received, READ replies not yet taken by the socket)
 * or the number of requests in flight exceed their bounds, so a client cannot make the
 * server buffer more than about `maxInFlightBytes` plus one maximal request.
 *
 * A WRITE is handed to the device only once its whole payload has arrived: a client that
 * disconnects mid-payload leaves the disk untouched by that request.
 */
import type { Duplex } from 'node:stream';
import type { BlockDevice } from '../../core/ports/block-device.js';
import { BufferPool } from './buffer-pool.js';
import { encodeExtents } from './extents.js';
import { Cmd, CmdFlag, Errno, MAX_PAYLOAD, REQUEST_MAGIC, REQUEST_SIZE } from './protocol.js';
import { ReplyWriter, type Cookie } from './reply-writer.js';
import { RequestOrder, type Access } from './request-order.js';

export interface TransmissionConfig {
  device: BlockDevice;
  readOnly: boolean;
  structured: boolean;
  metaContextId: number | undefined;
  maxInFlightBytes: number;
  maxInFlightRequests: number;
  onError: (e: unknown) => void;
}

interface Request extends Cookie {
  flags: number;
  type: number;
  offset: number;
  len: number;
}

/** Largest range one BLOCK_STATUS asks the device about; the client asks again for the rest. */
const MAX_STATUS_QUERY = 256 * 1024 * 1024;
const TWO32 = 0x100000000;

const ALLOWED_FLAGS: Record<number, number> = {
  [Cmd.READ]: CmdFlag.FUA | CmdFlag.DF,
  [Cmd.WRITE]: CmdFlag.FUA,
  [Cmd.FLUSH]: CmdFlag.FUA,
  [Cmd.TRIM]: CmdFlag.FUA,
  [Cmd.CACHE]: CmdFlag.FUA,
  [Cmd.WRITE_ZEROES]: CmdFlag.FUA | CmdFlag.NO_HOLE,
  [Cmd.BLOCK_STATUS]: CmdFlag.FUA | CmdFlag.REQ_ONE,
  [Cmd.DISC]: CmdFlag.FUA,
};

export class Transmission {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** A WRITE whose payload is being received. */
  private pending: Request | undefined;
  private payload: Buffer | undefined;
  private payloadGot = 0;
  /** Payload bytes of a refused oversized WRITE still to discard. */
  private skip = 0;
  private bytesInFlight = 0;
  private requestsInFlight = 0;
  private paused = false;
  /** No more requests are read (DISC, end of stream, shutdown, violation). */
  private stopped = false;
  private closed = false;
  private readonly order = new RequestOrder();
  private readonly replies: ReplyWriter;
  private readonly pool = new BufferPool();
  private idle: (() => void) | undefined;
  private finished!: Promise<void>;

  constructor(private readonly socket: Duplex, leftover: Buffer, private readonly cfg: TransmissionConfig) {
    this.replies = new ReplyWriter(socket);
    if (leftover.length) this.push(leftover);
  }

  /** Serves until the client leaves (or `stop()`); resolves once every request has finished. */
  run(): Promise<void> {
    this.finished = new Promise<void>((resolve) => {
      const s = this.socket;
      s.on('data', (c: Buffer) => {
        this.push(c);
        this.pump();
      });
      s.on('end', () => this.stop());
      s.on('error', () => undefined); // 'close' follows; an abrupt client is not our error
      s.on('close', () => {
        this.closed = true;
        this.replies.kill();
        this.stop();
      });
      this.idle = () => {
        if (!this.stopped || this.requestsInFlight > 0) return;
        this.idle = undefined;
        if (!this.closed) s.end();
        resolve();
      };
      s.resume();
      this.pump();
    });
    return this.finished;
  }

  /** Stops reading requests; in-flight ones complete and are answered, then the socket ends. */
  stop(): void {
    if (!this.stopped) {
      this.stopped = true;
      this.socket.pause();
    }
    this.idle?.();
  }

  private push(c: Buffer): void {
    this.chunks.push(c);
    this.buffered += c.length;
  }

  private pump(): void {
    while (!this.stopped) {
      if (this.skip > 0) {
        this.skip -= this.discard(this.skip);
        if (this.skip > 0) return;
        continue;
      }
      if (this.pending) {
        if (!this.fillPayload()) return;
        const r = this.pending;
        const data = this.payload!;
        this.pending = this.payload = undefined;
        this.start(r, data);
        continue;
      }
      if (this.bytesInFlight >= this.cfg.maxInFlightBytes || this.requestsInFlight >= this.cfg.maxInFlightRequests) {
        if (!this.paused) {
          this.paused = true;
          this.socket.pause();
        }
        return;
      }
      if (this.buffered < REQUEST_SIZE) return;
      const h = this.take(REQUEST_SIZE);
      if (h.readUInt32BE(0) !== REQUEST_MAGIC) {
        // Without the magic we cannot find the next request: the only safe answer is to hang up.
        this.stopped = true;
        this.socket.destroy();
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
        this.stop();
        return;
      }
      if (r.type === Cmd.WRITE) {
        if (r.len > MAX_PAYLOAD) {
          this.skip = r.len;
          this.fail(r, Errno.EINVAL, `write of ${r.len} bytes exceeds the ${MAX_PAYLOAD}-byte limit`);
          continue;
        }
        this.pending = r;
        this.payloadGot = 0;
        this.bytesInFlight += r.len; // counted from now: this is memory we are about to hold
        continue;
      }
      this.start(r, undefined);
    }
  }

  /** Collects the pending WRITE's payload; true once complete. Avoids a copy when it fits in one chunk. */
  private fillPayload(): boolean {
    const need = this.pending!.len;
    if (!this.payload) {
      if (need === 0) {
        this.payload = Buffer.alloc(0);
        return true;
      }
      const first = this.chunks[0];
      if (first && first.length >= need) {
        this.payload = this.take(need);
        return true;
      }
      this.payload = Buffer.allocUnsafe(need);
    }
    while (this.payloadGot < need && this.chunks.length) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, need - this.payloadGot);
      c.copy(this.payload, this.payloadGot, 0, k);
      this.payloadGot += k;
      this.consume(k);
    }
    return this.payloadGot === need;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - got);
      c.copy(out, got, 0, k);
      got += k;
      this.consume(k);
    }
    return out;
  }

  private discard(n: number): number {
    let dropped = 0;
    while (dropped < n && this.chunks.length) {
      const k = Math.min(this.chunks[0]!.length, n - dropped);
      this.consume(k);
      dropped += k;
    }
    return dropped;
  }

  private consume(k: number): void {
    const c = this.chunks[0]!;
    if (k === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(k);
    this.buffered -= k;
  }

  /** Validates, orders and runs one request. WRITE bytes were already counted in `pump`. */
  private start(r: Request, payload: Buffer | undefined): void {
    const bad = this.validate(r);
    if (bad) {
      if (payload) this.bytesInFlight -= payload.length;
      this.fail(r, bad[0], bad[1]);
      return;
    }
    const cost = r.type === Cmd.READ ? r.len : (payload?.length ?? 0);
    if (r.type === Cmd.READ) this.bytesInFlight += cost;
    this.requestsInFlight++;
    const access: Access = r.type === Cmd.FLUSH ? 'flush'
      : r.type === Cmd.READ || r.type === Cmd.BLOCK_STATUS || r.type === Cmd.CACHE ? 'read' : 'write';
    const { entry, ready } = this.order.enter(r.offset, r.offset + r.len, access);
    const run = (): void => {
      this.perform(r, payload, cost)
        .catch((e: unknown) => {
          const errno = errnoOf(e);
          if (errno === Errno.EIO) this.cfg.onError(e);
          this.reply(r, errno, e instanceof Error ? e.message : String(e), cost);
        })
        .finally(() => {
          this.order.leave(entry);
          this.requestsInFlight--;
          this.resumeIfBelow();
          this.idle?.();
        });
    };
    if (ready) void ready.then(run);
    else run();
  }

  private validate(r: Request): [number, string] | undefined {
    const allowed = ALLOWED_FLAGS[r.type];
    if (allowed === undefined) return [Errno.EINVAL, `unknown command ${r.type}`];
    if (r.flags & ~allowed) return [Errno.EINVAL, `flags 0x${r.flags.toString(16)} not valid for command ${r.type}`];
    if (r.flags & CmdFlag.DF && !this.cfg.structured) return [Errno.EINVAL, 'DF needs structured replies'];
    if (r.type === Cmd.FLUSH) return undefined;
    const dev = this.cfg.device;
    const writes = r.type === Cmd.WRITE || r.type === Cmd.WRITE_ZEROES || r.type === Cmd.TRIM;
    if (writes && this.cfg.readOnly) return [Errno.EPERM, 'export is read-only'];
    if (r.type === Cmd.READ && r.len > MAX_PAYLOAD) {
      return [this.cfg.structured ? Errno.EOVERFLOW : Errno.EINVAL, `read of ${r.len} bytes exceeds the ${MAX_PAYLOAD}-byte limit`];
    }
    if (r.type === Cmd.BLOCK_STATUS) {
      if (this.cfg.metaContextId === undefined) return [Errno.EINVAL, 'no metadata context was negotiated'];
      if (r.len === 0) return [Errno.EINVAL, 'empty block status range'];
    }
    if (r.offset + r.len > dev.size) {
      const errno = r.type === Cmd.WRITE || r.type === Cmd.WRITE_ZEROES ? Errno.ENOSPC : Errno.EINVAL;
      return [errno, `range ${r.offset}+${r.len} is beyond the end of the ${dev.size}-byte export`];
    }
    const min = dev.minBlockSize ?? 1;
    if (min > 1 && (r.offset % min !== 0 || r.len % min !== 0)) return [Errno.EINVAL, `range not aligned to ${min} bytes`];
    return undefined;
  }

  private async perform(r: Request, payload: Buffer | undefined, cost: number): Promise<void> {
    const dev = this.cfg.device;
    const fua = (r.flags & CmdFlag.FUA) !== 0;
    switch (r.type) {
      case Cmd.READ: {
        if (this.closed) return; // nobody to answer; a write, by contrast, still lands whole
        if (r.len === 0) return this.reply(r, 0, '', cost);
        const into = this.pool.get(r.len);
        const data = await dev.read(r.offset, r.len, into);
        const back = (): void => {
          this.pool.put(into);
          this.release(cost);
        };
        if (this.cfg.structured) this.replies.offsetData(r, r.offset, data, back);
        else this.replies.simple(r, 0, data, back);
        return;
      }
      case Cmd.WRITE:
        if (payload!.length) await dev.write(r.offset, payload!, { fua });
        break;
      case Cmd.WRITE_ZEROES:
        if (r.len) await dev.writeZeroes(r.offset, r.len, { mayTrim: (r.flags & CmdFlag.NO_HOLE) === 0, fua });
        break;
      case Cmd.TRIM:
        if (r.len) await dev.trim(r.offset, r.len);
        if (fua) await dev.flush();
        break;
      case Cmd.FLUSH:
        await dev.flush();
        break;
      case Cmd.CACHE:
        break;
      case Cmd.BLOCK_STATUS: {
        const reqOne = (r.flags & CmdFlag.REQ_ONE) !== 0;
        const extents = await dev.blockStatus(r.offset, Math.min(r.len, MAX_STATUS_QUERY));
        this.replies.blockStatus(r, this.cfg.metaContextId!, encodeExtents(extents, reqOne), () => this.release(cost));
        return;
      }
    }
    this.reply(r, 0, '', cost);
  }

  /** Success (errno 0) or error reply in whichever form the negotiation allows. */
  private reply(r: Request, errno: number, message: string, cost: number): void {
    const done = (): void => this.release(cost);
    if (!this.cfg.structured) this.replies.simple(r, errno, undefined, done);
    else if (errno) this.replies.error(r, errno, message, done);
    else if (r.type === Cmd.READ) this.replies.none(r, done);
    else this.replies.simple(r, 0, undefined, done);
  }

  /** Answers a request refused before it was scheduled. */
  private fail(r: Request, errno: number, message: string): void {
    this.reply(r, errno, message, 0);
  }

  private release(cost: number): void {
    this.bytesInFlight -= cost;
    this.resumeIfBelow();
  }

  private resumeIfBelow(): void {
    if (!this.paused || this.stopped) return;
    if (this.bytesInFlight >= this.cfg.maxInFlightBytes || this.requestsInFlight >= this.cfg.maxInFlightRequests) return;
    this.paused = false;
    this.socket.resume();
    this.pump();
  }
}

/** NBD error for a device failure: range → EINVAL, space → ENOSPC, permission → EPERM, else EIO. */
export function errnoOf(e: unknown): number {
  if (e instanceof RangeError) return Errno.EINVAL;
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOSPC': case 'EDQUOT': case 'EFBIG': return Errno.ENOSPC;
    case 'EPERM': case 'EACCES': case 'EROFS': return Errno.EPERM;
    case 'EINVAL': return Errno.EINVAL;
    default: return Errno.EIO;
  }
}
