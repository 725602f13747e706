/**
 * @module
 * How an Islet SR lays itself out on an EqualLogic pool, all in names so that scan needs
 * nothing but the array: a metadata volume `islet-<SR uuid>` marks the SR (its
 * `md_svid`), each disk is a volume `islet-<first 8 hex of the SR uuid>-<VDI uuid>`, and
 * each snapshot of a disk is a snapshot of that volume named by the snapshot VDI's uuid.
 * A volume whose VDI was destroyed while snapshots still depend on it is kept, hidden,
 * with the description `islet:hidden`, until its last snapshot goes (on an EqualLogic,
 * deleting a volume deletes its snapshots).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const HIDDEN_MARK = 'islet:hidden';

export function isUuid(s: string): boolean {
  return UUID.test(s);
}

export function metadataVolume(srUuid: string): string {
  return `islet-${srUuid}`;
}

/** The SR uuid a metadata volume name carries, if it is one. */
export function srOfMetadataVolume(name: string): string | undefined {
  const m = /^islet-([0-9a-f-]{36})$/.exec(name);
  return m && isUuid(m[1]!) ? m[1] : undefined;
}

export function vdiVolume(srUuid: string, vdiUuid: string): string {
  return `islet-${srUuid.slice(0, 8)}-${vdiUuid}`;
}

/** The VDI uuid of a disk volume of this SR, if the name is one. */
export function vdiOfVolume(srUuid: string, name: string): string | undefined {
  const prefix = `islet-${srUuid.slice(0, 8)}-`;
  if (!name.startsWith(prefix)) return undefined;
  const u = name.slice(prefix.length);
  return isUuid(u) ? u : undefined;
}
