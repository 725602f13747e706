/**
 * @module
 * Gathers the data writes issued to one file during an event-loop turn into few `pwritev`
 * calls. A sequential writer (nbdcopy, qemu-img, a coalesce) keeps many adjacent writes in
 * flight, and each costs a trip through the I/O thread pool and two thread wake-ups, which
 * at gigabytes per second costs more CPU than the copy itself. Writes contiguous in the file
 * go out together (within a VHD block they are); the others go out as they came. Both the
 * VHD adapter and the raw file block device write through it.
 */
import { writev } from 'node:fs';

/** Bounds of one gathered write: bytes (so several threads still share a big burst) and buffers (IOV_MAX). */
const MAX_GATHER_BYTES = 4 * 1024 * 1024;
const MAX_GATHER_BUFFERS = 512;

interface Queued {
  position: number;
  data: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function pwritev(fd: number, buffers: Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) => writev(fd, buffers, position, (e, n) => (e ? reject(e) : resolve(n))));
}

export class WriteGatherer {
  private queue: Queued[] = [];
  private readonly flush = (): void => this.drain();

  /** `fd` is read when the writes go out: the descriptor of the open file. */
  constructor(private readonly fd: () => number) {}

  /** Resolves once all of `data` is in the file at `position`. */
  write(position: number, data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.queue.push({ position, data, resolve, reject }) === 1) setImmediate(this.flush);
    });
  }

  private drain(): void {
    const q = this.queue.sort((a, b) => a.position - b.position);
    this.queue = [];
    let i = 0;
    while (i < q.length) {
      const run = [q[i]!];
      let end = q[i]!.position + q[i]!.data.length;
      let bytes = q[i]!.data.length;
      for (i++; i < q.length && q[i]!.position === end && run.length < MAX_GATHER_BUFFERS && bytes + q[i]!.data.length <= MAX_GATHER_BYTES; i++) {
        run.push(q[i]!);
        end += q[i]!.data.length;
        bytes += q[i]!.data.length;
      }
      this.writeRun(run).then(() => run.forEach((w) => w.resolve()), (e: unknown) => run.forEach((w) => w.reject(e)));
    }
  }

  private async writeRun(run: Queued[]): Promise<void> {
    const fd = this.fd();
    let buffers = run.map((w) => w.data);
    let position = run[0]!.position;
    // A short write is rare (signals, quotas): carry on from where it stopped.
    while (buffers.length > 0) {
      let n = await pwritev(fd, buffers, position);
      if (n === 0) throw Object.assign(new Error('pwritev wrote nothing'), { code: 'EIO' });
      position += n;
      while (buffers.length > 0 && n >= buffers[0]!.length) n -= buffers.shift()!.length;
      if (buffers.length > 0 && n > 0) buffers[0] = buffers[0]!.subarray(n);
    }
  }
}
