/**
 * @module
 * A PBD: how one host reaches one SR, and whether that connection is plugged.
 */
import { cls, ctor, message, param, runtime, rw, setter, t } from './dsl.js';

export const pbd = cls('PBD', {
  doc: 'The connection between a host and an SR',
  create: true,
  destroy: true,
  writeRole: 'pool-operator',
  fields: [
    ctor('host', t.ref('host'), 'The host of the connection', { required: true }),
    ctor('SR', t.ref('SR'), 'The SR of the connection', { required: true }),
    ctor('device_config', t.smap, 'Where the storage is and how to reach it', { required: true }),
    runtime('currently_attached', t.bool, 'Whether the host has the SR attached now'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
  messages: [
    message('plug', {
      doc: 'Attaches the SR on the host',
      params: [
        param('self', t.ref('PBD'), 'The PBD'),
      ],
      errors: ['SR_UNKNOWN_DRIVER'],
      role: 'pool-operator',
      async: true,
    }),
    message('unplug', {
      doc: 'Detaches the SR from the host; no disk of it may be in use there',
      params: [
        param('self', t.ref('PBD'), 'The PBD'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    setter('PBD', 'set_device_config', t.smap, 'The new configuration', {
      doc: 'Changes how the host reaches the storage',
      role: 'pool-operator',
      async: true,
    }),
  ],
});
