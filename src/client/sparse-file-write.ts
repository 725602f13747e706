/**
 * @module
 * Writing a downloaded buffer into a file at its offset, leaving holes where whole MiB runs
 * are zero (a sparse download keeps a thin disk thin on the client's side too). Both of
 * xe's download paths (node's HTTP client and the raw socket reader) write through here.
 */
import type { FileHandle } from 'node:fs/promises';

const MiB = 1024 * 1024;
const ZEROES = Buffer.alloc(MiB);

/** True when every byte of `b` is zero. */
export function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += MiB) {
    const n = Math.min(MiB, b.length - i);
    if (!b.subarray(i, i + n).equals(ZEROES.subarray(0, n))) return false;
  }
  return true;
}

/**
 * Writes `buf[0, length)` at file offset `at`; with `sparse`, MiB runs that are all zeroes
 * are skipped (the file was created empty, so they read back as zeroes) and each contiguous
 * run of the rest goes out in one write.
 */
export async function writeSkippingZeroes(fh: FileHandle, buf: Buffer, length: number, at: number, sparse: boolean): Promise<void> {
  let run = -1;
  const flush = async (end: number) => {
    for (let done = run; done < end;) done += (await fh.write(buf, done, end - done, at + done)).bytesWritten;
    run = -1;
  };
  for (let i = 0; i < length; i += MiB) {
    const end = Math.min(length, i + MiB);
    if (sparse && isZero(buf.subarray(i, end))) {
      if (run >= 0) await flush(i);
    } else if (run < 0) run = i;
  }
  if (run >= 0) await flush(length);
}
