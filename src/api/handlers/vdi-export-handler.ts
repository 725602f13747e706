/**
 * @module
 * `GET /export_raw_vdi?vdi=&session_id=&task_id=&format=raw|vhd`: a VDI's content. Raw
 * streams the whole virtual size, sending ranges the disk reports as zeroes from one shared
 * zero buffer without reading them; VHD streams a dynamic VHD holding only the blocks with
 * data. Both send a `Content-Length` and follow the client's pace (back-pressure).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { attachedSr } from '../../actions/common/storage-access.js';
import { withVdiDevice } from '../../actions/vdi/vdi-io.js';
import { ApiError } from '../../core/api-error.js';
import type { BlockDevice } from '../../core/ports/block-device.js';
import type { Ref } from '../../core/ref.js';
import type { ResourceHandler } from '../http-api.js';
import { runTransfer, vdiFromQuery, type TransferDeps } from './vdi-transfer.js';

const CHUNK = 2 * 1024 * 1024;
const WINDOW = 1024 * 1024 * 1024;
const ZEROES = Buffer.alloc(CHUNK);

class Sink {
  sent = 0;
  private gone = false;
  private readonly closed: Promise<void>;

  constructor(private readonly res: ServerResponse, private readonly total: number, private readonly progress: (f: number) => void) {
    this.closed = new Promise((resolve) => res.once('close', () => {
      this.gone = true;
      resolve();
    }));
  }

  async write(buf: Buffer): Promise<void> {
    if (this.gone || this.res.destroyed) throw new ApiError('INTERNAL_ERROR', ['the client closed the connection']);
    this.sent += buf.length;
    if (!this.res.write(buf)) {
      await Promise.race([new Promise<void>((resolve) => this.res.once('drain', resolve)), this.closed]);
    }
    this.progress(this.total ? this.sent / this.total : 1);
  }
}

async function sendRaw(dev: BlockDevice, sink: Sink, signal: AbortSignal): Promise<void> {
  for (let w = 0; w < dev.size; w += WINDOW) {
    for (const e of await dev.blockStatus(w, Math.min(WINDOW, dev.size - w))) {
      for (let p = e.offset; p < e.offset + e.length; p += CHUNK) {
        signal.throwIfAborted();
        const n = Math.min(CHUNK, e.offset + e.length - p);
        await sink.write(e.zero ? ZEROES.subarray(0, n) : await dev.read(p, n));
      }
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
    await withVdiDevice(ctx, vdi.row, { readOnly: true }, async (dev) => {
      const image = format === 'vhd' ? await attachedSr(ctx, vdi.row.SR as Ref<'SR'>).exportVhd(dev, String(vdi.row.uuid)) : undefined;
      const length = image ? image.length : dev.size;
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': length,
        'content-disposition': `attachment; filename="${String(vdi.row.uuid)}.${format === 'vhd' ? 'vhd' : 'raw'}"`,
        'task-id': task.ref,
      });
      const sink = new Sink(res, length, (f) => task.setProgress(f));
      if (image) {
        for await (const chunk of image.chunks()) {
          task.signal.throwIfAborted();
          await sink.write(chunk);
        }
      } else {
        await sendRaw(dev, sink, task.signal);
      }
      res.end();
      if (!res.writableFinished) await Promise.race([once(res, 'finish'), once(res, 'close')]);
    });
    return '';
  });
}
