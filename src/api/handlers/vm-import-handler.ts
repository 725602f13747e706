/**
 * @module
 * `PUT /import?session_id=&task_id=&sr_id=&force=&preserve=&restore=`: an XVA body made
 * into a new VM, streamed into its disks as it arrives (xapi's handler, as Xen Orchestra and
 * XenCenter call it); `/import_metadata` takes a metadata-only XVA whose disks already exist.
 * A gzip or zstd body is recognised by its first bytes and decompressed on the way. The
 * task's result is the new VM's ref. Xen Orchestra sends bodies of unknown length with a
 * huge `Content-Length` and then waits for the task; those are answered at once.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { importXva } from '../../actions/vm/xva/xva-import.js';
import type { ResourceHandler } from '../http-api.js';
import { runTransfer, type TransferDeps } from './vdi-transfer.js';

const OPEN_ENDED = 2 ** 49;

/** The body, decompressed if its first bytes say gzip or zstd. */
async function plainBody(req: IncomingMessage): Promise<AsyncIterable<Buffer>> {
  const it = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  const firsts: Buffer[] = [];
  while (head.length < 4) {
    const r = await it.next().catch((e: unknown) => { if (req.destroyed) return { done: true as const, value: undefined }; throw e; });
    if (r.done) break;
    firsts.push(r.value);
    head = Buffer.concat([head, r.value]);
  }
  // Xen Orchestra closes the connection once its data is sent: a cut ends the body, and
  // the archive's own framing (its end blocks) tells whether all of it arrived.
  async function* raw(): AsyncGenerator<Buffer> {
    yield* firsts;
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } catch (e) {
      if (!req.destroyed) throw e;
    }
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const zstd = head.readUInt32LE(0) === 0xfd2fb528;
  if (head.length < 4 || (!gzip && !zstd)) return raw();
  let out: Readable;
  let input: NodeJS.WritableStream;
  if (gzip) {
    const g = createGunzip();
    out = g;
    input = g;
  } else {
    const child = spawn('zstd', ['-q', '-d', '-c'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const pass = new PassThrough();
    child.stdout.pipe(pass);
    child.on('error', (e) => pass.destroy(e));
    child.on('exit', (code) => { if (code) pass.destroy(new Error(`zstd -d exited with ${code}`)); });
    out = pass;
    input = child.stdin;
  }
  void (async () => {
    try {
      for await (const b of raw()) if (!input.write(b)) await new Promise((r) => input.once('drain', r));
      input.end();
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
  return out as AsyncIterable<Buffer>;
}

export function createVmImportHandler(d: TransferDeps, opts: { metadataOnly?: boolean } = {}): ResourceHandler {
  return (req, res, query) => runTransfer(d, req, res, query, 'vm-admin', 'VM import', async ({ ctx }) => {
    const declared = Number(req.headers['content-length']);
    const known = Number.isSafeInteger(declared) && declared >= 0 && declared < OPEN_ENDED ? declared : undefined;
    if (!known && Number.isFinite(declared) && declared >= OPEN_ENDED) {
      res.writeHead(200, { 'content-type': 'text/plain', 'task-id': ctx.task!.ref, connection: 'close' });
      res.flushHeaders();
    }
    const sr = query.get('sr_id') ?? undefined;
    const vm = await importXva(ctx, await plainBody(req), {
      ...(sr ? { sr } : {}),
      preserve: query.get('preserve') === 'true',
      metadataOnly: opts.metadataOnly === true || query.get('metadata') === 'true',
      ...(known !== undefined ? { length: known } : {}),
    });
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 0, 'task-id': ctx.task!.ref });
    res.end();
    return `<value>${vm}</value>`;
  });
}
