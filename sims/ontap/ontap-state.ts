/**
 * @module
 * What the ONTAP simulator remembers: one cluster with one node and one SVM, its
 * aggregates, FlexVols, LUNs, volume Snapshot copies, igroups and LUN maps. The bytes of
 * every LUN and of every LUN frozen in a Snapshot copy live in the shared array store;
 * this state names them (`storeId`). It is saved as one JSON file in the data directory
 * after every change, so a restarted simulator is the same array.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type GuaranteeType = 'volume' | 'none';
export type AutosizeMode = 'grow' | 'grow_shrink' | 'off';

export interface Aggregate {
  uuid: string;
  name: string;
  size: number;
}

export interface Volume {
  uuid: string;
  name: string;
  aggregate: string;
  size: number;
  guarantee: GuaranteeType;
  fractionalReserve: number;
  snapshotReservePercent: number;
  snapshotPolicy: string;
  autosize: { mode: AutosizeMode; maximum: number; growThreshold: number };
  comment: string;
  createTime: string;
  /** A FlexClone volume: its parent and the parent's Snapshot copy it was made from. */
  clone?: { parentVolume: string; parentSnapshot: string };
}

export interface Lun {
  uuid: string;
  volume: string;
  /** The LUN's base name inside its volume (`/vol/<volume>/<name>`). */
  name: string;
  size: number;
  osType: string;
  guaranteeRequested: boolean;
  thinProvisioningSupport: boolean;
  serial: string;
  comment: string;
  createTime: string;
  storeId: string;
  /** The path it was cloned from, kept as ONTAP keeps `clone.source` (informational). */
  cloneSource?: string;
}

export interface Snapshot {
  uuid: string;
  volume: string;
  name: string;
  comment: string;
  createTime: string;
  /** LUN name inside the volume -> the store id holding that LUN as it was. */
  luns: Record<string, { storeId: string; size: number; guaranteeRequested: boolean }>;
}

export interface Igroup {
  uuid: string;
  name: string;
  protocol: 'iscsi' | 'fcp' | 'mixed';
  osType: string;
  initiators: string[];
  comment: string;
}

export interface LunMap {
  lun: string;
  igroup: string;
  logicalUnitNumber: number;
}

export interface OntapState {
  cluster: { uuid: string; name: string; version: { major: number; minor: number; generation: number } };
  node: { uuid: string; name: string; serialNumber: string; systemId: string };
  svm: { uuid: string; name: string };
  aggregates: Aggregate[];
  volumes: Volume[];
  luns: Lun[];
  snapshots: Snapshot[];
  igroups: Igroup[];
  lunMaps: LunMap[];
}

/** A fresh array: ONTAP 9.12.1, one node with a random serial and system id. */
export function newOntapState(aggregates: readonly { name: string; size: number }[], clusterName = 'islet-sim'): OntapState {
  const systemId = String(1_000_000_000 + (randomBytes(4).readUInt32BE() % 999_999_999));
  return {
    cluster: { uuid: randomUUID(), name: clusterName, version: { generation: 9, major: 12, minor: 1 } },
    node: { uuid: randomUUID(), name: `${clusterName}-01`, serialNumber: String(400000000000 + (randomBytes(4).readUInt32BE() % 99999999)), systemId },
    svm: { uuid: randomUUID(), name: 'svm0' },
    aggregates: aggregates.map((a) => ({ uuid: randomUUID(), name: a.name, size: a.size })),
    volumes: [],
    luns: [],
    snapshots: [],
    igroups: [],
    lunMaps: [],
  };
}

/** A 12-character LUN serial from ONTAP's alphabet (letters, digits and a few marks). */
export function newLunSerial(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_]?';
  const bytes = randomBytes(12);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

export async function loadOntapState(dir: string): Promise<OntapState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'ontap-state.json'), 'utf8')) as OntapState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function saveOntapState(dir: string, state: OntapState): Promise<void> {
  const tmp = join(dir, 'ontap-state.json.tmp');
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, join(dir, 'ontap-state.json'));
}
