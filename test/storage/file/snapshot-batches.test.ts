/**
 * Snapshots of a VM's disks as one change, and the SR's figures kept without a full look:
 * disks snapshotted together go through one journal record and each new disk reads as its
 * source did; a request refused in a batch fails alone; a read-only snapshot costs a few
 * KiB whatever the disk's size, and libvhdi (an independent reader) reads it as the SR
 * does; after every kind of change, here or through another attachment, `stat()` says what
 * a full look at the files finds.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { lstat, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toWireError } from '../../../src/core/wire-errors.js';
import { StorageError } from '../../../src/core/ports/storage-errors.js';
import type { AttachedSr } from '../../../src/core/ports/sr-driver.js';
import { checkTree, pattern, vdiHash, writeVdi } from '../sr-driver.contract.js';
import { pyvhdiDump } from '../vhd/vhd-helpers.js';
import { GiB, KiB, MiB, newSr } from './file-sr-helpers.js';

/** Crash points passed while `fn` runs, by name (the points count even with no crash set). */
async function pointsDuring(dir: string, fn: () => Promise<void>): Promise<string[]> {
  const trace = join(dir, '.trace.tmp');
  process.env.ISLET_CRASH_TRACE = trace;
  try {
    await fn();
  } finally {
    delete process.env.ISLET_CRASH_TRACE;
  }
  const lines = (await readFile(trace, 'utf8')).trim().split('\n');
  await rm(trace);
  return lines.map((l) => l.slice(0, l.lastIndexOf(':')));
}

/** Σ allocated bytes of the SR's regular files (its directory and journal), looked at now. */
async function filesBytes(path: string): Promise<number> {
  let total = 0;
  for (const base of [path, join(path, '.journal')]) {
    for (const n of await readdir(base)) {
      const st = await lstat(join(base, n));
      if (st.isFile()) total += st.blocks * 512;
    }
  }
  return total;
}

/** The SR's figures are what a full look at its files finds. */
async function assertFiguresTrue(sr: AttachedSr, path: string, label: string): Promise<void> {
  const st = await sr.stat();
  assert.equal(st.physicalUtilisation, await filesBytes(path), `${label}: physical utilisation`);
  const visible = (await sr.scan()).filter((n) => !n.hidden);
  assert.equal(st.virtualAllocation, visible.reduce((s, n) => s + n.virtualSize, 0), `${label}: virtual allocation`);
}

describe('file SR snapshots in batches', () => {
  it('disks snapshotted together are one journaled change, and each new disk reads as its source', async () => {
    const t = await newSr();
    try {
      const disks: string[] = [];
      for (let i = 0; i < 4; i++) {
        const uuid = randomUUID();
        await t.sr.vdiCreate({ uuid, virtualSize: 16 * MiB, allocation: 'thin' });
        // Two with data of their own (each gets a new base), two without (a sibling only).
        if (i % 2 === 0) await writeVdi(t.sr, uuid, i * MiB + 512, pattern(MiB, i + 1));
        disks.push(uuid);
      }
      const before = new Map(await Promise.all(disks.map(async (d) => [d, await vdiHash(t.sr, d)] as const)));
      const snaps = disks.map(() => randomUUID());
      const points = await pointsDuring(t.path, async () => {
        await Promise.all(disks.map((d, i) => t.sr.vdiSnapshot(d, snaps[i]!)));
      });
      assert.equal(points.filter((p) => p === 'journal.snapshot.start').length, 1, `one record: ${points.join(' ')}`);
      assert.equal(points.filter((p) => p === 'snapshot.created').length, 4);
      for (const [i, d] of disks.entries()) {
        assert.equal(await vdiHash(t.sr, snaps[i]!), before.get(d), `snapshot of disk ${i}`);
        assert.equal(await vdiHash(t.sr, d), before.get(d), `disk ${i} itself`);
      }
      const nodes = await t.sr.scan();
      checkTree(nodes);
      for (const s of snaps) assert.equal(nodes.find((n) => n.uuid === s)?.readOnly, true);
      assert.deepEqual(await readdir(join(t.path, '.journal')), [], 'the record is gone');
    } finally {
      await t.close();
    }
  });

  it('a request refused in a batch fails alone; the same disk twice is snapshotted twice', async () => {
    const t = await newSr();
    try {
      const a = randomUUID();
      const b = randomUUID();
      for (const u of [a, b]) {
        await t.sr.vdiCreate({ uuid: u, virtualSize: 8 * MiB, allocation: 'thin' });
        await writeVdi(t.sr, u, 0, pattern(MiB, u === a ? 1 : 2));
      }
      const first = await t.sr.vdiSnapshot(a, randomUUID());
      assert.ok(first.base, 'a disk with data gets a base');
      const [okA, missing, hidden, okB] = await Promise.allSettled([
        t.sr.vdiSnapshot(a, randomUUID()),
        t.sr.vdiSnapshot(randomUUID(), randomUUID()),
        t.sr.vdiSnapshot(first.base!.uuid, randomUUID()),
        t.sr.vdiClone(b, randomUUID()),
      ]);
      assert.equal(okA.status, 'fulfilled');
      assert.equal(okB.status, 'fulfilled');
      for (const r of [missing, hidden]) {
        assert.equal(r.status, 'rejected');
        assert.ok((r as PromiseRejectedResult).reason instanceof StorageError, String((r as PromiseRejectedResult).reason));
      }
      const twice = await Promise.all([t.sr.vdiSnapshot(b, randomUUID()), t.sr.vdiSnapshot(b, randomUUID())]);
      const hb = await vdiHash(t.sr, b);
      for (const s of twice) assert.equal(await vdiHash(t.sr, s.created.uuid), hb);
      checkTree(await t.sr.scan());
    } finally {
      await t.close();
    }
  });

  it('a read-only snapshot costs a few KiB whatever the disk size, and libvhdi reads it as the SR does', async () => {
    const t = await newSr();
    try {
      // A small disk and a huge one; the small one's whole content is then read twice (libvhdi
      // in Python, and the SR), so it is small: at 1 GiB those reads took 25 s.
      const small = 128 * MiB;
      const sizes = [small, 2000 * GiB];
      for (const size of sizes) {
        const uuid = randomUUID();
        await t.sr.vdiCreate({ uuid, virtualSize: size, allocation: 'thin' });
        await writeVdi(t.sr, uuid, 64 * MiB, pattern(MiB, 3));
        // The first snapshot makes a base; the second, of the unchanged disk, only a sibling.
        for (let round = 0; round < 2; round++) {
          const snap = (await t.sr.vdiSnapshot(uuid, randomUUID())).created;
          const bytes = (await stat(join(t.path, `${snap.uuid}.vhd`))).size;
          assert.ok(bytes < 64 * KiB, `snapshot ${round} of a ${size / MiB} MiB disk is a ${bytes}-byte file`);
          assert.ok(snap.physicalUtilisation < 64 * KiB);
        }
      }
      const nodes = await t.sr.scan();
      const parent = new Map(nodes.map((n) => [n.uuid, n.parentUuid]));
      for (const n of nodes.filter((x) => !x.hidden && x.virtualSize === small)) {
        const chain: string[] = [];
        for (let u: string | undefined = n.uuid; u; u = parent.get(u)) chain.push(join(t.path, `${u}.vhd`));
        const out = join(t.path, `.${n.uuid}.raw.tmp`);
        await pyvhdiDump(chain, out);
        const theirs = createHash('sha256').update(await readFile(out)).digest('hex');
        await rm(out);
        assert.equal(await vdiHash(t.sr, n.uuid), theirs, `${n.uuid} (depth ${chain.length})`);
      }
    } finally {
      await t.close();
    }
  });

  it("the SR's figures stay what a full look at its files finds, whoever changed them", async () => {
    const t = await newSr();
    const other = await t.driver.attach(t.srUuid, t.deviceConfig);
    try {
      const disks: string[] = [];
      for (let i = 0; i < 3; i++) {
        const uuid = randomUUID();
        await t.sr.vdiCreate({ uuid, virtualSize: 64 * MiB, allocation: 'thin' });
        disks.push(uuid);
      }
      await assertFiguresTrue(t.sr, t.path, 'created');
      await writeVdi(t.sr, disks[0]!, 0, pattern(3 * MiB, 1));
      await assertFiguresTrue(t.sr, t.path, 'written and closed');
      const snaps = await Promise.all(disks.map((d) => t.sr.vdiSnapshot(d, randomUUID())));
      await assertFiguresTrue(t.sr, t.path, 'snapshotted together');
      // A disk open for writing here grows between looks.
      const dev = await t.sr.activate(disks[1]!, { readOnly: false });
      await dev.write(8 * MiB, pattern(2 * MiB, 2));
      await dev.flush();
      await assertFiguresTrue(t.sr, t.path, 'open and written');
      await dev.write(20 * MiB, pattern(2 * MiB, 3));
      await dev.close();
      await assertFiguresTrue(t.sr, t.path, 'closed after more writes');
      // Another attachment (another host of a shared SR) writes, snapshots and destroys.
      await writeVdi(other, disks[2]!, 4 * MiB, pattern(4 * MiB, 4));
      await assertFiguresTrue(t.sr, t.path, 'written by the other attachment');
      await writeVdi(other, disks[2]!, 40 * MiB, pattern(MiB, 5));
      await other.vdiSnapshot(disks[2]!, randomUUID());
      await other.vdiDestroy(snaps[0]!.created.uuid);
      await assertFiguresTrue(t.sr, t.path, 'changed by the other attachment');
      await t.sr.vdiDestroy(snaps[1]!.created.uuid);
      await t.sr.gc();
      await assertFiguresTrue(t.sr, t.path, 'after destroy and gc');
      await other.gc();
      await assertFiguresTrue(t.sr, t.path, 'after the other attachment collected');
    } finally {
      await other.detach();
      await t.close();
    }
  });
});
