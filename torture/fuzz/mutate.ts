/**
 * @module
 * Byte mutations in the manner of libFuzzer's (bit flips, interesting values, inserts,
 * deletions, duplicated runs, truncation, splices of another seed), drawn by fast-check so a
 * failing input shrinks to few, small mutations and a run is reproducible from its seed.
 */
import fc from 'fast-check';

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'byte'; at: number; v: number }
  | { op: 'u32'; at: number; v: number; le: boolean }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'dup'; at: number; len: number; times: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; from: number; seed: number };

const INTERESTING8 = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x3c, 0x3e, 0x22, 0x5c, 0x26, 0x0a];
const INTERESTING32 = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x200, 0x1000, 0x200000, 0xfffffe00, 0x10000];

const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('byte' as const), at, v: fc.oneof(fc.constantFrom(...INTERESTING8), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ op: fc.constant('u32' as const), at, v: fc.oneof(fc.constantFrom(...INTERESTING32), fc.nat()), le: fc.boolean() }),
  fc.record({ op: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('dup' as const), at, len: fc.integer({ min: 1, max: 32 }), times: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('splice' as const), at, from: at, seed: fc.nat() }),
);

function apply(input: Buffer, ms: readonly Mutation[], seeds: readonly Buffer[]): Buffer {
  let b = Buffer.from(input);
  for (const m of ms) {
    const pos = Math.floor(m.at * (b.length + 1));
    const inside = Math.min(pos, Math.max(0, b.length - 1));
    switch (m.op) {
      case 'flip': if (b.length) b[inside]! ^= 1 << m.bit; break;
      case 'byte': if (b.length) b[inside] = m.v; break;
      case 'u32': if (b.length >= 4) {
        const o = Math.min(inside, b.length - 4);
        if (m.le) b.writeUInt32LE(m.v >>> 0, o); else b.writeUInt32BE(m.v >>> 0, o);
      } break;
      case 'insert': b = Buffer.concat([b.subarray(0, pos), m.bytes, b.subarray(pos)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + m.len)]); break;
      case 'dup': {
        const run = b.subarray(pos, pos + m.len);
        b = Buffer.concat([b.subarray(0, pos), ...Array.from({ length: m.times }, () => run), b.subarray(pos)]);
        break;
      }
      case 'truncate': b = b.subarray(0, pos); break;
      case 'splice': {
        const other = seeds[m.seed % seeds.length]!;
        const from = Math.floor(m.from * other.length);
        b = Buffer.concat([b.subarray(0, pos), other.subarray(from)]);
        break;
      }
    }
  }
  return b;
}

/** Seeds with 1–8 mutations; repaired by `fixup` most of the time; raw bytes now and then. */
export function mutatedInputs(seeds: readonly Buffer[], fixup?: (b: Buffer) => Buffer, extra?: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  const mutated = fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 8 }))
    .map(([i, ms]) => apply(seeds[i]!, ms, seeds));
  const arms: Array<fc.WeightedArbitrary<Buffer>> = [
    { weight: 6, arbitrary: fixup ? mutated.map(fixup) : mutated },
    { weight: 2, arbitrary: mutated },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((u) => Buffer.from(u)) },
  ];
  if (extra) arms.push({ weight: 4, arbitrary: extra });
  return fc.oneof(...arms);
}
