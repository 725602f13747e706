/**
 * @module
 * Host access to the SR's LUNs: one igroup per host (holding the host's IQN), a LUN map
 * made when a VDI is activated on that host and removed when it is deactivated, and the
 * SVM's iSCSI portal and target name, read from the array (never configured by hand).
 */
import { createHash } from 'node:crypto';
import type { LunRec } from './netapp-array.js';
import { OntapApiError, type OntapRestClient } from './ontap-rest-client.js';

export interface IscsiPortal {
  readonly portal: string;
  readonly targetIqn: string;
}

export function igroupName(iqn: string): string {
  return `islet_${createHash('sha256').update(iqn).digest('hex').slice(0, 24)}`;
}

export class NetappSan {
  private portalCache?: IscsiPortal;

  constructor(private readonly client: OntapRestClient, private readonly svm: string) {}

  /** The host's igroup, made on first use. */
  async igroupFor(iqn: string): Promise<{ uuid: string; name: string }> {
    const name = igroupName(iqn);
    const [have] = await this.client.list<{ uuid: string; name: string; initiators?: { name: string }[] }>('/api/protocols/san/igroups', { name, fields: 'uuid,name,initiators' });
    if (have) {
      if (!have.initiators?.some((i) => i.name === iqn)) await this.client.post(`/api/protocols/san/igroups/${have.uuid}/initiators`, { records: [{ name: iqn }] });
      return have;
    }
    try {
      await this.client.post('/api/protocols/san/igroups', { svm: { name: this.svm }, name, protocol: 'iscsi', os_type: 'xen', initiators: [{ name: iqn }], comment: `Islet host ${iqn}` });
    } catch (e) {
      if (!(e instanceof OntapApiError && e.code === '5374023')) throw e; // made meanwhile by another call
    }
    const [made] = await this.client.list<{ uuid: string; name: string }>('/api/protocols/san/igroups', { name, fields: 'uuid,name' });
    if (!made) throw new Error(`igroup ${name} is not on the array after it was created`);
    return made;
  }

  /** Maps the LUN to the igroup (once) and returns its logical unit number. */
  async map(lun: LunRec, igroup: { uuid: string; name: string }): Promise<number> {
    try {
      await this.client.post('/api/protocols/san/lun-maps', { svm: { name: this.svm }, lun: { uuid: lun.uuid }, igroup: { uuid: igroup.uuid } });
    } catch (e) {
      if (!(e instanceof OntapApiError && e.code === '1254207')) throw e; // already mapped
    }
    const [m] = await this.client.list<{ logical_unit_number: number }>('/api/protocols/san/lun-maps', { 'lun.uuid': lun.uuid, 'igroup.uuid': igroup.uuid, fields: 'logical_unit_number' });
    if (m === undefined) throw new Error(`LUN ${lun.name} is not mapped to ${igroup.name} after mapping it`);
    return m.logical_unit_number;
  }

  async unmap(lunUuid: string, igroupUuid: string): Promise<void> {
    try {
      await this.client.delete(`/api/protocols/san/lun-maps/${lunUuid}/${igroupUuid}`);
    } catch (e) {
      if (!(e instanceof OntapApiError && (e.status === 404 || e.code === '5374875'))) throw e;
    }
  }

  /** The SVM's iSCSI LIF and target name. */
  async portal(): Promise<IscsiPortal> {
    if (this.portalCache) return this.portalCache;
    const [svc] = await this.client.list<{ target: { name: string }; enabled: boolean }>('/api/protocols/san/iscsi/services', { 'svm.name': this.svm, fields: 'target,enabled' });
    if (!svc?.enabled) throw new Error(`the SVM ${this.svm} has no iSCSI service running`);
    const lifs = await this.client.list<{ ip: { address: string }; state?: string; islet_iscsi_port?: number }>('/api/network/ip/interfaces', { services: 'data_iscsi', 'svm.name': this.svm, fields: 'ip,state,services' });
    const lif = lifs.find((l) => l.state !== 'down') ?? lifs[0];
    if (!lif) throw new Error(`the SVM ${this.svm} has no iSCSI interface`);
    const host = lif.ip.address.includes(':') ? `[${lif.ip.address}]` : lif.ip.address;
    this.portalCache = { portal: `${host}:${lif.islet_iscsi_port ?? 3260}`, targetIqn: svc.target.name };
    return this.portalCache;
  }
}
