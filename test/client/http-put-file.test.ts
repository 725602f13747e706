/**
 * An uploaded file reaches the socket one piece at a time. When pieces pile up in the
 * request stream (the server reads slowly), they would leave together as one vectored
 * write, and a TLS socket copies such a write into one block before encrypting it: a copy
 * of the whole upload. The request's head goes out alone for the same reason, and the body
 * goes to the socket rather than through the request. A loopback
 * server that holds off reading for a while, a socket that records its writes, and the
 * file's bytes checked at the other end.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpPut, UPLOAD_WRITE } from '../../src/client/http-transfer.js';

const MiB = 1024 * 1024;

describe('httpPut of a file', () => {
  let dir: string;
  let server: http.Server;
  let port: number;
  let received: { bytes: number; sha: string } | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-put-file-'));
    server = http.createServer((req, res) => {
      // Not reading for a while: the client's buffers have nowhere to go but its own stream.
      req.pause();
      setTimeout(() => {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (d: Buffer) => { hash.update(d); bytes += d.length; });
        req.on('end', () => {
          received = { bytes, sha: hash.digest('hex') };
          res.end('ok');
        });
        req.resume();
      }, 300);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('hands the socket one piece at a time, and every byte arrives', async () => {
    const data = randomBytes(24 * MiB + 12345);
    const file = join(dir, 'disk.raw');
    await writeFile(file, data);
    /** Bytes in each vectored write, and in each single write, the socket was given. */
    const vectored: number[] = [];
    const single: number[] = [];
    const sockets: Socket[] = [];
    const connect = (u: URL) => new Promise<Socket>((resolve, reject) => {
      const socket = netConnect(Number(u.port), u.hostname, () => resolve(socket)) as Socket & {
        _writev: (chunks: Array<{ chunk: Buffer | string }>, cb: () => void) => void;
        _write: (chunk: Buffer | string, encoding: BufferEncoding, cb: () => void) => void;
      };
      sockets.push(socket);
      socket.once('error', reject);
      const writev = socket._writev.bind(socket);
      socket._writev = (chunks, cb) => {
        vectored.push(chunks.reduce((n, c) => n + Buffer.byteLength(c.chunk), 0));
        writev(chunks, cb);
      };
      const write = socket._write.bind(socket);
      socket._write = (chunk, encoding, cb) => {
        single.push(Buffer.byteLength(chunk));
        write(chunk, encoding, cb);
      };
    });
    // The body goes to the socket itself: through the request, each piece would also cost a
    // cork, a deferred uncork and a 'drain' relay.
    let viaRequest = 0;
    const requestWrite = http.OutgoingMessage.prototype.write;
    http.OutgoingMessage.prototype.write = function (this: http.OutgoingMessage, ...args: Parameters<typeof requestWrite>) {
      viaRequest++;
      return requestWrite.apply(this, args);
    } as typeof requestWrite;
    try {
      let progressed = 0;
      const res = await httpPut(new URL(`http://127.0.0.1:${port}/import_raw_vdi`), connect, { path: file }, { onProgress: (n) => { progressed = n; } });
      assert.equal(res.status, 200);
      assert.equal(progressed, data.length);
    } finally {
      http.OutgoingMessage.prototype.write = requestWrite;
      for (const s of sockets) s.destroy();
    }
    assert.equal(viaRequest, 0, 'writes through the request');
    assert.deepEqual(received, { bytes: data.length, sha: createHash('sha256').update(data).digest('hex') });
    // The head alone, then the file one piece at a time: never a vectored write, which a TLS
    // socket would first copy whole into one fresh block.
    assert.deepEqual(vectored, [], `vectored writes of ${vectored.join(', ')} bytes`);
    assert.ok(single[0]! < 1024 && single[0]! > 0, `the first write is the head alone (${single[0]} bytes)`);
    // In pieces of UPLOAD_WRITE bytes (the last of each megabyte read may be shorter), so that
    // the kernel sends them as they come rather than as the server's acknowledgements arrive.
    const body = single.slice(1);
    assert.ok(body.every((n) => n <= UPLOAD_WRITE), `writes of at most ${UPLOAD_WRITE} bytes (${Math.max(...body)})`);
    assert.ok(body.length >= Math.ceil(data.length / UPLOAD_WRITE), `${body.length} writes for ${data.length} bytes`);
    assert.equal(body.reduce((a, b) => a + b, 0), data.length);
  });
});
