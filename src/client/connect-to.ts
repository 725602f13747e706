/**
 * @module
 * Opens a connection to the host of a handler's URL, plain or TLS, for the transfers that
 * run on a connection of their own rather than the client's keep-alive agent (uploads,
 * and downloads read straight into a file). The rules are the agent's: a loopback name is
 * connected to at a loopback address without asking the resolver, and is sent as SNI only
 * when the certificate is verified against it (loopback-name.ts).
 */
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { tls } from './lazy-builtin.js';
import { loopbackAddress } from './loopback-name.js';

export interface ConnectToOptions {
  /** For `https:`: verify the server's certificate (default false), against `ca` when given. */
  readonly tls?: { readonly rejectUnauthorized?: boolean; readonly ca?: string | Buffer | readonly never[] };
  /**
   * The loopback address to connect to when the URL's host is a loopback name (the one the
   * caller found answering); without it, loopback-name.ts's first choice. Other names are
   * resolved, as after a redirect to another host.
   */
  readonly address?: string;
  /** Where reads land (net.connect's and tls.connect's `onread`). */
  readonly onread?: unknown;
}

/** A connection to `url`'s host; `onReady` runs once it can take a request (after a TLS handshake). */
export function connectTo(url: URL, o: ConnectToOptions, onReady?: () => void): net.Socket {
  const name = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = loopbackAddress(name);
  const address = loopback !== undefined ? o.address ?? loopback : undefined;
  const host = address ?? name;
  const extra = o.onread !== undefined ? { onread: o.onread } : {};
  let socket: net.Socket;
  if (url.protocol === 'https:') {
    const verify = o.tls?.rejectUnauthorized ?? false;
    // A loopback name is never an IP literal, and asking net.isIP about one is what
    // loopback-name.ts spares (its first IPv6 check compiles a large pattern).
    const sendName = address !== undefined ? verify : !net.isIP(name);
    const sni = sendName ? { servername: name } : {};
    // Node's tls.connect takes `onread` as net.connect does; its types omit it.
    socket = tls().connect({
      host, port: Number(url.port || 443), rejectUnauthorized: verify,
      ...(o.tls?.ca !== undefined ? { ca: o.tls.ca } : {}), ...sni, ...extra,
    } as ConnectionOptions, onReady);
  } else {
    socket = net.connect({ host, port: Number(url.port || 80), ...extra } as net.NetConnectOpts, onReady);
  }
  socket.setNoDelay(true);
  return socket;
}
