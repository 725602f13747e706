/**
 * @module
 * Where a VM may run: the host must be live and enabled, see every SR holding the VM's
 * disks through a plugged PBD, have the CPUs and, unless told not to check, the free
 * memory (asked of its hypervisor, which knows it exactly). Starting without a host picks
 * the VM's affinity host when it qualifies, else the qualifying host with the most free
 * memory; as in xapi, memory alone never hides a host, so a VM too big for every host
 * fails with HOST_NOT_ENOUGH_FREE_MEMORY rather than NO_HOSTS_AVAILABLE.
 */
import { ApiError } from '../../core/api-error.js';
import type { HypervisorInfo } from '../../core/ports/hypervisor.js';
import type { PoolDb, Row } from '../../core/ports/pool-db.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { domainsOn } from '../host/host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { getVm } from './vm-operation-lock.js';
import { checkVmMemory, checkVmVcpus } from '../../core/record-rules.js';

/** What a VM asks of a host: bytes of memory (overhead excluded) and virtual CPUs. */
export interface VmNeeds {
  readonly memory: number;
  readonly vcpus: number;
}

export function vmNeeds(vm: Ref<'VM'>, row: Row): VmNeeds {
  const memory = Number(row.memory_dynamic_max) || Number(row.memory_static_max) || Number(row.memory_target);
  if (!(memory > 0)) {
    throw new ApiError('MEMORY_CONSTRAINT_VIOLATION', [`VM ${vm} has no memory: memory_static_max and memory_dynamic_max must be positive`]);
  }
  // A VM whose limits are out of order or whose VCPU counts are not sane does not start,
  // however it came to be (a record written before these checks, an import).
  checkVmMemory(row);
  const max = Number(row.VCPUs_max) || 0;
  const start = Number(row.VCPUs_at_startup) || 0;
  if (max > 0 || start > 0) checkVmVcpus({ VCPUs_max: max || start, VCPUs_at_startup: start || max });
  const vcpus = start || max || 1;
  return { memory, vcpus };
}

export function hostIsLive(db: PoolDb, host: Ref<'host'>): boolean {
  const metrics = db.get('host', host)?.metrics;
  const row = metrics && !isNullRef(metrics) ? db.get('host_metrics', metrics) : undefined;
  return row ? !!row.live : true;
}

/** The SRs the VM's disks live on (empty drives and missing disks aside). */
export function vmDiskSrs(db: PoolDb, vm: Ref<'VM'>): Ref<'SR'>[] {
  const srs = new Set<Ref<'SR'>>();
  for (const vbd of getVm(db, vm).VBDs ?? []) {
    const b = db.get('VBD', vbd);
    if (!b || b.empty || isNullRef(b.VDI)) continue;
    const sr = db.get('VDI', b.VDI)?.SR;
    if (sr && !isNullRef(sr)) srs.add(sr);
  }
  return [...srs];
}

export function srPluggedOn(db: PoolDb, sr: Ref<'SR'>, host: Ref<'host'>): boolean {
  return (db.get('SR', sr)?.PBDs ?? []).some((p) => {
    const pbd = db.get('PBD', p);
    return pbd?.host === host && !!pbd.currently_attached;
  });
}

export interface BootCheck {
  /** Check free memory too (false when planning several VMs at once). */
  readonly memory: boolean;
  /** The host's hypervisor figures, when the caller already has them. */
  readonly info?: HypervisorInfo;
}

/** Everything but memory and CPUs: what the database alone can tell. */
export function assertCanRunOn(db: PoolDb, vm: Ref<'VM'>, host: Ref<'host'>): void {
  const h = db.get('host', host);
  if (!h) throw new ApiError('HANDLE_INVALID', ['host', host]);
  if (!hostIsLive(db, host)) throw new ApiError('HOST_NOT_LIVE', []);
  if (!h.enabled) throw new ApiError('HOST_DISABLED', [host]);
  for (const sr of vmDiskSrs(db, vm)) {
    if (!srPluggedOn(db, sr, host)) throw new ApiError('VM_REQUIRES_SR', [vm, sr]);
  }
}

export async function hostInfo(ctx: ActionContext, host: Ref<'host'>): Promise<HypervisorInfo> {
  return mapHypervisorErrors({ host }, () => domainsOn(ctx, host).info());
}

/** What a domain of the VM would cost the host, overhead included. */
export function costOn(needs: VmNeeds, info: HypervisorInfo): number {
  return needs.memory + (info.memoryOverheadPerDomain ?? 0);
}

export async function assertCanBootHere(ctx: ActionContext, vm: Ref<'VM'>, host: Ref<'host'>, check: BootCheck): Promise<void> {
  const needs = vmNeeds(vm, getVm(ctx.db, vm));
  assertCanRunOn(ctx.db, vm, host);
  const info = check.info ?? (await hostInfo(ctx, host));
  if (needs.vcpus > info.cpus) throw new ApiError('HOST_NOT_ENOUGH_PCPUS', [String(needs.vcpus), String(info.cpus)]);
  const needed = costOn(needs, info);
  if (check.memory && needed > info.memoryFree) {
    throw new ApiError('HOST_NOT_ENOUGH_FREE_MEMORY', [String(needed), String(info.memoryFree)]);
  }
}

interface Candidate {
  readonly host: Ref<'host'>;
  /** Its hypervisor's figures; none where the VM cannot run. */
  readonly info?: HypervisorInfo;
}

/** Every host, with its hypervisor figures where the VM can run there. */
async function survey(ctx: ActionContext, vm: Ref<'VM'>, memory: boolean): Promise<Candidate[]> {
  return Promise.all(ctx.db.all('host').map(async ([ref]): Promise<Candidate> => {
    const host = ref;
    try {
      assertCanRunOn(ctx.db, vm, host);
      const info = await hostInfo(ctx, host);
      await assertCanBootHere(ctx, vm, host, { memory, info });
      return { host, info };
    } catch {
      return { host };
    }
  }));
}

/** `VM.get_possible_hosts`: the hosts where the VM could start now. */
export async function possibleHosts(ctx: ActionContext, vm: Ref<'VM'>): Promise<Ref<'host'>[]> {
  return (await survey(ctx, vm, true)).filter((c) => c.info).map((c) => c.host);
}

/** The host `VM.start` (or `VM.resume`) uses when none is given. */
export async function chooseHost(ctx: ActionContext, vm: Ref<'VM'>, prefer?: Ref<'host'>): Promise<Ref<'host'>> {
  const cands = (await survey(ctx, vm, false)).filter((c) => c.info);
  if (cands.length === 0) throw new ApiError('NO_HOSTS_AVAILABLE', []);
  const row = getVm(ctx.db, vm);
  const needs = vmNeeds(vm, row);
  const fits = (c: Candidate) => costOn(needs, c.info!) <= c.info!.memoryFree;
  for (const want of [prefer, row.affinity]) {
    const c = want && !isNullRef(want) ? cands.find((x) => x.host === want) : undefined;
    if (c && fits(c)) return c.host;
  }
  const sorted = [...cands].sort((a, b) => b.info!.memoryFree - a.info!.memoryFree);
  // Nothing fits: the roomiest host then refuses with the exact figures.
  return (sorted.find(fits) ?? sorted[0]!).host;
}
