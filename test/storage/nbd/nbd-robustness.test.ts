/**
 * Clients that misbehave: garbage instead of a handshake, handshakes cut short or left
 * hanging, oversized and out-of-range requests, a disconnect in the middle of a 4 MiB
 * write, a thousand connections opened and dropped. Each costs the client its own
 * connection at most; the server keeps serving and the disk holds exactly what was
 * acknowledged.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MiniClient, NBD } from './mini-client.js';
import { KiB, MiB, missingTools, makeRawFile, makeTempDir, pattern, runOk, serveFile, type ServedFile } from './nbd-fixture.js';
import { eventWithin } from '../../helpers/event-wait.js';

const SIZE = 16 * MiB;
const ORIGINAL = [{ offset: 0, data: pattern(4 * MiB, 1) }, { offset: 8 * MiB, data: pattern(4 * MiB, 2) }];

function closed(s: Socket): Promise<void> {
  return s.destroyed ? Promise.resolve() : eventWithin<void>(s, 'close', 'the server to close the connection').then(() => undefined);
}

/** Connects, waits for the greeting, then sends `bytes` (if any). */
async function sendAfterGreeting(port: number, bytes: Buffer[]): Promise<Socket> {
  const s = await MiniClient.raw(port);
  s.on('error', () => undefined);
  await eventWithin(s, 'data', 'the server\'s greeting');
  for (const b of bytes) s.write(b);
  return s;
}

function optionHeader(opt: number, len: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(NBD.IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(len, 12);
  return h;
}

/** Waits until every connection is gone, which is after each one's requests finished. */
async function idle(served: ServedFile): Promise<void> {
  // Up to 60 s: a bound for a hang, not a guess at how soon a loaded machine closes them.
  for (let t = 0; t < 3000 && served.server.connectionCount > 0; t++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(served.server.connectionCount, 0, 'connections all closed');
}

const FLAGS = Buffer.from([0, 0, 0, 3]);
const noNbdinfo = (await missingTools(['nbdinfo'])).length > 0 && 'nbdinfo missing';

describe('NBD server against bad clients', () => {
  let dir: string;
  let file: string;
  let served: ServedFile;
  let expected: Buffer;

  before(async () => {
    dir = await makeTempDir();
    file = join(dir, 'disk.raw');
    await makeRawFile(file, SIZE, ORIGINAL);
    expected = await readFile(file);
    served = await serveFile(file, { handshakeTimeoutMs: 500 });
  });

  after(async () => {
    await served?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The server still answers a well-behaved client, and the disk is as expected. */
  async function stillServing(): Promise<void> {
    const c = await MiniClient.connect(served.port, { exportName: 'disk', structured: true });
    const r = await c.read(0, 64 * KiB);
    assert.ok(r.data!.equals(expected.subarray(0, 64 * KiB)));
    await c.disconnect();
    assert.ok((await readFile(file)).equals(expected), 'disk content unchanged');
  }

  it('random garbage instead of a handshake gets the connection closed', async () => {
    for (const g of [randomBytes(1), randomBytes(4), randomBytes(300), randomBytes(MiB)]) {
      const s = await sendAfterGreeting(served.port, [g]);
      await closed(s);
    }
    const s = await sendAfterGreeting(served.port, [FLAGS, randomBytes(4096)]);
    await closed(s);
    await stillServing();
  });

  it('truncated handshakes are dropped, and a silent client times out', async () => {
    const cuts = [
      [FLAGS.subarray(0, 2)],
      [FLAGS, optionHeader(NBD.OPT.GO, 100).subarray(0, 9)],
      [FLAGS, optionHeader(NBD.OPT.GO, 100), Buffer.alloc(10)],
    ];
    for (const bytes of cuts) {
      const s = await sendAfterGreeting(served.port, bytes);
      s.end();
      await closed(s);
    }
    const silent = await sendAfterGreeting(served.port, []);
    const t0 = Date.now();
    await closed(silent);
    assert.ok(Date.now() - t0 < 5000, 'the handshake timeout closed the idle connection');
    await stillServing();
  });

  it('an absurd option length is treated as an attack: the connection is closed', async () => {
    const s = await sendAfterGreeting(served.port, [FLAGS, optionHeader(NBD.OPT.GO, 0x7fffffff), Buffer.alloc(100 * KiB)]);
    await closed(s);
    await stillServing();
  });

  it('unknown options are answered with ERR_UNSUP and the haggling goes on', async () => {
    const c = await MiniClient.greet(served.port);
    assert.equal((await c.option(99, Buffer.from('hello')))[0]!.type, 0x80000001);
    assert.equal((await c.option(NBD.OPT.LIST, Buffer.from('x')))[0]!.type, 0x80000003, 'LIST with data is invalid');
    assert.equal((await c.option(NBD.OPT.GO, Buffer.from([0, 0, 0, 50])))[0]!.type, 0x80000003, 'malformed GO');
    assert.equal((await c.option(NBD.OPT.ABORT, Buffer.alloc(0)))[0]!.type, NBD.REP_ACK);
    await closed(c.socket);
  });

  it('a garbage request header closes that connection only', async () => {
    const c = await MiniClient.connect(served.port, { exportName: 'disk', structured: true });
    c.socket.write(randomBytes(28));
    await closed(c.socket);
    await stillServing();
  });

  it('oversized requests get an error reply, and the connection stays usable', async () => {
    for (const structured of [true, false]) {
      const c = await MiniClient.connect(served.port, { exportName: 'disk', structured });
      const big = await c.read(0, 64 * MiB);
      assert.equal(big.error, structured ? 75 : 22, 'EOVERFLOW (structured) or EINVAL');
      // A 40 MiB write: refused, its payload skipped, nothing written.
      const w = await c.write(0, Buffer.alloc(40 * MiB, 0xab));
      assert.equal(w.error, 22);
      const r = await c.read(0, MiB);
      assert.ok(r.data!.equals(expected.subarray(0, MiB)), 'still in sync after the skipped payload');
      await c.disconnect();
    }
    await stillServing();
  });

  it('out-of-range and malformed requests get the errors the spec names', async () => {
    const c = await MiniClient.connect(served.port, { exportName: 'disk', structured: true, metaContext: true });
    const cases: [number, number, number, number, number][] = [
      // [cmd, offset, length, flags, expected errno]
      [NBD.CMD.READ, SIZE - 512, 1024, 0, 22],
      [NBD.CMD.READ, 2 ** 53 + 2 ** 52, 512, 0, 22],
      [NBD.CMD.WRITE_ZEROES, SIZE, 512, 0, 28],
      [NBD.CMD.TRIM, SIZE - 512, 4096, 0, 22],
      [NBD.CMD.BLOCK_STATUS, SIZE, 512, 0, 22],
      [NBD.CMD.BLOCK_STATUS, 0, 0, 0, 22],
      [NBD.CMD.READ, 0, 512, NBD.FLAG.NO_HOLE, 22],
      [42, 0, 512, 0, 22],
    ];
    for (const [cmd, off, len, flags, errno] of cases) {
      const r = await c.request(cmd, off, len, flags);
      assert.equal(r.error, errno, `cmd ${cmd} ${off}+${len} flags ${flags}: ${r.message}`);
    }
    const w = await c.write(SIZE - 100, Buffer.alloc(200, 1));
    assert.equal(w.error, 28, 'ENOSPC for a write past the end');
    assert.ok((await c.read(0, 4096)).data!.equals(expected.subarray(0, 4096)));
    await c.disconnect();
    await stillServing();
  });

  it('a disconnect in the middle of a 4 MiB write leaves the disk untouched', async () => {
    const c = await MiniClient.connect(served.port, { exportName: 'disk' });
    const h = Buffer.alloc(28);
    h.writeUInt32BE(NBD.REQUEST_MAGIC, 0);
    h.writeUInt16BE(NBD.CMD.WRITE, 6);
    h.writeBigUInt64BE(7n, 8);
    h.writeBigUInt64BE(BigInt(2 * MiB), 16);
    h.writeUInt32BE(4 * MiB, 24);
    c.socket.write(Buffer.concat([h, Buffer.alloc(3 * MiB, 0xcc)]));
    await new Promise((r) => setTimeout(r, 100));
    c.socket.destroy();
    await idle(served);
    await stillServing();
  });

  it('a complete write followed by an abrupt disconnect lands whole or not at all', async () => {
    const c = await MiniClient.connect(served.port, { exportName: 'disk' });
    const data = pattern(4 * MiB, 77);
    void c.write(4 * MiB, data).catch(() => undefined);
    await new Promise<void>((r) => c.socket.write(Buffer.alloc(0), () => r()));
    c.socket.destroy();
    await idle(served);
    const now = (await readFile(file)).subarray(4 * MiB, 8 * MiB);
    const before = expected.subarray(4 * MiB, 8 * MiB);
    assert.ok(now.equals(data) || now.equals(before), 'all old or all new');
    if (now.equals(data)) data.copy(expected, 4 * MiB);
    await stillServing();
  });

  it('1000 connects and disconnects leave the server serving and holding nothing', async () => {
    const fds = async (): Promise<number> => (await readdir('/proc/self/fd').catch(() => [])).length;
    const fdBefore = await fds();
    const one = async (i: number): Promise<void> => {
      const s = await MiniClient.raw(served.port);
      s.on('error', () => undefined);
      if (i % 3 === 1) await new Promise<void>((r) => s.once('data', () => r()));
      if (i % 3 === 2) s.write(FLAGS);
      s.destroy();
      await closed(s);
    };
    for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => one(i + j)));
    await idle(served);
    await stillServing();
    assert.ok((await fds()) <= fdBefore + 5, 'no file descriptors leaked');
  });

  it('nbdinfo still works after all of the above', { skip: noNbdinfo }, async () => {
    assert.equal((await runOk('nbdinfo', ['--size', served.uri()])).trim(), String(SIZE));
  });
});
