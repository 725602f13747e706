/**
 * @module
 * The plan of a rolling pool update, worked out from a snapshot of the pool before anything
 * is touched: which hosts need the update (or still need the restart it asks for), in what
 * order (the master first, as XenCenter and Xen Orchestra do, then the others by name), what
 * kind of restart each gets, and roughly how long it will all take. Pure: the same snapshot
 * always gives the same plan, which is what a dry run prints.
 */

export const RestartKind = { host: 'host', toolstack: 'toolstack', none: 'none' } as const;
export type RestartKind = (typeof RestartKind)[keyof typeof RestartKind];

export interface HostSnapshot {
  readonly ref: string;
  readonly name: string;
  readonly uuid: string;
  readonly isMaster: boolean;
  readonly live: boolean;
  readonly enabled: boolean;
  /** The update is applied on this host. */
  readonly applied: boolean;
  /** Guidance of this update still pending on this host (restartHost, restartXAPI…). */
  readonly pending: readonly string[];
  /** Memory of each running VM resident here, in bytes. */
  readonly vmMemory: readonly number[];
}

export interface PlanOptions {
  /** Overrides the restart the update's guidance asks for. */
  readonly restart?: RestartKind;
  /** Move running VMs off each host before it is touched (default true). */
  readonly evacuate?: boolean;
  /** Live migrations run at once while evacuating. */
  readonly batch?: number;
}

export interface Rates {
  /** Bytes of VM memory moved per second by a live migration. */
  readonly migrationBytesPerSecond: number;
  readonly rebootSeconds: number;
  readonly toolstackRestartSeconds: number;
  readonly applySeconds: number;
}

export const DEFAULT_RATES: Rates = {
  migrationBytesPerSecond: 1024 ** 3,
  rebootSeconds: 30,
  toolstackRestartSeconds: 10,
  applySeconds: 2,
};

export interface PlannedHost {
  readonly ref: string;
  readonly name: string;
  readonly uuid: string;
  /** Whether the update is to be installed (false: only its restart is still due). */
  readonly install: boolean;
  readonly vms: number;
  readonly seconds: number;
}

export interface Plan {
  readonly restart: RestartKind;
  readonly evacuate: boolean;
  readonly batch: number;
  readonly hosts: readonly PlannedHost[];
  readonly skipped: readonly { readonly ref: string; readonly name: string; readonly why: string }[];
  readonly estimateSeconds: number;
}

/** The restart an update's guidance asks for: a reboot wins over a toolstack restart. */
export function restartFor(guidance: readonly string[], override?: RestartKind): RestartKind {
  if (override) return override;
  if (guidance.includes('restartHost')) return 'host';
  if (guidance.includes('restartXAPI')) return 'toolstack';
  return 'none';
}

function stillDue(h: HostSnapshot, restart: RestartKind): boolean {
  if (!h.applied) return true;
  if (restart === 'host') return h.pending.includes('restartHost');
  if (restart === 'toolstack') return h.pending.includes('restartXAPI') || h.pending.includes('restartHost');
  return false;
}

/** Time to move `mems` off (or back to) a host, `batch` migrations at a time. */
function moveSeconds(mems: readonly number[], batch: number, rate: number): number {
  if (mems.length === 0 || rate <= 0) return 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(batch, mems.length)) }, () => 0);
  for (const m of [...mems].sort((a, b) => b - a)) {
    const i = lanes.indexOf(Math.min(...lanes));
    lanes[i]! += m / rate;
  }
  return Math.max(...lanes);
}

export function orderHosts<T extends { isMaster: boolean; name: string }>(hosts: readonly T[]): T[] {
  return [...hosts].sort((a, b) => (a.isMaster !== b.isMaster ? (a.isMaster ? -1 : 1) : a.name.localeCompare(b.name)));
}

export function makePlan(hosts: readonly HostSnapshot[], guidance: readonly string[], o: PlanOptions = {}, rates: Rates = DEFAULT_RATES): Plan {
  const restart = restartFor(guidance, o.restart);
  const evacuate = o.evacuate ?? true;
  const batch = Math.max(1, o.batch ?? 3);
  const planned: PlannedHost[] = [];
  const skipped: Plan['skipped'][number][] = [];
  for (const h of orderHosts(hosts)) {
    if (!stillDue(h, restart)) {
      skipped.push({ ref: h.ref, name: h.name, why: 'already applied, nothing pending' });
      continue;
    }
    const move = evacuate ? 2 * moveSeconds(h.vmMemory, batch, rates.migrationBytesPerSecond) : 0;
    const restartS = restart === 'host' ? rates.rebootSeconds : restart === 'toolstack' ? rates.toolstackRestartSeconds : 0;
    planned.push({
      ref: h.ref, name: h.name, uuid: h.uuid, install: !h.applied, vms: h.vmMemory.length,
      seconds: move + (h.applied ? 0 : rates.applySeconds) + restartS,
    });
  }
  return { restart, evacuate, batch, hosts: planned, skipped, estimateSeconds: planned.reduce((s, h) => s + h.seconds, 0) };
}

function duration(s: number): string {
  const r = Math.round(s);
  return r >= 120 ? `${Math.floor(r / 60)} min ${r % 60} s` : `${r} s`;
}

/** The plan as a dry run prints it. */
export function renderPlan(p: Plan, updateName: string): string {
  const restart = { host: 'reboot', toolstack: 'toolstack restart', none: 'no restart' }[p.restart];
  const lines = [`Rolling update of ${updateName}: ${p.hosts.length} host(s), ${restart} each, one at a time.`];
  p.hosts.forEach((h, i) => {
    const steps = [
      'disable',
      ...(p.evacuate ? [`evacuate ${h.vms} VM(s) live`] : []),
      ...(h.install ? ['apply'] : []),
      ...(p.restart === 'none' ? [] : [restart]),
      'wait until back', 'enable',
      ...(p.evacuate && h.vms ? ['migrate its VMs back'] : []),
    ];
    lines.push(`${i + 1}. ${h.name} (${h.uuid}): ${steps.join(', ')}  ~${duration(h.seconds)}`);
  });
  for (const s of p.skipped) lines.push(`-  ${s.name}: skipped (${s.why})`);
  lines.push(`Estimated duration: ${duration(p.estimateSeconds)}`);
  return `${lines.join('\n')}\n`;
}
