/**
 * @module
 * An SR: a storage repository holding VDIs, reached from hosts through PBDs. Its space
 * figures are computed from what is really allocated.
 */
import { createNewBlob } from './blob.js';
import { cls, ctor, inverse, message, param, runtime, rw, setter, t } from './dsl.js';
import { storageOperations } from './enums.js';
import { srDisasterRecoveryMessages } from './sr-dr-messages.js';

export const sr = cls('SR', {
  doc: 'A storage repository holding virtual disks',
  writeRole: 'pool-operator',
  fields: [
    ctor('name_label', t.string, 'Short name of the SR'),
    ctor('name_description', t.string, 'Longer description of the SR'),
    runtime('allowed_operations', t.set(t.enum(storageOperations)), 'Operations that may be started on this object now'),
    runtime('current_operations', t.map(t.string, t.enum(storageOperations)), 'Operations running on this object, keyed by the task that runs them'),
    inverse('VDIs', 'VDI', 'SR', 'Virtual disks in the SR'),
    inverse('PBDs', 'PBD', 'SR', 'Connections of hosts to the SR'),
    runtime('virtual_allocation', t.int, 'Sum of the virtual sizes of the SR\'s disks, in bytes'),
    runtime('physical_utilisation', t.int, 'Space really used on the storage, in bytes'),
    ctor('physical_size', t.int, 'Total space of the storage, in bytes'),
    ctor('type', t.string, 'Storage driver type, such as ext or lvm'),
    ctor('content_type', t.string, 'What the SR holds, such as user or iso'),
    runtime('shared', t.bool, 'Whether every host of the pool can reach the SR'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    rw('tags', t.set(t.string), 'Labels users attach to group and find objects', { writeRole: 'vm-operator' }),
    rw('sm_config', t.smap, 'Settings the storage driver keeps about the SR'),
    runtime('blobs', t.map(t.string, t.ref('blob')), 'Named binary objects attached to this object'),
    runtime('local_cache_enabled', t.bool, 'Whether hosts cache VM disks in this SR'),
    runtime('introduced_by', t.ref('DR_task'), 'The disaster-recovery task that introduced the SR'),
    runtime('clustered', t.bool, 'Whether the SR needs a cluster stack'),
    runtime('is_tools_sr', t.bool, 'True for the SR holding the guest tools ISO'),
  ],
  messages: [
    message('create', {
      doc: 'Formats storage as a new SR and connects every host that should see it',
      params: [
        param('host', t.ref('host'), 'Host to create the SR from'),
        param('device_config', t.smap, 'Where the storage is and how to reach it'),
        param('physical_size', t.int, 'Size to use, in bytes, or 0 for all'),
        param('name_label', t.string, 'Name of the SR'),
        param('name_description', t.string, 'Description of the SR'),
        param('type', t.string, 'Storage driver type'),
        param('content_type', t.string, 'What the SR will hold'),
        param('shared', t.bool, 'Whether all hosts should reach it'),
        param('sm_config', t.smap, 'Driver settings', {  }),
      ],
      result: t.ref('SR'),
      resultDoc: 'The new SR',
      errors: ['SR_UNKNOWN_DRIVER'],
      role: 'pool-operator',
      async: true,
    }),
    message('introduce', {
      doc: 'Records an existing SR in the database without touching the storage',
      params: [
        param('uuid', t.string, 'uuid the storage reports for the SR'),
        param('name_label', t.string, 'Name of the SR'),
        param('name_description', t.string, 'Description of the SR'),
        param('type', t.string, 'Storage driver type'),
        param('content_type', t.string, 'What the SR holds'),
        param('shared', t.bool, 'Whether all hosts should reach it'),
        param('sm_config', t.smap, 'Driver settings', {  }),
      ],
      result: t.ref('SR'),
      resultDoc: 'The SR record',
      role: 'pool-operator',
      async: true,
    }),
    message('forget', {
      doc: 'Removes the SR from the database, leaving the storage and its data alone',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
      ],
      errors: ['SR_HAS_PBD'],
      role: 'pool-operator',
      async: true,
    }),
    message('destroy', {
      doc: 'Deletes the SR and everything on it from the storage',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
      ],
      errors: ['SR_HAS_PBD'],
      role: 'pool-operator',
      async: true,
    }),
    message('update', {
      doc: 'Refreshes the SR\'s space figures from the storage',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('scan', {
      doc: 'Brings the SR\'s list of VDIs in line with the storage',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
      ],
      role: 'vm-power-admin',
      async: true,
    }),
    message('islet_gc', {
      doc: 'Runs the SR\'s garbage collector now (removing and coalescing base copies nothing visible needs) and waits for it',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
      ],
      role: 'vm-power-admin',
      async: true,
    }),
    message('probe', {
      doc: 'Asks a driver what SRs exist at a storage location',
      params: [
        param('host', t.ref('host'), 'Host to probe from'),
        param('device_config', t.smap, 'Where to look'),
        param('type', t.string, 'Storage driver type'),
        param('sm_config', t.smap, 'Driver settings'),
      ],
      result: t.string,
      resultDoc: 'What was found, as XML',
      role: 'pool-operator',
      async: true,
    }),
    message('probe_ext', {
      doc: 'Asks a driver what SRs exist at a storage location, as structured results',
      params: [
        param('host', t.ref('host'), 'Host to probe from'),
        param('device_config', t.smap, 'Where to look'),
        param('type', t.string, 'Storage driver type'),
        param('sm_config', t.smap, 'Driver settings'),
      ],
      result: t.set(t.record('probe_result')),
      resultDoc: 'What was found',
      role: 'pool-operator',
      async: true,
    }),
    message('get_supported_types', {
      doc: 'Lists the storage driver types available',
      result: t.set(t.string),
      resultDoc: 'SR types',
      role: 'read-only',
    }),
    message('set_shared', {
      doc: 'Marks the SR shared or local',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
        param('value', t.bool, 'Whether it is shared'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('set_name_label', {
      doc: 'Renames the SR',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
        param('value', t.string, 'The new name'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('set_name_description', {
      doc: 'Changes the SR\'s description',
      params: [
        param('sr', t.ref('SR'), 'The SR'),
        param('value', t.string, 'The new description'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    setter('SR', 'set_physical_size', t.int, 'Size in bytes', {
      doc: 'Records the size of the storage',
      role: 'pool-operator',
    }),
    createNewBlob('SR', 'sr', 'pool-operator'),
    ...srDisasterRecoveryMessages,
  ],
});
