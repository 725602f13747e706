/**
 * @module
 * The domains of any host of the pool, as the master drives them. Domain work happens on
 * the host whose hypervisor holds the domain: on this host it is a direct call to the
 * local hypervisor; on another host it is the pool-internal call `host.islet_hypervisor`
 * through the pool link, whose hypervisor failures come back tunnelled and are rethrown
 * as the same `HypervisorError`s, so callers map errors one way whatever the host.
 *
 * A host chooses for itself where suspend images go (its own data directory) and where
 * its hypervisor accepts migrations, which is why `suspend` takes no path and
 * `prepareReceive` answers with a complete destination.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ApiError } from '../../core/api-error.js';
import {
  HypervisorError, HypervisorErrorCode, isHypervisorError,
  type DomainInfo, type DomainNic, type Hypervisor, type HypervisorInfo, type MigrationDestination, type SuspendResult,
} from '../../core/ports/hypervisor.js';
import type { Ref } from '../../core/ref.js';
import type { ActionContext, Services } from '../../core/action-context.js';
import { tunnelHypervisorError, untunnelHypervisorError } from '../common/hypervisor-errors.js';
import type { ActionsOf } from '../../core/actions-of.js';

export interface CreateArgs {
  readonly vmUuid: string;
  readonly memory: number;
  readonly vcpus: number;
  readonly paused?: boolean;
  readonly nics?: readonly DomainNic[];
}

export interface ReceiveTicket {
  readonly dest: MigrationDestination;
  readonly info: HypervisorInfo;
}

/** One host's domains, wherever that host is. */
export interface HostDomains {
  readonly host: Ref<'host'>;
  info(): Promise<HypervisorInfo>;
  list(): Promise<DomainInfo[]>;
  create(spec: CreateArgs): Promise<DomainInfo>;
  destroy(vmUuid: string): Promise<void>;
  shutdown(vmUuid: string, timeoutMs: number): Promise<void>;
  reboot(vmUuid: string, clean: boolean, timeoutMs?: number): Promise<DomainInfo>;
  pause(vmUuid: string): Promise<DomainInfo>;
  unpause(vmUuid: string): Promise<DomainInfo>;
  plugNic(vmUuid: string, nic: DomainNic): Promise<DomainInfo>;
  unplugNic(vmUuid: string, device: string, force: boolean): Promise<DomainInfo>;
  /**
   * Saves the domain into an image on that host; the domain ends. `image` (a uuid) names
   * an image kept apart from the VM's own, as a checkpoint's is.
   */
  suspend(vmUuid: string, image?: string): Promise<SuspendResult>;
  resume(vmUuid: string, path: string, paused: boolean): Promise<DomainInfo>;
  /**
   * Destination side of a live migration: where and with which token to send, with the
   * host's figures to check the VM fits (one round trip for both).
   */
  prepareReceive(vmUuid: string): Promise<ReceiveTicket>;
  /** Source side; progress is reported only when the source is this host. */
  migrateSend(vmUuid: string, dest: MigrationDestination, onProgress?: (f: number) => void): Promise<void>;
  /** The hypervisor's console ring. */
  dmesg(): Promise<string>;
  /** Presses debug keys on the hypervisor's console. */
  debugKeys(keys: string): Promise<void>;
}

const METHODS = [
  'info', 'list', 'create', 'destroy', 'shutdown', 'reboot', 'pause', 'unpause', 'plugNic', 'unplugNic',
  'suspend', 'resume', 'prepareReceive', 'migrateSend', 'dmesg', 'debugKeys',
] as const;
type Method = (typeof METHODS)[number];
type Args = Record<string, any>;

/** How long another host may take over the calls that wait on a guest or copy memory. */
const PATIENCE: Partial<Record<Method, (a: Args) => number>> = {
  shutdown: (a) => Number(a.timeoutMs) + 30_000,
  reboot: (a) => (a.clean ? Number(a.timeoutMs ?? 60_000) : 0) + 30_000,
  suspend: () => 600_000,
  resume: () => 600_000,
  migrateSend: () => 3_600_000,
};

function unavailable(why: string): HypervisorError {
  return new HypervisorError(HypervisorErrorCode.unavailable, why);
}

function localHypervisor(s: Services): Hypervisor {
  if (!s.hypervisor) throw unavailable('this host has no hypervisor');
  return s.hypervisor;
}

/** Runs one call on this host's own hypervisor. */
async function runLocal(s: Services, method: Method, a: Args, onProgress?: (f: number) => void): Promise<unknown> {
  const hv = localHypervisor(s);
  switch (method) {
    case 'info': return hv.info();
    case 'list': return hv.list();
    case 'create': return hv.create({ vmUuid: a.vmUuid, memory: a.memory, vcpus: a.vcpus, paused: !!a.paused, ...(a.nics ? { nics: a.nics } : {}) });
    case 'destroy': return hv.destroy(a.vmUuid);
    case 'shutdown': return hv.shutdown(a.vmUuid, { timeoutMs: Number(a.timeoutMs) });
    case 'reboot': return hv.reboot(a.vmUuid, { clean: !!a.clean, ...(a.timeoutMs !== undefined ? { timeoutMs: a.timeoutMs } : {}) });
    case 'pause': return hv.pause(a.vmUuid);
    case 'unpause': return hv.unpause(a.vmUuid);
    case 'plugNic': return hv.plugNic(a.vmUuid, a.nic);
    case 'unplugNic': return hv.unplugNic(a.vmUuid, String(a.device), { force: !!a.force });
    case 'suspend': {
      const dir = join(s.dataDir, 'suspend-images');
      await mkdir(dir, { recursive: true });
      const name = a.image === undefined ? String(a.vmUuid) : String(a.image);
      // The name comes over the pool link: only a uuid may become a file name.
      if (a.image !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name)) {
        throw new ApiError('INVALID_VALUE', ['image', name]);
      }
      return hv.suspend(a.vmUuid, { path: join(dir, `${name}.img`) });
    }
    case 'resume': return hv.resume({ vmUuid: a.vmUuid, path: a.path, paused: !!a.paused });
    case 'prepareReceive': {
      const endpoint = s.hypervisorEndpoint?.();
      if (!endpoint) throw unavailable('this host\'s hypervisor accepts no migrations');
      const [info, token] = await Promise.all([hv.info(), hv.prepareReceive(a.vmUuid)]);
      const colon = endpoint.lastIndexOf(':');
      const dest = { address: endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(endpoint.slice(colon + 1)), token };
      return { dest, info };
    }
    case 'migrateSend': return hv.migrateSend(a.vmUuid, a.dest, onProgress ? { onProgress } : {});
    case 'dmesg':
      if (!hv.dmesg) throw unavailable('this host\'s hypervisor keeps no console ring');
      return hv.dmesg();
    case 'debugKeys':
      if (!hv.debugKeys) throw unavailable('this host\'s hypervisor takes no debug keys');
      return hv.debugKeys(String(a.keys));
  }
}

function bind(host: Ref<'host'>, run: (m: Method, a: Args, p?: (f: number) => void) => Promise<unknown>): HostDomains {
  const call = <T>(m: Method, a: Args = {}, p?: (f: number) => void) => run(m, a, p) as Promise<T>;
  return {
    host,
    info: () => call('info'),
    list: () => call('list'),
    create: (spec) => call('create', { ...spec }),
    destroy: async (vmUuid) => { await call('destroy', { vmUuid }); },
    shutdown: async (vmUuid, timeoutMs) => { await call('shutdown', { vmUuid, timeoutMs }); },
    reboot: (vmUuid, clean, timeoutMs) => call('reboot', { vmUuid, clean, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }),
    pause: (vmUuid) => call('pause', { vmUuid }),
    unpause: (vmUuid) => call('unpause', { vmUuid }),
    plugNic: (vmUuid, nic) => call('plugNic', { vmUuid, nic }),
    unplugNic: (vmUuid, device, force) => call('unplugNic', { vmUuid, device, force }),
    suspend: (vmUuid, image) => call('suspend', { vmUuid, ...(image === undefined ? {} : { image }) }),
    resume: (vmUuid, path, paused) => call('resume', { vmUuid, path, paused }),
    prepareReceive: (vmUuid) => call('prepareReceive', { vmUuid }),
    migrateSend: async (vmUuid, dest, onProgress) => { await call('migrateSend', { vmUuid, dest }, onProgress); },
    dmesg: () => call('dmesg'),
    debugKeys: async (keys) => { await call('debugKeys', { keys }); },
  };
}

/** The domains of `host`: direct on this host, through the pool link elsewhere. */
export function domainsOn(ctx: ActionContext, host: Ref<'host'>): HostDomains {
  const s = ctx.services;
  if (host === s.hostRef) return bind(host, (m, a, p) => runLocal(s, m, a, p));
  return bind(host, async (m, a) => {
    if (!s.pool) throw new ApiError('HOST_OFFLINE', [host]);
    let out: unknown;
    try {
      const timeoutMs = PATIENCE[m]?.(a);
      out = await s.pool.callOnHost(host, 'host.islet_hypervisor', [host, m, JSON.stringify(a)], timeoutMs ? { timeoutMs } : {});
    } catch (e) {
      throw untunnelHypervisorError(e) ?? e;
    }
    const text = String(out ?? '');
    return text === '' ? undefined : JSON.parse(text);
  });
}

/** `host.islet_hypervisor`: another host of the pool runs a hypervisor call here. */
export const hostDomainActions = {
  islet_hypervisor: async (ctx, a) => {
    const method = String(a.method) as Method;
    if (!METHODS.includes(method)) throw new ApiError('VALUE_NOT_SUPPORTED', ['method', method, 'not a hypervisor call']);
    let args: Args;
    try {
      args = JSON.parse(String(a.args || '{}')) as Args;
    } catch {
      throw new ApiError('INVALID_VALUE', ['args', String(a.args)]);
    }
    try {
      const out = await runLocal(ctx.services, method, args);
      return out === undefined ? '' : JSON.stringify(out);
    } catch (e) {
      if (isHypervisorError(e)) throw tunnelHypervisorError(e);
      throw e;
    }
  },
} satisfies ActionsOf<'host'>;
