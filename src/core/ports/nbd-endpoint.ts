/**
 * @module
 * What this host's NBD server announces, as `VDI.get_nbd_info` needs it: where it listens
 * and the certificate it presents after STARTTLS. `src/main/` fills it once the server
 * listens; a host that serves no NBD has none.
 */

export interface NbdEndpointInfo {
  /** The TCP port the server listens on (the real one, also when it was asked for port 0). */
  readonly port: number;
  /** The address it listens on when that is one address; empty for a wildcard (0.0.0.0, ::). */
  readonly address: string;
  /** The host's TLS certificate, PEM. */
  readonly cert: string;
  /** A DNS name the certificate is issued to (its first non-wildcard DNS subject). */
  readonly subject: string;
}

export interface NbdEndpoint {
  /** Undefined while the server is not listening. */
  info(): NbdEndpointInfo | undefined;
}
