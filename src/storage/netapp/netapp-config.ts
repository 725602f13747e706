/**
 * @module
 * The `netapp` SR's device configuration, with Integrated StorageLink's keys: `target`
 * (the array's management address), `port` (443), `username`, `password` (or
 * `password_secret`, resolved to `password` by the toolstack before the driver sees it),
 * `storageSystemId` (the array's identity, `NETAPP__LUN__<system id in hex>`),
 * `storagePoolId` (the aggregate), `protocol` (`iscsi`), `chapuser`/`chappassword`,
 * `provision-type` (`thin`|`thick`), `provision-options` (`dedup`), plus Islet's optional
 * `volume` (the FlexVol to create, named from the SR uuid by default), `svm` and
 * `sslfingerprint` (the array certificate's SHA-256 fingerprint to pin).
 */
import { parseProvisionType, type ProvisionType } from '../array/array-probe-xml.js';
import { netappError } from './netapp-errors.js';
import type { OntapConnection } from './ontap-rest-client.js';
import { StorageValueError } from '../../core/ports/storage-errors.js';

export interface NetappConfig {
  readonly connection: OntapConnection;
  readonly storageSystemId?: string;
  readonly storagePoolId?: string;
  readonly provision: ProvisionType;
  readonly dedup: boolean;
  readonly chap?: { readonly user: string; readonly secret: string };
  readonly volume?: string;
  readonly svm?: string;
}

type Dc = Readonly<Record<string, string>>;

/** The connection part alone (probe needs nothing else). */
export function parseConnection(dc: Dc): OntapConnection {
  const target = dc.target?.trim();
  if (!target) throw netappError('ConfigTargetMissing');
  if (!/^[A-Za-z0-9.:[\]_-]{1,253}$/.test(target)) throw new StorageValueError('device-config:target', target);
  const port = dc.port === undefined || dc.port === '' ? 443 : Number(dc.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StorageValueError('device-config:port', dc.port ?? '');
  if (!dc.username) throw netappError('InvalidArg', 'device-config:username is required');
  if (dc.password === undefined) {
    throw netappError('InvalidArg', dc.password_secret !== undefined ? 'device-config:password_secret could not be resolved' : 'device-config:password (or password_secret) is required');
  }
  const fingerprint = dc.sslfingerprint?.trim();
  if (fingerprint !== undefined && !/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/.test(fingerprint)) throw new StorageValueError('device-config:sslfingerprint', fingerprint);
  return { host: target.replace(/^\[|\]$/g, ''), port, username: dc.username, password: dc.password, ...(fingerprint ? { fingerprint } : {}) };
}

export function parseNetappConfig(dc: Dc): NetappConfig {
  const connection = parseConnection(dc);
  const protocol = (dc.protocol ?? 'iscsi').toLowerCase();
  if (protocol !== 'iscsi') throw netappError('InvalidArg', `device-config:protocol ${protocol} is not supported (iscsi only)`);
  const options = (dc['provision-options'] ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const o of options) if (o !== 'dedup') throw new StorageValueError('device-config:provision-options', dc['provision-options'] ?? '');
  if ((dc.chapuser === undefined) !== (dc.chappassword === undefined)) throw netappError('InvalidArg', 'device-config:chapuser and chappassword go together');
  const volume = dc.volume?.trim();
  if (volume !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,202}$/.test(volume)) throw new StorageValueError('device-config:volume', volume);
  return {
    connection,
    ...(dc.storageSystemId ? { storageSystemId: dc.storageSystemId.trim() } : {}),
    ...(dc.storagePoolId ? { storagePoolId: dc.storagePoolId.trim() } : {}),
    provision: parseProvisionType(dc['provision-type']),
    dedup: options.includes('dedup'),
    ...(dc.chapuser !== undefined ? { chap: { user: dc.chapuser, secret: dc.chappassword! } } : {}),
    ...(volume ? { volume } : {}),
    ...(dc.svm ? { svm: dc.svm } : {}),
  };
}

/** iSL's identity of a NetApp system: `NETAPP__LUN__` + the system id in 8 hex digits. */
export function storageSystemIdOf(systemId: string): string {
  const n = Number(systemId);
  const hex = Number.isSafeInteger(n) ? n.toString(16).toUpperCase().padStart(8, '0') : systemId;
  return `NETAPP__LUN__${hex}`;
}

/** The FlexVol of an SR when the device config names none. */
export function defaultVolumeName(srUuid: string): string {
  return `islet_${srUuid.replace(/-/g, '_')}`;
}
