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

    const writeOut = async (buf: Buffer, length: number, at: number): Promise<void> => {
      // Contiguous MiB runs that are not all zeroes go out in one write each.
      let run = -1;
      const flush = async (end: number) => {
        for (let done = run; done < end;) done += (await fh.write(buf, done, end - done, at + done)).bytesWritten;
        run = -1;
      };
      for (let i = 0; i < length; i += MiB) {
        const end = Math.min(length, i + MiB);
        if (o.sparse && isZero(buf.subarray(i, end))) {
          if (run >= 0) await flush(i);
        } else if (run < 0) run = i;
      }
      if (run >= 0) await flush(length);
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
