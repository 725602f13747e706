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
import type { PullSource } from '../../actions/vm/xva/xva-tar.js';
import { openUploadBody, UploadCutShort } from '../upload-body.js';
import type { ResourceHandler } from '../http-api.js';
import { runTransfer, type TransferDeps } from './vdi-transfer.js';

const OPEN_ENDED = 2 ** 49;

/**
 * The body, read in large pieces, and decompressed if its first bytes say gzip or zstd.
 * Xen Orchestra closes the connection once its data is sent: a cut ends the body, and the
 * archive's own framing (its end blocks) tells whether all of it arrived.
 */
async function plainBody(req: IncomingMessage, signal: AbortSignal | undefined): Promise<AsyncIterable<Buffer> | PullSource> {
  const body = openUploadBody(req, { openEndedFrom: OPEN_ENDED, ...(signal ? { signal } : {}) });
  const fill = async (target: Buffer): Promise<number> => {
    try {
      return await body.readInto(target);
    } catch (e) {
      if (e instanceof UploadCutShort) return 0;
      throw e;
    }
  };
  const head = Buffer.alloc(4);
  const headLength = await fill(head);
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const zstd = headLength === 4 && head.readUInt32LE(0) === 0xfd2fb528;
  if (!gzip && !zstd) {
    // The first bytes, then the body straight into the reader's buffers.
    let first: Buffer | undefined = head.subarray(0, headLength);
    return {
      readInto: async (target) => {
        let at = 0;
        if (first) {
          at = first.copy(target);
          first = first.length > at ? first.subarray(at) : undefined;
          if (at === target.length) return at;
        }
        if (headLength < 4) return at;
        while (at < target.length) {
          const n = await fill(target.subarray(at));
          at += n;
          if (n === 0) break;
        }
        return at;
      },
    };
  }
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
      const write = async (b: Buffer) => { if (!input.write(b)) await new Promise((r) => input.once('drain', r)); };
      await write(Buffer.from(head.subarray(0, headLength)));
      // Each piece is copied: the decompressor may hold it after the next read reuses it.
      for (let b = Buffer.allocUnsafe(1024 * 1024), n = await fill(b); n > 0; b = Buffer.allocUnsafe(1024 * 1024), n = await fill(b)) {
        await write(b.subarray(0, n));
      }
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
    const vm = await importXva(ctx, await plainBody(req, ctx.task?.signal), {
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
