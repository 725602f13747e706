/**
 * @module
 * A zip reader that treats the archive as hostile. Before any data is read, the whole central
 * directory is checked: entry count, names (see entry-path), duplicates, file/directory
 * clashes, entry types (only regular files and directories; a symlink or device is refused),
 * encryption, compression method and declared sizes against the limits. While data is read,
 * the inflated bytes are counted and the stream is cut the moment it passes the size its
 * header declared, so a zip bomb costs at most the limit, whatever its headers claim.
 * Integrity is left to SHA-256 and the signature: zip CRCs are not relied upon.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { ApiError } from '../../core/api-error.js';
import { invalidPatch, invalidPatchLog } from '../errors.js';
import { fileDirClash, pathProblem } from './entry-path.js';

export interface ZipLimits {
  /** Most entries (files and directories) in one archive. */
  maxEntries: number;
  /** Most bytes one entry may inflate to. */
  maxEntrySize: number;
  /** Most bytes all entries together may inflate to. */
  maxTotalSize: number;
}

export const DEFAULT_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 10_000,
  maxEntrySize: 1024 ** 3,
  maxTotalSize: 4 * 1024 ** 3,
});

export interface ZipFileEntry {
  name: string;
  /** The uncompressed size the central directory declares; reading enforces it exactly. */
  declaredSize: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DOS_DIRECTORY = 0x10;
const UNICODE_PATH_EXTRA = 0x7075;

/** A checked archive: its regular files and directories, and a way to read files safely. */
export class SafeZip {
  readonly files = new Map<string, ZipFileEntry>();
  readonly dirs = new Set<string>();
  private readonly raw = new Map<string, yauzl.Entry>();

  private constructor(private readonly zip: yauzl.ZipFile, private readonly limits: ZipLimits) {}

  /** Opens and checks `path`; refuses with INVALID_PATCH (not a zip) or INVALID_PATCH_WITH_LOG. */
  static async open(path: string, limits: ZipLimits = DEFAULT_LIMITS): Promise<SafeZip> {
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false });
    } catch (e) {
      throw invalidPatch(`not a zip archive: ${(e as Error).message}`);
    }
    const safe = new SafeZip(zip, limits);
    try {
      await safe.readDirectory();
      return safe;
    } catch (e) {
      zip.close();
      if (e instanceof ApiError) throw e;
      throw invalidPatch(`damaged zip archive: ${(e as Error).message}`);
    }
  }

  close(): void {
    this.zip.close();
  }

  private async readDirectory(): Promise<void> {
    const { maxEntries, maxEntrySize, maxTotalSize } = this.limits;
    if (this.zip.entryCount > maxEntries) {
      throw invalidPatchLog(`archive has ${this.zip.entryCount} entries, more than the limit of ${maxEntries}`);
    }
    let declaredTotal = 0;
    for await (const entry of this.zip.eachEntry()) {
      const raw = entry.fileNameRaw;
      // Latin-1 maps each byte to one character, so any non-ASCII byte is caught by pathProblem.
      const full = raw.toString('latin1');
      const isDir = full.endsWith('/');
      const name = isDir ? full.slice(0, -1) : full;
      const problem = pathProblem(name);
      const shown = JSON.stringify(full);
      if (problem) throw invalidPatchLog(`entry ${shown}: ${problem}`);
      if (this.files.has(name) || this.dirs.has(name)) throw invalidPatchLog(`entry ${shown}: duplicate name`);
      if (entry.extraFields.some((f) => f.id === UNICODE_PATH_EXTRA)) {
        throw invalidPatchLog(`entry ${shown}: carries a second (Unicode) name; names must be plain ASCII`);
      }
      const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (type === S_IFLNK) throw invalidPatchLog(`entry ${shown}: is a symbolic link`);
      if (isDir) {
        if (type !== 0 && type !== S_IFDIR) throw invalidPatchLog(`entry ${shown}: is not a regular file or directory`);
        if (entry.uncompressedSize !== 0) throw invalidPatchLog(`entry ${shown}: a directory with data`);
        this.dirs.add(name);
        continue;
      }
      if ((type !== 0 && type !== S_IFREG) || (entry.externalFileAttributes & DOS_DIRECTORY)) {
        throw invalidPatchLog(`entry ${shown}: is not a regular file`);
      }
      if (entry.isEncrypted()) throw invalidPatchLog(`entry ${shown}: is encrypted`);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw invalidPatchLog(`entry ${shown}: compression method ${entry.compressionMethod} (only stored and deflated are accepted)`);
      }
      if (entry.compressionMethod === 0 && entry.compressedSize !== entry.uncompressedSize) {
        throw invalidPatchLog(`entry ${shown}: stored entry whose compressed and uncompressed sizes differ`);
      }
      if (entry.uncompressedSize > maxEntrySize) {
        throw invalidPatchLog(`entry ${shown}: declares ${entry.uncompressedSize} bytes, more than the limit of ${maxEntrySize}`);
      }
      declaredTotal += entry.uncompressedSize;
      if (declaredTotal > maxTotalSize) throw invalidPatchLog(`archive declares more than the limit of ${maxTotalSize} bytes in total`);
      this.files.set(name, { name, declaredSize: entry.uncompressedSize });
      this.raw.set(name, entry);
    }
    const clash = fileDirClash(this.files.keys(), this.dirs);
    if (clash) throw invalidPatchLog(`archive: ${clash}`);
  }

  /**
   * The inflated bytes of a file entry, cut off with INVALID_PATCH_WITH_LOG as soon as they
   * exceed its declared size or the archive's total limit, and checked to reach that size.
   */
  async openEntry(name: string): Promise<Readable> {
    const entry = this.raw.get(name);
    if (!entry) throw invalidPatchLog(`entry ${JSON.stringify(name)}: not in the archive`);
    // Each entry is cut at its declared size, and the declared sizes were summed against the
    // total limit when the directory was read, so no separate running total is needed.
    const declared = entry.uncompressedSize;
    let count = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        count += chunk.length;
        if (count > declared) return done(invalidPatchLog(`entry ${JSON.stringify(name)}: inflates beyond its declared ${declared} bytes`));
        done(null, chunk);
      },
      flush(done) {
        done(count === declared ? null : invalidPatchLog(`entry ${JSON.stringify(name)}: holds ${count} bytes, not the declared ${declared}`));
      },
    });
    let source: Readable;
    try {
      source = await this.zip.openReadStreamPromise(entry);
    } catch (e) {
      throw invalidPatchLog(`entry ${JSON.stringify(name)}: unreadable (${(e as Error).message})`);
    }
    source.on('error', (e) => counter.destroy(e instanceof ApiError ? e : invalidPatchLog(`entry ${JSON.stringify(name)}: unreadable (${e.message})`)));
    counter.on('close', () => source.destroy());
    return source.pipe(counter);
  }

  /**
   * Streams a file entry through SHA-256 and, when given, into `sink`; returns its hash and
   * size. Any failure comes out as an ApiError.
   */
  async consumeEntry(name: string, sink?: Writable): Promise<{ sha256: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, sink ? chunk : undefined);
      },
    });
    try {
      const src = await this.openEntry(name);
      if (sink) await pipeline(src, tap, sink);
      else await pipeline(src, tap, async (s: AsyncIterable<Buffer>) => { for await (const _ of s); });
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw invalidPatchLog(`entry ${JSON.stringify(name)}: unreadable (${(e as Error).message})`);
    }
    return { sha256: hash.digest('hex'), size };
  }

  /** A small file entry in memory; refuses entries declared larger than `max` before reading. */
  async readEntry(name: string, max: number): Promise<Buffer> {
    const e = this.files.get(name);
    if (e && e.declaredSize > max) throw invalidPatchLog(`entry ${JSON.stringify(name)}: larger than ${max} bytes`);
    const chunks: Buffer[] = [];
    const collect = async (s: AsyncIterable<Buffer>) => { for await (const c of s) chunks.push(c); };
    try {
      await pipeline(await this.openEntry(name), collect);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw invalidPatchLog(`entry ${JSON.stringify(name)}: unreadable (${(err as Error).message})`);
    }
    return Buffer.concat(chunks);
  }
}

/** Opens a checked archive, runs `fn`, and always closes it. */
export async function withZip<T>(path: string, limits: ZipLimits, fn: (zip: SafeZip) => Promise<T>): Promise<T> {
  const zip = await SafeZip.open(path, limits);
  try {
    return await fn(zip);
  } finally {
    zip.close();
  }
}
