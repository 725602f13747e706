/**
 * @module
 * The contract every `SrDriver` passes (the file SR, the array SRs and their simulators).
 * A test file calls `runSrDriverContract(name, make)` with a factory giving a driver and a
 * device config that reaches empty storage. Content is compared by sha256 of full reads
 * through `activate()`, before and after every operation: snapshots, clones, destroys and
 * garbage collection must never change what any other visible disk reads.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { toWireError } from '../../src/core/wire-errors.js';
import { StorageError } from '../../src/core/ports/storage-errors.js';
import type { BlockDevice } from '../../src/core/ports/block-device.js';
import type { AttachedSr, SrDriver, VdiInfo } from '../../src/core/ports/sr-driver.js';

export interface SrDriverFixture {
  driver: SrDriver;
  /** Reaches empty storage on which one SR can be created. */
  deviceConfig: Record<string, string>;
  cleanup(): Promise<void>;
}

export type MakeSrDriver = () => Promise<SrDriverFixture>;

const MiB = 1024 * 1024;
const DISK = 6 * MiB;

/** Deterministic non-zero bytes. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 7;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 24) | 1;
  }
  return b;
}

export async function deviceHash(dev: BlockDevice): Promise<string> {
  const h = createHash('sha256');
  for (let at = 0; at < dev.size; at += 4 * MiB) h.update(await dev.read(at, Math.min(4 * MiB, dev.size - at)));
  return h.digest('hex');
}

/** sha256 of the VDI's full content, read through a read-only activation. */
export async function vdiHash(sr: AttachedSr, uuid: string): Promise<string> {
  const dev = await sr.activate(uuid, { readOnly: true });
  try {
    return await deviceHash(dev);
  } finally {
    await dev.close();
  }
}

export async function writeVdi(sr: AttachedSr, uuid: string, offset: number, data: Buffer): Promise<void> {
  const dev = await sr.activate(uuid, { readOnly: false });
  try {
    await dev.write(offset, data);
    await dev.flush();
  } finally {
    await dev.close();
  }
}

export async function visibleHashes(sr: AttachedSr): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of await sr.scan()) if (!v.hidden) out.set(v.uuid, await vdiHash(sr, v.uuid));
  return out;
}

/** Every parent named exists, hidden nodes are read-only, no hidden node is left unreferenced. */
export function checkTree(nodes: readonly VdiInfo[], opts: { collected?: boolean } = {}): void {
  const by = new Map(nodes.map((n) => [n.uuid, n]));
  const children = new Map<string, number>();
  for (const n of nodes) {
    if (n.parentUuid !== undefined) {
      assert.ok(by.has(n.parentUuid), `parent ${n.parentUuid} of ${n.uuid} is in the scan`);
      children.set(n.parentUuid, (children.get(n.parentUuid) ?? 0) + 1);
    }
    if (n.hidden) assert.ok(n.readOnly, `hidden ${n.uuid} is read-only`);
  }
  for (const n of nodes) if (!n.hidden) assert.equal(children.get(n.uuid) ?? 0, 0, `visible ${n.uuid} is a leaf`);
  if (opts.collected) for (const n of nodes) if (n.hidden) assert.ok((children.get(n.uuid) ?? 0) > 0, `hidden ${n.uuid} has children after gc`);
}

/** A typed storage failure (never a XenAPI error), and the XenAPI error it maps to. */
function assertStorageError(e: unknown, code?: string): true {
  assert.ok(e instanceof StorageError, `a StorageError, got ${String(e)}`);
  const api = toWireError(e);
  assert.notEqual(api.code, 'INTERNAL_ERROR');
  if (code) assert.equal(api.code, code);
  return true;
}

async function withSr(make: MakeSrDriver, fn: (sr: AttachedSr, f: SrDriverFixture, srUuid: string) => Promise<void>): Promise<void> {
  const f = await make();
  const srUuid = randomUUID();
  let sr: AttachedSr | undefined;
  try {
    await f.driver.create(srUuid, f.deviceConfig, {});
    sr = await f.driver.attach(srUuid, f.deviceConfig);
    await fn(sr, f, srUuid);
  } finally {
    await sr?.detach().catch(() => undefined);
    await f.cleanup();
  }
}

async function newDisk(sr: AttachedSr, size = DISK): Promise<string> {
  const uuid = randomUUID();
  await sr.vdiCreate({ uuid, virtualSize: size, allocation: 'thin' });
  return uuid;
}

export function runSrDriverContract(name: string, make: MakeSrDriver): void {
  describe(`SrDriver contract: ${name}`, () => {
    it('creates an SR that probe finds and attach, stat and re-attach agree on', async () => {
      await withSr(make, async (sr, f, srUuid) => {
        const st = await sr.stat();
        assert.ok(st.identity.length > 0);
        assert.ok(st.physicalSize > 0);
        assert.equal(st.virtualAllocation, 0);
        assert.ok(st.physicalUtilisation >= 0 && st.physicalUtilisation <= st.physicalSize);
        assert.ok((await f.driver.probe(f.deviceConfig)).some((p) => p.uuid === srUuid));
        await sr.detach();
        const again = await f.driver.attach(srUuid, f.deviceConfig);
        assert.equal((await again.stat()).identity, st.identity);
        await again.detach();
      });
    });

    it('refuses to attach storage that holds another SR, with a XenAPI error', async () => {
      await withSr(make, async (_sr, f) => {
        await assert.rejects(f.driver.attach(randomUUID(), f.deviceConfig), (e) => assertStorageError(e));
      });
    });

    it('a new thin disk is visible, sized, counted in virtual allocation and reads as zeros', async () => {
      await withSr(make, async (sr) => {
        const uuid = await newDisk(sr);
        const info = await sr.vdiStat(uuid);
        assert.equal(info.virtualSize, DISK);
        assert.equal(info.hidden, false);
        assert.equal(info.readOnly, false);
        assert.ok((await sr.scan()).some((v) => v.uuid === uuid && !v.hidden));
        assert.equal((await sr.stat()).virtualAllocation, DISK);
        const dev = await sr.activate(uuid, { readOnly: true });
        assert.equal(dev.size, DISK);
        assert.ok((await dev.read(0, DISK)).every((b) => b === 0));
        await dev.close();
      });
    });

    it('data written through activate survives detach and re-attach', async () => {
      await withSr(make, async (sr, f, srUuid) => {
        const uuid = await newDisk(sr);
        await writeVdi(sr, uuid, 1000, pattern(70_000, 1));
        const before = await vdiHash(sr, uuid);
        await sr.detach();
        const again = await f.driver.attach(srUuid, f.deviceConfig);
        assert.equal(await vdiHash(again, uuid), before);
        await again.detach();
      });
    });

    it('a snapshot keeps the content of its moment, is read-only, and the original stays writable', async () => {
      await withSr(make, async (sr) => {
        const uuid = await newDisk(sr);
        await writeVdi(sr, uuid, 0, pattern(3 * MiB, 2));
        const h0 = await vdiHash(sr, uuid);
        const snap = randomUUID();
        const r = await sr.vdiSnapshot(uuid, snap);
        assert.equal(r.created.uuid, snap);
        assert.equal(r.created.readOnly, true);
        assert.equal(r.original.uuid, uuid);
        assert.equal(r.original.readOnly, false);
        assert.equal(await vdiHash(sr, snap), h0);
        await assert.rejects(sr.activate(snap, { readOnly: false }), (e) => assertStorageError(e));
        await writeVdi(sr, uuid, 2 * MiB, pattern(MiB, 3));
        assert.equal(await vdiHash(sr, snap), h0);
        assert.notEqual(await vdiHash(sr, uuid), h0);
        checkTree(await sr.scan());
        assert.equal((await sr.stat()).virtualAllocation, 2 * DISK);
      });
    });

    it('a clone is writable and independent of its source', async () => {
      await withSr(make, async (sr) => {
        const uuid = await newDisk(sr);
        await writeVdi(sr, uuid, 512, pattern(MiB, 4));
        const clone = randomUUID();
        const r = await sr.vdiClone(uuid, clone);
        assert.equal(r.created.readOnly, false);
        const h0 = await vdiHash(sr, uuid);
        assert.equal(await vdiHash(sr, clone), h0);
        await writeVdi(sr, clone, 0, pattern(4096, 5));
        assert.equal(await vdiHash(sr, uuid), h0);
        await writeVdi(sr, uuid, 4 * MiB, pattern(4096, 6));
        assert.notEqual(await vdiHash(sr, uuid), await vdiHash(sr, clone));
        checkTree(await sr.scan());
      });
    });

    it('snapshot of a snapshot, and revert (clone of a snapshot), keep contents', async () => {
      await withSr(make, async (sr) => {
        const uuid = await newDisk(sr);
        await writeVdi(sr, uuid, 0, pattern(MiB, 7));
        const s1 = randomUUID();
        await sr.vdiSnapshot(uuid, s1);
        const h1 = await vdiHash(sr, s1);
        await writeVdi(sr, uuid, 0, pattern(MiB, 8));
        const s2 = randomUUID();
        await sr.vdiSnapshot(s1, s2);
        assert.equal(await vdiHash(sr, s2), h1);
        // Revert: destroy the disk, clone the snapshot.
        await sr.vdiDestroy(uuid);
        const reverted = randomUUID();
        await sr.vdiClone(s1, reverted);
        assert.equal(await vdiHash(sr, reverted), h1);
        await writeVdi(sr, reverted, 0, pattern(512, 9));
        assert.equal(await vdiHash(sr, s1), h1);
        assert.equal(await vdiHash(sr, s2), h1);
        checkTree(await sr.scan());
      });
    });

    it('destroying any disk then collecting garbage leaves every other disk unchanged', async () => {
      await withSr(make, async (sr) => {
        const uuid = await newDisk(sr);
        const snaps: string[] = [];
        for (let i = 0; i < 3; i++) {
          await writeVdi(sr, uuid, i * MiB, pattern(MiB + 512, 10 + i));
          const s = randomUUID();
          await sr.vdiSnapshot(uuid, s);
          snaps.push(s);
        }
        const clone = randomUUID();
        await sr.vdiClone(snaps[0]!, clone);
        await writeVdi(sr, clone, 5 * MiB, pattern(MiB, 20));
        let expected = await visibleHashes(sr);
        for (const victim of [snaps[1]!, uuid, snaps[0]!]) {
          await sr.vdiDestroy(victim);
          expected.delete(victim);
          await sr.gc();
          const nodes = await sr.scan();
          checkTree(nodes, { collected: true });
          assert.deepEqual(new Set(nodes.filter((n) => !n.hidden).map((n) => n.uuid)), new Set(expected.keys()));
          for (const [u, h] of expected) assert.equal(await vdiHash(sr, u), h, `${u} unchanged after destroying ${victim}`);
          assert.equal((await sr.stat()).virtualAllocation, expected.size * DISK);
        }
        for (const u of [...expected.keys()]) await sr.vdiDestroy(u);
        await sr.gc();
        assert.deepEqual(await sr.scan(), []);
        expected = new Map();
        assert.equal((await sr.stat()).virtualAllocation, 0);
      });
    });

    it('resize grows a disk and keeps its content; the new space reads as zeros', async () => {
      await withSr(make, async (sr) => {
        const uuid = await newDisk(sr);
        const data = pattern(MiB, 30);
        await writeVdi(sr, uuid, DISK - MiB, data);
        const snap = randomUUID();
        await sr.vdiSnapshot(uuid, snap);
        const info = await sr.vdiResize(uuid, 2 * DISK);
        assert.equal(info.virtualSize, 2 * DISK);
        const dev = await sr.activate(uuid, { readOnly: true });
        assert.equal(dev.size, 2 * DISK);
        assert.ok((await dev.read(DISK - MiB, MiB)).equals(data));
        assert.ok((await dev.read(DISK, DISK)).every((b) => b === 0));
        await dev.close();
        assert.equal((await sr.vdiStat(snap)).virtualSize, DISK);
      });
    });

    it('unknown disks and disks in use are refused with XenAPI errors', async () => {
      await withSr(make, async (sr) => {
        const ghost = randomUUID();
        await assert.rejects(sr.vdiStat(ghost), (e) => assertStorageError(e, 'VDI_MISSING'));
        await assert.rejects(sr.activate(ghost, { readOnly: true }), (e) => assertStorageError(e, 'VDI_MISSING'));
        await assert.rejects(sr.vdiSnapshot(ghost, randomUUID()), (e) => assertStorageError(e, 'VDI_MISSING'));
        const uuid = await newDisk(sr);
        const dev = await sr.activate(uuid, { readOnly: false });
        await assert.rejects(sr.vdiDestroy(uuid), (e) => assertStorageError(e, 'VDI_IN_USE'));
        await sr.deactivate(uuid);
        await assert.rejects(dev.read(0, 512));
        await sr.vdiDestroy(uuid);
      });
    });

    it('a disk can be snapshotted while it is active, and keeps serving I/O', async () => {
      await withSr(make, async (sr) => {
        const uuid = await newDisk(sr);
        const dev = await sr.activate(uuid, { readOnly: false });
        await dev.write(0, pattern(MiB, 40));
        const snap = randomUUID();
        await sr.vdiSnapshot(uuid, snap);
        await dev.write(MiB, pattern(MiB, 41));
        assert.ok((await dev.read(0, MiB)).equals(pattern(MiB, 40)));
        assert.ok((await dev.read(MiB, MiB)).equals(pattern(MiB, 41)));
        const s = await sr.activate(snap, { readOnly: true });
        assert.ok((await s.read(MiB, MiB)).every((b) => b === 0));
        await s.close();
        await dev.close();
      });
    });

    it('destroy removes the SR: probe no longer finds it', async () => {
      const f = await make();
      try {
        const srUuid = randomUUID();
        await f.driver.create(srUuid, f.deviceConfig, {});
        const sr = await f.driver.attach(srUuid, f.deviceConfig);
        await newDisk(sr);
        await sr.detach();
        await f.driver.destroy(srUuid, f.deviceConfig);
        assert.ok(!(await f.driver.probe(f.deviceConfig)).some((p) => p.uuid === srUuid));
        await assert.rejects(f.driver.attach(srUuid, f.deviceConfig), (e) => assertStorageError(e));
      } finally {
        await f.cleanup();
      }
    });
  });
}
