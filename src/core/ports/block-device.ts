/**
 * @module
 * The block device port: a byte-addressed virtual disk as the NBD server (and any other
 * data-path consumer) sees it. Adapters are a plain raw file (`storage/nbd/file-block-device`)
 * and a VHD chain (`storage/vhd`); every adapter passes `test/storage/block-device.contract.ts`.
 *
 * Ranges are half-open `[offset, offset + length)` in bytes and must lie inside `size`;
 * an adapter rejects anything else with a `RangeError` rather than clamping, because a
 * silently shortened write is data loss. A write that resolved is visible to every later
 * read on the same device object; it is durable only after `flush()` (or with `fua`).
 * A write interrupted by a crash leaves each byte old or new, never anything else.
 *
 * Failures: out-of-range → `RangeError`; writing a read-only device → an Error with
 * `code: 'EROFS'`; out of space → `code: 'ENOSPC'`; anything else is an I/O error.
 */

/** One run of bytes sharing an allocation state. */
export interface Extent {
  offset: number;
  length: number;
  /** Not allocated in the backing store (a write here may need new space). */
  hole: boolean;
  /** Known to read as all zeroes. `false` means "unknown", not "non-zero". */
  zero: boolean;
}

/**
 * One layer of a device read through a stack of them (a VHD chain), for telling which parts
 * of two devices can differ without reading them.
 */
export interface DeviceLayer {
  /** The same for the same stored layer wherever it is opened, and for nothing else. */
  readonly id: string;
  /** The byte ranges `[start, end)` this layer stores data for, in order. */
  readonly stored: ReadonlyArray<readonly [number, number]>;
}

export interface BlockDevice {
  /** Virtual size in bytes. */
  readonly size: number;
  readonly readOnly: boolean;
  /** Smallest addressable unit (power of two, default 1). */
  readonly minBlockSize?: number;
  /** Size at which aligned I/O avoids read-modify-write (power of two, default 4096). */
  readonly preferredBlockSize?: number;

  /**
   * `length` bytes at `offset`. The returned buffer belongs to the caller. When `into`
   * is given (at least `length` bytes) an adapter may fill and return (a view of) it,
   * which lets callers recycle buffers; adapters are free to ignore it.
   */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  /**
   * `fua`: the data is durable when the promise resolves. The adapter must not keep a
   * reference to `data` past that point: the caller recycles the buffer.
   */
  write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void>;
  /** Afterwards the range reads as zeroes; `mayTrim` lets the adapter deallocate it. */
  writeZeroes(offset: number, length: number, opts?: { mayTrim?: boolean; fua?: boolean }): Promise<void>;
  /** A hint that the range is no longer needed: its content is undefined afterwards. */
  trim(offset: number, length: number): Promise<void>;
  /** Every write that resolved before this call is durable when it resolves. */
  flush(): Promise<void>;
  /** Extents covering exactly `[offset, offset + length)`, in order, never empty for length > 0. */
  blockStatus(offset: number, length: number): Promise<Extent[]>;
  /** Releases the backing store; callers finish their operations first. */
  close(): Promise<void>;
  /**
   * The layers the device reads through, the one written to first, when it is such a stack:
   * a byte reads from the first layer that stores it, else as zero. Two devices whose stacks
   * end in the same layers read alike wherever none of the layers above those stores data.
   * Optional: a device of another kind has none to tell.
   */
  layers?(): Promise<readonly DeviceLayer[]>;
}
