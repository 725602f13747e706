/**
 * @module
 * The hotfix's NetApp items hold on an EqualLogic SR too, checked against the simulated
 * group's own accounting: (2) a new thin disk reserves only thin-min-reserve and uses
 * nothing; (4) deleting one snapshot, or the disk itself, keeps every other snapshot and
 * its content (the group would delete a volume's snapshots with it: the driver keeps the
 * volume hidden instead); (6) snapshots use space only for blocks overwritten later; (8) a
 * snapshot of a thin disk is thin; (9) a revert (clone of a snapshot) is thin and holds
 * only the data written, not the virtual size.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AttachedSr } from '../../../src/core/ports/sr-driver.js';
import { pattern, vdiHash, writeVdi } from '../sr-driver.contract.js';
import { startEqlFixture, type EqlFixture } from './eql-fixture.js';

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;

describe('NetApp items (2, 4, 6, 8, 9) on EqualLogic', { timeout: 300_000 }, () => {
  let f: EqlFixture;
  let sr: AttachedSr;
  const vol = (uuid: string) => f.sim.group.state.volumes.find((v) => v.name.endsWith(uuid))!;
  before(async () => {
    f = await startEqlFixture();
    const srUuid = randomUUID();
    await f.driver.create(srUuid, f.deviceConfig, {});
    sr = await f.driver.attach(srUuid, f.deviceConfig);
  });
  after(async () => {
    await sr?.detach();
    await f?.cleanup();
  });

  it('(2) a new 1 GiB thin disk reserves thin-min-reserve (10%) and uses nothing', async () => {
    const before = (await sr.stat()).physicalUtilisation;
    const d = randomUUID();
    const info = await sr.vdiCreate({ uuid: d, virtualSize: SIZE, allocation: 'thin' });
    assert.equal(info.allocation, 'thin');
    assert.equal(info.physicalUtilisation, 0);
    const v = vol(d);
    assert.equal(f.sim.group.volReserve(v), Math.ceil(SIZE / 10 / MiB) * MiB);
    const grew = (await sr.stat()).physicalUtilisation - before;
    assert.equal(grew, f.sim.group.volReserve(v) + f.sim.group.snapReserve(v), 'the SR grows by exactly the reserves the group made');
    assert.ok(grew <= 0.2 * SIZE + 2 * MiB, 'never anything like +140%');
    await sr.vdiDestroy(d);
  });

  it('(4) deleting one snapshot, then the disk, keeps every other snapshot and its content', async () => {
    const d = randomUUID();
    await sr.vdiCreate({ uuid: d, virtualSize: 16 * MiB, allocation: 'thin' });
    const snaps: string[] = [];
    const hashes = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      await writeVdi(sr, d, i * MiB, pattern(MiB, 50 + i));
      const s = randomUUID();
      await sr.vdiSnapshot(d, s);
      snaps.push(s);
      hashes.set(s, await vdiHash(sr, s));
    }
    await sr.vdiDestroy(snaps[1]!);
    hashes.delete(snaps[1]!);
    for (const [s, h] of hashes) assert.equal(await vdiHash(sr, s), h);
    await sr.vdiDestroy(d);
    await sr.gc();
    const nodes = await sr.scan();
    for (const [s, h] of hashes) {
      assert.ok(nodes.some((n) => n.uuid === s && !n.hidden), `snapshot ${s} still listed`);
      assert.equal(await vdiHash(sr, s), h, `snapshot ${s} unchanged after its disk was destroyed`);
    }
    for (const s of hashes.keys()) await sr.vdiDestroy(s);
    await sr.gc();
    assert.ok(!f.sim.group.state.volumes.some((v) => v.name.endsWith(d)), 'the hidden volume goes with its last snapshot');
  });

  it('(6) (8) a snapshot of a thin disk is thin and uses space only for blocks overwritten afterwards', async () => {
    const d = randomUUID();
    await sr.vdiCreate({ uuid: d, virtualSize: SIZE, allocation: 'thin' });
    await writeVdi(sr, d, 0, pattern(4 * MiB, 60));
    const v = vol(d);
    const inUse = f.sim.group.inUse(v);
    const s = randomUUID();
    const r = await sr.vdiSnapshot(d, s);
    assert.equal(r.created.allocation, 'thin');
    assert.equal(r.original.allocation, 'thin');
    assert.equal(f.sim.group.inUse(v), inUse, 'the snapshot did not inflate the volume');
    assert.equal(f.sim.group.snapInUse(v), 0, 'a fresh snapshot holds nothing of its own');
    await writeVdi(sr, d, 0, pattern(MiB, 61));
    const snapUse = f.sim.group.snapInUse(v);
    assert.ok(snapUse >= MiB && snapUse <= MiB + f.store().blockSize, `snapshot space ${snapUse} is the overwritten MiB`);
    assert.equal(f.sim.group.inUse(v), inUse, 'overwrites do not grow the volume');
    await sr.vdiDestroy(s);
    await sr.vdiDestroy(d);
  });

  it('(9) a revert (clone of a snapshot) is thin and holds only the data written', async () => {
    // 64 MiB is enough to tell 2 MiB written from the virtual size, and the content check
    // reads every byte of both disks through iSCSI: at 1 GiB that took half a minute.
    const size = 64 * MiB;
    const d = randomUUID();
    await sr.vdiCreate({ uuid: d, virtualSize: size, allocation: 'thin' });
    await writeVdi(sr, d, 8 * MiB, pattern(2 * MiB, 70));
    const s = randomUUID();
    await sr.vdiSnapshot(d, s);
    const reverted = randomUUID();
    const r = await sr.vdiClone(s, reverted);
    assert.equal(r.created.allocation, 'thin');
    assert.equal(r.created.virtualSize, size);
    const c = vol(reverted);
    assert.equal(c.thin, true);
    assert.ok(f.sim.group.inUse(c) <= 2 * MiB + 2 * f.store().blockSize, `the clone uses ${f.sim.group.inUse(c)} bytes, the data written`);
    assert.equal(f.sim.group.volReserve(c), Math.ceil(size / 10 / MiB) * MiB, 'and reserves thin-min-reserve, not its size');
    assert.equal(await vdiHash(sr, reverted), await vdiHash(sr, s));
  });
});
