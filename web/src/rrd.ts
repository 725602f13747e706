/**
 * Reading `/rrd_updates` as Xen Orchestra does: from the host that holds the RRD (the host
 * itself, or a VM's resident host), JSON, `start` computed from the server's clock
 * (`host.get_servertime`) so a skewed browser clock does not matter, "NaN" read as a gap.
 */
import { hostRecordOrigin } from './xapi';
import type { PoolStore } from './store';
import { parseXapiDate } from './model';

export interface Range { id: string; label: string; interval: number; points: number }
export const RANGES: Range[] = [
  { id: '10m', label: '10 Minutes', interval: 5, points: 120 },
  { id: '2h', label: '2 Hours', interval: 60, points: 120 },
  { id: '1w', label: '1 Week', interval: 3600, points: 168 },
];

export interface Series { type: string; uuid: string; name: string; points: Array<[number, number | null]> }

export interface Updates { step: number; end: number; series: Map<string, Series> }

/** Where a host serves: its address, on the port Islet records for it (hosts sharing a machine differ by port). */
export function hostOrigin(s: PoolStore, hostRef: string): string {
  const h = s.get('host', hostRef);
  return (h && hostRecordOrigin(h, s.origin || location.origin)) ?? s.origin;
}

export async function fetchUpdates(s: PoolStore, hostRef: string, range: Range, opts: { host?: boolean; vmUuid?: string }): Promise<Updates> {
  const server = parseXapiDate(await s.call('host.get_servertime', hostRef));
  const nowS = Math.floor((server?.getTime() ?? Date.now()) / 1000);
  const start = nowS - range.interval * range.points + range.interval;
  const q = new URLSearchParams({ session_id: s.session, start: String(start), cf: 'AVERAGE', interval: String(range.interval), json: 'true' });
  if (opts.host) q.set('host', 'true');
  if (opts.vmUuid) q.set('vm_uuid', opts.vmUuid);
  const res = await fetch(`${hostOrigin(s, hostRef)}/rrd_updates?${q}`, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`rrd_updates: HTTP ${res.status}`);
  const body = await res.json() as { meta: { step: number; end: number; legend: string[] }; data: Array<{ t: number; values: Array<string | number> }> };
  const series = new Map<string, Series>();
  const cols = body.meta.legend.map((l) => {
    const [, type, uuid, ...name] = l.split(':');
    const key = `${type}:${uuid}:${name.join(':')}`;
    const sr: Series = { type: type!, uuid: uuid!, name: name.join(':'), points: [] };
    series.set(key, sr);
    return sr;
  });
  // Rows come newest first; graphs want oldest first.
  for (const row of [...body.data].reverse()) {
    row.values.forEach((v, i) => {
      const n = typeof v === 'number' ? v : v === 'NaN' ? NaN : Number(v);
      cols[i]!.points.push([row.t * 1000, Number.isFinite(n) ? n : null]);
    });
  }
  return { step: body.meta.step, end: body.meta.end, series };
}
