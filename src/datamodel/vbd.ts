/**
 * @module
 * A VBD: a VM's virtual drive, connecting it to a VDI (or an empty CD drive).
 */
import { cls, ctor, message, param, runtime, rw, setter, t } from './dsl.js';
import { vbdMode, vbdOperations, vbdType } from './enums.js';

export const vbd = cls('VBD', {
  doc: 'A virtual drive of a VM, holding a disk or a CD',
  create: true,
  destroy: true,
  writeRole: 'vm-admin',
  fields: [
    runtime('allowed_operations', t.set(t.enum(vbdOperations)), 'Operations that may be started on this object now'),
    runtime('current_operations', t.map(t.string, t.enum(vbdOperations)), 'Operations running on this object, keyed by the task that runs them'),
    ctor('VM', t.ref('VM'), 'The VM the drive belongs to', { required: true }),
    ctor('VDI', t.ref('VDI'), 'The disk in the drive, or null for an empty CD drive', { required: true }),
    ctor('device', t.string, 'Device name inside the guest, such as xvda'),
    rw('userdevice', t.string, 'Slot number of the drive as users give it', { required: true }),
    rw('bootable', t.bool, 'Whether the VM may boot from the drive', { required: true }),
    ctor('mode', t.enum(vbdMode), 'Whether the VM may write to the drive', { required: true }),
    rw('type', t.enum(vbdType), 'Disk, CD or floppy', { required: true }),
    rw('unpluggable', t.bool, 'Whether the drive may be removed while the VM runs', { default: true }),
    runtime('storage_lock', t.bool, 'Whether a host holds the storage-level lock for the drive'),
    ctor('empty', t.bool, 'True for a CD drive with no disc', { required: true }),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools', { required: true }),
    ctor('currently_attached', t.bool, 'Whether the device is plugged into the running VM'),
    runtime('status_code', t.int, 'Error code of the last attach attempt (0 for success)'),
    runtime('status_detail', t.string, 'Text of the last attach error'),
    runtime('runtime_properties', t.smap, 'Facts about the attached device'),
    rw('qos_algorithm_type', t.string, 'Name of the I/O scheduling algorithm to use', { required: true }),
    rw('qos_algorithm_params', t.smap, 'Settings for that algorithm', { required: true }),
    runtime('qos_supported_algorithms', t.set(t.string), 'Algorithms the backend offers'),
  ],
  messages: [
    message('plug', {
      doc: 'Attaches the drive to the running VM',
      params: [
        param('self', t.ref('VBD'), 'The VBD'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('unplug', {
      doc: 'Detaches the drive from the running VM, with the guest\'s cooperation',
      params: [
        param('self', t.ref('VBD'), 'The VBD'),
      ],
      errors: ['DEVICE_DETACH_REJECTED', 'DEVICE_ALREADY_DETACHED'],
      role: 'vm-admin',
      async: true,
    }),
    message('unplug_force', {
      doc: 'Detaches the drive from the running VM at once',
      params: [
        param('self', t.ref('VBD'), 'The VBD'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    message('insert', {
      doc: 'Puts a disc into an empty CD drive',
      params: [
        param('vbd', t.ref('VBD'), 'The CD drive'),
        param('vdi', t.ref('VDI'), 'The disc to insert'),
      ],
      errors: ['VBD_NOT_REMOVABLE_MEDIA', 'VBD_NOT_EMPTY'],
      role: 'vm-operator',
      async: true,
    }),
    message('eject', {
      doc: 'Takes the disc out of a CD drive',
      params: [
        param('vbd', t.ref('VBD'), 'The CD drive'),
      ],
      errors: ['VBD_NOT_REMOVABLE_MEDIA', 'VBD_IS_EMPTY'],
      role: 'vm-operator',
      async: true,
    }),
    message('assert_attachable', {
      doc: 'Fails unless the drive could be attached now',
      params: [
        param('self', t.ref('VBD'), 'The VBD'),
      ],
      role: 'vm-admin',
      async: true,
    }),
    setter('VBD', 'set_mode', t.enum(vbdMode), 'RO or RW', {
      doc: 'Chooses whether the VM may write to the drive',
      role: 'vm-admin',
      async: true,
    }),
  ],
});
