/**
 * @module
 * auth: questions to the external directory service (Active Directory) a pool logs users
 * in through. A class of messages only, like event: there are no auth objects.
 */
import { cls, message, param, t } from './dsl.js';

const subjectIdentifier = param('subject_identifier', t.string, 'The directory\'s identifier of a user or group');

export const auth = cls('auth', {
  doc: 'The external directory service users and groups are looked up in',
  persist: false,
  accessors: false,
  lists: false,
  byNameLabel: false,
  uuid: false,
  fields: [],
  messages: [
    message('get_subject_identifier', {
      doc: 'Looks up the directory\'s identifier of a user or group by name',
      params: [param('subject_name', t.string, 'The name, such as DOMAIN\\user')],
      result: t.string,
      resultDoc: 'The identifier',
      role: 'read-only',
    }),
    message('get_subject_information_from_identifier', {
      doc: 'Looks up what the directory knows about a user or group',
      params: [subjectIdentifier],
      result: t.smap,
      resultDoc: 'Facts by name, subject-name among them',
      role: 'read-only',
    }),
    message('get_group_membership', {
      doc: 'Lists every group a user or group belongs to, directly or through other groups',
      params: [subjectIdentifier],
      result: t.set(t.string),
      resultDoc: 'The groups\' identifiers',
      role: 'read-only',
    }),
  ],
});
