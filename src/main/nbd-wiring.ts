/**
 * @module
 * This host's NBD server: listens on `--nbd-listen` (by default the API's address on a free
 * port; `get_nbd_info` reports the real one), offers STARTTLS with the host's certificate,
 * and resolves export names through `api/nbd-exports.ts`. Whether TLS is required follows
 * the pool's networks at each connection: purpose `nbd` requires it, `insecure_nbd` leaves
 * it to the client. Connections to one disk share one chain in the SR (`activate` hands out
 * handles on it), so several connections may write at once (NBD_FLAG_CAN_MULTI_CONN) and
 * nbdcopy uses them.
 */
import { X509Certificate } from 'node:crypto';
import type { Services } from '../core/action-context.js';
import { NbdMode, nbdMode } from '../actions/vdi/vdi-nbd.js';
import { createNbdExportResolver, redactExportName, type NbdSessions } from '../api/nbd-exports.js';
import type { NbdEndpoint, NbdEndpointInfo } from '../core/ports/nbd-endpoint.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { NbdServerOptions } from '../storage/nbd/nbd-options.js';
import { NbdServer } from '../storage/nbd/nbd-server.js';
import { limitsFromEnv } from './connection-guard.js';
import { PeerCap } from './peer-cap.js';
import type { TlsIdentity } from './tls-identity.js';

export interface NbdListen {
  readonly host: string;
  readonly port: number;
}

export interface NbdWiringOptions {
  readonly db: PoolDb;
  readonly sessions: NbdSessions;
  /** Where to listen; `false` serves no NBD at all. */
  readonly listen: NbdListen | false;
  readonly log: (msg: string) => void;
  /** Connections one peer address may hold; by default the API listener's cap (`ISLET_MAX_CONNECTIONS_PER_PEER`). */
  readonly maxPerPeer?: number;
}

export interface NbdWiring {
  readonly endpoint: NbdEndpoint;
  start(services: Services, tls: TlsIdentity, hostName: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The DNS name a client should expect in the certificate: the first DNS subject that is
 * not a wildcard (or a wildcard when there is nothing else), else the common name, else
 * the host name.
 */
export function certificateSubject(pem: string, fallback: string): string {
  try {
    const x = new X509Certificate(pem);
    const dns = (x.subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
    const plain = dns.find((n) => !n.includes('*'));
    if (plain) return plain;
    if (dns.length) return dns[dns.length - 1]!;
    const cn = /^CN=(.*)$/m.exec(x.subject)?.[1];
    return cn || fallback;
  } catch {
    return fallback;
  }
}

const isWildcard = (h: string) => h === '0.0.0.0' || h === '::' || h === '';

export function prepareNbd(o: NbdWiringOptions): NbdWiring {
  let server: NbdServer | undefined;
  let info: NbdEndpointInfo | undefined;
  return {
    endpoint: { info: () => info },
    start: async (services, tls, hostName) => {
      if (!o.listen) return;
      const db = o.db;
      const cap = new PeerCap(o.maxPerPeer ?? limitsFromEnv().maxPerPeer, o.log, 'nbd');
      const opts: NbdServerOptions = {
        admit: (peer) => cap.take(peer),
        resolveExport: createNbdExportResolver({ db, sessions: o.sessions, services, log: o.log }),
        tls: { cert: tls.cert, key: tls.key },
        // Read at each connection, so that adding or removing a network purpose takes effect at once.
        get tlsRequired() {
          return nbdMode(db) === NbdMode.tls;
        },
        multiConn: true,
        onError: (e, c) => {
          const what = e instanceof Error ? e.message : String(e);
          o.log(`nbd: ${c.peer}${c.export ? ` ${redactExportName(c.export)}` : ''}: ${what}`);
        },
      };
      server = new NbdServer(opts);
      const bound = await server.listen(o.listen.port, o.listen.host);
      info = {
        port: bound.port,
        address: isWildcard(o.listen.host) ? '' : o.listen.host,
        cert: tls.cert,
        subject: certificateSubject(tls.cert, hostName),
      };
    },
    stop: async () => {
      info = undefined;
      await server?.close();
      server = undefined;
    },
  };
}
