/**
 * @module
 * What array SRs (Integrated StorageLink style: `netapp`, `equallogic`) share about their
 * device configuration and SR.probe answers. `provision-type` is `thin` or `thick`
 * (XenCenter also sends `THIN`/`THICK`, and old bridges `FULL` for thick). Probing walks
 * what the array offers as XenServer's iSL did: storage systems first
 * (`csl__storageSystemInfo`), then, with a `storageSystemId`, their pools
 * (`csl__storagePoolInfo` with sizes in MiB and the provisioning types), then, with a
 * `storagePoolId`, the SRs already there (`<SRlist>`), each in the element names XenCenter
 * reads.
 */
import { StorageValueError } from '../../core/ports/storage-errors.js';

export type ProvisionType = 'thin' | 'thick';

/** `thin` (the default), `thick`; anything else is refused with a clear error. */
export function parseProvisionType(v: string | undefined): ProvisionType {
  if (v === undefined || v === '') return 'thin';
  const t = v.trim().toLowerCase();
  if (t === 'thin') return 'thin';
  if (t === 'thick' || t === 'full') return 'thick';
  throw new StorageValueError('device-config:provision-type', v);
}

export interface StorageSystemInfo {
  readonly storageSystemId: string;
  readonly displayName: string;
  readonly serial: string;
  readonly model: string;
  readonly firmware: string;
  readonly capabilities: readonly string[];
  readonly protocols: readonly string[];
}

export interface StoragePoolInfo {
  readonly storagePoolId: string;
  readonly displayName: string;
  readonly storageSystemId: string;
  readonly sizeBytes: number;
  readonly freeBytes: number;
  readonly provisioningTypes: readonly ('THIN' | 'THICK')[];
  readonly raidType?: string;
}

export interface ExistingArraySr {
  readonly uuid: string;
  readonly nameLabel?: string;
  readonly sizeBytes: number;
  readonly volume: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const el = (name: string, value: string | number, indent: string): string => `${indent}<${name}>${esc(String(value))}</${name}>\n`;

export function storageSystemsXml(systems: readonly StorageSystemInfo[]): string {
  let out = '<?xml version="1.0" ?>\n<csl__storageSystemInfoList>\n';
  for (const s of systems) {
    out += '\t<csl__storageSystemInfo>\n';
    out += el('storageSystemId', s.storageSystemId, '\t\t') + el('displayName', s.displayName, '\t\t') + el('friendlyName', s.displayName, '\t\t');
    out += el('serialNum', s.serial, '\t\t') + el('model', s.model, '\t\t') + el('firmwareVersion', s.firmware, '\t\t');
    out += '\t\t<systemCapabilities>\n' + s.capabilities.map((c) => el('capabilities', c, '\t\t\t')).join('') + '\t\t</systemCapabilities>\n';
    out += '\t\t<protocolSupport>\n' + s.protocols.map((c) => el('capabilities', c, '\t\t\t')).join('') + '\t\t</protocolSupport>\n';
    out += '\t</csl__storageSystemInfo>\n';
  }
  return `${out}</csl__storageSystemInfoList>\n`;
}

export function storagePoolsXml(pools: readonly StoragePoolInfo[]): string {
  const MiB = 1024 * 1024;
  let out = '<?xml version="1.0" ?>\n<csl__storagePoolInfoList>\n';
  for (const p of pools) {
    out += '\t<csl__storagePoolInfo>\n';
    out += el('storagePoolId', p.storagePoolId, '\t\t') + el('displayName', p.displayName, '\t\t') + el('storageSystemId', p.storageSystemId, '\t\t');
    out += el('sizeInMB', Math.floor(p.sizeBytes / MiB), '\t\t') + el('freeSpaceInMB', Math.floor(p.freeBytes / MiB), '\t\t');
    out += '\t\t<provisioningOptions>\n\t\t\t<supportedRaidTypes>\n' + el('raidType', p.raidType ?? 'RAID_DP', '\t\t\t\t') + '\t\t\t</supportedRaidTypes>\n';
    out += '\t\t\t<supportedProvisioningTypes>\n' + p.provisioningTypes.map((t) => el('provisioningType', t, '\t\t\t\t')).join('') + '\t\t\t</supportedProvisioningTypes>\n\t\t</provisioningOptions>\n';
    out += '\t</csl__storagePoolInfo>\n';
  }
  return `${out}</csl__storagePoolInfoList>\n`;
}

/** The SRs found, as every SR type's probe lists them. */
export function srListXml(srs: readonly ExistingArraySr[]): string {
  let out = '<?xml version="1.0" ?>\n<SRlist>\n';
  for (const s of srs) {
    out += '\t<SR>\n' + el('UUID', s.uuid, '\t\t') + el('Size', s.sizeBytes, '\t\t') + el('Volume', s.volume, '\t\t');
    if (s.nameLabel !== undefined) out += el('name_label', s.nameLabel, '\t\t');
    out += '\t</SR>\n';
  }
  return `${out}</SRlist>\n`;
}
