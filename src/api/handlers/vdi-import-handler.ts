/**
 * @module
 * `PUT /import_raw_vdi?vdi=&session_id=&task_id=&format=raw|vhd`: writes a disk image into
 * a VDI. Raw bodies are streamed in 2 MiB chunks (one received while the one before goes to
 * the disk) and only the 4 KiB pages that change the disk are written, so importing a sparse image into a thin disk stores only its data, and
 * re-importing content a snapshot already shares takes no new space. A VHD body (fixed or
 * dynamic) is read as it arrives and its blocks written the same way; only a VHD whose
 * blocks come before its BAT is spooled to a temporary file first. Without `vdi=`, a raw import with `sr_id=` and a known length makes a new
 * disk of that size first. The task's result is the VDI's ref.
 */
import { mkdir, open, rm } from 'node:fs/promises';
import type { RecordOf } from '../../core/record-of.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ActionContext } from '../../core/action-context.js';
import { copyBlocks, isZero, writeChanges, zeroRange } from '../../actions/vdi/block-copy.js';
import { createVdi, destroyVdi, onVdiData } from '../../actions/vdi/vdi-ops.js';
import { importMark, marked, unmark } from '../../actions/vm/xva/xva-import-mark.js';
import { attachedSr } from '../../actions/common/storage-access.js';
import { withVdiDevice } from '../../actions/vdi/vdi-io.js';
import { ApiError } from '../../core/api-error.js';
import type { BlockDevice } from '../../core/ports/block-device.js';
import { isRef, type Ref } from '../../core/ref.js';
import type { ResourceHandler } from '../http-api.js';
import { openUploadBody, UploadCutShort, type UploadBody } from '../upload-body.js';
import { runTransfer, vdiFromQuery, type TransferDeps } from './vdi-transfer.js';

const CHUNK = 2 * 1024 * 1024;

function declaredLength(req: IncomingMessage): number | undefined {
  const n = Number(req.headers['content-length']);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Xen Orchestra streams bodies of unknown length with a huge Content-Length (1 PiB) and cuts
 * the connection once its data is sent, waiting for the task rather than the reply; xapi
 * answers such uploads with 200 at once. A declared length that no body for this disk could
 * have marks one.
 */
export function isOpenEndedUpload(req: IncomingMessage, virtualSize: number): boolean {
  const n = declaredLength(req);
  return n !== undefined && n > 2 * virtualSize + 64 * 1024 * 1024;
}

/**
 * The request body, read in large pieces (`upload-body.ts`). An open-ended upload ends when
 * the client closes the connection: what arrived is kept, and the task then fails with
 * VDI_IO_ERROR as xapi's does (the client cannot know its last bytes arrived; Xen
 * Orchestra expects and ignores that error). A body cut short of its declared length is a
 * VDI_IO_ERROR. A cancel of the task stops the reading at once (the task ends cancelled).
 */
function bodyOf(req: IncomingMessage, openEnded: boolean, signal: AbortSignal | undefined): UploadBody {
  const declared = declaredLength(req);
  return openUploadBody(req, { ...(openEnded && declared !== undefined ? { openEndedFrom: declared } : {}), ...(signal ? { signal } : {}) });
}

function cutAsIoError(e: unknown): unknown {
  return e instanceof UploadCutShort ? new ApiError('VDI_IO_ERROR', [e.message]) : e;
}

/** `body.readInto(buf)`, a cut-short body reported as xapi reports it. */
async function fillFrom(body: UploadBody, buf: Buffer): Promise<number> {
  try {
    return await body.readInto(buf);
  } catch (e) {
    throw cutAsIoError(e);
  }
}

/** The body's pieces (each valid until the next is asked for), a cut reported as by `fillFrom`. */
async function* piecesOf(body: UploadBody): AsyncGenerator<Buffer> {
  for (;;) {
    let b: Buffer | null;
    try {
      b = await body.read();
    } catch (e) {
      throw cutAsIoError(e);
    }
    if (!b) return;
    yield b;
  }
}

/** Makes the disk hold `data` at `offset`, writing only the pages that change it. */
async function putChunk(dev: BlockDevice, vdi: Ref<'VDI'>, offset: number, data: Buffer, scratch: Buffer): Promise<void> {
  if (offset + data.length > dev.size) throw new ApiError('VDI_TOO_SMALL', [vdi, String(offset + data.length)]);
  await writeChanges(dev, offset, data, scratch);
}

/**
 * Two chunk buffers: one fills from the socket while the other goes to the disk, so the
 * client keeps sending while the disk is compared and written; the buffers (and the one
 * the disk's current content is read into) are reused, never allocated per chunk.
 */
async function receiveRaw(body: UploadBody, dev: BlockDevice, vdi: Ref<'VDI'>, ctx: ActionContext, openEnded: boolean): Promise<void> {
  const total = openEnded ? dev.size : body.declared;
  if (!openEnded && total !== undefined && total > dev.size) {
    // Refused before the first write, not when the data reaches the end of the disk: the
    // disk keeps what it held. Refused at once, too: the answer goes out before the body
    // (runTransfer then reads and drops what the client still sends, so that it reads the
    // answer rather than a reset), and a client that stops sending on an early answer, as
    // xe does, is not kept sending a disk's worth of bytes for nothing.
    throw new ApiError('VDI_TOO_SMALL', [vdi, String(total)]);
  }
  // No larger than the body: a small import need not take (and have the garbage collector
  // account for) three chunk-sized buffers.
  const size = !openEnded && total !== undefined ? Math.min(CHUNK, Math.max(1, total)) : CHUNK;
  const scratch = Buffer.allocUnsafeSlow(size);
  let spare = Buffer.allocUnsafeSlow(size);
  let buf = Buffer.allocUnsafeSlow(size);
  let pos = 0;
  let putting: Promise<void> = Promise.resolve();
  const put = async (length: number) => {
    await putting; // the previous chunk is on disk, so its buffer may be filled again
    const at = pos;
    putting = putChunk(dev, vdi, at, buf.subarray(0, length), scratch).then(() => {
      if (total) ctx.task?.setProgress((at + length) / total);
    });
    putting.catch(() => undefined); // surfaces at the next put or at the end
    pos += length;
    [buf, spare] = [spare, buf];
  };
  try {
    for (;;) {
      ctx.task?.signal.throwIfAborted();
      // The body lands straight in the chunk buffer: no copy between the socket and it.
      const n = await fillFrom(body, buf);
      if (n > 0) await put(n);
      if (n < size) break;
    }
  } catch (e) {
    await putting.catch(() => undefined); // no write left running on the device being closed
    throw e;
  }
  await putting;
  await dev.flush();
}

const SPOOL_BATCH = 4 * 1024 * 1024;
const SPOOL_PIECE = 64 * 1024;

/**
 * Spools a body to a sparse temporary file (64 KiB runs of zeroes become holes). The
 * body's pieces are gathered into 4 MiB batches first: a file write per piece cost a
 * thread-pool round trip each.
 */
async function spool(body: AsyncIterable<Buffer>, path: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    const batch = Buffer.allocUnsafeSlow(SPOOL_BATCH);
    let fill = 0;
    let pos = 0;
    const flush = async () => {
      let run = -1;
      const out = async (end: number) => {
        for (let done = run; done < end;) done += (await fh.write(batch, done, end - done, pos + done)).bytesWritten;
        run = -1;
      };
      for (let at = 0; at < fill; at += SPOOL_PIECE) {
        const end = Math.min(fill, at + SPOOL_PIECE);
        if (isZero(batch.subarray(at, end))) {
          if (run >= 0) await out(at);
        } else if (run < 0) run = at;
      }
      if (run >= 0) await out(fill);
      pos += fill;
      fill = 0;
    };
    for await (const chunk of body) {
      for (let at = 0; at < chunk.length;) {
        const n = chunk.copy(batch, fill, at);
        fill += n;
        at += n;
        if (fill === SPOOL_BATCH) await flush();
      }
    }
    await flush();
    await fh.truncate(pos);
  } finally {
    await fh.close();
  }
}

/**
 * A VHD whose layout cannot be read in one pass (its BAT after its blocks, say): the whole
 * body is stored in a temporary file first, then the file's stored blocks are copied.
 */
async function importSpooled(body: AsyncIterable<Buffer>, dev: BlockDevice, vdi: Ref<'VDI'>, sr: Ref<'SR'>, ctx: ActionContext): Promise<void> {
  const dir = join(ctx.services.dataDir, 'tmp');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `import-${randomBytes(8).toString('hex')}.vhd`);
  try {
    await spool(body, path);
    const f = await attachedSr(ctx, sr).openVhd(path);
    try {
      if (f.isDifferencing) throw differencing();
      if (f.size > dev.size) throw new ApiError('VDI_TOO_SMALL', [vdi, String(f.size)]);
      await copyBlocks(f, dev, {
        signal: ctx.task!.signal,
        onProgress: (done, tot) => ctx.task?.setProgress(tot ? done / tot : 1),
      });
    } finally {
      await f.close();
    }
  } finally {
    await rm(path, { force: true });
  }
}

const ZERO_WINDOW = 1024 * 1024 * 1024;

const differencing = () => new ApiError('INVALID_VALUE', ['format', 'a differencing VHD cannot be imported without its parent']);

/**
 * A VHD body written to the disk as it arrives, without a temporary copy: the storage reads
 * the format (footer copy, header, BAT, then each block) and hands out the disk's pieces;
 * one piece goes to the disk (only the pages that change it, as for raw) while the next is
 * received. Ranges the image does not hold are made to read as zeroes. A body whose layout
 * cannot be read in one pass is spooled instead.
 */
async function receiveVhd(upload: UploadBody, dev: BlockDevice, vdi: Ref<'VDI'>, sr: Ref<'SR'>, ctx: ActionContext, openEnded: boolean): Promise<void> {
  const total = upload.declared;
  const scratch = Buffer.allocUnsafeSlow(CHUNK);
  let writing: Promise<void> = Promise.resolve();
  // Pieces for the small reads, and long ones (block data) straight into the reader's buffers.
  const body = { [Symbol.asyncIterator]: () => piecesOf(upload), readInto: (t: Buffer) => fillFrom(upload, t) };
  try {
    for await (const ev of attachedSr(ctx, sr).readVhdStream(body)) {
      if (ev.kind === 'data') {
        try {
          ctx.task?.signal.throwIfAborted();
          await writing; // one piece on its way to the disk at a time
        } catch (e) {
          ev.release();
          throw e;
        }
        writing = putChunk(dev, vdi, ev.offset, ev.data, scratch).finally(() => ev.release());
        writing.catch(() => undefined); // surfaces at the next piece or at the end
        const progress = ev.progress ?? (total && !openEnded ? (ev.offset + ev.data.length) / total : undefined);
        if (progress !== undefined) ctx.task?.setProgress(Math.min(1, progress));
        continue;
      }
      await writing;
      if (ev.kind === 'disk') {
        if (ev.isDifferencing) throw differencing();
        if (ev.size !== undefined && ev.size > dev.size) throw new ApiError('VDI_TOO_SMALL', [vdi, String(ev.size)]);
      } else if (ev.kind === 'zero') {
        // In windows: the range may be most of a huge disk, and block status lists it all at once.
        for (let at = ev.offset; at < ev.offset + ev.length; at += ZERO_WINDOW) {
          await zeroRange(dev, at, Math.min(ZERO_WINDOW, ev.offset + ev.length - at));
        }
      } else {
        await importSpooled(ev.body, dev, vdi, sr, ctx);
        return;
      }
    }
  } catch (e) {
    await writing.catch(() => undefined); // no write left running on the device being closed
    // A refusal can come after the first sector, the client still sending: runTransfer
    // answers at once and then reads and drops the rest, so that the client reads the answer
    // rather than a reset, and may stop sending (an open-ended upload has had its answer
    // already, and is cut).
    throw e;
  }
  await writing;
  await dev.flush();
}

/** The disk to import into: the one named, or a new one on `sr_id` sized by the body. */
async function target(d: TransferDeps, ctx: ActionContext, req: IncomingMessage, query: URLSearchParams, format: string): Promise<{ ref: Ref<'VDI'>; row: RecordOf<'VDI'>; made?: boolean }> {
  const named = vdiFromQuery(d, query);
  if (named) return named;
  const sr = query.get('sr_id');
  const length = declaredLength(req);
  if (!sr || format !== 'raw' || length === undefined) throw new ApiError('INTERNAL_ERROR', ['Not enough info supplied to import']);
  const srRef = (isRef(sr) ? sr : d.db.refByUuid('SR', sr)) as Ref<'SR'> | undefined;
  if (!srRef || !d.db.get('SR', srRef)) throw new ApiError('HANDLE_INVALID', ['SR', sr]);
  // Marked as an unfinished import's until the data is in: a crash before rolls it back at start.
  const ref = await createVdi(ctx, { SR: srRef, virtual_size: length, name_label: 'Imported VDI', other_config: marked({}, importMark(ctx)) });
  return { ref, row: d.db.get('VDI', ref)!, made: true };
}

export function createVdiImportHandler(d: TransferDeps): ResourceHandler {
  return (req, res, query) => runTransfer(d, req, res, query, 'vm-admin', 'VDI import', async ({ ctx }) => {
    const format = query.get('format') ?? 'raw';
    if (format !== 'raw' && format !== 'vhd') throw new ApiError('INTERNAL_ERROR', [`Unknown format ${format}`]);
    const { ref, row, made } = await target(d, ctx, req, query, format);
    try {
      await receiveInto(req, res, ctx, ref, row, format);
    } catch (e) {
      // A disk made for this import, which the client never learnt of, goes with it.
      if (made) await destroyVdi(ctx, ref).catch(() => undefined);
      throw e;
    }
    if (made) unmark(ctx, [['VDI', ref]]);
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 0, 'task-id': ctx.task!.ref });
    res.end();
    return `<value>${ref}</value>`;
  });
}

/** Writes the body into the disk; the reply is the caller's (after the disk is settled). */
async function receiveInto(req: IncomingMessage, res: ServerResponse, ctx: ActionContext, ref: Ref<'VDI'>, row: RecordOf<'VDI'>, format: string): Promise<void> {
  if (row.read_only === true) throw new ApiError('VDI_READONLY', [ref]);
  const openEnded = isOpenEndedUpload(req, Number(row.virtual_size));
  if (openEnded) {
    res.writeHead(200, { 'content-type': 'text/plain', 'task-id': ctx.task!.ref, connection: 'close' });
    res.flushHeaders();
  }
  const body = bodyOf(req, openEnded, ctx.task?.signal);
  await withVdiDevice(ctx, row, { readOnly: false }, (dev) =>
    format === 'vhd' ? receiveVhd(body, dev, ref, row.SR, ctx, openEnded) : receiveRaw(body, dev, ref, ctx, openEnded));
  // The data written changes the disk's and the SR's space figures.
  await onVdiData(ctx, ref);
  if (body.endedByClose) throw new ApiError('VDI_IO_ERROR', ['the connection closed before the declared length']);
}
