/**
 * @module
 * Where the bytes of blobs live: the `blob` records (name, size, mime type) are in the pool
 * database, their data on the master's disk, one object per blob uuid. The `/blob` HTTP
 * handler reads and writes through this port; actions only remove data (blob.destroy, or
 * an owner destroyed with its blobs).
 */
import type { Readable } from 'node:stream';

/** xapi sets no bound on a blob; Islet refuses more than this by default (64 MiB). */
export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;

/** More data than the store takes. */
export class BlobTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`a blob holds at most ${limit} bytes`);
    this.name = 'BlobTooLarge';
  }
}

export interface StoredBlob {
  readonly size: number;
  /** The data; the caller must consume or destroy it. */
  readonly stream: Readable;
}

export interface BlobStore {
  /** The largest blob the store takes, in bytes. */
  readonly maxBytes: number;
  /** The data of a blob, or undefined when none was ever written. */
  open(uuid: string): Promise<StoredBlob | undefined>;
  /**
   * Replaces a blob's data with the pieces of `source` (each may be reused by the source
   * once the next is asked for), all or nothing: readers see the old data or the new,
   * never a part; a failure (more than `maxBytes`: {@link BlobTooLarge}) leaves the old
   * data. `committed` runs the moment the new data is in place, before another write to
   * the same blob can replace it, so that what it records (the size) matches what a reader
   * gets. Resolves with the size written.
   */
  write(uuid: string, source: AsyncIterable<Buffer>, committed?: (size: number) => void): Promise<number>;
  /** Forgets a blob's data; no error when there is none. */
  remove(uuid: string): Promise<void>;
  /**
   * Removes the data of every blob `known` says no record names any more (a crash between
   * a record's removal and its data's, or a database restored from an older dump).
   * Resolves with how many were removed.
   */
  sweep(known: (uuid: string) => boolean): Promise<number>;
}
