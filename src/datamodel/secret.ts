/**
 * @module
 * A secret: a value (a storage array's password, say) kept by the pool and referred to by
 * uuid, so device configurations and other records hold `password_secret=<uuid>` and never
 * the password itself. Only pool operators and administrators may read or change it.
 */
import { cls, message, param, rw, t } from './dsl.js';

export const secret = cls('secret', {
  doc: 'A value kept by the pool and referred to by uuid instead of being copied into records',
  create: true,
  destroy: true,
  readRole: 'pool-operator',
  writeRole: 'pool-operator',
  createRole: 'pool-operator',
  fields: [
    rw('value', t.string, 'The secret value', { required: true }),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
  messages: [
    // Anyone may read the free-form settings; only the value is guarded.
    message('get_other_config', {
      doc: 'Returns the other_config field',
      params: [param('self', t.ref('secret'), 'The secret to read')],
      result: t.smap,
      resultDoc: 'Its current value',
      role: 'read-only',
    }),
  ],
});
