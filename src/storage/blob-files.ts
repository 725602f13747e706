/**
 * @module
 * Blob data as files: `<dir>/<blob uuid>`, as xapi keeps them under /var/lib/xcp/blobs.
 * A write goes to a private temporary name in the same directory, is synced, and renamed
 * over the blob's file, so a reader (or a crash) sees the old data or the new, whole. Writes
 * to one blob take turns; the directory is synced after a rename or removal so that what
 * was acknowledged survives a power cut.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobTooLarge, DEFAULT_MAX_BLOB_BYTES, type BlobStore, type StoredBlob } from '../core/ports/blob-store.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Temporary files start with a dot, so no uuid-named blob file can be mistaken for one. */
const TEMP_PREFIX = '.incoming-';

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

export class FileBlobStore implements BlobStore {
  /** The write under way per blob uuid, which the next one waits for. */
  readonly #turns = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string, readonly maxBytes: number = DEFAULT_MAX_BLOB_BYTES) {}

  /** The file of a blob; a name that is not a uuid never reaches the file system. */
  #path(uuid: string): string {
    if (!UUID_RE.test(uuid)) throw new Error(`not a blob uuid: ${JSON.stringify(uuid)}`);
    return join(this.dir, uuid.toLowerCase());
  }

  async open(uuid: string): Promise<StoredBlob | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(this.#path(uuid), 'r');
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    try {
      const { size } = await fh.stat();
      return { size, stream: fh.createReadStream({ autoClose: true }) };
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  write(uuid: string, source: AsyncIterable<Buffer>, committed?: (size: number) => void): Promise<number> {
    const path = this.#path(uuid);
    const before = this.#turns.get(uuid) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.#replace(path, source, committed));
    this.#turns.set(uuid, mine);
    const forget = () => { if (this.#turns.get(uuid) === mine) this.#turns.delete(uuid); };
    mine.then(forget, forget);
    return mine;
  }

  async #replace(path: string, source: AsyncIterable<Buffer>, committed?: (size: number) => void): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let fh: FileHandle | undefined = await open(tmp, 'wx', 0o600);
    let size = 0;
    try {
      for await (const piece of source) {
        size += piece.length;
        if (size > this.maxBytes) throw new BlobTooLarge(this.maxBytes);
        for (let at = 0; at < piece.length;) at += (await fh.write(piece, at, piece.length - at)).bytesWritten;
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, path);
    } catch (e) {
      await fh?.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
    committed?.(size);
    await this.#syncDir();
    return size;
  }

  async remove(uuid: string): Promise<void> {
    await rm(this.#path(uuid), { force: true });
    await this.#syncDir().catch(() => undefined);
  }

  async sweep(known: (uuid: string) => boolean): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isMissing(e)) return 0;
      throw e;
    }
    let removed = 0;
    for (const name of names) {
      // A temporary file no write is using any more (sweeps run before the host serves).
      const stale = name.startsWith(TEMP_PREFIX) && this.#turns.size === 0;
      if (stale || (UUID_RE.test(name) && !known(name))) {
        await rm(join(this.dir, name), { force: true });
        removed++;
      }
    }
    if (removed) await this.#syncDir();
    return removed;
  }

  async #syncDir(): Promise<void> {
    const d = await open(this.dir, 'r').catch((e: unknown) => { if (isMissing(e)) return undefined; throw e; });
    if (!d) return;
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
