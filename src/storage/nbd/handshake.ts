/**
 * @module
 * The fixed newstyle handshake: option haggling up to NBD_OPT_GO / NBD_OPT_EXPORT_NAME,
 * including STARTTLS (the same socket upgraded in place), structured replies and the
 * `base:allocation` metadata context. It either hands back a negotiated export with the
 * socket to use for transmission, or `undefined` when the session ends here (abort,
 * garbage, refusal); the caller then closes the socket.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { ExportContext, ExportHandle, NbdServerOptions } from './nbd-options.js';
import { infoBlockSize, infoExport, parseInfoRequest, parseMetaRequest } from './option-codec.js';
import {
  BASE_ALLOCATION, ClientFlag, HandshakeFlag, IHAVEOPT, MAX_OPTION_DATA, NBDMAGIC, OPTION_HEADER_SIZE,
  OPTION_REPLY_MAGIC, Opt, Rep, TransmissionFlag,
} from './protocol.js';
import { SocketInput } from './socket-input.js';
import { SocketReader } from './socket-reader.js';

export interface Negotiated {
  /** The input to continue on: the original socket's, or its TLS wrapper's. */
  input: SocketInput;
  /** Bytes already read past the end of the handshake. */
  leftover: Buffer;
  tls: boolean;
  name: string;
  handle: ExportHandle;
  readOnly: boolean;
  structured: boolean;
  /** Context id of `base:allocation` if the client selected it for this export. */
  metaContextId: number | undefined;
  transmissionFlags: number;
}

/** Options per connection beyond which we treat the client as hostile. */
const MAX_OPTIONS = 1024;
const BASE_ALLOCATION_ID = 1;

/**
 * Runs option haggling on a fresh connection. `session.input` always holds the input in
 * use (the TLS wrapper's after STARTTLS), so the caller can close the right socket when
 * this resolves to `undefined` or throws.
 */
export async function negotiate(
  session: { input: SocketInput }, peer: string, opts: NbdServerOptions, secure: SecureContext | undefined,
): Promise<Negotiated | undefined> {
  let input = session.input;
  let socket = input.socket;
  let reader = new SocketReader(input);
  let tls = false;
  let structured = false;
  let meta: { exportName: string } | undefined;
  const ctx = (): ExportContext => ({ tls, peer });

  const greeting = Buffer.alloc(18);
  greeting.writeBigUInt64BE(NBDMAGIC, 0);
  greeting.writeBigUInt64BE(IHAVEOPT, 8);
  greeting.writeUInt16BE(HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES, 16);
  socket.write(greeting);

  let handedOver = false;
  try {
    return await haggle();
  } finally {
    // Whatever ended the handshake, stop buffering what the client sends.
    if (!handedOver) reader.detach();
  }

  async function haggle(): Promise<Negotiated | undefined> {
    const clientFlags = (await reader.read(4)).readUInt32BE(0);
    if (clientFlags & ~(ClientFlag.FIXED_NEWSTYLE | ClientFlag.NO_ZEROES)) return undefined;
    const noZeroes = (clientFlags & ClientFlag.NO_ZEROES) !== 0;

    const reply = (opt: number, type: number, data?: Buffer | string): void => {
      const body = typeof data === 'string' ? Buffer.from(data) : data;
      const h = Buffer.allocUnsafe(20);
      h.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
      h.writeUInt32BE(opt, 8);
      h.writeUInt32BE(type, 12);
      h.writeUInt32BE(body?.length ?? 0, 16);
      socket.write(body?.length ? Buffer.concat([h, body]) : h);
    };

    for (let count = 0; count < MAX_OPTIONS; count++) {
      const head = await reader.read(OPTION_HEADER_SIZE);
      if (head.readBigUInt64BE(0) !== IHAVEOPT) return undefined;
      const opt = head.readUInt32BE(8);
      const len = head.readUInt32BE(12);
      if (len > MAX_OPTION_DATA) return undefined;
      const data = await reader.read(len);

      if (opts.tlsRequired && !tls && opt !== Opt.STARTTLS && opt !== Opt.ABORT) {
        if (opt === Opt.EXPORT_NAME) return undefined;
        reply(opt, Rep.ERR_TLS_REQD, 'TLS is required: send NBD_OPT_STARTTLS first');
        continue;
      }

      switch (opt) {
        case Opt.ABORT:
          reply(opt, Rep.ACK);
          return undefined;

        case Opt.EXPORT_NAME: {
          const name = data.toString('utf8');
          const handle = await resolve(opts, name, ctx());
          if (!handle) return undefined;
          const readOnly = handle.readOnly || handle.device.readOnly;
          const flags = transmissionFlags(readOnly, structured, opts.multiConn === true);
          const out = Buffer.alloc(noZeroes ? 10 : 134);
          out.writeBigUInt64BE(BigInt(handle.device.size), 0);
          out.writeUInt16BE(flags, 8);
          socket.write(out);
          return done(name, handle, readOnly, flags);
        }

        case Opt.LIST: {
          if (len !== 0) { reply(opt, Rep.ERR_INVALID, 'NBD_OPT_LIST takes no data'); break; }
          const names = opts.listExports ? await opts.listExports(ctx()).catch(() => [] as string[]) : [];
          for (const n of names) {
            const b = Buffer.from(n);
            const d = Buffer.allocUnsafe(4 + b.length);
            d.writeUInt32BE(b.length, 0);
            b.copy(d, 4);
            reply(opt, Rep.SERVER, d);
          }
          reply(opt, Rep.ACK);
          break;
        }

        case Opt.STARTTLS: {
          if (!secure) { reply(opt, Rep.ERR_POLICY, 'TLS is not configured'); break; }
          if (len !== 0 || tls) { reply(opt, Rep.ERR_INVALID, tls ? 'TLS already started' : 'NBD_OPT_STARTTLS takes no data'); break; }
          reply(opt, Rep.ACK);
          // The client may not send anything before our ACK reaches it, so read-ahead is a violation.
          if (reader.detach().length || input.release().length) return undefined;
          const tlsSocket = await upgrade(socket as Socket, secure, opts.tls?.requestCert === true);
          session.input = input = SocketInput.plain(tlsSocket);
          socket = tlsSocket;
          reader = new SocketReader(input);
          tls = true;
          structured = false; // the spec forbids carrying option state across the upgrade
          meta = undefined;
          break;
        }

        case Opt.INFO:
        case Opt.GO: {
          const req = parseInfoRequest(data);
          if (!req) { reply(opt, Rep.ERR_INVALID, 'malformed NBD_OPT_INFO/GO'); break; }
          let handle: ExportHandle | undefined;
          try {
            handle = await opts.resolveExport(req.name, ctx());
          } catch (e) {
            opts.onError?.(e, { peer, export: req.name });
            reply(opt, Rep.ERR_POLICY, 'export refused');
            break;
          }
          if (!handle) { reply(opt, Rep.ERR_UNKNOWN, 'unknown export'); break; }
          const readOnly = handle.readOnly || handle.device.readOnly;
          const flags = transmissionFlags(readOnly, structured, opts.multiConn === true);
          reply(opt, Rep.INFO, infoExport(handle.device.size, flags));
          reply(opt, Rep.INFO, infoBlockSize(handle.device.minBlockSize, handle.device.preferredBlockSize));
          reply(opt, Rep.ACK);
          if (opt === Opt.GO) return done(req.name, handle, readOnly, flags);
          await handle.release().catch((e: unknown) => opts.onError?.(e, { peer, export: req.name }));
          break;
        }

        case Opt.STRUCTURED_REPLY:
          if (len !== 0) { reply(opt, Rep.ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data'); break; }
          structured = true;
          reply(opt, Rep.ACK);
          break;

        case Opt.LIST_META_CONTEXT:
        case Opt.SET_META_CONTEXT: {
          if (!structured) { reply(opt, Rep.ERR_INVALID, 'negotiate structured replies first'); break; }
          const req = parseMetaRequest(data);
          if (opt === Opt.SET_META_CONTEXT) meta = undefined; // replaced even when it fails
          if (!req) { reply(opt, Rep.ERR_INVALID, 'malformed metadata context request'); break; }
          const wanted = opt === Opt.LIST_META_CONTEXT
            ? req.queries.length === 0 || req.queries.some((q) => q === 'base:' || q === BASE_ALLOCATION)
            : req.queries.includes(BASE_ALLOCATION);
          if (wanted) {
            const d = Buffer.allocUnsafe(4 + BASE_ALLOCATION.length);
            d.writeUInt32BE(opt === Opt.SET_META_CONTEXT ? BASE_ALLOCATION_ID : 0, 0);
            d.write(BASE_ALLOCATION, 4);
            reply(opt, Rep.META_CONTEXT, d);
            if (opt === Opt.SET_META_CONTEXT) meta = { exportName: req.name };
          }
          reply(opt, Rep.ACK);
          break;
        }

        default:
          reply(opt, Rep.ERR_UNSUP);
      }
    }
    return undefined;
  }

  async function resolve(o: NbdServerOptions, name: string, c: ExportContext): Promise<ExportHandle | undefined> {
    try {
      return await o.resolveExport(name, c);
    } catch (e) {
      o.onError?.(e, { peer, export: name });
      return undefined;
    }
  }

  function done(name: string, handle: ExportHandle, readOnly: boolean, flags: number): Negotiated {
    handedOver = true;
    return {
      input, leftover: reader.detach(), tls, name, handle, readOnly, structured,
      metaContextId: structured && meta?.exportName === name ? BASE_ALLOCATION_ID : undefined,
      transmissionFlags: flags,
    };
  }
}

export function transmissionFlags(readOnly: boolean, structured: boolean, multiConn: boolean): number {
  let f = TransmissionFlag.HAS_FLAGS | TransmissionFlag.SEND_FLUSH | TransmissionFlag.SEND_FUA;
  if (readOnly) f |= TransmissionFlag.READ_ONLY;
  else f |= TransmissionFlag.SEND_TRIM | TransmissionFlag.SEND_WRITE_ZEROES;
  if (structured) f |= TransmissionFlag.SEND_DF;
  if (multiConn) f |= TransmissionFlag.CAN_MULTI_CONN;
  return f;
}

function upgrade(raw: Socket, secureContext: SecureContext, requestCert: boolean): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = new TLSSocket(raw, { isServer: true, secureContext, requestCert, rejectUnauthorized: requestCert });
    const fail = (e?: Error): void => reject(e ?? new Error('TLS handshake aborted'));
    t.once('error', fail);
    t.once('close', () => fail());
    t.on('error', () => undefined); // a broken peer surfaces as 'close'; never crash the process
    t.once('secure', () => {
      t.off('error', fail);
      resolve(t);
    });
  });
}
