/**
 * @module
 * `update.json`, the signed description of a hotfix: its identity (uuid, name, version), what
 * the host must do after applying it (guidance), what it needs and excludes, which product
 * versions it is for, and the hash and mode of every file the archive carries. Validation is
 * strict and total: unknown keys are refused (a misspelt `conflicts` silently ignored would
 * install a conflicting update), and all problems are reported at once so an author fixes
 * them in one go. Extensions belong in `other_config`, which becomes `pool_patch.other_config`.
 */
import { invalidPatchLog } from '../errors.js';
import { HOOK_NAMES, MANIFEST_NAME, SIGNATURE_NAME, fileDirClash, isListableName, pathProblem } from './entry-path.js';

export const Guidance = {
  restartHost: 'restartHost',
  restartXAPI: 'restartXAPI',
  restartHVM: 'restartHVM',
  restartPV: 'restartPV',
} as const;
export type Guidance = (typeof Guidance)[keyof typeof Guidance];
const GUIDANCE_VALUES = Object.values(Guidance) as string[];

export interface ManifestFile {
  path: string;
  /** Lowercase hex SHA-256 of the entry's bytes. */
  sha256: string;
  /** Permission bits (at most 0o777) given to the file when installed. */
  mode: number;
  /** Exact byte count, when the author states it; checked like the hash. */
  size?: number;
}

/** The product versions an update is for; `min` and `max` are inclusive dotted numbers. */
export interface AppliesTo {
  product: string;
  min?: string;
  max?: string;
}

export interface UpdateManifest {
  uuid: string;
  name_label: string;
  name_description: string;
  version: string;
  after_apply_guidance: Guidance[];
  installation_size: number;
  requires: string[];
  conflicts: string[];
  applies_to?: AppliesTo;
  other_config: Record<string, string>;
  files: ManifestFile[];
}

const TOP_KEYS = new Set(['uuid', 'name_label', 'name_description', 'version', 'after_apply_guidance',
  'installation_size', 'requires', 'conflicts', 'applies_to', 'other_config', 'files']);
const OPTIONAL_KEYS = new Set(['applies_to', 'other_config', 'name_description', 'requires', 'conflicts']);
const FILE_KEYS = new Set(['path', 'sha256', 'mode', 'size']);
const APPLIES_KEYS = new Set(['product', 'min', 'max']);

const VERSION_RE = /^[0-9A-Za-z]+([.+~_-][0-9A-Za-z]+)*$/;
const PRODUCT_VERSION_RE = /^\d{1,9}(\.\d{1,9}){0,5}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const MODE_RE = /^0?[0-7]{3}$/;
const UUID_LOWER_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type ManifestCheck = { ok: true; manifest: UpdateManifest } | { ok: false; problems: string[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Printable text; descriptions may also hold newlines and tabs. */
function textProblem(v: unknown, max: number, multiline = false): string | null {
  if (typeof v !== 'string') return 'must be a string';
  if (v.length > max) return `longer than ${max} characters`;
  const bad = multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
  return bad.test(v) ? 'contains control characters' : null;
}

/** Checks a parsed update.json; never throws. */
export function checkManifest(value: unknown): ManifestCheck {
  const problems: string[] = [];
  const bad = (where: string, what: string) => problems.push(`${where}: ${what}`);
  if (!isObject(value)) return { ok: false, problems: ['update.json must hold a JSON object'] };
  for (const k of Object.keys(value)) if (!TOP_KEYS.has(k)) bad(k, 'unknown key');
  for (const k of TOP_KEYS) if (!OPTIONAL_KEYS.has(k) && !(k in value)) bad(k, 'missing');

  const uuid = value.uuid;
  if ('uuid' in value && !(typeof uuid === 'string' && UUID_LOWER_RE.test(uuid))) {
    bad('uuid', 'must be a lowercase uuid like 6f2a0c3e-8a51-4a0f-9d0e-6b1f5a7c2d11');
  }
  for (const [k, max, multi] of [['name_label', 255, false], ['name_description', 4096, true]] as const) {
    if (k in value) {
      const p = textProblem(value[k], max, multi);
      if (p) bad(k, p);
    }
  }
  if (typeof value.name_label === 'string' && value.name_label.trim() === '') bad('name_label', 'empty');
  if ('version' in value && !(typeof value.version === 'string' && value.version.length <= 64 && VERSION_RE.test(value.version))) {
    bad('version', 'must be letters and digits joined by . + ~ _ or - (at most 64 characters), e.g. "1.0"');
  }
  const g = value.after_apply_guidance;
  if ('after_apply_guidance' in value) {
    if (!Array.isArray(g)) bad('after_apply_guidance', 'must be a list');
    else {
      for (const x of g) if (!GUIDANCE_VALUES.includes(x as string)) bad('after_apply_guidance', `unknown value ${JSON.stringify(x)} (allowed: ${GUIDANCE_VALUES.join(', ')})`);
      if (new Set(g).size !== g.length) bad('after_apply_guidance', 'repeats a value');
    }
  }
  const size = value.installation_size;
  if ('installation_size' in value && !(Number.isSafeInteger(size) && (size as number) >= 0)) {
    bad('installation_size', 'must be a whole number of bytes, 0 or more');
  }
  for (const k of ['requires', 'conflicts'] as const) {
    if (!(k in value)) continue;
    const list = value[k];
    if (!Array.isArray(list)) { bad(k, 'must be a list of update uuids'); continue; }
    for (const u of list) if (!(typeof u === 'string' && UUID_LOWER_RE.test(u))) bad(k, `${JSON.stringify(u)} is not a lowercase uuid`);
    if (new Set(list).size !== list.length) bad(k, 'repeats a uuid');
    if (typeof uuid === 'string' && list.includes(uuid)) bad(k, 'names the update itself');
  }
  if (Array.isArray(value.requires) && Array.isArray(value.conflicts)) {
    const both = value.requires.filter((u) => (value.conflicts as unknown[]).includes(u));
    if (both.length) bad('conflicts', `also required: ${both.join(', ')}`);
  }
  if ('applies_to' in value) checkAppliesTo(value.applies_to, bad);
  if ('other_config' in value) {
    const oc = value.other_config;
    if (!isObject(oc)) bad('other_config', 'must be an object of strings');
    else for (const [k, v] of Object.entries(oc)) {
      if (k === '' || k.length > 255 || typeof v !== 'string') bad('other_config', `entry ${JSON.stringify(k)} must be a non-empty key with a string value`);
    }
  }
  const files = 'files' in value ? checkFiles(value.files, bad) : [];

  if (problems.length) return { ok: false, problems };
  // Every field has been checked above, so this view of the value is now accurate.
  const v = value as Omit<Partial<UpdateManifest>, 'files'> & Pick<UpdateManifest, 'uuid' | 'name_label' | 'version' | 'installation_size'>;
  const manifest: UpdateManifest = {
    uuid: v.uuid, name_label: v.name_label, name_description: v.name_description ?? '', version: v.version,
    after_apply_guidance: [...(v.after_apply_guidance ?? [])], installation_size: v.installation_size,
    requires: [...(v.requires ?? [])], conflicts: [...(v.conflicts ?? [])],
    other_config: { ...(v.other_config ?? {}) }, files,
  };
  if (v.applies_to) manifest.applies_to = { ...v.applies_to };
  return { ok: true, manifest };
}

function checkAppliesTo(a: unknown, bad: (w: string, m: string) => void): void {
  if (!isObject(a)) return void bad('applies_to', 'must be an object { product, min?, max? }');
  for (const k of Object.keys(a)) if (!APPLIES_KEYS.has(k)) bad(`applies_to.${k}`, 'unknown key');
  const p = textProblem(a.product, 64);
  if (p || a.product === '') bad('applies_to.product', p ?? 'empty');
  for (const k of ['min', 'max'] as const) {
    if (k in a && !(typeof a[k] === 'string' && PRODUCT_VERSION_RE.test(a[k] as string))) bad(`applies_to.${k}`, 'must be a dotted number like "6.0.2"');
  }
  if (typeof a.min === 'string' && typeof a.max === 'string' && PRODUCT_VERSION_RE.test(a.min) &&
      PRODUCT_VERSION_RE.test(a.max) && compareVersions(a.min, a.max) > 0) {
    bad('applies_to', `min ${a.min} is above max ${a.max}`);
  }
}

function checkFiles(list: unknown, bad: (w: string, m: string) => void): ManifestFile[] {
  if (!Array.isArray(list)) { bad('files', 'must be a list'); return []; }
  const out: ManifestFile[] = [];
  const seen = new Set<string>();
  list.forEach((f, i) => {
    const at = `files[${i}]`;
    if (!isObject(f)) return void bad(at, 'must be an object { path, sha256, mode }');
    for (const k of Object.keys(f)) if (!FILE_KEYS.has(k)) bad(`${at}.${k}`, 'unknown key');
    const path = f.path;
    if (typeof path !== 'string') return void bad(`${at}.path`, 'must be a string');
    const where = `${at} (${path})`;
    const pp = pathProblem(path);
    if (pp) bad(where, pp);
    else if (path === MANIFEST_NAME || path === SIGNATURE_NAME) bad(where, 'update.json and its signature are not listed');
    else if (!isListableName(path)) bad(where, `must be under payload/ or one of ${HOOK_NAMES.join(', ')}`);
    if (seen.has(path)) bad(where, 'listed twice');
    seen.add(path);
    if (!(typeof f.sha256 === 'string' && SHA256_RE.test(f.sha256))) bad(`${where}.sha256`, 'must be 64 lowercase hex digits');
    const modeOk = typeof f.mode === 'string' && MODE_RE.test(f.mode);
    if (!modeOk) bad(`${where}.mode`, 'must be an octal string like "0644" or "0755" (no setuid, setgid or sticky bits)');
    const mode = modeOk ? parseInt(f.mode as string, 8) : 0;
    if (modeOk && (HOOK_NAMES as readonly string[]).includes(path) && !(mode & 0o100)) bad(`${where}.mode`, 'a hook must be executable by its owner');
    if ('size' in f && !(Number.isSafeInteger(f.size) && (f.size as number) >= 0)) bad(`${where}.size`, 'must be a whole number of bytes');
    const entry: ManifestFile = { path, sha256: String(f.sha256), mode };
    if (typeof f.size === 'number') entry.size = f.size;
    out.push(entry);
  });
  const clash = fileDirClash(out.map((f) => f.path));
  if (clash) bad('files', clash);
  return out;
}

/** Parses and checks the exact bytes of update.json; refuses with INVALID_PATCH_WITH_LOG. */
export function parseManifest(bytes: Uint8Array): UpdateManifest {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw invalidPatchLog('update.json is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw invalidPatchLog(`update.json is not valid JSON: ${(e as Error).message}`);
  }
  const r = checkManifest(value);
  if (!r.ok) throw invalidPatchLog(`update.json: ${r.problems.join('; ')}`);
  return r.manifest;
}

/** The manifest as update.json text (modes as octal strings), stable key order, final newline. */
export function manifestToJson(m: UpdateManifest): string {
  const out: Record<string, unknown> = {
    uuid: m.uuid, name_label: m.name_label, name_description: m.name_description, version: m.version,
    after_apply_guidance: m.after_apply_guidance, installation_size: m.installation_size,
    requires: m.requires, conflicts: m.conflicts,
  };
  if (m.applies_to) out.applies_to = m.applies_to;
  if (Object.keys(m.other_config).length) out.other_config = m.other_config;
  out.files = m.files.map((f) => ({
    path: f.path, sha256: f.sha256, mode: f.mode.toString(8).padStart(4, '0'),
    ...(f.size !== undefined ? { size: f.size } : {}),
  }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Compares dotted numeric versions component by component; missing components count as 0. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Whether an update is meant for this product and version (true when it says nothing). */
export function appliesToProduct(m: UpdateManifest, product: string, version: string): boolean {
  const a = m.applies_to;
  if (!a) return true;
  if (a.product !== product) return false;
  if (!PRODUCT_VERSION_RE.test(version)) return false;
  if (a.min !== undefined && compareVersions(version, a.min) < 0) return false;
  if (a.max !== undefined && compareVersions(version, a.max) > 0) return false;
  return true;
}
