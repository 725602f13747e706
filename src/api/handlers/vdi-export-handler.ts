/**
 * @module
 * `GET /export_raw_vdi?vdi=&session_id=&task_id=&format=raw|vhd[&base=]`: a VDI's content,
 * or with `base` (a VDI's ref or uuid) only what differs from that VDI's (core/disk-delta.ts;
 * Xen Orchestra's incremental backups). Raw streams the whole virtual size, sending ranges
 * the disk reports as zeroes from one shared zero buffer without reading them; VHD streams
 * a dynamic VHD holding only the blocks with data. Both read a few large chunks ahead of the socket, send a `Content-Length` and follow
 * the client's pace (back-pressure, one write in flight).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { attachedSr } from '../../actions/common/storage-access.js';
import { withVdiDevice } from '../../actions/vdi/vdi-io.js';
import { ApiError } from '../../core/api-error.js';
import { DiskDelta } from '../../core/disk-delta.js';
import type { BlockDevice } from '../../core/ports/block-device.js';
import { readAhead } from '../../core/read-ahead.js';
import type { Ref } from '../../core/ref.js';
import type { ResourceHandler } from '../http-api.js';
import { runTransfer, vdiFromQuery, type TransferDeps } from './vdi-transfer.js';

const CHUNK = 4 * 1024 * 1024;
const ZEROES = Buffer.alloc(CHUNK);

/**
 * The response as a sink with back-pressure: one chunk in flight, the next written as soon
 * as the socket took the previous one (the kernel's send buffer keeps the client busy
 * meanwhile, and the read-ahead has the next chunk ready). Queueing several writes instead
 * makes the stream hand them to the socket together, and over TLS Node copies such a batch
 * into one contiguous buffer before encrypting it: a profile showed that copy costing more
 * than the encryption.
 */
class Sink {
  sent = 0;
  private gone = false;
  private readonly closed: Promise<void>;
  /** Settles when the task is cancelled: a client that stopped reading does not hold a cancel up. */
  private readonly cancelled: Promise<void>;

  constructor(
    private readonly res: ServerResponse, private readonly total: number, private readonly progress: (f: number) => void,
    private readonly signal: AbortSignal,
  ) {
    this.closed = new Promise((resolve) => res.once('close', () => {
      this.gone = true;
      resolve();
    }));
    this.cancelled = new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Queues `buf`; `done` runs once the socket no longer needs it. */
  async write(buf: Buffer, done?: () => void): Promise<void> {
    this.signal.throwIfAborted();
    if (this.gone || this.res.destroyed) throw new ApiError('INTERNAL_ERROR', ['the client closed the connection']);
    this.sent += buf.length;
    await Promise.race([new Promise<void>((resolve) => this.res.write(buf, () => resolve())), this.closed, this.cancelled]);
    // (A buffer still queued when cancelled is not handed back: the connection is cut, the read-ahead stops.)
    this.signal.throwIfAborted();
    done?.();
    this.progress(this.total ? this.sent / this.total : 1);
  }
}

async function sendRaw(dev: BlockDevice, sink: Sink, signal: AbortSignal): Promise<void> {
  for await (const piece of readAhead(dev, { chunk: CHUNK, ahead: 3, signal })) {
    if (piece.data) {
      await sink.write(piece.data, piece.release);
      continue;
    }
    for (let p = 0; p < piece.length; p += CHUNK) {
      signal.throwIfAborted();
      await sink.write(ZEROES.subarray(0, Math.min(CHUNK, piece.length - p)));
    }
  }
}

export function createVdiExportHandler(d: TransferDeps): ResourceHandler {
  return (req, res, query) => runTransfer(d, req, res, query, 'vm-admin', 'VDI export', async ({ ctx, task }) => {
    req.resume();
    const format = query.get('format') ?? 'raw';
    if (format !== 'raw' && format !== 'vhd') throw new ApiError('INTERNAL_ERROR', [`Unknown format ${format}`]);
    const vdi = vdiFromQuery(d, query);
    if (!vdi) throw new ApiError('INTERNAL_ERROR', ['No VDI given']);
    const base = vdiFromQuery(d, query, 'base');
    const send = async (dev: BlockDevice) => {
      const image = format === 'vhd' ? await attachedSr(ctx, vdi.row.SR).exportVhd(dev, String(vdi.row.uuid)) : undefined;
      const length = image ? image.length : dev.size;
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': length,
        'content-disposition': `attachment; filename="${String(vdi.row.uuid)}.${format === 'vhd' ? 'vhd' : 'raw'}"`,
        'task-id': task.ref,
      });
      // Headers alone first: sent with the first chunk, they would make a batch (see Sink).
      res.flushHeaders();
      const sink = new Sink(res, length, (f) => task.setProgress(f), task.signal);
      if (image) {
        for await (const part of image.chunks()) {
          task.signal.throwIfAborted();
          await sink.write(part.data, part.done);
        }
      } else {
        await sendRaw(dev, sink, task.signal);
      }
      res.end();
      if (!res.writableFinished) await Promise.race([once(res, 'finish'), once(res, 'close')]);
    };
    await withVdiDevice(ctx, vdi.row, { readOnly: true }, async (disk) => {
      if (!base) return send(disk);
      if (base.ref === vdi.ref) return send(new DiskDelta(disk, disk));
      return withVdiDevice(ctx, base.row, { readOnly: true }, (baseDisk) => send(new DiskDelta(disk, baseDisk)));
    });
    return '';
  });
}
