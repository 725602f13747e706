/**
 * @module
 * Exact-length async reads from a socket, for the handshake phase where each step waits
 * for the client. It can be detached (pausing the socket and handing back whatever was
 * read ahead) so that the same socket can be upgraded to TLS or handed to the
 * transmission phase without losing a byte.
 */
import type { Duplex } from 'node:stream';

/** The peer closed or broke the connection before sending what was needed. */
export class ConnectionClosed extends Error {
  constructor(message = 'connection closed by peer') {
    super(message);
    this.name = 'ConnectionClosed';
  }
}

const READ_AHEAD = 128 * 1024;

export class SocketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.serve();
    // A handshake needs little read-ahead; a client flooding us waits in its own buffers.
    if (this.buffered > READ_AHEAD && !this.detached) this.socket.pause();
  };
  private detached = false;
  private readonly onEnd = (): void => this.fail(new ConnectionClosed());
  private readonly onError = (e: Error): void => this.fail(new ConnectionClosed(e.message));

  constructor(private readonly socket: Duplex, leftover?: Buffer) {
    if (leftover?.length) this.onData(leftover);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    socket.resume();
  }

  /** Exactly `n` bytes; rejects with ConnectionClosed if the peer goes away first. */
  read(n: number): Promise<Buffer> {
    if (this.waiter) return Promise.reject(new Error('concurrent read'));
    if (n === 0) return Promise.resolve(Buffer.alloc(0));
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  /** Stops reading; returns the bytes read ahead, which the next owner must consume first. */
  detach(): Buffer {
    this.detached = true;
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    if (w && this.buffered < w.n) {
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  private serve(): void {
    const w = this.waiter;
    if (!w || this.buffered < w.n) return;
    this.waiter = undefined;
    w.resolve(this.take(w.n));
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - got);
        c.copy(out, got, 0, k);
        got += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    if (this.buffered <= READ_AHEAD && !this.detached && this.socket.isPaused()) this.socket.resume();
    return out;
  }
}
