/**
 * Many requests in flight on one connection: pipelined requests all get correct replies,
 * replies come back out of order when the device finishes out of order, overlapping
 * writes still land in the order sent, and a client that floods writes at a stalled
 * device is held back by TCP instead of filling the server's memory.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BlockDevice } from '../../../src/core/ports/block-device.js';
import { FileBlockDevice } from '../../../src/storage/nbd/file-block-device.js';
import { MiniClient, NBD } from './mini-client.js';
import { KiB, MiB, makeTempDir, pattern, serveFile } from './nbd-fixture.js';
import { rm } from 'node:fs/promises';

/** Wraps a device so a test can hold up or slow down its operations. */
class HookedDevice implements BlockDevice {
  readonly size: number;
  readonly readOnly = false;
  /** Called before each read/write reaches the inner device. */
  before: (op: 'read' | 'write', offset: number, length: number) => Promise<void> = async () => undefined;
  constructor(private readonly inner: BlockDevice) {
    this.size = inner.size;
  }
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    await this.before('read', offset, length);
    return this.inner.read(offset, length, into);
  }
  async write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void> {
    await this.before('write', offset, data.length);
    return this.inner.write(offset, data, opts);
  }
  writeZeroes(o: number, l: number, opts?: { mayTrim?: boolean; fua?: boolean }): Promise<void> {
    return this.inner.writeZeroes(o, l, opts);
  }
  trim(o: number, l: number): Promise<void> {
    return this.inner.trim(o, l);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  blockStatus(o: number, l: number) {
    return this.inner.blockStatus(o, l);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function withServer(
  size: number, fn: (port: number, dev: HookedDevice) => Promise<void>, opts: { maxInFlightBytes?: number; zeroCopyReceive?: boolean } = {},
): Promise<void> {
  const dir = await makeTempDir();
  const dev = new HookedDevice(await FileBlockDevice.create(join(dir, 'd.raw'), size));
  const served = await serveFile(undefined, { device: dev, ...opts });
  try {
    await fn(served.port, dev);
  } finally {
    await served.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('NBD requests in flight', () => {
  for (const [structured, zeroCopyReceive] of [[true, true], [false, true], [true, false]]) {
    const mode = `${structured ? 'structured' : 'simple'} replies, ${zeroCopyReceive ? 'steered' : 'plain'} socket`;
    it(`64 pipelined requests get 64 correct replies (${mode})`, async () => {
      await withServer(16 * MiB, async (port) => {
        const c = await MiniClient.connect(port, { exportName: 'disk', structured });
        const model = Buffer.alloc(16 * MiB);
        const writes = Array.from({ length: 32 }, (_, i) => {
          const data = pattern(64 * KiB + i * 512, i + 1);
          data.copy(model, i * 256 * KiB);
          return c.write(i * 256 * KiB, data);
        });
        // Reads of untouched ranges, sent before any write reply came back.
        const reads = Array.from({ length: 32 }, (_, i) => c.read(8 * MiB + i * 128 * KiB, 128 * KiB));
        assert.equal(c.inFlight, 64);
        const wr = await Promise.all(writes);
        const rd = await Promise.all(reads);
        assert.ok(wr.every((r) => r.error === 0));
        assert.ok(rd.every((r) => r.error === 0 && r.data!.length === 128 * KiB && r.data!.every((b) => b === 0)));
        const back = await Promise.all(Array.from({ length: 64 }, (_, i) => c.read(i * 256 * KiB, 256 * KiB)));
        back.forEach((r, i) => assert.ok(r.data!.equals(model.subarray(i * 256 * KiB, (i + 1) * 256 * KiB)), `read ${i}`));
        // Large writes back to back: with a steered socket their payloads land in place.
        const big = Array.from({ length: 8 }, (_, i) => pattern(MiB, 50 + i));
        const acks = await Promise.all(big.map((d, i) => c.write(8 * MiB + i * MiB, d)));
        assert.ok(acks.every((a) => a.error === 0));
        assert.ok((await c.read(8 * MiB, 8 * MiB)).data!.equals(Buffer.concat(big)));
        await c.disconnect();
      }, { zeroCopyReceive });
    });
  }

  it('replies come back out of order when the device finishes out of order', async () => {
    await withServer(4 * MiB, async (port, dev) => {
      let othersDone!: () => void;
      const others = new Promise<void>((r) => (othersDone = r));
      // The first read cannot finish before the others have been answered: a server that
      // answered in request order would deadlock here.
      dev.before = async (op, offset) => {
        if (op === 'read' && offset === 0) await others;
      };
      const c = await MiniClient.connect(port, { exportName: 'disk', structured: true });
      const order: number[] = [];
      // Non-adjacent ranges, so they are not served by one combined read.
      const all = [0, 1, 2, 3].map((i) => c.read(i * MiB, 4 * KiB).then((r) => { order.push(i); return r; }));
      await Promise.all(all.slice(1));
      othersDone();
      await all[0];
      assert.deepEqual(order.slice(-1), [0], `the held first read answered last: ${order}`);
      await c.disconnect();
    });
  });

  it('overlapping writes land in the order they were sent, and reads see earlier writes', async () => {
    await withServer(4 * MiB, async (port, dev) => {
      let n = 0;
      dev.before = async (op) => {
        if (op === 'write') await sleep(((n++ * 7) % 5) * 5); // later writes often finish first if unordered
      };
      const c = await MiniClient.connect(port, { exportName: 'disk', structured: true });
      const sends: Promise<unknown>[] = [];
      let last: Buffer = Buffer.alloc(0);
      for (let i = 0; i < 40; i++) {
        last = pattern(64 * KiB, 100 + i);
        sends.push(c.write(MiB + (i % 3) * 512, last));
      }
      const read = c.read(MiB + 39 % 3 * 512, 64 * KiB);
      await Promise.all(sends);
      assert.ok((await read).data!.equals(last), 'the pipelined read saw the last write');
      assert.ok((await c.read(MiB + (39 % 3) * 512, 64 * KiB)).data!.equals(last));
      await c.disconnect();
    });
  });

  it('reads held back behind a slow overlapping write are served with their own ranges', async () => {
    await withServer(4 * MiB, async (port, dev) => {
      dev.before = async (op, offset) => {
        if (op === 'write' && offset === 3 * MiB) await sleep(200);
      };
      const c = await MiniClient.connect(port, { exportName: 'disk', structured: true });
      const data = pattern(MiB, 3);
      const w = c.write(3 * MiB, data);
      const held = c.read(3 * MiB, MiB); // must wait for the write, up to the very end of the disk
      await sleep(50);
      const later = c.read(0, 64 * KiB); // a new run of reads while the first one waits
      assert.equal((await later).error, 0);
      assert.equal((await w).error, 0);
      const r = await held;
      assert.equal(r.error, 0, r.message);
      assert.ok(r.data!.equals(data));
      await c.disconnect();
    });
  });

  it('a write flood at a stalled device is held back by TCP, not buffered, and completes afterwards', async () => {
    const limit = 8 * MiB;
    await withServer(256 * MiB, async (port, dev) => {
      let gate!: () => void;
      const open = new Promise<void>((r) => (gate = r));
      let received = 0;
      dev.before = async (op, _o, len) => {
        if (op !== 'write') return;
        received += len;
        await open;
      };
      const c = await MiniClient.connect(port, { exportName: 'disk' });
      const replies = Array.from({ length: 160 }, (_, i) => c.write(i * MiB, pattern(MiB, i + 1)));
      for (let t = 0; t < 2400 && received < limit; t++) await sleep(25); // up to 60 s: a bound for a hang
      await sleep(200); // room for the server to overshoot, were it going to
      assert.ok(received >= limit, 'writes got through up to the limit');
      assert.ok(received <= limit + MiB, `device saw ${received} bytes while stalled`);
      assert.ok(c.socket.writableLength > 50 * MiB, `the rest waits on the client side (${c.socket.writableLength})`);
      gate();
      const r = await Promise.all(replies);
      assert.ok(r.every((x) => x.error === 0));
      assert.ok((await c.read(159 * MiB, MiB)).data!.equals(pattern(MiB, 160)));
      await c.disconnect();
    }, { maxInFlightBytes: limit });
  });

  it('a client that shuts its sending side after its last request still gets every reply', async () => {
    await withServer(8 * MiB, async (port, dev) => {
      dev.before = () => sleep(20);
      const c = await MiniClient.connect(port, { exportName: 'disk', structured: true });
      await c.write(0, pattern(MiB, 8));
      const reads = Array.from({ length: 16 }, (_, i) => c.read(i * 64 * KiB, 64 * KiB));
      c.socket.end(); // FIN after the requests: replies must still come back
      const got = await Promise.all(reads);
      assert.ok(Buffer.concat(got.map((r) => r.data!)).equals(pattern(MiB, 8)));
      await new Promise<void>((res) => (c.socket.destroyed ? res() : c.socket.once('close', () => res())));
    });
  });

  it('closing the server answers the requests in flight before it hangs up', async () => {
    const dir = await makeTempDir();
    const dev = new HookedDevice(await FileBlockDevice.create(join(dir, 'd.raw'), 8 * MiB));
    const served = await serveFile(undefined, { device: dev });
    try {
      let gate!: () => void;
      const open = new Promise<void>((r) => (gate = r));
      let atDevice = 0;
      dev.before = () => { atDevice++; return open; };
      const c = await MiniClient.connect(served.port, { exportName: 'disk', structured: true });
      const data = pattern(MiB, 5);
      const w = c.write(0, data);
      const r = c.read(4 * MiB, MiB);
      // Both requests must be in flight (held at the device) when the close begins: waited
      // for, not guessed with a pause a loaded machine can outlast.
      for (let t = 0; atDevice < 2; t++) {
        assert.ok(t < 1200, `the two requests did not reach the device within 60 s (${atDevice} did)`);
        await sleep(50);
      }
      const closing = served.server.close();
      await sleep(50);
      gate();
      assert.equal((await w).error, 0);
      assert.equal((await r).error, 0);
      await closing;
      await new Promise<void>((res) => (c.socket.destroyed ? res() : c.socket.once('close', () => res())));
      assert.ok((await dev.read(0, MiB)).equals(data));
    } finally {
      await served.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('block status through the mini client: extents, and exactly one with REQ_ONE', async () => {
    await withServer(4 * MiB, async (port) => {
      const c = await MiniClient.connect(port, { exportName: 'disk', structured: true, metaContext: true });
      await c.write(MiB, pattern(128 * KiB, 9));
      const all = await c.request(NBD.CMD.BLOCK_STATUS, 0, 4 * MiB);
      assert.equal(all.error, 0);
      assert.deepEqual(all.extents, [
        { length: MiB, flags: 3 }, { length: 128 * KiB, flags: 0 }, { length: 3 * MiB - 128 * KiB, flags: 3 },
      ]);
      const one = await c.request(NBD.CMD.BLOCK_STATUS, 512 * KiB, 2 * MiB, NBD.FLAG.REQ_ONE);
      assert.deepEqual(one.extents, [{ length: 512 * KiB, flags: 3 }]);
      await c.disconnect();
    });
  });
});
