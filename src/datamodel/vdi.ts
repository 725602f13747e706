/**
 * @module
 * A VDI: a virtual disk in an SR. Snapshots and clones share unchanged blocks with their
 * origin, so disks stay thin.
 */
import { cls, ctor, inverse, message, param, runtime, rw, t } from './dsl.js';
import { onBoot, vdiOperations, vdiType } from './enums.js';

export const vdi = cls('VDI', {
  doc: 'A virtual disk image stored in an SR',
  create: true,
  destroy: true,
  writeRole: 'vm-admin',
  fields: [
    ctor('name_label', t.string, 'Short name of the disk'),
    ctor('name_description', t.string, 'Longer description of the disk'),
    runtime('allowed_operations', t.set(t.enum(vdiOperations)), 'Operations that may be started on this object now'),
    runtime('current_operations', t.map(t.string, t.enum(vdiOperations)), 'Operations running on this object, keyed by the task that runs them'),
    ctor('SR', t.ref('SR'), 'The SR holding the disk'),
    inverse('VBDs', 'VBD', 'VDI', 'Drives through which VMs use the disk'),
    runtime('crash_dumps', t.set(t.ref('crashdump')), 'Crash dumps stored on the disk'),
    ctor('virtual_size', t.int, 'Size the guest sees, in bytes'),
    runtime('physical_utilisation', t.int, 'Space the disk really takes on the storage, in bytes'),
    ctor('type', t.enum(vdiType), 'What the disk is for, such as user, system or suspend'),
    ctor('sharable', t.bool, 'Whether several VMs may use the disk at once'),
    ctor('read_only', t.bool, 'Whether the disk may only be read'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('storage_lock', t.bool, 'Whether a host holds the storage-level lock on the disk'),
    runtime('location', t.string, 'Where the driver keeps the disk within the SR'),
    runtime('managed', t.bool, 'Whether the toolstack manages the disk (false for hidden tree nodes)'),
    runtime('missing', t.bool, 'True when the last scan did not find the disk on the storage'),
    runtime('parent', t.ref('VDI'), 'The disk this one is based on (obsolete)'),
    rw('xenstore_data', t.smap, 'Keys written to xenstore when the disk is attached'),
    rw('sm_config', t.smap, 'Settings the storage driver keeps about the disk'),
    runtime('is_a_snapshot', t.bool, 'True for snapshots of a disk'),
    runtime('snapshot_of', t.ref('VDI'), 'For a snapshot, the disk it was taken of'),
    inverse('snapshots', 'VDI', 'snapshot_of', 'Snapshots taken of this disk'),
    runtime('snapshot_time', t.datetime, 'When this snapshot was taken'),
    rw('tags', t.set(t.string), 'Labels users attach to group and find objects', { writeRole: 'vm-operator' }),
    runtime('allow_caching', t.bool, 'Whether hosts may cache the disk locally'),
    runtime('on_boot', t.enum(onBoot), 'Whether changes survive a VM restart or are thrown away', { default: 'persist' }),
    runtime('metadata_of_pool', t.ref('pool'), 'The pool whose database copy this disk holds, if any'),
    runtime('metadata_latest', t.bool, 'Whether this is the newest database copy of that pool'),
    runtime('is_tools_iso', t.bool, 'True for the guest tools ISO'),
    runtime('cbt_enabled', t.bool, 'Whether changed block tracking is on'),
  ],
  messages: [
    message('snapshot', {
      doc: 'Takes a read-only point-in-time copy of the disk, sharing blocks with it',
      params: [
        param('vdi', t.ref('VDI'), 'The disk to snapshot'),
        param('driver_params', t.smap, 'Settings passed to the storage driver', {  }),
      ],
      result: t.ref('VDI'),
      resultDoc: 'The new snapshot',
      role: 'vm-admin',
      async: true,
    }),
    message('clone', {
      doc: 'Makes a writable copy of the disk, sharing blocks with it',
      params: [
        param('vdi', t.ref('VDI'), 'The disk to clone'),
        param('driver_params', t.smap, 'Settings passed to the storage driver', {  }),
      ],
      result: t.ref('VDI'),
      resultDoc: 'The new disk',
      role: 'vm-admin',
      async: true,
    }),
    message('resize', {
      doc: 'Changes the size of the disk',
      params: [
        param('vdi', t.ref('VDI'), 'The disk'),
        param('size', t.int, 'The new size in bytes'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('introduce', {
      doc: 'Records a disk that exists on the storage but not in the database',
      params: [
        param('uuid', t.string, 'uuid of the disk'),
        param('name_label', t.string, 'Name of the disk'),
        param('name_description', t.string, 'Description of the disk'),
        param('SR', t.ref('SR'), 'The SR holding it'),
        param('type', t.enum(vdiType), 'What the disk is for'),
        param('sharable', t.bool, 'Whether several VMs may use it'),
        param('read_only', t.bool, 'Whether it is read-only'),
        param('other_config', t.smap, 'Free-form settings'),
        param('location', t.string, 'Where the driver keeps it'),
        param('xenstore_data', t.smap, 'Keys for xenstore', {  }),
        param('sm_config', t.smap, 'Driver settings', {  }),
        param('managed', t.bool, 'Whether it is managed', true),
        param('virtual_size', t.int, 'Size the guest sees', 0),
        param('physical_utilisation', t.int, 'Space used on the storage', 0),
        param('metadata_of_pool', t.ref('pool'), 'Pool whose database it holds', 'OpaqueRef:NULL'),
        param('is_a_snapshot', t.bool, 'Whether it is a snapshot', false),
        param('snapshot_time', t.datetime, 'When the snapshot was taken', '19700101T00:00:00Z'),
        param('snapshot_of', t.ref('VDI'), 'The disk it is a snapshot of', 'OpaqueRef:NULL'),
      ],
      result: t.ref('VDI'),
      resultDoc: 'The disk record',
      errors: ['SR_OPERATION_NOT_SUPPORTED'],
      role: 'vm-admin',
      async: true,
    }),
    message('update', {
      doc: 'Refreshes the disk\'s fields from the storage',
      params: [
        param('vdi', t.ref('VDI'), 'The disk'),
      ],
      errors: ['SR_OPERATION_NOT_SUPPORTED'],
      role: 'vm-admin',
      async: true,
    }),
    message('copy', {
      doc: 'Copies the disk to an SR, or its contents into an existing disk',
      params: [
        param('vdi', t.ref('VDI'), 'The disk to copy'),
        param('sr', t.ref('SR'), 'SR for a new copy; null when into_vdi is given', 'OpaqueRef:NULL'),
        param('base_vdi', t.ref('VDI'), 'Copy only blocks that differ from this disk', 'OpaqueRef:NULL'),
        param('into_vdi', t.ref('VDI'), 'Existing disk to write into', 'OpaqueRef:NULL'),
      ],
      result: t.ref('VDI'),
      resultDoc: 'The disk written to',
      errors: ['VDI_READONLY', 'VDI_TOO_SMALL', 'VDI_NOT_SPARSE'],
      role: 'vm-admin',
      async: true,
    }),
    message('forget', {
      doc: 'Removes the disk from the database, leaving it on the storage',
      params: [
        param('vdi', t.ref('VDI'), 'The disk'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('set_sharable', {
      doc: 'Marks the disk sharable or not',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
        param('value', t.bool, 'Whether it is sharable'),
      ],
      role: 'vm-admin',
    }),
    message('set_read_only', {
      doc: 'Marks the disk read-only or not',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
        param('value', t.bool, 'Whether it is read-only'),
      ],
      role: 'vm-admin',
    }),
    message('set_name_label', {
      doc: 'Renames the disk',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
        param('value', t.string, 'The new name'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('set_name_description', {
      doc: 'Changes the disk\'s description',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
        param('value', t.string, 'The new description'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('set_on_boot', {
      doc: 'Chooses whether changes survive a VM restart',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
        param('value', t.enum(onBoot), 'persist or reset'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('set_allow_caching', {
      doc: 'Allows or forbids local caching of the disk',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
        param('value', t.bool, 'Whether caching is allowed'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('pool_migrate', {
      doc: 'Moves a disk in use by a running VM to another SR',
      params: [
        param('vdi', t.ref('VDI'), 'The disk to move'),
        param('sr', t.ref('SR'), 'The SR to move it to'),
        param('options', t.smap, 'Migration settings'),
      ],
      result: t.ref('VDI'),
      resultDoc: 'The disk in its new SR',
      role: 'vm-power-admin',
      async: true,
    }),
    message('get_nbd_info', {
      doc: 'Tells how to read the disk over NBD from each host that can serve it',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
      ],
      result: t.set(t.record('vdi_nbd_server_info')),
      resultDoc: 'One entry per host and address',
      errors: ['VDI_INCOMPATIBLE_TYPE'],
      role: 'vm-admin',
    }),
    message('islet_nbd_endpoint', {
      doc: 'What the NBD server of the host that runs the call announces (port, address, certificate, subject); empty when it serves none',
      params: [
        param('host', t.ref('host'), 'The host asked (the call runs there)'),
      ],
      result: t.smap,
      resultDoc: 'port, address, cert and subject, or an empty map',
      role: 'pool-admin',
      internal: true,
    }),
    message('enable_cbt', {
      doc: 'Turns changed block tracking on',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
      ],
      errors: ['SR_OPERATION_NOT_SUPPORTED', 'VDI_MISSING', 'SR_NOT_ATTACHED', 'SR_HAS_NO_PBDS', 'OPERATION_NOT_ALLOWED', 'VDI_INCOMPATIBLE_TYPE', 'VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION'],
      role: 'vm-admin',
      async: true,
    }),
    message('disable_cbt', {
      doc: 'Turns changed block tracking off',
      params: [
        param('self', t.ref('VDI'), 'The disk'),
      ],
      errors: ['SR_OPERATION_NOT_SUPPORTED', 'VDI_MISSING', 'SR_NOT_ATTACHED', 'SR_HAS_NO_PBDS', 'OPERATION_NOT_ALLOWED', 'VDI_INCOMPATIBLE_TYPE', 'VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION'],
      role: 'vm-admin',
      async: true,
    }),
    message('list_changed_blocks', {
      doc: 'Reports which blocks differ between two snapshots of a disk',
      params: [
        param('vdi_from', t.ref('VDI'), 'The older snapshot'),
        param('vdi_to', t.ref('VDI'), 'The newer snapshot or disk'),
      ],
      result: t.string,
      resultDoc: 'A base64 bitmap of changed blocks',
      errors: ['SR_OPERATION_NOT_SUPPORTED', 'VDI_MISSING', 'SR_NOT_ATTACHED', 'SR_HAS_NO_PBDS', 'VDI_IN_USE'],
      role: 'vm-operator',
      async: true,
    }),
  ],
});
