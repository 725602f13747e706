/**
 * @module
 * What an SR made by XenServer 5.6's StorageLink Gateway looks like on the array, read by
 * both array drivers so such an SR can be introduced and plugged as an Islet SR.
 *
 * NetApp (the layout the gateway used): one FlexVol per SR named `<SR name>__<8 hex>`,
 * one LUN per VDI named `<VDI uuid with _ for ->`, a snapshot of it `<uuid>_snapNN`, a
 * clone `<uuid>_cloneNN`. EqualLogic (Islet's equivalent, the gateway's own is not on
 * record): one volume per VDI named `xs-<first 8 hex of the SR uuid>-<VDI uuid>`, its
 * snapshots the group's snapshots of it named `<volume>-snapNN`, clones volumes named
 * `xs-<8 hex>-<uuid>-cloneNN`.
 *
 * What the gateway kept of the XenAPI record travels in the object's free-text field
 * (the LUN comment, the volume or snapshot description) as URL query text:
 * `uuid=<VDI uuid>&name=<name-label>&desc=<name-description>&time=<snapshot time>`, every
 * key optional. A VDI's uuid is, in order: the one stored there, the one in its name
 * (a disk, not a snapshot or clone), or one derived from the array's identity of the
 * object (system and LUN serial, or group and snapshot name), so it is the same on every
 * host and every scan.
 */
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_UNDERSCORED = '[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}';
const UUID_DASHED = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/**
 * An SR record the gateway's pool made: its sm_config keeps the gateway's address
 * (`cslg`). Only such an SR may take over gateway objects on the array that name no SR.
 */
export function isLegacySr(smConfig: Readonly<Record<string, string>> | undefined): boolean {
  return !!smConfig?.cslg;
}

/** A gateway FlexVol: `<SR name>__<8 hex>`. */
export const LEGACY_FLEXVOL = /^(.+)__([0-9a-f]{8})$/;

export type LegacyKind = 'disk' | 'snapshot' | 'clone';

/** What an array object's name says under the gateway's layout. */
export interface LegacyName {
  /** The uuid in the name: the disk's own, or (snapshot, clone) the disk it was taken of. */
  readonly baseUuid: string;
  readonly kind: LegacyKind;
  readonly index?: number;
}

/** What the gateway stored of the XenAPI record. */
export interface LegacyRecord {
  readonly uuid?: string;
  readonly nameLabel?: string;
  readonly nameDescription?: string;
  readonly snapshotTime?: string;
}

function kindOf(suffix: string | undefined, n: string | undefined): Pick<LegacyName, 'kind' | 'index'> {
  if (!suffix) return { kind: 'disk' };
  return { kind: suffix === 'snap' ? 'snapshot' : 'clone', index: Number(n) };
}

/** A NetApp LUN name (the last part of its path) under the gateway's layout. */
export function parseLegacyLunName(lun: string): LegacyName | undefined {
  const m = new RegExp(`^(${UUID_UNDERSCORED})(?:_(snap|clone)(\\d{2,}))?$`).exec(lun);
  if (!m) return undefined;
  return { baseUuid: m[1]!.replace(/_/g, '-'), ...kindOf(m[2], m[3]) };
}

/** The NetApp LUN name the gateway gave a VDI (and its snapshots and clones). */
export function legacyLunName(uuid: string, kind: LegacyKind = 'disk', index = 0): string {
  const base = uuid.replace(/-/g, '_');
  return kind === 'disk' ? base : `${base}_${kind === 'snapshot' ? 'snap' : 'clone'}${String(index).padStart(2, '0')}`;
}

/** The tag of an SR's volumes on an EqualLogic group: `xs-<first 8 hex of the SR uuid>-`. */
export function legacyEqlPrefix(srUuid: string): string {
  return `xs-${srUuid.slice(0, 8)}-`;
}

/** An EqualLogic volume name of this SR under Islet's equivalent of the gateway's layout. */
export function parseLegacyEqlVolume(srUuid: string, name: string): LegacyName | undefined {
  const prefix = legacyEqlPrefix(srUuid);
  if (!name.startsWith(prefix)) return undefined;
  const m = new RegExp(`^(${UUID_DASHED})(?:-(clone)(\\d{2,}))?$`).exec(name.slice(prefix.length));
  if (!m) return undefined;
  return { baseUuid: m[1]!, ...kindOf(m[2], m[3]) };
}

export function legacyEqlVolume(srUuid: string, uuid: string, cloneIndex?: number): string {
  return `${legacyEqlPrefix(srUuid)}${uuid}${cloneIndex === undefined ? '' : `-clone${String(cloneIndex).padStart(2, '0')}`}`;
}

/** The snapshot names the gateway gave snapshots of an EqualLogic volume: `<volume>-snapNN`. */
export function legacyEqlSnapshot(volume: string, index: number): string {
  return `${volume}-snap${String(index).padStart(2, '0')}`;
}

export function isLegacyEqlSnapshot(volume: string, snap: string): boolean {
  return snap.startsWith(`${volume}-snap`) && /^\d{2,}$/.test(snap.slice(volume.length + 5));
}

/** Reads the free-text field; text that is not the gateway's gives nothing. */
export function parseLegacyRecord(text: string | undefined): LegacyRecord {
  if (!text || !/(^|&)(uuid|name|desc|time)=/.test(text)) return {};
  const q = new URLSearchParams(text);
  const uuid = q.get('uuid')?.toLowerCase();
  const time = q.get('time');
  return {
    ...(uuid && UUID.test(uuid) ? { uuid } : {}),
    ...(q.has('name') ? { nameLabel: q.get('name')! } : {}),
    ...(q.has('desc') ? { nameDescription: q.get('desc')! } : {}),
    ...(time && /^\d{8}T\d{2}:\d{2}:\d{2}Z$/.test(time) ? { snapshotTime: time } : {}),
  };
}

export function formatLegacyRecord(r: LegacyRecord): string {
  const q = new URLSearchParams();
  if (r.uuid) q.set('uuid', r.uuid);
  if (r.nameLabel !== undefined) q.set('name', r.nameLabel);
  if (r.nameDescription !== undefined) q.set('desc', r.nameDescription);
  if (r.snapshotTime) q.set('time', r.snapshotTime);
  return q.toString();
}

/** A uuid derived from the array's identity of an object: the same wherever it is computed. */
export function derivedUuid(identity: string): string {
  const h = createHash('sha1').update(`islet-legacy:${identity}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The VDI uuid of a gateway object (see the module header for the order). */
export function legacyVdiUuid(name: LegacyName, rec: LegacyRecord, arrayIdentity: string): string {
  if (rec.uuid) return rec.uuid;
  if (name.kind === 'disk') return name.baseUuid;
  return derivedUuid(arrayIdentity);
}
