/**
 * @module
 * Disks opened for I/O (`activate`), pausable the way tapdisk is paused around a snapshot or
 * coalesce: a tree change renames or rewrites the files under an open chain, so the SR first
 * pauses the disk (new requests wait, requests in flight drain, the chain is flushed and
 * closed), changes the files, then resumes it on the chain that is now there. All
 * activations of one VDI share one chain, so a reader never sees a stale copy of a writer's
 * block table; each activation is a handle with its own read-only flag.
 */
import type { BlockDevice, DeviceLayer, Extent } from '../../core/ports/block-device.js';
import type { VhdBlockDevice } from '../vhd/vhd-block-device.js';

function ioError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class ActiveDisk {
  private dev: VhdBlockDevice | null;
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;
  private inflight = 0;
  private drained: Array<() => void> = [];
  private broken: Error | null = null;
  private lastSize: number;
  private readonly handles = new Set<DiskHandle>();
  private closed = false;
  /** Set once the last handle is released: the flush and close still running. */
  private closing: Promise<void> | null = null;

  private constructor(
    readonly uuid: string,
    private readonly opener: () => Promise<VhdBlockDevice>,
    private readonly onClosed: (disk: ActiveDisk) => Promise<void>,
    dev: VhdBlockDevice,
  ) {
    this.dev = dev;
    this.lastSize = dev.size;
  }

  static async open(uuid: string, opener: () => Promise<VhdBlockDevice>, onClosed: (disk: ActiveDisk) => Promise<void>): Promise<ActiveDisk> {
    return new ActiveDisk(uuid, opener, onClosed, await opener());
  }

  get size(): number {
    return this.dev?.size ?? this.lastSize;
  }
  get handleCount(): number {
    return this.handles.size;
  }
  /**
   * Once the last handle went, the chain is being flushed and closed and this disk must not
   * be handed out again; the SR waits for this and opens the chain anew, so that the new
   * opener reads the block table the closing one wrote last.
   */
  get closingDone(): Promise<void> | null {
    return this.closing;
  }

  handle(readOnly: boolean): DiskHandle {
    const h = new DiskHandle(this, readOnly);
    this.handles.add(h);
    return h;
  }

  async run<T>(fn: (dev: VhdBlockDevice) => Promise<T>): Promise<T> {
    while (this.gate) await this.gate;
    if (this.broken) throw this.broken;
    if (!this.dev) throw ioError('EIO', `disk ${this.uuid} is closed`);
    this.inflight++;
    try {
      return await fn(this.dev);
    } finally {
      if (--this.inflight === 0) for (const d of this.drained.splice(0)) d();
    }
  }

  /** Stops I/O and closes the chain; requests wait until `resume`. Idempotent. */
  async pause(): Promise<void> {
    if (this.gate) return;
    this.gate = new Promise<void>((r) => (this.openGate = r));
    if (this.inflight > 0) await new Promise<void>((r) => this.drained.push(r));
    const dev = this.dev;
    this.dev = null;
    if (dev) {
      this.lastSize = dev.size;
      try {
        await dev.flush();
      } finally {
        await dev.close();
      }
    }
  }

  /** Reopens the chain now on disk and lets requests through. */
  async resume(): Promise<void> {
    if (!this.gate) return;
    if (!this.closed) {
      try {
        this.dev = await this.opener();
        this.lastSize = this.dev.size;
      } catch (e) {
        this.broken = ioError('EIO', `disk ${this.uuid} could not be reopened: ${(e as Error).message}`);
      }
    }
    const open = this.openGate!;
    this.gate = null;
    this.openGate = null;
    open();
  }

  async release(h: DiskHandle): Promise<void> {
    if (!this.handles.delete(h) || this.handles.size > 0) return;
    this.closed = true;
    this.closing = this.shutDown();
    await this.closing;
  }

  private async shutDown(): Promise<void> {
    try {
      // Paused: the chain is closed already and resume will not reopen it.
      if (this.gate) return;
      if (this.inflight > 0) await new Promise<void>((r) => this.drained.push(r));
      const dev = this.dev;
      this.dev = null;
      if (dev) {
        try {
          await dev.flush();
        } finally {
          await dev.close();
        }
      }
    } finally {
      await this.onClosed(this);
    }
  }

  async closeAll(): Promise<void> {
    for (const h of [...this.handles]) await h.close();
  }
}

/** One activation of a disk: the BlockDevice handed to the NBD server or a VM. */
export class DiskHandle implements BlockDevice {
  readonly minBlockSize = 1;
  readonly preferredBlockSize = 4096;
  private closed = false;

  constructor(
    private readonly disk: ActiveDisk,
    readonly readOnly: boolean,
  ) {}

  get size(): number {
    return this.disk.size;
  }

  private check(write: boolean): void {
    if (this.closed) throw ioError('EBADF', 'device is closed');
    if (write && this.readOnly) throw ioError('EROFS', 'device is read-only');
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    this.check(false);
    return this.disk.run((d) => d.read(offset, length, into));
  }
  async write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void> {
    this.check(true);
    return this.disk.run((d) => d.write(offset, data, opts));
  }
  async writeZeroes(offset: number, length: number, opts?: { mayTrim?: boolean; fua?: boolean }): Promise<void> {
    this.check(true);
    return this.disk.run((d) => d.writeZeroes(offset, length, opts));
  }
  async trim(offset: number, length: number): Promise<void> {
    this.check(true);
    return this.disk.run((d) => d.trim(offset, length));
  }
  async flush(): Promise<void> {
    this.check(false);
    return this.disk.run((d) => d.flush());
  }
  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    this.check(false);
    return this.disk.run((d) => d.blockStatus(offset, length));
  }
  async layers(): Promise<readonly DeviceLayer[]> {
    this.check(false);
    return this.disk.run((d) => d.layers());
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.disk.release(this);
  }
}
