/**
 * @module
 * Opens what a user hands over: either the `NAME.xsupdate` itself, or the distribution
 * `NAME.zip` that carries exactly one `.xsupdate` (plus perhaps a readme). The inner file is
 * copied, under the same limits, to a private temporary directory and opened from there;
 * nothing else in the outer zip is read. Only one level of wrapping is accepted.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalidPatch } from '../errors.js';
import { MANIFEST_NAME } from './entry-path.js';
import { DEFAULT_LIMITS, SafeZip, type ZipLimits } from './zip-reader.js';

export interface ReadOptions extends Partial<ZipLimits> {
  /** Where the inner `.xsupdate` of a distribution zip is unpacked (default: the OS temp dir). */
  tempDir?: string;
}

export function resolveLimits(o: ReadOptions = {}): ZipLimits {
  return {
    maxEntries: o.maxEntries ?? DEFAULT_LIMITS.maxEntries,
    maxEntrySize: o.maxEntrySize ?? DEFAULT_LIMITS.maxEntrySize,
    maxTotalSize: o.maxTotalSize ?? DEFAULT_LIMITS.maxTotalSize,
  };
}

/** The single `.xsupdate` a distribution zip carries, or null when it does not carry exactly one. */
function innerUpdateName(zip: SafeZip): string | null {
  const found = [...zip.files.keys()].filter((n) => n.toLowerCase().endsWith('.xsupdate'));
  return found.length === 1 ? found[0]! : null;
}

/**
 * Runs `fn` on the checked update archive found at `path` (an `.xsupdate`, or a zip holding
 * exactly one), then closes it and removes any temporary copy.
 */
export async function withUpdateArchive<T>(path: string, options: ReadOptions, fn: (zip: SafeZip) => Promise<T>): Promise<T> {
  const limits = resolveLimits(options);
  const outer = await SafeZip.open(path, limits);
  let inner: SafeZip | undefined;
  let tmp: string | undefined;
  try {
    if (outer.files.has(MANIFEST_NAME)) return await fn(outer);
    const name = innerUpdateName(outer);
    if (!name) throw invalidPatch('neither an update (no update.json) nor a zip holding exactly one .xsupdate');
    tmp = await mkdtemp(join(options.tempDir ?? tmpdir(), 'islet-xsupdate-'));
    const innerPath = join(tmp, 'inner.xsupdate');
    await outer.consumeEntry(name, createWriteStream(innerPath, { mode: 0o600 }));
    outer.close();
    inner = await SafeZip.open(innerPath, limits);
    if (!inner.files.has(MANIFEST_NAME)) throw invalidPatch(`${name} inside the zip is not an update (no update.json)`);
    return await fn(inner);
  } finally {
    outer.close();
    inner?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
