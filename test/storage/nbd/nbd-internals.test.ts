/**
 * The NBD server's small parts on their own: which requests wait for which, what the
 * raw adapter's allocation map may claim while writes and zeroing race, how extents
 * become block status descriptors, and that the buffer pool never hands out a buffer twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AllocationMap, ChunkState } from '../../../src/storage/nbd/allocation-map.js';
import { BufferPool } from '../../../src/storage/nbd/buffer-pool.js';
import { encodeExtents } from '../../../src/storage/nbd/extents.js';
import { RequestOrder } from '../../../src/storage/nbd/request-order.js';
import { SocketInput } from '../../../src/storage/nbd/socket-input.js';
import { connect, createServer, type Socket } from 'node:net';

const KiB = 1024;

describe('RequestOrder', () => {
  it('lets disjoint and read-read requests run at once, and orders conflicting ones', async () => {
    const o = new RequestOrder();
    const w1 = o.enter(0, 100, 'write');
    assert.equal(w1.ready, undefined);
    assert.equal(o.enter(100, 200, 'write').ready, undefined, 'adjacent, not overlapping');
    const r1 = o.enter(500, 600, 'read');
    assert.equal(o.enter(550, 560, 'read').ready, undefined, 'reads never wait for reads');
    const w2 = o.enter(50, 60, 'write');
    const w3 = o.enter(590, 700, 'write');
    const f = o.enter(0, 0, 'flush');
    const r2 = o.enter(55, 56, 'read');
    assert.ok(w2.ready && w3.ready && f.ready && r2.ready);
    const done: string[] = [];
    void w2.ready.then(() => done.push('w2'));
    void w3.ready.then(() => done.push('w3'));
    void f.ready.then(() => done.push('flush'));
    void r2.ready.then(() => done.push('r2'));
    o.leave(w1.entry);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(done, ['w2'], 'the write over w1 may start; the read waits for w2 too');
    o.leave(w2.entry);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(done, ['w2', 'r2']);
    o.leave(r1.entry);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(done, ['w2', 'r2', 'w3'], 'a write waits for an earlier overlapping read');
  });

  it('a flush waits for every earlier write, and nothing waits for a flush', async () => {
    const o = new RequestOrder();
    const a = o.enter(0, 10, 'write');
    const f = o.enter(0, 0, 'flush');
    assert.equal(o.enter(0, 10, 'read').ready !== undefined, true, 'the read still waits for the write');
    assert.equal(o.enter(20, 30, 'write').ready, undefined, 'a later write does not wait for the flush');
    let flushed = false;
    void f.ready!.then(() => (flushed = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(flushed, false);
    o.leave(a.entry);
    await new Promise((r) => setImmediate(r));
    assert.equal(flushed, true);
  });
});

describe('AllocationMap', () => {
  it('a write racing a zeroing keeps its chunks data', () => {
    const m = new AllocationMap(16 * 4 * KiB, 4 * KiB, ChunkState.Data);
    const zeroDone = m.beginZero(0, 16 * 4 * KiB);
    const writeDone = m.beginWrite(5 * 4 * KiB + 100, 10);
    writeDone();
    zeroDone(true);
    assert.equal(m.state(5), ChunkState.Data, 'touched during the zeroing: may hold data');
    assert.equal(m.state(4), ChunkState.Zero);
    assert.equal(m.state(6), ChunkState.Zero);
  });

  it('a zeroing that started while a write was in flight does not claim its chunks', () => {
    const m = new AllocationMap(8 * 4 * KiB, 4 * KiB, ChunkState.Zero);
    const writeDone = m.beginWrite(2 * 4 * KiB, 4 * KiB);
    const zeroDone = m.beginZero(0, 8 * 4 * KiB);
    zeroDone(true);
    writeDone();
    assert.equal(m.state(2), ChunkState.Data);
    assert.equal(m.state(3), ChunkState.Zero);
  });

  it('partial zeroing and failed zeroing claim nothing; a late classification never overrides a write', () => {
    const m = new AllocationMap(4 * 4 * KiB + 100, 4 * KiB, ChunkState.Unknown);
    m.beginZero(100, 4 * KiB)(true);
    assert.equal(m.state(0), ChunkState.Unknown);
    assert.equal(m.state(1), ChunkState.Unknown);
    m.beginZero(4 * KiB, 4 * KiB)(false);
    assert.equal(m.state(1), ChunkState.Unknown);
    m.beginZero(4 * 4 * KiB, 100)(true);
    assert.equal(m.state(4), ChunkState.Zero, 'the short last chunk counts as whole');
    m.beginWrite(2 * 4 * KiB, 1)();
    m.classify(2, true);
    assert.equal(m.state(2), ChunkState.Data);
    m.classify(3, true);
    assert.equal(m.state(3), ChunkState.Zero);
    assert.deepEqual(m.extents(4 * KiB - 10, 3 * 4 * KiB + 20).map((e) => [e.offset, e.length, e.zero]), [
      [4 * KiB - 10, 2 * 4 * KiB + 10, false], [3 * 4 * KiB, 4 * KiB + 10, true],
    ]);
  });
});

describe('encodeExtents', () => {
  it('merges equal neighbours, flags holes and zeroes, and keeps one with REQ_ONE', () => {
    const ex = [
      { offset: 0, length: 4096, hole: true, zero: true },
      { offset: 4096, length: 4096, hole: true, zero: true },
      { offset: 8192, length: 512, hole: false, zero: false },
      { offset: 8704, length: 512, hole: false, zero: true },
    ];
    const d = encodeExtents(ex, false);
    assert.deepEqual([...Array(d.length / 8).keys()].map((i) => [d.readUInt32BE(i * 8), d.readUInt32BE(i * 8 + 4)]), [
      [8192, 3], [512, 0], [512, 2],
    ]);
    const one = encodeExtents(ex, true);
    assert.equal(one.length, 8);
    assert.equal(one.readUInt32BE(0), 8192);
  });

  it('splits extents longer than a descriptor can say', () => {
    const d = encodeExtents([{ offset: 0, length: 2 ** 33, hole: true, zero: true }], false);
    let total = 0;
    for (let i = 0; i < d.length; i += 8) total += d.readUInt32BE(i);
    assert.equal(total, 2 ** 33);
    assert.ok(d.length / 8 >= 2);
  });
});

/** A loopback connection whose accepted side arrives paused, as the NBD server accepts. */
async function withPausedPair(body: (accepted: Promise<Socket>, client: Socket) => Promise<void>): Promise<void> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => (accepted = r));
  const server = createServer({ pauseOnConnect: true }, (s) => accepted(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  try {
    await body(got, client);
  } finally {
    client.destroy();
    await new Promise((r) => server.close(r));
  }
}

describe('SocketInput', () => {
  it('rebuilds an accepted socket as a steered one that reads into the buffers it is given', async () => {
    await withPausedPair(async (got, client) => {
      const input = SocketInput.steer(await got);
      assert.equal(input.steered, true, 'Node still lets us steer reads (else: zeroCopyReceive falls back)');
      const target = Buffer.alloc(5);
      const seen: string[] = [];
      const done = new Promise<void>((resolve) => {
        input.attach({
          nextBuffer: () => (seen.length === 1 ? target : input.stagingBuffer),
          onData: (buf, n, reused) => {
            seen.push(`${buf === target ? 'target' : 'staging'}:${buf.toString('utf8', 0, n)}:${reused}`);
            if (seen.join('').includes('world')) resolve();
          },
        });
      });
      client.write('hello');
      await new Promise((r) => setTimeout(r, 50));
      client.write('world');
      await done;
      assert.equal(target.toString(), 'world');
      assert.deepEqual(seen, ['staging:hello:true', 'target:world:true'], 'the second read went where the sink asked');
      input.socket.write('back');
      const reply = await new Promise<string>((r) => client.once('data', (d) => r(d.toString())));
      assert.equal(reply, 'back');
      input.socket.destroy();
    });
  });
});

describe('SocketInput fallback', () => {
  it('keeps the plain socket when the handle cannot read into given buffers', async () => {
    await withPausedPair(async (got, client) => {
      const sock = await got;
      // As on a Node release without the internal this relies on.
      (sock as unknown as { _handle: { useUserBuffer?: unknown } })._handle.useUserBuffer = undefined;
      const input = SocketInput.steer(sock);
      assert.equal(input.steered, false);
      assert.equal(input.socket, sock, 'the accepted socket is kept');
      const data = new Promise<string>((resolve) => {
        input.attach({ nextBuffer: () => input.stagingBuffer, onData: (buf, n) => resolve(buf.toString('utf8', 0, n)) });
      });
      client.write('plain');
      assert.equal(await data, 'plain');
      sock.destroy();
    });
  });
});

describe('BufferPool', () => {
  const same = (x: Buffer, y: Buffer): boolean => x.buffer === y.buffer && x.byteOffset === y.byteOffset;

  it('recycles its own slabs once, and ignores foreign or repeated returns', () => {
    const p = new BufferPool(4 * 1024 * 1024);
    const a = p.get(100 * KiB);
    assert.equal(a.length, 100 * KiB);
    p.put(a);
    p.put(a); // a double return must not make two owners later
    p.put(Buffer.alloc(128 * KiB)); // not from the pool
    p.put(a.subarray(512)); // not the start of a slab
    const b = p.get(90 * KiB);
    const c = p.get(90 * KiB);
    assert.ok(same(b, a), 'the slab came back');
    assert.ok(!same(c, a), 'but only once');
  });

  it('hands out page-aligned, non-overlapping slabs of every size class', () => {
    const p = new BufferPool(8 * 1024 * 1024);
    const got: Buffer[] = [];
    for (const len of [1, 4 * KiB, 64 * KiB, 64 * KiB + 1, 256 * KiB, 3 * 1024 * KiB, 32 * 1024 * KiB]) {
      for (let i = 0; i < 3; i++) got.push(p.get(len));
    }
    for (const b of got) assert.equal(b.byteOffset % 4096, 0, 'slabs start on a page boundary');
    for (let i = 0; i < got.length; i++) {
      got[i]!.fill(i + 1);
    }
    got.forEach((b, i) => assert.ok(b.every((x) => x === i + 1), `slab ${i} was not overwritten by another`));
    for (const b of got) p.put(b);
    // The pool still serves afterwards.
    const again = p.get(256 * KiB);
    assert.equal(again.length, 256 * KiB);
    assert.ok(p.get(33 * 1024 * KiB).length === 33 * 1024 * KiB, 'beyond the largest class: a plain buffer');
  });

  it('serves a burst beyond its retention limit again from the same memory, not from fresh pages', () => {
    // Several connections hold more than the limit one moment and less the next: memory let
    // go at once would be made again for the next burst, and faulted in page by page.
    const p = new BufferPool(8 * 1024 * 1024, 60_000);
    const burst = (): Buffer[] => Array.from({ length: 12 }, () => p.get(2 * 1024 * KiB));
    const first = burst();
    const memories = new Set(first.map((b) => b.buffer));
    assert.equal(p.retainedBytes, 24 * 1024 * KiB);
    for (const b of first) p.put(b);
    const second = burst();
    assert.ok(second.every((b) => memories.has(b.buffer)), 'every slab of the second burst is memory of the first');
    for (const b of second) p.put(b);
  });

  it('lets idle memory beyond its retention limit go once it has sat idle', async () => {
    const limit = 8 * 1024 * KiB;
    const p = new BufferPool(limit, 20);
    const held = Array.from({ length: 12 }, () => p.get(2 * 1024 * KiB));
    for (const b of held) p.put(b);
    const deadline = Date.now() + 10_000;
    while (p.retainedBytes > limit) {
      assert.ok(Date.now() < deadline, `still ${p.retainedBytes} bytes held 10 s after the last slab came back`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(p.retainedBytes, limit, 'down to the limit, not below');
    const again = p.get(2 * 1024 * KiB);
    assert.equal(p.retainedBytes, limit, 'and what is kept serves the next request');
    p.put(again);
  });
});
