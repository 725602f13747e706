/**
 * @module
 * What a LUN of the simulated target is made of. The target never assumes a file: the
 * array simulators hand it their own stores (copy-on-write volumes), and the standalone
 * `islet sim iscsi` uses `SparseFileLunStore`. A thin store advertises logical block
 * provisioning (UNMAP, WRITE SAME with UNMAP); unmapped ranges read as zeroes afterwards.
 */

export interface LunStore {
  readonly size: number;
  /** 512 or 4096. */
  readonly blockSize: number;
  /** Advertises LBPME/UNMAP when true. */
  readonly thin: boolean;
  /**
   * The bytes at `offset`. With `into` (exactly `length` bytes), a store may read into it
   * and return it, sparing an allocation; it may also ignore it.
   */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  /** `data` is the caller's again once this resolves (the target reuses its buffers). */
  write(offset: number, data: Buffer): Promise<void>;
  /** Reads as zeros afterwards. */
  unmap(offset: number, length: number): Promise<void>;
  flush(): Promise<void>;
  /** VPD page 0x80; page 0x83 is derived from it unless `naa` is given. */
  readonly serial: string;
  /** 32 hex digits of an NAA 6 designator (VPD 0x83), when the array has its own scheme. */
  readonly naa?: string;
  /**
   * Which parts of `[offset, offset + length)` hold data (`mapped`) and which are
   * deallocated, for GET LBA STATUS; without it every block is reported mapped.
   */
  allocation?(offset: number, length: number): Promise<{ offset: number; length: number; mapped: boolean }[]>;
}
