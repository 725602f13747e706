/**
 * @module
 * The calling side of the simulator protocol: numbered requests, their progress lines and
 * answers, and pushed events, over one socket. Used by the toolstack's client and by a
 * simulator sending a migration to another. When the socket goes, every pending and later
 * call fails UNAVAILABLE: nothing reconnects behind the caller's back.
 */
import { connect } from 'node:net';
import { HypervisorError, HypervisorErrorCode } from '../core/ports/hypervisor.js';
import { JsonLines } from './json-lines.js';
import { errorFromWire, parseSimAddress, type SimAddress, type WireError } from './sim-protocol.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: (fraction: number) => void;
}

function unavailable(why: string): HypervisorError {
  return new HypervisorError(HypervisorErrorCode.unavailable, why);
}

export class RpcConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventHandlers = new Set<(event: unknown) => void>();
  private closeReason?: string;

  private constructor(private readonly lines: JsonLines, private readonly label: string) {}

  /** Connects to `HOST:PORT`, `unix:PATH` or a parsed address. */
  static open(address: string | SimAddress, timeoutMs = 10_000): Promise<RpcConnection> {
    const addr = typeof address === 'string' ? parseSimAddress(address) : address;
    const label = typeof address === 'string' ? address : JSON.stringify(address);
    return new Promise((resolve, reject) => {
      const socket = 'path' in addr ? connect(addr.path) : connect(addr.port, addr.host);
      const timer = setTimeout(() => socket.destroy(new Error('connect timed out')), timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(unavailable(`cannot reach hypervisor at ${label}: ${e.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        const conn = new RpcConnection(new JsonLines(socket, (m) => conn.receive(m)), label);
        conn.lines.onClose((err) => conn.closed(err));
        resolve(conn);
      });
    });
  }

  get isOpen(): boolean {
    return this.closeReason === undefined;
  }

  call<T>(method: string, params: Record<string, unknown> = {}, onProgress?: (f: number) => void): Promise<T> {
    if (this.closeReason !== undefined) return Promise.reject(unavailable(this.closeReason));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.lines.send({ id, method, params });
    });
  }

  onEvent(handler: (event: unknown) => void): () => void {
    this.eventHandlers.add(handler);
    return () => this.eventHandlers.delete(handler);
  }

  /** Called once when the connection ends, whoever ended it. */
  onClose(handler: (reason: string) => void): void {
    this.lines.onClose(() => handler(this.closeReason ?? 'closed'));
  }

  close(): Promise<void> {
    if (this.lines.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      this.lines.onClose(() => resolve());
      this.lines.end();
      // A peer that never closes its side must not hold us.
      setTimeout(() => this.lines.destroy(), 1000).unref();
    });
  }

  private receive(m: unknown): void {
    if (typeof m !== 'object' || m === null) return;
    const msg = m as { id?: number; result?: unknown; error?: WireError; progress?: number; event?: unknown };
    if (msg.event !== undefined && msg.id === undefined) {
      for (const h of this.eventHandlers) h(msg.event);
      return;
    }
    const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
    if (!p) return;
    if (typeof msg.progress === 'number') {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id!);
    if (msg.error) p.reject(errorFromWire(msg.error));
    else p.resolve(msg.result);
  }

  private closed(err?: Error): void {
    this.closeReason ??= `connection to hypervisor at ${this.label} lost${err ? `: ${err.message}` : ''}`;
    for (const p of this.pending.values()) p.reject(unavailable(this.closeReason));
    this.pending.clear();
  }
}
