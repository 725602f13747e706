/**
 * @module
 * A local user record (obsolete in XenAPI; kept because clients still read it).
 */
import { cls, ctor, rw, t } from './dsl.js';

export const user = cls('user', {
  doc: 'A user account of the local host (superseded by subjects)',
  create: true,
  destroy: true,
  writeRole: 'pool-admin',
  lists: false,
  fields: [
    ctor('short_name', t.string, 'Login name of the user', { required: true }),
    rw('fullname', t.string, 'Full name of the user', { required: true }),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
});
