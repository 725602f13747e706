/**
 * @module
 * The transmission phase of one connection. Requests (from `RequestReader`) run
 * concurrently, ordered only where `RequestOrder` says so, and each is answered as soon
 * as it finishes, matched by cookie. Reading pauses while the bytes held for this
 * connection (WRITE payloads received, READ data not yet taken by the socket) or the
 * number of requests in flight exceed their bounds, so a client cannot make the server
 * buffer more than about `maxInFlightBytes` plus one maximal request.
 *
 * READs that arrive together for consecutive ranges (a sequential reader keeps dozens in
 * flight) are served by one device read and answered from slices of it: one trip through
 * the I/O thread pool instead of one per request.
 *
 * A WRITE reaches the device only once its whole payload has arrived, so a client that
 * disconnects mid-payload leaves the disk untouched by that request.
 */
import type { BlockDevice } from '../../core/ports/block-device.js';
import { BufferPool } from './buffer-pool.js';
import { encodeExtents } from './extents.js';
import { Cmd, CmdFlag, Errno, MAX_PAYLOAD } from './protocol.js';
import { ReplyWriter } from './reply-writer.js';
import { RequestOrder, type Access } from './request-order.js';
import { RequestReader, type Request, type RequestHandler } from './request-reader.js';
import type { SocketInput } from './socket-input.js';

export interface TransmissionConfig {
  device: BlockDevice;
  readOnly: boolean;
  structured: boolean;
  metaContextId: number | undefined;
  maxInFlightBytes: number;
  maxInFlightRequests: number;
  onError: (e: unknown) => void;
}

/** Largest range one BLOCK_STATUS asks the device about; the client asks again for the rest. */
const MAX_STATUS_QUERY = 256 * 1024 * 1024;
/** How long the last replies may take to drain to a client that stopped reading. */
const FLUSH_TIMEOUT_MS = 10_000;
/**
 * Largest device read serving a run of consecutive READs: a VHD block, so that a sequential
 * reader costs about one trip through the I/O thread pool per block rather than per request.
 */
const MAX_READ_RUN = 2 * 1024 * 1024;

const ALLOWED_FLAGS: Record<number, number> = {
  [Cmd.READ]: CmdFlag.FUA | CmdFlag.DF,
  [Cmd.WRITE]: CmdFlag.FUA,
  [Cmd.FLUSH]: CmdFlag.FUA,
  [Cmd.TRIM]: CmdFlag.FUA,
  [Cmd.CACHE]: CmdFlag.FUA,
  [Cmd.WRITE_ZEROES]: CmdFlag.FUA | CmdFlag.NO_HOLE,
  [Cmd.BLOCK_STATUS]: CmdFlag.FUA | CmdFlag.REQ_ONE,
};

/** Pool shared by all connections, so idle connections do not each sit on slabs. */
const pool = new BufferPool(64 * 1024 * 1024);

export class Transmission implements RequestHandler {
  private bytesInFlight = 0;
  private requestsInFlight = 0;
  private stopped = false;
  private closed = false;
  private readonly order = new RequestOrder();
  private readonly replies: ReplyWriter;
  private readonly reader: RequestReader;
  /** Consecutive READs collected from the current delivery, not yet started. */
  private reads: Request[] = [];
  private readsEnd = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly input: SocketInput, leftover: Buffer, private readonly cfg: TransmissionConfig) {
    this.replies = new ReplyWriter(input.socket);
    this.reader = new RequestReader(input, leftover, this, pool);
  }

  /** Serves until the client leaves (or `stop()`); resolves once every request has finished. */
  serve(): Promise<void> {
    return new Promise<void>((resolve) => {
      const s = this.input.socket;
      let flushing: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(flushing);
        resolve();
      };
      s.on('end', () => this.stop());
      s.on('error', () => undefined); // 'close' follows; an abrupt client is not our error
      s.on('close', () => {
        this.closed = true;
        this.replies.kill();
        this.stop();
        if (flushing) done();
      });
      this.idle = () => {
        if (!this.stopped || this.requestsInFlight > 0) return;
        this.idle = undefined;
        if (this.closed) return done();
        // Let the last replies reach the client before the caller tears the socket down.
        flushing = setTimeout(done, FLUSH_TIMEOUT_MS);
        s.end(done);
      };
      if (s.destroyed) {
        // Gone between the handshake and now: its 'close' has already been emitted.
        this.closed = true;
        this.stop();
        return;
      }
      this.reader.start();
    });
  }

  /** Stops reading requests; in-flight ones complete and are answered, then the socket ends. */
  stop(): void {
    if (!this.stopped) {
      this.stopped = true;
      this.reader.stop();
      this.flushReads();
    }
    this.idle?.();
  }

  // ---- RequestHandler ----

  admit(): boolean {
    return this.bytesInFlight < this.cfg.maxInFlightBytes && this.requestsInFlight + this.reads.length < this.cfg.maxInFlightRequests;
  }

  reserve(bytes: number): void {
    this.flushReads(); // keep arrival order: the run is registered before this write
    this.bytesInFlight += bytes;
  }

  request(r: Request, payload: Buffer | undefined): void {
    const bad = this.validate(r);
    if (bad) {
      if (payload) this.settlePayload(payload);
      this.flushReads();
      this.reply(r, bad[0], bad[1], 0);
      return;
    }
    if (r.type === Cmd.READ && r.len > 0) {
      if (this.reads.length && (r.offset !== this.readsEnd || this.readsEnd - this.reads[0]!.offset + r.len > MAX_READ_RUN)) this.flushReads();
      this.reads.push(r);
      this.readsEnd = r.offset + r.len;
      this.bytesInFlight += r.len;
      return;
    }
    this.flushReads();
    const access: Access = r.type === Cmd.FLUSH ? 'flush'
      : r.type === Cmd.READ || r.type === Cmd.BLOCK_STATUS || r.type === Cmd.CACHE ? 'read' : 'write';
    this.schedule(r.offset, r.offset + r.len, access, 1, () => this.perform(r, payload));
  }

  oversized(r: Request): void {
    this.flushReads();
    this.reply(r, Errno.EINVAL, `write of ${r.len} bytes exceeds the ${MAX_PAYLOAD}-byte limit`, 0);
  }

  end(violation: boolean): void {
    // Without a valid header we cannot find the next request: the only safe answer is to hang up.
    if (violation) this.input.socket.destroy();
    this.stop();
  }

  drained(): void {
    this.flushReads();
  }

  // ---- execution ----

  private flushReads(): void {
    const reqs = this.reads;
    if (!reqs.length) return;
    this.reads = [];
    const start = reqs[0]!.offset;
    const end = this.readsEnd;
    this.schedule(start, end, 'read', reqs.length, () => this.readRun(reqs, start, end));
  }

  /** Runs `work` once `RequestOrder` allows; `count` requests are in flight meanwhile. */
  private schedule(start: number, end: number, access: Access, count: number, work: () => Promise<void>): void {
    this.requestsInFlight += count;
    const { entry, ready } = this.order.enter(start, end, access);
    const go = (): void => {
      work()
        .catch((e: unknown) => this.cfg.onError(e)) // perform() answers its own errors; this is a bug guard
        .finally(() => {
          this.order.leave(entry);
          this.requestsInFlight -= count;
          this.reader.resume();
          this.idle?.();
        });
    };
    if (ready) void ready.then(go);
    else go();
  }

  private async readRun(reqs: Request[], start: number, end: number): Promise<void> {
    const total = end - start;
    if (this.closed) {
      this.release(total);
      return;
    }
    const into = pool.get(total);
    let data: Buffer;
    try {
      data = await this.cfg.device.read(start, total, into);
    } catch (e) {
      pool.put(into);
      for (const r of reqs) this.fail(r, e, r.len);
      return;
    }
    let left = reqs.length;
    for (const r of reqs) {
      const slice = data.subarray(r.offset - start, r.offset - start + r.len);
      const done = (): void => {
        this.release(r.len);
        if (--left === 0) pool.put(into);
      };
      if (this.cfg.structured) this.replies.offsetData(r, r.offset, slice, done);
      else this.replies.simple(r, 0, slice, done);
    }
  }

  private async perform(r: Request, payload: Buffer | undefined): Promise<void> {
    const dev = this.cfg.device;
    const fua = (r.flags & CmdFlag.FUA) !== 0;
    try {
      switch (r.type) {
        case Cmd.READ: // only zero-length ones get here
          break;
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
          if (this.closed) break;
          const extents = await dev.blockStatus(r.offset, Math.min(r.len, MAX_STATUS_QUERY));
          const descriptors = encodeExtents(extents, (r.flags & CmdFlag.REQ_ONE) !== 0);
          this.replies.blockStatus(r, this.cfg.metaContextId!, descriptors, () => undefined);
          return;
        }
      }
      this.reply(r, 0, '', 0);
    } catch (e) {
      this.fail(r, e, 0);
    } finally {
      if (payload) this.settlePayload(payload);
    }
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

  /** A WRITE payload is done with: its bytes stop counting and its buffer goes back to the pool. */
  private settlePayload(payload: Buffer): void {
    this.release(payload.length);
    pool.put(payload);
  }

  private fail(r: Request, e: unknown, cost: number): void {
    const errno = errnoOf(e);
    if (errno === Errno.EIO) this.cfg.onError(e);
    this.reply(r, errno, e instanceof Error ? e.message : String(e), cost);
  }

  /** Success (errno 0) or error reply in whichever form the negotiation allows. */
  private reply(r: Request, errno: number, message: string, cost: number): void {
    const done = (): void => this.release(cost);
    if (!this.cfg.structured) this.replies.simple(r, errno, undefined, done);
    else if (errno) this.replies.error(r, errno, message, done);
    else if (r.type === Cmd.READ) this.replies.none(r, done);
    else this.replies.simple(r, 0, undefined, done);
  }

  private release(cost: number): void {
    if (cost === 0) return;
    this.bytesInFlight -= cost;
    this.reader.resume();
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
