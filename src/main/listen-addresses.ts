/**
 * @module
 * Which addresses this host's API listener accepts connections at: the one address it is
 * bound to, or, bound to a wildcard, every address of the machine's interfaces (and all
 * of 127.0.0.0/8, which Linux routes to the loopback). A management interface may only
 * take such an address, since the pool and clients reach the host there.
 */
import { networkInterfaces } from 'node:os';

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

export function listensOnFor(listenHost: string): (ip: string) => boolean {
  if (!WILDCARDS.has(listenHost)) return (ip) => ip === listenHost;
  return (ip) => ip.startsWith('127.')
    || Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === ip));
}

/** The network cards a host has: `--nics`/`ISLET_NICS` (comma-separated), `eth0` alone by default. */
export function configuredNics(given: readonly string[] | undefined): string[] {
  const list = given ?? (process.env.ISLET_NICS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const valid = list.filter((n) => /^[a-z][a-z0-9._-]{0,14}$/i.test(n));
  return valid.length ? [...new Set(valid)] : ['eth0'];
}
