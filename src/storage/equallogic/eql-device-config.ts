/**
 * @module
 * The `equallogic` SR's device config, with iSL's keys: `target` (the group address, where
 * both the Group Manager CLI and the iSCSI portal answer), `username`, `password`,
 * `storagePoolId` (the pool; `default` when absent), `chapuser`/`chappassword`,
 * `provision-type` (thin | thick), `storageSystemId` (the group, as probe reports it:
 * `DELL__EQUALLOGIC__<group name>`), and two ports a real group does not need but a
 * simulated one on loopback does: `port` (SSH, 22) and `iscsiport` (3260, or what the
 * group reports).
 */
import type { Allocation } from '../../core/ports/sr-driver.js';
import { arrayError } from '../array/array-errors.js';
import { parseProvisionType } from '../array/provision-type.js';

export interface EqlDeviceConfig {
  readonly host: string;
  readonly sshPort: number;
  readonly iscsiPort?: number;
  readonly username: string;
  readonly password: string;
  readonly pool: string;
  readonly chap?: { user: string; secret: string };
  readonly provision: Allocation;
  readonly storageSystemId?: string;
}

export const EQL_SYSTEM_PREFIX = 'DELL__EQUALLOGIC__';

/** `DELL__EQUALLOGIC__<group>` / `…__<group>__<pool>`: how iSL names an EqualLogic group and an SR's place in it. */
export function eqlSystemId(group: string): string {
  return `${EQL_SYSTEM_PREFIX}${group}`;
}

export function eqlIdentity(group: string, pool: string): string {
  return `EqualLogic group ${group} pool ${pool}`;
}

function port(v: string | undefined, key: string, fallback?: number): number | undefined {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw arrayError('ARRAY_CONFIG', `device-config:${key} must be a TCP port, got ${v}`);
  return n;
}

export function parseEqlDeviceConfig(dc: Readonly<Record<string, string>>): EqlDeviceConfig {
  const target = dc.target?.trim();
  if (!target) throw arrayError('ARRAY_CONFIG', 'device-config:target (the EqualLogic group address) is required');
  // `host:port` is accepted for the SSH port too; IPv6 in brackets.
  const m = /^\[([^\]]+)\](?::(\d+))?$|^([^:]+)(?::(\d+))?$/.exec(target);
  if (!m) throw arrayError('ARRAY_CONFIG', `device-config:target is not an address: ${target}`);
  const host = (m[1] ?? m[3])!;
  const username = dc.username ?? '';
  const password = dc.password ?? '';
  if (!username || !password) throw arrayError('ARRAY_CONFIG', 'device-config:username and password (the group administrator) are required');
  if (!!dc.chapuser !== !!dc.chappassword) throw arrayError('ARRAY_CONFIG', 'device-config:chapuser and chappassword go together');
  const iscsiPort = port(dc.iscsiport, 'iscsiport');
  return {
    host, sshPort: port(m[2] ?? m[4] ?? dc.port, 'port', 22)!, ...(iscsiPort ? { iscsiPort } : {}),
    username, password, pool: dc.storagePoolId || 'default',
    ...(dc.chapuser ? { chap: { user: dc.chapuser, secret: dc.chappassword! } } : {}),
    provision: parseProvisionType(dc),
    ...(dc.storageSystemId ? { storageSystemId: dc.storageSystemId } : {}),
  };
}
