/**
 * @module
 * A round-robin database shaped as xcp-rrdd's: a 5 s base step and four archives (120 rows
 * of 5 s, 120 of 1 min, 168 of 1 h, 366 of 1 day). A host RRD keeps AVERAGE, MIN and MAX in
 * every archive but the 5 s one (AVERAGE only); VM RRDs keep AVERAGE only. Samples are
 * already rates or levels (gauges); a missed step is unknown (NaN), and a consolidated row
 * is unknown when more than half of its primary points are (xff 0.5).
 */

export const BASE_STEP = 5;

export type Cf = 'AVERAGE' | 'MIN' | 'MAX';

export interface DataSourceInfo {
  readonly name: string;
  readonly units: string;
  readonly description: string;
  readonly min: number;
  readonly max: number;
}

export interface ArchiveSpec {
  readonly pdpPerRow: number;
  readonly rows: number;
  readonly cfs: readonly Cf[];
}

export function archiveSpecs(kind: 'host' | 'vm' | 'sr'): ArchiveSpec[] {
  const all: Cf[] = kind === 'host' ? ['AVERAGE', 'MIN', 'MAX'] : ['AVERAGE'];
  return [
    { pdpPerRow: 1, rows: 120, cfs: ['AVERAGE'] },
    { pdpPerRow: 12, rows: 120, cfs: all },
    { pdpPerRow: 720, rows: 168, cfs: all },
    { pdpPerRow: 17280, rows: 366, cfs: all },
  ];
}

/** One consolidation function of one archive: a ring of rows, one value per data source. */
class Ring {
  /** values[ds][row] */
  readonly values: Float64Array[] = [];
  constructor(readonly rows: number) {}
  addSource(): void {
    this.values.push(new Float64Array(this.rows).fill(NaN));
  }
}

class Archive {
  readonly rings = new Map<Cf, Ring>();
  /** Index of the newest row, and its time (end of its interval). */
  head = -1;
  lastRowTime = 0;
  /** Accumulators for the row in progress, per data source. */
  private sum: number[] = [];
  private known: number[] = [];
  private lo: number[] = [];
  private hi: number[] = [];

  constructor(readonly spec: ArchiveSpec) {
    for (const cf of spec.cfs) this.rings.set(cf, new Ring(spec.rows));
  }

  addSource(): void {
    for (const r of this.rings.values()) r.addSource();
    this.sum.push(0); this.known.push(0); this.lo.push(Infinity); this.hi.push(-Infinity);
  }

  removeSource(i: number): void {
    for (const r of this.rings.values()) r.values.splice(i, 1);
    for (const a of [this.sum, this.known, this.lo, this.hi]) a.splice(i, 1);
  }

  /** One primary point (at time `t`, a multiple of the base step) for every source. */
  push(t: number, pdp: readonly number[]): void {
    for (let i = 0; i < pdp.length; i++) {
      const v = pdp[i]!;
      if (Number.isNaN(v)) continue;
      this.sum[i]! += v; this.known[i]!++;
      if (v < this.lo[i]!) this.lo[i] = v;
      if (v > this.hi[i]!) this.hi[i] = v;
    }
    const span = this.spec.pdpPerRow * BASE_STEP;
    if (t % span !== 0) return;
    // A row closes on its boundary; points seen before the first boundary only count partly.
    this.head = (this.head + 1) % this.spec.rows;
    this.lastRowTime = t;
    for (let i = 0; i < pdp.length; i++) {
      const enough = this.known[i]! * 2 >= this.spec.pdpPerRow && this.known[i]! > 0;
      for (const [cf, ring] of this.rings) {
        ring.values[i]![this.head] = !enough ? NaN : cf === 'AVERAGE' ? this.sum[i]! / this.known[i]! : cf === 'MIN' ? this.lo[i]! : this.hi[i]!;
      }
      this.sum[i] = 0; this.known[i] = 0; this.lo[i] = Infinity; this.hi[i] = -Infinity;
    }
  }

  /** Value of row `k` rows before the newest (0 = newest). */
  value(cf: Cf, ds: number, k: number): number {
    const ring = this.rings.get(cf);
    if (!ring || this.head < 0 || k < 0 || k >= this.spec.rows) return NaN;
    return ring.values[ds]![(this.head - k + this.spec.rows * 2) % this.spec.rows]!;
  }

}

export class Rrd {
  readonly sources: DataSourceInfo[] = [];
  private readonly index = new Map<string, number>();
  readonly archives: Archive[];
  /** Time of the last primary point (a multiple of the base step), 0 before any. */
  lastUpdate = 0;
  /** The data sources of the latest sample, with their values, whether recorded or not. */
  latest = new Map<string, { readonly info: DataSourceInfo; readonly value: number }>();

  constructor(readonly kind: 'host' | 'vm' | 'sr', readonly uuid: string) {
    this.archives = archiveSpecs(kind).map((s) => new Archive(s));
  }

  private ensure(ds: DataSourceInfo): number {
    let i = this.index.get(ds.name);
    if (i === undefined) {
      i = this.sources.length;
      this.sources.push(ds);
      this.index.set(ds.name, i);
      for (const a of this.archives) a.addSource();
    }
    return i;
  }

  /**
   * Records the values seen at `now` (epoch seconds) as the primary point of the base step
   * it falls in; steps skipped since the last update are unknown.
   */
  update(now: number, samples: ReadonlyArray<readonly [DataSourceInfo, number]>): void {
    this.latest = new Map(samples.map(([ds, v]) => [ds.name, { info: ds, value: v }]));
    // Every sampled source is recorded (all are standard): a forgotten one starts again here, with no history.
    for (const [ds] of samples) this.ensure(ds);
    const t = Math.floor(now / BASE_STEP) * BASE_STEP;
    if (t <= this.lastUpdate) return;
    const pdp = new Array<number>(this.sources.length).fill(NaN);
    for (const [ds, v] of samples) pdp[this.index.get(ds.name)!] = Number.isFinite(v) ? v : NaN;
    const unknown = new Array<number>(this.sources.length).fill(NaN);
    // Unknown points for skipped steps, at most one full coarse row's worth (older rows stay unknown).
    if (this.lastUpdate) {
      const missed = Math.min((t - this.lastUpdate) / BASE_STEP - 1, 17280);
      for (let k = missed; k >= 1; k--) this.pushAll(t - k * BASE_STEP, unknown);
    }
    this.pushAll(t, pdp);
    this.lastUpdate = t;
  }

  /** Whether `name` is recorded in the archives. */
  records(name: string): boolean {
    return this.index.has(name);
  }

  /** Starts recording a data source of the latest sample now (its history starts empty). */
  record(name: string): boolean {
    const s = this.latest.get(name);
    if (!s) return false;
    this.ensure(s.info);
    return true;
  }

  /**
   * Drops a data source and its history from every archive; false if there is no such
   * source. Until the next sample records it again, it reads as not recorded.
   */
  forget(name: string): boolean {
    const i = this.index.get(name);
    if (i === undefined) return this.latest.has(name);
    this.sources.splice(i, 1);
    for (const a of this.archives) a.removeSource(i);
    this.index.clear();
    this.sources.forEach((ds, k) => this.index.set(ds.name, k));
    return true;
  }

  private pushAll(t: number, pdp: readonly number[]): void {
    for (const a of this.archives) a.push(t, pdp);
  }
}

export type { Archive };
