/**
 * @module
 * Parent locators of differencing VHDs, encoded as blktap writes them: three entries, MacX
 * (`file://` + relative path, UTF-8), W2ku and W2ru (the same relative path as `.\name`,
 * UTF-16LE), each padded to whole sectors with its data space given in bytes. Decoding accepts
 * those three codes from any writer; paths are resolved relative to the child's directory.
 */
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { padToSector } from './bat.js';
import { PlatformCode } from './dynamic-header.js';

/** Locator payloads longer than this are corrupt (no file system path is that long). */
export const MAX_LOCATOR_BYTES = 64 * 1024;

/** The codes Islet writes, in blktap's order. */
export const WRITTEN_LOCATOR_CODES = [PlatformCode.MacX, PlatformCode.W2ku, PlatformCode.W2ru] as const;

/** `./parent.vhd` or `../other/parent.vhd`: the parent as seen from the child's directory. */
export function relativeParentPath(childPath: string, parentPath: string): string {
  let rel = relative(dirname(resolve(childPath)), resolve(parentPath)).split(sep).join('/');
  if (!rel.startsWith('../')) rel = `./${rel}`;
  return rel;
}

export function parentUnicodeName(parentPath: string): string {
  return basename(parentPath);
}

export function encodeLocator(code: number, relPath: string): Buffer {
  if (code === PlatformCode.MacX) return Buffer.from(`file://${relPath}`, 'utf8');
  const windows = relPath.startsWith('/') ? relPath : `.\\${relPath.startsWith('./') ? relPath.slice(2) : relPath}`;
  return Buffer.from(windows.replace(/\//g, '\\'), 'utf16le');
}

/** The path a locator payload names (posix separators), or null if it is not a usable one. */
export function decodeLocator(code: number, data: Buffer): string | null {
  let name: string;
  if (code === PlatformCode.MacX) {
    name = data.toString('utf8').replace(/\0+$/, '');
    if (!name.startsWith('file://')) return null;
    name = name.slice('file://'.length);
    if (name.startsWith('localhost/')) name = name.slice('localhost'.length);
  } else if (code === PlatformCode.W2ku || code === PlatformCode.W2ru) {
    name = data.subarray(0, data.length & ~1).toString('utf16le').replace(/\0+$/, '').replace(/\\/g, '/');
    if (/^[a-zA-Z]:\//.test(name)) name = name.slice(2);
  } else return null;
  if (name.length === 0 || name.includes('\0')) return null;
  return name;
}

/** Absolute path of the parent named by `locatorPath` in the child at `childPath`. */
export function resolveParentPath(childPath: string, locatorPath: string): string {
  return isAbsolute(locatorPath) ? locatorPath : resolve(dirname(resolve(childPath)), locatorPath);
}

/** Bytes a locator payload occupies on disk (whole sectors, at least one). */
export function locatorSpaceFor(payload: Buffer): number {
  return Math.max(512, padToSector(payload.length));
}
