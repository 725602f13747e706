/**
 * What the console derives from the mirror, following XenCenter's rules: the
 * Infrastructure tree (pool → hosts → their VMs and local SRs; shared SRs and homeless
 * VMs under the pool), each object's status icon, and each hotfix's pool status
 * ("Fully applied", "Partially applied", "Not applied").
 */
import type { PoolStore } from './store';
import type { Ref, XRecord } from './xapi';

export type Kind = 'pool' | 'host' | 'vm' | 'sr';

export interface TreeNode {
  ref: Ref;
  kind: Kind;
  name: string;
  status: Status;
  children: TreeNode[];
}

export type Status =
  | 'connected' | 'disconnected' | 'maintenance' | 'guidance' | 'unpatched'
  | 'running' | 'halted' | 'suspended' | 'paused' | 'busy'
  | 'sr' | 'sr-default' | 'sr-broken' | 'sr-disabled';

export const STATUS_TEXT: Record<Status, string> = {
  connected: 'Connected',
  disconnected: 'Disconnected',
  maintenance: 'Maintenance mode',
  guidance: 'Restart pending after an update',
  unpatched: 'Updates not applied to every server',
  running: 'Running',
  halted: 'Halted',
  suspended: 'Suspended',
  paused: 'Paused',
  busy: 'Operation in progress',
  sr: 'Attached',
  'sr-default': 'Default storage',
  'sr-broken': 'Not attached on every server',
  'sr-disabled': 'Detached',
};

const NULL = 'OpaqueRef:NULL';
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
export const naturalCompare = (a: string, b: string) => collator.compare(a, b);

export function isLive(s: PoolStore, host: XRecord): boolean {
  return Boolean(s.get('host_metrics', host.metrics)?.live);
}

/** Hotfixes applied on a host (host_patch rows marked applied). */
export function appliedPatches(s: PoolStore, hostRef: Ref): Set<Ref> {
  const out = new Set<Ref>();
  for (const hp of s.all('host_patch').values()) if (hp.host === hostRef && hp.applied) out.add(hp.pool_patch);
  return out;
}

export type PatchStatus = 'Fully applied' | 'Partially applied' | 'Not applied';

export interface PatchRow { ref: Ref; name: string; status: PatchStatus; lacking: string[]; record: XRecord }

/** XenCenter 6.x's rule: count the hosts holding the hotfix against the pool's host count. */
export function patchRows(s: PoolStore): PatchRow[] {
  const hosts = [...s.all('host').entries()];
  const rows: PatchRow[] = [];
  for (const [ref, p] of s.all('pool_patch')) {
    const holding = new Set<Ref>();
    for (const hp of s.all('host_patch').values()) if (hp.pool_patch === ref && hp.applied) holding.add(hp.host);
    const count = hosts.filter(([h]) => holding.has(h)).length;
    const status: PatchStatus = count === 0 ? 'Not applied' : count >= hosts.length ? 'Fully applied' : 'Partially applied';
    const lacking = hosts.filter(([h]) => !holding.has(h)).map(([, h]) => String(h.name_label)).sort(naturalCompare);
    rows.push({ ref, name: String(p.name_label), status, lacking, record: p });
  }
  return rows.sort((a, b) => naturalCompare(a.name, b.name));
}

export function hostStatus(s: PoolStore, ref: Ref, h: XRecord): Status {
  if (!isLive(s, h)) return 'disconnected';
  const ops = Object.values(h.current_operations ?? {});
  if (!h.enabled || ops.includes('evacuate')) return 'maintenance';
  if ((h.pending_guidances ?? []).length) return 'guidance';
  const mine = appliedPatches(s, ref);
  const anywhere = new Set<Ref>();
  for (const hp of s.all('host_patch').values()) if (hp.applied) anywhere.add(hp.pool_patch);
  if ([...anywhere].some((p) => !mine.has(p))) return 'unpatched';
  return 'connected';
}

export function poolStatus(s: PoolStore): Status {
  const rows = patchRows(s);
  if (rows.some((r) => r.status === 'Partially applied')) return 'unpatched';
  return 'connected';
}

export function vmStatus(vm: XRecord): Status {
  if (Object.keys(vm.current_operations ?? {}).length) return 'busy';
  switch (vm.power_state) {
    case 'Running': return 'running';
    case 'Suspended': return 'suspended';
    case 'Paused': return 'paused';
    default: return 'halted';
  }
}

export function srStatus(s: PoolStore, ref: Ref, sr: XRecord): Status {
  const pbds = (sr.PBDs ?? []).map((p: Ref) => s.get('PBD', p)).filter(Boolean) as XRecord[];
  if (!pbds.length) return 'sr-disabled';
  if (pbds.some((p) => !p.currently_attached)) return 'sr-broken';
  const pool = [...s.all('pool').values()][0];
  if (pool?.default_SR === ref) return 'sr-default';
  return 'sr';
}

export function isRealVm(vm: XRecord): boolean {
  return !vm.is_a_template && !vm.is_a_snapshot && !vm.is_control_domain;
}

/** The host a VM is listed under, or undefined for the pool (XenCenter's VM.Home()). */
export function vmHome(s: PoolStore, vm: XRecord): Ref | undefined {
  if (vm.power_state === 'Running' && vm.resident_on && vm.resident_on !== NULL) return vm.resident_on;
  const aff = s.get('host', vm.affinity);
  if (aff && isLive(s, aff)) return vm.affinity;
  return undefined;
}

/** A non-shared SR with exactly one PBD lives under that PBD's host. */
export function srHome(s: PoolStore, sr: XRecord): Ref | undefined {
  if (sr.shared) return undefined;
  const pbds = sr.PBDs ?? [];
  if (pbds.length !== 1) return undefined;
  return s.get('PBD', pbds[0])?.host;
}

export function buildTree(s: PoolStore): TreeNode[] {
  const hostNodes = new Map<Ref, TreeNode>();
  for (const [ref, h] of s.all('host')) {
    hostNodes.set(ref, { ref, kind: 'host', name: String(h.name_label), status: hostStatus(s, ref, h), children: [] });
  }
  const poolChildren: TreeNode[] = [];
  const vms: TreeNode[] = [];
  for (const [ref, vm] of s.all('VM')) {
    if (!isRealVm(vm)) continue;
    const node: TreeNode = { ref, kind: 'vm', name: String(vm.name_label), status: vmStatus(vm), children: [] };
    const home = vmHome(s, vm);
    (home && hostNodes.get(home) ? hostNodes.get(home)!.children : vms).push(node);
  }
  const srs: TreeNode[] = [];
  for (const [ref, sr] of s.all('SR')) {
    if (sr.content_type === 'iso' && !sr.shared) continue;
    const node: TreeNode = { ref, kind: 'sr', name: String(sr.name_label), status: srStatus(s, ref, sr), children: [] };
    const home = srHome(s, sr);
    (home && hostNodes.get(home) ? hostNodes.get(home)!.children : srs).push(node);
  }
  const order = (a: TreeNode, b: TreeNode) => (a.kind === b.kind ? naturalCompare(a.name, b.name) : a.kind === 'vm' ? -1 : 1);
  for (const h of hostNodes.values()) h.children.sort(order);
  const hosts = [...hostNodes.values()].sort((a, b) => naturalCompare(a.name, b.name));
  poolChildren.push(...hosts, ...vms.sort(order), ...srs.sort(order));
  const [poolRef, pool] = [...s.all('pool').entries()][0] ?? [];
  if (!poolRef) return poolChildren;
  // XenCenter: an unnamed pool of one host is a standalone server, shown without a pool node.
  if (!pool!.name_label && hosts.length === 1) {
    const only = hosts[0]!;
    only.children.push(...vms, ...srs);
    return [only];
  }
  const name = String(pool!.name_label || 'Pool');
  return [{ ref: poolRef, kind: 'pool', name, status: poolStatus(s), children: poolChildren }];
}

/** How many servers, VMs and SRs a tree holds (the navigation pane's footer). */
export function countKinds(nodes: TreeNode[], out: Record<Kind, number> = { pool: 0, host: 0, vm: 0, sr: 0 }): Record<Kind, number> {
  for (const n of nodes) {
    out[n.kind]++;
    countKinds(n.children, out);
  }
  return out;
}

/** The tree keeping only nodes matching `q` and their ancestors. */
export function filterTree(nodes: TreeNode[], q: string): TreeNode[] {
  if (!q) return nodes;
  const needle = q.toLowerCase();
  const out: TreeNode[] = [];
  for (const n of nodes) {
    const kids = filterTree(n.children, q);
    if (kids.length || n.name.toLowerCase().includes(needle)) out.push({ ...n, children: kids.length ? kids : n.name.toLowerCase().includes(needle) ? n.children : [] });
  }
  return out;
}

export function kindOfClass(cls: string | undefined): Kind | undefined {
  switch (cls) {
    case 'pool': return 'pool';
    case 'host': return 'host';
    case 'vm': return 'vm';
    case 'sr': return 'sr';
    default: return undefined;
  }
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const parts = [d ? `${d} day${d > 1 ? 's' : ''}` : '', h ? `${h} hour${h > 1 ? 's' : ''}` : '', `${m} minute${m !== 1 ? 's' : ''}`];
  return parts.filter(Boolean).join(' ');
}

/** XenAPI datetimes (`20260101T10:00:00Z`) as a Date. */
export function parseXapiDate(v: unknown): Date | undefined {
  const s = String(v ?? '');
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(s);
  if (m) return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
