/**
 * @module
 * A disk as its differences from another (`GET /export_raw_vdi?base=`, which Xen
 * Orchestra's incremental backups ask for): a read-only device that reads as `disk` in
 * every unit whose content differs from `base`'s, and as zeroes elsewhere, with those
 * unchanged units reported as zero holes, so a VHD export leaves them out and a raw one
 * sends zeroes. A changed unit is kept whole even where it reads as zeroes: applied over
 * the base, those zeroes must replace what the base held.
 *
 * Units are compared by content, not by where the SR stored them, so the answer holds for
 * any two disks of any SR (an array's snapshot as well as a VHD chain's), after a coalesce
 * merged the nodes a chain-based answer would need, and when the disk was reverted to an
 * older snapshot than the base. Only the units that can differ are read, though: ranges
 * both disks report as zeroes are not, and when both are read through layers ending in the
 * same ones (two nodes of one VHD tree, `BlockDevice.layers`), neither is anything that only
 * those shared layers store. A nightly delta of a large disk then reads what changed since
 * the base, not both disks whole. Each unit is compared once and remembered: an export asks
 * for the block status of the whole disk first (the VHD layout), then reads the changed units.
 */
import type { BlockDevice, DeviceLayer, Extent } from './ports/block-device.js';

/** The unit compared: a VHD block, so a changed unit is one block of the exported VHD. */
export const DELTA_UNIT = 2 * 1024 * 1024;
/** Units compared at once (each holds two units' bytes while it runs). */
const COMPARING = 4;

function readOnly(): never {
  throw Object.assign(new Error('a disk delta is read-only'), { code: 'EROFS' });
}

/** True when the extents cover their range with zeroes only. */
const allZero = (extents: readonly Extent[]) => extents.every((e) => e.zero);

type Ranges = Array<[number, number]>;

/**
 * Where `disk` and `base` can read differently, judged from their layers alone, as sorted,
 * merged byte ranges; undefined when that cannot be told (a device without layers, stacks
 * with no layer in common). Stacks that share a layer share every one below it (each layer
 * has one parent), so the layers above the first shared one, in either stack, store all
 * that can differ. Beyond the smaller device's end, everything can.
 */
export async function unsharedRanges(disk: BlockDevice, base: BlockDevice): Promise<Ranges | undefined> {
  if (!disk.layers || !base.layers) return undefined;
  const [mine, theirs] = await Promise.all([disk.layers(), base.layers()]);
  const at = new Map(theirs.map((l, i) => [l.id, i]));
  const i = mine.findIndex((l) => at.has(l.id));
  if (i < 0) return undefined;
  const j = at.get(mine[i]!.id)!;
  const same = (a: readonly DeviceLayer[], b: readonly DeviceLayer[]) => a.length === b.length && a.every((l, k) => l.id === b[k]!.id);
  // Not one stack's end: something other than a tree (a layer seen twice, say). Compare all.
  if (!same(mine.slice(i), theirs.slice(j))) return undefined;
  const parts: Ranges = [...mine.slice(0, i), ...theirs.slice(0, j)].flatMap((l) => l.stored.map(([a, b]): [number, number] => [a, b]));
  if (disk.size !== base.size) parts.push([Math.min(disk.size, base.size), Math.max(disk.size, base.size)]);
  parts.sort((x, y) => x[0] - y[0]);
  const merged: Ranges = [];
  for (const [a, b] of parts) {
    const prev = merged[merged.length - 1];
    if (prev && a <= prev[1]) prev[1] = Math.max(prev[1], b);
    else if (b > a) merged.push([a, b]);
  }
  return merged;
}

/** Whether any of the sorted, merged ranges meets `[from, to)`. */
function meets(ranges: Ranges, from: number, to: number): boolean {
  let lo = 0;
  let hi = ranges.length;
  // The first range ending after `from`.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]![1] <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo < ranges.length && ranges[lo]![0] < to;
}

export class DiskDelta implements BlockDevice {
  readonly readOnly = true;
  readonly size: number;
  /** Per unit index: whether it differs from the base. */
  private readonly changed = new Map<number, Promise<boolean>>();
  /** Where the two can differ at all, from their layers (undefined: anywhere); asked once. */
  private unshared?: Promise<Ranges | undefined>;
  /** Buffers of finished comparisons (at most two per comparison running at once). */
  private readonly spare: Buffer[] = [];

  constructor(private readonly disk: BlockDevice, private readonly base: BlockDevice, private readonly unit = DELTA_UNIT) {
    this.size = disk.size;
  }

  /** Whether unit `u` of the disk differs from the base (beyond the base's end, from zeroes). */
  private differs(u: number): Promise<boolean> {
    let known = this.changed.get(u);
    if (!known) {
      known = this.compare(u);
      this.changed.set(u, known);
    }
    return known;
  }

  private async compare(u: number): Promise<boolean> {
    const at = u * this.unit;
    const length = Math.min(this.unit, this.size - at);
    const inBase = Math.max(0, Math.min(length, this.base.size - at));
    const unshared = await this.whereUnshared();
    if (unshared && !meets(unshared, at, at + length)) return false;
    const diskZero = allZero(await this.disk.blockStatus(at, length));
    const baseZero = inBase === 0 || allZero(await this.base.blockStatus(at, inBase));
    if (diskZero && baseZero) return false;
    const [a, b] = [this.buffer(), this.buffer()];
    try {
      const mine = diskZero ? a.fill(0, 0, length).subarray(0, length) : await this.disk.read(at, length, a);
      const theirs = b.subarray(0, length);
      if (baseZero) theirs.fill(0);
      else {
        const got = await this.base.read(at, inBase, theirs);
        if (got.buffer !== theirs.buffer || got.byteOffset !== theirs.byteOffset) got.copy(theirs, 0, 0, inBase);
        theirs.fill(0, inBase);
      }
      return !mine.equals(theirs);
    } finally {
      this.spare.push(a, b);
    }
  }

  /**
   * A unit-sized buffer for a comparison, one a finished comparison gave back when there is
   * one: a fresh 2 MiB buffer each time would be faulted in page by page, and left to the
   * garbage collector, for every unit of a large delta.
   */
  private buffer(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafeSlow(this.unit);
  }

  private whereUnshared(): Promise<Ranges | undefined> {
    return (this.unshared ??= unsharedRanges(this.disk, this.base));
  }

  private check(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`range ${offset}+${length} is outside the disk (${this.size} bytes)`);
    }
  }

  /**
   * Units in `[first, last)` whose part inside `[from, upto)` the extents (covering that
   * range, in order) report wholly as zeroes; a unit with no part inside counts as zeroes.
   */
  private zeroUnits(extents: readonly Extent[], from: number, upto: number, first: number, last: number): Set<number> {
    const runs: Array<[number, number]> = [];
    for (const e of extents) {
      if (!e.zero) continue;
      const prev = runs[runs.length - 1];
      if (prev && prev[1] === e.offset) prev[1] = e.offset + e.length;
      else runs.push([e.offset, e.offset + e.length]);
    }
    const units = new Set<number>();
    let r = 0;
    for (let u = first; u < last; u++) {
      const a = Math.max(u * this.unit, from);
      const b = Math.min((u + 1) * this.unit, upto);
      if (a >= b) {
        units.add(u);
        continue;
      }
      while (r < runs.length && runs[r][1] <= a) r++;
      if (r < runs.length && runs[r][0] <= a && runs[r][1] >= b) units.add(u);
    }
    return units;
  }

  /**
   * Units in `[first, last)` that both disks report as zeroes, from one block status of
   * each over the whole span: a large disk's empty stretches then cost two questions, not
   * two per unit.
   */
  private async zeroInBoth(first: number, last: number): Promise<Set<number>> {
    const from = first * this.unit;
    const to = Math.min(this.size, last * this.unit);
    const mine = this.zeroUnits(await this.disk.blockStatus(from, to - from), from, to, first, last);
    const baseTo = Math.min(to, this.base.size);
    if (baseTo <= from) return mine;
    const theirs = this.zeroUnits(await this.base.blockStatus(from, baseTo - from), from, baseTo, first, last);
    return new Set([...mine].filter((u) => theirs.has(u)));
  }

  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    this.check(offset, length);
    const first = Math.floor(offset / this.unit);
    const last = Math.ceil((offset + length) / this.unit);
    if (length > 0) {
      // Settled without reading: the units outside what the layers can tell apart, else
      // (no layers to tell) those both disks report as zeroes.
      const unshared = await this.whereUnshared();
      const same = unshared
        ? Array.from({ length: last - first }, (_, i) => first + i).filter((u) => !meets(unshared, u * this.unit, Math.min(this.size, (u + 1) * this.unit)))
        : await this.zeroInBoth(first, last);
      for (const u of same) if (!this.changed.has(u)) this.changed.set(u, Promise.resolve(false));
    }
    // The others are compared a few at a time: each comparison waits on two reads.
    for (let u = first; u < last; u += COMPARING) {
      await Promise.all(Array.from({ length: Math.min(COMPARING, last - u) }, (_, i) => this.differs(u + i)));
    }
    const out: Extent[] = [];
    for (let at = offset; at < offset + length;) {
      const u = Math.floor(at / this.unit);
      const end = Math.min(offset + length, (u + 1) * this.unit);
      const same = !(await this.differs(u));
      const prev = out[out.length - 1];
      if (prev && prev.zero === same) prev.length += end - at;
      else out.push({ offset: at, length: end - at, hole: same, zero: same });
      at = end;
    }
    return out;
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    this.check(offset, length);
    const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    for (let at = offset; at < offset + length;) {
      const u = Math.floor(at / this.unit);
      const end = Math.min(offset + length, (u + 1) * this.unit);
      const part = buf.subarray(at - offset, end - offset);
      if (await this.differs(u)) {
        const got = await this.disk.read(at, end - at, part);
        if (got.buffer !== part.buffer || got.byteOffset !== part.byteOffset) got.copy(part);
      } else {
        part.fill(0);
      }
      at = end;
    }
    return buf;
  }

  write(): Promise<void> {
    return Promise.resolve().then(readOnly);
  }

  writeZeroes(): Promise<void> {
    return Promise.resolve().then(readOnly);
  }

  trim(): Promise<void> {
    return Promise.resolve().then(readOnly);
  }

  async flush(): Promise<void> {
    // Nothing is ever written.
  }

  /** The two disks belong to whoever opened them. */
  async close(): Promise<void> {
    this.changed.clear();
    this.spare.length = 0;
  }
}
