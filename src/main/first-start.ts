/**
 * @module
 * What a host does when it finds its data directory empty: make itself master of a new
 * pool, with its host and metrics records, XenServer's roles, and the root account.
 * On every later start it only refreshes what a restart changes (agent start time).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import type { PoolDb } from '../core/ports/pool-db.js';
import { newRef, newUuid, xapiDate, type Ref } from '../core/ref.js';
import { builtinRoleIsInternal, builtinRoleUuid, staticRoleRef } from '../core/role-catalogue.js';
import { RoleDescriptions, Roles } from '../datamodel/roles.js';
import { API_VERSION, softwareVersion } from './product.js';
import { defaultIscsiIqn } from './iscsi-iqn.js';

export interface HostIdentity {
  readonly hostName: string;
  readonly address: string;
  /** Seconds since the epoch at which this host "booted" (its hypervisor started). */
  readonly bootTime: number;
  readonly memoryTotal?: number;
}

export interface FirstStartResult {
  readonly hostRef: Ref<'host'>;
  /** Set when the root password was generated and written to a file. */
  readonly generatedPasswordFile?: string;
  readonly created: boolean;
}

const THIS_HOST = 'this_host';

export function thisHostRef(db: PoolDb): Ref<'host'> | undefined {
  return db.getMeta(THIS_HOST);
}

export async function ensurePool(
  db: PoolDb,
  dataDir: string,
  id: HostIdentity,
  rootPassword: string | undefined,
  setUser: (name: string, pw: string) => Promise<void>,
): Promise<FirstStartResult> {
  const now = Date.now() / 1000;
  const existing = thisHostRef(db);
  if (existing && db.get('host', existing)) {
    const row = db.get('host', existing)!;
    db.update('host', existing, {
      address: id.address,
      other_config: {
        ...(row.other_config as Record<string, string>),
        agent_start_time: now.toFixed(3),
        boot_time: id.bootTime.toFixed(3),
      },
    });
    return { hostRef: existing, created: false };
  }

  let generatedPasswordFile: string | undefined;
  let pw = rootPassword;
  if (!pw) {
    pw = randomBytes(12).toString('base64url');
    generatedPasswordFile = join(dataDir, 'root-password');
    // In xe's -pwf layout (user, then password), so `xe -pwf DIR/root-password` just works.
    await writeFile(generatedPasswordFile, `root\n${pw}\n`, { mode: 0o600 });
  }
  await setUser('root', pw);

  const hostRef = newRef<'host'>();
  const hostUuid = newUuid();
  const iqn = defaultIscsiIqn(hostUuid);
  const metricsRef = newRef<'host_metrics'>();
  const memTotal = id.memoryTotal ?? totalmem();
  db.transaction(() => {
    db.create('host_metrics', metricsRef, {
      uuid: newUuid(),
      memory_total: memTotal,
      live: true,
      last_updated: xapiDate(),
    });
    db.create('host', hostRef, {
      uuid: hostUuid,
      name_label: id.hostName,
      name_description: 'Default install',
      hostname: id.hostName,
      address: id.address,
      enabled: true,
      API_version_major: API_VERSION.major,
      API_version_minor: API_VERSION.minor,
      API_version_vendor: API_VERSION.vendor,
      software_version: softwareVersion(id.hostName),
      metrics: metricsRef,
      other_config: { agent_start_time: now.toFixed(3), boot_time: id.bootTime.toFixed(3), iscsi_iqn: iqn },
    });
    db.create('pool', newRef<'pool'>(), { uuid: newUuid(), name_label: '', master: hostRef });
    // XenServer's own uuids and refs for its roles, so that a script naming pool-admin by
    // uuid works on both; pools made before keep the random ones they were given.
    for (const role of Roles) {
      const uuid = builtinRoleUuid(role);
      db.create('role', staticRoleRef(uuid) as Ref<'role'>, {
        uuid, name_label: role, name_description: RoleDescriptions[role], is_internal: builtinRoleIsInternal(role),
      });
    }
    db.setMeta(THIS_HOST, hostRef);
  });
  return { hostRef, created: true, ...(generatedPasswordFile ? { generatedPasswordFile } : {}) };
}
