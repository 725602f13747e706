/**
 * @module
 * An HTTP response body written to a file at the socket's pace, for `xe vdi-export` and
 * `xe vm-export`. The socket hands over small pieces (a TLS record, tens of KiB); they are
 * gathered into a few large buffers so that each file write covers megabytes, one write runs
 * while the next buffer fills, and the socket is paused only when every buffer waits for
 * the disk. Pieces are taken with 'data' events rather than an async iterator, which costs a
 * promise per piece. With `sparse`, whole MiB runs of zeroes become holes instead of writes.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

const MiB = 1024 * 1024;
const BATCH = 8 * MiB;
const BUFFERS = 3;
const ZEROES = Buffer.alloc(MiB);

export interface DownloadOptions {
  /** Leave MiB runs of zeroes as holes (a disk image); the file ends at the body's length. */
  readonly sparse?: boolean;
  /** Called with the bytes received so far, at most once per buffer written. */
  readonly onBytes?: (received: number) => void;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += MiB) {
    const n = Math.min(MiB, b.length - i);
    if (!b.subarray(i, i + n).equals(ZEROES.subarray(0, n))) return false;
  }
  return true;
}

/** Writes `body` to `path` (created or truncated); resolves with the bytes written. */
export async function downloadToFile(body: Readable, path: string, o: DownloadOptions = {}): Promise<number> {
  const fh = await open(path, 'w');
  try {
    const spare: Buffer[] = [];
    for (let i = 0; i < BUFFERS; i++) spare.push(Buffer.allocUnsafeSlow(BATCH));
    let current = spare.pop()!;
    let filled = 0;
    let pos = 0;
    let writing: Promise<void> = Promise.resolve();
    let failure: unknown;

    const writeOut = async (buf: Buffer, length: number, at: number): Promise<void> => {
      if (!o.sparse) {
        for (let done = 0; done < length;) done += (await fh.write(buf, done, length - done, at + done)).bytesWritten;
        return;
      }
      // Contiguous non-zero MiB runs go out in one write each.
      let run = -1;
      const flush = async (end: number) => {
        for (let done = run; done < end;) done += (await fh.write(buf, done, end - done, at + done)).bytesWritten;
        run = -1;
      };
      for (let i = 0; i < length; i += MiB) {
        const end = Math.min(length, i + MiB);
        if (isZero(buf.subarray(i, end))) {
          if (run >= 0) await flush(i);
        } else if (run < 0) run = i;
      }
      if (run >= 0) await flush(length);
    };
    const queue = (buf: Buffer, length: number, at: number) => {
      writing = writing.then(() => writeOut(buf, length, at)).then(() => {
        spare.push(buf);
        o.onBytes?.(at + length);
        if (body.isPaused() && failure === undefined) body.resume();
      });
      writing.catch((e: unknown) => {
        failure ??= e;
        body.destroy(e as Error);
      });
    };

    await new Promise<void>((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length) {
          const n = chunk.copy(current, filled, at);
          filled += n;
          at += n;
          if (filled === BATCH) {
            queue(current, filled, pos);
            pos += filled;
            filled = 0;
            current = spare.pop() ?? Buffer.allocUnsafeSlow(BATCH);
            // The last spare buffer is filling: hold the socket until a write gives one back.
            if (spare.length === 0) body.pause();
          }
        }
      });
      body.once('end', resolve);
      body.once('error', reject);
      body.once('aborted', () => reject(new Error('the server closed the connection before the end')));
      body.once('close', () => {
        if (!body.readableEnded) reject(failure ?? new Error('the server closed the connection before the end'));
      });
    });
    if (filled) queue(current, filled, pos);
    pos += filled;
    await writing;
    if (failure !== undefined) throw failure;
    if (o.sparse) await fh.truncate(pos);
    return pos;
  } finally {
    await fh.close();
  }
}
