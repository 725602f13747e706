/**
 * @module
 * Where incoming bytes land. A plain socket delivers fresh 64 KiB chunks as 'data'
 * events; for a multi-gigabyte copy that is an allocation, a GC'd backing store and a
 * memcpy per chunk. A *steered* socket instead reads into a buffer its consumer picks
 * before every read (Node's `onread` option), so a WRITE payload can be received straight
 * into the buffer that goes to the disk, and request headers into one reused staging area.
 *
 * Node only offers `onread` when constructing a socket, not for accepted ones, so
 * `steer()` moves the accepted socket's handle into a new `net.Socket` built with it.
 * That relies on the (stable but undocumented) `_handle` field, so it is guarded: when the
 * field is missing, the new socket does not adopt the handle, or `onread` is ignored, we keep
 * to plain reads and everything still works, only with one copy more. It is kept because it
 * pays: with it, receiving a gigabyte of WRITE payloads costs the event loop about 0.25 s
 * less CPU (a fifth of the server's total), measured with `nbd-bench` (`plain` section).
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface InputSink {
  /** Buffer the next read may fill (steered sockets only; any length > 0). */
  nextBuffer(): Buffer;
  /**
   * `buf[0..n)` arrived. When `reused` is set, `buf` is overwritten by a later read, so
   * the sink must copy whatever it keeps past this call.
   */
  onData(buf: Buffer, n: number, reused: boolean): void;
}

const STAGING_SIZE = 64 * 1024;

export class SocketInput {
  private sink: InputSink | undefined;
  /** Bytes that arrived with no sink attached, handed to the next one. */
  private held: Buffer[] = [];
  private readonly staging: Buffer;
  private readonly onChunk = (c: Buffer): void => this.deliver(c, c.length, false);

  /** Reads land where the sink says (`onread`), rather than in fresh 'data' chunks. */
  readonly steered: boolean;

  private constructor(readonly socket: Duplex, staging: Buffer | undefined) {
    this.steered = staging !== undefined;
    this.staging = staging ?? Buffer.alloc(0);
    if (!this.steered) socket.on('data', this.onChunk);
  }

  /** Input over any stream, fed by its 'data' events (TLS sockets, fallbacks). */
  static plain(socket: Duplex): SocketInput {
    return new SocketInput(socket, undefined);
  }

  /**
   * Rebuilds an accepted, not yet reading socket (server `pauseOnConnect`) as a steered
   * one. The original object is retired; use the returned socket from now on.
   */
  static steer(accepted: Socket): SocketInput {
    const handle = (accepted as unknown as { _handle?: { readStart?: unknown; useUserBuffer?: unknown } | null })._handle;
    if (!handle || typeof handle.useUserBuffer !== 'function' || typeof handle.readStart !== 'function') {
      return SocketInput.plain(accepted);
    }
    let input: SocketInput | undefined;
    // The first read lands in whatever the constructor gets, before any sink can choose.
    const staging = Buffer.allocUnsafe(STAGING_SIZE);
    const socket = new Socket({
      handle,
      allowHalfOpen: true, // a client may send its last requests and shut its side before reading the replies
      onread: {
        buffer: () => input?.nextBuffer() ?? staging,
        callback: (n: number, buf: Uint8Array) => {
          input!.deliver(buf as Buffer, n, true);
        },
      },
    } as ConstructorParameters<typeof Socket>[0] & { handle: unknown });
    if ((socket as unknown as { _handle?: unknown })._handle !== handle) {
      // This Node did not adopt the handle: the accepted socket still owns it, keep that one.
      return SocketInput.plain(accepted);
    }
    // Retire the old wrapper without closing the handle it no longer owns; this also
    // settles the server's connection count.
    (accepted as unknown as { _handle: unknown })._handle = null;
    accepted.destroy();
    input = new SocketInput(socket, staging);
    // Never fires while Node honours `onread` (reads then bypass the stream); should a
    // release ignore it, the bytes still arrive, as fresh chunks, instead of stalling.
    socket.on('data', (c: Buffer) => input!.deliver(c, c.length, false));
    socket.pause();
    return input;
  }

  /** Starts delivering to `sink` (first whatever arrived while nobody listened). */
  attach(sink: InputSink): void {
    this.sink = sink;
    const held = this.held;
    this.held = [];
    for (const b of held) {
      if (this.sink !== sink) {
        this.held.push(b);
        continue;
      }
      sink.onData(b, b.length, false);
    }
    if (this.sink === sink) this.socket.resume();
  }

  /** Stops reading and delivering; bytes already read are kept for the next sink. */
  detach(): void {
    this.sink = undefined;
    this.socket.pause();
  }

  /** Stops reading for good and forgets the socket (before handing it to TLS). */
  release(): Buffer[] {
    this.detach();
    if (!this.steered) this.socket.off('data', this.onChunk);
    const held = this.held;
    this.held = [];
    return held;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (this.sink) this.socket.resume();
  }

  private nextBuffer(): Buffer {
    return this.sink ? this.sink.nextBuffer() : this.staging;
  }

  private deliver(buf: Buffer, n: number, reused: boolean): void {
    if (this.sink) {
      this.sink.onData(buf, n, reused);
      return;
    }
    this.held.push(reused ? Buffer.from(buf.subarray(0, n)) : buf.subarray(0, n));
    this.socket.pause();
  }

  /** The staging area a sink may hand back from `nextBuffer()` when it has no better target. */
  get stagingBuffer(): Buffer {
    return this.staging;
  }
}
