/**
 * @module
 * The one error type of the VHD library. Every problem found in an untrusted file, and every
 * misuse of the API, is a `VhdError` with a stable `code`, so callers (the SR driver, the NBD
 * server) can map it to a XenAPI error without parsing messages. Plain I/O failures of the
 * host file system (EIO, ENOSPC, EACCES on the leaf) are left as Node errors.
 */

export const VhdErrorCode = {
  /** The file is shorter than its own structures say. */
  TRUNCATED: 'TRUNCATED',
  BAD_COOKIE: 'BAD_COOKIE',
  BAD_FOOTER_CHECKSUM: 'BAD_FOOTER_CHECKSUM',
  BAD_HEADER_CHECKSUM: 'BAD_HEADER_CHECKSUM',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  UNSUPPORTED_DISK_TYPE: 'UNSUPPORTED_DISK_TYPE',
  UNSUPPORTED_BLOCK_SIZE: 'UNSUPPORTED_BLOCK_SIZE',
  /** The virtual size is not a whole number of sectors or is beyond what VHD can address. */
  BAD_SIZE: 'BAD_SIZE',
  /** The dynamic header's data offset or the BAT lies outside the file or over other metadata. */
  BAD_LAYOUT: 'BAD_LAYOUT',
  /** Max table entries cannot cover the virtual size. */
  BAT_TOO_SMALL: 'BAT_TOO_SMALL',
  BAT_ENTRY_OUT_OF_RANGE: 'BAT_ENTRY_OUT_OF_RANGE',
  BAT_ENTRY_IN_METADATA: 'BAT_ENTRY_IN_METADATA',
  BAT_ENTRIES_OVERLAP: 'BAT_ENTRIES_OVERLAP',
  BAD_PARENT_LOCATOR: 'BAD_PARENT_LOCATOR',
  PARENT_NOT_FOUND: 'PARENT_NOT_FOUND',
  PARENT_LOOP: 'PARENT_LOOP',
  CHAIN_TOO_DEEP: 'CHAIN_TOO_DEEP',
  PARENT_UUID_MISMATCH: 'PARENT_UUID_MISMATCH',
  NOT_DIFFERENCING: 'NOT_DIFFERENCING',
  READ_ONLY: 'READ_ONLY',
  CLOSED: 'CLOSED',
  OUT_OF_BOUNDS: 'OUT_OF_BOUNDS',
  UNALIGNED: 'UNALIGNED',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The 32-bit sector offsets of the BAT cannot address more data in this file. */
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
} as const;
export type VhdErrorCode = (typeof VhdErrorCode)[keyof typeof VhdErrorCode];

export class VhdError extends Error {
  readonly code: VhdErrorCode;
  /** The file the problem was found in, when there is one. */
  readonly path: string | undefined;
  constructor(code: VhdErrorCode, message: string, path?: string) {
    super(path ? `${code}: ${message} (${path})` : `${code}: ${message}`);
    this.name = 'VhdError';
    this.code = code;
    this.path = path;
  }
}

/** Throws a `VhdError` unless `cond` holds; keeps validation code to one line per rule. */
export function check(cond: boolean, code: VhdErrorCode, message: string, path?: string): asserts cond {
  if (!cond) throw new VhdError(code, message, path);
}
