/**
 * @module
 * The few facts about pool membership a host keeps as files beside its database, like
 * xapi's `/etc/xensource/pool.conf` and `ptoken`: its role ("master" or "slave:<address>"),
 * the pool secret hosts use to log in to one another, and the address its API serves (for
 * local tools such as `xe-toolstack-restart`). They are files, not database rows, because a
 * member's database is a replica that the master's content replaces.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHostPort, type HostPort } from './host-address.js';

export const POOL_CONF_FILE = 'pool.conf';
export const POOL_SECRET_FILE = 'pool-secret';
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

/** The pool secret, made on first use; a member replaces it with its master's at join. */
export function loadPoolSecret(dataDir: string): string {
  const file = join(dataDir, POOL_SECRET_FILE);
  if (existsSync(file)) {
    const s = readFileSync(file, 'utf8').trim();
    if (s) return s;
  }
  const s = randomBytes(32).toString('hex');
  writeAtomic(file, `${s}\n`, 0o600);
  return s;
}

export function savePoolSecret(dataDir: string, secret: string): void {
  writeAtomic(join(dataDir, POOL_SECRET_FILE), `${secret}\n`, 0o600);
}

export function writeApiAddress(dataDir: string, a: HostPort): void {
  writeAtomic(join(dataDir, API_ADDRESS_FILE), `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}\n`);
}

export function readApiAddress(dataDir: string): HostPort | undefined {
  const file = join(dataDir, API_ADDRESS_FILE);
  if (!existsSync(file)) return undefined;
  return parseHostPort(readFileSync(file, 'utf8').trim(), 443);
}
