/**
 * @module
 * What the keys and values of a protection policy's maps may be, and how a map is checked
 * and completed when the field it depends on changes, as xapi 6.0.2 checked them. Each map
 * has variants named by the value of the field it depends on (a daily backup schedule has
 * `hour` and `min`, a weekly one also `days`); a map set on its own is checked against the
 * keys of every variant, since the frequency may change after it (clients set the map
 * and the frequency one call at a time).
 */
import { ApiError } from '../../core/api-error.js';

type Rule =
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'enumSet'; readonly values: readonly string[] }
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'text' };

/** A key's rule and the value it gets when a change of frequency makes it needed. */
type KeyRules = Readonly<Record<string, readonly [Rule, string]>>;
type Variants = Readonly<Record<string, KeyRules>>;
export type StrMap = Record<string, string>;

export const WEEK_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
const minute: readonly [Rule, string] = [{ kind: 'enum', values: ['0', '15', '30', '45'] }, '0'];
const hour: readonly [Rule, string] = [{ kind: 'range', min: 0, max: 23 }, '0'];
const days: readonly [Rule, string] = [{ kind: 'enumSet', values: WEEK_DAYS }, 'Monday'];
const text: readonly [Rule, string] = [{ kind: 'text' }, ''];

const dailyKeys: KeyRules = { hour, min: minute };
const weeklyKeys: KeyRules = { hour, min: minute, days };

/** The four checked maps, by the name xapi's errors give them. */
export const MAPS = {
  backup_schedule: { name: 'backup-schedule', variants: { hourly: { min: minute }, daily: dailyKeys, weekly: weeklyKeys } as Variants },
  archive_schedule: { name: 'archive-schedule', variants: { daily: dailyKeys, weekly: weeklyKeys } as Variants },
  archive_target_config: {
    name: 'archive-target-config',
    variants: { cifs: { location: text, username: text, password: text }, nfs: { location: text } } as Variants,
  },
  alarm_config: {
    name: 'alarm-config',
    variants: { true: { email_address: text, smtp_server: text, smtp_port: [{ kind: 'range', min: 1, max: 65535 }, '25'] } } as Variants,
  },
} as const;
export type CheckedMap = keyof typeof MAPS;

function invalid(map: string, key: string, value: string): never {
  throw new ApiError('INVALID_VALUE', [key ? `${map}:${key}` : map, value]);
}

/** The value in its canonical spelling (enums match whatever the case), or INVALID_VALUE. */
function checkValue(map: string, key: string, rule: Rule, value: string): string {
  const pick = (v: string, values: readonly string[]) => values.find((x) => x.toLowerCase() === v.toLowerCase()) ?? invalid(map, key, v);
  switch (rule.kind) {
    case 'enum': return pick(value, rule.values);
    case 'enumSet': return value.split(',').map((v) => pick(v, rule.values)).join(',');
    case 'range': {
      const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!(n >= rule.min && n <= rule.max)) invalid(map, key, value);
      return value;
    }
    default: return value;
  }
}

/** The keys of one variant, or of all of them together for `variant === undefined`. */
function keysOf(map: CheckedMap, variant: string | undefined): KeyRules | undefined {
  const variants = MAPS[map].variants;
  if (variant !== undefined) return variants[variant];
  return Object.assign({}, ...Object.values(variants)) as KeyRules;
}

function checkEach(map: CheckedMap, keys: KeyRules, value: StrMap): StrMap {
  const out: StrMap = {};
  for (const [k, v] of Object.entries(value)) {
    const rule = keys[k];
    out[k] = rule ? checkValue(MAPS[map].name, k, rule[0], v) : invalid(MAPS[map].name, k, v);
  }
  return out;
}

/**
 * `value` laid over `current`, each key checked against the variant's keys (every
 * variant's when none is named). A variant the map does not have (an archive schedule
 * for `never`) checks nothing and gives an empty map.
 */
export function checkKeys(map: CheckedMap, variant: string | undefined, value: StrMap, current: StrMap): StrMap {
  const keys = keysOf(map, variant);
  return keys ? checkEach(map, keys, { ...current, ...value }) : {};
}

/**
 * The map as the variant needs it: `value` over `current`, missing keys given their
 * defaults, keys the variant does not use dropped, and every value checked.
 */
export function completeKeys(map: CheckedMap, variant: string, value: StrMap, current: StrMap): StrMap {
  const keys = keysOf(map, variant);
  if (!keys) return {};
  const merged = { ...current, ...value };
  const needed: StrMap = {};
  for (const [k, [, dflt]] of Object.entries(keys)) needed[k] = merged[k] ?? dflt;
  return checkEach(map, keys, needed);
}

const FREQUENCY_ORDER = ['hourly', 'daily', 'weekly'];

/** Archiving cannot be scheduled more often than backing up (never and after-each-backup compare with nothing). */
export function assertArchiveNotMoreFrequent(archive: string, backup: string): void {
  const a = FREQUENCY_ORDER.indexOf(archive);
  const b = FREQUENCY_ORDER.indexOf(backup);
  if (a >= 0 && b >= 0 && a < b) throw new ApiError('VMPP_ARCHIVE_MORE_FREQUENT_THAN_BACKUP', []);
}

export function assertRetention(value: number): void {
  if (!(value >= 1 && value <= 10)) throw new ApiError('INVALID_VALUE', ['backup_retention_value', String(value)]);
}

/**
 * The archive target settings and schedule an archive frequency leaves: with no target
 * only `never` is allowed; after each backup needs a complete target; a daily or weekly
 * archive needs a complete target and schedule.
 */
export function forArchiveFrequency(frequency: string, targetType: string, target: StrMap, schedule: StrMap): { target: StrMap; schedule: StrMap } {
  if (targetType === 'none') {
    if (frequency !== 'never') throw new ApiError('INVALID_VALUE', ['archive_target_type', targetType]);
    return { target: {}, schedule: {} };
  }
  if (frequency === 'never') return { target, schedule: {} };
  const completeTarget = completeKeys('archive_target_config', targetType, target, target);
  if (frequency === 'always_after_backup') return { target: completeTarget, schedule: {} };
  return { target: completeTarget, schedule: completeKeys('archive_schedule', frequency, schedule, schedule) };
}
