/**
 * @module
 * An HTTP response body written to a file at the socket's pace, for `xe vdi-export` and
 * `xe vm-export`. The socket hands over small pieces (a TLS record, tens of KiB); they are
 * gathered into large buffers so that each file write covers megabytes, one write runs
 * while the next buffer fills. The async iterator hands over whatever the socket buffered
 * at once (measured cheaper here than 'data' events with pause and resume). With `sparse`,
 * whole MiB runs of zeroes become holes instead of writes.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { writeSkippingZeroes } from '../../client/sparse-file-write.js';

const MiB = 1024 * 1024;
const BATCH = 8 * MiB;
const BUFFERS = 3;

export interface DownloadOptions {
  /** Leave MiB runs of zeroes as holes (a disk image); the file ends at the body's length. */
  readonly sparse?: boolean;
  /** Called with the bytes received so far, at most once per buffer written. */
  readonly onBytes?: (received: number) => void;
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

    const writeOut = async (buf: Buffer, length: number, at: number): Promise<void> => {
      await writeSkippingZeroes(fh, buf, length, at, o.sparse === true);
      spare.push(buf);
      o.onBytes?.(at + length);
    };
    // One write in flight while the next buffer fills; the iterator stops reading the
    // socket while we wait for the previous write (back-pressure).
    const queue = async (): Promise<void> => {
      await writing;
      writing = writeOut(current, filled, pos);
      writing.catch(() => undefined); // awaited at the next queue or the end
      pos += filled;
      filled = 0;
      current = spare.pop() ?? Buffer.allocUnsafeSlow(BATCH);
    };
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const n = chunk.copy(current, filled, at);
        filled += n;
        at += n;
        if (filled === BATCH) await queue();
      }
    }
    if (filled) await queue();
    await writing;
    if (o.sparse) await fh.truncate(pos);
    return pos;
  } finally {
    await fh.close();
  }
}
