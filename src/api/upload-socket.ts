/**
 * @module
 * Takes an upload's connection from Node's HTTP parser once the request head is parsed,
 * so that body reads land in buffers the reader picks (the socket's `onread` mode) rather
 * than in a fresh buffer per TLS record or socket read. Node offers `onread` only when it
 * builds a socket itself, not for an accepted one nor a TLS socket over one; but both
 * kinds of socket handle (TCP and TLS) accept a user buffer, and `net.Socket` steers its
 * reads into one when its (undocumented, stable since Node 12) `kBuffer` fields are set.
 * Those fields, the parser's `unconsume()` (what Node's own upgrade path uses) and the
 * server's socket listeners are looked up defensively: if anything is missing, the body
 * is read from the request's own events instead, only with more copies.
 *
 * Once taken, the connection serves only this request: the response closes it.
 */
import { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';

export interface InputHooks {
  /** Take the connection from the parser (a known length); else read the request's events. */
  readonly steer: boolean;
  /** Where the next socket read should land (steered only). */
  nextBuffer(): Buffer;
  /** `n` bytes landed at the start of `buf`; false to stop reading for now. */
  landed(buf: Buffer, n: number): boolean;
  /** A fresh chunk (request events, or bytes the parser had already taken); false to pause. */
  chunk(c: Buffer): boolean;
  /** The body's source ended: by the connection closing (true) or the request's end. */
  end(byClose: boolean): void;
  /** After `stop()`: `n` more bytes were read and dropped; false once the body is all in. */
  dropped(n: number): boolean;
}

export interface TakenInput {
  readonly steered: boolean;
  pause(): void;
  resume(): void;
  /** The body is complete: stop reading, let the request end. */
  finish(): void;
  /** The reader gave up: read and drop the rest, so the client reads the answer; the request ends with the body. */
  stop(): void;
}

interface SteerFields {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

let fields: SteerFields | null | undefined;

/** `net.Socket`'s own fields for `onread`, found on a socket built with it. */
function steerFields(): SteerFields | null {
  if (fields !== undefined) return fields;
  const probe = new Socket({ onread: { buffer: () => Buffer.alloc(1), callback: () => undefined } } as ConstructorParameters<typeof Socket>[0]);
  const by = (d: string) => Object.getOwnPropertySymbols(probe).find((s) => s.description === d);
  const buffer = by('kBuffer');
  const callback = by('kBufferCb');
  const generator = by('kBufferGen');
  probe.destroy();
  fields = buffer && callback && generator && typeof (probe as unknown as Record<symbol, unknown>)[generator] === 'function'
    ? { buffer, callback, generator }
    : null;
  return fields;
}

interface Handle {
  useUserBuffer?: (b: Uint8Array) => void;
  readStart?: () => number;
}

interface Parser {
  _consumed?: boolean;
  unconsume?: () => void;
}

type Listener = (...a: unknown[]) => void;

function removeNamed(s: Socket, ev: string, name: string): void {
  for (const l of s.listeners(ev) as Listener[]) if (l.name === name || l.name === `bound ${name}`) s.removeListener(ev, l);
}

export function takeConnection(req: IncomingMessage, h: InputHooks): TakenInput {
  const socket = req.socket as Socket & Record<symbol, unknown> & { parser?: Parser | null; _handle?: Handle | null; _httpMessage?: { shouldKeepAlive: boolean } | null };
  const f = h.steer ? steerFields() : null;
  const handle = socket._handle;
  const parser = socket.parser;
  if (!f || !handle || typeof handle.useUserBuffer !== 'function' || !parser || typeof parser.unconsume !== 'function'
    || socket.listeners('data').length > 1) {
    return fromRequest(req, h);
  }
  socket.pause();
  if (parser._consumed) parser.unconsume();
  parser._consumed = false;
  removeNamed(socket, 'pause', 'onSocketPause');
  removeNamed(socket, 'resume', 'onSocketResume');
  removeNamed(socket, 'data', 'socketOnData');
  // The server's end handler would ask the parser to finish a body it never saw end.
  removeNamed(socket, 'end', 'socketOnEnd');
  if (socket._httpMessage) socket._httpMessage.shouldKeepAlive = false;

  let stopped = false;
  let finished = false;
  let sawEnd = false;
  const first = h.nextBuffer();
  socket[f.buffer] = first;
  socket[f.generator] = () => (stopped ? discard : h.nextBuffer());
  socket[f.callback] = (n: number, buf: Uint8Array) => {
    if (stopped) return dropped(n);
    const more = h.landed(buf as Buffer, n);
    if (!more) input.pause();
    return more;
  };
  const discard = Buffer.allocUnsafeSlow(64 * 1024);
  handle.useUserBuffer(first);
  // Should this Node ignore the user buffer, the bytes still come, as 'data'.
  socket.on('data', (c: Buffer) => {
    if (stopped) dropped(c.length);
    else if (!h.chunk(c)) input.pause();
  });
  /** Reads the dropped body to its end, then ends the request, as a body read whole does. */
  const dropped = (n: number): boolean => {
    if (h.dropped(n)) return true;
    input.finish();
    return false;
  };
  const ended = () => {
    if (sawEnd) return;
    sawEnd = true;
    if (!finished) h.end(true);
  };
  socket.on('end', ended);
  socket.on('close', ended);
  // What the parser took of the body comes first. It may still be parsing the read that
  // held the head (a handler that opens the body at once runs inside that parse), so the
  // request is drained only once that is over, and reading starts after.
  let ready = false;
  let resumeWhenReady = false;
  setImmediate(() => {
    for (let c = req.read() as Buffer | null; c !== null; c = req.read() as Buffer | null) h.chunk(c);
    ready = true;
    if (resumeWhenReady) input.resume();
  });

  const input: TakenInput = {
    steered: true,
    pause: () => {
      socket.pause();
      // The listener's body timeout spares a request whose reader holds back.
      if (!finished) req.pause();
    },
    resume: () => {
      if (finished || socket.destroyed) return;
      if (!ready) {
        resumeWhenReady = true;
        return;
      }
      req.resume();
      socket.resume();
    },
    finish: () => {
      if (finished) return;
      finished = true;
      socket.pause();
      // The request ends, complete (an incomplete one that ends closes its connection),
      // so that the listener times the answer, not the body.
      req.complete = true;
      req.push(null);
      req.resume();
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      if (!socket.destroyed) socket.resume();
    },
  };
  return input;
}

/** The body from the request's events (chunked bodies, or no way to take the connection). */
function fromRequest(req: IncomingMessage, h: InputHooks): TakenInput {
  let stopped = false;
  let done = false;
  req.on('data', (c: Buffer) => {
    if (stopped) return;
    if (!h.chunk(c)) req.pause();
  });
  req.on('end', () => { done = true; h.end(false); });
  const cut = () => { if (!done) { done = true; h.end(true); } };
  req.on('aborted', cut);
  req.on('close', cut);
  req.on('error', cut);
  req.pause();
  return {
    steered: false,
    pause: () => req.pause(),
    resume: () => { if (!stopped) req.resume(); },
    finish: () => undefined,
    stop: () => {
      stopped = true;
      req.resume();
    },
  };
}
