/**
 * Islet's initiator against tgtd, the Linux userspace iSCSI target, as the reference
 * (started by the test in a user + mount namespace on 127.0.0.1, a sparse file per LUN):
 * discovery, login with and without CHAP (one-way and mutual), an ACL that leaves us out,
 * 1 GiB of random data written and read back by sha256, UNMAP seen as holes in tgtd's
 * backing file, tgtd's NOP-In pings answered, and tgtd killed and restarted in the middle
 * of a stream of writes with nothing lost.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IscsiError } from '../../../src/core/ports/iscsi-initiator.js';
import { IsletIscsiInitiator } from '../../../src/storage/iscsi/islet-iscsi-initiator.js';
import { haveTool, Tgtd } from '../../helpers/tgtd.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TARGET = 'iqn.2026-12.org.islet.test:tgtd';
const creds = { initiatorIqn: 'iqn.2026-12.org.islet.test:host-a' };
const have = haveTool('tgtd') && haveTool('tgtadm') && haveTool('unshare');

/** Runs `fn` over [0, total) in `chunk`-sized pieces, `depth` at a time, in order of start. */
async function pipelined(total: number, chunk: number, depth: number, fn: (off: number, len: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const off = next;
      next += chunk;
      await fn(off, Math.min(chunk, total - off));
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
}

describe('Islet initiator against tgtd', { skip: !have && 'tgt not installed' }, () => {
  let dir = '';
  let tgtd: Tgtd;
  const initiator = new IsletIscsiInitiator();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iscsi-tgtd-'));
    await truncate(await touch(join(dir, 'big')), GiB);
    await truncate(await touch(join(dir, 'thin')), 64 * MiB);
    tgtd = await Tgtd.start({
      targetIqn: TARGET,
      luns: [{ lun: 1, file: join(dir, 'big') }, { lun: 2, file: join(dir, 'thin'), thin: true }],
      params: { nop_interval: '1', nop_count: '3' },
    });
  });

  after(async () => {
    await initiator.close();
    await tgtd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('discovers the target with SendTargets', async () => {
    const found = await initiator.discover(tgtd.portal, creds);
    assert.deepEqual(found, [{ targetIqn: TARGET, portals: [`${tgtd.portal},1`] }]);
  });

  it('writes 1 GiB of random data and reads back the same sha256', async () => {
    const dev = await initiator.openLun({ portal: tgtd.portal, targetIqn: TARGET, lun: 1 }, creds);
    try {
      assert.equal(dev.size, GiB);
      assert.equal(dev.identity.serial, 'beaf11');
      const written = createHash('sha256');
      const chunk = 4 * MiB;
      const pieces = new Map<number, Buffer>();
      await pipelined(GiB, chunk, 8, async (off, len) => {
        const data = randomBytes(len);
        pieces.set(off, createHash('sha256').update(data).digest());
        await dev.write(off, data);
      });
      for (let off = 0; off < GiB; off += chunk) written.update(pieces.get(off)!);
      await dev.flush();
      const readBack = new Map<number, Buffer>();
      await pipelined(GiB, chunk, 8, async (off, len) => {
        readBack.set(off, createHash('sha256').update(await dev.read(off, len)).digest());
      });
      const read = createHash('sha256');
      for (let off = 0; off < GiB; off += chunk) read.update(readBack.get(off)!);
      assert.equal(read.digest('hex'), written.digest('hex'));
    } finally {
      await dev.close();
    }
  });

  it('turns trims and zeroing into UNMAP on a thin tgtd LUN: holes in the backing file', async () => {
    const dev = await initiator.openLun({ portal: tgtd.portal, targetIqn: TARGET, lun: 2 }, creds);
    try {
      await dev.write(0, randomBytes(32 * MiB));
      await dev.flush();
      const full = (await stat(join(dir, 'thin'))).blocks * 512;
      assert.ok(full >= 32 * MiB, `the LUN file holds the data (${full})`);
      await dev.trim(0, 16 * MiB);
      await dev.writeZeroes(16 * MiB, 8 * MiB, { mayTrim: true });
      await dev.flush();
      const after = (await stat(join(dir, 'thin'))).blocks * 512;
      assert.ok(after <= 8 * MiB + 64 * 1024, `24 MiB were unmapped; the file still holds ${after} bytes`);
      assert.ok((await dev.read(16 * MiB, 8 * MiB)).every((b) => b === 0));
      const ex = await dev.blockStatus(0, 32 * MiB);
      assert.ok(ex.some((e) => e.hole && e.zero && e.offset <= 16 * MiB && e.offset + e.length >= 24 * MiB), JSON.stringify(ex));
    } finally {
      await dev.close();
    }
  });

  it('stays logged in across tgtd NOP-In pings (nop_interval=1) and answers them', async () => {
    const dev = await initiator.openLun({ portal: tgtd.portal, targetIqn: TARGET, lun: 2 }, creds);
    try {
      const data = randomBytes(MiB);
      await dev.write(0, data);
      // tgtd drops a session that leaves 3 pings unanswered; 5 s is 5 pings
      await new Promise((r) => setTimeout(r, 5000));
      assert.ok((await dev.read(0, MiB)).equals(data));
    } finally {
      await dev.close();
    }
  });

  it('loses nothing when tgtd is killed and restarted in the middle of a stream of writes', async () => {
    const ini = new IsletIscsiInitiator({ recoveryTimeoutMs: 60_000 });
    const dev = await ini.openLun({ portal: tgtd.portal, targetIqn: TARGET, lun: 1 }, creds);
    try {
      const chunk = MiB;
      const total = 128 * MiB;
      const model = randomBytes(total);
      let written = 0;
      let restarted = false;
      const restart = (async () => {
        while (written < 24 * MiB) await new Promise((r) => setTimeout(r, 5));
        await tgtd.kill();
        await new Promise((r) => setTimeout(r, 300));
        await tgtd.launch();
        restarted = true;
      })();
      await pipelined(total, chunk, 8, async (off, len) => {
        await dev.write(off, model.subarray(off, off + len));
        written += len;
      });
      await restart;
      assert.ok(restarted);
      await dev.flush();
      assert.ok((await dev.read(0, total)).equals(model), 'every acknowledged write is there');
    } finally {
      await dev.close();
      await ini.close();
    }
  });

  describe('CHAP and ACLs', () => {
    let chapTgtd: Tgtd;
    before(async () => {
      await truncate(await touch(join(dir, 'chap')), 8 * MiB);
      chapTgtd = await Tgtd.start({
        targetIqn: `${TARGET}-chap`, luns: [{ lun: 1, file: join(dir, 'chap') }],
        chap: { user: 'host-a', secret: 'host-a-secret-1' }, mutualChap: { user: 'array', secret: 'array-secret-22' },
        initiators: [creds.initiatorIqn],
      });
    });
    after(async () => chapTgtd?.stop());

    const addr = (): { portal: string; targetIqn: string; lun: number } => ({ portal: chapTgtd.portal, targetIqn: `${TARGET}-chap`, lun: 1 });

    it('logs in with one-way CHAP, and with mutual CHAP checking the target', async () => {
      const ini = new IsletIscsiInitiator();
      try {
        const one = await ini.openLun(addr(), { ...creds, chap: { user: 'host-a', secret: 'host-a-secret-1' } });
        await one.write(0, Buffer.alloc(4096, 7));
        await one.close();
        const mutual = await ini.openLun(addr(), {
          ...creds, chap: { user: 'host-a', secret: 'host-a-secret-1' }, mutualChap: { user: 'array', secret: 'array-secret-22' },
        });
        assert.ok((await mutual.read(0, 4096)).every((b) => b === 7));
        await mutual.close();
      } finally {
        await ini.close();
      }
    });

    it('refuses a wrong secret, no credentials, a target failing mutual CHAP, and an initiator outside the ACL', async () => {
      const ini = new IsletIscsiInitiator();
      try {
        const kind = (k: string) => (e: unknown) => e instanceof IscsiError && e.kind === k;
        await assert.rejects(ini.openLun(addr(), { ...creds, chap: { user: 'host-a', secret: 'not-the-secret' } }), kind('AUTH_FAILED'));
        await assert.rejects(ini.openLun(addr(), creds), kind('AUTH_FAILED'));
        await assert.rejects(ini.openLun(addr(), {
          ...creds, chap: { user: 'host-a', secret: 'host-a-secret-1' }, mutualChap: { user: 'array', secret: 'not-the-target' },
        }), kind('AUTH_FAILED'));
        await assert.rejects(ini.openLun(addr(), { initiatorIqn: 'iqn.2026-12.org.islet.test:stranger', chap: { user: 'host-a', secret: 'host-a-secret-1' } }),
          (e: unknown) => e instanceof IscsiError && (e.kind === 'NOT_FOUND' || e.kind === 'AUTH_FAILED'));
      } finally {
        await ini.close();
      }
    });
  });
});

async function touch(path: string): Promise<string> {
  await (await open(path, 'a')).close();
  return path;
}
