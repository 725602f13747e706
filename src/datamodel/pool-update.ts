/**
 * @module
 * An update introduced to the pool: its identity, what it needs after installation and the
 * hosts that have it installed.
 */
import { cls, ctor, message, param, runtime, rw, t } from './dsl.js';
import { livepatchStatus, updateAfterApplyGuidance } from './enums.js';

export const poolUpdate = cls('pool_update', {
  doc: 'A software update known to the pool and the hosts it is installed on',
  writeRole: 'pool-operator',
  fields: [
    ctor('name_label', t.string, 'Short name of the update'),
    ctor('name_description', t.string, 'What the update changes'),
    ctor('version', t.string, 'Version of the update'),
    ctor('installation_size', t.int, 'Space the update needs on each host, in bytes'),
    ctor('key', t.string, 'Name of the key the update is signed with'),
    ctor('after_apply_guidance', t.set(t.enum(updateAfterApplyGuidance)), 'What must happen after installing for the update to take effect'),
    ctor('vdi', t.ref('VDI'), 'The disk holding the update\'s files'),
    runtime('hosts', t.set(t.ref('host')), 'Hosts the update is installed on'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    ctor('enforce_homogeneity', t.bool, 'Whether every host must have the update before a new one may join'),
  ],
  messages: [
    message('introduce', {
      doc: 'Makes the update contained in a VDI known to the pool',
      params: [
        param('vdi', t.ref('VDI'), 'The VDI holding the update'),
      ],
      result: t.ref('pool_update'),
      resultDoc: 'The new update',
      role: 'pool-operator',
      async: true,
    }),
    message('precheck', {
      doc: 'Checks that the update could be installed on a host, without installing it',
      params: [
        param('self', t.ref('pool_update'), 'The update'),
        param('host', t.ref('host'), 'The host to check'),
      ],
      result: t.enum(livepatchStatus),
      resultDoc: 'Whether it can be installed live',
      role: 'pool-operator',
      async: true,
    }),
    message('apply', {
      doc: 'Installs the update on one host',
      params: [
        param('self', t.ref('pool_update'), 'The update'),
        param('host', t.ref('host'), 'The host to install it on'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('pool_apply', {
      doc: 'Installs the update on every host that lacks it',
      params: [
        param('self', t.ref('pool_update'), 'The update'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('pool_clean', {
      doc: 'Removes the update\'s files from every host, keeping the record',
      params: [
        param('self', t.ref('pool_update'), 'The update'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('destroy', {
      doc: 'Forgets an update that no host has installed',
      params: [
        param('self', t.ref('pool_update'), 'The update'),
      ],
      role: 'pool-operator',
      async: true,
    }),
  ],
});
