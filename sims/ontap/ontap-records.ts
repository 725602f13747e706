/**
 * @module
 * The simulated array's objects as ONTAP's REST API renders them (field names and nesting
 * from NetApp's published OpenAPI definition), with space figures computed from the array
 * store at the moment of the request.
 */
import type { OntapArray } from './ontap-array.js';
import { lunReservationHonoured, volumeFootprint } from './ontap-space.js';
import type { Aggregate, Igroup, Lun, LunMap, Snapshot, Volume } from './ontap-state.js';

type Json = Record<string, unknown>;

const link = (href: string): Json => ({ _links: { self: { href } } });

export function clusterRecord(a: OntapArray): Json {
  const v = a.state.cluster.version;
  return {
    name: a.state.cluster.name,
    uuid: a.state.cluster.uuid,
    version: { full: `NetApp Release ${v.generation}.${v.major}.${v.minor}: Islet simulator`, generation: v.generation, major: v.major, minor: v.minor },
    ...link('/api/cluster'),
  };
}

export function nodeRecord(a: OntapArray): Json {
  const n = a.state.node;
  const v = a.state.cluster.version;
  return {
    uuid: n.uuid, name: n.name, serial_number: n.serialNumber, system_id: n.systemId, state: 'up',
    version: { full: `NetApp Release ${v.generation}.${v.major}.${v.minor}`, generation: v.generation, major: v.major, minor: v.minor },
    ...link(`/api/cluster/nodes/${n.uuid}`),
  };
}

export function svmRecord(a: OntapArray): Json {
  return {
    uuid: a.state.svm.uuid, name: a.state.svm.name, state: 'running',
    aggregates: a.state.aggregates.map((g) => ({ name: g.name, uuid: g.uuid })),
    ...link(`/api/svm/svms/${a.state.svm.uuid}`),
  };
}

export function aggregateRecord(a: OntapArray, g: Aggregate): Json {
  const sp = a.aggregateSpace(g);
  return {
    uuid: g.uuid, name: g.name, state: 'online',
    space: { block_storage: { size: sp.size, used: sp.used, available: sp.available, full_threshold_percent: 98 }, footprint: sp.used },
    block_storage: { primary: { disk_count: 8, disk_type: 'ssd', raid_type: 'raid_dp' } },
    ...link(`/api/storage/aggregates/${g.uuid}`),
  };
}

export function volumeRecord(a: OntapArray, v: Volume): Json {
  const sp = a.volumeSpace(v);
  const aggr = a.state.aggregates.find((g) => g.uuid === v.aggregate)!;
  const parentVol = v.clone && a.state.volumes.find((x) => x.uuid === v.clone!.parentVolume);
  const parentSnap = v.clone && a.state.snapshots.find((s) => s.uuid === v.clone!.parentSnapshot);
  const aggrFree = a.aggregateSpace(aggr).available;
  return {
    uuid: v.uuid, name: v.name, state: 'online', style: 'flexvol', type: 'rw', comment: v.comment, create_time: v.createTime,
    svm: { name: a.state.svm.name, uuid: a.state.svm.uuid },
    aggregates: [{ name: aggr.name, uuid: aggr.uuid }],
    size: v.size,
    guarantee: { type: v.guarantee, honored: v.guarantee === 'none' || aggrFree >= 0 },
    space: {
      size: v.size, used: sp.used, available: sp.available, fractional_reserve: v.fractionalReserve,
      available_percent: Math.floor((sp.available * 100) / Math.max(1, v.size - sp.snapshotReserve)),
      over_provisioned: 0, footprint: volumeFootprint(v, sp),
      snapshot: { reserve_percent: v.snapshotReservePercent, used: sp.snapshotData },
      size_available_for_snapshots: Math.max(0, sp.snapshotReserve - sp.snapshotData) + sp.available,
    },
    autosize: { mode: v.autosize.mode, maximum: v.autosize.maximum, grow_threshold: v.autosize.growThreshold },
    snapshot_policy: { name: v.snapshotPolicy },
    clone: {
      is_flexclone: v.clone !== undefined,
      has_flexclone: a.state.volumes.some((x) => x.clone?.parentVolume === v.uuid),
      ...(parentVol ? { parent_volume: { name: parentVol.name, uuid: parentVol.uuid } } : {}),
      ...(parentSnap ? { parent_snapshot: { name: parentSnap.name, uuid: parentSnap.uuid } } : {}),
    },
    ...link(`/api/storage/volumes/${v.uuid}`),
  };
}

export function snapshotRecord(a: OntapArray, v: Volume, s: Snapshot): Json {
  const ids = Object.values(s.luns).map((l) => l.storeId);
  const others = [
    ...a.state.luns.filter((l) => l.volume === v.uuid).map((l) => l.storeId),
    ...a.state.snapshots.filter((x) => x.volume === v.uuid && x !== s).flatMap((x) => Object.values(x.luns).map((l) => l.storeId)),
  ];
  return {
    uuid: s.uuid, name: s.name, comment: s.comment, create_time: s.createTime, state: 'valid',
    volume: { name: v.name, uuid: v.uuid }, svm: { name: a.state.svm.name, uuid: a.state.svm.uuid },
    owners: a.snapshotOwners(s), size: a.store.bytesOnlyIn(ids, others),
    ...link(`/api/storage/volumes/${v.uuid}/snapshots/${s.uuid}`),
  };
}

export function lunRecord(a: OntapArray, l: Lun): Json {
  const v = a.volumeOf(l);
  const maps = a.state.lunMaps.filter((m) => m.lun === l.uuid);
  return {
    uuid: l.uuid, name: a.lunPath(l), os_type: l.osType, comment: l.comment, create_time: l.createTime, enabled: true,
    serial_number: l.serial, serial_number_hex: Buffer.from(l.serial, 'latin1').toString('hex'),
    svm: { name: a.state.svm.name, uuid: a.state.svm.uuid },
    location: { logical_unit: l.name, volume: { name: v.name, uuid: v.uuid } },
    space: {
      size: l.size, used: a.store.mappedBytes(l.storeId),
      guarantee: { requested: l.guaranteeRequested, reserved: lunReservationHonoured(v, l) },
      scsi_thin_provisioning_support_enabled: l.thinProvisioningSupport,
    },
    status: { state: 'online', container_state: 'online', mapped: maps.length > 0 },
    clone: l.cloneSource ? { source: { name: l.cloneSource } } : {},
    lun_maps: maps.map((m) => {
      const g = a.state.igroups.find((x) => x.uuid === m.igroup)!;
      return { logical_unit_number: m.logicalUnitNumber, igroup: { name: g.name, uuid: g.uuid } };
    }),
    ...link(`/api/storage/luns/${l.uuid}`),
  };
}

export function igroupRecord(a: OntapArray, g: Igroup): Json {
  return {
    uuid: g.uuid, name: g.name, protocol: g.protocol, os_type: g.osType, comment: g.comment,
    svm: { name: a.state.svm.name, uuid: a.state.svm.uuid },
    initiators: g.initiators.map((name) => ({ name })),
    lun_maps: a.state.lunMaps.filter((m) => m.igroup === g.uuid).map((m) => {
      const l = a.state.luns.find((x) => x.uuid === m.lun)!;
      return { logical_unit_number: m.logicalUnitNumber, lun: { name: a.lunPath(l), uuid: l.uuid } };
    }),
    ...link(`/api/protocols/san/igroups/${g.uuid}`),
  };
}

export function lunMapRecord(a: OntapArray, m: LunMap): Json {
  const l = a.state.luns.find((x) => x.uuid === m.lun)!;
  const g = a.state.igroups.find((x) => x.uuid === m.igroup)!;
  return {
    svm: { name: a.state.svm.name, uuid: a.state.svm.uuid },
    lun: { name: a.lunPath(l), uuid: l.uuid, node: { name: a.state.node.name, uuid: a.state.node.uuid } },
    igroup: { name: g.name, uuid: g.uuid, protocol: g.protocol, os_type: g.osType, initiators: [...g.initiators] },
    logical_unit_number: m.logicalUnitNumber,
    ...link(`/api/protocols/san/lun-maps/${l.uuid}/${g.uuid}`),
  };
}

/** The SVM's iSCSI target name, in cDOT's form (`…:sn.<svm uuid hex>:vs.<n>`). */
export function targetIqn(a: OntapArray): string {
  return `iqn.1992-08.com.netapp:sn.${a.state.svm.uuid.replace(/-/g, '')}:vs.2`;
}

export function iscsiServiceRecord(a: OntapArray): Json {
  return {
    svm: { name: a.state.svm.name, uuid: a.state.svm.uuid }, enabled: true,
    target: { name: targetIqn(a), alias: a.state.svm.name },
    ...link(`/api/protocols/san/iscsi/services/${a.state.svm.uuid}`),
  };
}

/**
 * The SVM's iSCSI LIF. A real LIF serves on 3260; the simulator's target may listen
 * elsewhere, so the record carries `islet_iscsi_port` (absent on a real array).
 */
export function lifRecord(a: OntapArray, iscsi: { address: string; port: number } | undefined): Json[] {
  if (!iscsi) return [];
  return [{
    uuid: a.state.svm.uuid.replace(/^.{8}/, '0150ea71'), name: 'iscsi_lif1', state: 'up', enabled: true,
    ip: { address: iscsi.address, netmask: '24' }, services: ['data_core', 'data_iscsi'],
    svm: { name: a.state.svm.name, uuid: a.state.svm.uuid },
    location: { home_node: { name: a.state.node.name, uuid: a.state.node.uuid }, node: { name: a.state.node.name, uuid: a.state.node.uuid } },
    ...(iscsi.port !== 3260 ? { islet_iscsi_port: iscsi.port } : {}),
  }];
}
