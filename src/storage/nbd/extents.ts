/**
 * @module
 * Turns device extents into `base:allocation` block status descriptors: (length, flags)
 * pairs of u32, neighbours with equal flags merged, at most one with REQ_ONE and never
 * more than the 2^20 the spec allows in one chunk.
 */
import type { Extent } from '../../core/ports/block-device.js';
import { State } from './protocol.js';

const MAX_DESCRIPTORS = 1 << 20;
/** Largest descriptor length that stays a multiple of 512 and fits in a u32. */
const MAX_DESCRIPTOR_LENGTH = 0xfffffe00;

export function encodeExtents(extents: readonly Extent[], reqOne: boolean): Buffer {
  const lens: number[] = [];
  const flags: number[] = [];
  for (const e of extents) {
    if (e.length <= 0) continue;
    const f = (e.hole ? State.HOLE : 0) | (e.zero ? State.ZERO : 0);
    let rest = e.length;
    const last = lens.length - 1;
    if (last >= 0 && flags[last] === f) {
      const add = Math.min(rest, MAX_DESCRIPTOR_LENGTH - lens[last]!);
      lens[last]! += add;
      rest -= add;
    }
    while (rest > 0 && lens.length < MAX_DESCRIPTORS) {
      const l = Math.min(rest, MAX_DESCRIPTOR_LENGTH);
      lens.push(l);
      flags.push(f);
      rest -= l;
    }
    if (lens.length >= MAX_DESCRIPTORS) break;
  }
  if (lens.length === 0) throw new RangeError('device returned no extents');
  const n = reqOne ? 1 : lens.length;
  const out = Buffer.allocUnsafe(n * 8);
  for (let i = 0; i < n; i++) {
    out.writeUInt32BE(lens[i]!, i * 8);
    out.writeUInt32BE(flags[i]!, i * 8 + 4);
  }
  return out;
}
