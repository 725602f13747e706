/**
 * @module
 * Exact-length async reads over a `SocketInput`, for the handshake phase where each step
 * waits for the client. Read-ahead is bounded (a flooding client waits in its own
 * buffers), and `detach()` hands back whatever was read past the last request, so that
 * the transmission phase, or TLS, can take over the same connection without losing a byte.
 */
import type { InputSink, SocketInput } from './socket-input.js';

/** The peer closed or broke the connection before sending what was needed. */
export class ConnectionClosed extends Error {
  constructor(message = 'connection closed by peer') {
    super(message);
    this.name = 'ConnectionClosed';
  }
}

const READ_AHEAD = 128 * 1024;

export class SocketReader implements InputSink {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private detached = false;
  private readonly onEnd = (): void => this.fail(new ConnectionClosed());
  private readonly onError = (e: Error): void => this.fail(new ConnectionClosed(e.message));

  constructor(private readonly input: SocketInput) {
    const s = input.socket;
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
    s.on('error', this.onError);
    if (s.destroyed || s.readableEnded) this.onEnd();
    input.attach(this);
  }

  nextBuffer(): Buffer {
    return this.input.stagingBuffer;
  }

  onData(buf: Buffer, n: number, reused: boolean): void {
    const c = reused ? Buffer.from(buf.subarray(0, n)) : buf.subarray(0, n);
    this.chunks.push(c);
    this.buffered += n;
    this.serve();
    if (this.buffered > READ_AHEAD && !this.detached) this.input.pause();
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
    if (!this.detached) {
      this.detached = true;
      this.input.detach();
      const s = this.input.socket;
      s.off('end', this.onEnd);
      s.off('close', this.onEnd);
      s.off('error', this.onError);
    }
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
    if (this.buffered <= READ_AHEAD && !this.detached) this.input.resume();
    return out;
  }
}
