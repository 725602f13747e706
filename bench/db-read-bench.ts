/**
 * @module
 * Reading a wide record from the pool database: `get` of a 100-field row (maps, sets,
 * numbers and strings, as a VM record has) from both PoolDb adapters, which hand out a
 * copy from memory, never a decode from SQLite. The reference, measured in the same run,
 * is the plainest deep copy of the same row (spread of each map, slice of each set, in a
 * loop over its fields): what any copy must do. Goal: a `get` costs no more than that
 * reference. Medians of `BENCH_ROUNDS` (7) rounds of 20,000 reads.
 * (This was an absolute bound of 50 µs in the PoolDb contract test, which a loaded
 * machine broke: speed goals are measured here, as ratios.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '../src/core/ports/pool-db.js';
import { newRef, newUuid } from '../src/core/ref.js';
import { MemoryPoolDb } from '../src/db/memory-pool-db.js';
import { openPoolDb } from '../src/db/sqlite-pool-db.js';
import { wideModel } from '../test/db/test-model.js';

const READS = 20_000;
const GOAL_RATIO = 1;

function wideRow(): Row {
  const row: Row = { uuid: newUuid() };
  for (let i = 0; i < 100; i++) {
    row[`f${i}`] = i % 4 === 0 ? { a: 'b', c: 'd' } : i % 4 === 1 ? ['x', 'y'] : i % 4 === 2 ? i : `v${i}`;
  }
  return row;
}

/** The reference: a copy of `row` with its maps and sets copied, by hand. */
function plainCopy(row: Row): Row {
  const out: Row = {};
  for (const k in row) {
    const v = row[k];
    out[k] = Array.isArray(v) ? v.slice() : v !== null && typeof v === 'object' ? { ...(v as object) } : v;
  }
  return out;
}

/** Median µs per call of `f` over `rounds` rounds of READS calls, after a warm-up round. */
function perCallUs(rounds: number, f: () => unknown): number {
  const round = () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < READS; i++) f();
    return Number(process.hrtime.bigint() - t0) / 1000 / READS;
  };
  round();
  const us = Array.from({ length: rounds }, round).sort((a, b) => a - b);
  return us[Math.floor(us.length / 2)]!;
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS) || 7;
  const dir = await mkdtemp(join(tmpdir(), 'islet-db-read-bench-'));
  try {
    const row = wideRow();
    const reference = perCallUs(rounds, () => plainCopy(row));
    process.stdout.write(`reference: plain deep copy of a 100-field row  ${reference.toFixed(2)} µs\n`);
    // The adapters are typed for Islet's datamodel; this one is opened on the wide model.
    type WideDb = { create(cls: string, ref: string, row: Row): void; get(cls: string, ref: string): Row | undefined; close(): void };
    const adapters: Array<[string, WideDb]> = [
      ['MemoryPoolDb', new MemoryPoolDb(wideModel()) as unknown as WideDb],
      ['SqlitePoolDb', openPoolDb(join(dir, 'pool.db'), wideModel()) as unknown as WideDb],
    ];
    let met = true;
    for (const [name, db] of adapters) {
      const ref = newRef();
      db.create('wide', ref, row);
      const us = perCallUs(rounds, () => db.get('wide', ref));
      const ratio = us / reference;
      met &&= ratio <= GOAL_RATIO;
      process.stdout.write(`${name}.get of a 100-field row  ${us.toFixed(2)} µs  ${ratio.toFixed(2)}x the reference (goal ≤ ${GOAL_RATIO}x)\n`);
      db.close();
    }
    process.stdout.write(met ? 'goal met\n' : 'goal NOT met\n');
    if (!met) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
