/**
 * @module
 * Where a host of the pool is reached. XenServer hosts all serve port 443, so xapi names a
 * host by its IP alone; Islet hosts may share a machine and differ only by port, so an
 * address here is `host[:port]`, and the port is left out only where it is the one the
 * reader would assume anyway (HOST_IS_SLAVE from a member serving the same port as its
 * master), which keeps clients that only swap the hostname (Xen Orchestra) working.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `10.0.0.1`, `10.0.0.1:443`, `[fd00::1]:443`, `fd00::1`, `https://h:p/…` → host and port. */
export function parseHostPort(s: string, defaultPort: number): HostPort {
  const text = s.trim();
  if (/^https?:\/\//i.test(text)) {
    const u = new URL(text);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return { host, port };
  }
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : defaultPort };
  const hp = /^([^:]+):(\d+)$/.exec(text);
  if (hp) return { host: hp[1]!, port: Number(hp[2]) };
  if (text === '') throw new Error('empty host address');
  return { host: text, port: defaultPort };
}

export function formatHostPort(a: HostPort): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** The base URL peers use for a host: HTTPS on its API port. */
export function peerUrl(a: HostPort): string {
  return `https://${formatHostPort(a)}`;
}

/** What a member puts in HOST_IS_SLAVE: the master's host, with its port only when it differs from ours. */
export function slaveReplyAddress(master: HostPort, ownPort: number): string {
  if (master.port === ownPort) return master.host;
  return formatHostPort(master);
}

/** Wildcard listen addresses say nothing about where peers reach us. */
export function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}
