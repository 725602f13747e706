/**
 * @module
 * The `equallogic` SR driver (iSL's Dell EqualLogic adapter): an SR is one pool of one
 * EqualLogic group, reached over the Group Manager CLI (SSH) for management and iSCSI for
 * data. Its identity is the group name and the pool, never the address: after the group
 * moves, new PBDs with the new `target` attach the same SR, and a PBD that reaches
 * another group (or a pool without the SR) is refused with an error naming both.
 * The group's firmware is read as numbers: 5.0 and later work, a version newer than the
 * newest tested works too and the SR carries a warning (hotfix items 5 and 7).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IscsiInitiator } from '../../core/ports/iscsi-initiator.js';
import type { AttachedSr, ProbeResult, SmDescription, SrDriver, SrStat } from '../../core/ports/sr-driver.js';
import { ARRAY_CONFIGURATION, ARRAY_FEATURES } from '../array/array-sm.js';
import { arrayError, identityMismatch } from '../array/array-errors.js';
import { EQUALLOGIC_FIRMWARE, checkFirmware } from '../array/firmware-version.js';
import { EqlClient, type EqlGroupInfo } from './eql-client.js';
import { eqlIdentity, eqlSystemId, parseEqlDeviceConfig, type EqlDeviceConfig } from './eql-device-config.js';
import { asStorageError } from './eql-failures.js';
import { metadataVolume, srOfMetadataVolume, vdiOfVolume } from './eql-names.js';
import { isLegacySr, parseLegacyEqlVolume } from '../array/legacy-storagelink.js';
import { EqualLogicSr } from './equallogic-sr.js';
import { ISLET_DRIVER } from '../islet-sm.js';

export interface EqualLogicDriverOptions {
  readonly initiator: IscsiInitiator;
  /** This host's initiator name (`host.other_config:iscsi_iqn`). */
  readonly hostIqn: () => string;
  /** Where the driver remembers which group and pool each SR it has seen lives on. */
  readonly stateDir?: string;
  readonly timeoutMs?: number;
}

interface Reached {
  readonly client: EqlClient;
  readonly config: EqlDeviceConfig;
  readonly group: EqlGroupInfo;
  readonly identity: string;
  readonly warnings: string[];
}

export class EqualLogicSrDriver implements SrDriver {
  readonly type = 'equallogic';
  readonly sm: SmDescription = {
    nameLabel: 'Dell EqualLogic',
    nameDescription: 'SR driver for Dell EqualLogic groups in the manner of Integrated StorageLink: a volume per disk over iSCSI, snapshots and clones made by the group, driven through its Group Manager CLI',
    ...ISLET_DRIVER,
    configuration: {
      ...ARRAY_CONFIGURATION,
      target: 'The group address, where the Group Manager CLI and the iSCSI portal answer',
      port: 'The Group Manager CLI\'s SSH port (22)',
      iscsiport: 'The iSCSI portal\'s port (3260, or what the group reports)',
    },
    features: ARRAY_FEATURES,
  };
  private readonly known = new Map<string, string>();

  constructor(private readonly o: EqualLogicDriverOptions) {
    try {
      if (o.stateDir) for (const [k, v] of Object.entries(JSON.parse(readFileSync(this.stateFile()!, 'utf8')) as Record<string, string>)) this.known.set(k, v);
    } catch {
      // Nothing remembered yet.
    }
  }

  private stateFile(): string | undefined {
    return this.o.stateDir ? join(this.o.stateDir, 'equallogic-srs.json') : undefined;
  }

  private remember(srUuid: string, identity: string): void {
    if (this.known.get(srUuid) === identity) return;
    this.known.set(srUuid, identity);
    const file = this.stateFile();
    if (!file) return;
    mkdirSync(this.o.stateDir!, { recursive: true });
    writeFileSync(file, JSON.stringify(Object.fromEntries(this.known)));
  }

  /** Logs in, reads the group, checks firmware and the device config's storageSystemId. */
  private async reach(dc: Readonly<Record<string, string>>, srUuid?: string): Promise<Reached> {
    const config = parseEqlDeviceConfig(dc);
    const client = new EqlClient({ host: config.host, port: config.sshPort, username: config.username, password: config.password, timeoutMs: this.o.timeoutMs ?? 30_000 });
    try {
      const group = await client.groupInfo();
      const identity = eqlIdentity(group.groupName, config.pool);
      if (config.storageSystemId && config.storageSystemId !== eqlSystemId(group.groupName)) {
        throw identityMismatch(srUuid ?? '(new)', `the group of storageSystemId ${config.storageSystemId}`, `${eqlSystemId(group.groupName)} (${identity})`);
      }
      const fw = checkFirmware(group.firmware, EQUALLOGIC_FIRMWARE);
      if (!fw.ok) throw arrayError('ARRAY_FIRMWARE_UNSUPPORTED', fw.reason);
      return { client, config, group, identity, warnings: fw.warning ? [fw.warning] : [] };
    } catch (e) {
      client.close();
      throw asStorageError(e);
    }
  }

  private async pools(r: Reached): Promise<void> {
    const pools = await r.client.pools();
    if (!pools.includes(r.config.pool)) {
      throw arrayError('ARRAY_CONFIG', `EqualLogic group ${r.group.groupName} has no pool ${r.config.pool} (it has ${pools.join(', ') || 'none'})`);
    }
  }

  /** Islet SRs (by their metadata volumes) in the configured pool. */
  private async srsIn(r: Reached): Promise<string[]> {
    const out: string[] = [];
    for (const name of await r.client.volumeNames()) {
      const sr = srOfMetadataVolume(name);
      if (sr && (await r.client.volume(name)).pool === r.config.pool) out.push(sr);
    }
    return out;
  }

  private async guarded<T>(r: Reached, fn: () => Promise<T>, keepOpen = false): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      keepOpen = false;
      throw asStorageError(e);
    } finally {
      if (!keepOpen) r.client.close();
    }
  }

  async probe(dc: Readonly<Record<string, string>>): Promise<ProbeResult[]> {
    const r = await this.reach(dc);
    return this.guarded(r, async () => {
      await this.pools(r);
      const pool = await r.client.poolInfo(r.config.pool);
      return (await this.srsIn(r)).map((uuid) => ({
        uuid,
        deviceConfig: { ...dc, storageSystemId: eqlSystemId(r.group.groupName), storagePoolId: r.config.pool },
        physicalSize: pool.total,
        smConfig: { md_svid: `${eqlSystemId(r.group.groupName)}__${r.config.pool}__${metadataVolume(uuid)}`, 'eql-firmware': r.group.firmware },
      }));
    });
  }

  async create(srUuid: string, dc: Readonly<Record<string, string>>, _smConfig: Readonly<Record<string, string>> = {}): Promise<SrStat> {
    const r = await this.reach(dc, srUuid);
    return this.guarded(r, async () => {
      await this.pools(r);
      const others = await this.srsIn(r);
      if (others.length) {
        throw arrayError('ARRAY_SR_EXISTS', `${r.identity} already holds SR ${others.join(', ')}; an EqualLogic SR is one pool of one group`);
      }
      const md = metadataVolume(srUuid);
      try {
        await r.client.createVolume({ name: md, sizeMiB: 1, pool: r.config.pool, thin: true, snapReservePct: 0, description: `Islet SR on ${r.group.groupName}/${r.config.pool}` });
      } catch (e) {
        if ((await r.client.volumeNames().catch((): string[] => [])).includes(md)) await r.client.deleteVolume(md).catch(() => undefined);
        throw e;
      }
      this.remember(srUuid, r.identity);
      const pool = await r.client.poolInfo(r.config.pool);
      return {
        identity: r.identity, physicalSize: pool.total, physicalUtilisation: pool.total - pool.free, virtualAllocation: 0,
        ...(r.warnings.length ? { warnings: r.warnings } : {}),
      };
    });
  }

  async attach(srUuid: string, dc: Readonly<Record<string, string>>, smConfig: Readonly<Record<string, string>> = {}): Promise<AttachedSr> {
    const r = await this.reach(dc, srUuid);
    return this.guarded(r, async () => {
      const names = await r.client.volumeNames();
      const md = metadataVolume(srUuid);
      let here = names.includes(md) && (await r.client.volume(md)).pool === r.config.pool;
      if (!here && !names.includes(md) && isLegacySr(smConfig)) here = await this.takeOverLegacy(r, srUuid, names);
      if (!here) throw identityMismatch(srUuid, this.known.get(srUuid), r.identity);
      this.remember(srUuid, r.identity);
      const portal = `${r.config.host.includes(':') ? `[${r.config.host}]` : r.config.host}:${r.config.iscsiPort ?? r.group.iscsiPort ?? 3260}`;
      return new EqualLogicSr({
        srUuid, client: r.client, config: r.config, initiator: this.o.initiator, hostIqn: this.o.hostIqn,
        identity: r.identity, portal, warnings: r.warnings,
      });
    }, true);
  }

  async destroy(srUuid: string, dc: Readonly<Record<string, string>>): Promise<void> {
    const r = await this.reach(dc, srUuid);
    return this.guarded(r, async () => {
      const names = await r.client.volumeNames();
      const md = metadataVolume(srUuid);
      if (!names.includes(md)) throw identityMismatch(srUuid, this.known.get(srUuid), r.identity);
      for (const n of names) if (vdiOfVolume(srUuid, n) || parseLegacyEqlVolume(srUuid, n)) await r.client.deleteVolume(n);
      await r.client.deleteVolume(md);
    });
  }

  /**
   * An SR the StorageLink Gateway made has no metadata volume, only its disks' volumes
   * (`xs-<8 hex of the SR uuid>-…`, see legacy-storagelink). When the SR's record says it
   * came from the gateway and this pool holds some, the metadata volume is made, so the
   * group marks the SR as Islet's from now on.
   */
  private async takeOverLegacy(r: Reached, srUuid: string, names: readonly string[]): Promise<boolean> {
    let found = false;
    for (const n of names) {
      if (parseLegacyEqlVolume(srUuid, n) && (await r.client.volume(n)).pool === r.config.pool) {
        found = true;
        break;
      }
    }
    if (!found) return false;
    const md = metadataVolume(srUuid);
    try {
      await r.client.createVolume({ name: md, sizeMiB: 1, pool: r.config.pool, thin: true, snapReservePct: 0, description: `Islet SR on ${r.group.groupName}/${r.config.pool} (from StorageLink)` });
    } catch (e) {
      // Another host of the pool may have made it at the same moment.
      if (!(await r.client.volumeNames().catch((): string[] => [])).includes(md)) throw e;
    }
    return true;
  }
}
