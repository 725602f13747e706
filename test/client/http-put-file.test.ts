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
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpStatusError, httpPut, UPLOAD_WRITE } from '../../src/client/http-transfer.js';

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

describe('httpPut of a file the server refuses while it arrives', () => {
  let dir: string;
  let server: Server;
  let port: number;
  /** Body bytes that reached the server before the client went away. */
  let arrived: Promise<number>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-put-refused-'));
    // A plain socket server, which answers once the head is in, whole, and says nothing of
    // closing the connection (Node's HTTP server would say it closes it). The body is read
    // only a while later, so that the client's writes back up and it reads its socket
    // meanwhile.
    server = createServer((socket) => {
      let head = '';
      let bytes = 0;
      arrived = new Promise((resolve) => socket.once('close', () => resolve(bytes)));
      socket.on('error', () => undefined);
      const onHead = (d: Buffer) => {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        bytes = head.length - end - 4;
        socket.off('data', onHead);
        socket.write('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nrefused\n');
        socket.pause();
        socket.on('data', (c: Buffer) => { bytes += c.length; });
        setTimeout(() => socket.resume(), 300);
      };
      socket.on('data', onHead);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('stops sending once the refusal has come, and reports it', async () => {
    const size = 256 * MiB;
    const file = join(dir, 'sparse.raw');
    await writeFile(file, '');
    await truncate(file, size);
    const connect = (u: URL) => new Promise<Socket>((resolve, reject) => {
      const socket = netConnect(Number(u.port), u.hostname, () => resolve(socket));
      socket.once('error', reject);
    });
    await assert.rejects(httpPut(new URL(`http://127.0.0.1:${port}/import_raw_vdi`), connect, { path: file }),
      (e) => e instanceof HttpStatusError && e.status === 403 && e.body === 'refused\n');
    // What the socket buffers held when the answer was read, not the file.
    const bytes = await arrived;
    assert.ok(bytes < size / 4, `${bytes} of ${size} bytes sent after the refusal`);
  });
});
