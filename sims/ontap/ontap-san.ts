/**
 * @module
 * SAN access on the simulated array: igroups (named sets of initiator IQNs) and LUN maps
 * (a LUN made visible to an igroup at a logical unit number). What they allow is exactly
 * what the iSCSI target serves: `sanExport` turns them into the target's LUN table and its
 * per-initiator ACL, so an initiator sees a LUN only while an igroup holding its IQN is
 * mapped to it.
 */
import { randomUUID } from 'node:crypto';
import type { ArrayLunView } from '../array-store/array-store.js';
import { badRequest, OntapCode, OntapError } from './ontap-errors.js';
import type { NameOrUuid, OntapArray } from './ontap-array.js';
import type { Igroup, Lun, LunMap } from './ontap-state.js';

const IQN = /^iqn\.\d{4}-\d{2}\.[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::.+)?$/i;
const EUI = /^eui\.[0-9A-Fa-f]{16}$/;
const IGROUP_NAME = /^[A-Za-z0-9_.:-]{1,96}$/;

type Json = Record<string, unknown>;

export function igroup(array: OntapArray, ref: NameOrUuid): Igroup {
  const g = array.state.igroups.find((x) => (ref.uuid ? x.uuid === ref.uuid : x.name === ref.name));
  if (!g) throw new OntapError(404, OntapCode.igroupNotFound, 'The initiator group does not exist.', 'igroup');
  return g;
}

function checkInitiator(name: string): void {
  if (name.length > 223) throw badRequest('5373992', 'A supplied initiator name was too long to be valid.', 'initiators.name');
  if (!IQN.test(name) && !EUI.test(name)) throw badRequest(OntapCode.initiatorInvalid, `An invalid iSCSI initiator name was supplied: "${name}".`, 'initiators.name');
}

export async function createIgroup(array: OntapArray, body: Json): Promise<Igroup> {
  const svm = body.svm as NameOrUuid | undefined;
  if (!svm?.name && !svm?.uuid) throw badRequest(OntapCode.noSvm, 'No SVM was specified. Either "svm.name" or "svm.uuid" must be supplied.', 'svm');
  if ((svm.name && svm.name !== array.state.svm.name) || (svm.uuid && svm.uuid !== array.state.svm.uuid)) throw new OntapError(404, OntapCode.svmNotFound, 'The supplied SVM does not exist.', 'svm');
  const name = String(body.name ?? '');
  if (!IGROUP_NAME.test(name)) throw badRequest('5373958', 'An invalid initiator group name was supplied.', 'name');
  if (array.state.igroups.some((g) => g.name === name)) throw new OntapError(409, OntapCode.igroupExists, 'An initiator group with the same name already exists.', 'name');
  const initiators = ((body.initiators as { name?: string }[] | undefined) ?? []).map((i) => String(i.name ?? ''));
  for (const i of initiators) checkInitiator(i);
  const protocol = (body.protocol ?? 'mixed') as Igroup['protocol'];
  if (!['iscsi', 'fcp', 'mixed'].includes(protocol)) throw badRequest(OntapCode.invalidField, `Invalid protocol "${String(protocol)}".`, 'protocol');
  const g: Igroup = { uuid: randomUUID(), name, protocol, osType: String(body.os_type ?? 'linux'), initiators: [...new Set(initiators)], comment: String(body.comment ?? '') };
  array.state.igroups.push(g);
  await array.save();
  return g;
}

export async function deleteIgroup(array: OntapArray, g: Igroup, allowMapped: boolean): Promise<void> {
  const mapped = array.state.lunMaps.some((m) => m.igroup === g.uuid);
  if (mapped && !allowMapped) throw badRequest(OntapCode.igroupMapped, 'The initiator group is mapped to one or more LUNs and "allow_delete_while_mapped" has not been specified.');
  array.state.lunMaps = array.state.lunMaps.filter((m) => m.igroup !== g.uuid);
  array.state.igroups = array.state.igroups.filter((x) => x !== g);
  await array.save();
  array.sanChanged();
}

export async function addInitiators(array: OntapArray, g: Igroup, body: Json): Promise<void> {
  const names = Array.isArray(body.records) ? (body.records as { name?: string }[]).map((r) => String(r.name ?? '')) : body.name !== undefined ? [String(body.name)] : [];
  if (names.length === 0) throw badRequest('5374033', 'Initiators must be supplied.');
  for (const n of names) {
    checkInitiator(n);
    if (g.initiators.includes(n)) throw new OntapError(409, OntapCode.initiatorExists, 'A supplied initiator is already in the initiator group.', 'name');
  }
  g.initiators.push(...names);
  await array.save();
  array.sanChanged();
}

export async function removeInitiator(array: OntapArray, g: Igroup, name: string, allowMapped: boolean): Promise<void> {
  if (!g.initiators.includes(name)) throw new OntapError(404, OntapCode.initiatorNotMember, 'The initiator is not a member of the group.');
  if (!allowMapped && array.state.lunMaps.some((m) => m.igroup === g.uuid)) {
    throw badRequest(OntapCode.igroupMapped, 'The initiator group is mapped to one or more LUNs and "allow_delete_while_mapped" has not been specified.');
  }
  g.initiators = g.initiators.filter((i) => i !== name);
  await array.save();
  array.sanChanged();
}

export async function createLunMap(array: OntapArray, body: Json): Promise<LunMap> {
  const lunRef = body.lun as NameOrUuid | undefined;
  const groupRef = body.igroup as NameOrUuid | undefined;
  if (!lunRef?.name && !lunRef?.uuid) throw badRequest('5374901', 'Either "lun.uuid" or "lun.name" must be provided to create a LUN map.', 'lun');
  if (!groupRef?.name && !groupRef?.uuid) throw badRequest('5374902', 'Either "igroup.uuid" or "igroup.name" must be provided to create a LUN map.', 'igroup');
  if (lunRef.name?.includes('/.snapshot/')) throw badRequest(OntapCode.lunInSnapshot, 'The operation is not allowed on a LUN in a Snapshot copy.', 'lun');
  const lun = array.lun(lunRef);
  const g = igroup(array, groupRef);
  if (array.state.lunMaps.some((m) => m.lun === lun.uuid && m.igroup === g.uuid)) throw new OntapError(409, OntapCode.lunAlreadyMapped, 'The LUN is already mapped to the same initiator group.');
  // LUN numbers are unique across the SVM here, so one target LUN table serves every igroup.
  const existing = array.state.lunMaps.find((m) => m.lun === lun.uuid);
  let n = existing?.logicalUnitNumber;
  if (body.logical_unit_number !== undefined) {
    n = Number(body.logical_unit_number);
    if (!Number.isInteger(n) || n < 0 || n > 4095) throw badRequest(OntapCode.invalidField, 'Invalid logical unit number.', 'logical_unit_number');
    if (array.state.lunMaps.some((m) => m.logicalUnitNumber === n && m.lun !== lun.uuid)) throw badRequest('1254324', 'The logical unit number is already in use.', 'logical_unit_number');
  }
  if (n === undefined) {
    const used = new Set(array.state.lunMaps.map((m) => m.logicalUnitNumber));
    n = 0;
    while (used.has(n)) n++;
  }
  const map: LunMap = { lun: lun.uuid, igroup: g.uuid, logicalUnitNumber: n };
  array.state.lunMaps.push(map);
  await array.save();
  array.sanChanged();
  return map;
}

export async function deleteLunMap(array: OntapArray, lunUuid: string, igroupUuid: string): Promise<void> {
  const before = array.state.lunMaps.length;
  array.state.lunMaps = array.state.lunMaps.filter((m) => !(m.lun === lunUuid && m.igroup === igroupUuid));
  if (array.state.lunMaps.length === before) throw new OntapError(404, OntapCode.lunNotFound, 'The LUN map was not found.');
  await array.save();
  array.sanChanged();
}

/** What the iSCSI target is told to serve. */
export interface SanExport {
  readonly luns: Map<number, { lun: Lun; view: ArrayLunView }>;
  /** Initiator IQN -> LUN numbers it may see. */
  readonly acl: Map<string, number[]>;
}

export function sanExport(array: OntapArray): SanExport {
  const luns = new Map<number, { lun: Lun; view: ArrayLunView }>();
  const acl = new Map<string, number[]>();
  for (const m of array.state.lunMaps) {
    const lun = array.state.luns.find((l) => l.uuid === m.lun);
    const g = array.state.igroups.find((x) => x.uuid === m.igroup);
    if (!lun || !g) continue;
    if (!luns.has(m.logicalUnitNumber)) {
      // NetApp's NAA: the OUI 00:A0:98 as 600a0980, then the 12 serial characters in hex.
      const naa = `600a0980${Buffer.from(lun.serial, 'latin1').toString('hex')}`;
      luns.set(m.logicalUnitNumber, { lun, view: array.store.view(lun.storeId, { serial: lun.serial, thin: lun.thinProvisioningSupport, naa }) });
    }
    for (const iqn of g.initiators) acl.set(iqn, [...new Set([...(acl.get(iqn) ?? []), m.logicalUnitNumber])]);
  }
  return { luns, acl };
}
