/**
 * @module
 * One JSON value per line over a stream socket: the framing of the hypervisor simulator's
 * protocol, shared by the simulator and its client. A peer that sends a line too long or
 * not JSON is cut off rather than buffered without bound.
 */
import type { Socket } from 'node:net';

const MAX_LINE = 1 << 20;

export class JsonLines {
  private buf = '';
  private closed = false;
  private readonly closeHandlers: Array<(err?: Error) => void> = [];

  constructor(readonly socket: Socket, onMessage: (msg: unknown) => void) {
    socket.setEncoding('utf8');
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      while (!this.closed && (nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (!line.trim()) continue;
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          this.destroy(new Error('malformed line'));
          return;
        }
        onMessage(msg);
      }
      if (this.buf.length > MAX_LINE) this.destroy(new Error('line too long'));
    });
    let lastError: Error | undefined;
    socket.on('error', (err) => { lastError = err; });
    socket.on('close', () => {
      this.closed = true;
      for (const h of this.closeHandlers.splice(0)) h(lastError);
    });
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  send(msg: unknown): void {
    if (this.isClosed) return;
    this.socket.write(`${JSON.stringify(msg)}\n`);
  }

  onClose(handler: (err?: Error) => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  /** Flushes what was sent, then closes. */
  end(): void {
    if (!this.isClosed) this.socket.end();
  }

  destroy(err?: Error): void {
    this.closed = true;
    this.socket.destroy(err);
  }
}
