/**
 * @module
 * `/rrd_updates` as xcp-rrdd answers it: the finest archive whose rows reach back to
 * `start` (else the coarsest), merged across the asked RRDs (host first, then VMs, then
 * SRs), rows newest first from the last update rounded down to the step, down to the first
 * step boundary after `start`. Legend entries are `CF:type:uuid:name`; values are printed
 * as C's `%.15g` with zero as `0.0` and unknowns as `NaN`. The same tree is rendered as
 * rrdtool's xport XML or as JSON whose values are strings.
 */
import { BASE_STEP, type Cf, type Rrd } from './rrd.js';

export interface UpdatesQuery {
  readonly start: number;
  readonly interval: number;
  /** Undefined: every consolidation function the archive keeps. */
  readonly cf?: Cf;
}

export interface Xport {
  start: number;
  step: number;
  end: number;
  legend: string[];
  /** Newest first. */
  rows: Array<{ t: number; values: number[] }>;
}

export function buildXport(rrds: readonly Rrd[], q: UpdatesQuery): Xport {
  const usable = rrds.filter((r) => r.lastUpdate > 0);
  const wantPdp = Math.max(1, Math.floor(q.interval / BASE_STEP));
  const last = Math.max(0, ...usable.map((r) => r.lastUpdate));
  const specs = (usable[0] ?? rrds[0])?.archives.map((a) => a.spec) ?? [];
  // Finest archive of at least the asked resolution whose span still reaches `start`.
  let pick = specs.findIndex((s) => s.pdpPerRow >= wantPdp && last - s.rows * s.pdpPerRow * BASE_STEP <= q.start);
  if (pick < 0) pick = specs.length - 1;
  const spec = specs[pick];
  if (!spec) return { start: q.start, step: BASE_STEP, end: q.start, legend: [], rows: [] };
  const step = spec.pdpPerRow * BASE_STEP;
  const end = Math.floor(last / step) * step;
  const start = (Math.floor(q.start / step) + 1) * step;
  const legend: string[] = [];
  const columns: Array<{ rrd: Rrd; cf: Cf; ds: number }> = [];
  for (const rrd of usable) {
    const a = rrd.archives[pick];
    if (!a || a.spec.pdpPerRow !== spec.pdpPerRow || a.spec.rows !== spec.rows) continue;
    for (const cf of a.spec.cfs) {
      if (q.cf && cf !== q.cf) continue;
      rrd.sources.forEach((ds, i) => {
        legend.push(`${cf}:${rrd.kind}:${rrd.uuid}:${ds.name}`);
        columns.push({ rrd, cf, ds: i });
      });
    }
  }
  const rows: Xport['rows'] = [];
  for (let k = 0, t = end; k < spec.rows && t >= start; k++, t -= step) {
    rows.push({
      t,
      values: columns.map((c) => {
        const a = c.rrd.archives[pick]!;
        // An RRD whose newest row is older than `end` contributes unknowns for the rows it lacks.
        const lag = Math.round((end - Math.floor(a.lastRowTime / step) * step) / step);
        return a.lastRowTime === 0 ? NaN : a.value(c.cf, c.ds, k - lag);
      }),
    });
  }
  return { start, step, end, legend, rows };
}

/** C's `%.15g`, with xcp-rrdd's special cases. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return '0.0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 15) {
    const [m, e] = v.toExponential(14).split('e');
    const mant = m!.includes('.') ? m!.replace(/0+$/, '').replace(/\.$/, '') : m!;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = v.toPrecision(15);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export function xportXml(x: Xport): string {
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?><xport><meta>',
    `<start>${x.start}</start><step>${x.step}</step><end>${x.end}</end><rows>${x.rows.length}</rows><columns>${x.legend.length}</columns>`,
    '<legend>', ...x.legend.map((l) => `<entry>${l}</entry>`), '</legend></meta><data>',
  ];
  for (const r of x.rows) parts.push(`<row><t>${r.t}</t>${r.values.map((v) => `<v>${formatValue(v)}</v>`).join('')}</row>`);
  parts.push('</data></xport>');
  return parts.join('');
}

export function xportJson(x: Xport): string {
  return JSON.stringify({
    meta: { start: x.start, step: x.step, end: x.end, rows: x.rows.length, columns: x.legend.length, legend: x.legend },
    data: x.rows.map((r) => ({ t: r.t, values: r.values.map(formatValue) })),
  });
}

/**
 * JSON when the Accept header prefers application/json to text/xml (a tie, as with `*\/*`,
 * goes to JSON); with no usable Accept, JSON when the query has a `json` key at all.
 */
export function wantsJson(accept: string | undefined, query: URLSearchParams): boolean {
  if (accept && accept.trim()) {
    let qJson = 0;
    let qXml = 0;
    for (const part of accept.split(',')) {
      const [type, ...params] = part.trim().toLowerCase().split(';');
      const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const qv = qp ? Number(qp.slice(2)) : 1;
      const w = Number.isFinite(qv) ? qv : 0;
      if (type === 'application/json' || type === 'application/*' || type === '*/*') qJson = Math.max(qJson, w);
      if (type === 'text/xml' || type === 'text/*' || type === '*/*') qXml = Math.max(qXml, w);
    }
    if (qJson > 0 || qXml > 0) return qJson >= qXml;
  }
  return query.has('json');
}
