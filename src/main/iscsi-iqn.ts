/**
 * @module
 * A host's iSCSI initiator name, which the array SRs log in with and an array administrator
 * grants LUNs to. As on XenServer 6.0.2 it is set when the host is installed, in its
 * `other_config:iscsi_iqn`, where an administrator may change it; a host recorded before
 * Islet set it there gets the same name from its uuid.
 */
import type { PoolDb } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';

/** The name a new host is given: Islet's naming authority and the host's uuid. */
export function defaultIscsiIqn(hostUuid: string): string {
  return `iqn.2026-12.org.islet:${hostUuid}`;
}

/** The host's initiator name: `other_config:iscsi_iqn`, or the default one of its uuid. */
export function hostIscsiIqn(db: PoolDb, hostRef: Ref<'host'> | undefined): string {
  const row = hostRef ? db.get('host', hostRef) : undefined;
  const given = (row?.other_config as Record<string, string> | undefined)?.iscsi_iqn;
  if (given) return given;
  return defaultIscsiIqn(String(row?.uuid ?? 'unknown-host'));
}
