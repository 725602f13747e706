/**
 * @module
 * The NetApp SR's side of the array: one FlexVol per SR, one LUN per VDI, with the
 * provisioning rules that keep thin thin (the lesson of the XS602E006 hotfix): a thin
 * volume is `guarantee none`, `fractional_reserve 0`, `snapshot.reserve_percent 0`,
 * snapshot policy `none`, autosize `grow` with a maximum; a thin LUN is
 * `space.guarantee.requested false`. Each is set explicitly on every volume create, every
 * LUN create and every LUN clone (a clone inherits its source's reservation unless told),
 * then read back from the array; a mismatch is an error and what was half made is removed.
 *
 * The volume is sized from the LUNs it holds as trident sizes it (their total ÷ (1 − the
 * snapshot reserve) × 1.1 for LUN metadata), grown before a LUN is added that would not
 * fit, so autosize is a safety net and never the plan.
 */
import type { ProvisionType } from '../array/array-probe-xml.js';
import { netappError } from './netapp-errors.js';
import type { OntapRestClient } from './ontap-rest-client.js';

const MiB = 1024 * 1024;
const MIN_VOLUME = 32 * MiB;
const METADATA_MULTIPLIER = 1.1;

export interface VolumeRec {
  uuid: string;
  name: string;
  size: number;
  comment?: string;
  aggregates: { name: string; uuid: string }[];
  guarantee: { type: string };
  space: { used: number; available: number; footprint?: number; fractional_reserve?: number; snapshot: { reserve_percent: number; used?: number } };
  autosize: { mode: string; maximum: number };
  snapshot_policy: { name: string };
}

export interface LunRec {
  uuid: string;
  name: string;
  serial_number: string;
  comment?: string;
  location: { logical_unit: string; volume: { name: string; uuid: string } };
  create_time?: string;
  space: { size: number; used: number; guarantee: { requested: boolean; reserved: boolean } };
}

const VOLUME_FIELDS = 'uuid,name,size,comment,aggregates,guarantee,space,autosize,snapshot_policy';
const LUN_FIELDS = 'uuid,name,serial_number,comment,location,space,create_time';

/** The volume settings a provisioning type means. */
export function volumeSettings(p: ProvisionType): { guarantee: string; fractionalReserve: number } {
  return p === 'thin' ? { guarantee: 'none', fractionalReserve: 0 } : { guarantee: 'volume', fractionalReserve: 100 };
}

/** trident's rule: what the LUNs need ÷ (1 − snapshot reserve) × the metadata margin. */
export function volumeSizeFor(lunBytes: number, reservePercent = 0): number {
  const raw = Math.ceil(((lunBytes / (1 - reservePercent / 100)) * METADATA_MULTIPLIER) / 4096) * 4096;
  return Math.max(MIN_VOLUME, raw);
}

export class NetappVolume {
  constructor(private readonly client: OntapRestClient, readonly svm: string, readonly name: string, readonly provision: ProvisionType) {}

  get path(): string {
    return `/vol/${this.name}`;
  }

  static async find(client: OntapRestClient, name: string): Promise<VolumeRec | undefined> {
    const [v] = await client.list<VolumeRec>('/api/storage/volumes', { name, fields: VOLUME_FIELDS });
    return v;
  }

  /** Creates the FlexVol with every setting given explicitly, then checks them. */
  static async create(client: OntapRestClient, o: { svm: string; name: string; aggregate: string; provision: ProvisionType; comment: string; dedup: boolean }): Promise<NetappVolume> {
    const s = volumeSettings(o.provision);
    const size = volumeSizeFor(0);
    await client.post('/api/storage/volumes', {
      name: o.name, svm: { name: o.svm }, aggregates: [{ name: o.aggregate }], size, comment: o.comment,
      guarantee: { type: s.guarantee },
      space: { snapshot: { reserve_percent: 0 }, fractional_reserve: s.fractionalReserve },
      snapshot_policy: { name: 'none' },
      autosize: { mode: 'grow', maximum: Math.ceil(size * 1.2) },
      ...(o.dedup ? { efficiency: { dedupe: 'background' } } : {}),
    });
    const vol = new NetappVolume(client, o.svm, o.name, o.provision);
    await vol.check();
    return vol;
  }

  async record(): Promise<VolumeRec> {
    const v = await NetappVolume.find(this.client, this.name);
    if (!v) throw netappError('VolNotFound', `FlexVol ${this.name} is no longer on the array`);
    return v;
  }

  /** Reads the volume back; any setting the array did not keep is an error. */
  async check(): Promise<VolumeRec> {
    const v = await this.record();
    const s = volumeSettings(this.provision);
    const wrong: string[] = [];
    if (v.guarantee.type !== s.guarantee) wrong.push(`guarantee ${v.guarantee.type} (wanted ${s.guarantee})`);
    if ((v.space.fractional_reserve ?? -1) !== s.fractionalReserve) wrong.push(`fractional_reserve ${String(v.space.fractional_reserve)} (wanted ${s.fractionalReserve})`);
    if (v.space.snapshot.reserve_percent !== 0) wrong.push(`snapshot reserve ${v.space.snapshot.reserve_percent}% (wanted 0)`);
    if (v.snapshot_policy.name !== 'none') wrong.push(`snapshot policy ${v.snapshot_policy.name} (wanted none)`);
    if (v.autosize.mode !== 'grow') wrong.push(`autosize ${v.autosize.mode} (wanted grow)`);
    if (!(v.autosize.maximum >= v.size)) wrong.push(`autosize maximum ${v.autosize.maximum} below the size ${v.size}`);
    if (wrong.length > 0) throw netappError('SRUnavailable', `FlexVol ${this.name} is not provisioned ${this.provision} as asked: ${wrong.join(', ')}`);
    return v;
  }

  /** Sets the provisioning settings again (after someone changed them on the array), then checks. */
  async enforce(): Promise<VolumeRec> {
    const s = volumeSettings(this.provision);
    const v = await this.record();
    await this.client.patch(`/api/storage/volumes/${v.uuid}`, {
      guarantee: { type: s.guarantee },
      space: { snapshot: { reserve_percent: 0 }, fractional_reserve: s.fractionalReserve },
      snapshot_policy: { name: 'none' },
      autosize: { mode: 'grow', maximum: Math.max(v.autosize.maximum, Math.ceil(v.size * 1.2)) },
    });
    return this.check();
  }

  async luns(): Promise<LunRec[]> {
    return this.client.list<LunRec>('/api/storage/luns', { 'location.volume.name': this.name, fields: LUN_FIELDS });
  }

  async lun(name: string): Promise<LunRec | undefined> {
    const [l] = await this.client.list<LunRec>('/api/storage/luns', { name: `${this.path}/${name}`, fields: LUN_FIELDS });
    return l;
  }

  /** What the LUNs need: thin counts every LUN's size; thick counts the reserved ones and room for the largest unreserved. */
  private needed(luns: readonly { size: number; reserved: boolean }[]): number {
    if (this.provision === 'thin') return luns.reduce((n, l) => n + l.size, 0);
    const reserved = luns.filter((l) => l.reserved).reduce((n, l) => n + l.size, 0);
    const largest = Math.max(0, ...luns.filter((l) => !l.reserved).map((l) => l.size));
    return reserved + largest;
  }

  /** Grows the volume so that `adding` fits beside what is there. Returns the old size (to undo). */
  async growFor(adding: { size: number; reserved: boolean }): Promise<number> {
    const v = await this.record();
    const present = (await this.luns()).map((l) => ({ size: l.space.size, reserved: l.space.guarantee.requested }));
    const want = volumeSizeFor(this.needed([...present, adding]));
    if (want > v.size) await this.resize(v, want);
    return v.size;
  }

  /** Shrinks back to what the LUNs need (after a LUN went, or to undo a grow), never below what is used. */
  async fit(): Promise<void> {
    const v = await this.record();
    const present = (await this.luns()).map((l) => ({ size: l.space.size, reserved: l.space.guarantee.requested }));
    const want = Math.max(volumeSizeFor(this.needed(present)), Math.ceil((v.space.used * 1.05) / 4096) * 4096);
    if (want < v.size) await this.resize(v, want).catch(() => undefined);
  }

  private async resize(v: VolumeRec, size: number): Promise<void> {
    await this.client.patch(`/api/storage/volumes/${v.uuid}`, { size, autosize: { mode: 'grow', maximum: Math.ceil(size * 1.2) } });
  }

  /** A new LUN with its reservation given explicitly and read back. */
  async createLun(name: string, size: number, reserved: boolean, comment: string): Promise<LunRec> {
    await this.client.post('/api/storage/luns', {
      svm: { name: this.svm }, name: `${this.path}/${name}`, os_type: 'xen', comment,
      space: { size, guarantee: { requested: reserved }, scsi_thin_provisioning_support_enabled: !reserved },
    });
    return this.checkLun(name, reserved);
  }

  /** A FlexClone LUN of `source` in this volume, its reservation given explicitly and read back. */
  async cloneLun(source: string, name: string, reserved: boolean, comment: string): Promise<LunRec> {
    await this.client.post('/api/storage/luns', {
      svm: { name: this.svm }, name: `${this.path}/${name}`, comment,
      clone: { source: { name: `${this.path}/${source}` } },
      space: { guarantee: { requested: reserved }, scsi_thin_provisioning_support_enabled: !reserved },
    });
    return this.checkLun(name, reserved);
  }

  /** Reads a LUN's reservation back; a mismatch removes the LUN and is an error. */
  private async checkLun(name: string, reserved: boolean): Promise<LunRec> {
    const l = await this.lun(name);
    if (!l) throw netappError('VDICreate', `LUN ${this.path}/${name} is not on the array after it was created`);
    const g = l.space.guarantee;
    const honoured = this.provision === 'thick' ? reserved : false;
    if (g.requested !== reserved || g.reserved !== honoured) {
      await this.deleteLun(l).catch(() => undefined);
      throw netappError('VDICreate', `LUN ${l.name} is not provisioned as asked: space reservation requested=${g.requested} reserved=${g.reserved} (wanted requested=${reserved} reserved=${honoured})`);
    }
    return l;
  }

  async resizeLun(l: LunRec, size: number): Promise<void> {
    await this.client.patch(`/api/storage/luns/${l.uuid}`, { space: { size } });
  }

  async deleteLun(l: LunRec): Promise<void> {
    await this.client.delete(`/api/storage/luns/${l.uuid}`, { allow_delete_while_mapped: true });
  }
}
