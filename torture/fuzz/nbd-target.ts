/**
 * @module
 * Fuzz target for the NBD handshake (and the first transmission requests): a real
 * `NbdServer` on loopback serves a 1 MiB file; each input is sent on a new connection as
 * the client's whole side, which then shuts its half. The server must end the connection
 * by itself (a connection it keeps is a hang), report no error that is not the client's
 * fault, and keep no connection. Seeds are well-formed option haggles (GO, INFO, LIST,
 * STRUCTURED_REPLY, SET_META_CONTEXT, EXPORT_NAME, ABORT) followed by READ, WRITE,
 * BLOCK_STATUS and DISC requests.
 */
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileBlockDevice } from '../../src/storage/nbd/file-block-device.js';
import { NbdServer } from '../../src/storage/nbd/nbd-server.js';
import { Cmd, IHAVEOPT, Opt, REQUEST_MAGIC } from '../../src/storage/nbd/protocol.js';
import { Finding, type FuzzTarget } from './fuzz-target.js';

interface Ctx { server: NbdServer; port: number; errors: unknown[]; device: FileBlockDevice }

function option(opt: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

function named(name: string, extra: Buffer = Buffer.alloc(0)): Buffer {
  const n = Buffer.from(name);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(n.length);
  return Buffer.concat([len, n, extra]);
}

function infos(...codes: number[]): Buffer {
  const b = Buffer.alloc(2 + 2 * codes.length);
  b.writeUInt16BE(codes.length, 0);
  codes.forEach((c, i) => b.writeUInt16BE(c, 2 + 2 * i));
  return b;
}

function request(type: number, offset: number, length: number, payload?: Buffer, flags = 0): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(REQUEST_MAGIC, 0);
  h.writeUInt16BE(flags, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(0x1234n, 8);
  h.writeBigUInt64BE(BigInt(offset), 16);
  h.writeUInt32BE(length, 24);
  return payload ? Buffer.concat([h, payload]) : h;
}

const FLAGS = Buffer.from([0, 0, 0, 3]);
const meta = () => {
  const q = Buffer.from('base:allocation');
  const n = Buffer.alloc(4);
  n.writeUInt32BE(1);
  const ql = Buffer.alloc(4);
  ql.writeUInt32BE(q.length);
  return named('disk', Buffer.concat([n, ql, q]));
};

export const nbdTarget: FuzzTarget<Ctx> = {
  name: 'nbd-handshake',
  about: 'NBD option haggling and first requests against a real NbdServer on loopback',
  async setup(dir) {
    const file = join(dir, 'disk.img');
    await writeFile(file, Buffer.alloc(1024 * 1024, 0x5a));
    const device = await FileBlockDevice.open(file);
    const errors: unknown[] = [];
    const server = new NbdServer({
      resolveExport: async (n) => (n === 'disk' ? { device, readOnly: false, release: async () => undefined } : undefined),
      listExports: async () => ['disk'],
      onError: (e) => errors.push(e),
      handshakeTimeoutMs: 3000,
    });
    const { port } = await server.listen(0, '127.0.0.1');
    return { server, port, errors, device };
  },
  async seeds() {
    const go = option(Opt.GO, named('disk', infos(0, 3)));
    const tx = Buffer.concat([request(Cmd.READ, 0, 4096), request(Cmd.WRITE, 4096, 512, Buffer.alloc(512, 7)),
      request(Cmd.BLOCK_STATUS, 0, 65536), request(Cmd.FLUSH, 0, 0), request(Cmd.DISC, 0, 0)]);
    return [
      Buffer.concat([FLAGS, option(Opt.STRUCTURED_REPLY), option(Opt.SET_META_CONTEXT, meta()), go, tx]),
      Buffer.concat([FLAGS, option(Opt.LIST), option(Opt.INFO, named('disk', infos(0, 1, 2, 3))), option(Opt.ABORT)]),
      Buffer.concat([FLAGS, option(Opt.LIST_META_CONTEXT, meta()), option(Opt.EXPORT_NAME, Buffer.from('disk')), tx]),
      Buffer.concat([FLAGS, option(Opt.GO, named('nope', infos())), option(Opt.STARTTLS), go, request(Cmd.TRIM, 0, 4096), request(Cmd.WRITE_ZEROES, 0, 8192, undefined, 1 << 4)]),
    ];
  },
  async check(input, ctx) {
    await new Promise<void>((resolve, reject) => {
      const s = connect(ctx.port, '127.0.0.1');
      const timer = setTimeout(() => { s.destroy(); reject(new Finding('the server kept the connection 5 s after the client shut its side')); }, 5000);
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      s.on('close', () => { clearTimeout(timer); resolve(); });
      s.end(input);
    });
    for (let i = 0; i < 200 && ctx.server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 5));
    if (ctx.server.connectionCount > 0) throw new Finding(`the server still holds ${ctx.server.connectionCount} connection(s) after the client left`);
    if (ctx.errors.length) {
      const e = ctx.errors.splice(0);
      throw new Finding(`server error not caused by the client: ${e.map((x) => (x instanceof Error ? x.stack?.split('\n').slice(0, 3).join(' | ') : String(x))).join('; ')}`);
    }
  },
  async teardown(ctx) {
    await ctx.server.close();
    await ctx.device.close();
  },
};
