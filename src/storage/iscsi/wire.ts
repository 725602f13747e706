/**
 * @module
 * One TCP connection of the initiator, carrying PDUs: connect with a timeout, send a PDU
 * (digests applied as negotiated), hand received PDUs to whoever holds the connection now
 * (the login exchange, then the session), and report the first failure once. The socket
 * receives into buffers the reader picks (`onread` with a buffer chosen before each read):
 * reading a LUN is a stream of large Data-In PDUs, and the payload of each is received
 * straight into the read's own buffer, its header into the reader's; everything else lands
 * in one reused receive buffer, so nothing received needs to outlive the callback that
 * delivered it and no read costs an allocation.
 */
import { connect, type Socket } from 'node:net';
import { IscsiError } from '../../core/ports/iscsi-initiator.js';
import { encodePdu, setDataSegmentLength, type Pdu } from './pdu.js';
import { PduReader } from './pdu-reader.js';

/** Bytes one socket read may take at most (the kernel hands over what it has queued). */
const RECEIVE_BUFFER = 256 * 1024;

/** Where the socket's bytes go (set once the reader exists) and where its next read lands. */
interface Feed {
  to?: (chunk: Buffer) => void;
  target?: () => Uint8Array | undefined;
}

export function parsePortal(portal: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(portal) ?? /^([^:]+)(?::([0-9]+))?$/.exec(portal);
  if (!m) throw new IscsiError('CONNECT', `"${portal}" is not a portal (host:port)`);
  const port = m[2] === undefined ? 3260 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new IscsiError('CONNECT', `"${portal}" has no valid port`);
  return { host: m[1]!, port };
}

export class Wire {
  readonly reader: PduReader;
  private handler: ((p: Pdu) => void) | undefined;
  private errorHandler: ((e: Error) => void) | undefined;
  private failed: Error | undefined;
  private queue: Pdu[] = [];
  private waiter: { resolve: (p: Pdu) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;

  private constructor(readonly socket: Socket, feed: Feed) {
    socket.setNoDelay(true);
    this.reader = new PduReader(undefined, (p) => this.deliver(p), (e) => this.fail(e));
    feed.to = (chunk) => this.reader.feed(chunk, true);
    feed.target = () => this.reader.readTarget();
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new IscsiError('CLOSED', 'the target closed the connection')));
  }

  static open(portal: string, timeoutMs: number): Promise<Wire> {
    const { host, port } = parsePortal(portal);
    return new Promise((resolve, reject) => {
      const feed: Feed = {};
      const rx = Buffer.allocUnsafeSlow(RECEIVE_BUFFER);
      // Node asks for the buffer of the next read after each read's callback has run.
      const next = (): Uint8Array => feed.target?.() ?? rx;
      const s = connect({ host, port, onread: { buffer: next, callback: (n: number, into: Uint8Array): boolean => {
        feed.to?.(Buffer.from(into.buffer, into.byteOffset, n));
        return true;
      } } });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new IscsiError('CONNECT', `no connection to ${portal} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new Wire(s, feed));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new IscsiError('CONNECT', `cannot connect to ${portal}: ${e.message}`));
      });
    });
  }

  get broken(): boolean {
    return this.failed !== undefined;
  }

  /**
   * Queues one PDU. `data` is not copied: the caller leaves it unchanged until the socket
   * has written it. Between `cork` and `uncork` PDUs gather into one write.
   */
  send(bhs: Buffer, data?: Buffer): void {
    if (this.failed) return;
    const len = data?.length ?? 0;
    const digests = this.reader.digests;
    this.socket.cork();
    if (!digests.header && !digests.data && (len & 3) === 0) {
      // The common case, without padding or digests: no list of buffers to build.
      setDataSegmentLength(bhs, len);
      this.socket.write(bhs);
      if (len > 0) this.socket.write(data!);
    } else {
      for (const b of encodePdu(bhs, data, digests)) this.socket.write(b);
    }
    this.socket.uncork();
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** The next PDU, during login (before a handler is installed). */
  next(timeoutMs: number): Promise<Pdu> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new IscsiError('TIMEOUT', `no answer from the target within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  /** From now on PDUs go to `onPdu`, and the first failure to `onError`. */
  attach(onPdu: (p: Pdu) => void, onError: (e: Error) => void): void {
    this.handler = onPdu;
    this.errorHandler = onError;
    for (const p of this.queue.splice(0)) onPdu(p);
    if (this.failed) onError(this.failed);
  }

  destroy(reason?: Error): void {
    this.fail(reason ?? new IscsiError('CLOSED', 'connection closed'));
  }

  private deliver(p: Pdu): void {
    if (this.failed) return;
    if (this.handler) this.handler(p);
    else if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(p);
    } else this.queue.push(p);
  }

  private fail(cause: Error): void {
    if (this.failed) return;
    const e = cause instanceof IscsiError ? cause : new IscsiError(cause.name === 'ProtocolError' ? 'PROTOCOL' : 'CLOSED', `${cause.message}`);
    this.failed = e;
    this.reader.stop();
    this.socket.destroy();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.errorHandler?.(e);
  }
}
