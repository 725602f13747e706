/**
 * @module
 * The rolling update runner's ports in a real pool: state read from the master's database
 * (liveness, enabled, boot and toolstack start times, resident VMs), effects through the
 * ordinary XenAPI messages called as the pool's internal user (`host.disable/enable`,
 * `VM.pool_migrate` live, `host.reboot`, `host.restart_agent`, `host.compute_free_memory`),
 * and the update applied through the same logic as `pool_update.apply`.
 */
import type { PoolDb } from '../../core/ports/pool-db.js';
import type { Ref } from '../../core/ref.js';
import { appliedOn, updateUuidOf } from '../patch-records.js';
import { apply, type UpdateEnv } from '../patch-service.js';
import type { HostInfo, RollingPorts, RunState, VmPlace } from './runner.js';

/** A XenAPI call made on this host as the pool's internal user (no session argument). */
export type ApiCall = (method: string, params: readonly unknown[]) => Promise<unknown>;

export interface XapiPortsOptions {
  readonly env: UpdateEnv;
  readonly call: ApiCall;
  /** The update (a pool_update ref). */
  readonly update: Ref<'pool_update'>;
  readonly save: (s: RunState) => void;
  readonly log?: (msg: string) => void;
}

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

export function dbHostInfo(db: PoolDb, host: string): HostInfo {
  const h = db.get('host', host);
  if (!h) throw new Error(`no host ${host}`);
  const m = db.get('host_metrics', h.metrics);
  const oc = (h.other_config ?? {}) as Record<string, string>;
  return { live: m ? m.live !== false : true, enabled: h.enabled === true, bootTime: num(oc.boot_time), agentStartTime: num(oc.agent_start_time) };
}

export function vmMemory(row: Record<string, unknown>): number {
  return num(row.memory_dynamic_max) || num(row.memory_static_max) || num(row.memory_target);
}

export function runningVmsOn(db: PoolDb, host: string): VmPlace[] {
  return db.all('VM')
    .filter(([, r]) => r.resident_on === host && r.power_state === 'Running' && !r.is_control_domain && !r.is_a_template)
    .map(([vm, r]) => ({ vm, memory: vmMemory(r) }));
}

export function xapiPorts(o: XapiPortsOptions): RollingPorts {
  const db = o.env.db;
  return {
    hostInfo: async (h) => dbHostInfo(db, h),
    runningVms: async (h) => runningVmsOn(db, h),
    vmHost: async (vm) => {
      const r = db.get('VM', vm);
      return r && r.power_state === 'Running' ? String(r.resident_on) : undefined;
    },
    freeMemory: async (h) => num(await o.call('host.compute_free_memory', [h])),
    disable: async (h) => { await o.call('host.disable', [h]); },
    enable: async (h) => { await o.call('host.enable', [h]); },
    migrate: async (vm, h) => {
      o.log?.(`rolling update: migrating ${vm} to ${h}`);
      await o.call('VM.pool_migrate', [vm, h, { live: 'true' }]);
    },
    apply: async (h) => {
      if (appliedOn(db, h).has(String(updateUuidOf(db, o.update)))) return;
      await apply(o.env, 'update', o.update, h);
    },
    restart: async (h, kind) => {
      o.log?.(`rolling update: ${kind === 'host' ? 'rebooting' : 'restarting the toolstack of'} ${h}`);
      await o.call(kind === 'host' ? 'host.reboot' : 'host.restart_agent', [h]);
    },
    save: async (s) => o.save(s),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    ...(o.log ? { log: o.log } : {}),
  };
}
