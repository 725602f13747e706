/**
 * @module
 * A tiny datamodel for the pool database tests: VMs and their disks (a one-to-many
 * relation with its inverse), a self relation (snapshots), a memory-only class pointing
 * into a persisted one, a struct without uuid, and every kind of stored value. `grownModel` is the same model a
 * release later, with new fields and a new class, to test opening an older file.
 */
import { cls, ctor, enumDecl, inverse, runtime, rw, t, type ClassDecl } from '../../src/datamodel/dsl.js';

const powerState = enumDecl('vm_power_state', ['Halted', 'Running', 'Paused'] as const);
const vbdMode = enumDecl('vbd_mode', ['RO', 'RW'] as const);

const vmFields = [
  rw('name_label', t.string, 'Name'),
  rw('memory', t.int, 'Bytes', { default: 1024 }),
  rw('weight', t.float, 'Scheduling weight', { default: 0.5 }),
  runtime('power_state', t.enum(powerState), 'Power state'),
  rw('is_template', t.bool, 'Template or not'),
  rw('tags', t.set(t.string), 'Labels'),
  rw('other_config', t.smap, 'Free-form'),
  rw('secret', t.string, 'Hidden from clients', { internal: true }),
  ctor('snapshot_of', t.ref('VM'), 'Where this snapshot came from'),
  inverse('snapshots', 'VM', 'snapshot_of', 'Snapshots of this VM'),
  inverse('VBDs', 'VBD', 'VM', 'Disks plugged into this VM'),
  inverse('current_tasks', 'task', 'VM', 'Tasks running against this VM'),
];

const vbd = cls('VBD', {
  doc: 'A virtual disk slot',
  fields: [
    ctor('VM', t.ref('VM'), 'The VM it belongs to'),
    rw('device', t.string, 'Device name'),
    rw('mode', t.enum(vbdMode), 'Access mode', { default: 'RW' }),
  ],
});

const task = cls('task', {
  doc: 'Work in progress; dies with the process',
  persist: false,
  fields: [
    rw('name_label', t.string, 'Name'),
    runtime('progress', t.float, 'Done so far'),
    runtime('VM', t.ref('VM'), 'The VM it works on'),
  ],
});

/** A value type with no uuid (like vdi_nbd_server_info): declared, never a row. */
const nbdInfo = cls('nbd_info', { doc: 'A plain struct', uuid: false, persist: false, fields: [rw('address', t.string, 'Where')] });

export const testModel: readonly ClassDecl[] = [cls('VM', { doc: 'A virtual machine', fields: vmFields }), vbd, task, nbdInfo];

/** The same model a release later: new VM fields with non-trivial defaults, a new class. */
export const grownModel: readonly ClassDecl[] = [
  cls('VM', {
    doc: 'A virtual machine',
    fields: [
      ...vmFields,
      rw('notes', t.string, 'Added later', { default: 'none yet' }),
      rw('vcpus', t.int, 'Added later', { default: 2 }),
      rw('ha', t.bool, 'Added later', { default: true }),
      rw('blocked', t.set(t.string), 'Added later', { default: ['migrate'] }),
      rw('platform', t.smap, 'Added later', { default: { acpi: '1' } }),
    ],
  }),
  vbd,
  task,
  nbdInfo,
  cls('SR', { doc: 'Storage, added later', fields: [rw('name_label', t.string, 'Name')] }),
];

/** A class with 100 stored fields, for the read-cost check. */
export function wideModel(): readonly ClassDecl[] {
  const fields = [];
  for (let i = 0; i < 100; i++) {
    const ty = i % 4 === 0 ? t.smap : i % 4 === 1 ? t.set(t.string) : i % 4 === 2 ? t.int : t.string;
    fields.push(rw(`f${i}`, ty, `field ${i}`));
  }
  return [cls('wide', { doc: 'Wide rows', fields })];
}
