/**
 * @module
 * The few facts about pool membership a host keeps as files beside its database, like
 * xapi's `/etc/xensource/pool.conf` and `ptoken`: its role ("master" or "slave:<address>"),
 * its own pool credential (issued by the master when it joined, bound to its host uuid;
 * hosts log in to one another with it) and the address its API serves (for local tools
 * such as `xe-toolstack-restart`). They are files, not database rows, because a member's
 * database is a replica that the master's content replaces. The database keeps only a
 * digest of each host's credential (meta `pool:host_credential:<uuid>`, replicated), so
 * that every host can check every other host and nothing that reads the database learns
 * a credential.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHostPort, type HostPort } from './host-address.js';

export const POOL_CONF_FILE = 'pool.conf';
export const HOST_CREDENTIAL_FILE = 'pool-credential';
export const API_ADDRESS_FILE = 'api-address';

export type PoolRole = { readonly role: 'master' } | { readonly role: 'slave'; readonly master: HostPort };

function writeAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

export function readPoolRole(dataDir: string): PoolRole {
  const file = join(dataDir, POOL_CONF_FILE);
  if (!existsSync(file)) return { role: 'master' };
  const text = readFileSync(file, 'utf8').trim();
  if (text.startsWith('slave:')) return { role: 'slave', master: parseHostPort(text.slice(6), 443) };
  return { role: 'master' };
}

export function writePoolRole(dataDir: string, r: PoolRole): void {
  const text = r.role === 'master' ? 'master\n' : `slave:${r.master.host.includes(':') ? `[${r.master.host}]` : r.master.host}:${r.master.port}\n`;
  writeAtomic(join(dataDir, POOL_CONF_FILE), text);
}

/** A host's pool credential: a random token that only this host (and nobody's session) has. */
export interface HostCredential {
  readonly hostUuid: string;
  readonly token: string;
}

/** The database meta key holding the digest of a host's credential. */
export const credentialKey = (hostUuid: string) => `pool:host_credential:${hostUuid}`;

export function newCredential(hostUuid: string): HostCredential {
  return { hostUuid, token: randomBytes(32).toString('hex') };
}

/** What the database keeps of a credential: a digest (the token has 256 random bits). */
export function credentialDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function loadHostCredential(dataDir: string): HostCredential | undefined {
  const file = join(dataDir, HOST_CREDENTIAL_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<HostCredential>;
    return typeof c.hostUuid === 'string' && typeof c.token === 'string' ? { hostUuid: c.hostUuid, token: c.token } : undefined;
  } catch {
    return undefined;
  }
}

export function saveHostCredential(dataDir: string, c: HostCredential): void {
  writeAtomic(join(dataDir, HOST_CREDENTIAL_FILE), `${JSON.stringify(c)}\n`, 0o600);
}

export function writeApiAddress(dataDir: string, a: HostPort): void {
  writeAtomic(join(dataDir, API_ADDRESS_FILE), `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}\n`);
}

export function readApiAddress(dataDir: string): HostPort | undefined {
  const file = join(dataDir, API_ADDRESS_FILE);
  if (!existsSync(file)) return undefined;
  return parseHostPort(readFileSync(file, 'utf8').trim(), 443);
}
