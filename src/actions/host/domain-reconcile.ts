/**
 * @module
 * Keeping the pool database in step with what a host's hypervisor really holds, as xapi
 * resynchronises with xenopsd: when a host's toolstack (re)connects to its hypervisor,
 * when a guest stops itself, and when the hypervisor goes away (the host went down, and
 * its domains with it). The master pulls the host's domain list and reconciles:
 * VMs recorded on the host without a domain there are Halted; domains whose guest halted,
 * rebooted or crashed get the VM's `actions_after_shutdown/reboot/crash`; a domain whose
 * VM the database does not place there is adopted. VMs with an operation in flight are
 * left to that operation and looked at again when it ends.
 */
import type { DomainInfo, ShutdownReason } from '../../core/ports/hypervisor.js';
import type { Row } from '../../core/ports/pool-db.js';
import { isNullRef, xapiDate, type Ref } from '../../core/ref.js';
import type { ActionContext, Services } from '../../core/action-context.js';
import { domainsOn } from './host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { destroyDomain } from '../vm/vm-boot.js';
import { markHalted, markRunning } from '../vm/vm-domain-state.js';
import { updateVm, whenVmIdle, withVmOperation } from '../vm/vm-operation-lock.js';

/** A context for work the toolstack does on its own behalf (no client, no task). */
export function systemContext(services: Services): ActionContext {
  return { services, db: services.db, session: undefined, task: undefined, peer: 'local' };
}

type AfterAction = 'destroy' | 'restart' | 'preserve';

function afterAction(vm: Row, reason: ShutdownReason | undefined): AfterAction {
  const v = String(reason === 'reboot' ? vm.actions_after_reboot
    : reason === 'crash' ? vm.actions_after_crash : vm.actions_after_shutdown);
  if (v === 'restart' || v === 'coredump_and_restart' || v === 'rename_restart') return 'restart';
  if (v === 'preserve') return 'preserve';
  return 'destroy';
}

/** A guest stopped itself: do what the VM says for that kind of stop. */
async function onGuestShutdown(ctx: ActionContext, vm: Ref<'VM'>, host: Ref<'host'>, d: DomainInfo): Promise<void> {
  const row = ctx.db.get('VM', vm)!;
  const what = afterAction(row, d.shutdownReason);
  if (what === 'preserve') {
    if (row.power_state !== 'Paused') updateVm(ctx.db, vm, { power_state: 'Paused', resident_on: host });
    return;
  }
  await withVmOperation(ctx, vm, what === 'restart' ? 'hard_reboot' : 'hard_shutdown', async (opRef) => {
    if (what === 'destroy') return destroyDomain(ctx, vm, host, opRef);
    const rebuilt = await mapHypervisorErrors({ vm, host, task: opRef }, () =>
      domainsOn(ctx, host).reboot(d.vmUuid, false));
    markRunning(ctx.db, vm, host, rebuilt);
  });
}

const busy = (row: Row) => Object.keys((row.current_operations ?? {}) as object).length > 0;

const inFlight = new Map<string, { again: boolean; done: Promise<void> }>();

/**
 * Brings the records of `host`'s VMs in line with its hypervisor. `gone` says the
 * hypervisor process ended: every domain it held ended with it.
 */
export function reconcileHost(ctx: ActionContext, host: Ref<'host'>, gone = false): Promise<void> {
  const cur = inFlight.get(host);
  if (cur && !gone) {
    cur.again = true;
    return cur.done;
  }
  const entry = { again: false, done: Promise.resolve() };
  entry.done = (async () => {
    try {
      do {
        entry.again = false;
        await reconcileOnce(ctx, host, gone);
      } while (entry.again);
    } finally {
      if (inFlight.get(host) === entry) inFlight.delete(host);
    }
  })();
  inFlight.set(host, entry);
  return entry.done;
}

function residentVms(ctx: ActionContext, host: Ref<'host'>): Array<[Ref<'VM'>, Row]> {
  return ctx.db.all('VM').filter(([, r]) => r.resident_on === host && !r.is_control_domain) as Array<[Ref<'VM'>, Row]>;
}

async function reconcileOnce(ctx: ActionContext, host: Ref<'host'>, gone: boolean): Promise<void> {
  const db = ctx.db;
  if (gone) {
    for (const [vm] of residentVms(ctx, host)) markHalted(db, vm);
    return;
  }
  const dom = domainsOn(ctx, host);
  const [info, domains] = await Promise.all([dom.info(), dom.list()]);
  recordHostMemory(ctx, host, info.memoryTotal, info.memoryFree, domains, info.memoryOverheadPerDomain ?? 0);
  const byUuid = new Map(domains.map((d) => [d.vmUuid, d]));
  const later = (vm: Ref<'VM'>) => whenVmIdle(db, vm, () => void reconcileHost(ctx, host).catch(() => undefined));
  const stops: Array<Promise<void>> = [];
  const handle = (vm: Ref<'VM'>, row: Row, d: DomainInfo) => {
    if (d.state === 'shutdown') stops.push(onGuestShutdown(ctx, vm, host, d).catch(() => later(vm)));
    else if (row.resident_on !== host || row.domid !== d.domid
      || row.power_state !== (d.state === 'running' ? 'Running' : 'Paused')) {
      markRunning(db, vm, host, d, info.memoryOverheadPerDomain ?? 0);
    }
  };
  for (const [vm, row] of residentVms(ctx, host)) {
    const d = byUuid.get(String(row.uuid));
    byUuid.delete(String(row.uuid));
    if (busy(row)) later(vm);
    else if (!d) markHalted(db, vm);
    else handle(vm, row, d);
  }
  for (const d of byUuid.values()) {
    const vm = db.refByUuid('VM', d.vmUuid);
    const row = vm ? db.get('VM', vm) : undefined;
    if (!vm || !row) continue; // not ours to judge: a VM this database does not know
    if (busy(row)) later(vm);
    else handle(vm, row, d);
  }
  await Promise.all(stops);
}

function recordHostMemory(
  ctx: ActionContext, host: Ref<'host'>, total: number, free: number, domains: DomainInfo[], overhead: number,
): void {
  const h = ctx.db.get('host', host);
  if (!h) return;
  const used = domains.reduce((n, d) => n + d.memory + overhead, 0);
  const own = Math.max(0, total - free - used);
  ctx.db.transaction(() => {
    if (h.memory_overhead !== own) ctx.db.update('host', host, { memory_overhead: own });
    const m = h.metrics;
    if (!isNullRef(m) && ctx.db.get('host_metrics', m)?.memory_total !== total) {
      ctx.db.update('host_metrics', m, { memory_total: total, last_updated: xapiDate() });
    }
  });
}

/**
 * A host tells the master that its hypervisor changed (or is gone); on the master (or a
 * host alone) this reconciles directly.
 */
export async function reportDomains(services: Services, gone: boolean): Promise<void> {
  const ctx = systemContext(services);
  const pool = services.pool;
  if (!pool || pool.isMaster()) return reconcileHost(ctx, services.hostRef, gone);
  const master = services.db.all('pool')[0]?.[1].master;
  if (!master || isNullRef(master)) return;
  await pool.callOnHost(master, 'host.islet_report_domains', [services.hostRef, gone]);
}
