/**
 * @module
 * Pool calls of services a pool here does not have set up, answered as a XenServer 6.0.2
 * pool without them: workload balancing (WLB_NOT_INITIALIZED with no server recorded; a
 * server named to initialize_wlb is checked for a host:port form, WLB_URL_INVALID, and
 * contacted, WLB_CONNECTION_REFUSED or WLB_UNKNOWN_HOST when it cannot be), external
 * authentication (pool-wide checks, then the first host's AUTH_UNKNOWN_TYPE), the redo log
 * (CANNOT_ENABLE_REDO_LOG: no host can keep a VDI attached for it; disabling is a no-op),
 * VM archive targets (a share cannot be mounted here, as VMPP archives find). The vSwitch
 * controller address is recorded, as on a host with the openvswitch backend (what
 * software_version.network_backend says), and local storage caching is tried host by host.
 */
import { connect } from 'node:net';
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { hostCachingActions } from '../host/host-caching.js';
import { assertWlbEnabled, enableExternalAuthOn } from '../host/host-services.js';
import { thePool } from '../host/on-host.js';
import { isIP } from 'node:net';

function assertWlbInitialized(ctx: ActionContext): void {
  if (!thePool(ctx)[1].wlb_url) throw new ApiError('WLB_NOT_INITIALIZED', []);
}

/** xapi's reading of a WLB address: host:port, the port a number. */
function wlbHostPort(url: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d{1,5})$/.exec(url);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new ApiError('WLB_URL_INVALID', [url]);
  return [m[1] ?? m[2]!, port];
}

/** Opens a TCP connection to the server, as xapi's request would first; maps failures to WLB errors. */
function reach(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.setTimeout(30_000);
    s.once('connect', () => { s.destroy(); resolve(); });
    s.once('timeout', () => { s.destroy(); reject(new ApiError('WLB_TIMEOUT', ['30.'])); });
    s.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EHOSTUNREACH' ? new ApiError('WLB_UNKNOWN_HOST', []) : new ApiError('WLB_CONNECTION_REFUSED', []));
    });
  });
}

/** The master first, as xapi orders the hosts for pool-wide external authentication. */
function masterFirst(ctx: ActionContext): Ref<'host'>[] {
  const master = thePool(ctx)[1].master;
  const hosts = ctx.db.all('host').map(([ref]) => ref);
  return [...hosts.filter((h) => h === master), ...hosts.filter((h) => h !== master)];
}

function tryEach(ctx: ActionContext, fn: (host: Ref<'host'>) => unknown): Ref<'host'>[] {
  const failed: Ref<'host'>[] = [];
  for (const [host] of ctx.db.all('host')) {
    try {
      fn(host);
    } catch {
      failed.push(host);
    }
  }
  return failed;
}

export const poolServiceActions = {
  initialize_wlb: async (ctx, a) => {
    const [host, port] = wlbHostPort(a.wlb_url);
    await reach(host, port);
    // Something answers there, but Islet speaks no WLB protocol to register with it.
    throw new ApiError('WLB_MALFORMED_RESPONSE', ['AddXenServer', 'the server did not answer as a workload balancing server', '']);
  },
  deconfigure_wlb: (ctx) => {
    assertWlbInitialized(ctx);
    const [ref] = thePool(ctx);
    ctx.db.update('pool', ref, { wlb_url: '', wlb_username: '', wlb_enabled: false });
    return '';
  },
  send_wlb_configuration: (ctx) => {
    assertWlbInitialized(ctx);
    throw new ApiError('WLB_CONNECTION_REFUSED', []);
  },
  retrieve_wlb_configuration: (ctx) => {
    assertWlbInitialized(ctx);
    throw new ApiError('WLB_CONNECTION_REFUSED', []);
  },
  retrieve_wlb_recommendations: (ctx) => {
    assertWlbEnabled(ctx);
    throw new ApiError('WLB_CONNECTION_REFUSED', []);
  },
  send_test_post: async (_ctx, a) => {
    let res: Response;
    try {
      res = await fetch(`https://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/`, { method: 'POST', body: a.body });
    } catch (e) {
      throw new ApiError('INTERNAL_ERROR', [`cannot post to ${a.host}:${a.port}: ${e instanceof Error ? e.message : String(e)}`]);
    }
    return res.text();
  },
  enable_external_auth: (ctx, a) => {
    mustRow(ctx, 'pool', a.pool);
    const hosts = masterFirst(ctx);
    const enabled = hosts.find((h) => ctx.db.get('host', h)?.external_auth_type);
    if (enabled) throw new ApiError('POOL_AUTH_ALREADY_ENABLED', [enabled]);
    const names = hosts.map((h) => String(ctx.db.get('host', h)?.hostname ?? ''));
    if (new Set(names).size !== names.length) {
      throw new ApiError('POOL_AUTH_ENABLE_FAILED_DUPLICATE_HOSTNAME', [hosts[0]!, 'At least two hosts in the pool have the same hostname']);
    }
    // The first host refuses (no plugin for the type); there is nothing to roll back.
    return enableExternalAuthOn(ctx, hosts[0]!, a.auth_type);
  },
  disable_external_auth: (ctx, a) => {
    mustRow(ctx, 'pool', a.pool);
    return '';
  },
  // Every host has the master's (empty) directory settings: nothing can differ.
  detect_nonhomogeneous_external_auth: (ctx, a) => {
    mustRow(ctx, 'pool', a.pool);
    return '';
  },
  enable_redo_log: (ctx, a) => {
    mustRow(ctx, 'SR', a.sr);
    throw new ApiError('CANNOT_ENABLE_REDO_LOG', ['failed to make VDI static.']);
  },
  disable_redo_log: (ctx) => {
    const [ref, pool] = thePool(ctx);
    if (pool.redo_log_enabled === true) ctx.db.update('pool', ref, { redo_log_enabled: false });
    return '';
  },
  set_vswitch_controller: (ctx, a) => {
    const [ref, pool] = thePool(ctx);
    if (pool.vswitch_controller === a.address) return '';
    if (a.address !== '' && isIP(a.address) === 0) throw new ApiError('INVALID_IP_ADDRESS_SPECIFIED', ['address']);
    ctx.db.update('pool', ref, { vswitch_controller: a.address });
    return '';
  },
  // The protection policies' archive check (the vmpr plugin's in 6.0.2): the target is a
  // share to mount, which this system cannot do, so it fails as VMPP archives do
  // (vmpp-protect.ts), as a plugin failure naming the mount.
  test_archive_target: (ctx, a) => {
    mustRow(ctx, 'pool', a.self);
    const location = String((a.config as Record<string, string>).location ?? '');
    throw new ApiError('XENAPI_PLUGIN_FAILURE', ['fault', 'VMPP_ARCHIVE_TARGET_MOUNT_FAILED', `cannot mount share ${location}`]);
  },
  enable_local_storage_caching: (ctx, a) => {
    mustRow(ctx, 'pool', a.self);
    const failed = ctx.db.all('host').map(([h]) => h).filter((host) => {
      const srs = ctx.db.all('PBD').filter(([, p]) => p.host === host).map(([, p]) => p.SR);
      return !srs.some((sr) => {
        try {
          hostCachingActions.enable_local_storage_caching(ctx, { host, sr });
          return true;
        } catch {
          return false;
        }
      });
    });
    if (failed.length) throw new ApiError('HOSTS_FAILED_TO_ENABLE_CACHING', failed);
    return '';
  },
  disable_local_storage_caching: (ctx, a) => {
    mustRow(ctx, 'pool', a.self);
    const failed = tryEach(ctx, (host) => hostCachingActions.disable_local_storage_caching(ctx, { host }));
    if (failed.length) throw new ApiError('HOSTS_FAILED_TO_DISABLE_CACHING', failed);
    return '';
  },
} satisfies ActionsOf<'pool'>;
