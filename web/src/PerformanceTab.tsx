/**
 * The Performance tab: XenCenter's default graphs from `/rrd_updates` over 10 minutes,
 * 2 hours or 1 week. Host: CPU, memory used (total − free), network (PIF receive/send) and
 * SR I/O; VM: CPU, memory, disk and network (VIF) throughput; SR: I/O summed over the
 * hosts that have it plugged. Fractions are shown
 * as %, KiB as bytes; figures a simulator models say so. As in XenCenter, the graphs can
 * be paused (they keep what they show while new points arrive) and resumed.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Chart, type ChartLine } from './Chart';
import { formatBytes } from './model';
import { fetchUpdates, RANGES, type Range, type Updates } from './rrd';
import type { PoolStore } from './store';
import type { Kind } from './model';

const pct = (v: number) => `${Math.round(v * 10) / 10}%`;
const bytes = (v: number) => formatBytes(v);
const rate = (v: number) => `${formatBytes(v)}/s`;

function lines(u: Updates[], pick: (name: string) => string | undefined, scale = 1): ChartLine[] {
  const out = new Map<string, ChartLine>();
  for (const one of u) {
    for (const s of one.series.values()) {
      const label = pick(s.name);
      if (!label) continue;
      const existing = out.get(label);
      const pts = s.points.map(([t, v]) => [t, v === null ? null : v * scale] as [number, number | null]);
      if (!existing) { out.set(label, { name: label, points: pts }); continue; }
      // The same metric from several hosts (an SR's I/O) is summed where both are known.
      const byT = new Map(existing.points.map(([t, v]) => [t, v]));
      for (const [t, v] of pts) {
        const a = byT.get(t);
        byT.set(t, a === undefined ? v : a === null || v === null ? (a ?? v) : a + v);
      }
      existing.points = [...byT.entries()].sort((x, y) => x[0] - y[0]);
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

function memoryUsed(u: Updates): ChartLine[] {
  const total = [...u.series.values()].find((s) => s.name === 'memory_total_kib');
  const free = [...u.series.values()].find((s) => s.name === 'memory_free_kib');
  if (!total || !free) return [];
  return [{ name: 'Used memory', points: total.points.map(([t, v], i) => [t, v === null || free.points[i]?.[1] == null ? null : (v - free.points[i]![1]!) * 1024]) }];
}

export function PerformanceTab({ s, kind, ref_ }: { s: PoolStore; kind: Kind; ref_: string }) {
  const [range, setRange] = useState<Range>(RANGES[0]!);
  const [data, setData] = useState<Updates[]>([]);
  const [error, setError] = useState('');
  const [loaded, setLoaded] = useState(false);
  const rec = kind === 'vm' ? s.get('VM', ref_) : kind === 'sr' ? s.get('SR', ref_) : s.get('host', ref_);
  const residentOn = kind === 'vm' ? rec?.resident_on : undefined;
  const srHosts = useMemo(() => (kind === 'sr' ? ((rec?.PBDs ?? []) as string[]).map((p) => s.get('PBD', p)).filter((p) => p?.currently_attached).map((p) => String(p!.host)) : []), [kind, rec, s]);

  const load = useCallback(async () => {
    try {
      if (kind === 'host') setData([await fetchUpdates(s, ref_, range, { host: true })]);
      else if (kind === 'vm') {
        if (!residentOn || residentOn === 'OpaqueRef:NULL') { setData([]); setError('The VM is not running: it has no current performance data.'); setLoaded(true); return; }
        setData([await fetchUpdates(s, residentOn, range, { vmUuid: String(rec?.uuid) })]);
      } else if (kind === 'sr') setData(await Promise.all(srHosts.map((h) => fetchUpdates(s, h, range, { host: true }))));
      setError('');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
    setLoaded(true);
  }, [kind, ref_, range, residentOn, rec?.uuid, srHosts, s]);

  const [paused, setPaused] = useState(false);
  /** Refreshes left out while paused (shown as data-held, so a test can see one pass). */
  const [held, setHeld] = useState(0);
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => {
    // A new object or range is drawn once even while paused; only the refresh waits.
    void load();
    // xcp-rrdd adds a point every 5 s; the coarser ranges change less often.
    const every = range.interval === 5 ? 5000 : 60_000;
    const t = setInterval(() => { if (!pausedRef.current) void load(); else setHeld((n) => n + 1); }, every);
    return () => clearInterval(t);
  }, [load, range]);

  const togglePause = () => {
    const next = !paused;
    setPaused(next);
    if (!next) void load();
  };

  const sr8 = kind === 'sr' ? String(rec?.uuid ?? '').slice(0, 8) : '';
  const graphs = useMemo(() => {
    if (kind === 'host') {
      const u = data[0] ? [data[0]] : [];
      return [
        { title: 'CPU Performance', unit: '%', format: pct, max: 100, lines: lines(u, (n) => (/^cpu\d+$/.test(n) ? `CPU ${n.slice(3)}` : undefined), 100) },
        { title: 'Memory Performance', unit: 'bytes', format: bytes, lines: data[0] ? memoryUsed(data[0]) : [] },
        { title: 'Network Performance', unit: 'bytes/s', format: rate, lines: lines(u, (n) => { const m = /^pif_(.+)_(rx|tx)$/.exec(n); return m ? `${m[1]} ${m[2] === 'rx' ? 'receive' : 'send'}` : undefined; }) },
        { title: 'Storage I/O', unit: 'bytes/s', format: rate, lines: lines(u, (n) => {
          const m = /^(read|write)_([0-9a-f]{8})$/.exec(n);
          if (!m) return undefined;
          const sr = [...s.all('SR').values()].find((r) => String(r.uuid).startsWith(m[2]!));
          return `${sr?.name_label ?? m[2]} ${m[1]}`;
        }) },
      ];
    }
    if (kind === 'vm') {
      const sim = [...(data[0]?.series.values() ?? [])].length > 0;
      return [
        { title: 'CPU Performance', unit: sim ? '%, simulated by the hypervisor simulator' : '%', format: pct, max: 100, lines: lines(data, (n) => (/^cpu\d+$/.test(n) ? `vCPU ${n.slice(3)}` : undefined), 100) },
        { title: 'Memory Performance', unit: 'bytes', format: bytes, lines: lines(data, (n) => (n === 'memory' ? 'Memory' : undefined)) },
        { title: 'Disk Performance', unit: 'bytes/s', format: rate, lines: lines(data, (n) => { const m = /^vbd_(xvd[a-z]+)_(read|write)$/.exec(n); return m ? `${m[1]} ${m[2]}` : undefined; }) },
        { title: 'Network Performance', unit: sim ? 'bytes/s, simulated by the hypervisor simulator' : 'bytes/s', format: rate, lines: lines(data, (n) => { const m = /^vif_(\d+)_(rx|tx)$/.exec(n); return m ? `VIF ${m[1]} ${m[2] === 'rx' ? 'receive' : 'send'}` : undefined; }) },
      ];
    }
    return [
      { title: 'Storage Throughput', unit: 'bytes/s', format: rate, lines: lines(data, (n) => (n === `read_${sr8}` ? 'Read' : n === `write_${sr8}` ? 'Write' : undefined)) },
      { title: 'IOPS', unit: 'requests/s', format: (v: number) => `${Math.round(v * 10) / 10}`, lines: lines(data, (n) => (n === `iops_read_${sr8}` ? 'Read' : n === `iops_write_${sr8}` ? 'Write' : undefined)) },
    ];
  }, [data, kind, s, sr8]);

  return (
    <div className="performance">
      <div className="toolbar-row" role="group" aria-label="Time range">
        {RANGES.map((r) => (
          <button key={r.id} type="button" aria-pressed={r.id === range.id} className={r.id === range.id ? 'pressed' : ''} onClick={() => setRange(r)}>{r.label}</button>
        ))}
        <button type="button" className={paused ? 'pressed' : ''} aria-pressed={paused} data-testid="pause-graphs" onClick={togglePause}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <span className="muted" style={{ marginLeft: 'auto' }} data-testid="graph-state">
          {paused ? 'Paused' : loaded ? `Step ${data[0]?.step ?? range.interval} s` : 'Loading…'}
        </span>
      </div>
      {error && <div className="error" role="alert">{error}</div>}
      <div className="graphs" data-end={data[0]?.end ?? ''} data-held={held}>
        {graphs.map((g) => <Chart key={g.title} title={g.title} unit={g.unit} format={g.format} lines={g.lines} {...(g.max !== undefined ? { max: g.max } : {})} />)}
      </div>
    </div>
  );
}
