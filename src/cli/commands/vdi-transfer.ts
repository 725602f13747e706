/**
 * @module
 * `xe vdi-import uuid= filename= [format=raw|vhd] [progress=]` and
 * `xe vdi-export uuid= filename= [format=raw|vhd] [progress=]`: move a disk image between a
 * local file and a VDI over HTTP, tracked by a task as xe does (the task carries the
 * server's verdict). Exported files are written sparsely: runs of zeroes become holes.
 * A progress bar is drawn when stderr is a terminal, unless `progress=false`.
 */
import { open } from 'node:fs/promises';
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { progressBar } from '../progress-bar.js';
import { XapiCallError } from '../../client/xapi-call-error.js';
import { HttpStatusError } from '../../client/http-transfer.js';
import { boolParam, refByUuid } from './storage-params.js';

const ZEROES = Buffer.alloc(1024 * 1024);
/** Bytes gathered before each write of an export to its file. */
const WRITE_BATCH = 8 * ZEROES.length;

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += ZEROES.length) {
    const n = Math.min(ZEROES.length, b.length - i);
    if (!b.subarray(i, i + n).equals(ZEROES.subarray(0, n))) return false;
  }
  return true;
}

/** Runs `transfer` under a new task and reports the task's failure, if any, as the command's. */
async function tracked(ctx: CommandContext, label: string, transfer: (task: string) => Promise<void>): Promise<void> {
  const task = String(await ctx.call('task.create', label, ''));
  try {
    let httpError: unknown;
    try {
      await transfer(task);
    } catch (e) {
      if (!(e instanceof HttpStatusError)) throw e;
      httpError = e;
    }
    try {
      await ctx.client.waitTask(task);
    } catch (e) {
      if (e instanceof XapiCallError) throw e;
      throw httpError ?? e;
    }
    if (httpError) throw httpError;
  } finally {
    await ctx.call('task.destroy', task).catch(() => undefined);
  }
}

function query(ctx: CommandContext, vdi: string, task: string): Record<string, string> {
  const format = getParam(ctx.params, 'format');
  return { vdi, task_id: task, ...(format ? { format } : {}) };
}

export const vdiImport: CommandModule = {
  run: async (ctx) => {
    const vdi = await refByUuid(ctx, 'VDI', getParam(ctx.params, 'uuid')!);
    const filename = getParam(ctx.params, 'filename')!;
    const bar = progressBar('Importing', process.stderr, process.stderr.isTTY === true && boolParam(ctx.params, 'progress', true));
    try {
      await (await open(filename, 'r')).close();
    } catch {
      throw new CliFailure(`Failed to open file ${filename}`);
    }
    try {
      await tracked(ctx, 'VDI import', async (task) => {
        await ctx.client.putFile('/import_raw_vdi', query(ctx, vdi, task), { path: filename }, { onProgress: (n, t) => bar.update(n, t) });
      });
    } finally {
      bar.finish();
    }
  },
};

export const vdiExport: CommandModule = {
  run: async (ctx) => {
    const vdi = await refByUuid(ctx, 'VDI', getParam(ctx.params, 'uuid')!);
    const filename = getParam(ctx.params, 'filename')!;
    const bar = progressBar('Exporting', process.stderr, process.stderr.isTTY === true && boolParam(ctx.params, 'progress', true));
    try {
      await tracked(ctx, 'VDI export', async (task) => {
        const body = await ctx.client.getFile('/export_raw_vdi', query(ctx, vdi, task));
        const total = Number((body as unknown as { headers?: Record<string, string> }).headers?.['content-length']) || undefined;
        const fh = await open(filename, 'w');
        try {
          // Chunks off the socket are small (tens of KiB): gather them into large buffers so
          // that each write (and the zero test) handles megabytes, and keep one write in
          // flight while the next buffer fills, so that the disk never stalls the socket.
          const spare: Buffer[] = [Buffer.allocUnsafe(WRITE_BATCH), Buffer.allocUnsafe(WRITE_BATCH)];
          let pending = spare.pop()!;
          let filled = 0;
          let pos = 0;
          let inFlight: Promise<void> = Promise.resolve();
          const writeOut = async (buf: Buffer, length: number, at: number): Promise<void> => {
            for (let i = 0; i < length; i += ZEROES.length) {
              const part = buf.subarray(i, Math.min(length, i + ZEROES.length));
              if (!isZero(part)) await fh.write(part, 0, part.length, at + i);
            }
            spare.push(buf);
          };
          const flush = async (): Promise<void> => {
            await inFlight;
            inFlight = writeOut(pending, filled, pos);
            inFlight.catch(() => undefined); // awaited at the next flush or the end
            pos += filled;
            filled = 0;
            pending = spare.pop() ?? Buffer.allocUnsafe(WRITE_BATCH);
          };
          for await (const chunk of body as AsyncIterable<Buffer>) {
            let at = 0;
            while (at < chunk.length) {
              const n = chunk.copy(pending, filled, at);
              filled += n;
              at += n;
              if (filled === WRITE_BATCH) await flush();
            }
            bar.update(pos + filled, total);
          }
          await flush();
          await inFlight;
          if (total !== undefined && pos !== total) throw new CliFailure(`the export ended after ${pos} of ${total} bytes`);
          await fh.truncate(pos);
        } finally {
          await fh.close();
        }
      });
    } finally {
      bar.finish();
    }
  },
};
