/**
 * @module
 * A blob: a named binary object attached to a pool, host, VM, network or SR (notes, icons,
 * performance data).
 */
import { cls, ctor, message, param, runtime, rw, t } from './dsl.js';
import type { Role } from './roles.js';

/**
 * `create_new_blob` on a class that carries blobs (pool, host, VM, SR, network): the same
 * message everywhere but for the owner's parameter name and the role needed.
 */
export function createNewBlob<O extends string, P extends string>(owner: O, ownerParam: P, role: Role) {
  return message('create_new_blob', {
    doc: `Attaches a new empty binary object to the ${owner}`,
    params: [
      param(ownerParam, t.ref(owner), `The ${owner}`),
      param('name', t.string, `Name of the blob within the ${owner}`),
      param('mime_type', t.string, 'Content type of the data'),
      param('public', t.bool, 'Whether it may be read without a session', false),
    ],
    result: t.ref('blob'),
    resultDoc: 'The new blob',
    role,
    async: true,
  });
}

export const blob = cls('blob', {
  doc: 'A binary object stored on behalf of clients',
  writeRole: 'pool-operator',
  fields: [
    rw('name_label', t.string, 'Short name of the blob'),
    rw('name_description', t.string, 'Longer description of the blob'),
    runtime('size', t.int, 'Size of the data, in bytes'),
    rw('public', t.bool, 'Whether the data may be read without a session'),
    ctor('last_updated', t.datetime, 'When the data was last written'),
    ctor('mime_type', t.string, 'Content type of the data'),
  ],
  messages: [
    message('create', {
      doc: 'Makes a new empty blob',
      params: [
        param('mime_type', t.string, 'Content type of the data'),
        param('public', t.bool, 'Whether it may be read without a session', false),
      ],
      result: t.ref('blob'),
      resultDoc: 'The new blob',
      role: 'pool-operator',
    }),
    message('destroy', {
      doc: 'Deletes a blob and its data',
      params: [
        param('self', t.ref('blob'), 'The blob'),
      ],
      role: 'pool-operator',
    }),
  ],
});
