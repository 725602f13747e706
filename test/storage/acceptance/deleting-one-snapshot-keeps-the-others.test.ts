/**
 * Hotfix item 4: deleting one snapshot never deletes, corrupts or changes another snapshot
 * or the VM's disk. Six VMs get the same snapshot tree (six snapshots with branches: revert,
 * then snapshot again; partial overwrites so blocks are shared unevenly). In VM i snapshot i
 * is uninstalled (`xe snapshot-uninstall --force`), then the garbage collector runs; every
 * other snapshot and every VM disk of every tree must still export exactly the content it
 * had (sha256 over `GET /export_raw_vdi`), and libvhdi reading the SR's files directly must
 * agree. Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MiB, type StorageFixture, chainDigest, collect, diskOf, exportDigest, importImage, pattern, sha256, startStorageFixture, vdiRecords, vmWithDisk,
} from './storage-fixture.js';

// The writes reach 17 MiB (block 8 of 2 MiB); a larger disk only adds zeroes to every import and export.
const SIZE = 18 * MiB;
const STEPS = 6;

interface Tree {
  vm: string;
  /** Snapshot VM refs, in the order taken. */
  snaps: string[];
  /** What each snapshot's disk holds. */
  expected: Map<string, string>;
  /** What the VM's disk holds now. */
  current: string;
}

/** One round of writes: a MiB in a block of its own, and 64 KiB over the start of the disk. */
function write(content: Buffer, n: number): void {
  pattern(100 + n, 1 * MiB).copy(content, (n % 14) * 2 * MiB + 2 * MiB);
  pattern(200 + n, 64 * 1024).copy(content, (n * 4096) % (1 * MiB));
}

async function buildTree(f: StorageFixture, name: string): Promise<Tree> {
  const { vm, vdi } = await vmWithDisk(f.api, f.sr, name, SIZE);
  const expected = new Map<string, string>();
  const contents = new Map<string, Buffer>();
  const snaps: string[] = [];
  let content = Buffer.alloc(SIZE);
  let disk = vdi;
  const step = async (n: number) => {
    write(content, n);
    await importImage(f.api, disk, content);
  };
  const snap = async (label: string) => {
    const s = String(await f.api.callAsync('VM.snapshot', vm, `${name}-${label}`, []));
    snaps.push(s);
    expected.set(s, sha256(content));
    contents.set(s, Buffer.from(content));
    return s;
  };
  const revert = async (s: string) => {
    await f.api.callAsync('VM.revert', s);
    content = Buffer.from(contents.get(s)!);
    disk = await diskOf(f.api, vm);
  };
  await step(1);
  const s1 = await snap('s1');
  await step(2);
  const s2 = await snap('s2');
  await step(3);
  await snap('s3');
  await revert(s2);
  await step(4);
  await snap('s4');
  await step(5);
  await snap('s5');
  await revert(s1);
  await step(6);
  await snap('s6');
  await step(7);
  return { vm, snaps, expected, current: sha256(content) };
}

async function snapshotDisk(f: StorageFixture, snap: string): Promise<string> {
  return diskOf(f.api, snap);
}

describe('deleting one snapshot keeps the others (hotfix item 4)', () => {
  let f: StorageFixture;
  const trees: Tree[] = [];

  before(async () => {
    f = await startStorageFixture();
    for (let i = 0; i < STEPS; i++) trees.push(await buildTree(f, `tree${i}`));
  });
  after(async () => f?.close());

  it('every tree starts with the content it was given', async () => {
    for (const t of trees) {
      assert.equal(t.snaps.length, STEPS);
      for (const s of t.snaps) assert.equal((await exportDigest(f.api, await snapshotDisk(f, s))).sha, t.expected.get(s));
      assert.equal((await exportDigest(f.api, await diskOf(f.api, t.vm))).sha, t.current);
    }
  });

  it('uninstalling snapshot i of tree i, for every i, changes nothing else', async () => {
    for (const [i, t] of trees.entries()) {
      const uuid = String(await f.api.call('VM.get_uuid', t.snaps[i]));
      const out = await f.xeOk('snapshot-uninstall', `snapshot-uuid=${uuid}`, '--force');
      assert.match(out, /All objects destroyed/);
    }
    await collect(f.api, f.sr);
    for (const [i, t] of trees.entries()) {
      for (const [j, s] of t.snaps.entries()) {
        if (j === i) {
          await assert.rejects(f.api.call('VM.get_uuid', s), /HANDLE_INVALID/);
          continue;
        }
        const disk = await snapshotDisk(f, s);
        assert.equal((await exportDigest(f.api, disk)).sha, t.expected.get(s), `tree ${i}: snapshot ${j + 1} changed`);
      }
      assert.equal((await exportDigest(f.api, await diskOf(f.api, t.vm))).sha, t.current, `tree ${i}: the VM's disk changed`);
    }
  });

  it('libvhdi reads the same content from the SR files', async () => {
    for (const [i, t] of trees.entries()) {
      for (const [j, s] of t.snaps.entries()) {
        if (j === i) continue;
        const { sha } = await chainDigest(f, await snapshotDisk(f, s));
        assert.equal(sha, t.expected.get(s), `tree ${i}: snapshot ${j + 1} as libvhdi reads it`);
      }
    }
  });

  it('users see leaves; base copies are hidden, read-only and unmanaged', async () => {
    for (const r of await vdiRecords(f.api, f.sr)) {
      if (r.managed) continue;
      assert.equal(r.name_label, 'base copy');
      assert.equal(r.read_only, true);
    }
    const snapVdis = (await vdiRecords(f.api, f.sr)).filter((r) => r.is_a_snapshot);
    assert.equal(snapVdis.length, STEPS * (STEPS - 1));
    for (const r of snapVdis) assert.equal(r.read_only, true);
  });
});
