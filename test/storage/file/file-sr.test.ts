/**
 * The file SR driver against the SrDriver contract, its activated disks against the
 * BlockDevice contract, and the file-specific promises: identity on disk, thin snapshots,
 * no inflation, no overhead, deleting one snapshot keeps the others, over-commit, SR_FULL.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { toWireError } from '../../../src/core/wire-errors.js';
import { StorageError } from '../../../src/core/ports/storage-errors.js';
import { ActiveDisk } from '../../../src/storage/file/active-disk.js';
import { FileSrDriver } from '../../../src/storage/file/file-sr-driver.js';
import { SrDir } from '../../../src/storage/file/sr-dir.js';
import type { VhdBlockDevice } from '../../../src/storage/vhd/vhd-block-device.js';
import { runBlockDeviceContract } from '../block-device.contract.js';
import { checkTree, pattern, runSrDriverContract, vdiHash, visibleHashes, writeVdi } from '../sr-driver.contract.js';
import { pyvhdiDump } from '../vhd/vhd-helpers.js';
import { buildTree, GiB, KiB, makeTempDir, MiB, newSr, vhdBytes } from './file-sr-helpers.js';

const exec = promisify(execFile);

runSrDriverContract('file', async () => {
  const dir = await makeTempDir();
  return { driver: new FileSrDriver(), deviceConfig: { path: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

runBlockDeviceContract('file SR activate()', async (size) => {
  const t = await newSr();
  const uuid = randomUUID();
  await t.sr.vdiCreate({ uuid, virtualSize: size, allocation: 'thin' });
  return {
    device: await t.sr.activate(uuid, { readOnly: false }),
    reopen: () => t.sr.activate(uuid, { readOnly: false }),
    cleanup: () => t.close(),
  };
});

runBlockDeviceContract('file SR activate() of a snapshotted disk', async (size) => {
  const t = await newSr();
  const uuid = randomUUID();
  await t.sr.vdiCreate({ uuid, virtualSize: size, allocation: 'thin' });
  // Gives the disk a hidden base and leaves it an empty child: I/O then goes through a chain.
  await t.sr.vdiSnapshot(uuid, randomUUID());
  return {
    device: await t.sr.activate(uuid, { readOnly: false }),
    reopen: () => t.sr.activate(uuid, { readOnly: false }),
    cleanup: () => t.close(),
  };
});

function apiCode(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof StorageError, String(e));
    assert.equal(toWireError(e).code, code, e.message);
    return true;
  };
}

describe('file SR identity', () => {
  it('an SR is what sr.json says: another uuid is refused with SR_BACKEND_FAILURE_47', async () => {
    const t = await newSr();
    try {
      const other = randomUUID();
      await assert.rejects(t.driver.attach(other, t.deviceConfig), (e) => {
        apiCode('SR_BACKEND_FAILURE_47')(e);
        assert.match(toWireError(e).params[1]!, new RegExp(`holds SR ${t.srUuid}, not ${other}`));
        return true;
      });
      await assert.rejects(t.driver.attach(t.srUuid, { path: join(t.path, 'nowhere') }), apiCode('SR_BACKEND_FAILURE_47'));
      await assert.rejects(t.driver.create(randomUUID(), t.deviceConfig, {}), apiCode('SR_BACKEND_FAILURE_42'));
      await assert.rejects(t.driver.attach(t.srUuid, {}), apiCode('SR_BACKEND_FAILURE_94'));
    } finally {
      await t.close();
    }
  });

  it('probe finds SRs in the directory and in its subdirectories', async () => {
    const root = await makeTempDir();
    try {
      const a = await newSr(join(root, 'a'));
      const b = await newSr(join(root, 'b'));
      const found = await new FileSrDriver().probe({ path: root });
      assert.deepEqual(new Set(found.map((p) => p.uuid)), new Set([a.srUuid, b.srUuid]));
      assert.equal(found.find((p) => p.uuid === a.srUuid)!.deviceConfig.path, a.path);
      assert.deepEqual((await new FileSrDriver().probe({ path: a.path })).map((p) => p.uuid), [a.srUuid]);
      await a.close();
      await b.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('file SR thinness (hotfix truths 1, 2, 4)', () => {
  it('thin snapshot stays thin: every new node is metadata only', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      await t.sr.vdiCreate({ uuid, virtualSize: GiB, allocation: 'thin' });
      await writeVdi(t.sr, uuid, 0, pattern(8 * MiB, 1));
      const before = await vhdBytes(t.path);
      const r = await t.sr.vdiSnapshot(uuid, randomUUID());
      assert.ok(r.base, 'a disk with data gets a base');
      const after = await vhdBytes(t.path);
      // Two new empty children of a 1 GiB disk: footer, header, 2 KiB BAT, locators each.
      assert.ok(after - before <= 2 * 16 * KiB, `snapshot added ${after - before} bytes`);
      for (const n of [r.created, r.original]) assert.ok(n.physicalUtilisation <= 16 * KiB, `${n.uuid}: ${n.physicalUtilisation}`);
      const c = await t.sr.vdiClone(r.created.uuid, randomUUID());
      assert.equal(c.base, undefined, 'cloning an unmodified snapshot adds no depth');
      assert.ok(c.created.physicalUtilisation <= 16 * KiB);
      // Writes after the snapshot cost their own size, not a copy of the base.
      await writeVdi(t.sr, uuid, 4 * MiB, pattern(64 * KiB, 2));
      assert.ok((await t.sr.vdiStat(uuid)).physicalUtilisation <= 64 * KiB + 16 * KiB);
    } finally {
      await t.close();
    }
  });

  it('snapshots do not inflate: 20 snapshots with writes between cost data written + metadata (< 1%)', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      await t.sr.vdiCreate({ uuid, virtualSize: 256 * MiB, allocation: 'thin' });
      let written = 0;
      for (let i = 0; i < 20; i++) {
        const len = 6 * MiB;
        await writeVdi(t.sr, uuid, ((i * 7) % 40) * 6 * MiB, pattern(len, 100 + i));
        written += len;
        await t.sr.vdiSnapshot(uuid, randomUUID());
      }
      const used = await vhdBytes(t.path);
      const st = await t.sr.stat();
      assert.ok(used >= written, `used ${used} < written ${written}`);
      assert.ok(used - written < written * 0.01, `overhead ${used - written} over ${written} written`);
      assert.ok(st.physicalUtilisation >= used && st.physicalUtilisation - used < 64 * KiB, 'SR utilisation is its files');
      assert.equal(st.virtualAllocation, 21 * 256 * MiB);
    } finally {
      await t.close();
    }
  });

  it('no overhead: a 100 GiB thin disk and 10 snapshots take < 4 MiB before any write', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      await t.sr.vdiCreate({ uuid, virtualSize: 100 * GiB, allocation: 'thin' });
      for (let i = 0; i < 10; i++) await t.sr.vdiSnapshot(uuid, randomUUID());
      const used = await vhdBytes(t.path);
      assert.ok(used < 4 * MiB, `used ${used}`);
      const nodes = await t.sr.scan();
      // One base, the disk and its ten snapshots: unmodified disks add no depth.
      assert.equal(nodes.length, 12);
      assert.equal(nodes.filter((n) => n.hidden).length, 1);
      assert.ok((await t.sr.stat()).physicalUtilisation < 4 * MiB);
    } finally {
      await t.close();
    }
  });
});

describe('file SR trees (hotfix truth 3)', () => {
  it('deleting one snapshot keeps the others: every choice of victim, then GC', async () => {
    const t0 = await newSr();
    const { vdis } = await buildTree(t0.sr);
    const expected = await visibleHashes(t0.sr);
    await t0.sr.detach();
    assert.ok(expected.size >= 8);
    try {
      for (const [role, victim] of Object.entries(vdis)) {
        const path = `${t0.path}-${role}`;
        await exec('cp', ['-a', '--sparse=always', t0.path, path]);
        const sr = await t0.driver.attach(t0.srUuid, { path });
        try {
          await sr.vdiDestroy(victim);
          await sr.gc();
          const nodes = await sr.scan();
          checkTree(nodes, { collected: true });
          const kept = [...expected.keys()].filter((u) => u !== victim);
          assert.deepEqual(new Set(nodes.filter((n) => !n.hidden).map((n) => n.uuid)), new Set(kept), `after deleting ${role}`);
          for (const u of kept) assert.equal(await vdiHash(sr, u), expected.get(u), `content kept after deleting ${role}`);
        } finally {
          await sr.detach();
          await rm(path, { recursive: true, force: true });
        }
      }
    } finally {
      await t0.close();
    }
  });

  it('libvhdi (an independent VHD reader) reads every disk of a tree as the SR does, before and after GC', async () => {
    const t = await newSr();
    try {
      const { vdis } = await buildTree(t.sr, { pageAligned: true });
      const check = async (label: string) => {
        const nodes = await t.sr.scan();
        const parent = new Map(nodes.map((n) => [n.uuid, n.parentUuid]));
        for (const n of nodes.filter((x) => !x.hidden)) {
          const chain: string[] = [];
          for (let u: string | undefined = n.uuid; u; u = parent.get(u)) chain.push(join(t.path, `${u}.vhd`));
          const out = join(t.path, `.${n.uuid}.raw.tmp`);
          await pyvhdiDump(chain, out);
          const theirs = createHash('sha256').update(await readFile(out)).digest('hex');
          await rm(out);
          assert.equal(await vdiHash(t.sr, n.uuid), theirs, `${label}: ${n.uuid} (depth ${chain.length})`);
        }
      };
      await check('tree');
      await t.sr.vdiDestroy(vdis.s1!);
      await t.sr.vdiDestroy(vdis.s3!);
      await t.sr.vdiDestroy(vdis.cs1!);
      await t.sr.gc();
      await check('after gc');
    } finally {
      await t.close();
    }
  });

  it('GC gives the space of deleted snapshots back and shortens chains', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      await t.sr.vdiCreate({ uuid, virtualSize: 16 * MiB, allocation: 'thin' });
      const snaps: string[] = [];
      for (let i = 0; i < 5; i++) {
        await writeVdi(t.sr, uuid, 0, pattern(4 * MiB, 200 + i));
        const s = randomUUID();
        await t.sr.vdiSnapshot(uuid, s);
        snaps.push(s);
      }
      const h = await vdiHash(t.sr, uuid);
      const full = await vhdBytes(t.path);
      for (const s of snaps) await t.sr.vdiDestroy(s);
      const report = await t.sr.gc();
      assert.ok(report.removed.length + report.coalesced.length > 0);
      const nodes = await t.sr.scan();
      assert.equal(nodes.length, 1, 'one file left');
      assert.equal(nodes[0]!.parentUuid, undefined);
      assert.equal(await vdiHash(t.sr, uuid), h);
      assert.ok((await vhdBytes(t.path)) < full / 4, 'space given back');
      assert.ok((await vhdBytes(t.path)) <= 4 * MiB + 64 * KiB);
      assert.deepEqual(await t.sr.gc(), { removed: [], coalesced: [], split: [] });
    } finally {
      await t.close();
    }
  });

  it('a chain may not grow past depth 30 (SR_BACKEND_FAILURE_109)', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      await t.sr.vdiCreate({ uuid, virtualSize: MiB, allocation: 'thin' });
      const dev = await t.sr.activate(uuid, { readOnly: false });
      let last = '';
      for (let i = 0; i < 29; i++) {
        await dev.write(0, pattern(512, i));
        await t.sr.vdiSnapshot(uuid, (last = randomUUID()));
      }
      await dev.write(0, pattern(512, 99));
      await assert.rejects(t.sr.vdiSnapshot(uuid, randomUUID()), apiCode('SR_BACKEND_FAILURE_109'));
      await dev.close();
      // An unmodified disk may still be snapshotted and cloned: that adds no depth.
      await t.sr.vdiClone(last, randomUUID());
      checkTree(await t.sr.scan());
    } finally {
      await t.close();
    }
  });

  it('an active busy leaf is coalesced while it keeps serving I/O', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      await t.sr.vdiCreate({ uuid, virtualSize: 64 * MiB, allocation: 'thin' });
      await writeVdi(t.sr, uuid, 0, pattern(4 * MiB, 300));
      const snap = randomUUID();
      await t.sr.vdiSnapshot(uuid, snap);
      const dev = await t.sr.activate(uuid, { readOnly: false });
      await dev.write(8 * MiB, pattern(30 * MiB, 301));
      await t.sr.vdiDestroy(snap);
      const gc = t.sr.gc();
      // Writes during GC land, and reads see them.
      for (let i = 0; i < 8; i++) await dev.write(40 * MiB + i * 4096, pattern(4096, 400 + i));
      await gc;
      await t.sr.gc();
      for (let i = 0; i < 8; i++) assert.ok((await dev.read(40 * MiB + i * 4096, 4096)).equals(pattern(4096, 400 + i)));
      assert.ok((await dev.read(8 * MiB, 30 * MiB)).equals(pattern(30 * MiB, 301)));
      assert.ok((await dev.read(0, 4 * MiB)).equals(pattern(4 * MiB, 300)));
      await dev.close();
      const nodes = await t.sr.scan();
      assert.equal(nodes.length, 1);
    } finally {
      await t.close();
    }
  });

  it('activating a disk whose last handle is still closing waits and opens it anew', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      await t.sr.vdiCreate({ uuid, virtualSize: 512 * MiB, allocation: 'thin' });
      // Each round dirties many blocks (so the closing flush has work), releases the only
      // handle without waiting, then activates at once: the new handle must never land on
      // the chain being closed, and must read what the closed one wrote.
      for (let i = 0; i < 20; i++) {
        const first = await t.sr.activate(uuid, { readOnly: false });
        await Promise.all(Array.from({ length: 128 }, (_, b) => first.write(b * 4 * MiB + i * 4096, pattern(4096, i * 1000 + b))));
        const closing = first.close();
        const second = await t.sr.activate(uuid, { readOnly: true });
        for (const b of [0, 77, 127]) {
          assert.ok((await second.read(b * 4 * MiB + i * 4096, 4096)).equals(pattern(4096, i * 1000 + b)), `round ${i} block ${b}`);
        }
        await closing;
        await second.close();
      }
    } finally {
      await t.close();
    }
  });
});

describe('file SR shared by two hosts', () => {
  it('a disk open on one host is left alone by the other: no snapshot, destroy, writer or coalesce there', async () => {
    const t = await newSr();
    const b = await t.driver.attach(t.srUuid, t.deviceConfig);
    try {
      const vm = randomUUID();
      await t.sr.vdiCreate({ uuid: vm, virtualSize: 8 * MiB, allocation: 'thin' });
      await writeVdi(t.sr, vm, 0, pattern(2 * MiB, 1));
      const snap = randomUUID();
      await t.sr.vdiSnapshot(vm, snap);
      const dev = await t.sr.activate(vm, { readOnly: false });
      await dev.write(4 * MiB, pattern(MiB, 2));
      const inUse = (e: unknown) => e instanceof StorageError && toWireError(e).code === 'VDI_IN_USE';
      await assert.rejects(b.vdiSnapshot(vm, randomUUID()), inUse);
      await assert.rejects(b.vdiDestroy(vm), inUse);
      await assert.rejects(b.vdiResize(vm, 16 * MiB), inUse);
      await assert.rejects(b.activate(vm, { readOnly: false }), inUse);
      // With the snapshot gone, the disk could be leaf-coalesced: not while host A has it open.
      await b.vdiDestroy(snap);
      await b.gc();
      await dev.write(5 * MiB, pattern(MiB, 3));
      assert.ok((await dev.read(0, 2 * MiB)).equals(pattern(2 * MiB, 1)));
      assert.ok((await dev.read(4 * MiB, 2 * MiB)).equals(Buffer.concat([pattern(MiB, 2), pattern(MiB, 3)])));
      const h = await vdiHash(b, vm);
      await dev.close();
      assert.equal(await vdiHash(b, vm), h);
      await b.gc();
      assert.equal((await b.scan()).length, 1, 'coalesced once host A let go');
      assert.equal(await vdiHash(t.sr, vm), h);
    } finally {
      await b.detach();
      await t.close();
    }
  });

  it('operations from two hosts interleave safely, and a dead process does not hold a disk', async () => {
    const t = await newSr();
    const b = await t.driver.attach(t.srUuid, t.deviceConfig);
    try {
      const vm = randomUUID();
      await t.sr.vdiCreate({ uuid: vm, virtualSize: 8 * MiB, allocation: 'thin' });
      const taken = new Map<string, string>();
      const gcs: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        await writeVdi(t.sr, vm, (i % 4) * 2 * MiB, pattern(MiB, 10 + i));
        const s = randomUUID();
        await t.sr.vdiSnapshot(vm, s);
        taken.set(s, await vdiHash(t.sr, s));
        if (i % 2 === 1) {
          const victim = [...taken.keys()][0]!;
          taken.delete(victim);
          gcs.push(b.vdiDestroy(victim).then(() => b.gc()));
        }
      }
      await Promise.all(gcs);
      await b.gc();
      for (const [s, h] of taken) assert.equal(await vdiHash(t.sr, s), h);
      checkTree(await b.scan(), { collected: true });
      // A marker left by a process of this host that died no longer holds the disk.
      const child = spawn(process.execPath, ['-e', '0']);
      await new Promise((r) => child.on('exit', r));
      await writeFile(join(t.path, '.active', `${vm}#${hostname()}#${child.pid}#dead00`), '');
      await b.vdiSnapshot(vm, randomUUID());
    } finally {
      await b.detach();
      await t.close();
    }
  });
});

describe('file SR space', () => {
  it('a thick disk really takes its size; one larger than the free space is SR_FULL and leaves nothing', async () => {
    const t = await newSr();
    try {
      const uuid = randomUUID();
      const info = await t.sr.vdiCreate({ uuid, virtualSize: 8 * MiB, allocation: 'thick' });
      assert.equal(info.allocation, 'thick');
      assert.ok(info.physicalUtilisation >= 8 * MiB);
      const before = (await readdir(t.path)).sort();
      const free = (await t.sr.stat()).physicalSize;
      await assert.rejects(t.sr.vdiCreate({ uuid: randomUUID(), virtualSize: free * 2, allocation: 'thick' }), apiCode('SR_FULL'));
      assert.deepEqual((await readdir(t.path)).sort(), before);
    } finally {
      await t.close();
    }
  });
});

describe('file SR space figures', () => {
  it('after a create, a resize, a destroy or a collection with nothing to do, look again only at the disk touched', async () => {
    const t = await newSr();
    const looked: string[] = [];
    const readNode = SrDir.prototype.readNode;
    try {
      for (let i = 0; i < 3; i++) await t.sr.vdiCreate({ uuid: randomUUID(), virtualSize: 8 * MiB, allocation: 'thin' });
      SrDir.prototype.readNode = function (this: SrDir, uuid: string) {
        looked.push(uuid);
        return readNode.call(this, uuid);
      };
      /** The files `op` and the figures after it looked at. */
      const looksOf = async (op: () => Promise<unknown>) => {
        await t.sr.stat();
        looked.length = 0;
        await op();
        const st = await t.sr.stat();
        return { looks: new Set(looked), st };
      };
      const uuid = randomUUID();
      const made = await looksOf(() => t.sr.vdiCreate({ uuid, virtualSize: 8 * MiB, allocation: 'thin' }));
      assert.deepEqual([...made.looks], [uuid]);
      assert.equal(made.st.virtualAllocation, 4 * 8 * MiB);
      const grown = await looksOf(() => t.sr.vdiResize(uuid, 16 * MiB));
      assert.deepEqual([...grown.looks], [uuid]);
      assert.equal(grown.st.virtualAllocation, 3 * 8 * MiB + 16 * MiB);
      const gone = await looksOf(() => t.sr.vdiDestroy(uuid));
      assert.deepEqual([...gone.looks], [uuid]);
      assert.equal(gone.st.virtualAllocation, 3 * 8 * MiB);
      // The pass itself reads the tree; the figures after it, when it did nothing, look at nothing.
      assert.deepEqual(await t.sr.gc(), { removed: [], coalesced: [], split: [] });
      looked.length = 0;
      await t.sr.stat();
      assert.deepEqual(looked, []);
    } finally {
      SrDir.prototype.readNode = readNode;
      await t.close();
    }
  });
});

describe('ActiveDisk closing', () => {
  it('says it is closing from the moment its last handle goes until the chain is closed', async () => {
    let finishFlush!: () => void;
    const flushed = new Promise<void>((r) => (finishFlush = r));
    let closedChain = false;
    // Only what ActiveDisk touches of a chain; the flush is held open to widen the window.
    const chain = { size: MiB, flush: () => flushed, close: async () => { closedChain = true; } };
    let onClosedRan = false;
    const disk = await ActiveDisk.open('d', async () => chain as unknown as VhdBlockDevice, async () => { onClosedRan = true; });
    const h = disk.handle(false);
    assert.equal(disk.closingDone, null);
    const closing = h.close();
    const done = disk.closingDone;
    assert.ok(done, 'closing is visible at once');
    await new Promise((r) => setImmediate(r));
    assert.equal(closedChain, false);
    assert.equal(onClosedRan, false);
    finishFlush();
    await done;
    await closing;
    assert.equal(closedChain, true);
    assert.equal(onClosedRan, true);
  });
});
