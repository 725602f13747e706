/**
 * @module
 * The one rule for names inside an update archive, shared by the zip reader (every entry) and
 * the manifest (every listed file). A name is relative, `/`-separated, printable ASCII, with
 * no empty, `.` or `..` segment: so it can only ever name a file below the directory it is
 * extracted into, and it is spelled exactly one way, which makes "duplicate" and "listed"
 * plain string comparisons.
 */

export const MANIFEST_NAME = 'update.json';
export const SIGNATURE_NAME = 'update.json.asc';
export const PAYLOAD_PREFIX = 'payload/';
export const HOOK_NAMES = ['hooks/precheck', 'hooks/apply'] as const;

export const MAX_PATH_LENGTH = 1024;
export const MAX_SEGMENT_LENGTH = 255;

/** Why `name` is not an acceptable file path, or null when it is. */
export function pathProblem(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > MAX_PATH_LENGTH) return `name longer than ${MAX_PATH_LENGTH} characters`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0) return 'name contains NUL';
    if (c === 0x5c) return 'name contains a backslash';
    if (c < 0x20 || c > 0x7e) return `name contains character 0x${c.toString(16)} (only printable ASCII is allowed)`;
  }
  if (name.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'path starts with a drive letter';
  for (const seg of name.split('/')) {
    if (seg === '') return 'empty path segment';
    if (seg === '.' || seg === '..') return `"${seg}" path segment`;
    if (seg.length > MAX_SEGMENT_LENGTH) return `path segment longer than ${MAX_SEGMENT_LENGTH} characters`;
  }
  return null;
}

/** True for the names a manifest may list: anything under payload/, or one of the hooks. */
export function isListableName(name: string): boolean {
  return (name.startsWith(PAYLOAD_PREFIX) && name.length > PAYLOAD_PREFIX.length) ||
    (HOOK_NAMES as readonly string[]).includes(name);
}

/** Every proper ancestor directory of a path: `a/b/c` → `a`, `a/b`. */
export function ancestors(name: string): string[] {
  const segs = name.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join('/'));
  return out;
}

/**
 * The first pair of files where one would have to be both a file and a directory
 * (`a/b` and `a/b/c`), which no extraction can honour; null when there is none.
 */
export function fileDirClash(files: Iterable<string>, dirs: Iterable<string> = []): string | null {
  const fileSet = new Set(files);
  for (const d of dirs) if (fileSet.has(d)) return `"${d}" is both a file and a directory`;
  for (const f of fileSet) {
    for (const a of ancestors(f)) if (fileSet.has(a)) return `"${a}" is both a file and a directory (holding "${f}")`;
  }
  return null;
}
