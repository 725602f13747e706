/**
 * @module
 * A record that one hotfix is known on one host, and whether and when it was applied
 * there.
 */
import { cls, ctor, message, param, runtime, rw, t } from './dsl.js';

export const hostPatch = cls('host_patch', {
  doc: 'A hotfix as applied (or not) on one host',
  writeRole: 'pool-operator',
  fields: [
    ctor('name_label', t.string, 'Short name of the hotfix'),
    ctor('name_description', t.string, 'What the hotfix fixes'),
    ctor('version', t.string, 'Version of the hotfix'),
    ctor('host', t.ref('host'), 'The host this record is about'),
    runtime('applied', t.bool, 'Whether the hotfix has been applied on the host'),
    runtime('timestamp_applied', t.datetime, 'When it was applied'),
    runtime('size', t.int, 'Size of the hotfix file, in bytes'),
    ctor('pool_patch', t.ref('pool_patch'), 'The pool-wide hotfix this record belongs to'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
  messages: [
    message('apply', {
      doc: 'Applies the hotfix on this record\'s host',
      params: [
        param('self', t.ref('host_patch'), 'The per-host record'),
      ],
      result: t.string,
      resultDoc: 'Output of the apply step',
      role: 'pool-operator',
      async: true,
    }),
    message('destroy', {
      doc: 'Forgets that the hotfix is on this host',
      params: [
        param('self', t.ref('host_patch'), 'The per-host record'),
      ],
      role: 'pool-operator',
      async: true,
    }),
  ],
});
