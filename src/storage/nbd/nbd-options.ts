/**
 * @module
 * What the embedding toolstack gives the NBD server: how to turn an export name (which
 * carries a VDI and an authorising token) into a block device, TLS material, and the
 * limits that keep one client from exhausting the host.
 */
import type { ExportContext, ExportHandle, ExportResolver } from '../../core/ports/nbd-export.js';

export type { ExportContext, ExportHandle, ExportResolver };

export interface NbdTlsOptions {
  /** PEM certificate chain and private key of this host. */
  cert: string | Buffer;
  key: string | Buffer;
  /** CA bundle used to verify client certificates when `requestCert` is set. */
  ca?: string | Buffer;
  requestCert?: boolean;
}

export interface NbdServerOptions {
  resolveExport: ExportResolver;
  /** Names answered to NBD_OPT_LIST; by default none, since names carry tokens. */
  listExports?: (ctx: ExportContext) => Promise<string[]>;
  /** Enables NBD_OPT_STARTTLS. */
  tls?: NbdTlsOptions;
  /** FORCEDTLS mode: every option but STARTTLS and ABORT is refused until TLS is up. */
  tlsRequired?: boolean;
  /**
   * Advertise NBD_FLAG_CAN_MULTI_CONN. Only safe when every connection to one export
   * shares the same device object (or cache) and its flush() makes all of them durable.
   */
  multiConn?: boolean;
  /** Bytes of WRITE payloads and READ replies held per connection before reading pauses. */
  maxInFlightBytes?: number;
  /** Requests in flight per connection before reading pauses. */
  maxInFlightRequests?: number;
  /**
   * Receive WRITE payloads straight into the buffers handed to the device (default true).
   * This rebuilds accepted sockets through Node's undocumented `_handle`; set false to use
   * ordinary 'data' events (one copy more) should a Node release change that.
   */
  zeroCopyReceive?: boolean;
  /**
   * Asked for every new connection with the peer's address: a function to call when that
   * connection ends, or undefined to refuse it (closed at once, before any byte is sent).
   * The toolstack caps connections per peer with it.
   */
  admit?: (peerAddress: string) => (() => void) | undefined;
  /** A client that has not finished the handshake by then is disconnected. */
  handshakeTimeoutMs?: number;
  /** Called with failures that are not the client's fault (device I/O errors, bugs). */
  onError?: (e: unknown, ctx: { peer: string; export?: string }) => void;
}

export const NBD_DEFAULTS = {
  maxInFlightBytes: 64 * 1024 * 1024,
  maxInFlightRequests: 256,
  handshakeTimeoutMs: 30_000,
} as const;
