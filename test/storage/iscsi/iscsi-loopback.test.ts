/**
 * Islet's initiator against the simulated target over loopback: discovery and ACLs by
 * initiator name, CHAP one-way and mutual (and refusals), CRC32C digests, several commands
 * in flight inside the CmdSN window (and within 8 MiB of data), logout, and recovery:
 * connections dropped in the middle of a stream of writes and a target restarted on the
 * same port, with every write present once and no older write re-applied over a newer one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LunStore } from '../../../sims/iscsi/lun-store.js';
import { IscsiTarget, type IscsiTargetOptions } from '../../../sims/iscsi/iscsi-target.js';
import { SparseFileLunStore } from '../../../sims/iscsi/sparse-file-lun-store.js';
import { IscsiError } from '../../../src/core/ports/iscsi-initiator.js';
import { IsletIscsiInitiator } from '../../../src/storage/iscsi/islet-iscsi-initiator.js';

const MiB = 1024 * 1024;
const TARGET = 'iqn.2026-12.org.islet.test:loop';
const hostA = { initiatorIqn: 'iqn.2026-12.org.islet.test:host-a' };
const hostB = { initiatorIqn: 'iqn.2026-12.org.islet.test:host-b' };
const isKind = (k: string) => (e: unknown): boolean => e instanceof IscsiError && e.kind === k;

/** A store that counts reads running at once (to see the CmdSN window at work). */
class CountingStore implements LunStore {
  running = 0;
  maxRunning = 0;
  constructor(private readonly inner: LunStore) {}
  get size(): number { return this.inner.size; }
  get blockSize(): number { return this.inner.blockSize; }
  get thin(): boolean { return this.inner.thin; }
  get serial(): string { return this.inner.serial; }
  async read(offset: number, length: number): Promise<Buffer> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 20));
    try {
      return await this.inner.read(offset, length);
    } finally {
      this.running--;
    }
  }
  write(offset: number, data: Buffer): Promise<void> { return this.inner.write(offset, data); }
  unmap(offset: number, length: number): Promise<void> { return this.inner.unmap(offset, length); }
  flush(): Promise<void> { return this.inner.flush(); }
}

/** A store whose writes wait a little before they reach the inner store. */
class SlowWriteStore implements LunStore {
  constructor(private readonly inner: LunStore) {}
  get size(): number { return this.inner.size; }
  get blockSize(): number { return this.inner.blockSize; }
  get thin(): boolean { return this.inner.thin; }
  get serial(): string { return this.inner.serial; }
  read(offset: number, length: number, into?: Buffer): Promise<Buffer> { return this.inner.read(offset, length, into); }
  async write(offset: number, data: Buffer): Promise<void> {
    await new Promise((r) => setTimeout(r, 2));
    return this.inner.write(offset, data);
  }
  unmap(offset: number, length: number): Promise<void> { return this.inner.unmap(offset, length); }
  flush(): Promise<void> { return this.inner.flush(); }
}

describe('Islet initiator against the simulated target', () => {
  let dir = '';
  const stores: SparseFileLunStore[] = [];
  const targets: IscsiTarget[] = [];
  const store = async (name: string, size: number): Promise<SparseFileLunStore> => {
    const s = await SparseFileLunStore.open(join(dir, name), { size });
    stores.push(s);
    return s;
  };
  const target = async (opts: Partial<IscsiTargetOptions>, port = 0): Promise<{ t: IscsiTarget; portal: string }> => {
    const t = new IscsiTarget({ targetIqn: TARGET, ...opts });
    targets.push(t);
    const a = await t.listen('127.0.0.1', port);
    return { t, portal: `127.0.0.1:${a.port}` };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iscsi-loop-'));
  });
  after(async () => {
    for (const t of targets) await t.close();
    for (const s of stores) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows each initiator only the LUNs its ACL entry names, and nothing to a stranger', async () => {
    const { t, portal } = await target({});
    t.setLun(0, await store('acl0', 4 * MiB));
    t.setLun(1, await store('acl1', 8 * MiB));
    t.setAcl(hostA.initiatorIqn, [1]);
    t.setAcl(hostB.initiatorIqn, []);
    const ini = new IsletIscsiInitiator();
    try {
      assert.deepEqual(await ini.discover(portal, hostA), [{ targetIqn: TARGET, portals: [`${portal},1`] }]);
      assert.deepEqual(await ini.discover(portal, { initiatorIqn: 'iqn.2026-12.org.islet.test:stranger' }), []);
      const d = await ini.openLun({ portal, targetIqn: TARGET, lun: 1 }, hostA);
      assert.equal(d.size, 8 * MiB);
      await d.close();
      await assert.rejects(ini.openLun({ portal, targetIqn: TARGET, lun: 0 }, hostA), isKind('NOT_FOUND'));
      await assert.rejects(ini.openLun({ portal, targetIqn: TARGET, lun: 1 }, hostB), isKind('NOT_FOUND'));
      await assert.rejects(ini.openLun({ portal, targetIqn: TARGET, lun: 1 }, { initiatorIqn: 'iqn.2026-12.org.islet.test:stranger' }), isKind('AUTH_FAILED'));
      await assert.rejects(ini.openLun({ portal, targetIqn: `${TARGET}-nope`, lun: 1 }, hostA), isKind('NOT_FOUND'));
    } finally {
      await ini.close();
    }
  });

  it('authenticates with one-way and mutual CHAP and refuses wrong secrets either way', async () => {
    const chap = { user: 'host-a', secret: 'host-a-secret-1' };
    const mutualChap = { user: 'array', secret: 'array-secret-22' };
    const { t, portal } = await target({ chap, mutualChap, allowAll: true });
    t.setLun(0, await store('chap0', 4 * MiB));
    const addr = { portal, targetIqn: TARGET, lun: 0 };
    const ini = new IsletIscsiInitiator();
    try {
      const one = await ini.openLun(addr, { ...hostA, chap });
      await one.write(0, Buffer.alloc(4096, 9));
      await one.close();
      const both = await ini.openLun(addr, { ...hostA, chap, mutualChap });
      assert.ok((await both.read(0, 4096)).every((b) => b === 9));
      await both.close();
      await assert.rejects(ini.openLun(addr, { ...hostA, chap: { user: 'host-a', secret: 'wrong-secret-00' } }), isKind('AUTH_FAILED'));
      await assert.rejects(ini.openLun(addr, hostA), isKind('AUTH_FAILED'));
      await assert.rejects(ini.openLun(addr, { ...hostA, chap, mutualChap: { user: 'array', secret: 'not-the-array-1' } }), isKind('AUTH_FAILED'));
    } finally {
      await ini.close();
    }
  });

  it('moves data with CRC32C header and data digests', async () => {
    const { t, portal } = await target({ allowAll: true });
    t.setLun(0, await store('digest0', 16 * MiB));
    const ini = new IsletIscsiInitiator({ digests: true });
    try {
      const d = await ini.openLun({ portal, targetIqn: TARGET, lun: 0 }, hostA);
      const data = randomBytes(6 * MiB + 1536);
      await d.write(512, data);
      assert.ok((await d.read(512, data.length)).equals(data));
      await d.close();
    } finally {
      await ini.close();
    }
  });

  it('keeps several commands in flight, and logs out when the last LUN closes', async () => {
    const { t, portal } = await target({ allowAll: true });
    const counting = new CountingStore(await store('window0', 32 * MiB));
    t.setLun(0, counting);
    const ini = new IsletIscsiInitiator();
    const d = await ini.openLun({ portal, targetIqn: TARGET, lun: 0 }, hostA);
    await Promise.all(Array.from({ length: 32 }, (_, i) => d.read(i * 256 * 1024, 256 * 1024)));
    assert.ok(counting.maxRunning >= 8, `at most ${counting.maxRunning} commands ran at once`);
    assert.equal(t.sessionCount, 1);
    await d.close();
    assert.equal(t.sessionCount, 0, 'the session was logged out');
    await ini.close();
  });

  it('keeps at most 8 MiB of reads outstanding, however many are issued at once', async () => {
    const { t, portal } = await target({ allowAll: true });
    const counting = new CountingStore(await store('budget0', 48 * MiB));
    t.setLun(0, counting);
    const ini = new IsletIscsiInitiator();
    const d = await ini.openLun({ portal, targetIqn: TARGET, lun: 0 }, hostA);
    // 24 reads of 2 MiB: each cut in two 1 MiB commands, 48 commands issued together.
    await Promise.all(Array.from({ length: 24 }, (_, i) => d.read(i * 2 * MiB, 2 * MiB)));
    assert.ok(counting.maxRunning <= 8, `${counting.maxRunning} reads of 1 MiB ran at once`);
    assert.ok(counting.maxRunning >= 4, `only ${counting.maxRunning} reads of 1 MiB ran at once`);
    await d.close();
    await ini.close();
  });

  it('answers hundreds of concurrent writes and reads of every size, each with its own bytes (the target reuses its buffers)', async () => {
    const { t, portal } = await target({ allowAll: true });
    const s = await store('reuse0', 32 * MiB);
    // Writes that take a while: a buffer the target took back before the store had written
    // it would meanwhile be filled with another write's data.
    t.setLun(0, new SlowWriteStore(s));
    const content = randomBytes(32 * MiB);
    const ini = new IsletIscsiInitiator();
    const d = await ini.openLun({ portal, targetIqn: TARGET, lun: 0 }, hostA);
    try {
      // Writes of mixed sizes over the whole LUN, all in flight at once.
      const cuts = [4096, 512, 131_072, 3 * MiB, 65_536, MiB, 20_480];
      const writes: Promise<void>[] = [];
      for (let at = 0, i = 0; at < content.length; i++) {
        const len = Math.min(cuts[i % cuts.length]!, content.length - at);
        writes.push(d.write(at, content.subarray(at, at + len)));
        at += len;
      }
      await Promise.all(writes);
      assert.ok((await s.read(0, content.length)).equals(content), 'the store holds every write');
      const sizes = [512, 4096, 65_536, 131_072, 200_704, MiB, 3 * MiB];
      for (let round = 0; round < 3; round++) {
        const reads = Array.from({ length: 150 }, (_, i) => {
          const len = sizes[(i + round) % sizes.length]!;
          const off = Math.floor(Math.random() * ((32 * MiB - len) / 512)) * 512;
          return { off, len };
        });
        // Slow consumer: the answers pile up in the socket, so buffers wait for it.
        const got = await Promise.all(reads.map(({ off, len }) => d.read(off, len)));
        reads.forEach(({ off, len }, i) => assert.ok(got[i]!.equals(content.subarray(off, off + len)), `read ${i} of round ${round}: ${len} bytes at ${off}`));
      }
    } finally {
      await d.close();
      await ini.close();
    }
  });

  it('re-issues unanswered writes after dropped connections: nothing lost, nothing older re-applied', async () => {
    const { t, portal } = await target({ allowAll: true });
    t.setLun(0, await store('drop0', 64 * MiB));
    const ini = new IsletIscsiInitiator({ recoveryTimeoutMs: 30_000 });
    const d = await ini.openLun({ portal, targetIqn: TARGET, lun: 0 }, hostA);
    try {
      const chunk = 256 * 1024;
      const total = 32 * MiB;
      const v1 = randomBytes(total);
      const v2 = randomBytes(total);
      let stop = false;
      let drops = 0;
      const dropper = (async () => {
        while (!stop) {
          await new Promise((r) => setTimeout(r, 40));
          t.dropConnections();
          drops++;
        }
      })();
      // Each region gets version 1 then version 2, one after the other, 8 regions at a time.
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < total) {
          const off = next;
          next += chunk;
          await d.write(off, v1.subarray(off, off + chunk));
          await d.write(off, v2.subarray(off, off + chunk));
        }
      }));
      stop = true;
      await dropper;
      assert.ok(drops >= 2, `the connection was dropped ${drops} times`);
      assert.ok((await d.read(0, total)).equals(v2));
    } finally {
      await d.close();
      await ini.close();
    }
  });

  it('rides out a target restart on the same port in the middle of a stream of writes', async () => {
    const lun = await store('restart0', 64 * MiB);
    const first = await target({ allowAll: true });
    first.t.setLun(0, lun);
    const port = Number(first.portal.split(':')[1]);
    const ini = new IsletIscsiInitiator({ recoveryTimeoutMs: 30_000 });
    const d = await ini.openLun({ portal: first.portal, targetIqn: TARGET, lun: 0 }, hostA);
    try {
      const total = 48 * MiB;
      const model = randomBytes(total);
      let written = 0;
      const restart = (async () => {
        while (written < 8 * MiB) await new Promise((r) => setTimeout(r, 5));
        await first.t.close();
        await new Promise((r) => setTimeout(r, 200));
        const second = await target({ allowAll: true }, port);
        second.t.setLun(0, lun);
      })();
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < total) {
          const off = next;
          next += MiB;
          await d.write(off, model.subarray(off, off + MiB));
          written += MiB;
        }
      }));
      await restart;
      await d.flush();
      assert.ok((await d.read(0, total)).equals(model));
    } finally {
      await d.close();
      await ini.close();
    }
  });
});
