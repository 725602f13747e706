/**
 * @module
 * The `netapp` SR type, in the manner of XenServer's Integrated StorageLink NetApp
 * adapter, over ONTAP's REST API: one FlexVol per SR (named from the SR uuid, its comment
 * carrying the uuid), one LUN per VDI, hosts reaching LUNs over iSCSI through per-host
 * igroups. The SR is identified by what the array says about itself — its system id
 * (`storageSystemId`), the aggregate and the volume — never by the address in `target`,
 * so re-attaching after the array's address changed works, and a different array is
 * refused with a clear error.
 *
 * Create, destroy and probe leave nothing half made: a volume whose settings the array
 * did not keep is removed again, and bad credentials, an unknown aggregate or an
 * unreachable array fail before anything is made.
 */
import type { AttachedSr, ProbeResult, SmDescription, SrDriver, SrStat } from '../../core/ports/sr-driver.js';
import { ARRAY_CONFIGURATION, ARRAY_FEATURES } from '../array/array-sm.js';
import { storagePoolsXml, storageSystemsXml, srListXml } from '../array/array-probe-xml.js';
import { checkFirmware, type FirmwarePolicy } from '../array/firmware-version.js';
import { LEGACY_FLEXVOL, isLegacySr } from '../array/legacy-storagelink.js';
import type { IscsiInitiator } from '../../core/ports/iscsi-initiator.js';
import { NetappAttachedSr } from './netapp-attached-sr.js';
import { NetappVolume, type VolumeRec } from './netapp-array.js';
import { defaultVolumeName, parseConnection, parseNetappConfig, storageSystemIdOf, type NetappConfig } from './netapp-config.js';
import { netappError, onArray } from './netapp-errors.js';
import { OntapRestClient } from './ontap-rest-client.js';
import { ISLET_DRIVER } from '../islet-sm.js';

/** ONTAP's REST API with the fields Islet uses: 9.10.1 and later; 9.16.1 the newest tested. */
export const ONTAP_RELEASES: FirmwarePolicy = { product: 'ONTAP', oldestSupported: '9.10.1', newestTested: '9.16.1' };

const SR_COMMENT = 'islet-sr:';

export interface ArrayIdentity {
  readonly storageSystemId: string;
  readonly systemId: string;
  readonly serial: string;
  readonly clusterName: string;
  readonly version: string;
  readonly svm: string;
  readonly warning?: string;
}

export interface NetappDriverOptions {
  /** Opens a LUN over iSCSI on this host (the `IscsiInitiator` port). */
  readonly initiator?: IscsiInitiator;
  /** This host's iSCSI initiator name (`host.other_config:iscsi_iqn`). */
  readonly initiatorIqn: () => string;
  readonly log?: (m: string) => void;
}

export class NetappSrDriver implements SrDriver {
  readonly type = 'netapp';
  readonly sm: SmDescription = {
    nameLabel: 'NetApp',
    nameDescription: 'SR driver for NetApp ONTAP arrays in the manner of Integrated StorageLink: a FlexVol per SR, a LUN per disk over iSCSI, snapshots and clones made by the array',
    ...ISLET_DRIVER,
    configuration: {
      ...ARRAY_CONFIGURATION,
      port: 'The ONTAP REST API\'s HTTPS port (443)',
      password_secret: 'The uuid of a secret holding the password, instead of password',
      protocol: 'iscsi (the only one)',
      'provision-options': 'dedup, for deduplication on the volume',
      volume: 'The FlexVol to create (named from the SR\'s uuid by default)',
      svm: 'The storage VM to use',
      sslfingerprint: 'The SHA-256 fingerprint of the array\'s certificate, to pin it',
    },
    features: ARRAY_FEATURES,
  };

  constructor(private readonly opts: NetappDriverOptions) {}

  /** Connects and learns who the array is; a wrong `storageSystemId` is refused. */
  async connect(cfg: Pick<NetappConfig, 'connection' | 'storageSystemId' | 'svm'>): Promise<{ client: OntapRestClient; id: ArrayIdentity }> {
    const client = new OntapRestClient(cfg.connection);
    try {
      const id = await onArray('SRUnavailable', `NetApp array at ${client.address}`, async () => {
        const cluster = await client.get<{ name: string; version: { full: string; generation: number; major: number; minor: number } }>('/api/cluster', { fields: 'name,version' });
        const [node] = await client.list<{ serial_number: string; system_id: string }>('/api/cluster/nodes', { fields: 'serial_number,system_id' });
        if (!node) throw netappError('SRUnavailable', 'the array reports no nodes');
        const version = `${cluster.version.generation}.${cluster.version.major}.${cluster.version.minor}`;
        const support = checkFirmware(version, ONTAP_RELEASES);
        if (!support.ok) throw netappError('SRUnavailable', support.reason);
        const svms = await client.list<{ name: string }>('/api/svm/svms', { fields: 'name' });
        const svm = cfg.svm ?? svms[0]?.name;
        if (!svm || !svms.some((s) => s.name === svm)) throw netappError('SRUnavailable', `the array has no SVM ${cfg.svm ?? ''}`.trim());
        return {
          storageSystemId: storageSystemIdOf(node.system_id), systemId: node.system_id, serial: node.serial_number,
          clusterName: cluster.name, version, svm, ...(support.warning ? { warning: support.warning } : {}),
        };
      });
      if (cfg.storageSystemId && cfg.storageSystemId !== id.storageSystemId) {
        throw netappError('SRUnavailable', `the array at ${client.address} is ${id.storageSystemId}, not the configured storageSystemId ${cfg.storageSystemId}`);
      }
      return { client, id };
    } catch (e) {
      client.close();
      throw e;
    }
  }

  async probe(deviceConfig: Readonly<Record<string, string>>): Promise<ProbeResult[]> {
    const cfg = parseNetappConfig(deviceConfig);
    const { client } = await this.connect(cfg);
    try {
      return (await this.existingSrs(client, cfg.storagePoolId)).map((v) => ({
        uuid: v.comment!.slice(SR_COMMENT.length),
        deviceConfig: { ...deviceConfig, storagePoolId: v.aggregates[0]?.name ?? '' },
        physicalSize: v.size,
        smConfig: { 'netapp-volume': v.name },
      }));
    } finally {
      client.close();
    }
  }

  /** XenServer's iSL probe answer: systems, then pools of a system, then the SRs in a pool. */
  async probeXml(deviceConfig: Readonly<Record<string, string>>): Promise<string> {
    const conn = parseConnection(deviceConfig);
    const { client, id } = await this.connect({ connection: conn, ...(deviceConfig.storageSystemId ? { storageSystemId: deviceConfig.storageSystemId } : {}) });
    try {
      if (!deviceConfig.storageSystemId) {
        return storageSystemsXml([{
          storageSystemId: id.storageSystemId, displayName: `${id.clusterName} (${id.serial})`, serial: id.serial, model: 'ONTAP', firmware: id.version,
          capabilities: ['SUPPORTS_CHAP', 'DEDUPLICATION', 'THIN_PROVISIONING', 'CLONE', 'SNAPSHOT'], protocols: ['ISCSI'],
        }]);
      }
      if (!deviceConfig.storagePoolId) {
        const aggrs = await onArray('SRScan', 'listing aggregates', () => client.list<{ name: string; space: { block_storage: { size: number; available: number } } }>('/api/storage/aggregates', { fields: 'name,space' }));
        return storagePoolsXml(aggrs.map((a) => ({
          storagePoolId: a.name, displayName: a.name, storageSystemId: id.storageSystemId,
          sizeBytes: a.space.block_storage.size, freeBytes: a.space.block_storage.available, provisioningTypes: ['THIN', 'THICK'],
        })));
      }
      await this.aggregate(client, deviceConfig.storagePoolId);
      const srs = await this.existingSrs(client, deviceConfig.storagePoolId);
      return srListXml(srs.map((v) => ({ uuid: v.comment!.slice(SR_COMMENT.length), sizeBytes: v.size, volume: v.name })));
    } finally {
      client.close();
    }
  }

  async create(srUuid: string, deviceConfig: Readonly<Record<string, string>>, _smConfig: Readonly<Record<string, string>>): Promise<SrStat> {
    const cfg = parseNetappConfig(deviceConfig);
    if (!cfg.storagePoolId) throw netappError('InvalidArg', 'device-config:storagePoolId (the aggregate) is required');
    const { client, id } = await this.connect(cfg);
    try {
      await this.aggregate(client, cfg.storagePoolId);
      const name = cfg.volume ?? defaultVolumeName(srUuid);
      const existing = await onArray('SRUnavailable', 'looking for the FlexVol', () => NetappVolume.find(client, name));
      if (existing) {
        throw netappError('SRExists', existing.comment?.startsWith(SR_COMMENT)
          ? `FlexVol ${name} already holds SR ${existing.comment.slice(SR_COMMENT.length)}`
          : `FlexVol ${name} already exists on the array and was not made by Islet`);
      }
      await onArray('SRUnavailable', `creating FlexVol ${name} in aggregate ${cfg.storagePoolId}`, async () => {
        try {
          await NetappVolume.create(client, { svm: id.svm, name, aggregate: cfg.storagePoolId!, provision: cfg.provision, comment: `${SR_COMMENT}${srUuid}`, dedup: cfg.dedup });
        } catch (e) {
          // Nothing half made: a volume the array made but did not set up as asked goes again.
          const made = await NetappVolume.find(client, name).catch(() => undefined);
          if (made) await client.delete(`/api/storage/volumes/${made.uuid}`).catch(() => undefined);
          throw e;
        }
      });
    } finally {
      client.close();
    }
    const sr = await this.attach(srUuid, deviceConfig);
    try {
      return await sr.stat();
    } finally {
      await sr.detach();
    }
  }

  async attach(srUuid: string, deviceConfig: Readonly<Record<string, string>>, smConfig: Readonly<Record<string, string>> = {}): Promise<AttachedSr> {
    const cfg = parseNetappConfig(deviceConfig);
    const { client, id } = await this.connect(cfg);
    try {
      const v = await this.srVolume(client, srUuid, cfg, isLegacySr(smConfig));
      if (cfg.storagePoolId && v.aggregates[0]?.name !== cfg.storagePoolId) {
        throw netappError('SRUnavailable', `SR ${srUuid} is in aggregate ${v.aggregates[0]?.name ?? '?'}, not ${cfg.storagePoolId}`);
      }
      const volume = new NetappVolume(client, id.svm, v.name, cfg.provision);
      // Settings someone changed on the array are set again and read back (never ignored).
      await onArray('SRUnavailable', `checking FlexVol ${v.name}`, () => volume.enforce());
      return new NetappAttachedSr({
        srUuid, client, id, volume, chap: cfg.chap, initiator: this.opts.initiator, initiatorIqn: this.opts.initiatorIqn,
        ...(this.opts.log ? { log: this.opts.log } : {}),
      });
    } catch (e) {
      client.close();
      throw e;
    }
  }

  async destroy(srUuid: string, deviceConfig: Readonly<Record<string, string>>): Promise<void> {
    const cfg = parseNetappConfig(deviceConfig);
    const { client } = await this.connect(cfg);
    try {
      const v = await this.srVolume(client, srUuid, cfg);
      await onArray('SRUnavailable', `destroying FlexVol ${v.name}`, async () => {
        const volume = new NetappVolume(client, '', v.name, cfg.provision);
        for (const l of await volume.luns()) await volume.deleteLun(l);
        await client.delete(`/api/storage/volumes/${v.uuid}`);
      });
    } finally {
      client.close();
    }
  }

  private async aggregate(client: OntapRestClient, name: string): Promise<void> {
    const aggrs = await onArray('SRUnavailable', 'listing aggregates', () => client.list<{ name: string }>('/api/storage/aggregates', { fields: 'name' }));
    if (!aggrs.some((a) => a.name === name)) {
      throw netappError('InvalidArg', `the array has no aggregate (storagePoolId) ${name}; it has ${aggrs.map((a) => a.name).join(', ') || 'none'}`);
    }
  }

  private async existingSrs(client: OntapRestClient, aggregate?: string): Promise<VolumeRec[]> {
    const vols = await onArray('SRScan', 'listing FlexVols', () => client.list<VolumeRec>('/api/storage/volumes', {
      comment: `${SR_COMMENT}*`, ...(aggregate ? { 'aggregates.name': aggregate } : {}), fields: 'uuid,name,size,comment,aggregates',
    }));
    return vols.filter((v) => v.comment?.startsWith(SR_COMMENT));
  }

  /**
   * The SR's FlexVol, found by the uuid in its comment (or by name) and checked by it. An
   * SR the StorageLink Gateway made has a FlexVol `<SR name>__<8 hex>` without that
   * comment: the one named by device-config:volume, or (for an SR whose record says it
   * came from the gateway) the only such volume in the aggregate, is taken over (its
   * comment set to this SR) on the first plug.
   */
  private async srVolume(client: OntapRestClient, srUuid: string, cfg: NetappConfig, legacySr = false): Promise<VolumeRec> {
    const marked = cfg.volume ? undefined : (await this.existingSrs(client)).find((x) => x.comment === `${SR_COMMENT}${srUuid}`);
    const name = marked?.name ?? cfg.volume ?? defaultVolumeName(srUuid);
    let v = marked ?? await onArray('SRUnavailable', `looking for FlexVol ${name}`, () => NetappVolume.find(client, name));
    if ((!v && legacySr) || (v && cfg.volume && !v.comment?.startsWith(SR_COMMENT) && LEGACY_FLEXVOL.test(v.name))) v = await this.legacyVolume(client, srUuid, cfg, v);
    if (!v) {
      const other = (await this.existingSrs(client, cfg.storagePoolId)).map((x) => x.comment!.slice(SR_COMMENT.length));
      throw netappError('SRUnavailable', `SR ${srUuid} is not on this array (FlexVol ${name} missing)${other.length ? `; it holds SR ${other.join(', ')}` : ''}`);
    }
    if (v.comment !== `${SR_COMMENT}${srUuid}`) {
      throw netappError('SRUnavailable', `FlexVol ${v.name} holds ${v.comment?.startsWith(SR_COMMENT) ? `SR ${v.comment.slice(SR_COMMENT.length)}` : 'no Islet SR'}, not SR ${srUuid}`);
    }
    return v;
  }

  /** Takes over the gateway's FlexVol of a legacy SR (see srVolume); undefined when there is none. */
  private async legacyVolume(client: OntapRestClient, srUuid: string, cfg: NetappConfig, named: VolumeRec | undefined): Promise<VolumeRec | undefined> {
    let v = named;
    if (!v) {
      const all = await onArray('SRUnavailable', 'listing FlexVols', () => client.list<VolumeRec>('/api/storage/volumes', {
        ...(cfg.storagePoolId ? { 'aggregates.name': cfg.storagePoolId } : {}), fields: 'uuid,name,size,comment,aggregates',
      }));
      const legacy = all.filter((x) => LEGACY_FLEXVOL.test(x.name) && !x.comment?.startsWith(SR_COMMENT));
      if (legacy.length > 1) {
        throw netappError('SRUnavailable', `SR ${srUuid} has no FlexVol of its own and ${legacy.length} StorageLink FlexVols could be it (${legacy.map((x) => x.name).join(', ')}): name one with device-config:volume`);
      }
      v = legacy[0];
    }
    if (!v || v.comment?.startsWith(SR_COMMENT)) return v;
    await onArray('SRUnavailable', `taking over StorageLink FlexVol ${v.name}`, () => client.patch(`/api/storage/volumes/${v!.uuid}`, { comment: `${SR_COMMENT}${srUuid}` }));
    return NetappVolume.find(client, v.name);
  }
}
